"""Rendering cannot hang or emit broken files (issue 10, section 4): a node limit that
suggests collapse=, a timeout on `dot`, labels that always make well-formed XML, and every
failure of `dot` as one clear RenderError."""
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import minigrad as mg

viz = pytest.importorskip("minigrad.viz")
needs_dot = pytest.mark.requires_tool("dot")


def chain(n):
    x = mg.Tensor(np.ones(3), requires_grad=True, name="x")
    y = x
    for _ in range(n):
        y = y * 1.0
    return y.sum()


def test_too_many_nodes_are_refused_with_advice_before_dot_runs(tmp_path, monkeypatch):
    def no_dot(*args, **kwargs):
        raise AssertionError("dot was started")

    monkeypatch.setattr(viz.subprocess, "run", no_dot)
    with pytest.raises(viz.RenderError, match=r"more than max_nodes=3000.*collapse=True"):
        viz.render(chain(3000), tmp_path / "g.svg", mode="both")
    with pytest.raises(viz.RenderError, match=r"max_nodes=10\b"):
        viz.render(chain(10), tmp_path / "g.svg", max_nodes=10)
    viz.render(chain(3000), tmp_path / "g.dot", mode="both")  # the source is always cheap


@needs_dot
def test_a_slow_dot_is_stopped_with_a_clear_error(tmp_path):
    with pytest.raises(viz.RenderError, match=r"more than timeout=0.001 s"):
        viz.render(chain(300), tmp_path / "g.svg", timeout=0.001)


def test_any_failure_of_dot_is_a_render_error(tmp_path, monkeypatch):
    def failing(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, b"", b"Error: syntax error in line 1")

    monkeypatch.setattr(viz.subprocess, "run", failing)
    with pytest.raises(viz.RenderError, match=r"`dot -Tsvg` failed \(exit status 1\): Error: syntax"):
        viz.render(chain(2), tmp_path / "g.svg")

    def broken_pipe(*args, **kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(viz.subprocess, "run", broken_pipe)
    with pytest.raises(viz.RenderError, match="could not be run: .*Broken pipe"):
        viz.render(chain(2), tmp_path / "g.svg")


@needs_dot
@pytest.mark.parametrize("name", ["bell\x07 and escape \x1b[31m", "nul\x00byte", "lone \ud800 surrogate",
                                  "w" * 20_000, "tab\tnew\nline \\ back <&> \"q\"", "\ufffe\uffff"])
def test_labels_always_give_well_formed_svg(tmp_path, name):
    x = mg.Tensor(np.ones(2), requires_grad=True, name=name)
    path = viz.render((x * 2.0).sum(), tmp_path / "g.svg", mode="both")
    with open(path, "rb") as handle:
        root = ET.fromstring(handle.read())  # raises on ill-formed XML
    texts = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert all(len(t) <= viz.MAX_LABEL for t in texts)
    if len(name) > viz.MAX_LABEL:
        assert any(t.endswith("...") and t.startswith("www") for t in texts)
