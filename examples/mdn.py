"""A mixture density network on Bishop's (1994) inverse problem, against a single Gaussian.

    python examples/mdn.py                      # 3 components; prints test NLLs and floors
    python examples/mdn.py --components 5 --json nll.json --out runs/mdn

The data: t ~ U(0, 1) and x = t + 0.3 sin(2 pi t) + U(-0.1, 0.1). Predicting x from t is an
ordinary regression; predicting t from x (the inverse) is not: for x near 0.5 three values
of t fit, so p(t | x) has up to three branches. A single Gaussian can only straddle them;
a mixture can put one component on each.

Two small tanh MLPs are trained with Adam on the same --n-train samples:
  single   MLP -> nn.GaussianHead,                 loss nn.GaussianNLLLoss(full=True)
  mixture  MLP -> nn.GaussianMixtureHead(K),       loss nn.GaussianMixtureNLLLoss()
and scored by the mean NLL (nats) on --n-test fresh samples. Floors, from numerical
integration of the true density: -1.281 for any model, -0.654 for any single Gaussian per x,
about -1.18 for any 3-component mixture fitted per x.

Writes to --out: mdn.png (the conditional density p(t | x) of the mixture as a heat map with
samples drawn from it and its component means, beside the single Gaussian's mean +- 2 sigma
band; needs matplotlib), and with --json PATH the test NLLs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim

BEST_NLL = -1.281           # the true conditional density's NLL
SINGLE_GAUSSIAN_NLL = -0.654  # the best N(mu(x), sigma(x)^2) can do
THREE_COMPONENT_NLL = -1.18   # the best 3-component mixture per x (approximately)


def make_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bishop's inverse problem: (x, t) with x of shape (n, 1) as input and t (n,) as target."""
    t = rng.uniform(0.0, 1.0, n)
    x = t + 0.3 * np.sin(2 * np.pi * t) + rng.uniform(-0.1, 0.1, n)
    return x[:, None], t


class Standardise(nn.Module):
    """(x - mean) / std with the training inputs' mean and std, fixed (no parameters)."""

    def __init__(self, x: np.ndarray) -> None:
        super().__init__()
        self.mean, self.std = float(x.mean()), float(x.std())

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        return (x - self.mean) / self.std


def build(kind: str, hidden: int, components: int) -> tuple[nn.Module, nn.Module]:
    """(model, loss) for 'single' or 'mixture'."""
    body = nn.MLP([1, hidden, hidden], activation="tanh")
    if kind == "single":
        return nn.Sequential(body, nn.GaussianHead(hidden)), nn.GaussianNLLLoss(full=True)
    return (nn.Sequential(body, nn.GaussianMixtureHead(hidden, components)),
            nn.GaussianMixtureNLLLoss())


def train(model: nn.Module, loss_fn: nn.Module, x: np.ndarray, t: np.ndarray, epochs: int,
          batch_size: int, lr: float, rng: np.random.Generator) -> list[float]:
    """Adam on shuffled minibatches, the learning rate decayed by cosine to lr/20; returns the
    mean training loss of every epoch."""
    opt = optim.Adam(model.parameters(), lr=lr)
    history = []
    steps_per_epoch = -(-len(t) // batch_size)
    total, step = epochs * steps_per_epoch, 0
    for _ in range(epochs):
        order = rng.permutation(len(t))
        losses = []
        for start in range(0, len(t), batch_size):
            rows = order[start:start + batch_size]
            for group in opt.param_groups:
                group["lr"] = lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / total)))
            loss = loss_fn(model(mg.Tensor(x[rows])), mg.Tensor(t[rows]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
        history.append(float(np.mean(losses)))
    return history


def test_nll(model: nn.Module, loss_fn: nn.Module, x: np.ndarray, t: np.ndarray) -> float:
    with mg.no_grad():
        return loss_fn(model(mg.Tensor(x)), mg.Tensor(t)).item()


def plot(path: str, single: nn.Module, mixture: nn.Module, x: np.ndarray, t: np.ndarray,
         nll: dict, seed: int) -> bool:
    """The figure: the mixture's p(t | x) heat map, samples and component means; the single
    Gaussian's band. Returns False (and says why) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipped the plot (pip install matplotlib)")
        return False
    grid_x = np.linspace(x.min(), x.max(), 200)
    grid_t = np.linspace(-0.15, 1.15, 200)
    with mg.no_grad():
        pred = mixture(mg.Tensor(grid_x[:, None])).data
        gauss = single(mg.Tensor(grid_x[:, None])).data
    density = nn.mixture_density(pred, grid_t[:, None])       # (t, x)
    samples = nn.mixture_sample(pred, n=3, seed=seed)        # (3, x)
    weights = nn.mixture_weights(pred)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    ax = axes[0]
    ax.pcolormesh(grid_x, grid_t, density, cmap="Blues", shading="auto", vmax=np.quantile(density, 0.98))
    ax.scatter(x[:400, 0], t[:400], s=3, c="0.4", label="test data")
    for k in range(pred.shape[1]):
        shown = weights[:, k] > 0.05  # a component with almost no weight says nothing there
        ax.scatter(grid_x[shown], pred[shown, k, 1], s=3 + 12 * weights[shown, k], color=f"C{k + 1}",
                   label=f"mean of component {k}" if k < 3 else None)
    ax.scatter(np.tile(grid_x, 3)[::4], samples.ravel()[::4], s=4, marker="x", c="k",
               label="samples from p(t | x)")
    ax.set(title=f"{pred.shape[1]}-component mixture: test NLL {nll['mixture']:.3f}",
           xlabel="x", ylabel="t", ylim=(grid_t[0], grid_t[-1]))
    ax.legend(loc="lower right", fontsize=7, markerscale=2)
    ax = axes[1]
    mu, sigma = gauss[:, 0], gauss[:, 1]
    ax.fill_between(grid_x, mu - 2 * sigma, mu + 2 * sigma, color="C1", alpha=0.3,
                    label="mean +- 2 sigma")
    ax.plot(grid_x, mu, color="C1", label="mean")
    ax.scatter(x[:400, 0], t[:400], s=3, c="0.4")
    ax.set(title=f"single Gaussian: test NLL {nll['single']:.3f}", xlabel="x")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mdn.py", description=__doc__.split("\n")[0])
    p.add_argument("--components", type=int, default=3, help="mixture components (default 3)")
    p.add_argument("--hidden", type=int, default=32, help="units per tanh layer (default 32)")
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--n-test", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.003, help="Adam's initial learning rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for mdn.png (default runs/mdn-<time>)")
    p.add_argument("--no-plot", action="store_true", help="skip the picture")
    p.add_argument("--json", metavar="PATH", help="write the test NLLs as JSON to PATH")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.components < 1:
        print(f"--components must be >= 1, got {args.components}", file=sys.stderr)
        return 2
    rng = np.random.default_rng(args.seed)
    x, t = make_data(args.n_train, rng)
    x_test, t_test = make_data(args.n_test, np.random.default_rng(args.seed + 1))
    # standardised inputs keep the tanh units out of saturation (x spans about [-0.1, 1.1])
    scale = Standardise(x)
    models, nll = {}, {}
    start = time.perf_counter()
    for kind in ("single", "mixture"):
        mg.manual_seed(args.seed)
        model, loss_fn = build(kind, args.hidden, args.components)
        model = nn.Sequential(scale, model)
        train(model, loss_fn, x, t, args.epochs, args.batch_size, args.lr,
              np.random.default_rng(args.seed + 2))
        models[kind], nll[kind] = model, test_nll(model, loss_fn, x_test, t_test)
    seconds = time.perf_counter() - start
    print(f"test NLL on {args.n_test} fresh samples (nats; lower is better):")
    print(f"  single Gaussian        {nll['single']:7.3f}   (floor for one Gaussian "
          f"{SINGLE_GAUSSIAN_NLL})")
    print(f"  {args.components}-component mixture  {nll['mixture']:7.3f}   (floor for any "
          f"model {BEST_NLL}; about {THREE_COMPONENT_NLL} for 3 components)")
    print(f"  trained both in {seconds:.1f} s")
    if not args.no_plot:
        out = args.out or os.path.join("runs", time.strftime("mdn-%Y%m%d-%H%M%S"))
        os.makedirs(out, exist_ok=True)
        if plot(os.path.join(out, "mdn.png"), models["single"], models["mixture"],
                x_test, t_test, nll, args.seed):
            print(f"  wrote {os.path.join(out, 'mdn.png')}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"mixture_test_nll": nll["mixture"], "single_test_nll": nll["single"],
                       "test_samples": args.n_test, "components": args.components}, handle,
                      indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
