"""minigrad.viz without the `dot` program: the DOT text it builds (labels, styles, edge
directions, clusters, collapse), determinism, and the rule that drawing has no side effects."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd

viz = pytest.importorskip("minigrad.viz")
from viz_graphs import mlp_graph, two_node_network  # noqa: E402


def label_of(source, node_id):
    """The label of node `node_id` in DOT text (the graphviz package writes one node a line)."""
    line = next(l for l in source.splitlines() if l.strip().startswith(node_id + " ["))
    return line.split('label="', 1)[1].split('"', 1)[0] if 'label="' in line else \
        line.split("label=", 1)[1].split(" ", 1)[0]


def all_nodes(root):
    nodes = autograd.topological_order(root.grad_fn)  # raises if any node was freed
    assert all(n.saved_tensors is not None for n in nodes)
    return nodes


# ---- labels -------------------------------------------------------------------------------

@pytest.mark.parametrize("array, lines", [
    (np.float64(0.25), ["0.25"]),
    (np.array([[1.0 / 3]]), ["0.3333"]),
    (np.array([1.5, -2.0, 3.0]), ["[1.5, -2, 3]"]),
    (np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), ["[[1, 2, 3], [4, 5, 6]]"]),
    (np.array([1, 2], dtype=np.int64), ["[1, 2]"]),
    (np.arange(8.0), ["mean 3.5, std 2.291", "min 0, max 7"]),
    (np.array([-1.0, 1.0] * 4) + 1e-17, ["mean 0, std 1", "min -1, max 1"]),  # rounding noise
])
def test_summarize_follows_the_size_rules(array, lines):
    assert viz.summarize(array) == lines


def test_tensor_labels_show_name_shape_and_value():
    loss, mu, sigma = two_node_network()
    src = viz.draw(loss).source
    assert label_of(src, "t0") == "mu\\nscalar\\n0"
    assert label_of(src, "t1") == "sigma\\nscalar\\n2"
    assert label_of(src, "t3") == "sigma_gt\\nscalar\\n0.5"
    assert label_of(src, "t5") == f"output\\nscalar\\n{loss.item():.4g}"
    assert label_of(src, "op4") == "GaussianKLLoss"
    assert src.count("GaussianKLLoss") == 1  # the fused loss is one node


def test_default_names_and_dtype():
    a = mg.Tensor(np.arange(8, dtype=np.float32).reshape(2, 4), requires_grad=True)
    x = mg.Tensor(np.ones(3, dtype=np.float32))
    y = (a * 2.0).sum() + (a.sum() * x).sum()
    src = viz.draw(y).source
    assert label_of(src, "t0").startswith("t0\\n(2, 4) float32\\nmean 3.5")  # unnamed parameter
    assert label_of(src, "t1").startswith("const\\nscalar float32\\n2")    # a number in the code
    assert "input\\n(3,) float32\\n[1, 1, 1]" in src  # data without grad
    assert "output\\nscalar float32" in src


def test_each_kind_of_tensor_has_its_own_style():
    loss, model, x = mlp_graph()
    src = viz.draw(loss).source
    styles = {kind: viz.STYLE[kind]["fillcolor"] for kind in
              ("parameter", "input", "intermediate", "root", "op")}
    assert len(set(styles.values())) == len(styles)
    assert 'fillcolor="#d4f0d4"' in next(l for l in src.splitlines() if "0.layers.0.weight" in l)
    x_line = next(l for l in src.splitlines() if "x\\n(16, 1)" in l)
    assert 'style="rounded,filled,dashed"' in x_line
    root_line = next(l for l in src.splitlines() if "output\\nscalar" in l)
    assert "penwidth=2" in root_line and 'fillcolor="#ffe49c"' in root_line


def test_user_text_is_escaped():
    a = mg.Tensor(1.0, requires_grad=True, name='say "hi" \\ bye')
    src = viz.draw(a * 2.0).source
    assert 'say \\"hi\\" \\\\ bye' in src


# ---- directions, modes --------------------------------------------------------------------

def test_forward_edges_follow_the_data_and_backward_edges_the_gradient():
    loss, mu, sigma = two_node_network()
    forward = viz.draw(loss, mode="forward").source
    backward = viz.draw(loss, mode="backward").source
    assert "t0 -> op4" in forward and "op4 -> t5" in forward
    assert "t5 -> op4" in backward and "op4 -> t0" in backward and "op4 -> t1" in backward
    assert label_of(backward, "op4") == "GaussianKLLoss backward"
    # data without grad (mu_gt, sigma_gt) carries no gradient, so the backward pass omits it
    assert "mu_gt" not in backward and "t2" not in backward


def test_backward_labels_hold_the_gradients_engine_gives():
    loss, mu, sigma = two_node_network()
    src = viz.draw(loss, mode="backward").source
    loss.backward()
    assert label_of(src, "t0") == f"mu\\nscalar\\ngrad {mu.grad.item():.4g}"
    assert label_of(src, "t1") == f"sigma\\nscalar\\ngrad {sigma.grad.item():.4g}"
    assert label_of(src, "t5") == "output\\nscalar\\ngrad 1"


def test_both_puts_forward_then_backward_clusters():
    loss, _, _ = two_node_network()
    src = viz.draw(loss, mode="both").source
    assert src.index("subgraph cluster_forward") < src.index("subgraph cluster_backward")
    assert "f_t0 -> f_op4" in src and "b_op4 -> b_t0" in src
    assert "GaussianKLLoss backward" in src


def test_a_tensor_read_twice_gets_two_edges_and_summed_gradient():
    x = mg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum() + x.sum()
    fwd = viz.draw(y).source
    assert fwd.count("t0 -> op1") == 2
    bwd = viz.draw(y, mode="backward").source
    y.backward()
    np.testing.assert_allclose(x.grad, [3.0, 5.0])
    assert "x\\n(2,)\\ngrad [3, 5]" in bwd


def test_broadcast_gradients_are_summed_to_the_input_shape():
    w = mg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="w")
    b = mg.Tensor([1.0, -1.0, 0.5], requires_grad=True, name="b")
    loss = ((w + b) ** 2).mean()
    src = viz.draw(loss, mode="backward").source
    loss.backward()
    assert f"b\\n(3,)\\ngrad {viz.summarize(b.grad)[0]}" in src


def test_a_non_scalar_root_needs_a_seed_gradient():
    x = mg.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x * 3.0
    with pytest.raises(ValueError, match=r"shape \(2,\).*grad="):
        viz.draw(y, mode="backward")
    src = viz.draw(y, mode="backward", grad=[1.0, 10.0]).source
    assert "grad [3, 30]" in src


def test_bad_arguments_are_named():
    loss, _, _ = two_node_network()
    with pytest.raises(ValueError, match="mode must be one of forward, backward, both"):
        viz.draw(loss, mode="sideways")
    with pytest.raises(ValueError, match="collapse must be True/False or a depth >= 0"):
        viz.draw(loss, collapse=-1)
    with pytest.raises(TypeError, match="expected a minigrad Tensor, got ndarray"):
        viz.draw(np.ones(2))
    with pytest.raises(ValueError, match="does not require grad"):
        viz.draw(mg.Tensor(1.0) * 2.0, mode="backward")


def test_a_leaf_root_and_a_deep_chain():
    leaf = mg.Tensor([1.0, 2.0], name="a")
    assert "a\\n(2,)\\n[1, 2]" in viz.draw(leaf).source
    x = mg.Tensor(0.5, requires_grad=True)
    y = x
    for _ in range(3000):  # deeper than Python's recursion limit
        y = y * 1.0
    src = viz.draw(y, mode="backward").source
    assert src.count("Mul backward") == 3000


# ---- determinism --------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["forward", "backward", "both"])
@pytest.mark.parametrize("collapse", [False, True, 1])
def test_same_graph_same_text(mode, collapse):
    first, _, _ = mlp_graph(seed=3)
    second, _, _ = mlp_graph(seed=3)
    text = viz.draw(first, mode=mode, collapse=collapse).source
    assert viz.draw(first, mode=mode, collapse=collapse).source == text
    assert viz.draw(second, mode=mode, collapse=collapse).source == text
    other, _, _ = mlp_graph(seed=4)  # other weights: other values, so other text
    assert viz.draw(other, mode=mode, collapse=collapse).source != text


# ---- modules ------------------------------------------------------------------------------

def test_clusters_nest_like_the_modules():
    loss, model, _ = mlp_graph()
    src = viz.draw(loss).source
    lines = [l.strip() for l in src.splitlines()]
    labels = [l.split("label=", 1)[1].split(" labeljust")[0] for l in lines
              if "labeljust=l" in l]
    assert labels == ['"Sequential(2)"', '"0: MLP(1-8-8)"', '"0.layers: Sequential(4)"',
                      '"0.layers.0: Dense(1->8)"', '"0.layers.1: Tanh"',
                      '"0.layers.2: Dense(8->8)"', '"0.layers.3: Tanh"',
                      '"1: GaussianHead(8->[mu, sigma])"', '"1.linear: Dense(8->2)"',
                      'GaussianKLLoss']
    # each parameter is declared inside its Dense's cluster, before the cluster closes
    for name, _ in model.named_parameters():
        module = name.rsplit(".", 1)[0]
        start = src.index(f"{module}: Dense")
        assert start < src.index(f'"{name}\\n') < src.index("}", start)
    # x is the model's input, not part of any module: declared before the first cluster
    assert src.index("x\\n(16, 1)") < src.index("subgraph cluster_0")


def test_collapse_true_draws_each_innermost_module_as_one_box():
    loss, model, _ = mlp_graph()
    src = viz.draw(loss, collapse=True).source
    boxes = [l for l in src.splitlines() if "shape=box3d" in l]
    assert sorted(label_of(l.strip(), l.strip().split(" ")[0]) for l in boxes) == [
        "0.layers.0: Dense(1->8)", "0.layers.1: Tanh", "0.layers.2: Dense(8->8)",
        "0.layers.3: Tanh", "1.linear: Dense(8->2)", "GaussianKLLoss"]  # sorted
    assert "Affine" not in src and "weight" not in src  # hidden inside the boxes
    assert "GaussianParams" in src                      # GaussianHead has a child: stays open
    assert "m0 -> t4" in src and "t4 -> m1" in src     # outputs between boxes stay drawn
    assert "x\\n(16, 1)" in src and "t0 -> m0" in src


@pytest.mark.parametrize("depth, boxes", [
    (0, ["0: MLP(1-8-8)", "1: GaussianHead(8->[mu, sigma])"]),
    (1, ["0.layers: Sequential(4)", "1.linear: Dense(8->2)"]),
    (2, ["0.layers.0: Dense(1->8)", "0.layers.1: Tanh", "0.layers.2: Dense(8->8)",
         "0.layers.3: Tanh"]),
    (3, []),
])
def test_collapse_depth_boxes_the_modules_below_it(depth, boxes):
    loss, _, _ = mlp_graph()
    src = viz.draw(loss, mode="backward", collapse=depth).source
    found = [l.split('label="', 1)[1].split("\\n")[0].split('"')[0]
             for l in src.splitlines() if "shape=box3d" in l]
    assert found == [b + " backward" for b in boxes]
    assert ("Affine backward" in src) == (depth >= 2)


# ---- no side effects ----------------------------------------------------------------------

def test_drawing_backward_changes_no_grad_and_frees_nothing():
    loss, model, x = mlp_graph()
    params = list(model.parameters())
    viz.draw(loss, mode="both")
    viz.draw(loss, mode="backward", collapse=True)
    assert all(p.grad is None for p in params) and x.grad is None and loss.grad is None
    nodes = all_nodes(loss)
    assert all(n.inputs[0].grad is None for n in nodes)
    loss.backward()  # the real backward still works after drawing
    reference, ref_model, _ = mlp_graph()
    reference.backward()
    for p, q in zip(params, ref_model.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


def test_existing_grads_stay_the_same_objects():
    loss, model, _ = mlp_graph()
    loss.backward(retain_graph=True)
    before = {name: p.grad for name, p in model.named_parameters()}
    copies = {name: g.copy() for name, g in before.items()}
    src = viz.draw(loss, mode="backward").source
    for name, p in model.named_parameters():
        assert p.grad is before[name]
        np.testing.assert_array_equal(p.grad, copies[name])
        # and the picture shows exactly these gradients
        assert f"{name}\\n{p.shape}\\ngrad {viz.summarize(p.grad)[0]}" in src
    all_nodes(loss)
    loss.backward()  # accumulates once more, as without the drawing
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * copies[name])


def test_a_freed_graph_says_how_to_keep_it():
    loss, model, _ = mlp_graph()
    loss.backward()
    for mode in ("backward", "both"):
        with pytest.raises(RuntimeError, match=r"render before calling backward\(\).*"
                                               r"retain_graph=True"):
            viz.draw(loss, mode=mode)
    src = viz.draw(loss, mode="forward").source  # the inputs survive, so forward still works
    assert "0.layers.0.weight" in src and "GaussianKLLoss" in src
