"""examples/parabola.py: descends to the origin, with momentum in fewer steps, through the engine."""
import importlib.util
import pathlib
import sys

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[2] / "examples" / "parabola.py"
spec = importlib.util.spec_from_file_location("parabola_example", _PATH)
parabola = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = parabola  # dataclasses look their module up there
spec.loader.exec_module(parabola)


def test_plain_descent_matches_the_closed_form_path():
    # with f = x^2 + y^2 each plain step multiplies the point by (1 - 2 lr)
    run = parabola.descend((2.0, -1.0), lr=0.1, momentum=0.0, tol=1e-10, max_steps=1000)
    assert run.converged
    for k, (x, y) in enumerate(run.path[:20]):
        assert x == pytest.approx(2.0 * 0.8 ** k, rel=1e-12)
        assert y == pytest.approx(-1.0 * 0.8 ** k, rel=1e-12)


def test_momentum_reaches_the_minimum_in_fewer_steps():
    plain = parabola.descend((2.5, -1.5), lr=0.01, momentum=0.0, tol=1e-8, max_steps=5000)
    heavy = parabola.descend((2.5, -1.5), lr=0.01, momentum=0.9, tol=1e-8, max_steps=5000)
    assert plain.converged and heavy.converged
    assert heavy.steps < plain.steps / 2


def test_main_prints_both_runs(capsys):
    assert parabola.main(["--print-every", "50"]) == 0
    out = capsys.readouterr().out
    assert "plain gradient descent" in out and "momentum 0.9" in out
    assert out.count("reached the minimum in") == 2


def test_help_exits_cleanly(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parabola.main(["--help"])
    assert exit_info.value.code == 0
    assert "x^2 + y^2" in capsys.readouterr().out
