"""The two-node network: learn a Gaussian N(mu_m, sigma_m^2) by descending the closed-form KL.

Two scalar parameters, mu_m and sigma_m, are packed into one row pred = [[mu_m, sigma_m]]
and compared with a fixed target N(mu_gt, sigma_gt^2) by nn.GaussianKLLoss, which computes

    D = KL(P_gt || P_m)
      = -1/2 + log(sigma_m / sigma_gt) + (sigma_gt^2 + (mu_gt - mu_m)^2) / (2 sigma_m^2)

as one graph node with the hand-derived gradient. minigrad's backward carries that gradient
to the two parameters and optim.SGD steps them, until D < --tol. With plain SGD each step is
exactly  mu_m -= lr * dD/dmu_m,  sigma_m -= lr * dD/dsigma_m.

    python examples/fit_gaussian.py                          # from N(3, 1) to N(0, 1)
    python examples/fit_gaussian.py --momentum 0.9 --nesterov
    python examples/fit_gaussian.py --plot fit.gif           # needs matplotlib
    python examples/fit_gaussian.py --graph graph.svg        # needs graphviz
    python examples/fit_gaussian.py --explore run.html       # interactive timeline; graphviz
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn.losses import GaussianKLLoss

EXIT_FAILED = 1   # the descent broke down (sigma_m driven to <= 0 by too large a step)
EXIT_MISSING = 2  # an optional tool (matplotlib, graphviz) is missing, or a bad option


class TwoNodes(nn.Module):
    """The whole model: the two learnable numbers mu_m and sigma_m, output as [[mu_m, sigma_m]]."""

    def __init__(self, mu0: float, sigma0: float) -> None:
        super().__init__()
        self.mu_m = nn.Parameter(np.array(mu0, dtype=np.float64))
        self.sigma_m = nn.Parameter(np.array(sigma0, dtype=np.float64))

    def forward(self) -> mg.Tensor:
        return mg.stack([self.mu_m, self.sigma_m]).reshape(1, 2)


@dataclass
class Fit:
    """A finished run. trajectory[i] = (mu_m, sigma_m, loss) before update i; the last entry
    is where the run stopped, so len(trajectory) == steps + 1."""

    target: tuple
    steps: int = 0
    converged: bool = False
    trajectory: list = field(default_factory=list)

    @property
    def mu(self) -> float:
        return self.trajectory[-1][0]

    @property
    def sigma(self) -> float:
        return self.trajectory[-1][1]

    @property
    def loss(self) -> float:
        return self.trajectory[-1][2]


def fit(mu0: float = 3.0, sigma0: float = 1.0, target_mu: float = 0.0, target_sigma: float = 1.0,
        lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False, tol: float = 1e-8,
        max_steps: int = 20_000,
        on_first_graph: Callable[[mg.Tensor], None] | None = None,
        on_step: Callable[[int, mg.Tensor], None] | None = None) -> Fit:
    """Descend KL(target || model) with optim.SGD until the loss is below `tol` or `max_steps`.

    `on_first_graph(loss)` is called with the first step's loss before its backward, while
    the graph still holds everything needed to draw it; `on_step(step, loss)` likewise at
    every step (a minigrad.explorer.Timeline records snapshots through it).
    """
    model = TwoNodes(mu0, sigma0)
    target = mg.Tensor([[target_mu, target_sigma]], name="target")
    loss_fn = GaussianKLLoss()
    opt = optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=nesterov)
    result = Fit(target=(target_mu, target_sigma))
    for step in range(max_steps + 1):
        loss = loss_fn(model(), target)
        value = loss.item()
        result.trajectory.append((model.mu_m.item(), model.sigma_m.item(), value))
        if value < tol:
            result.converged = True
            break
        if step == max_steps:
            break
        if step == 0 and on_first_graph is not None:
            on_first_graph(loss)
        if on_step is not None:
            on_step(step, loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        result.steps += 1
    return result


def print_fit(result: Fit, every: int, tol: float) -> None:
    for i, (mu, sigma, loss) in enumerate(result.trajectory):
        if i % every == 0 or i == result.steps:
            print(f"  step {i:6d}   loss {loss:.6e}   mu_m {mu:+.6f}   sigma_m {sigma:.6f}")
    outcome = (f"converged (loss < {tol:g}) after {result.steps} steps" if result.converged
               else f"stopped at --max-steps {result.steps} with loss {result.loss:.3e} "
                    f"(not below --tol {tol:g})")
    print(f"{outcome}: mu_m = {result.mu:.6f}, sigma_m = {result.sigma:.6f} "
          f"(target {result.target[0]:g}, {result.target[1]:g})")


# ---- optional outputs ----------------------------------------------------------------------

def normal_pdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def frame_indices(n: int, frames: int) -> list:
    """About `frames` steps out of n, denser at the start where the parameters move fastest."""
    return sorted(set(np.geomspace(1, n, min(frames, n)).astype(int) - 1) | {n - 1})


def plot(result: Fit, path: str, frames: int = 40) -> str:
    """The KL landscape over mu (at the current sigma) with the current point, beside the
    target and model densities: a GIF over the steps, or a PNG of four moments."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import animation

    from minigrad.nn import functional as F

    t_mu, t_sigma = result.target
    mus = [mu for mu, _, _ in result.trajectory]
    sigmas = [sigma for _, sigma, _ in result.trajectory]
    spread = max(max(sigmas), t_sigma)
    mu_grid = np.linspace(min(mus + [t_mu]) - 2 * spread, max(mus + [t_mu]) + 2 * spread, 200)
    x_grid = np.linspace(mu_grid[0] - spread, mu_grid[-1] + spread, 300)

    def landscape(sigma: float) -> np.ndarray:
        with mg.no_grad():  # our own loss, evaluated for every mu of the grid at once
            return F.gaussian_kl(mu_grid, sigma, t_mu, t_sigma).data

    picks = frame_indices(len(result.trajectory), frames)
    top = 1.05 * max(landscape(sigmas[i]).max() for i in picks)
    peak = 1.1 * normal_pdf(0.0, 0.0, min(t_sigma, min(sigmas)))

    def panels(left, right) -> Callable[[int], None]:
        """Lay out one (landscape, densities) pair; returns a function moving it to a step."""
        curve, = left.plot(mu_grid, landscape(sigmas[0]), color="tab:blue", label="D over mu_m")
        point, = left.plot([], [], "o", color="tab:red", label="current (mu_m, D)")
        left.set(xlabel="mu_m", ylabel="KL(P_gt || P_m)", ylim=(0, top))
        left.legend(loc="upper center", fontsize=8)
        right.plot(x_grid, normal_pdf(x_grid, t_mu, t_sigma), color="tab:green",
                   label=f"target N({t_mu:g}, {t_sigma:g}^2)")
        model, = right.plot([], [], color="tab:orange", label="model N(mu_m, sigma_m^2)")
        right.set(xlabel="x", ylabel="density", xlim=(x_grid[0], x_grid[-1]), ylim=(0, peak))
        right.legend(loc="upper right", fontsize=8)

        def show(step: int) -> None:
            mu, sigma, loss = result.trajectory[step]
            curve.set_ydata(landscape(sigma))
            point.set_data([mu], [loss])
            left.set_title(f"step {step}: D = {loss:.3g} (sigma_m = {sigma:.3f})", fontsize=10)
            model.set_data(x_grid, normal_pdf(x_grid, mu, sigma))
            right.set_title(f"model N({mu:.3f}, {sigma:.3f}^2)", fontsize=10)
        return show

    if path.lower().endswith(".gif"):
        if animation.writers.is_available("pillow"):
            fig, axes = plt.subplots(1, 2, figsize=(10, 4))
            show = panels(*axes)
            show(picks[0])
            fig.tight_layout()  # once: the layout does not change between frames
            writer = animation.PillowWriter(fps=8)
            with writer.saving(fig, path, dpi=72):
                for step in picks:
                    show(step)
                    writer.grab_frame()
            plt.close(fig)
            return path
        path = os.path.splitext(path)[0] + ".png"
        print(f"pillow is not installed, so no GIF: writing four frames to {path} instead")
    moments = [picks[round(k * (len(picks) - 1) / 3)] for k in range(4)]
    fig, grid = plt.subplots(len(moments), 2, figsize=(10, 3.2 * len(moments)), layout="tight")
    for axes, step in zip(grid, moments):
        panels(*axes)(step)
    fig.savefig(path)
    plt.close(fig)
    return path


def graph_renderer(path: str) -> Callable[[mg.Tensor], None] | None:
    """A hook drawing the forward and backward passes to `path`, or None (after saying why)
    if minigrad.viz (the graphviz package) or the `dot` program is missing."""
    try:
        import minigrad.viz as viz
    except ImportError as err:
        print(f"--graph needs the graphviz Python package ({str(err).split(':')[0]}): "
              f"pip install graphviz")
        return None
    if not path.lower().endswith((".dot", ".gv")) and shutil.which("dot") is None:
        print("--graph needs the Graphviz program `dot` on PATH (apt-get install graphviz), "
              "or give a .dot path to write the source only")
        return None

    def render(loss: mg.Tensor) -> None:
        viz.render(loss, path, mode="both")
        print(f"wrote the first step's forward and backward graph to {path}")
    return render


# ---- command line --------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Fit N(mu_m, sigma_m^2) to a target Gaussian by SGD on the closed-form "
                    "KL(target || model): the two-node network, trained through minigrad.")
    parser.add_argument("--mu0", type=float, default=3.0, help="starting mu_m (default 3)")
    parser.add_argument("--sigma0", type=float, default=1.0, help="starting sigma_m (default 1)")
    parser.add_argument("--target-mu", type=float, default=0.0, help="target mean (default 0)")
    parser.add_argument("--target-sigma", type=float, default=1.0,
                        help="target standard deviation (default 1)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01)")
    parser.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default 0)")
    parser.add_argument("--nesterov", action="store_true", help="Nesterov momentum (needs "
                        "--momentum > 0)")
    parser.add_argument("--tol", type=float, default=1e-8,
                        help="stop once the loss is below this (default 1e-8)")
    parser.add_argument("--max-steps", type=int, default=20_000,
                        help="stop after this many steps at most (default 20000)")
    parser.add_argument("--print-every", type=int, default=100,
                        help="print the trajectory every N steps (default 100)")
    parser.add_argument("--plot", metavar="OUT", help="draw the descent to OUT.gif (animated) "
                        "or OUT.png (four frames); needs matplotlib")
    parser.add_argument("--graph", metavar="PATH", help="draw the first step's forward and "
                        "backward graph to PATH (.svg, .png, .pdf or .dot); needs graphviz")
    parser.add_argument("--explore", metavar="PATH", help="write an interactive page of the "
                        "training timeline (graph, values, gradients at steps 0, 1, 2, 4, ...; "
                        "loss curve) to PATH.html; needs graphviz")
    args = parser.parse_args(argv)
    if args.sigma0 <= 0 or args.target_sigma <= 0:
        parser.error("--sigma0 and --target-sigma are standard deviations and must be > 0")
    if args.max_steps < 0 or args.print_every < 1:
        parser.error("--max-steps must be >= 0 and --print-every >= 1")
    if args.lr <= 0 or args.momentum < 0 or (args.nesterov and args.momentum == 0):
        parser.error("--lr must be > 0, --momentum >= 0, and --nesterov needs --momentum > 0")

    if args.plot:  # check before training, so a missing extra costs no time
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("--plot needs matplotlib: pip install matplotlib (or minigrad-numpy[plot])")
            return EXIT_MISSING
    timeline = None
    if args.explore:
        try:
            from minigrad.explorer import Timeline
        except ImportError:
            print("--explore needs the graphviz Python package: pip install graphviz")
            return EXIT_MISSING
        if shutil.which("dot") is None:
            print("--explore needs the Graphviz program `dot` on PATH (apt-get install graphviz)")
            return EXIT_MISSING
        timeline = Timeline(title="fit_gaussian.py: the two-node network")
    hook = None
    if args.graph:
        hook = graph_renderer(args.graph)
        if hook is None:
            return EXIT_MISSING

    method = f"SGD lr {args.lr:g}" + (f", momentum {args.momentum:g}" if args.momentum else "") \
        + (", nesterov" if args.nesterov else "")
    print(f"fitting N(mu_m, sigma_m^2) from ({args.mu0:g}, {args.sigma0:g}) to the target "
          f"N({args.target_mu:g}, {args.target_sigma:g}^2) by {method} on GaussianKLLoss")
    try:
        result = fit(args.mu0, args.sigma0, args.target_mu, args.target_sigma, lr=args.lr,
                     momentum=args.momentum, nesterov=args.nesterov, tol=args.tol,
                     max_steps=args.max_steps, on_first_graph=hook,
                     on_step=timeline.step if timeline else None)
    except ValueError as err:  # e.g. a learning rate so large that sigma_m went below 0
        print(f"fit_gaussian: the descent failed: {err}")
        return EXIT_FAILED
    print_fit(result, args.print_every, args.tol)
    if timeline is not None:
        timeline.log(result.steps, result.loss)
        print(f"wrote the training timeline ({len(timeline.snapshots)} snapshots) to "
              f"{timeline.save(args.explore)}")
    if args.plot:
        print(f"wrote the descent to {plot(result, args.plot)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
