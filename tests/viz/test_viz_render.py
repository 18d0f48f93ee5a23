"""minigrad.viz.render for real: `dot` writes SVG, which is XML, so the tests read back what
the picture holds (names, ops, gradients, clusters, where each node sits)."""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import minigrad as mg
from minigrad import nn

viz = pytest.importorskip("minigrad.viz")
from viz_graphs import mlp_graph, two_node_network  # noqa: E402
SVG = "{http://www.w3.org/2000/svg}"


def _bbox(element):
    """(xmin, ymin, xmax, ymax) of an SVG path, polygon or ellipse."""
    if element.tag == SVG + "ellipse":
        cx, cy, rx, ry = (float(element.get(k)) for k in ("cx", "cy", "rx", "ry"))
        return cx - rx, cy - ry, cx + rx, cy + ry
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?",
                                            element.get("d") or element.get("points"))]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def read_svg(path):
    """{node id: (text lines, bbox)} and {cluster label: bbox} of a picture made by dot."""
    nodes, clusters = {}, {}
    for g in ET.parse(path).getroot().iter(SVG + "g"):
        kind = g.get("class")
        if kind not in ("node", "cluster"):
            continue
        shape = next(e for e in g if e.tag in (SVG + "path", SVG + "polygon", SVG + "ellipse"))
        texts = [t.text for t in g.findall(SVG + "text")]
        if kind == "node":
            nodes[g.find(SVG + "title").text] = (texts, _bbox(shape))
        else:
            clusters[" ".join(texts)] = _bbox(shape)
    return nodes, clusters


def inside(inner, outer):
    return (outer[0] <= inner[0] and outer[1] <= inner[1]
            and inner[2] <= outer[2] and inner[3] <= outer[3])


def node_with(nodes, first_line):
    matches = [v for v in nodes.values() if v[0] and v[0][0] == first_line]
    assert len(matches) == 1, f"{first_line!r}: {len(matches)} nodes"
    return matches[0]


# ---- the tutorial's two-node network ------------------------------------------------------

@pytest.mark.requires_tool("dot")
def test_two_node_network_forward_left_backward_right(tmp_path):
    loss, mu, sigma = two_node_network()
    path = viz.render(loss, tmp_path / "two.svg", mode="both")
    assert path == str(tmp_path / "two.svg")
    nodes, clusters = read_svg(path)
    forward, backward = clusters["forward pass"], clusters["backward pass"]
    assert forward[2] < backward[0]  # side by side, forward on the left
    loss.backward()
    expected = {
        "f_t0": ["mu", "scalar", "0"], "f_t1": ["sigma", "scalar", "2"],
        "f_t2": ["mu_gt", "scalar", "1"], "f_t3": ["sigma_gt", "scalar", "0.5"],
        "f_op4": ["GaussianKLLoss"], "f_t5": ["output", "scalar", f"{loss.item():.4g}"],
        "b_t0": ["mu", "scalar", f"grad {mu.grad.item():.4g}"],
        "b_t1": ["sigma", "scalar", f"grad {sigma.grad.item():.4g}"],
        "b_op4": ["GaussianKLLoss backward"], "b_t5": ["output", "scalar", "grad 1"],
    }
    assert {k: v[0] for k, v in nodes.items()} == expected
    assert mu.grad.item() == pytest.approx(-0.25)  # (mu - mu_gt) / sigma^2
    for name, (_, box) in nodes.items():
        assert inside(box, forward if name.startswith("f_") else backward)


# ---- an MLP with a Gaussian head ----------------------------------------------------------

@pytest.mark.requires_tool("dot")
def test_mlp_forward_clusters_hold_their_parameters(tmp_path):
    loss, model, _ = mlp_graph()
    nodes, clusters = read_svg(viz.render(loss, tmp_path / "mlp.svg"))
    describe = {path: m.describe() for path, m in model.named_modules()}
    expected = {(f"{p}: {d}" if p else d) for p, d in describe.items()} | {"GaussianKLLoss"}
    assert set(clusters) == expected
    for name, p in model.named_parameters():
        lines, box = node_with(nodes, name)
        assert lines[1] == str(p.shape)
        owner = name.rsplit(".", 1)[0]
        assert inside(box, clusters[f"{owner}: {describe[owner]}"])
        assert inside(box, clusters["Sequential(2)"])
    ops = sorted(v[0][0] for k, v in nodes.items() if k.startswith("op"))
    assert ops == ["Affine"] * 3 + ["GaussianKLLoss", "GaussianParams"] + ["Tanh"] * 2
    x_box = node_with(nodes, "x")[1]
    assert not inside(x_box, clusters["Sequential(2)"])  # the data is not the model's
    kl_box = node_with(nodes, "GaussianKLLoss")[1]
    assert inside(kl_box, clusters["GaussianKLLoss"])
    assert not inside(kl_box, clusters["Sequential(2)"])


@pytest.mark.requires_tool("dot")
def test_mlp_backward_shows_the_gradients_backward_computes(tmp_path):
    loss, model, _ = mlp_graph()
    nodes, _ = read_svg(viz.render(loss, tmp_path / "mlp_back.svg", mode="backward"))
    assert all(p.grad is None for p in model.parameters())
    loss.backward()
    for name, p in model.named_parameters():
        lines, _ = node_with(nodes, name)
        summary = viz.summarize(p.grad)
        assert lines[2:] == ["grad " + summary[0]] + summary[1:]
    ops = sorted(v[0][0] for k, v in nodes.items() if k.startswith("op"))
    assert ops == (["Affine backward"] * 3 + ["GaussianKLLoss backward",
                                              "GaussianParams backward"] + ["Tanh backward"] * 2)
    assert "x" not in [v[0][0] for v in nodes.values()]  # no gradient reaches the data


@pytest.mark.requires_tool("dot")
def test_mlp_collapsed_draws_boxes_not_clusters(tmp_path):
    loss, model, _ = mlp_graph()
    nodes, clusters = read_svg(viz.render(loss, tmp_path / "mlp_small.svg", collapse=True))
    firsts = [v[0][0] for v in nodes.values()]
    for box in ("0.layers.0: Dense(1->8)", "0.layers.2: Dense(8->8)", "1.linear: Dense(8->2)"):
        assert box in firsts and box not in clusters
    assert set(clusters) == {"Sequential(2)", "0: MLP(1-8-8)", "0.layers: Sequential(4)",
                             "1: GaussianHead(8->[mu, sigma])"}
    assert not any("weight" in f or f == "Affine" for f in firsts)
    assert len(nodes) == 16


@pytest.mark.requires_tool("dot")
def test_mlp_both_keeps_each_pass_on_its_side(tmp_path):
    loss, model, _ = mlp_graph()
    nodes, clusters = read_svg(viz.render(loss, tmp_path / "mlp_both.svg", mode="both",
                                          collapse=True))
    forward, backward = clusters["forward pass"], clusters["backward pass"]
    assert forward[2] < backward[0]
    for name, (lines, box) in nodes.items():
        assert inside(box, forward if name.startswith("f_") else backward), lines
    assert "1.linear: Dense(8->2) backward" in [v[0][0] for v in nodes.values()]


@pytest.mark.requires_tool("dot")
def test_two_thousand_nodes_render(tmp_path):
    mg.manual_seed(0)
    model = nn.MLP([4] + [4] * 340)  # 6 nodes a layer, and 682 module clusters: dot's hard case
    out = model(mg.randn(3, 4)).sum()
    nodes, clusters = read_svg(viz.render(out, tmp_path / "big.svg"))
    assert len(nodes) == 6 * 340 + 3 and len(clusters) == 1 + 1 + 2 * 340


# ---- formats and errors -------------------------------------------------------------------

@pytest.mark.requires_tool("dot")
def test_formats_by_extension(tmp_path):
    loss, _, _ = two_node_network()
    assert open(viz.render(loss, tmp_path / "g.png"), "rb").read(4) == b"\x89PNG"
    assert open(viz.render(loss, tmp_path / "g.pdf", mode="both"), "rb").read(4) == b"%PDF"
    for ext in ("dot", "gv"):
        written = open(viz.render(loss, tmp_path / f"g.{ext}", mode="backward")).read()
        assert written == viz.draw(loss, mode="backward").source
    with pytest.raises(ValueError, match=r"cannot tell the format from .*g\.txt.*\.svg"):
        viz.render(loss, tmp_path / "g.txt")


def test_missing_dot_says_how_to_install_it(tmp_path, monkeypatch):
    loss, _, _ = two_node_network()
    monkeypatch.setenv("PATH", "")
    with pytest.raises(viz.GraphvizNotFound, match="apt-get install graphviz.*brew install"):
        viz.render(loss, tmp_path / "g.svg")
    assert issubclass(viz.GraphvizNotFound, RuntimeError)
    assert not (tmp_path / "g.svg").exists()
    viz.render(loss, tmp_path / "g.dot")  # the source needs no Graphviz program
    assert "GaussianKLLoss" in (tmp_path / "g.dot").read_text()


@pytest.mark.requires_tool("dot")
def test_names_with_special_characters_survive_dot(tmp_path):
    a = mg.Tensor(1.0, requires_grad=True, name='a "quoted" <name> \\ & more')
    nodes, _ = read_svg(viz.render(a * 2.0, tmp_path / "odd.svg"))
    assert node_with(nodes, 'a "quoted" <name> \\ & more')[0][1:] == ["scalar", "1"]


def test_import_minigrad_needs_no_graphviz():
    code = (
        "import sys; sys.modules['graphviz'] = None\n"
        "import minigrad, minigrad.nn\n"
        "try:\n    import minigrad.viz\nexcept ImportError as e:\n    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={**os.environ})
    assert result.returncode == 0, result.stderr
    assert "pip install graphviz" in result.stdout and "pip install 'minigrad-numpy[viz]'" in result.stdout
