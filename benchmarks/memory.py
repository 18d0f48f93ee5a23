"""Memory over a long training run: the resident set size must stay flat.

The train_mlp model, Sequential(MLP([1, 64, 64]), GaussianHead(64)), trained with
GaussianKLLoss and SGD (momentum 0.9) on minibatches of 128 rows drawn from a fixed
synthetic set. Every --every steps it prints the RSS (VmRSS from /proc/self/status, or
the peak from getrusage where /proc is missing), the peak so far and the number of live
Tensor objects. A graph that outlived its step, or a growing cache, would show as growth.

    python benchmarks/memory.py [--steps 10000] [--every 1000] [--tolerance-mb 2]
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn, optim

BATCH, HIDDEN, POOL = 128, 64, 4096


def rss_kb() -> tuple[int, int, str]:
    """(current RSS, peak RSS, source) in kB."""
    try:
        fields = {}
        with open("/proc/self/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                fields[key] = value
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]), "VmRSS"
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":  # bytes there, kB on Linux
            peak //= 1024
        return peak, peak, "ru_maxrss (peak only)"


def live_tensors() -> int:
    return sum(isinstance(o, mg.Tensor) for o in gc.get_objects())


def synthetic_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x uniform in [-3, 3]; target [mu, sigma] = [sin x, 0.15 + 0.2 |x|]."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, (POOL, 1))
    target = np.stack([np.sin(x[:, 0]), 0.15 + 0.2 * np.abs(x[:, 0])], axis=1)
    return x, target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1_000, help="steps between reports")
    parser.add_argument("--tolerance-mb", type=float, default=2.0,
                        help="growth from the first report to the last still called flat")
    args = parser.parse_args(argv)
    if args.steps < args.every or args.every < 1:
        parser.error(f"--steps ({args.steps}) must be at least --every ({args.every}), "
                     f"and --every at least 1")

    mg.manual_seed(0)
    model = nn.Sequential(nn.MLP([1, HIDDEN, HIDDEN]), nn.GaussianHead(HIDDEN))
    loss_fn = nn.GaussianKLLoss()
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, target = synthetic_data()
    rng = np.random.default_rng(1)

    start_kb, _, source = rss_kb()
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores; "
          f"RSS from {source}; before training {start_kb / 1024:.1f} MB")
    print(f"{'step':>7} {'loss':>9} {'RSS MB':>8} {'peak MB':>8} {'tensors':>8} {'s':>6}")
    began = time.perf_counter()
    reports = []
    for step in range(1, args.steps + 1):
        rows = rng.integers(0, POOL, BATCH)
        opt.zero_grad()
        loss = loss_fn(model(mg.Tensor(x[rows])), mg.Tensor(target[rows]))
        loss.backward()
        opt.step()
        if step % args.every == 0:
            now_kb, peak_kb, _ = rss_kb()
            reports.append(now_kb)
            print(f"{step:>7,} {loss.item():>9.5f} {now_kb / 1024:>8.1f} {peak_kb / 1024:>8.1f} "
                  f"{live_tensors():>8} {time.perf_counter() - began:>6.1f}", flush=True)

    growth_mb = (reports[-1] - reports[0]) / 1024
    flat = growth_mb <= args.tolerance_mb
    print(f"growth from step {args.every:,} to {len(reports) * args.every:,}: {growth_mb:+.2f} MB "
          f"({'flat' if flat else 'GROWING'}, tolerance {args.tolerance_mb} MB); "
          f"{(time.perf_counter() - began) / args.steps * 1e6:.0f} us/step")
    return 0 if flat else 1


if __name__ == "__main__":
    raise SystemExit(main())
