"""The fused mixture and multivariate Gaussian nodes against the same losses composed from
primitive ops: forward+backward time and the bytes the graph holds for backward.

    mixture NLL  (N, 3, 3) pred, N samples    composed: log_softmax, shifted log-sum-exp
    MVN NLL      (N, 2) mu, (N, 2, 2) L, y    composed: forward substitution with engine ops
    MVN KL       two (mu, L) pairs, D = 2     composed: the same, for L_m^-1 L_gt and z

Measured as in benchmarks/kl_node.py (whose helpers it uses): times are medians over
interleaved blocks and the ratio the median of per-block ratios; "saved" counts every array
a node keeps for backward, before backward runs, and "new" those of them that are not the
inputs' own memory (the fused nodes save only their inputs, which exist anyway, so they add
nothing; this is the fairer count); "peak" is tracemalloc's peak during one
forward+backward. Ratios are composed/fused: above 1, the fused node wins.

    python benchmarks/mixture_nodes.py [--blocks 5] [--quick] [--rows 1000 10000]
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tracemalloc
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from kl_node import _loadavg, _mb, _us, graph_bytes, interleaved  # noqa: E402

ROWS = [1_000, 10_000, 100_000, 1_000_000]
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ---- the composed versions -----------------------------------------------------------------

def composed_mixture_nll(pred: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
    log_pi = mg.log_softmax(pred[..., 0])
    mu, sigma = pred[..., 1], pred[..., 2]
    z = (y.unsqueeze(-1) - mu) / sigma
    a = log_pi - sigma.log() - 0.5 * z * z - _HALF_LOG_2PI
    m = a.max(axis=-1, keepdims=True)
    return (-((a - m).exp().sum(axis=-1).log() + m.squeeze(-1))).mean()


def _solve(L: mg.Tensor, b: mg.Tensor) -> list:
    """L^-1 b for b (N, D) as a list of D columns, forward substitution with engine ops."""
    xs: list = []
    for i in range(L.shape[-1]):
        acc = b[..., i]
        for j in range(i):
            acc = acc - L[..., i, j] * xs[j]
        xs.append(acc / L[..., i, i])
    return xs


def _log_det(L: mg.Tensor) -> mg.Tensor:
    return sum(L[..., i, i].log() for i in range(L.shape[-1]))


def composed_mvn_nll(mu: mg.Tensor, L: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
    z = _solve(L, y - mu)
    return (L.shape[-1] * _HALF_LOG_2PI + _log_det(L) + 0.5 * sum(c * c for c in z)).mean()


def composed_mvn_kl(mu_m: mg.Tensor, L_m: mg.Tensor, mu_gt: mg.Tensor,
                    L_gt: mg.Tensor) -> mg.Tensor:
    dim = L_m.shape[-1]
    z = _solve(L_m, mu_gt - mu_m)
    frob = sum(c * c for j in range(dim) for c in _solve(L_m, L_gt[..., :, j]))
    return (0.5 * (frob + sum(c * c for c in z) - dim) + _log_det(L_m) - _log_det(L_gt)).mean()


# ---- inputs (leaves that require grad) -------------------------------------------------------

def _factor(rng: np.random.Generator, n: int, dim: int = 2) -> np.ndarray:
    L = np.tril(rng.normal(0, 0.5, (n, dim, dim)))
    L[:, np.arange(dim), np.arange(dim)] = rng.uniform(0.5, 1.5, (n, dim))
    return L


def mixture_inputs(n: int, rng: np.random.Generator) -> list:
    pred = np.stack([rng.normal(size=(n, 3)), rng.normal(size=(n, 3)),
                     rng.uniform(0.3, 1.5, (n, 3))], -1)
    return [mg.Tensor(pred, requires_grad=True), mg.Tensor(rng.normal(size=n))]


def mvn_nll_inputs(n: int, rng: np.random.Generator) -> list:
    return [mg.Tensor(rng.normal(size=(n, 2)), requires_grad=True),
            mg.Tensor(_factor(rng, n), requires_grad=True), mg.Tensor(rng.normal(size=(n, 2)))]


def mvn_kl_inputs(n: int, rng: np.random.Generator) -> list:
    return [mg.Tensor(rng.normal(size=(n, 2)), requires_grad=True),
            mg.Tensor(_factor(rng, n), requires_grad=True),
            mg.Tensor(rng.normal(size=(n, 2))), mg.Tensor(_factor(rng, n))]


CASES = {
    "mixture NLL (K=3)": (nn.GaussianMixtureNLLLoss(), composed_mixture_nll, mixture_inputs),
    "MVN NLL (D=2)": (nn.MultivariateGaussianNLLLoss(), composed_mvn_nll, mvn_nll_inputs),
    "MVN KL (D=2)": (nn.MultivariateGaussianKLLoss(), composed_mvn_kl, mvn_kl_inputs),
}


# ---- measuring -------------------------------------------------------------------------------

def _clear(inputs: list) -> None:
    for t in inputs:
        t.grad = None


def stepper(loss_fn: Callable, inputs: list) -> Callable[[], None]:
    def step() -> None:
        _clear(inputs)
        loss_fn(*inputs).backward()
    return step


def peak_bytes(loss_fn: Callable, inputs: list) -> int:
    _clear(inputs)
    tracemalloc.start()
    try:
        loss_fn(*inputs).backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        _clear(inputs)


def check_same(name: str, fused: Callable, composed: Callable, inputs: list) -> None:
    """Same value and gradients, or the comparison means nothing."""
    results = []
    for fn in (fused, composed):
        _clear(inputs)
        loss = fn(*inputs)
        loss.backward()
        results.append((loss.item(), [t.grad.copy() for t in inputs if t.requires_grad]))
    _clear(inputs)
    (v1, g1), (v2, g2) = results
    if not (np.isclose(v1, v2, rtol=1e-10)
            and all(np.allclose(a, b, rtol=1e-8, atol=1e-14) for a, b in zip(g1, g2))):
        raise SystemExit(f"mixture_nodes: {name}: fused and composed disagree ({v1} vs {v2})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=5, help="interleaved blocks per size")
    parser.add_argument("--quick", action="store_true", help="few repeats and blocks")
    parser.add_argument("--rows", type=int, nargs="+", default=ROWS)
    args = parser.parse_args(argv)
    blocks = min(args.blocks, 3) if args.quick else args.blocks
    print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}, "
          f"python {sys.version.split()[0]}, loadavg {_loadavg()}")
    misses = []
    for name, (fused, composed, make) in CASES.items():
        print(f"\n{name}")
        print(f"{'N':>9} {'fused':>9} {'composed':>9} {'time c/f':>9}   {'saved f':>10} "
              f"{'saved c':>10} {'bytes c/f':>9}   {'new f':>9} {'new c':>9}   {'peak f':>10} "
              f"{'peak c':>10}   nodes f/c")
        for n in args.rows:
            inputs = make(n, np.random.default_rng(0))
            check_same(name, fused, composed, inputs)
            held = {"f": graph_bytes(fused(*inputs)), "c": graph_bytes(composed(*inputs))}
            peak = {"f": peak_bytes(fused, inputs), "c": peak_bytes(composed, inputs)}
            repeats = max(1, int(1e6 / n)) if n < 1e6 else 1
            if args.quick:
                repeats = max(1, repeats // 10)
            times = interleaved({"f": stepper(fused, inputs), "c": stepper(composed, inputs)},
                                repeats, blocks)
            t_f, t_c = statistics.median(times["f"]), statistics.median(times["c"])
            t_ratio = statistics.median(c / f for f, c in zip(times["f"], times["c"]))
            b_ratio = held["c"]["saved"] / held["f"]["saved"]
            print(f"{n:>9,} {_us(t_f):>9} {_us(t_c):>9} {t_ratio:>9.2f}   "
                  f"{_mb(held['f']['saved']):>10} {_mb(held['c']['saved']):>10} {b_ratio:>9.2f}"
                  f"   {_mb(held['f']['new']):>9} {_mb(held['c']['new']):>9}   "
                  f"{_mb(peak['f']):>10} {_mb(peak['c']):>10}   "
                  f"{held['f']['nodes']}/{held['c']['nodes']}")
            lighter = b_ratio > 1.0 or held["c"]["new"] > held["f"]["new"]
            if t_ratio <= 1.0 or not lighter:
                misses.append((name, n))
    print(f"\nloadavg after: {_loadavg()}")
    if misses:
        print(f"the fused node does NOT win on both counts at: {misses}")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
