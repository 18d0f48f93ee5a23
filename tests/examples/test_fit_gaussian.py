"""examples/fit_gaussian.py: the two-node network follows the tutorial's update step for step."""
import importlib.util
import pathlib
import sys

import numpy as np
import pytest

PATH = pathlib.Path(__file__).resolve().parents[2] / "examples" / "fit_gaussian.py"
spec = importlib.util.spec_from_file_location("fit_gaussian_example", PATH)
fg = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = fg  # dataclasses look their module up there
spec.loader.exec_module(fg)


def tutorial_loop(mu, sigma, mu_gt, sigma_gt, lr, steps):
    """param = param - lr * dD/dparam with the hand-derived gradient, in plain NumPy."""
    mu, sigma = np.float64(mu), np.float64(sigma)
    path = []
    for _ in range(steps + 1):
        loss = (-0.5 + np.log(sigma) - np.log(sigma_gt)
                + (sigma_gt**2 + (mu_gt - mu) ** 2) / (2 * sigma**2))
        path.append((mu, sigma, loss))
        d_mu = (mu - mu_gt) / sigma**2
        d_sigma = 1 / sigma - (sigma_gt**2 + (mu_gt - mu) ** 2) / sigma**3
        mu, sigma = mu - lr * d_mu, sigma - lr * d_sigma
    return np.array(path)


@pytest.mark.parametrize("start, target, lr", [((3.0, 1.0), (0.0, 1.0), 0.01),
                                               ((-1.0, 0.5), (2.0, 1.5), 0.02)])
def test_plain_sgd_equals_the_tutorial_loop_step_for_step(start, target, lr):
    steps = 300
    result = fg.fit(*start, *target, lr=lr, tol=0.0, max_steps=steps)
    assert result.steps == steps and len(result.trajectory) == steps + 1
    expected = tutorial_loop(*start, *target, lr, steps)
    got = np.array(result.trajectory)
    np.testing.assert_allclose(got[:, :2], expected[:, :2], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[:, 2], expected[:, 2], rtol=1e-10, atol=1e-12)
    assert abs(got[-1, 0] - start[0]) > 0.1  # it really moved


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_follows_the_documented_sgd_rule(nesterov):
    lr, m, steps = 0.01, 0.9, 60
    result = fg.fit(lr=lr, momentum=m, nesterov=nesterov, tol=0.0, max_steps=steps)
    p, b = np.array([3.0, 1.0]), None
    for i in range(steps + 1):
        np.testing.assert_allclose(result.trajectory[i][:2], p, atol=1e-12)
        g = np.array([p[0] / p[1] ** 2, 1 / p[1] - (1 + p[0] ** 2) / p[1] ** 3])
        b = g if b is None else m * b + g
        p = p - lr * (g + m * b if nesterov else b)


def test_default_run_converges_to_the_target():
    result = fg.fit()
    assert result.converged and result.loss < 1e-8 and result.steps < 5000
    assert abs(result.mu - 0.0) < 1e-3 and abs(result.sigma - 1.0) < 1e-3


def test_the_first_graph_is_offered_before_backward():
    seen = []
    fg.fit(max_steps=3, on_first_graph=lambda loss: seen.append(loss.grad_fn))
    assert len(seen) == 1 and seen[0].name == "GaussianKLLoss"
    assert seen[0].saved_tensors is None  # the fit's backward freed it afterwards


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        fg.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--mu0", "--target-sigma", "--momentum", "--nesterov", "--tol", "--plot",
                   "--graph"):
        assert option in out


def test_short_run_prints_the_trajectory(capsys):
    assert fg.main(["--max-steps", "30", "--print-every", "10"]) == 0
    out = capsys.readouterr().out
    assert "to the target N(0, 1^2) by SGD lr 0.01" in out
    assert "step     10" in out and "step     30" in out and "step     15" not in out
    assert "stopped at --max-steps 30" in out


def test_default_run_prints_convergence(capsys):
    assert fg.main(["--print-every", "1000"]) == 0
    out = capsys.readouterr().out
    assert "converged (loss < 1e-08) after" in out
    assert "mu_m = 0.000" in out and "sigma_m = 1.000000" in out


@pytest.mark.parametrize("argv", [["--sigma0", "0"], ["--target-sigma", "-1"], ["--lr", "0"],
                                  ["--nesterov"], ["--print-every", "0"]])
def test_bad_options_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        fg.main(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_a_step_too_large_reports_the_failed_descent(capsys):
    # from sigma 1.5 with lr 5 the first sigma step overshoots below zero
    assert fg.main(["--mu0", "0", "--sigma0", "1.5", "--lr", "5"]) == 1
    assert "the descent failed: GaussianKLLoss: pred has sigma <= 0" in capsys.readouterr().out


def test_plot_without_matplotlib_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    assert fg.main(["--plot", str(tmp_path / "out.png")]) == 2
    assert capsys.readouterr().out.strip() == \
        "--plot needs matplotlib: pip install matplotlib (or minigrad-numpy[plot])"
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("name", ["out.png", "out.gif"])
def test_plot_writes_the_picture(name, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / name
    assert fg.main(["--max-steps", "5", "--plot", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert f"wrote the descent to {out}" in capsys.readouterr().out


def test_graph_without_viz_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "minigrad.viz", None)
    assert fg.main(["--graph", str(tmp_path / "g.svg")]) == 2
    assert "--graph needs the graphviz Python package" in capsys.readouterr().out


def test_graph_without_dot_exits_2(monkeypatch, capsys, tmp_path):
    pytest.importorskip("graphviz")
    monkeypatch.setattr(fg.shutil, "which", lambda name: None)
    assert fg.main(["--graph", str(tmp_path / "g.svg")]) == 2
    assert "needs the Graphviz program `dot`" in capsys.readouterr().out


def test_graph_draws_both_passes_of_the_first_step(tmp_path, capsys):
    pytest.importorskip("graphviz")
    out = tmp_path / "g.dot"  # DOT source: no `dot` program needed
    assert fg.main(["--max-steps", "2", "--graph", str(out)]) == 0
    source = out.read_text()
    assert "forward pass" in source and "backward pass" in source
    assert "GaussianKLLoss" in source and "mu_m" in source and "sigma_m" in source
    assert "grad -9" in source  # dD/dsigma_m = 1 - (1 + 3^2)/1 at the start


@pytest.mark.requires_tool("dot")
def test_graph_renders_an_svg(tmp_path):
    pytest.importorskip("graphviz")
    out = tmp_path / "g.svg"
    assert fg.main(["--max-steps", "1", "--graph", str(out)]) == 0
    assert out.read_text().lstrip().startswith("<?xml")
