"""How fast the explorer's page becomes interactive, and how much it weighs.

    python benchmarks/explorer_open.py [--repeats 5]

* the 2,043-node graph of tests/viz (an MLP of 340 layers of width 4 on a 3 x 4 batch, 682
  module clusters), explored with mode="both" (4,086 drawn nodes) and mode="forward": the
  page size, the Python time to build it (layout by `dot` included), and the time from
  navigation start to the first frame painted after the script wired every node to its
  data (`performance.now()` then), in headless Chromium, median over --repeats loads from a file:// URL;
* the README's first-look model (MLP 1-16-16 with a GaussianHead and the KL loss on 2
  inputs): the page size.

Goals (issue 14): the README page under 1 MB, the 2,000-node page interactive under 2 s.
Needs graphviz, selenium and Chromium (apt-get install chromium chromium-driver).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import minigrad as mg
from minigrad import nn
import minigrad.viz as viz

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,900"]


def readme_loss() -> mg.Tensor:
    mg.manual_seed(0)
    x = mg.Tensor([[0.5], [-1.0]])
    target = mg.Tensor([[0.0, 1.0], [0.5, 0.3]])
    model = nn.Sequential(nn.MLP([1, 16, 16]), nn.GaussianHead(16))
    return nn.GaussianKLLoss()(model(x), target)


def big_graph() -> mg.Tensor:
    mg.manual_seed(0)
    return nn.MLP([4] + [4] * 340)(mg.randn(3, 4)).sum()


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in FLAGS + [f"--user-data-dir={tempfile.mkdtemp(prefix='mgx-bench-')}"]:
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def time_to_interactive(driver, path: str) -> float:
    """Seconds from navigation start to the page's ready mark."""
    driver.get("about:blank")
    driver.get("file://" + os.path.abspath(path))
    ms = None
    for _ in range(200):  # the mark is set once the first frame after start-up is painted
        ms = driver.execute_script("return document.querySelector('.mgx').dataset.readyMs")
        if ms is not None:
            break
        time.sleep(0.05)
    if ms is None:
        raise RuntimeError(f"{path}: the explorer did not become ready")
    return float(ms) / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="mgx-bench-")
    readme = viz.explore(readme_loss(), os.path.join(folder, "readme.html"))
    size = os.path.getsize(os.path.join(folder, "readme.html"))
    print(f"README model page: {size / 1e6:.3f} MB ({size} bytes, "
          f"{len(readme.data['snapshots'][0]['tensors'])} tensors; goal < 1 MB)")
    pages = []
    for mode in ("both", "forward"):
        began = time.perf_counter()
        path = os.path.join(folder, f"big_{mode}.html")
        viz.explore(big_graph(), path, mode=mode)
        built = time.perf_counter() - began
        pages.append((mode, path))
        print(f"2,043-node graph, mode={mode}: page {os.path.getsize(path) / 1e6:.2f} MB, "
              f"built in {built:.2f} s (Python and dot)")
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        print("no chromium/chromedriver on PATH: cannot time the opening")
        return 1
    driver = browser()
    try:
        for mode, path in pages:
            times = [time_to_interactive(driver, path) for _ in range(args.repeats)]
            print(f"2,043-node graph, mode={mode}: interactive after "
                  f"{statistics.median(times):.3f} s (median of {args.repeats}; "
                  f"min {min(times):.3f}, max {max(times):.3f}; goal < 2 s)")
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
