"""examples/uci.py and examples/uci_data.py: loaders, splits, scores, mixture, pseudo-targets,
the command line's exit codes, and a small real run on yacht."""
import functools
import gzip
import json
import math
import os
import sys

import numpy as np
import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
sys.path.insert(0, os.path.abspath(EXAMPLES))

import uci  # noqa: E402
import uci_data as ud  # noqa: E402


# ---- loaders ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def loaded(name):
    """Each file read once for the whole module (protein takes a second or two)."""
    return ud.load(name)


@pytest.mark.parametrize("name", list(ud.SPECS))
def test_every_data_set_loads_with_its_published_shape(name):
    spec = ud.SPECS[name]
    data = loaded(name)
    assert data.x.shape == (spec.rows, len(spec.features))
    assert data.y.shape == (spec.rows,)
    assert np.isfinite(data.x).all() and np.isfinite(data.y).all()


def test_the_target_column_is_the_one_the_readme_names():
    # yacht's first row, read by hand from the file: the last of 7 numbers is the target
    yacht = ud.load("yacht")
    with gzip.open(os.path.join(ud.DATA_DIR, "yacht.txt.gz"), "rt") as handle:
        first = [float(v) for v in handle.readline().split()]
    assert yacht.y[0] == first[6] and list(yacht.x[0]) == first[:6]
    # naval: column 16 is the target, column 17 (the second target) is not an input
    naval = loaded("naval-propulsion-plant")
    assert naval.x.shape[1] == 16 and 0.95 <= naval.y.min() and naval.y.max() <= 1.0
    # protein: RMSD (last column, 0..21 angstrom) is the target, F1 (thousands) an input
    protein = loaded("protein-tertiary-structure")
    assert protein.y.max() < 25 and protein.x[:, 0].mean() > 1000


def write_gz(path, text):
    with gzip.open(path, "wt") as handle:
        handle.write(text)


def test_a_short_line_is_reported_with_file_and_line(tmp_path):
    write_gz(tmp_path / "yacht.txt.gz", "1 2 3 4 5 6 7\n1 2 3 4 5 6\n")
    with pytest.raises(ud.DataFileError, match=r"yacht.txt.gz, line 2: 6 numbers, expected 7"):
        ud.load("yacht", str(tmp_path))


def test_a_bad_number_and_a_nan_are_reported_with_their_line(tmp_path):
    write_gz(tmp_path / "yacht.txt.gz", "1 2 3 4 5 6 7\n1 2 x 4 5 6 7\n")
    with pytest.raises(ud.DataFileError, match=r"line 2: 'x' is not a number"):
        ud.load("yacht", str(tmp_path))
    write_gz(tmp_path / "yacht.txt.gz", "1 2 3 4 5 6 7\n\n1 2 3 4 nan 6 7\n")
    with pytest.raises(ud.DataFileError, match=r"line 3: a value is inf or NaN"):
        ud.load("yacht", str(tmp_path))


def test_missing_rows_and_a_cut_gzip_stream_are_reported(tmp_path):
    write_gz(tmp_path / "yacht.txt.gz", "1 2 3 4 5 6 7\n" * 300)
    with pytest.raises(ud.DataFileError, match=r"300 rows .* expected 308"):
        ud.load("yacht", str(tmp_path))
    with open(os.path.join(ud.DATA_DIR, "yacht.txt.gz"), "rb") as handle:
        whole = handle.read()
    (tmp_path / "yacht.txt.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ud.DataFileError, match=r"yacht.txt.gz: cannot be read to the end"):
        ud.load("yacht", str(tmp_path))


# ---- splits and standardisation ---------------------------------------------------------

def test_splits_are_seeded_disjoint_and_ninety_ten():
    first = list(ud.splits(308, 5, seed=3))
    again = list(ud.splits(308, 5, seed=3))
    other = list(ud.splits(308, 5, seed=4))
    assert len(first) == 5
    for (train, test), (train2, test2) in zip(first, again):
        assert np.array_equal(train, train2) and np.array_equal(test, test2)
        assert len(test) == 31 and len(train) == 277
        assert not set(train) & set(test)
        assert sorted(np.concatenate([train, test])) == list(range(308))
    assert not np.array_equal(first[0][1], other[0][1])
    assert not np.array_equal(first[0][1], first[1][1])  # each split is a new draw


def test_the_scaler_sees_only_the_training_part():
    x = np.array([[0.0, 5.0], [2.0, 5.0], [4.0, 5.0], [1000.0, 5.0]])
    y = np.array([1.0, 3.0, 5.0, -1000.0])
    train = np.array([0, 1, 2])
    scaler = ud.Scaler.fit(x[train], y[train])
    assert np.allclose(scaler.x_mean, [2.0, 5.0]) and scaler.y_mean == 3.0
    assert np.allclose(scaler.x_std, [math.sqrt(8 / 3), 1.0])  # a constant column gets 1
    assert np.allclose(scaler.x(x[train]).mean(axis=0), 0.0)
    assert np.isfinite(scaler.x(x)).all()


def test_run_dataset_standardises_with_the_training_rows_only(monkeypatch):
    # a wild test row would shift the training inputs' mean if it leaked into the scaler
    seen = []
    original = uci.train_network

    def spy(x, target, *args, **kwargs):
        seen.append((x.mean(axis=0), target.mean(), target.std()))
        return original(x, target, *args, **kwargs)

    monkeypatch.setattr(uci, "train_network", spy)
    data = ud.load("yacht")
    train, test = next(ud.splits(len(data.y), 1, seed=0))
    data.x[test] += 1e6
    data.y[test] += 1e6
    uci.run_dataset(data, n_splits=1, members=1, epochs=1, seed=0)
    x_mean, y_mean, y_std = seen[0]
    assert np.allclose(x_mean, 0.0, atol=1e-9)
    assert abs(y_mean) < 1e-9 and abs(y_std - 1.0) < 1e-9


# ---- scores -----------------------------------------------------------------------------

def test_scores_on_a_hand_computed_case():
    y, mu, sigma = np.array([1.0, 3.0]), np.array([0.0, 3.0]), np.array([1.0, 2.0])
    scores = ud.gaussian_scores(y, mu, sigma)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    # point 1: log 1 + 1/2 + c; point 2: log 2 + 0 + c
    assert scores["nll"] == pytest.approx((0.5 + math.log(2.0)) / 2 + half_log_2pi)
    assert scores["rmse"] == pytest.approx(math.sqrt(0.5))
    # |r| = 1 and 0: inside the 50% interval (z 0.674) only the second, the 90% both
    assert scores["coverage_50"] == 0.5 and scores["coverage_90"] == 1.0
    assert scores["mean_sigma"] == 1.5


def test_nll_in_original_units_adds_the_log_of_the_target_scale():
    rng = np.random.default_rng(0)
    y_z, mu_z, sigma_z = rng.normal(size=50), rng.normal(size=50), rng.uniform(0.5, 2, 50)
    scaler = ud.Scaler(np.zeros(1), np.ones(1), y_mean=7.0, y_std=20.0)
    mu, sigma = scaler.unscale(mu_z, sigma_z)
    original = ud.gaussian_scores(y_z * 20.0 + 7.0, mu, sigma)
    standard = ud.gaussian_scores(y_z, mu_z, sigma_z)
    assert original["nll"] == pytest.approx(standard["nll"] + math.log(20.0))
    assert original["rmse"] == pytest.approx(20.0 * standard["rmse"])


def test_normal_cdf_pit_and_reliability():
    assert ud.normal_cdf(np.array([0.0]))[0] == 0.5
    for level, z in ud.CENTRAL_Z.items():
        inside = ud.normal_cdf(np.array([z]))[0] - ud.normal_cdf(np.array([-z]))[0]
        assert inside == pytest.approx(level / 100, abs=1e-9)
    values = ud.pit(np.array([0.0, 1.0, -1.0]), np.zeros(3), np.ones(3))
    assert values[0] == 0.5 and values[1] == pytest.approx(0.8413447460685429)
    assert list(ud.reliability(values, np.array([0.1, 0.5, 0.9]))) == [0.0, 2 / 3, 1.0]


def test_mean_and_standard_error():
    mean, se = ud.mean_and_se([1.0, 2.0, 3.0, 6.0])
    assert mean == 3.0 and se == pytest.approx(math.sqrt(14 / 3) / 2)
    assert ud.mean_and_se([2.5]) == (2.5, None)


def test_the_ensemble_is_the_moment_matched_mixture():
    mus = np.array([[0.0, 1.0], [2.0, 1.0]])
    sigmas = np.array([[1.0, 1.0], [1.0, 3.0]])
    mean, sigma = ud.mixture(mus, sigmas)
    # point 1: mean 1, variance (1 + 0 + 1 + 4)/2 - 1 = 2; point 2: mean 1, (1+1 + 9+1)/2 - 1 = 5
    assert np.allclose(mean, [1.0, 1.0]) and np.allclose(sigma ** 2, [2.0, 5.0])
    # against samples drawn from the mixture itself
    rng = np.random.default_rng(1)
    pick = rng.integers(0, 2, 400_000)
    draws = rng.normal(mus[pick, 1], sigmas[pick, 1])
    assert draws.var() == pytest.approx(5.0, rel=0.02)


# ---- pseudo-targets ---------------------------------------------------------------------

def test_pseudo_targets_are_the_neighbours_mean_and_std():
    x = np.array([[0.0], [1.0], [3.0], [10.0], [11.0]])
    y = np.array([0.0, 2.0, 4.0, 10.0, 20.0])
    targets = ud.knn_targets(x, y, k=2, chunk=2)
    # neighbours (self included): 0:{0,1} 1:{1,0} 2:{2,1} 3:{3,4} 4:{4,3}
    assert np.allclose(targets[:, 0], [1.0, 1.0, 3.0, 15.0, 15.0])
    assert np.allclose(targets[:, 1], [1.0, 1.0, 1.0, 5.0, 5.0])
    # k = 1 is the row itself, with the floor as its spread
    assert np.allclose(ud.knn_targets(x, y, k=1, floor=0.01), np.c_[y, np.full(5, 0.01)])
    with pytest.raises(ValueError, match="k must be in 1..5"):
        ud.knn_targets(x, y, k=6)


def test_pseudo_targets_include_the_row_itself_among_duplicates():
    x = np.zeros((4, 2))
    y = np.array([1.0, 2.0, 3.0, 4.0])
    targets = ud.knn_targets(x, y, k=1)
    assert np.allclose(targets[:, 0], y)


# ---- the model ---------------------------------------------------------------------------

def test_the_model_is_one_relu_layer_and_a_gaussian_head_with_fan_in_init():
    import minigrad
    minigrad.manual_seed(0)
    model = uci.build_model(6, 50)
    first, head = model[0], model[2].linear
    assert (first.in_features, first.out_features) == (6, 50)
    assert (head.in_features, head.out_features) == (50, 2)
    for layer, fan_in in ((first, 6), (head, 50)):
        w = layer.weight.data
        assert np.abs(w).max() <= 1 / math.sqrt(fan_in)
        assert np.abs(w).max() > 0.8 / math.sqrt(fan_in)  # drawn over the whole range
        assert not layer.bias.data.any()
    mu, sigma = uci.predict(model, np.random.default_rng(0).normal(size=(20, 6)))
    assert mu.shape == sigma.shape == (20,) and (sigma > 0).all()


# ---- the command line -------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--dataset", "boston"], "unknown data set 'boston'; known: yacht, energy"),
    (["--dataset", "yacht", "--splits", "0"], "--splits must be at least 1"),
    (["--dataset", "yacht", "--ensemble", "0"], "--ensemble must be at least 1"),
    (["--dataset", "yacht", "--epochs", "0"], "--epochs must be at least 1"),
    (["--dataset", "yacht", "--loss", "kl", "--k", "0"], "--k must be at least 1"),
    (["--dataset", "yacht", "--json", "/no/such/folder/out.json"], "its folder does not exist"),
    (["--dataset", "yacht", "--plots", __file__], "is a file, not a folder"),
])
def test_bad_options_exit_2_and_say_why(argv, message, capsys):
    assert uci.main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_corrupt_data_file_exits_2_naming_file_and_line(tmp_path, monkeypatch, capsys):
    write_gz(tmp_path / "yacht.txt.gz", "1 2 3 4 5 6 7\n1 2 3 4 5 6 7 8\n")
    monkeypatch.setattr(ud, "DATA_DIR", str(tmp_path))
    assert uci.main(["--dataset", "yacht"]) == 2
    assert "yacht.txt.gz, line 2: 8 numbers, expected 7" in capsys.readouterr().err


def test_a_diverging_run_exits_1_naming_the_split(monkeypatch, capsys):
    # an absurd step size drives the outputs to inf within a few steps
    original = uci.train_network

    def wild(*args, **kwargs):
        kwargs["lr"] = 1e300
        return original(*args, **kwargs)

    monkeypatch.setattr(uci, "train_network", wild)
    assert uci.main(["--dataset", "yacht", "--splits", "2", "--ensemble", "1"]) == 1
    assert "yacht: split 1 of 2, network 1" in capsys.readouterr().err


# ---- a real run (the CI smoke run) ------------------------------------------------------

def test_yacht_smoke_run_beats_a_constant_gaussian(tmp_path, capsys):
    out = tmp_path / "yacht.json"
    plots = tmp_path / "plots"
    status = uci.main(["--dataset", "yacht", "--splits", "2", "--ensemble", "2",
                       "--json", str(out), "--plots", str(plots)])
    assert status == 0
    result = json.loads(out.read_text())
    assert result["dataset"] == "yacht" and result["splits"] == 2
    keys = {"nll_mean", "nll_se", "rmse_mean", "rmse_se", "coverage_95"}
    assert keys <= set(result["single"]) and keys <= set(result["ensemble"])
    assert result["seconds"] > 0
    # the baseline: one Gaussian N(mean, std^2) of each split's training targets, for every input
    data = ud.load("yacht")
    baseline = []
    for train, test in ud.splits(len(data.y), 2, seed=0):
        y = data.y[train]
        scores = ud.gaussian_scores(data.y[test], np.full(len(test), y.mean()),
                                    np.full(len(test), y.std()))
        baseline.append(scores["nll"])
    # the constant Gaussian scores about 4.1; the networks (about 1.4-1.6 with seed 0) must
    # beat it by a wide margin, not by luck
    for kind in ("single", "ensemble"):
        assert result[kind]["nll_mean"] < np.mean(baseline) - 1.5
    printed = capsys.readouterr().out
    assert "| yacht |" in printed and "1.18 ± 0.21" in printed  # beside the published number
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert (plots / "yacht-calibration.png").stat().st_size > 1000


def test_the_kl_loss_trains_on_pseudo_targets(tmp_path):
    out = tmp_path / "kl.json"
    assert uci.main(["--dataset", "yacht", "--splits", "1", "--ensemble", "1", "--loss", "kl",
                     "--k", "5", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["loss"] == "kl" and result["k"] == 5
    assert math.isfinite(result["single"]["nll_mean"])
