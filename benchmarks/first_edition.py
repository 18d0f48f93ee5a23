"""This edition's eager training step against the first edition's, side by side in one
process (issue 9: first-order training must not get slower, within 5 % at every size).

The first edition's package is taken from git (commit f51f1bd, the last commit before the
second-edition engine), renamed `minigrad_first` in a temporary folder, and imported beside
`minigrad`. Both build the train_mlp model of `mlp_step.py` from the same seed, data and
optimiser (SGD, momentum 0.9), twice each (built in the order first, now, now, first, so
that neither edition always gets the same place in memory), and run interleaved in blocks
of about 20 ms, in alternating order; the ratio reported is the median of the per-block
ratios, with the spread of the middle half of the blocks.

    python benchmarks/first_edition.py [--blocks 41] [--quick]

Needs git and the repository's history (a shallow clone lacks the commit).
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minigrad as mg
from mlp_step import (SIZES, build_minigrad, make_problem, median_block_times,
                      minigrad_stepper)

FIRST_EDITION = "f51f1bd"
REPO = Path(__file__).resolve().parent.parent


def import_first_edition(folder: Path) -> ModuleType:
    """Extract the first edition's `minigrad/` into `folder` as `minigrad_first` and import it."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", FIRST_EDITION, "minigrad"],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    package = folder / "minigrad_first"
    (folder / "minigrad").rename(package)
    for path in package.rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\bminigrad\b", "minigrad_first", text))
    sys.path.insert(0, str(folder))
    return importlib.import_module("minigrad_first")


def stepper(lib: ModuleType, B: int, H: int, D: int, dtype: str) -> Callable[[], float]:
    """mlp_step.py's eager step, built with `lib` (this edition or the first)."""
    x, target = make_problem(B, D, dtype)
    return minigrad_stepper(build_minigrad(D, H, dtype, lib=lib), x, target, lib=lib)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=41)
    parser.add_argument("--quick", action="store_true", help="small sizes only, few repeats")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        try:
            first = import_first_edition(Path(folder))
        except (OSError, subprocess.CalledProcessError) as err:
            print(f"first_edition: cannot extract commit {FIRST_EDITION} with git ({err}); "
                  f"run this from a full clone of the repository", file=sys.stderr)
            return 2
        load = f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "?"
        print(f"machine: {os.cpu_count()} cores, numpy {np.__version__}, load average {load}")
        print(f"{'B, H, D, dtype':<24}{'first':>10}{'now':>10}{'now/first':>11}"
              f"{'middle half of blocks':>24}")
        for B, H, D, dtype, *_ in (SIZES[:2] if args.quick else SIZES):
            # two models per edition, built first, now, now, first: where an edition's arrays
            # land in memory moves a step's time by about 2 % at (256, 128), so both editions
            # get both places (a same-code A/A run showed that bias, one-sided, before this)
            steppers = {"first": stepper(first, B, H, D, dtype),
                        "now": stepper(mg, B, H, D, dtype),
                        "now 2": stepper(mg, B, H, D, dtype),
                        "first 2": stepper(first, B, H, D, dtype)}
            assert abs(steppers["first"]() - steppers["now"]()) < 1e-6 * (1 + B)  # same step
            start = time.perf_counter()  # blocks of about 20 ms (5 with --quick)
            for _ in range(5):
                steppers["now"]()
            per_step = (time.perf_counter() - start) / 5
            repeats = max(1, int((0.005 if args.quick else 0.02) / per_step))
            times = median_block_times(steppers, repeats, args.blocks)
            for name in ("now", "first"):  # a block's time: the mean over the edition's two
                times[name] = [(a + b) / 2 for a, b in zip(times[name], times[name + " 2"])]
            ratios = sorted(n / f for n, f in zip(times["now"], times["first"]))
            q1, q3 = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
            med = {name: statistics.median(times[name]) * 1e6 for name in ("first", "now")}
            print(f"{f'{B}, {H}, {D}, {dtype}':<24}{med['first']:>8.0f}us{med['now']:>8.0f}us"
                  f"{statistics.median(ratios):>11.3f}{f'{q1:.3f} - {q3:.3f}':>24}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
