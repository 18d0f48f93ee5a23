"""examples/mdn.py and examples/mvn.py through their main(argv), on tiny runs (a few seconds)."""
import importlib.util
import json
import os
import sys

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
sys.path.insert(0, os.path.abspath(EXAMPLES))

import mdn  # noqa: E402
import mvn  # noqa: E402

TINY = ["--hidden", "16", "--n-train", "1000", "--n-test", "2000", "--epochs", "40",
        "--lr", "0.01"]
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def test_mdn_mixture_beats_the_single_gaussian_and_writes_json_and_picture(tmp_path, capsys):
    path = tmp_path / "nll.json"
    assert mdn.main([*TINY, "--json", str(path), "--out", str(tmp_path)]) == 0
    result = json.loads(path.read_text())
    assert result["test_samples"] == 2000 and result["components"] == 3
    # the single Gaussian cannot go below its floor; even this short run of the mixture
    # goes beyond it, where no single Gaussian can follow
    assert result["single_test_nll"] > mdn.SINGLE_GAUSSIAN_NLL - 0.05
    assert result["mixture_test_nll"] < mdn.SINGLE_GAUSSIAN_NLL - 0.1
    assert result["mixture_test_nll"] < result["single_test_nll"] - 0.4
    assert result["mixture_test_nll"] > mdn.BEST_NLL - 0.05
    printed = capsys.readouterr().out
    assert "single Gaussian" in printed and "-0.654" in printed and "-1.281" in printed
    assert (tmp_path / "mdn.png").exists() == HAS_MATPLOTLIB


def test_mdn_refuses_zero_components(capsys):
    assert mdn.main(["--components", "0", "--no-plot"]) == 2
    assert "--components must be >= 1" in capsys.readouterr().err


def test_mvn_full_covariance_beats_the_diagonal_model(tmp_path):
    path = tmp_path / "nll.json"
    assert mvn.main([*TINY, "--json", str(path), "--out", str(tmp_path)]) == 0
    result = json.loads(path.read_text())
    assert result["full_test_nll"] < result["diagonal_test_nll"] - 0.3
    assert result["full_test_nll"] > result["floor"] - 0.05
    assert (tmp_path / "mvn.png").exists() == HAS_MATPLOTLIB
