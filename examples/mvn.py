"""A network that predicts a correlated two-dimensional Gaussian per input, drawn as ellipses.

    python examples/mvn.py                   # prints test NLLs, writes runs/mvn-<time>/mvn.png
    python examples/mvn.py --json nll.json --no-plot

The data: x ~ U(-1, 1) and y in the plane, y = m(x) + R(theta(x)) diag(s_1, s_2) e with
e ~ N(0, I), the mean m(x) = (x, 0.6 sin(pi x)) on a wave, the noise a thin ellipse
(s_1 = 0.25, s_2 = 0.04) whose long axis turns with x, theta(x) = pi/2 (x + 1). Its
covariance is correlated everywhere except at the ends.

Two small tanh MLPs are trained with Adam on the same samples:
  full      MLP -> nn.MultivariateGaussianHead(dim=2),  loss nn.MultivariateGaussianNLLLoss
  diagonal  MLP -> Dense(4) -> [mu, sigma] per axis,     loss GaussianNLLLoss(full=True,
            reduction="none").sum(-1): independent axes, which cannot tilt the ellipse
Both scored by the mean NLL (nats) on fresh samples, next to the floor any model can reach,
log(2 pi) + 1 + log(s_1 s_2) (the entropy of the true noise).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim

S1, S2 = 0.25, 0.04
FLOOR = math.log(2 * math.pi) + 1 + math.log(S1 * S2)


def truth(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The true mean (n, 2) and Cholesky factor (n, 2, 2) at inputs x (n,)."""
    mean = np.stack([x, 0.6 * np.sin(np.pi * x)], -1)
    theta = 0.5 * np.pi * (x + 1)
    c, s = np.cos(theta), np.sin(theta)
    scaled = np.stack([np.stack([c * S1, -s * S2], -1), np.stack([s * S1, c * S2], -1)], -2)
    return mean, np.linalg.cholesky(scaled @ np.swapaxes(scaled, -1, -2))


def make_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1, 1, n)
    mean, L = truth(x)
    return x[:, None], mean + (L @ rng.standard_normal((n, 2, 1)))[..., 0]


class DiagonalHead(nn.Module):
    """Features -> (..., 2, 2) = [mu, sigma] for each of the two axes (independent Gaussians)."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.linear = nn.Dense(in_features, 4)

    def forward(self, h: mg.Tensor) -> mg.Tensor:
        raw = self.linear(h)
        return nn.GaussianParams.apply(raw.reshape(*raw.shape[:-1], 2, 2))


def build(kind: str, hidden: int) -> tuple[nn.Module, callable]:
    """(model, loss(model_output, y))."""
    body = nn.MLP([1, hidden, hidden], activation="tanh")
    if kind == "full":
        model = nn.Sequential(body, nn.MultivariateGaussianHead(hidden, dim=2))
        nll = nn.MultivariateGaussianNLLLoss()
        return model, lambda out, y: nll(*out, y)
    per_axis = nn.GaussianNLLLoss(full=True, reduction="none")
    return nn.Sequential(body, DiagonalHead(hidden)), lambda out, y: per_axis(out, y).sum(-1).mean()


def train(model: nn.Module, loss_fn, x: np.ndarray, y: np.ndarray, epochs: int,
          batch_size: int, lr: float, rng: np.random.Generator) -> None:
    opt = optim.Adam(model.parameters(), lr=lr)
    total, step = epochs * -(-len(y) // batch_size), 0
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            rows = order[start:start + batch_size]
            for group in opt.param_groups:  # cosine decay to lr/20
                group["lr"] = lr * (0.05 + 0.475 * (1 + math.cos(math.pi * step / total)))
            loss = loss_fn(model(mg.Tensor(x[rows])), mg.Tensor(y[rows]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1


def ellipse(mean: np.ndarray, L: np.ndarray, radius: float = 2.0) -> np.ndarray:
    """Points (100, 2) on the radius-sigma ellipse of N(mean, L L^T): mean + radius L u."""
    angle = np.linspace(0, 2 * np.pi, 100)
    return mean + radius * np.stack([np.cos(angle), np.sin(angle)], -1) @ L.T


def plot(path: str, model: nn.Module, x: np.ndarray, y: np.ndarray, nll: dict) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipped the plot (pip install matplotlib)")
        return False
    at = np.linspace(-0.95, 0.95, 9)
    with mg.no_grad():
        mu, L = (t.data for t in model(mg.Tensor(at[:, None])))
    true_mu, true_L = truth(at)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(y[:1500, 0], y[:1500, 1], c=x[:1500, 0], cmap="viridis", s=3, alpha=0.5)
    colours = plt.get_cmap("viridis")((at + 1) / 2)
    for i in range(len(at)):
        e = ellipse(true_mu[i], true_L[i])
        ax.plot(e[:, 0], e[:, 1], "--", color="k", lw=1, label="truth (2 sigma)" if i == 0 else None)
        e = ellipse(mu[i], L[i])
        ax.plot(e[:, 0], e[:, 1], color=colours[i], lw=2,
                label="predicted (2 sigma)" if i == 0 else None)
    ax.set(title=f"full covariance: test NLL {nll['full']:.3f} (floor {FLOOR:.3f}; "
                 f"diagonal {nll['diagonal']:.3f})", xlabel="y1", ylabel="y2", aspect="equal")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="mvn.py", description=__doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--n-test", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for mvn.png (default runs/mvn-<time>)")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--json", metavar="PATH", help="write the test NLLs as JSON to PATH")
    args = p.parse_args(argv)
    x, y = make_data(args.n_train, np.random.default_rng(args.seed))
    x_test, y_test = make_data(args.n_test, np.random.default_rng(args.seed + 1))
    models, nll = {}, {}
    start = time.perf_counter()
    for kind in ("full", "diagonal"):
        mg.manual_seed(args.seed)
        model, loss_fn = build(kind, args.hidden)
        train(model, loss_fn, x, y, args.epochs, args.batch_size, args.lr,
              np.random.default_rng(args.seed + 2))
        with mg.no_grad():
            nll[kind] = loss_fn(model(mg.Tensor(x_test)), mg.Tensor(y_test)).item()
        models[kind] = model
    print(f"test NLL on {args.n_test} fresh samples (nats; floor {FLOOR:.3f}):")
    print(f"  full covariance  {nll['full']:7.3f}")
    print(f"  diagonal         {nll['diagonal']:7.3f}")
    print(f"  trained both in {time.perf_counter() - start:.1f} s")
    if not args.no_plot:
        out = args.out or os.path.join("runs", time.strftime("mvn-%Y%m%d-%H%M%S"))
        os.makedirs(out, exist_ok=True)
        if plot(os.path.join(out, "mvn.png"), models["full"], x_test, y_test, nll):
            print(f"  wrote {os.path.join(out, 'mvn.png')}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"full_test_nll": nll["full"], "diagonal_test_nll": nll["diagonal"],
                       "floor": FLOOR, "test_samples": args.n_test}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
