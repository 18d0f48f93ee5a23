"""The fused GaussianKLLoss node against the same loss composed from primitive ops.

    composed:  (-1/2 + log s - log s_gt + (s_gt^2 + (mu_gt - mu)^2) / (2 s^2)).mean()
               with mu, s = pred[:, 0], pred[:, 1] and mu_gt, s_gt = target[:, 0], target[:, 1]
    fused:     nn.GaussianKLLoss()(pred, target), one node with a hand-derived backward

For N rows (float64) it measures, per loss:
  * forward+backward time: both sides run in this process, interleaved block by block;
    each time is the median over blocks and the ratio the median of per-block ratios.
  * bytes held for backward, counted BEFORE backward: every ndarray a node of the graph
    keeps in `saved_tensors` or as a ctx attribute, each distinct array (by id) once. A
    view (e.g. pred[:, 0]) counts its own nbytes; the views column says how many there were.
  * of those, the bytes beyond the inputs: arrays not sharing memory with a leaf's data
    (the fused node saves only its inputs, which exist anyway, so this is what it adds).
  * bytes reachable from the graph: the above plus the data of every node's input tensor
    (the graph keeps those tensors, hence their arrays, alive until it is dropped).
  * peak traced allocation during one forward+backward (tracemalloc, which NumPy reports
    its buffers to), measured apart from the timing.

    python benchmarks/kl_node.py [--blocks 9] [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from typing import Callable

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.autograd import topological_order

ROWS = [1_000, 10_000, 100_000, 1_000_000]


def composed_kl(pred: mg.Tensor, target: mg.Tensor) -> mg.Tensor:
    """Mean KL(target || pred) built from primitive ops, one graph node per op."""
    mu, sigma = pred[:, 0], pred[:, 1]
    mu_gt, sigma_gt = target[:, 0], target[:, 1]
    per_row = (-0.5 + sigma.log() - sigma_gt.log()
               + (sigma_gt ** 2 + (mu_gt - mu) ** 2) / (2 * sigma ** 2))
    return per_row.mean()


def make_inputs(n: int, seed: int = 0) -> tuple[mg.Tensor, mg.Tensor]:
    """pred (a leaf requiring grad) and target, both (n, 2) = [mu, sigma] with sigma > 0."""
    rng = np.random.default_rng(seed)
    pred = np.stack([rng.normal(0, 1, n), rng.uniform(0.2, 1.5, n)], axis=1)
    target = np.stack([rng.normal(0, 1, n), rng.uniform(0.2, 1.5, n)], axis=1)
    return mg.Tensor(pred, requires_grad=True), mg.Tensor(target)


def graph_bytes(loss: mg.Tensor) -> dict:
    """What the graph behind `loss` holds: call before backward, which frees saved arrays."""
    saved: dict[int, np.ndarray] = {}
    reachable: dict[int, np.ndarray] = {}
    leaf_buffers: set[int] = set()
    nodes = topological_order(loss.grad_fn)
    for node in nodes:
        leaf_buffers.update(id(_buffer(t.data)) for t in node.inputs if t.grad_fn is None)
        arrays = [a for a in (node.saved_tensors or ()) if isinstance(a, np.ndarray)]
        arrays += [a for a in vars(node).values() if isinstance(a, np.ndarray)]
        for a in arrays:
            saved[id(a)] = a
        for t in node.inputs:
            reachable[id(t.data)] = t.data
    reachable.update(saved)
    return {"nodes": len(nodes),
            "saved": sum(a.nbytes for a in saved.values()),
            "views": sum(a.base is not None for a in saved.values()),
            "new": sum(a.nbytes for a in saved.values() if id(_buffer(a)) not in leaf_buffers),
            "reachable": sum(a.nbytes for a in reachable.values())}


def _buffer(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory `a` looks at (`a` itself unless it is a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def peak_bytes(loss_fn: Callable, pred: mg.Tensor, target: mg.Tensor) -> int:
    """Peak traced allocation (above the start) of one forward+backward."""
    pred.grad = None
    tracemalloc.start()
    try:
        loss_fn(pred, target).backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        pred.grad = None


def stepper(loss_fn: Callable, pred: mg.Tensor, target: mg.Tensor) -> Callable[[], None]:
    def step() -> None:
        pred.grad = None
        loss_fn(pred, target).backward()
    return step


def interleaved(steps: dict[str, Callable], repeats: int, blocks: int) -> dict[str, list[float]]:
    """Seconds per call of each step, one figure per block, the steps taking turns."""
    for step in steps.values():
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(blocks):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(repeats):
                step()
            times[name].append((time.perf_counter() - start) / repeats)
    return times


def check_same(fused: Callable, composed: Callable, pred: mg.Tensor, target: mg.Tensor) -> None:
    """Both losses must give the same value and gradient, or the comparison means nothing."""
    results = []
    for loss_fn in (fused, composed):
        pred.grad = None
        loss = loss_fn(pred, target)
        loss.backward()
        results.append((loss.item(), pred.grad.copy()))
    pred.grad = None
    (v1, g1), (v2, g2) = results
    if not (np.isclose(v1, v2, rtol=1e-10) and np.allclose(g1, g2, rtol=1e-9, atol=1e-18)):
        raise SystemExit(f"kl_node: fused and composed disagree (loss {v1} vs {v2}, "
                         f"max grad difference {np.abs(g1 - g2).max()})")


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.3f}MB" if n_bytes < 1e7 else f"{n_bytes / 1e6:.1f}MB"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f}us" if seconds < 1e-2 else f"{seconds * 1e3:.2f}ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=9, help="interleaved blocks per size")
    parser.add_argument("--quick", action="store_true", help="few repeats and blocks (a smoke run)")
    args = parser.parse_args(argv)
    blocks = min(args.blocks, 3) if args.quick else args.blocks
    fused = nn.GaussianKLLoss()

    print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}, "
          f"python {sys.version.split()[0]}, loadavg {_loadavg()}")
    print(f"{'N':>9} {'fused':>9} {'composed':>9} {'time c/f':>9}   "
          f"{'saved fused':>12} {'saved comp':>11} {'bytes c/f':>9} {'views f/c':>9}   "
          f"{'new f':>9} {'new c':>9}   "
          f"{'reach f':>9} {'reach c':>9}   {'peak f':>9} {'peak c':>9}   nodes f/c")
    misses = []
    for n in ROWS:
        pred, target = make_inputs(n)
        check_same(fused, composed_kl, pred, target)
        held = {name: graph_bytes(fn(pred, target)) for name, fn in
                (("fused", fused), ("composed", composed_kl))}
        peak = {"fused": peak_bytes(fused, pred, target),
                "composed": peak_bytes(composed_kl, pred, target)}
        repeats = max(2, int(3e6 / n)) if n < 1e6 else 3
        if args.quick:
            repeats = max(1, repeats // 10)
        times = interleaved({"fused": stepper(fused, pred, target),
                             "composed": stepper(composed_kl, pred, target)}, repeats, blocks)
        t_f, t_c = statistics.median(times["fused"]), statistics.median(times["composed"])
        t_ratio = statistics.median(c / f for f, c in zip(times["fused"], times["composed"]))
        b_ratio = held["composed"]["saved"] / held["fused"]["saved"]
        f, c = held["fused"], held["composed"]
        print(f"{n:>9,} {_us(t_f):>9} {_us(t_c):>9} {t_ratio:>9.2f}   "
              f"{_mb(f['saved']):>12} {_mb(c['saved']):>11} {b_ratio:>9.2f} "
              f"{f['views']:>4}/{c['views']:<4}   {_mb(f['new']):>9} {_mb(c['new']):>9}   "
              f"{_mb(f['reachable']):>9} {_mb(c['reachable']):>9}   "
              f"{_mb(peak['fused']):>9} {_mb(peak['composed']):>9}   {f['nodes']}/{c['nodes']}")
        if t_ratio <= 1.0 or b_ratio <= 1.0:
            misses.append(n)
    print(f"loadavg after: {_loadavg()}")
    print("ratios are composed/fused: above 1 means the fused node wins")
    if misses:
        print(f"the fused node does NOT win on both counts at N = {misses}")
    return 1 if misses else 0


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "n/a"


if __name__ == "__main__":
    raise SystemExit(main())
