"""One training step of the train_mlp model: minigrad eager and compiled (`minigrad.compile`)
against hand-written NumPy, plain and optimised (and PyTorch eager on the CPU, when torch
happens to be installed).

The step: forward through Dense(D,H)-tanh-Dense(H,H)-tanh-Dense(H,2), mu = out[:, 0],
sigma = softplus(out[:, 1]) + 1e-6, mean GaussianKLLoss against a target, backward, and
SGD with momentum 0.9. All implementations start from the same weights and data and run
in this one process, interleaved block by block; times are medians over blocks and each
ratio is the median of the per-block ratios. The optimised NumPy step preallocates its
arrays, writes with out= and keeps the parameters in one flat buffer; the targets are
compiled / optimised NumPy and eager / compiled (issue 16).

    python benchmarks/mlp_step.py [--blocks 9] [--quick] [--all-dtypes]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# PyTorch's OpenMP threads otherwise spin-wait after each op, taking the CPU from whichever
# implementation runs next in the interleaved blocks; sleeping threads cost PyTorch nothing here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import minigrad as mg  # noqa: E402
from numpy_mlp import NumpyMLPStep, OptimisedNumpyMLPStep  # noqa: E402

# (batch B, hidden H, input D, dtype), the target of compiled / optimised NumPy (at most) and
# of eager / compiled (at least); None: no target at that size
SIZES = [(16, 16, 1, "float64", 1.3, 2.0), (64, 32, 1, "float64", 1.3, 2.0),
         (256, 128, 4, "float32", None, None), (1024, 512, 16, "float32", 1.05, None),
         (4096, 1024, 32, "float32", None, None)]
LR, MOMENTUM = 0.01, 0.9


def make_problem(B: int, D: int, dtype: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, (B, D)).astype(dtype)
    first = x[:, 0]
    target = np.stack([np.sin(first), 0.1 + 0.2 * np.abs(first)], axis=1).astype(dtype)
    return x, target


def build_minigrad(D: int, H: int, dtype: str, seed: int = 0, lib: ModuleType = mg) -> Any:
    """The model, built with `lib` (minigrad, or another edition of it: first_edition.py)."""
    lib.manual_seed(seed)
    model = lib.nn.Sequential(lib.nn.MLP([D, H, H]), lib.nn.GaussianHead(H, min_sigma=1e-6))
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    return model


def minigrad_stepper(model: Any, x: np.ndarray, target: np.ndarray,
                     compiled: bool = False, lib: ModuleType = mg) -> Callable[[], float]:
    loss_fn = lib.nn.GaussianKLLoss()
    opt = lib.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, tt = lib.Tensor(x), lib.Tensor(target)

    def step(xt: Any, tt: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(xt), tt)
        loss.backward()
        opt.step()
        return loss

    run = mg.compile(step) if compiled else step
    return lambda: run(xt, tt).item()


def torch_stepper(weights: list[np.ndarray], x: np.ndarray, target: np.ndarray) -> Callable | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    W1, b1, W2, b2, W3, b3 = params
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    xt, tt = torch.from_numpy(x), torch.from_numpy(target)

    def step() -> float:
        opt.zero_grad()
        out = torch.tanh(torch.tanh(xt @ W1 + b1) @ W2 + b2) @ W3 + b3
        mu, sigma = out[:, 0], torch.nn.functional.softplus(out[:, 1]) + 1e-6
        mu_gt, s_gt = tt[:, 0], tt[:, 1]
        loss = (-0.5 + torch.log(sigma) - torch.log(s_gt)
                + (s_gt ** 2 + (mu_gt - mu) ** 2) / (2 * sigma ** 2)).mean()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def median_block_times(steppers: dict[str, Callable], repeats: int, blocks: int) -> dict:
    for step in steppers.values():  # warm-up: first calls allocate momentum buffers
        step(), step()
    times: dict[str, list[float]] = {name: [] for name in steppers}
    order = list(steppers.items())
    for block in range(blocks):
        # alternate the order block by block, so no implementation always runs right after
        # another one's threads and caches
        for name, step in (order if block % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            for _ in range(repeats):
                step()
            times[name].append((time.perf_counter() - start) / repeats)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="small sizes only, few repeats")
    parser.add_argument("--all-dtypes", action="store_true",
                        help="run every size in both float32 and float64")
    args = parser.parse_args(argv)
    sizes = SIZES[:2] if args.quick else SIZES
    if args.all_dtypes:
        sizes = [(B, H, D, dt, *targets) for B, H, D, _, *targets in sizes
                 for dt in ("float64", "float32")]
    load = open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"
    print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}, "
          f"python {sys.version.split()[0]}, load average {load}")
    print(f"{'B, H, D, dtype':<24}{'eager':>10}{'compiled':>10}{'NumPy':>10}{'NumPy-opt':>10}"
          f"{'PyTorch':>10}  {'comp/opt':>8} {'target':<9}{'eager/comp':>10} {'target':<8}")
    for B, H, D, dtype, target_opt, target_speedup in sizes:
        x, target = make_problem(B, D, dtype)
        weights = [p.data.copy() for p in build_minigrad(D, H, dtype).parameters()]
        steppers = {
            "eager": minigrad_stepper(build_minigrad(D, H, dtype), x, target),
            "compiled": minigrad_stepper(build_minigrad(D, H, dtype), x, target, compiled=True),
            "numpy": lambda ref=NumpyMLPStep(weights, LR, MOMENTUM): ref.step(x, target),
            "numpy_opt": lambda ref=OptimisedNumpyMLPStep(weights, B, LR, MOMENTUM):
                ref.step(x, target)}
        torch_step = torch_stepper(weights, x, target)
        if torch_step is not None:
            steppers["torch"] = torch_step
        work = B * H * (D + H + 2)
        repeats = max(1, min(400, int(2e7 / max(work, 1) / 50)))
        if args.quick:
            repeats = max(1, repeats // 10)
        times = median_block_times(steppers, repeats, args.blocks)
        med = {name: statistics.median(ts) for name, ts in times.items()}

        def ratio(a: str, b: str) -> float:
            return statistics.median(m / n for m, n in zip(times[a], times[b]))

        def shown(name: str) -> str:
            return f"{med[name] * 1e6:.0f}us" if name in med else "-"

        comp_opt, speedup = ratio("compiled", "numpy_opt"), ratio("eager", "compiled")
        verdict_opt = "-" if target_opt is None else (
            f"<={target_opt} " + ("ok" if comp_opt <= target_opt else "MISSED"))
        verdict_speed = "-" if target_speedup is None else (
            f">={target_speedup} " + ("ok" if speedup >= target_speedup else "MISSED"))
        label = f"{B}, {H}, {D}, {dtype}"
        print(f"{label:<24}" + "".join(f"{shown(n):>10}" for n in
                                       ("eager", "compiled", "numpy", "numpy_opt", "torch"))
              + f"  {comp_opt:>8.2f} {verdict_opt:<9}{speedup:>10.2f} {verdict_speed:<8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
