"""The mixture and multivariate heads in ONNX: their documented output layouts, L built
exactly (zeros above the diagonal, softplus on it) even where raw values are extreme, and
opset 13. The round trips of trained models in both dtypes and runtimes are in
test_export_onnx.py (the `mixture*` and `multivariate*` cases of export_cases)."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.export import ExportError, register_onnx, to_onnx, unregister_onnx  # noqa: E402

try:
    import onnxruntime as ort
except ImportError:  # the reference evaluator still runs every test
    ort = None

from export_cases import TOLERANCE, inputs, minigrad_outputs, trained_model  # noqa: E402


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_mixture_layout_is_logits_mu_sigma_each_batch_by_k(tmp_path, dtype):
    model, shape = trained_model("mixture", dtype)
    proto = to_onnx(model, inputs(shape, 2, dtype), tmp_path / "m.onnx")
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    assert [o.name for o in proto.graph.output] == ["logits", "mu", "sigma"]
    for output in proto.graph.output:
        assert _dims(output) == ["batch", 3] and output.type.tensor_type.elem_type == elem
    x = inputs(shape, 50, dtype, seed=7)
    logits, mu, sigma = ReferenceEvaluator(proto).run(None, {"input": x})
    with mg.no_grad():
        pred = model(mg.Tensor(x)).data                       # (50, 3, 3) = [logit, mu, sigma]
    np.testing.assert_allclose(np.stack([logits, mu, sigma], axis=-1), pred,
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    assert (sigma >= 0.01).all()  # min_sigma=0.01 is the floor
    # the weights a server computes from the logits are minigrad's mixture_weights
    pi = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(pi / pi.sum(-1, keepdims=True), nn.mixture_weights(pred),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_multivariate_layout_is_mu_and_a_lower_triangular_L(tmp_path, dtype):
    model, shape = trained_model("multivariate", dtype)
    proto = to_onnx(model, inputs(shape, 1, dtype), tmp_path / "m.onnx")
    assert [o.name for o in proto.graph.output] == ["mu", "L"]
    assert [_dims(o) for o in proto.graph.output] == [["batch", 3], ["batch", 3, 3]]
    x = inputs(shape, 40, dtype, seed=8)
    mu, L = ReferenceEvaluator(proto).run(None, {"input": x})
    want = minigrad_outputs(model, x)
    np.testing.assert_allclose(mu, want["mu"], rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    np.testing.assert_allclose(L, want["L"], rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    assert (L[:, [0, 0, 1], [1, 2, 2]] == 0).all()           # exact zeros above the diagonal
    assert (np.diagonal(L, axis1=1, axis2=2) >= 0.01).all()  # min_sigma=0.01 floors it
    assert np.linalg.eigvalsh(L @ np.swapaxes(L, 1, 2)).min() > 0  # a covariance


def _head_with_extreme_raw(head: nn.Module, dtype: str) -> nn.Module:
    """Scale the head's Dense so that its raw outputs reach about +-800: softplus then meets
    both overflow (exp(800)) and underflow (exp(-800) = 0), and off-diagonal entries are huge."""
    rng = np.random.default_rng(11)
    head.linear.weight.data = (rng.normal(size=head.linear.weight.shape) * 200).astype(dtype)
    head.linear.bias.data = (rng.normal(size=head.linear.bias.shape) * 100).astype(dtype)
    return head


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_extreme_raw_values_give_minigrad_values(tmp_path, dtype):
    x = np.random.default_rng(12).normal(size=(200, 4)).astype(dtype)
    for head in (nn.MultivariateGaussianHead(4, 4, dtype=dtype),
                 nn.GaussianMixtureHead(4, 5, dtype=dtype)):
        head = _head_with_extreme_raw(head, dtype)
        with mg.no_grad():
            raw = head.linear(mg.Tensor(x)).data
        assert raw.max() > 700 and raw.min() < -700  # both softplus tails are reached
        proto = to_onnx(head, x[:3], tmp_path / "h.onnx")
        got = ReferenceEvaluator(proto).run(None, {"input": x})
        for (name, want), have in zip(minigrad_outputs(head, x).items(), got):
            assert np.isfinite(have).all(), name
            np.testing.assert_allclose(have, want, rtol=TOLERANCE[dtype], atol=0, err_msg=name)
        if ort is not None:  # every op used has a float64 kernel in onnxruntime too
            session = ort.InferenceSession(proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
            for (name, want), have in zip(minigrad_outputs(head, x).items(),
                                          session.run(None, {"input": x})):
                np.testing.assert_allclose(have, want, rtol=1e-5, atol=1e-5, err_msg=name)


def test_opset_13_exports_both_heads(tmp_path):
    # Unsqueeze takes its axes as an input from opset 13 on: the oldest opset accepted
    for name in ("mixture", "multivariate"):
        model, shape = trained_model(name, "float64")
        proto = to_onnx(model, inputs(shape, 3, "float64"), tmp_path / "m.onnx", opset=13)
        assert proto.opset_import[0].version == 13
        x = inputs(shape, 9, "float64", seed=4)
        got = ReferenceEvaluator(proto).run(None, {"input": x})
        for (label, want), have in zip(minigrad_outputs(model, x).items(), got):
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-12, err_msg=label)


def test_the_constant_tables_are_named_after_the_head(tmp_path):
    model, shape = trained_model("multivariate", "float64")
    proto = to_onnx(model, inputs(shape, 1, "float64"), tmp_path / "m.onnx")
    names = {t.name for t in proto.graph.initializer}
    assert {"1.linear.weight", "1.linear.bias", "1.tril_index", "1.diag_index",
            "1.strictly_lower_mask", "1.diagonal_mask", "1.mu_index"} <= names


def test_a_head_must_be_the_last_module():
    model = nn.Sequential(nn.GaussianMixtureHead(3, 2), nn.Tanh())
    with pytest.raises(ExportError, match="GaussianMixtureHead gives the model's named outputs "
                                          r"\(logits, mu, sigma\) and must be the last module"):
        to_onnx(model, np.ones((1, 3)), "never_written.onnx")


def test_several_outputs_need_a_converter_that_names_them(tmp_path):
    class Pair(nn.Module):
        def forward(self, x):
            return x, x * 2.0

    register_onnx(Pair, lambda g, m, x: x)  # returns one value for a module with two outputs
    try:
        with pytest.raises(ExportError, match="the model returns 2 tensors, but its last "
                                              "converter gave one ONNX value"):
            to_onnx(Pair(), np.ones((1, 2)), tmp_path / "m.onnx")
    finally:
        unregister_onnx(Pair)
    assert list(tmp_path.iterdir()) == []


def test_the_docs_multivariate_snippet_runs(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "exporting.md"
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)
    (block,) = [b for b in blocks if '"mvn.onnx"' in b]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(block, namespace)
    want = minigrad_outputs(namespace["mvn_model"], namespace["xs"])
    np.testing.assert_allclose(namespace["mu"], want["mu"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(namespace["L"], want["L"], rtol=1e-5, atol=1e-5)
    assert namespace["cov"].shape == (8, 2, 2)
