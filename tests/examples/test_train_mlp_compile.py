"""examples/train_mlp.py --compile: the replayed steps give the eager run's every number."""
import json
import os
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
sys.path.insert(0, os.path.abspath(EXAMPLES))

import train_mlp  # noqa: E402

# a batch size that does not divide the data: the last batch of an epoch is captured apart
TINY = ["--hidden", "8", "--n-train", "250", "--n-eval", "200", "--batch-size", "32",
        "--epochs", "4", "--no-graph", "--no-plot"]


def _metrics(tmp_path, name, *args):
    out = tmp_path / name
    assert train_mlp.main([*TINY, "--out", str(out), *args]) == 0
    with open(out / "metrics.json") as handle:
        metrics = json.load(handle)
    metrics.pop("config")
    metrics["held_out"] = {k: v for k, v in metrics["held_out"].items()
                           if not k.endswith("time_s")}
    return {k: v for k, v in metrics.items() if not k.endswith("time_s")}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_compile_gives_the_eager_run_s_numbers(tmp_path, optimizer):
    eager = _metrics(tmp_path, "eager", "--optimizer", optimizer)
    compiled = _metrics(tmp_path, "compiled", "--optimizer", optimizer, "--compile")
    assert compiled == eager
    assert eager["loss_history"][-1] < eager["loss_history"][0]


def test_compile_and_explore_exclude_each_other(tmp_path, capsys):
    status = train_mlp.main([*TINY, "--out", str(tmp_path / "x"), "--compile",
                             "--explore", str(tmp_path / "t.html")])
    assert status == 2
    assert "--compile and --explore" in capsys.readouterr().err
