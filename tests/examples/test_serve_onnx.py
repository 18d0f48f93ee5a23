"""train_mlp.py --export writes the trained model as ONNX; serve_onnx.py runs it in onnxruntime
and prints the predictions minigrad gives, in both dtypes, for the synthetic task and a CSV."""
import os
import sys

import numpy as np
import pytest

pytest.importorskip("onnx")

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
sys.path.insert(0, os.path.abspath(EXAMPLES))

import train_mlp  # noqa: E402

TINY = ["--hidden", "8", "8", "--n-train", "256", "--n-eval", "200", "--batch-size", "32",
        "--epochs", "3", "--no-graph", "--no-plot"]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_export_then_serve_gives_minigrads_predictions(tmp_path, capsys, dtype):
    pytest.importorskip("onnxruntime")
    import serve_onnx

    path = tmp_path / "model.onnx"
    status = train_mlp.main([*TINY, "--dtype", dtype, "--dim", "2", "--out",
                             str(tmp_path / "run"), "--export", str(path)])
    assert status == 0 and path.is_file()
    assert f"wrote {path} (ONNX, outputs mu and sigma" in capsys.readouterr().out

    checkpoint = str(tmp_path / "run" / "checkpoint.npz")
    assert serve_onnx.main([str(path), "--x", "0.5,1", "2,-1", "--checkpoint", checkpoint]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["x", "mu", "sigma"] and len(lines) == 4
    served = np.array([[float(v) for v in line.split()[1:]] for line in lines[1:3]])
    want = serve_onnx.minigrad_predictions(checkpoint, np.array([[0.5, 1.0], [2.0, -1.0]]))
    np.testing.assert_allclose(served, want, atol=1e-6)  # printed with 6 decimals
    difference = float(lines[3].rsplit(" ", 1)[1])
    assert difference <= (1e-12 if dtype == "float64" else 1e-5)


def test_a_csv_run_serves_in_the_datas_units(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    import serve_onnx

    rng = np.random.default_rng(0)
    x = rng.uniform(100, 200, size=300)
    table = np.column_stack([x, 3 * x + rng.normal(scale=5, size=300)])
    csv = tmp_path / "data.csv"
    np.savetxt(csv, table, delimiter=",", header="a,b", comments="")
    path = tmp_path / "m.onnx"
    assert train_mlp.main([*TINY, "--csv", str(csv), "--x", "a", "--y", "b", "--out",
                           str(tmp_path / "run"), "--export", str(path)]) == 0
    session, scaling = serve_onnx.load_session(str(path))
    assert scaling["x_mean"][0] > 100  # the scaling travelled in the file
    rows = np.array([[120.0], [180.0]])
    want = serve_onnx.minigrad_predictions(str(tmp_path / "run" / "checkpoint.npz"), rows)
    np.testing.assert_allclose(serve_onnx.predict(session, scaling, rows), want,
                               rtol=1e-12, atol=1e-12)


def test_export_problems_stop_the_run_before_training(tmp_path, capsys, monkeypatch):
    status = train_mlp.main([*TINY, "--out", str(tmp_path / "run"), "--export",
                             str(tmp_path / "missing" / "m.onnx")])
    assert status == 2 and not (tmp_path / "run").exists()
    assert "the folder" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "onnx", None)
    status = train_mlp.main([*TINY, "--out", str(tmp_path / "run"), "--export",
                             str(tmp_path / "m.onnx")])
    assert status == 2 and "pip install 'minigrad-numpy[export]'" in capsys.readouterr().err


def test_eval_exports_a_checkpoint_without_training(tmp_path, capsys):
    assert train_mlp.main([*TINY, "--out", str(tmp_path / "run")]) == 0
    path = tmp_path / "later.onnx"
    assert train_mlp.main(["--eval", str(tmp_path / "run" / "checkpoint.npz"),
                           "--export", str(path)]) == 0
    assert path.is_file()
