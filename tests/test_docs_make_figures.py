"""docs/make_figures.py: `--help` prints help and touches no picture; `--out` renders there."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "make_figures.py"


def test_help_prints_the_options_and_writes_nothing(tmp_path: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in (ROOT / "docs" / "img").iterdir()}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(SCRIPT), "--help"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: make_figures.py")
    assert "--out DIR" in done.stdout and "--no-screenshots" in done.stdout
    assert "wrote" not in done.stdout
    after = {p.name: p.stat().st_mtime_ns for p in (ROOT / "docs" / "img").iterdir()}
    assert after == before
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_option_is_refused(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(SCRIPT), "--bogus"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "unrecognized arguments: --bogus" in done.stderr


@pytest.mark.requires_tool("dot")
def test_out_renders_the_graph_pictures_there(tmp_path: Path) -> None:
    pytest.importorskip("graphviz", reason="the graphviz package: pip install graphviz")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path),
                           "--no-screenshots"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["mlp_clustered.svg", "mlp_collapsed.svg", "two_node_both.svg"]
    for name in names:
        assert "<svg" in (tmp_path / name).read_text(encoding="utf-8")
