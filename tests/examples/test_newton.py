"""examples/newton.py: Newton and natural gradient, with second derivatives from the engine,
reach the tutorial's target in a handful of steps where gradient descent needs 1,445."""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
import newton  # noqa: E402


def test_step_counts_and_the_parabola(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert newton.main(["--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["gradient descent"] == 1445
    assert result["Newton"] <= 10 and result["natural gradient"] <= 10
    assert result["parabola_after_one_newton_step"] == [0.0, 0.0]
    assert "one Newton step lands on (0, 0)" in capsys.readouterr().out


def test_the_fisher_information_from_the_engine_is_the_closed_form():
    for theta in ([3.0, 1.0], [0.5, 0.25], [-2.0, 4.0]):
        sigma = theta[1]
        np.testing.assert_allclose(newton.fisher(np.array(theta)),
                                   np.diag([1 / sigma ** 2, 2 / sigma ** 2]), rtol=1e-12)


def test_newton_uses_the_pure_step_where_the_hessian_is_positive_definite():
    theta = np.array([0.2, 1.1])           # near the optimum H is positive definite
    loss, g = newton.gradient(theta)
    H = np.array([[1 / 1.1 ** 2, -2 * 0.2 / 1.1 ** 3],
                  [-2 * 0.2 / 1.1 ** 3, -1 / 1.1 ** 2 + 3 * (1 + 0.04) / 1.1 ** 4]])
    np.testing.assert_allclose(newton.newton(theta, loss, g), theta - np.linalg.solve(H, g),
                               rtol=1e-10)


def test_bad_options_exit_2(capsys):
    try:
        newton.main(["--tol", "0"])
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("--tol 0 was accepted")
