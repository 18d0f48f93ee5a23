"""examples/train_mlp.py through its own entry point, main(argv), on tiny runs."""
import importlib.util
import json
import os
import sys

import numpy as np
import pytest

import minigrad

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
sys.path.insert(0, os.path.abspath(EXAMPLES))

import gaussian_data  # noqa: E402
import train_mlp  # noqa: E402

# a tiny network, little data, few epochs: each run takes a fraction of a second
TINY = ["--hidden", "8", "--n-train", "256", "--n-eval", "200", "--batch-size", "32",
        "--epochs", "4", "--no-graph", "--no-plot"]


def run(tmp_path, name, *args):
    """main() with TINY settings writing into tmp_path/name; returns (status, out folder)."""
    out = tmp_path / name
    return train_mlp.main([*TINY, "--out", str(out), *args]), out


def metrics_of(out):
    with open(out / "metrics.json") as handle:
        return json.load(handle)


def without_times(figures):
    return {k: v for k, v in figures.items() if not k.endswith("time_s")}


# ---- a normal run -----------------------------------------------------------------------

@pytest.mark.requires_tool("dot")  # the run writes graph.svg
def test_a_short_run_learns_and_writes_everything(tmp_path, capsys):
    status = train_mlp.main([*TINY[:-2], "--epochs", "6", "--out", str(tmp_path / "run")])
    assert status == 0
    out = tmp_path / "run"
    plots = ["fit.png", "loss.png"] if importlib.util.find_spec("matplotlib") else []
    assert sorted(os.listdir(out)) == sorted(["checkpoint.npz", "graph.svg", "metrics.json", *plots])
    metrics = metrics_of(out)
    history = metrics["loss_history"]
    assert len(history) == 6 and history[-1] < 0.5 * history[0]
    assert metrics["held_out_history"][-1] < metrics["held_out_history"][0]
    held_out = metrics["held_out"]
    assert held_out["steps"] == 6 * 8 and held_out["epochs"] == 6
    assert {"kl_mean", "rmse_mu", "rmse_sigma", "nll_mean", "wall_time_s"} <= set(held_out)

    state = minigrad.load(out / "checkpoint.npz")
    assert state["progress"]["step"] == 48 and state["config"]["hidden"] == [8]
    model = train_mlp.build_model(state["config"])
    model.load_state_dict(state["model"])
    optimizer = train_mlp.build_optimizer(state["config"], model)
    optimizer.load_state_dict(state["optimizer"])
    assert sorted(optimizer.state_dict()["state"]) == list(range(len(list(model.parameters()))))

    assert (out / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "GaussianHead" in (out / "graph.svg").read_text()  # clustered by module
    for png in ("fit.png", "loss.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "mean KL(truth || model)" in printed and "48 steps, 6 epochs" in printed
    assert f"held-out ({held_out['n_held_out']} inputs)" in printed


def test_the_held_out_figures_match_the_truth_formula():
    truth = np.array([[0.0, 1.0], [1.0, 0.5]])
    pred = np.array([[0.0, 1.0], [0.0, 1.0]])
    kl = gaussian_data.kl_truth_to_model(truth, pred)
    # second row: log(1/0.5) + (0.25 + 1) / 2 - 1/2
    np.testing.assert_allclose(kl, [0.0, np.log(2) + 0.625 - 0.5])
    figures = gaussian_data.score(pred, gaussian_data.Dataset(np.zeros((2, 1)), truth))
    assert figures["rmse_mu"] == pytest.approx(np.sqrt(0.5))
    assert figures["rmse_sigma"] == pytest.approx(np.sqrt(0.125))


def test_plain_progress_lines_when_not_a_terminal(tmp_path, capsys):
    assert run(tmp_path, "plain")[0] == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 4 and "samples/s" in lines[-1] and "4/4" in lines[-1]


def test_a_tqdm_bar_on_a_terminal(tmp_path, capsys, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert run(tmp_path, "bar")[0] == 0
    captured = capsys.readouterr()
    assert "training" in captured.err and "epoch" in captured.err
    assert not [line for line in captured.out.splitlines() if line.startswith("epoch")]


def test_plain_lines_on_a_terminal_without_tqdm(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    assert run(tmp_path, "no_tqdm")[0] == 0
    assert "epoch    4/4" in capsys.readouterr().out


def test_missing_optional_packages_give_one_line_notices(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "minigrad.viz", None)
    args = [a for a in TINY if a not in ("--no-graph", "--no-plot")]
    assert train_mlp.main([*args, "--out", str(tmp_path / "bare")]) == 0
    printed = capsys.readouterr().out
    assert "plots: skipped (matplotlib is not installed" in printed
    assert "graph: skipped (the graphviz Python package is not installed" in printed
    assert sorted(os.listdir(tmp_path / "bare")) == ["checkpoint.npz", "metrics.json"]


def test_a_missing_dot_program_skips_the_graph(tmp_path, capsys, monkeypatch):
    viz = pytest.importorskip("minigrad.viz")

    def no_dot(*args, **kwargs):
        raise viz.GraphvizNotFound("dot not found (simulated)")

    monkeypatch.setattr(viz, "render", no_dot)
    args = [a for a in TINY if a != "--no-graph"]
    assert train_mlp.main([*args, "--out", str(tmp_path / "nodot")]) == 0
    assert "graph: skipped (the Graphviz program `dot` is not installed" in capsys.readouterr().out
    assert "graph.svg" not in os.listdir(tmp_path / "nodot")


# ---- reproducibility, dtypes, losses ----------------------------------------------------

def test_the_same_seed_gives_the_same_numbers(tmp_path):
    for name in ("a", "b"):
        assert run(tmp_path, name, "--seed", "3")[0] == 0
    assert run(tmp_path, "c", "--seed", "4")[0] == 0
    a, b, c = (metrics_of(tmp_path / n) for n in "abc")
    assert without_times(a["held_out"]) == without_times(b["held_out"])
    assert a["loss_history"] == b["loss_history"]
    assert a["loss_history"] != c["loss_history"]


def test_a_float32_run(tmp_path):
    status, out = run(tmp_path, "f32", "--dtype", "float32")
    assert status == 0
    state = minigrad.load(out / "checkpoint.npz")
    assert {a.dtype for a in state["model"].values()} == {np.dtype(np.float32)}
    buffers = [s["momentum_buffer"] for s in state["optimizer"]["state"].values()]
    assert buffers and {b.dtype for b in buffers} == {np.dtype(np.float32)}
    assert np.isfinite(metrics_of(out)["held_out"]["kl_mean"])


@pytest.mark.parametrize("extra", [["--loss", "nll"], ["--optimizer", "adam"],
                                   ["--dim", "3", "--activation", "relu"]])
def test_other_losses_optimisers_and_shapes_learn(tmp_path, extra):
    status, out = run(tmp_path, "other", *extra, "--epochs", "5")
    assert status == 0
    metrics = metrics_of(out)
    assert metrics["loss_history"][-1] < metrics["loss_history"][0]
    assert np.isfinite(metrics["held_out"]["kl_mean"])  # the truth is known, whatever the loss


def test_the_dataset_matches_its_documented_truth():
    data = gaussian_data.make_dataset(500, dim=2, seed=1, samples=True)
    assert data.x.shape == (500, 2) and data.x.min() >= -3 and data.x.max() <= 3
    s = data.x[:, 0]
    np.testing.assert_allclose(data.truth[:, 0], np.sin(s))
    np.testing.assert_allclose(data.truth[:, 1], 0.15 + 0.2 * np.abs(s))
    z = (data.y - data.truth[:, 0]) / data.truth[:, 1]
    assert abs(z.mean()) < 0.15 and abs(z.std() - 1) < 0.1


# ---- resume and eval --------------------------------------------------------------------

def test_resume_continues_and_equals_an_uninterrupted_run(tmp_path, capsys):
    assert run(tmp_path, "whole", "--epochs", "4")[0] == 0
    assert run(tmp_path, "half", "--epochs", "2")[0] == 0
    checkpoint = tmp_path / "half" / "checkpoint.npz"
    assert minigrad.load(checkpoint)["progress"]["step"] == 16
    capsys.readouterr()

    status = train_mlp.main(["--resume", str(checkpoint), "--epochs", "4", "--no-graph",
                             "--no-plot"])
    assert status == 0
    assert "resuming at epoch 2, step 16" in capsys.readouterr().out
    whole, resumed = (minigrad.load(tmp_path / n / "checkpoint.npz") for n in ("whole", "half"))
    assert resumed["progress"]["step"] == whole["progress"]["step"] == 32
    for name, value in whole["model"].items():
        np.testing.assert_array_equal(resumed["model"][name], value)
    for index, buffers in whole["optimizer"]["state"].items():
        np.testing.assert_array_equal(resumed["optimizer"]["state"][index]["momentum_buffer"],
                                      buffers["momentum_buffer"])
    a, b = metrics_of(tmp_path / "whole"), metrics_of(tmp_path / "half")
    assert without_times(a["held_out"]) == without_times(b["held_out"])
    assert a["loss_history"] == b["loss_history"]


def test_an_interrupted_run_resumes_from_its_last_periodic_checkpoint(tmp_path, capsys,
                                                                     monkeypatch):
    assert run(tmp_path, "whole", "--epochs", "4")[0] == 0
    real_figure, calls = train_mlp.held_out_figure, []

    def interrupt_in_epoch_3(*args):
        calls.append(1)
        if len(calls) == 4:  # call 1: the starting point that divergence is measured from
            raise KeyboardInterrupt
        return real_figure(*args)

    monkeypatch.setattr(train_mlp, "held_out_figure", interrupt_in_epoch_3)
    status, out = run(tmp_path, "cut", "--epochs", "4", "--save-every", "2")
    assert status == 130
    checkpoint = out / "checkpoint.npz"
    assert f"the checkpoint at epoch 2 is {checkpoint}" in capsys.readouterr().err
    assert minigrad.load(checkpoint)["progress"]["step"] == 16
    monkeypatch.undo()

    assert train_mlp.main(["--resume", str(checkpoint), "--no-graph", "--no-plot"]) == 0
    whole, resumed = (minigrad.load(tmp_path / n / "checkpoint.npz") for n in ("whole", "cut"))
    assert resumed["progress"]["step"] == 32
    for name, value in whole["model"].items():
        np.testing.assert_array_equal(resumed["model"][name], value)


def test_resume_at_the_end_trains_nothing(tmp_path, capsys):
    status, out = run(tmp_path, "done")
    capsys.readouterr()
    assert train_mlp.main(["--resume", str(out / "checkpoint.npz"), "--epochs", "4",
                           "--no-graph", "--no-plot"]) == 0
    assert "nothing to train: the checkpoint is at epoch 4" in capsys.readouterr().out
    assert minigrad.load(out / "checkpoint.npz")["progress"]["step"] == 32


def test_eval_only_evaluates(tmp_path, capsys):
    status, out = run(tmp_path, "trained")
    checkpoint = out / "checkpoint.npz"
    before = checkpoint.read_bytes()
    trained = metrics_of(out)["held_out"]
    capsys.readouterr()

    assert train_mlp.main(["--eval", str(checkpoint)]) == 0
    printed = capsys.readouterr().out
    assert f"mean KL(truth || model) {trained['kl_mean']:.4f}" in printed
    assert "32 steps, 4 epochs" in printed and "epoch " not in printed
    assert checkpoint.read_bytes() == before
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "metrics.json"]

    assert train_mlp.main(["--eval", str(checkpoint), "--out", str(tmp_path / "eval"),
                           "--no-plot", "--no-graph"]) == 0
    evaluated = metrics_of(tmp_path / "eval")["held_out"]
    assert without_times(evaluated) == without_times(trained)


# ---- bad input --------------------------------------------------------------------------

def fails(argv, capsys, match, status=2):
    assert train_mlp.main(argv) == status
    err = capsys.readouterr().err
    assert match in err, err


def test_bad_checkpoints(tmp_path, capsys):
    fails(["--resume", str(tmp_path / "none.npz")], capsys,
          f"checkpoint not found: {tmp_path / 'none.npz'}")
    noise = tmp_path / "noise.npz"
    noise.write_bytes(np.random.default_rng(0).bytes(1000))
    fails(["--eval", str(noise)], capsys, "noise.npz' is not a valid minigrad checkpoint")
    other = tmp_path / "other.npz"
    minigrad.save({"weights": np.zeros(3)}, other)
    fails(["--eval", str(other)], capsys,
          "other.npz is a minigrad file but not a train_mlp.py checkpoint")

    status, out = run(tmp_path, "ok")
    state = minigrad.load(out / "checkpoint.npz")
    state["model"]["0.layers.0.weight"] = np.zeros((8, 1))  # as many weights, wrong shape
    broken = tmp_path / "broken.npz"
    minigrad.save(state, broken)
    fails(["--resume", str(broken)], capsys, "its weights do not fit the model")
    fails(["--resume", str(out / "checkpoint.npz"), "--hidden", "16"], capsys,
          "--hidden differ from the checkpoint's settings")


def test_bad_option_combinations(tmp_path, capsys):
    fails(["--x", "a", "--y", "b"], capsys, "--x and --y name columns of a --csv table")
    fails(["--resume", "a.npz", "--eval", "b.npz"], capsys,
          "--resume and --eval exclude each other")
    fails(["--epochs", "0"], capsys, "--epochs must be at least 1, got 0")
    fails(["--momentum", "1.5"], capsys, "--momentum must be in [0, 1)")
    fails(["--seed", "-1"], capsys, "--seed must be 0 or more, got -1")
    fails(["--csv", "t.csv", "--x", "a"], capsys, "--csv needs --x COLS (input columns) and --y COL")


def test_divergence_is_reported(tmp_path, capsys):
    fails([*TINY, "--lr", "100", "--out", str(tmp_path / "x")], capsys,
          "training diverged: the ", status=1)


# ---- CSV tables -------------------------------------------------------------------------

def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


def test_a_csv_table_trains_with_nll(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 100, 200)
    y = 50 + 30 * np.sin(x / 20) + rng.normal(0, 1 + x / 20)
    table = write_csv(tmp_path / "t.csv", ["temperature", "noise", "sales"],
                      [(a, rng.normal(), b) for a, b in zip(x, y)])
    status, out = run(tmp_path, "csv", "--csv", str(table), "--x", "temperature, noise",
                      "--y", "sales", "--epochs", "6")
    assert status == 0
    metrics = metrics_of(out)
    assert set(metrics["held_out"]) >= {"nll_mean", "rmse_y"}
    assert "kl_mean" not in metrics["held_out"]
    assert metrics["held_out"]["n_held_out"] == 40
    assert metrics["held_out_history"][-1] < metrics["held_out_history"][0]
    assert metrics["config"]["loss"] == "nll" and metrics["config"]["dim"] == 2
    assert "NLL" in capsys.readouterr().out
    assert train_mlp.main(["--eval", str(out / "checkpoint.npz")]) == 0
    assert f"NLL {metrics['held_out']['nll_mean']:.4f}" in capsys.readouterr().out


@pytest.mark.parametrize("rows, x, match", [
    (None, "a", "--csv: no such file: "),
    ([(1, 2)] * 12, "a,c", "no column named 'c'; the columns are: a, b"),
    ([(1, 2)] * 11 + [(1, "n/a")], "a", "row 13, column 'b': 'n/a' is not a finite number"),
    ([(1, 2)] * 5 + [("", 2)], "a", "row 7, column 'a': an empty cell is not a finite number"),
    ([(1, 2)] * 5 + [("inf", 2)], "a", "row 7, column 'a': 'inf' is not a finite number"),
    ([(1, 2)] * 9, "a", "only 9 data rows; need at least 10"),
])
def test_bad_csv_tables(tmp_path, capsys, rows, x, match):
    path = tmp_path / "data.csv"
    if rows is not None:
        write_csv(path, ["a", "b"], rows)
    fails([*TINY, "--csv", str(path), "--x", x, "--y", "b", "--out", str(tmp_path / "o")],
          capsys, match)
    assert not (tmp_path / "o").exists()


def test_csv_errors_as_exceptions(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["a", "b"], [(1, 2)] * 3 + [(1, "x")])
    with pytest.raises(gaussian_data.DataError, match=r"d\.csv: row 5, column 'b': 'x'"):
        gaussian_data.load_csv(str(path), ["a"], "b")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(gaussian_data.DataError, match="the file is empty"):
        gaussian_data.load_csv(str(tmp_path / "empty.csv"), ["a"], "b")


def test_csv_with_the_kl_loss_is_refused(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", ["a", "b"], [(1, 2)] * 20)
    fails(["--csv", str(path), "--x", "a", "--y", "b", "--loss", "kl"], capsys,
          "--csv data has no known truth")


# ---- docs/tutorial.md -------------------------------------------------------------------

def tutorial_blocks():
    path = os.path.join(EXAMPLES, "..", "docs", "tutorial.md")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


def test_the_tutorials_code_runs():
    blocks = tutorial_blocks()
    two_numbers = next(b for b in blocks if "guess = mg.Tensor(" in b)
    network = next(b for b in blocks if "for epoch in range(" in b)
    scope = {}
    exec(two_numbers, scope)
    np.testing.assert_allclose(scope["guess"].data, [1.0, 0.5], atol=1e-6)

    assert "for epoch in range(60):" in network
    scope = {}
    exec(network.replace("range(60)", "range(3)"), scope)  # the loop as printed, shortened
    assert scope["loss"].item() < 0.05
