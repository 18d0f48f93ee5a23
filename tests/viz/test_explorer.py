"""minigrad.viz.explore without a browser: the data the page embeds is the engine's (values,
gradients, backward order, diamonds, first NaN), the page is self-contained and escaped, and
bad input gives clear errors. The browser side is tests/viz/test_explorer_browser.py."""
import json
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

viz = pytest.importorskip("minigrad.viz")
from minigrad import explorer as ex  # noqa: E402
from viz_graphs import mlp_graph, two_node_network  # noqa: E402


def snapshot(e, i=0):
    return e.data["snapshots"][i]


def page_data(page):
    """The JSON a page embeds, read back the way the script reads it."""
    text = re.search(r'<script type="application/json" class="mgx-data">(.*?)</script>', page,
                     re.S).group(1)
    return json.loads(text)


def diamond():
    """y = log(x) used three times (y * y + y): one NaN at x = -1."""
    x = mg.Tensor([1.0, -1.0, 2.0], requires_grad=True, name="x")
    with np.errstate(invalid="ignore"):
        y = mg.log(x)
    y.name = "y"
    return (y * y + y).sum(), x, y


def test_gradients_are_the_engines_and_nothing_is_touched(tmp_path):
    loss, model, x = mlp_graph()
    params = list(model.parameters())
    assert all(p.grad is None for p in params)
    e = viz.explore(loss, tmp_path / "mlp.html")
    assert all(p.grad is None for p in params)          # no .grad written
    loss.backward()                                     # the graph was not freed
    data = page_data((tmp_path / "mlp.html").read_text())["snapshots"][0]
    for p in params:
        t = data["tensors"][e.id_of(p)]
        assert t["kind"] == "parameter"
        assert t["value"]["shape"] == list(p.shape)
        np.testing.assert_array_equal(np.array(t["grad"]["exact"]).reshape(p.shape), p.grad)
        np.testing.assert_array_equal(np.array(t["value"]["exact"]).reshape(p.shape), p.data)


def test_steps_follow_the_engines_order_and_edges_carry_the_vjps():
    loss, model, x = mlp_graph()
    e = viz.explore(loss)
    steps = snapshot(e)["steps"]
    engine = [e.id_of(n) for n in sorted(mg.topological_order(loss.grad_fn),
                                         key=lambda n: -n.seq)]
    assert [s["op"] for s in steps] == engine
    tensors = snapshot(e)["tensors"]
    assert tensors[steps[0]["out"]]["grad"]["exact"] == [1.0]  # the seed d loss / d loss
    # each tensor's gradient is the sum of what its consumers' steps sent it
    sums = {}
    for s in steps:
        for edge in s["edges"]:
            grad = tensors[edge["to"]]["grad"] if edge["grad"] == "whole" else edge["grad"]
            if grad is not None and "exact" in grad:
                g = np.array(grad["exact"])
                sums[edge["to"]] = sums.get(edge["to"], 0) + g
    loss.backward()
    for p in model.parameters():
        np.testing.assert_allclose(sums[e.id_of(p)], p.grad.ravel(), rtol=1e-12)


def test_diamond_parts_and_running_sums():
    loss, x, y = diamond()
    e = viz.explore(loss)
    data = snapshot(e)
    parts = data["diamonds"][e.id_of(y)]
    assert [data["ops"][p["op"]]["name"] for p in parts] == ["Add", "Mul", "Mul"]
    with np.errstate(invalid="ignore"):
        expected = 1 + 2 * y.data  # d/dy (y*y + y), from Add first, then Mul's two slots
    running = [np.ones(3), 1 + y.data, expected]
    for part, want in zip(parts, running):
        np.testing.assert_allclose(np.array(part["sum"]["exact"], dtype=float), want)
    grad = np.array(data["tensors"][e.id_of(y)]["grad"]["exact"], dtype=float)
    np.testing.assert_allclose(grad, expected)
    assert data["diamonds"].keys() == {e.id_of(y)}


def test_first_nonfinite_in_forward_and_backward():
    loss, x, y = diamond()
    e = viz.explore(loss)
    bad = snapshot(e)["nonfinite"]
    fwd = bad["forward"]
    assert snapshot(e)["ops"][fwd["op"]]["name"] == "Log"
    assert fwd["tensor"] == e.id_of(y) and fwd["index"] == [1] and fwd["value"] == "nan"
    assert fwd["inputs"] == [e.id_of(x)]
    assert bad["backward"]["tensor"] == e.id_of(y) and bad["backward"]["nan"] == 1
    assert snapshot(e)["tensors"][e.id_of(y)]["value"]["exact"][1] == "NaN"
    clean = viz.explore(two_node_network()[0])
    assert snapshot(clean)["nonfinite"] == {}


def test_ops_carry_formula_and_derivative_from_docstrings():
    loss, x, y = diamond()
    ops = {o["name"]: o for o in snapshot(viz.explore(loss))["ops"].values()}
    assert ops["Log"]["formula"] == "log(x)" and ops["Log"]["derivative"] == "d/dx = 1/x."
    assert ops["Mul"]["derivative"] == "d/da = b, d/db = a."


def test_large_arrays_are_sampled_with_the_stated_limits():
    w = mg.Tensor(np.arange(100 * 70, dtype=np.float64).reshape(100, 70), requires_grad=True)
    e = viz.explore((w * w).sum())
    info = snapshot(e)["tensors"][e.id_of(w)]["value"]
    assert "exact" not in info and info["size"] == 7000
    heat = info["heat"]
    assert heat["rows"] <= ex.HEAT and heat["cols"] <= ex.HEAT and heat["step"] == [4, 3]
    assert heat["data"][:2] == [0.0, 3.0] and heat["data"][heat["cols"]] == 280.0
    assert sum(info["hist"]["counts"]) == 7000 and len(info["hist"]["counts"]) == ex.BINS
    assert info["stats"]["max"] == 6999.0
    assert len(ex._array_info(np.zeros(ex.SMALL))["exact"]) == ex.SMALL
    assert "exact" not in ex._array_info(np.zeros(ex.SMALL + 1))


def test_float32_numbers_keep_their_own_digits():
    assert ex._array_info(np.array([0.1], dtype=np.float32))["exact"] == [0.1]


def test_page_is_self_contained(tmp_path):
    loss, model, x = mlp_graph()
    page = viz.explore(loss, tmp_path / "p.html").to_html()
    assert (tmp_path / "p.html").read_text() == page
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|//)", page)
    assert "@import" not in page and "<link" not in page and "url(" not in page
    assert "default-src 'none'" in page        # the browser itself refuses any request
    assert page.count("<script") == 2          # the data and the inlined script


def test_names_cannot_inject_markup_or_script(tmp_path):
    evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>"&'
    a = mg.Tensor([1.0, 2.0], requires_grad=True, name=evil)

    class Evil(nn.Module):
        def forward(self, t):
            return (t * t).sum()
    page = viz.explore(Evil()(a), tmp_path / "evil.html").to_html()
    assert "<script>alert" not in page and "<img" not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert page_data(page)["snapshots"][0]["tensors"]["t0"]["name"] == evil


def test_repr_html_uses_a_fresh_id_and_no_document_ids():
    loss, _, _ = two_node_network()
    e = viz.explore(loss)
    first, second = e._repr_html_(), e._repr_html_()
    ids = [re.search(r'class="mgx" id="([^"]+)"', h).group(1) for h in (first, second)]
    assert ids[0] != ids[1]
    svg = snapshot(e)["svg"]
    assert not re.search(r'\bid="', svg)       # dot's node1/graph0 ids would clash
    assert 'data-node="f_t0"' in svg and 'data-edge="f_t0-&gt;f_op4"' in svg


@pytest.mark.parametrize("collapse", [False, True, 0])
def test_every_drawn_name_is_a_node_of_the_picture(collapse):
    loss, _, _ = mlp_graph()
    data = snapshot(viz.explore(loss, collapse=collapse))
    in_svg = set(re.findall(r'data-node="([^"]+)"', data["svg"]))
    assert set(data["drawn"]) == in_svg


def test_mode_forward_has_no_backward_and_works_after_backward():
    loss, x, y = diamond()
    loss.backward()
    data = snapshot(viz.explore(loss, mode="forward"))
    assert data["steps"] == [] and all(t["grad"] is None for t in data["tensors"].values())


def test_bad_input_gives_clear_errors(tmp_path):
    loss, _, _ = two_node_network()
    with pytest.raises(TypeError, match="explore: expected a minigrad Tensor.*got ndarray"):
        viz.explore(np.zeros(3))
    with pytest.raises(ValueError, match="mode must be one of"):
        viz.explore(loss, mode="sideways")
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        viz.explore(loss, tmp_path / "no" / "such" / "p.html")
    with pytest.raises(ValueError, match="single-element root"):
        viz.explore(mg.Tensor([1.0, 2.0], requires_grad=True) * 2)
    loss.backward()
    with pytest.raises(RuntimeError, match="freed.*retain_graph=True.*mode='forward'"):
        viz.explore(loss)


def test_a_graph_too_large_for_draw_is_too_large_for_explore(monkeypatch):
    # explore lays the graph out with draw, so draw's node limit and message apply as they are
    def refuse(*args, **kwargs):
        raise ValueError("draw: the graph has 99999 nodes, above the limit")
    monkeypatch.setattr(viz, "draw", refuse)
    with pytest.raises(ValueError, match="^draw: the graph has 99999 nodes"):
        viz.explore(two_node_network()[0])


def test_timeline_records_snapshots_and_the_loss_curve(tmp_path):
    mu = nn.Parameter(np.array(3.0))
    timeline = ex.Timeline()
    opt = mg.optim.SGD([mu], lr=0.1)
    for step in range(5):
        loss = (mu * mu).sum()
        if step in (0, 4):
            timeline.record(step, loss)
        else:
            timeline.log(step, loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    data = page_data(timeline.explorer().to_html())
    assert data["timeline"]["steps"] == [0, 4]
    assert [p[0] for p in data["timeline"]["losses"]] == [0, 1, 2, 3, 4]
    assert data["timeline"]["losses"][0][1] == 9.0
    grads = [s["tensors"]["t0"]["grad"]["exact"][0] for s in data["snapshots"]]
    assert grads == [6.0, pytest.approx(6.0 * 0.8 ** 4)]
    with pytest.raises(ValueError, match="nothing recorded"):
        ex.Timeline().save(tmp_path / "t.html")
