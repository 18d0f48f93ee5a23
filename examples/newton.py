"""Three ways down the same hill: gradient descent, Newton's method and natural gradient on
the tutorial's two-node network, with every second derivative from minigrad's engine.

The model is N(mu_m, sigma_m^2) with two parameters, the loss the closed-form
KL(N(0, 1) || N(mu_m, sigma_m^2)), the start N(3, 1):

- gradient descent:  theta -= lr * g                          (lr 0.01, as fit_gaussian.py)
- Newton:            theta -= H^-1 g, H = hessian of the loss from minigrad.autograd.functional;
                     far from the optimum H is indefinite (a saddle-shaped region), so the
                     step uses |H| (eigenvalues made positive) and halves it until the loss falls
- natural gradient:  theta -= F^-1 g, F = the Fisher information. F is the Hessian of
                     KL(N(theta) || N(theta')) in theta' at theta' = theta, which the engine
                     computes too; it equals diag(1/sigma^2, 2/sigma^2), checked every step.

Each runs until the loss is below --tol (1e-8) and reports its steps. Then the parabola
x^2 + y^2 of examples/parabola.py in one Newton step. --plot draws the three paths on the
KL's contour map (needs matplotlib).

    python examples/newton.py [--tol 1e-8] [--plot paths.png] [--json result.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

import numpy as np

import minigrad as mg
from minigrad.autograd.functional import hessian
from minigrad.nn import functional as F

TARGET = (0.0, 1.0)
START = (3.0, 1.0)


def kl(theta: mg.Tensor, target: mg.Tensor) -> mg.Tensor:
    """KL(target || N(theta)), theta = [mu_m, sigma_m]."""
    return F.gaussian_kl_loss(theta, target, reduction="sum")


def gradient(theta: np.ndarray) -> tuple:
    """(loss, gradient) at theta, from one backward."""
    t = mg.Tensor(theta, requires_grad=True)
    loss = kl(t, mg.Tensor(TARGET))
    g, = mg.grad(loss, t)
    return loss.item(), g.data


def descend(step: Callable[[np.ndarray, float, np.ndarray], np.ndarray], tol: float,
            max_steps: int) -> list:
    """theta from START until the loss is below tol: the path, one (mu, sigma, loss) per step."""
    theta = np.array(START)
    path = []
    for _ in range(max_steps + 1):
        loss, g = gradient(theta)
        path.append((float(theta[0]), float(theta[1]), loss))
        if loss < tol:
            break
        theta = step(theta, loss, g)
    return path


def gradient_descent(lr: float) -> Callable:
    return lambda theta, loss, g: theta - lr * g


def newton(theta: np.ndarray, loss: float, g: np.ndarray) -> np.ndarray:
    """A Newton step with |H| and backtracking: the pure step where H is positive definite."""
    H = hessian(lambda t: kl(t, mg.Tensor(TARGET)), mg.Tensor(theta)).data
    values, vectors = np.linalg.eigh(H)
    direction = vectors @ ((vectors.T @ g) / np.abs(values))
    scale = 1.0
    while scale > 1e-8:
        candidate = theta - scale * direction
        if candidate[1] > 0 and gradient(candidate)[0] < loss:
            return candidate
        scale /= 2
    return theta - 1e-8 * direction


def fisher(theta: np.ndarray) -> np.ndarray:
    """The Fisher information of N(mu, sigma^2) in (mu, sigma), as the engine's Hessian of
    KL(N(theta) || N(theta')) at theta' = theta."""
    return hessian(lambda t: kl(t, mg.Tensor(theta)), mg.Tensor(theta)).data


def natural_gradient(lr: float) -> Callable:
    def step(theta: np.ndarray, loss: float, g: np.ndarray) -> np.ndarray:
        info = fisher(theta)
        closed_form = np.diag([1 / theta[1] ** 2, 2 / theta[1] ** 2])
        assert np.allclose(info, closed_form, rtol=1e-12), (info, closed_form)
        return theta - lr * np.linalg.solve(info, g)
    return step


def parabola_in_one_newton_step(start: tuple = (2.5, -1.5)) -> tuple:
    """x^2 + y^2 from `start`: H = 2I, so theta - H^-1 g lands on (0, 0) at once."""
    p = mg.Tensor(start)
    f = lambda v: (v * v).sum()  # noqa: E731
    H = hessian(f, p).data
    x = mg.Tensor(start, requires_grad=True)
    g, = mg.grad(f(x), x)
    after = np.array(start) - np.linalg.solve(H, g.data)
    return tuple(float(v) for v in after), float(f(mg.Tensor(after)).item())


def plot(paths: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mus, sigmas = np.meshgrid(np.linspace(-1.0, 4.0, 300), np.linspace(0.3, 6.0, 300))
    values = F.gaussian_kl_loss(mg.Tensor(np.stack([mus, sigmas], -1)),
                                mg.Tensor(np.broadcast_to(TARGET, (300, 300, 2)).copy()),
                                reduction="none").data
    fig, ax = plt.subplots(figsize=(7, 5))
    levels = np.geomspace(1e-2, 10.0, 16)
    contours = ax.contour(mus, sigmas, values, levels=levels, cmap="viridis", linewidths=0.8)
    ax.clabel(contours, contours.levels[::3], fmt="%.2g", fontsize=7)
    styles = {"gradient descent": "tab:blue", "Newton": "tab:red", "natural gradient": "tab:green"}
    for name, trace in paths.items():
        arr = np.array(trace)
        ax.plot(arr[:, 0], arr[:, 1], ".-", color=styles[name], markersize=3,
                label=f"{name}: {len(trace) - 1} steps")
    ax.plot(*START, "ko")
    ax.plot(*TARGET, "k*", markersize=12)
    ax.set_xlabel("mu_m")
    ax.set_ylabel("sigma_m")
    ax.set_title("KL(N(0, 1) || N(mu_m, sigma_m^2)) from N(3, 1): three descents")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tol", type=float, default=1e-8, help="stop below this loss (1e-8)")
    parser.add_argument("--lr", type=float, default=0.01, help="gradient descent's step (0.01)")
    parser.add_argument("--max-steps", type=int, default=20_000, help="give up after (20000)")
    parser.add_argument("--plot", metavar="PNG", help="draw the paths (needs matplotlib)")
    parser.add_argument("--json", metavar="PATH", help="write the step counts as JSON")
    args = parser.parse_args(argv)
    if not (args.tol > 0 and args.lr > 0 and args.max_steps > 0):
        parser.error("--tol, --lr and --max-steps must be positive")

    paths = {"gradient descent": descend(gradient_descent(args.lr), args.tol, args.max_steps),
             "Newton": descend(newton, args.tol, args.max_steps),
             "natural gradient": descend(natural_gradient(1.0), args.tol, args.max_steps)}
    print(f"from N{START} to N{TARGET}, until KL < {args.tol:g}:")
    for name, trace in paths.items():
        mu, sigma, loss = trace[-1]
        print(f"  {name:17s} {len(trace) - 1:5d} steps   mu_m {mu:+.6f}  sigma_m {sigma:.6f}  "
              f"KL {loss:.2e}")
    after, value = parabola_in_one_newton_step()
    print(f"parabola x^2 + y^2 from (2.5, -1.5): one Newton step lands on "
          f"({after[0]:g}, {after[1]:g}), f = {value:g}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({name: len(trace) - 1 for name, trace in paths.items()}
                      | {"parabola_after_one_newton_step": after}, f, indent=2)
    if args.plot:
        try:
            plot(paths, args.plot)
        except ImportError:
            print("--plot needs matplotlib: pip install matplotlib", file=sys.stderr)
            return 2
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
