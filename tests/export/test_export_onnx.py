"""to_onnx round trips: every supported module, both dtypes, batch 1 and many, trained weights;
the file is checked, then run in ONNX's reference evaluator and (when installed) onnxruntime."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx.reference import ReferenceEvaluator  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.export import (ExportError, identity, register_onnx, supported_modules,  # noqa: E402
                             to_onnx, unregister_onnx)

from export_cases import (DTYPES, NAMES, TOLERANCE, inputs, minigrad_outputs,  # noqa: E402
                          trained_model)

BATCHES = [1, 37]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(name, dtype) -> (model, input shape, path of its ONNX file), each exported once."""
    folder = tmp_path_factory.mktemp("onnx")
    cache = {}

    def get(name, dtype):
        if (name, dtype) not in cache:
            model, shape = trained_model(name, dtype)
            path = folder / f"{name}_{dtype}.onnx"
            to_onnx(model, inputs(shape, 1, dtype), path)
            cache[name, dtype] = model, shape, path
        return cache[name, dtype]

    return get


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_reference_evaluator_reproduces_minigrad(exported, name, dtype, batch):
    model, shape, path = exported(name, dtype)
    x = inputs(shape, batch, dtype, seed=batch)
    want = minigrad_outputs(model, x)
    got = ReferenceEvaluator(str(path)).run(None, {"input": x})
    loaded = onnx.load(str(path))
    assert [o.name for o in loaded.graph.output] == list(want)
    for (label, expected), actual in zip(want.items(), got):
        assert actual.dtype == np.dtype(dtype) and actual.shape == expected.shape, label
        np.testing.assert_allclose(actual, expected, rtol=TOLERANCE[dtype],
                                   atol=TOLERANCE[dtype], err_msg=label)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NAMES)
def test_onnxruntime_reproduces_minigrad(exported, name, dtype, batch):
    ort = pytest.importorskip("onnxruntime")
    model, shape, path = exported(name, dtype)
    x = inputs(shape, batch, dtype, seed=batch)
    want = minigrad_outputs(model, x)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(list(want), {"input": x})
    for (label, expected), actual in zip(want.items(), got):
        assert actual.dtype == np.dtype(dtype) and actual.shape == expected.shape, label
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5, err_msg=label)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_file_is_a_checked_model_with_a_dynamic_batch_and_named_weights(exported, dtype):
    model, _, path = exported("readme", dtype)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    (graph_input,) = proto.graph.input
    assert graph_input.name == "input" and graph_input.type.tensor_type.elem_type == elem
    dims = graph_input.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 1
    for output in proto.graph.output:
        assert output.type.tensor_type.elem_type == elem
        assert [d.dim_param for d in output.type.tensor_type.shape.dim] == ["batch"]
    stored = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    for name, value in model.state_dict().items():  # Dense keeps its (in, out) weight
        np.testing.assert_array_equal(stored[name], value)
    assert proto.producer_name == "minigrad" and proto.opset_import[0].version == 17


def test_opset_13_exports_too_and_metadata_is_kept(tmp_path):
    model, shape = trained_model("softplus_head", "float64")
    proto = to_onnx(model, inputs(shape, 2, "float64"), tmp_path / "m.onnx", opset=13,
                    metadata={"origin": "test"})
    assert proto.opset_import[0].version == 13
    assert {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props} == \
        {"origin": "test"}


def test_softplus_matches_logaddexp_over_the_whole_range(tmp_path):
    # minigrad computes softplus(x) = logaddexp(x, 0); ONNX has no log1p, so the export
    # rebuilds it: this checks the rebuild where it is hardest (tiny and huge values)
    x = np.concatenate([np.linspace(-745, 745, 2001), np.linspace(-40, 40, 2001),
                        [0.0, -1e-300, 1e-300, 5e-324, 709.7, 1e-17, -1e-17]])[:, None]
    to_onnx(nn.Sequential(nn.Softplus()), x[:1], tmp_path / "sp.onnx")
    got = ReferenceEvaluator(str(tmp_path / "sp.onnx")).run(None, {"input": x})[0]
    want = np.logaddexp(x, 0)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_export_leaves_the_training_mode_as_it_was(tmp_path):
    model, shape = trained_model("readme", "float64")
    model.train()
    to_onnx(model, inputs(shape, 1, "float64"), tmp_path / "m.onnx")
    assert all(m.training for m in model.modules())
    model.eval()
    to_onnx(model, inputs(shape, 1, "float64"), tmp_path / "m.onnx")
    assert not any(m.training for m in model.modules())


# ---- the registry: adding a module is one registration -------------------------------------

class TorchStyleLinear(nn.Module):
    """Stands in for nn.Linear: weight (out, in), y = x @ W^T + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        rng = np.random.default_rng(5)
        self.weight = nn.Parameter(rng.normal(size=(n_out, n_in)))
        self.bias = nn.Parameter(rng.normal(size=n_out))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class DropoutLike(nn.Module):
    """Stands in for nn.Dropout: the identity in eval mode, zeroes entries while training."""

    def forward(self, x):
        return x * 0.0 if self.training else x


def test_a_new_module_is_one_registration(tmp_path):
    register_onnx(TorchStyleLinear, lambda g, m, x: g.affine(x, m.weight, m.bias, transposed=True))
    register_onnx(DropoutLike, identity)
    try:
        assert {"TorchStyleLinear", "DropoutLike"} <= set(supported_modules())
        model = nn.Sequential(TorchStyleLinear(3, 4), nn.Tanh(), DropoutLike(),
                              nn.GaussianHead(4))
        x = inputs((3,), 9, "float64")
        to_onnx(model, x[:1], tmp_path / "m.onnx")  # export runs the model in eval mode
        got = ReferenceEvaluator(str(tmp_path / "m.onnx")).run(None, {"input": x})
        want = minigrad_outputs(model.eval(), x)
        np.testing.assert_allclose(got[0], want["mu"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got[1], want["sigma"], rtol=1e-12, atol=1e-12)
        stored = {t.name for t in onnx.load(str(tmp_path / "m.onnx")).graph.initializer}
        assert {"0.weight", "0.bias"} <= stored
    finally:
        unregister_onnx(TorchStyleLinear)
        unregister_onnx(DropoutLike)
    assert "TorchStyleLinear" not in supported_modules()


def test_a_wrong_converter_is_caught_before_the_file_is_written(tmp_path):
    # registered as the identity, but the module doubles its input: verification refuses it
    class Double(nn.Module):
        def forward(self, x):
            return x * 2.0

    register_onnx(Double, identity)
    try:
        with pytest.raises(ExportError, match="differs from minigrad's"):
            to_onnx(nn.Sequential(nn.Dense(2, 2), Double()), np.ones((1, 2)),
                    tmp_path / "m.onnx")
    finally:
        unregister_onnx(Double)
    assert list(tmp_path.iterdir()) == []


def test_shared_layers_are_stored_once(tmp_path):
    mg.manual_seed(0)
    layer = nn.Dense(3, 3)
    model = nn.Sequential(layer, nn.Tanh(), layer)
    x = inputs((3,), 4, "float64")
    proto = to_onnx(model, x, tmp_path / "m.onnx")
    assert len(proto.graph.initializer) == 2
    got = ReferenceEvaluator(proto).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, minigrad_outputs(model, x)["output"], rtol=1e-12, atol=1e-12)


def test_the_docs_onnx_snippets_run(tmp_path, monkeypatch):
    # docs/exporting.md: the export block, then the onnxruntime block, as a reader runs them
    ort = pytest.importorskip("onnxruntime")  # noqa: F841
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "exporting.md"
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)
    export_block = next(b for b in blocks if 'to_onnx(model, x[:1], "model.onnx")' in b)
    serve_block = next(b for b in blocks if "ort.InferenceSession" in b)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(export_block, namespace)
    exec(serve_block, namespace)
    want = minigrad_outputs(namespace["model"], namespace["x"])
    np.testing.assert_allclose(namespace["mu"], want["mu"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(namespace["sigma"], want["sigma"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_real_linear_and_dropout_export(tmp_path, dtype):
    mg.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Dropout(0.3), nn.GaussianHead(5))
    for p in model.parameters():
        p.data = p.data.astype(dtype)
    x = inputs((3,), 7, dtype)
    to_onnx(model, x[:2], tmp_path / "m.onnx")
    got = ReferenceEvaluator(str(tmp_path / "m.onnx")).run(None, {"input": x})
    want = minigrad_outputs(model.eval(), x)
    np.testing.assert_allclose(got[0], want["mu"], rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    np.testing.assert_allclose(got[1], want["sigma"], rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])
    assert {"Linear", "Dropout"} <= set(supported_modules())
