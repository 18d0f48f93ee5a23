"""Gradient descent on the parabola f(x, y) = x^2 + y^2, with and without momentum.

The gradient (df/dx, df/dy) = (2x, 2y) comes from minigrad's backward, not from the
formula; optim.SGD takes the steps. The run stops once f(x, y) < --tol and prints the
path and the number of steps each variant needed.

    python examples/parabola.py --start 2.5 -1.5 --lr 0.01 --momentum 0.9
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import minigrad as mg
from minigrad import optim


@dataclass
class Descent:
    """A finished descent: the points visited (the start first) and whether it converged."""

    momentum: float
    path: list = field(default_factory=list)
    converged: bool = False

    @property
    def steps(self) -> int:
        return len(self.path) - 1


def parabola(point: mg.Tensor) -> mg.Tensor:
    """f(x, y) = x^2 + y^2, minimal (0) at the origin."""
    return (point ** 2).sum()


def descend(start: tuple[float, float], lr: float, momentum: float, tol: float,
            max_steps: int) -> Descent:
    point = mg.Tensor(list(start), requires_grad=True, name="(x, y)")
    opt = optim.SGD([point], lr=lr, momentum=momentum)
    result = Descent(momentum=momentum, path=[tuple(point.data.tolist())])
    for _ in range(max_steps):
        opt.zero_grad()
        value = parabola(point)
        if value.item() < tol:
            result.converged = True
            return result
        value.backward()
        opt.step()
        result.path.append(tuple(point.data.tolist()))
    result.converged = parabola(point).item() < tol
    return result


def print_path(result: Descent, every: int) -> None:
    label = f"momentum {result.momentum:g}" if result.momentum else "plain gradient descent"
    print(f"\n{label}:")
    for i, (x, y) in enumerate(result.path):
        if i % every == 0 or i == result.steps:
            print(f"  step {i:4d}  x = {x:+.6f}  y = {y:+.6f}  f = {x * x + y * y:.3e}")
    outcome = "reached the minimum" if result.converged else "did NOT reach the minimum"
    print(f"  {outcome} in {result.steps} steps")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Gradient descent with and without momentum on f(x, y) = x^2 + y^2, "
                    "gradients from minigrad's backward.")
    parser.add_argument("--start", type=float, nargs=2, default=(2.5, -1.5), metavar=("X", "Y"))
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--momentum", type=float, default=0.9,
                        help="momentum of the second run (default 0.9)")
    parser.add_argument("--tol", type=float, default=1e-8, help="stop when f < tol (default 1e-8)")
    parser.add_argument("--max-steps", type=int, default=10_000)
    parser.add_argument("--print-every", type=int, default=10)
    args = parser.parse_args(argv)
    if args.lr <= 0 or args.max_steps < 1 or args.print_every < 1:
        parser.error("--lr must be > 0, --max-steps and --print-every >= 1")

    print(f"minimising f(x, y) = x^2 + y^2 from {tuple(args.start)} with lr {args.lr}")
    runs = [descend(tuple(args.start), args.lr, m, args.tol, args.max_steps)
            for m in (0.0, args.momentum)]
    for run in runs:
        print_path(run, args.print_every)
    print("\nsteps to reach f < {:g}: {}".format(
        args.tol, ", ".join(f"{'momentum ' + format(r.momentum, 'g') if r.momentum else 'plain'}: "
                            f"{r.steps}" for r in runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
