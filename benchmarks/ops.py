"""Forward + backward cost of single ops: minigrad against the same math hand-written in NumPy.

Both sides run in this process, interleaved block by block; each figure is the median
over blocks, and the ratio is the median of the per-block ratios, so a noisy moment hits
both sides alike. Targets (issue 2): tiny elementwise ops <= 4x, 1e6 elements <= 1.2x.

    python benchmarks/ops.py [--blocks 15] [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import numpy as np

import minigrad as mg


def _sig(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


# name -> (number of inputs, minigrad forward, NumPy forward+backward given inputs and the output gradient)
CASES: dict[str, tuple[int, Callable, Callable]] = {
    "add": (2, lambda a, b: a + b, lambda a, b, g: (a + b, g, g)),
    "mul": (2, lambda a, b: a * b, lambda a, b, g: (a * b, g * b, g * a)),
    "div": (2, lambda a, b: a / b, lambda a, b, g: ((o := a / b), g / b, -g * o / b)),
    "exp": (1, lambda a: a.exp(), lambda a, g: ((o := np.exp(a)), g * o)),
    "log": (1, lambda a: a.log(), lambda a, g: (np.log(a), g / a)),
    "tanh": (1, lambda a: a.tanh(), lambda a, g: ((o := np.tanh(a)), g * (1 - o * o))),
    "sigmoid": (1, lambda a: a.sigmoid(), lambda a, g: ((o := _sig(a)), g * o * (1 - o))),
    "relu": (1, lambda a: a.relu(), lambda a, g: (np.maximum(a, 0), g * (a > 0))),
    "pow2": (1, lambda a: a ** 2, lambda a, g: (a ** 2, g * 2 * a)),
}
ELEMENTWISE = list(CASES)
REDUCTIONS = {
    "sum": (lambda a: a.sum(), lambda a, g: (a.sum(), np.broadcast_to(g, a.shape).copy())),
    "mean": (lambda a: a.mean(), lambda a, g: (a.mean(), np.full(a.shape, g / a.size))),
}


def _time(fn: Callable[[], None], repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def compare(mg_step: Callable[[], None], np_step: Callable[[], None], repeats: int,
            blocks: int) -> tuple[float, float, float]:
    """Median seconds per call for each side and the median of per-block ratios."""
    mg_step(), np_step()  # warm up caches and the allocator
    mg_times, np_times, ratios = [], [], []
    for block in range(blocks):
        if block % 2:  # alternate which side goes first
            t_np = _time(np_step, repeats)
            t_mg = _time(mg_step, repeats)
        else:
            t_mg = _time(mg_step, repeats)
            t_np = _time(np_step, repeats)
        mg_times.append(t_mg)
        np_times.append(t_np)
        ratios.append(t_mg / t_np)
    return statistics.median(mg_times), statistics.median(np_times), statistics.median(ratios)


def _case_steps(n_inputs: int, mg_fn: Callable, np_fn: Callable, size: int,
                rng: np.random.Generator) -> tuple[Callable, Callable]:
    arrays = [rng.uniform(0.5, 1.5, size) for _ in range(n_inputs)]
    tensors = [mg.Tensor(a, requires_grad=True) for a in arrays]
    out_shape = np.shape(np_fn(*arrays, np.ones(size))[0])
    grad = np.ones(out_shape)

    def mg_step() -> None:
        for t in tensors:
            t.grad = None
        mg_fn(*tensors).backward(grad)

    kept: list = []

    def np_step() -> None:
        # keep the results until the next call, as minigrad keeps .grad until it is reset:
        # both sides then free and allocate arrays in the same rhythm
        kept.clear()
        kept.append(np_fn(*arrays, grad))

    return mg_step, np_step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=15, help="interleaved blocks per case")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    sizes = {"tiny (4)": (4, 2000), "large (1e6)": (1_000_000, 3)}
    if args.quick:
        sizes = {"tiny (4)": (4, 200), "large (1e6)": (1_000_000, 1)}
        args.blocks = min(args.blocks, 3)
    targets = {"tiny (4)": 4.0, "large (1e6)": 1.2}

    print(f"{'op':<9} {'size':<12} {'minigrad':>12} {'NumPy':>12} {'ratio':>7}  target")
    for label, (size, repeats) in sizes.items():
        cases = [(name, *CASES[name]) for name in ELEMENTWISE]
        cases += [(name, 1, mg_fn, np_fn) for name, (mg_fn, np_fn) in REDUCTIONS.items()]
        for name, n_inputs, mg_fn, np_fn in cases:
            mg_step, np_step = _case_steps(n_inputs, mg_fn, np_fn, size, rng)
            t_mg, t_np, ratio = compare(mg_step, np_step, repeats, args.blocks)
            verdict = "ok" if ratio <= targets[label] else "MISSED"
            print(f"{name:<9} {label:<12} {t_mg * 1e6:>10.2f}us {t_np * 1e6:>10.2f}us "
                  f"{ratio:>7.2f}  <= {targets[label]} {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
