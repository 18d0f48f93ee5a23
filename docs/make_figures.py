"""Regenerate the pictures of docs/visualisation.md into docs/img/.

    python docs/make_figures.py

Needs the graphviz Python package and the `dot` program. Seeds are fixed, so the same
minigrad gives the same pictures.
"""
from __future__ import annotations

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


def main() -> None:
    os.makedirs(IMG, exist_ok=True)
    figures = [
        ("two_node_both.svg", two_node_network(), dict(mode="both")),
        ("mlp_clustered.svg", mlp_network(), dict(mode="forward")),
        ("mlp_collapsed.svg", mlp_network(), dict(mode="both", collapse=True)),
    ]
    for name, root, options in figures:
        path = viz.render(root, os.path.join(IMG, name), **options)
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
