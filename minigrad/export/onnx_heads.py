"""ONNX converters of the mixture and multivariate heads, and the output layout of each.

Both heads end in one Dense (`module.linear`) whose raw output (..., R) is rearranged with
constant index tables (`Gather` on the last axis), so any number of leading axes and a
dynamic batch need no Reshape:

- `GaussianMixtureHead(h, K)`: R = 3K holds [logit, mu, pre-sigma] per component, component
  k at columns 3k, 3k+1, 3k+2. Outputs `logits`, `mu`, `sigma`, each (..., K), with
  sigma = softplus(raw[3k+2]) + min_sigma; the weights are pi = Softmax(logits, axis=-1),
  left to the user (minigrad's head returns the logits too).
- `MultivariateGaussianHead(h, D)`: R = D + D(D+1)/2, mu first, then L's lower triangle row
  by row, (0,0), (1,0), (1,1), (2,0), ... Outputs `mu` (..., D) and `L` (..., D, D):
  L_ij = raw[D + k(i, j)] below the diagonal, softplus(raw[D + k(i, i)]) + min_sigma on it,
  0 above it (chosen by `Where` with constant masks, so they are exact zeros).

softplus is OnnxGraph.softplus, the overflow-free logaddexp(x, 0) minigrad computes, so the
export agrees with minigrad to rounding in float64 and float32.
"""
from __future__ import annotations

from typing import Any, cast

import numpy as np

from minigrad import nn
from minigrad.export.onnx import OnnxGraph, register_onnx

__all__: list[str] = []  # registers converters on import; nothing public to star-import


def _columns(g: OnnxGraph, raw: str, index: np.ndarray, hint: str) -> str:
    """raw[..., index]: Gather on the last axis with a constant int64 table, so the result
    has shape (..., *index.shape)."""
    return g.op("Gather", [raw, g.array(np.asarray(index, np.int64), hint)], axis=-1)


def _positive(g: OnnxGraph, pre: str, floor: float) -> str:
    """softplus(pre) + floor, the heads' standard deviation (or Cholesky diagonal)."""
    return g.op("Add", [g.softplus(pre), g.constant(floor)])


def _mixture_head(g: OnnxGraph, module: Any, x: str) -> dict:
    # minigrad reshapes raw (..., 3K) to (..., K, 3); component k's fields sit at 3k + field
    raw = cast(str, g.convert(module.linear, x))  # a linear layer gives one value
    first = 3 * np.arange(module.n_components)
    return {
        "logits": _columns(g, raw, first, "logit_index"),
        "mu": _columns(g, raw, first + 1, "mu_index"),
        "sigma": _positive(g, _columns(g, raw, first + 2, "sigma_index"), module.min_sigma),
    }


def _mixture_outputs(pred: np.ndarray) -> dict:
    """minigrad's (..., K, 3) = [logit, mu, sigma] split into the three ONNX outputs."""
    return {"logits": pred[..., 0], "mu": pred[..., 1], "sigma": pred[..., 2]}


def _multivariate_head(g: OnnxGraph, module: Any, x: str) -> dict:
    raw = cast(str, g.convert(module.linear, x))  # a linear layer gives one value
    dim = module.dim
    rows, cols = np.tril_indices(dim)       # minigrad's fill order of the lower triangle
    # table[i, j] = the raw column of L_ij; entries above the diagonal point at column `dim`
    # too (any valid column): the mask below replaces them by 0
    table = np.full((dim, dim), dim, np.int64)
    table[rows, cols] = dim + np.arange(rows.size)
    below = g.array(np.tril(np.ones((dim, dim), bool), -1), "strictly_lower_mask")
    lower = g.op("Where", [below, _columns(g, raw, table, "tril_index"), g.constant(0.0)])
    # the diagonal, (..., D), made positive, then stood up as a column (..., D, 1) so that
    # Where(eye, column, lower) puts entry i at (i, i)
    diag = _positive(g, _columns(g, raw, table[np.arange(dim), np.arange(dim)], "diag_index"),
                     module.min_sigma)
    column = g.op("Unsqueeze", [diag, g.array(np.array([-1], np.int64), "last_axis")])
    L = g.op("Where", [g.array(np.eye(dim, dtype=bool), "diagonal_mask"), column, lower])
    return {"mu": _columns(g, raw, np.arange(dim), "mu_index"), "L": L}


def _multivariate_outputs(pair: Any) -> dict:
    """minigrad's (mu, L) under the ONNX output names. (`pair: Any`: the head returns a
    tuple where register_onnx's `outputs` type, OutputSplit, expects one array.)"""
    mu, L = pair
    return {"mu": mu, "L": L}


register_onnx(nn.GaussianMixtureHead, _mixture_head, outputs=_mixture_outputs)
register_onnx(nn.MultivariateGaussianHead, _multivariate_head, outputs=_multivariate_outputs)
