"""Test data shared by the loss tests (pytest puts this folder on sys.path: tests/ has no
__init__.py)."""
import numpy as np


def gaussians(shape, seed):
    """Random [mu, sigma] pairs of `shape` (last axis 2), sigma in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    out = np.empty(shape)
    out[..., 0] = rng.normal(0.0, 1.0, shape[:-1])
    out[..., 1] = rng.uniform(0.5, 2.0, shape[:-1])
    return out
