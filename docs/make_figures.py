"""Regenerate the pictures of docs/visualisation.md into docs/img/.

    python docs/make_figures.py                 # every picture, into docs/img/
    python docs/make_figures.py --out /tmp/img  # somewhere else, e.g. to compare
    python docs/make_figures.py --help

Needs the graphviz Python package and the `dot` program; the explorer's screenshots
also need selenium and Chromium (skipped with a notice without them). Seeds are fixed, so the same
minigrad gives the same pictures.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

import minigrad as mg
import minigrad.viz as viz
from minigrad import nn
from minigrad.nn import functional as F

IMG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "img")


def two_node_network() -> mg.Tensor:
    """The tutorial's network: learnable mu and sigma, the KL loss to a target N(1, 0.5^2)."""
    mu = mg.Tensor(0.0, requires_grad=True, name="mu")
    sigma = mg.Tensor(2.0, requires_grad=True, name="sigma")
    mu_gt = mg.Tensor(1.0, name="mu_gt")
    sigma_gt = mg.Tensor(0.5, name="sigma_gt")
    return F.gaussian_kl(mu, sigma, mu_gt, sigma_gt, reduction="mean")


def mlp_network() -> mg.Tensor:
    """A small MLP with a Gaussian head, trained on 16 points against the target N(0.5, 1)."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.MLP([1, 8, 8]), nn.GaussianHead(8))
    x = mg.Tensor(np.linspace(-1.0, 1.0, 16).reshape(16, 1), name="x")
    return nn.GaussianKLLoss()(model(x), mg.Tensor([0.5, 1.0], name="target"))


def explorer_screenshots(out: str = IMG) -> None:
    """<out>/explorer_*.png: the explorer in headless Chromium (skipped, saying why, when
    selenium, chromium or chromedriver is missing)."""
    import shutil
    import tempfile
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
    except ImportError:
        print("explorer screenshots skipped: pip install selenium")
        return
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        print("explorer screenshots skipped: apt-get install chromium chromium-driver")
        return
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1200,760",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='mgx-docs-')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    folder = tempfile.mkdtemp(prefix="mgx-docs-")
    try:
        # the MLP: a parameter clicked, then backward stepped to its fifth node
        viz.explore(mlp_network(), os.path.join(folder, "mlp.html"))
        driver.get("file://" + os.path.join(folder, "mlp.html"))
        driver.find_element(By.XPATH, "//*[@data-node][*[local-name()='text'][1]"
                                      "[text()='0.layers.2.weight']]").click()
        driver.save_screenshot(os.path.join(out, "explorer_panel.png"))
        driver.find_element(By.CSS_SELECTOR, ".mgx").send_keys(*[Keys.ARROW_RIGHT] * 5)
        driver.save_screenshot(os.path.join(out, "explorer_step.png"))
        # a NaN: log of a negative number, its value used three times (a diamond)
        x = mg.Tensor([1.0, -1.0, 2.0], requires_grad=True, name="x")
        with np.errstate(invalid="ignore"):
            y = mg.log(x)
        y.name = "y"
        viz.explore((y * y + y).sum(), os.path.join(folder, "nan.html"))
        driver.get("file://" + os.path.join(folder, "nan.html"))
        driver.find_element(By.CSS_SELECTOR, ".mgx").send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
        driver.save_screenshot(os.path.join(out, "explorer_nan.png"))
    finally:
        driver.quit()
    for name in ("explorer_panel.png", "explorer_step.png", "explorer_nan.png"):
        path = os.path.join(out, name)
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KiB)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Regenerate the pictures of docs/visualisation.md (the graph renderings, "
                    "and the explorer's screenshots when selenium and Chromium are installed). "
                    "Needs the graphviz package and Graphviz's `dot` program.")
    parser.add_argument("--out", default=IMG, metavar="DIR",
                        help="the folder to write the pictures into (default: docs/img)")
    parser.add_argument("--no-screenshots", action="store_true",
                        help="skip the explorer's screenshots (they need selenium and Chromium)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    figures = [
        ("two_node_both.svg", two_node_network(), {"mode": "both"}),
        ("mlp_clustered.svg", mlp_network(), {"mode": "forward"}),
        ("mlp_collapsed.svg", mlp_network(), {"mode": "both", "collapse": True}),
    ]
    for name, root, options in figures:
        path = viz.render(root, os.path.join(args.out, name), **options)
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KiB)")
    if not args.no_screenshots:
        explorer_screenshots(args.out)


if __name__ == "__main__":
    main()
