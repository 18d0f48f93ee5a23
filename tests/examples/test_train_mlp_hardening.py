"""examples/train_mlp.py never loses a finished run and never crashes on bad input
(issue 10 section 3, issue 11's CLI points): exit 0 done, 1 diverged, 2 bad input with
the option, file and problem named, 130 interrupted."""
import importlib.util
import os
import sys

import numpy as np
import pytest

import minigrad

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
sys.path.insert(0, EXAMPLES)

import gaussian_data  # noqa: E402
import train_mlp  # noqa: E402

TINY = ["--hidden", "8", "--n-train", "256", "--n-eval", "200", "--batch-size", "32",
        "--epochs", "4", "--no-graph", "--no-plot"]


def fails(argv, capsys, *needles, status=2):
    assert train_mlp.main(argv) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def finished_run(tmp_path, name="run", *extra):
    out = tmp_path / name
    assert train_mlp.main([*TINY, "--out", str(out), *extra]) == 0
    return out


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


# ---- --out ------------------------------------------------------------------------------

def test_out_naming_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("keep me")
    fails([*TINY, "--out", str(tmp_path / "f")], capsys, "--out", "is a file, not a folder")
    assert (tmp_path / "f").read_text() == "keep me"


def test_out_below_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("keep me")
    fails([*TINY, "--out", str(tmp_path / "f" / "run")], capsys, "--out",
          "is a file, so no folder can be made below it")


def test_out_in_a_read_only_folder(tmp_path, capsys, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path)
                        else real_access(p, mode))
    fails([*TINY, "--out", str(tmp_path / "run")], capsys, "--out", "is not writable")
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root may write into read-only folders")
def test_out_in_a_really_read_only_folder(tmp_path, capsys):
    os.chmod(tmp_path, 0o555)
    try:
        fails([*TINY, "--out", str(tmp_path / "run")], capsys, "--out", "is not writable")
    finally:
        os.chmod(tmp_path, 0o755)


def test_a_failing_mkdir_is_bad_input_not_a_traceback(tmp_path, capsys, monkeypatch):
    def refuse(path, exist_ok=False):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(train_mlp.os, "makedirs", refuse)
    fails([*TINY, "--out", str(tmp_path / "run")], capsys, "--out", "cannot write there",
          "Permission denied")


# ---- never overwrite a finished run ----------------------------------------------------

def test_a_second_run_into_a_finished_run_is_refused(tmp_path, capsys):
    out = finished_run(tmp_path)
    before = snapshot(out)
    fails([*TINY, "--seed", "3", "--out", str(out)], capsys, "--out", "already holds a finished run",
          "--overwrite")
    assert snapshot(out) == before


def test_an_interrupted_overwrite_keeps_the_first_run_whole(tmp_path, capsys, monkeypatch):
    out = finished_run(tmp_path)
    before = snapshot(out)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mlp, "train_step", interrupt)
    assert train_mlp.main([*TINY, "--seed", "3", "--out", str(out), "--overwrite"]) == 130
    assert snapshot(out) == before  # nothing of the second run was written yet
    monkeypatch.undo()

    capsys.readouterr()
    assert train_mlp.main([*TINY, "--seed", "3", "--out", str(out), "--overwrite"]) == 0
    assert minigrad.load(out / "checkpoint.npz")["config"]["seed"] == 3
    assert snapshot(out) != before


def test_eval_into_a_finished_run_is_refused(tmp_path, capsys):
    out = finished_run(tmp_path)
    before = snapshot(out)
    fails(["--eval", str(out / "checkpoint.npz"), "--out", str(out)], capsys,
          "already holds a finished run (metrics.json)")
    assert snapshot(out) == before


# ---- divergence -------------------------------------------------------------------------

def test_a_huge_learning_rate_is_divergence_and_keeps_earlier_results(tmp_path, capsys):
    out = finished_run(tmp_path)
    before = snapshot(out)
    err = fails([*TINY, "--lr", "1e6", "--out", str(out), "--overwrite"], capsys,
                "training diverged", "--lr", status=1)
    assert "held-out KL" in err or "loss" in err
    assert snapshot(out) == before


def test_divergence_by_a_default_sized_run_with_lr_1e6(tmp_path, capsys):
    """The case of the issue: held-out KL 17.2, exit 0. Now: exit 1 after epoch 1."""
    fails(["--lr", "1e6", "--no-graph", "--no-plot", "--n-train", "1024",
           "--out", str(tmp_path / "x")], capsys, "training diverged", status=1)
    assert not (tmp_path / "x" / "metrics.json").exists()


# ---- --csv ------------------------------------------------------------------------------

def _table(rows=30):
    rng = np.random.default_rng(0)
    return "a,b\n" + "".join(f"{rng.uniform(-2, 2):.4f},{rng.normal():.4f}\n" for _ in range(rows))


@pytest.mark.parametrize("make, needle", [
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: p.write_bytes(("caf\u00e9," + _table()).encode("latin-1")), "is not UTF-8 text"),
    (lambda p: p.write_bytes(_table().encode("utf-16")), "is not UTF-8 text"),
    (lambda p: p.write_text(_table() + '1,"' + "9" * 140_000 + '"\n'), "cannot be read as CSV"),
])
def test_unreadable_tables(tmp_path, capsys, make, needle):
    path = tmp_path / "t.csv"
    make(path)
    fails([*TINY, "--csv", str(path), "--x", "a", "--y", "b", "--out", str(tmp_path / "o")],
          capsys, f"--csv {path}", needle)
    assert not (tmp_path / "o").exists()


def test_a_csv_run_prints_and_stores_both_losses_in_table_units(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, 300)
    y = 5000 + 1000 * x + rng.normal(0, 300, 300)  # table units: thousands
    path = tmp_path / "t.csv"
    path.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in zip(x, y)))
    out = tmp_path / "run"
    assert train_mlp.main([*TINY, "--epochs", "8", "--csv", str(path), "--x", "x", "--y", "y",
                           "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "train NLL" in printed and "held-out NLL" in printed
    state = minigrad.load(out / "checkpoint.npz")
    train_loss, held = state["progress"]["loss_history"][-1], state["progress"]["held_out_history"][-1]
    # log(300) = 5.7: in one unit the two agree to well within that, in two they would not
    assert abs(train_loss - held) < 1.0, (train_loss, held)


# ---- --resume / --eval of damaged checkpoints ------------------------------------------

def test_resume_naming_a_folder(tmp_path, capsys):
    fails(["--resume", str(tmp_path)], capsys, "--resume", str(tmp_path), "is a directory")


def _doctored(tmp_path, change):
    out = finished_run(tmp_path, "src")
    state = minigrad.load(out / "checkpoint.npz")
    change(state)
    path = tmp_path / "doctored.npz"
    minigrad.save(state, path)
    return path


@pytest.mark.parametrize("change, needles", [
    (lambda s: s["config"].update(batch_size=0), ["its saved settings are invalid",
                                                  "--batch-size must be at least 1"]),
    (lambda s: s.update(config=list(s["config"].items())), ["saved settings are a list"]),
    (lambda s: s["progress"].pop("step"), ["saved progress has 'step'"]),
    (lambda s: s["config"].update(hidden=[40000, 40000]), ["describe a model of 1,600,",
                                                           "stores 34 weights"]),
    (lambda s: s["config"].update(hidden="8"), ["'hidden' is '8', not a list of integers"]),
    (lambda s: s["scaling"].update(y_std=0.0), ["saved scaling"]),
    (lambda s: s["model"]["0.layers.0.weight"].fill(np.nan),
     ["'0.layers.0.weight' holds NaN", "checkpoint is corrupt"]),
])
@pytest.mark.parametrize("option", ["--resume", "--eval"])
def test_damaged_checkpoints_are_bad_input_before_anything_is_built(tmp_path, capsys,
                                                                    monkeypatch, change,
                                                                    needles, option):
    path = _doctored(tmp_path, change)
    capsys.readouterr()

    def no_model(config):
        raise AssertionError("a model was built from a damaged checkpoint")

    monkeypatch.setattr(train_mlp, "build_model", no_model)
    err = fails([option, str(path)], capsys, option, str(path), *needles)
    assert "--lr" not in err  # a corrupt checkpoint is not blamed on the learning rate


def test_a_huge_model_on_the_command_line_is_bad_input(tmp_path, capsys, monkeypatch):
    def out_of_memory(config):
        raise MemoryError

    monkeypatch.setattr(train_mlp, "build_model", out_of_memory)
    fails([*TINY, "--out", str(tmp_path / "o")], capsys, "--hidden 8", "does not fit in memory")


def test_the_saved_settings_count_matches_the_real_model():
    for hidden in ([8], [16, 4], [3, 5, 7]):
        config, _ = train_mlp.parse_config(["--dim", "3", "--hidden", *map(str, hidden)])
        sizes = [3, *hidden]
        expected = sum(a * b + b for a, b in zip(sizes, sizes[1:])) + 2 * sizes[-1] + 2
        assert train_mlp.build_model(config).num_parameters() == expected


# ---- the command line's own text --------------------------------------------------------

def test_help_lists_exit_codes_and_the_seed_default(capsys):
    with pytest.raises(SystemExit) as info:
        train_mlp.main(["--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "0 done, 1 diverged, 2 bad input, 130 interrupted" in text
    assert "same seed, same numbers (default 0)" in text
    assert "--overwrite" in text


def test_eval_prints_only_what_it_did(tmp_path, capsys):
    out = finished_run(tmp_path)
    capsys.readouterr()
    assert train_mlp.main(["--eval", str(out / "checkpoint.npz")]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("evaluated a checkpoint of 32 steps, 4 epochs; wall time ")
    assert "training" not in last


def test_an_interrupt_before_training_is_exit_130(tmp_path, capsys, monkeypatch):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_mlp, "prepare_data", interrupt)
    assert train_mlp.main([*TINY, "--out", str(tmp_path / "o")]) == 130
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_loss_png_labels_both_axes_with_the_unit(tmp_path, monkeypatch):
    from matplotlib.axes import Axes
    labels = []
    real = Axes.set_ylabel
    monkeypatch.setattr(Axes, "set_ylabel", lambda self, text, *a, **k:
                        (labels.append(text), real(self, text, *a, **k))[1])
    argv = [a for a in TINY if a != "--no-plot"]
    assert train_mlp.main([*argv, "--out", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots" / "loss.png").exists()
    assert labels[-2:] == ["KL (nats per input)", "KL (nats per input)"]
