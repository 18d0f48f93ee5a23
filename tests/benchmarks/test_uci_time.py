"""benchmarks/uci_time.py on the smallest protocol: yacht, one split, one network."""
import importlib.util
import os
import sys

import numpy as np

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")
sys.path.insert(0, os.path.abspath(BENCHMARKS))

import uci_time  # noqa: E402


def test_the_benchmark_times_minigrad_and_says_whether_torch_ran(capsys):
    assert uci_time.main(["--dataset", "yacht", "--splits", "1", "--ensemble", "1"]) == 0
    out = capsys.readouterr().out
    assert "yacht: 1 splits x 1 networks, 40 epochs, batch 100" in out
    assert "minigrad" in out
    if importlib.util.find_spec("torch") is None:
        assert "PyTorch is not installed" in out
    else:
        assert "ratio PyTorch / minigrad" in out


def test_minigrad_part_trains_a_network_that_predicts_the_test_rows():
    data = uci_time.ud.load("yacht")
    train, test = next(uci_time.ud.splits(len(data.y), 1, seed=0))
    scaler = uci_time.ud.Scaler.fit(data.x[train], data.y[train])
    mu, sigma = uci_time.minigrad_run(0.01)(scaler.x(data.x[train]), scaler.y(data.y[train]),
                                            scaler.x(data.x[test]), 50, 40, 0)
    y_test = scaler.y(data.y[test])
    # standardised targets: a trained network's error is well below the constant's (about 1)
    assert np.sqrt(np.mean((mu - y_test) ** 2)) < 0.5 and (sigma > 0).all()
