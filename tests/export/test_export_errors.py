"""Bad input to to_onnx: each case names the problem, and no file (not even half of one) is left."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")

from minigrad import nn  # noqa: E402
from minigrad.export import ExportError, to_onnx  # noqa: E402
from minigrad.export import onnx as onnx_export  # noqa: E402

from export_cases import inputs, trained_model  # noqa: E402


@pytest.fixture
def model():
    return trained_model("readme", "float64")[0]


def refused(tmp_path, model, x, match, name="m.onnx"):
    with pytest.raises(ExportError, match=match):
        to_onnx(model, x, tmp_path / name)
    assert not (tmp_path / name).exists() and not list(tmp_path.glob(".*tmp"))


class Custom(nn.Module):
    def forward(self, x):
        return x


def test_an_unsupported_module_is_named_with_the_supported_list(tmp_path):
    with pytest.raises(ExportError) as info:
        to_onnx(nn.Sequential(nn.Dense(1, 2), Custom()), np.ones((1, 1)), tmp_path / "m.onnx")
    message = str(info.value)
    assert "Custom (at '1')" in message and "register_onnx" in message
    for name in ("Dense", "GaussianHead", "MLP", "ReLU", "Sequential", "Sigmoid", "Softplus",
                 "Tanh"):
        assert name in message
    assert not (tmp_path / "m.onnx").exists()


def test_a_head_must_come_last(tmp_path):
    model = nn.Sequential(nn.Dense(1, 4), nn.GaussianHead(4), nn.Tanh())
    refused(tmp_path, model, np.ones((1, 1)), "GaussianHead gives the model's named outputs")


@pytest.mark.parametrize("x, match", [
    (np.ones((1, 3)), r"shape \(1, 3\) and dtype float64 does not fit the model: .*Dense\(1->16\)"),
    (np.ones((1, 1), np.float32), "is float32 but the model is float64"),
    (np.ones((1, 1), np.int64), "dtype int64; pass floating-point data"),
    (np.ones(1), r"shape \(1,\); it needs a batch axis first"),
    (np.ones((0, 1)), r"shape \(0, 1\); it needs a batch axis first"),
    ("abc", "dtype <U3"),
])
def test_a_wrong_example_input_is_refused(tmp_path, model, x, match):
    refused(tmp_path, model, x, match)


def test_a_partly_built_or_diverged_model_is_refused(tmp_path, model):
    refused(tmp_path, nn.Sequential(), np.ones((1, 1)), "Sequential at 'the root' is empty")
    refused(tmp_path, nn.Sequential(nn.MLP([1, 2]), nn.Sequential()), np.ones((1, 1)),
            "Sequential at '1' is empty")
    model[1].linear.bias.data[0] = np.nan
    refused(tmp_path, model, np.ones((1, 1)), "'1.linear.bias' holds inf or NaN")
    mixed = nn.Sequential(nn.Dense(1, 2, dtype="float32"), nn.Dense(2, 2, dtype="float64"))
    refused(tmp_path, mixed, np.ones((1, 1)), "mixes parameter dtypes")
    with pytest.raises(ExportError, match="expected a minigrad nn.Module, got function"):
        to_onnx(lambda x: x, np.ones((1, 1)), tmp_path / "m.onnx")


def test_an_unwritable_destination_is_refused(tmp_path, model):
    x = inputs((1,), 1, "float64")
    with pytest.raises(ExportError, match="does not exist; create it first"):
        to_onnx(model, x, tmp_path / "missing" / "m.onnx")
    with pytest.raises(ExportError, match="is a folder"):
        to_onnx(model, x, tmp_path)
    with pytest.raises(ExportError, match="path must be a file name"):
        to_onnx(model, x, 42)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs a POSIX user whom folder permissions bind (not root)")
def test_a_read_only_folder_is_refused(tmp_path, model):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ExportError, match="not writable"):
            to_onnx(model, inputs((1,), 1, "float64"), folder / "m.onnx")
    finally:
        folder.chmod(0o700)


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path, model, monkeypatch):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"the previous export")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_export.os, "replace", fail)
    with pytest.raises(ExportError, match="No space left on device"):
        to_onnx(model, inputs((1,), 1, "float64"), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    assert target.read_bytes() == b"the previous export"


@pytest.mark.parametrize("opset", [12, 10_000, 17.0, True])
def test_a_bad_opset_is_refused(tmp_path, model, opset):
    with pytest.raises(ExportError, match="opset must be an integer from 13 to"):
        to_onnx(model, inputs((1,), 1, "float64"), tmp_path / "m.onnx", opset=opset)


def test_without_onnx_the_error_names_the_extra(tmp_path, model, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'minigrad-numpy\[export\]'"):
        to_onnx(model, inputs((1,), 1, "float64"), tmp_path / "m.onnx")
