"""--explore of examples/fit_gaussian.py and examples/train_mlp.py: a timeline page whose
snapshots hold the engine's values and gradients at the recorded steps."""
import json
import os
import re
import shutil
import sys

import pytest

pytest.importorskip("graphviz")
pytestmark = pytest.mark.requires_tool("dot")  # skips locally without dot, fails in CI

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
sys.path.insert(0, os.path.abspath(EXAMPLES))

import fit_gaussian  # noqa: E402
import train_mlp  # noqa: E402


def page_data(path):
    text = open(path, encoding="utf-8").read()
    return json.loads(re.search(r'class="mgx-data">(.*?)</script>', text, re.S).group(1))


def test_fit_gaussian_timeline(tmp_path, capsys):
    path = tmp_path / "fit.html"
    assert fit_gaussian.main(["--explore", str(path), "--max-steps", "40"]) == 0
    assert "wrote the training timeline (7 snapshots)" in capsys.readouterr().out
    data = page_data(path)
    assert data["timeline"]["steps"] == [0, 1, 2, 4, 8, 16, 32]
    assert [p[0] for p in data["timeline"]["losses"]] == list(range(41))
    # step 0 from (3, 1) to N(0, 1): dD/dmu = mu - mu_gt = 3, dD/dsigma = 1 - 1 - 9 = -9
    first = data["snapshots"][0]
    grads = {t["name"]: t["grad"]["exact"][0] for t in first["tensors"].values()
             if t["kind"] == "parameter"}
    assert grads == {"mu_m": 3.0, "sigma_m": -9.0}
    assert data["timeline"]["losses"][0][1] == 4.5


def test_train_mlp_timeline(tmp_path, capsys):
    path = tmp_path / "run.html"
    status = train_mlp.main(["--hidden", "8", "--n-train", "128", "--n-eval", "50",
                             "--batch-size", "32", "--epochs", "2", "--no-graph", "--no-plot",
                             "--out", str(tmp_path / "out"), "--explore", str(path)])
    assert status == 0
    data = page_data(path)
    assert data["timeline"]["steps"] == [0, 1, 2, 4]   # 8 steps: 0 and the powers of two
    assert len(data["timeline"]["losses"]) == 8
    metrics = json.load(open(tmp_path / "out" / "metrics.json"))
    assert metrics["held_out"]["steps"] == 8
    names = {t["name"] for t in data["snapshots"][-1]["tensors"].values()}
    assert "0.layers.0.weight" in names
    assert train_mlp.main(["--hidden", "8", "--epochs", "1", "--no-graph", "--no-plot",
                           "--explore", str(tmp_path / "no" / "dir" / "x.html"),
                           "--out", str(tmp_path / "o2")]) == 2
    assert "does not exist" in capsys.readouterr().err
