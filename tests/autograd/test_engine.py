"""Engine semantics: accumulation, diamonds, grad modes, retain_grad / retain_graph, the
freed-graph error, a 100,000-op chain, dtypes through backward, user-defined Functions,
the public graph attributes, gradient aliasing, and backward's error messages."""
import re
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import Function, Tensor


def counting_square():
    """A fresh x^2 Function class that counts how often its backward runs."""
    class CountedSquare(Function):
        calls = 0

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            CountedSquare.calls += 1
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    return CountedSquare


# ---- accumulation and shared subgraphs ------------------------------------------------------

def test_gradient_accumulates_across_uses():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x + x * 3 + x).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data + 4)


def test_gradient_accumulates_across_backward_calls_until_reset():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0 + 2.0, 2.0 + 4.0])
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_diamond_runs_the_shared_node_once_with_the_summed_gradient():
    Square = counting_square()
    x = Tensor([1.0, -3.0], requires_grad=True)
    s = Square.apply(x)                     # s feeds both arms of the diamond
    left, right = s * 2, s.exp().log() * 3  # the right arm is two nodes deep
    (left + right).sum().backward()
    assert Square.calls == 1
    np.testing.assert_allclose(x.grad, 5 * 2 * x.data)


def test_shared_subgraph_used_by_several_consumers_is_summed_once():
    Square = counting_square()
    x = Tensor([0.5, 1.5, -2.0], requires_grad=True)
    shared = Square.apply(x) + 1.0          # a two-node shared subgraph
    out = (shared * shared).sum() + shared.mean() + shared[0]
    out.backward()
    assert Square.calls == 1
    s = x.data ** 2 + 1
    expected = (2 * s + 1 / 3 + np.array([1.0, 0.0, 0.0])) * 2 * x.data
    np.testing.assert_allclose(x.grad, expected)


def test_same_tensor_twice_in_one_op():
    x = Tensor([3.0], requires_grad=True)
    (x * x).backward()
    np.testing.assert_array_equal(x.grad, [6.0])
    y = Tensor([3.0], requires_grad=True)
    mg.concatenate([y, y, y]).sum().backward()
    np.testing.assert_array_equal(y.grad, [3.0])


def test_a_node_reached_only_by_none_gradients_never_runs():
    Square = counting_square()

    class Blocked(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return None, grad

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([1.0, 1.0], requires_grad=True)
    Blocked.apply(Square.apply(x), y).sum().backward()
    assert Square.calls == 0 and x.grad is None
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])


def test_a_failed_backward_leaves_nothing_behind_for_the_next_one():
    class FailsOnce(Function):
        failed = False

        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            if not FailsOnce.failed:
                FailsOnce.failed = True
                raise ArithmeticError("transient")
            return grad

    x = Tensor([1.0, 2.0], requires_grad=True)
    out = (x * 2 + FailsOnce.apply(x) * 3).sum()
    with pytest.raises(ArithmeticError, match="transient"):
        out.backward(retain_graph=True)
    x.grad = None
    out.backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


# ---- grad modes -----------------------------------------------------------------------------

def test_no_grad_context_records_nothing_and_enable_grad_turns_it_back_on():
    x = Tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = x * 2
        assert not mg.is_grad_enabled()
        with mg.enable_grad():
            z = x * 2
            assert mg.is_grad_enabled()
        w = x * 2
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and not w.requires_grad
    assert z.requires_grad and z.grad_fn is not None
    z.backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_no_grad_as_a_decorator_and_restored_after_an_exception():
    x = Tensor([1.0], requires_grad=True)

    @mg.no_grad()
    def double(t):
        return t * 2

    @mg.no_grad()
    def fail():
        raise KeyError("boom")

    assert double.__name__ == "double"
    assert not double(x).requires_grad
    assert mg.is_grad_enabled()
    with pytest.raises(KeyError):
        fail()
    assert mg.is_grad_enabled()


def test_set_grad_enabled():
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_backward_works_inside_no_grad_on_a_graph_built_outside():
    x = Tensor([2.0], requires_grad=True)
    y = x * x
    with mg.no_grad():
        y.backward()
    np.testing.assert_array_equal(x.grad, [4.0])


# ---- retain_grad and non-leaves --------------------------------------------------------------

def test_non_leaves_keep_no_grad_unless_retained():
    x = Tensor([1.0, 2.0], requires_grad=True)
    kept = x * 3
    kept.retain_grad()
    dropped = x * 4
    (kept * kept + dropped).sum().backward()
    np.testing.assert_array_equal(kept.grad, 2 * kept.data)
    assert dropped.grad is None
    np.testing.assert_array_equal(x.grad, 2 * kept.data * 3 + 4)


def test_retained_root_gets_its_seed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * 2).sum()
    y.retain_grad()
    y.backward()
    assert y.grad == 1.0


# ---- retain_graph and freeing ----------------------------------------------------------------

def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    assert y.grad_fn.saved_tensors is not None
    y.backward()
    np.testing.assert_array_equal(x.grad, 2 * 2 * x.data)


def test_second_backward_without_retain_graph_raises_and_says_why():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*"
                                           r"retain_graph=True"):
        y.backward()
    # the structure stays walkable (the renderer's forward view uses it); only arrays are freed
    assert [n.name for n in mg.topological_order(y.grad_fn)] == ["Mul", "Sum"]


def test_backward_frees_saved_arrays_but_keeps_the_graph_structure():
    a = Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = Tensor([3.0, 4.0], requires_grad=True)
    product = a * b
    out = product.sum()
    assert len(product.grad_fn.saved_tensors) == 2
    out.backward()
    assert product.grad_fn.saved_tensors is None and out.grad_fn.saved_tensors is None
    assert out.grad_fn.inputs[0] is product and product.grad_fn.inputs == (a, b)


# ---- deep graphs ---------------------------------------------------------------------------

def test_a_chain_of_100000_ops_backpropagates_without_recursion():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0001
        y = y - 0.0001
    y.backward()  # a recursive walk would hit Python's recursion limit long before this
    np.testing.assert_allclose(x.grad, 1.0001 ** 50_000, rtol=1e-9)


# ---- dtypes --------------------------------------------------------------------------------

def test_float32_survives_a_whole_network_and_its_gradients():
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((4, 3)).astype(np.float32))
    w = Tensor(rng.standard_normal((3, 5)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(5, dtype=np.float32), requires_grad=True)
    hidden = (x @ w + b).tanh()
    hidden.retain_grad()
    loss = (hidden.log_softmax(axis=1)[np.arange(4), [0, 1, 2, 3]]).mean() * -1.0 + hidden.var()
    loss.backward(np.float64(1.0))  # a float64 seed is cast to the output's dtype
    for array in (hidden.data, loss.data, w.grad, b.grad, hidden.grad):
        assert array.dtype == np.float32


def test_float64_is_the_default_everywhere():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x.sigmoid() * 3).sum().backward()
    assert x.grad.dtype == np.float64


# ---- user-defined Functions ----------------------------------------------------------------

class ScaledCube(Function):
    """scale * x^3, with `scale` a non-differentiable keyword parameter."""

    seen_needs = []

    @staticmethod
    def forward(ctx, x, scale=1.0):
        ScaledCube.seen_needs.append(ctx.needs_input_grad)
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * ctx.scale * x ** 2 * grad   # a bare array for the single input


class WeightedSum(Function):
    """a * w summed; the gradient for w is only computed when asked for."""

    name = "weighted_sum"
    backward_needs = []

    @staticmethod
    def forward(ctx, a, w):
        ctx.save_for_backward(a, w)
        return (a * w).sum()

    @staticmethod
    def backward(ctx, grad):
        a, w = ctx.saved_tensors
        WeightedSum.backward_needs.append(ctx.needs_input_grad)
        return grad * w, (grad * a if ctx.needs_input_grad[1] else None)


def test_custom_function_save_for_backward_params_and_bare_return():
    ScaledCube.seen_needs.clear()
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = ScaledCube.apply(x, scale=2.0)
    np.testing.assert_array_equal(y.data, [2.0, 16.0])
    assert ScaledCube.seen_needs == [(True,)]
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 24.0])
    assert mg.gradcheck(lambda t: ScaledCube.apply(t, scale=-0.5), [x])


def test_custom_function_needs_input_grad_and_constant_inputs():
    WeightedSum.backward_needs.clear()
    a = Tensor([1.0, 2.0], requires_grad=True)
    out = WeightedSum.apply(a, [3.0, 4.0])    # a list becomes a constant input
    assert out.grad_fn.name == "weighted_sum"
    assert out.grad_fn.needs_input_grad == (True, False)
    constant = out.grad_fn.inputs[1]
    assert isinstance(constant, Tensor) and not constant.requires_grad
    out.backward()
    assert WeightedSum.backward_needs == [(True, False)]
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


def test_custom_function_without_grad_inputs_records_no_node():
    out = ScaledCube.apply(Tensor([1.0]))
    assert not out.requires_grad and out.grad_fn is None
    with mg.no_grad():
        assert ScaledCube.apply(Tensor([1.0], requires_grad=True)).grad_fn is None


def test_custom_backward_may_return_broadcast_shaped_gradients_and_none():
    class AddRow(Function):
        @staticmethod
        def forward(ctx, m, row):
            return m + row

        @staticmethod
        def backward(ctx, grad):
            return [None, grad]                 # a list is accepted; grad is at m's shape

    m = Tensor(np.ones((3, 2)), requires_grad=True)
    row = Tensor([1.0, 2.0], requires_grad=True)
    AddRow.apply(m, row).sum().backward()
    assert m.grad is None                       # None means no gradient flows there
    np.testing.assert_array_equal(row.grad, [3.0, 3.0])


def test_custom_backward_with_the_wrong_number_of_gradients_raises():
    class Broken(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad

    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Broken.backward returned 1 gradients for 2 inputs; "
                                           r"return one per input"):
        Broken.apply(a, b).sum().backward()


def test_custom_backward_with_a_wrong_shape_raises():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a.sum()

        @staticmethod
        def backward(ctx, grad):
            return np.ones(5)

    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape \(5,\) "
                                           r"for an input of shape \(2,\)"):
        BadShape.apply(Tensor([1.0, 2.0], requires_grad=True)).backward()


def test_custom_forward_errors_get_the_op_name_and_input_shapes():
    class Picky(Function):
        @staticmethod
        def forward(ctx, a):
            raise ValueError("needs a square matrix")

    with pytest.raises(ValueError, match=r"^Picky: needs a square matrix \(input shapes: \(2, 3\)\)"):
        Picky.apply(Tensor(np.ones((2, 3))))


def test_function_without_forward_or_backward_says_so():
    class Empty(Function):
        pass

    with pytest.raises(NotImplementedError, match=r"must define forward"):
        Empty.apply(Tensor([1.0]))


# ---- the graph seen from outside ------------------------------------------------------------

def test_graph_attributes_expose_names_and_inputs():
    a = Tensor([1.0, 2.0], requires_grad=True, name="a")
    b = Tensor([3.0, 4.0], requires_grad=True)
    product = a * b
    out = product.exp().sum()
    assert a.grad_fn is None and a.is_leaf and not out.is_leaf
    assert out.grad_fn.name == "Sum"
    assert out.grad_fn.inputs[0].grad_fn.name == "Exp"
    assert product.grad_fn.name == "Mul" and product.grad_fn.inputs == (a, b)
    assert product.grad_fn.scope == ()
    assert repr(product.grad_fn) == "<Mul node: inputs (2,), (2,)>"
    order = mg.topological_order(out.grad_fn)
    assert [node.name for node in order] == ["Mul", "Exp", "Sum"]


# ---- gradients never alias ------------------------------------------------------------------

def test_leaf_gradients_of_a_sum_do_not_share_memory():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 100.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    assert not np.shares_memory(a.grad, b.grad)


def test_user_seed_gradient_is_neither_aliased_nor_modified():
    seed = np.array([1.0, 2.0])
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).backward(seed)
    a.grad *= 10
    b.grad *= 10
    np.testing.assert_array_equal(seed, [1.0, 2.0])
    leaf = Tensor([0.0, 0.0], requires_grad=True)
    leaf.backward(seed)
    leaf.grad += 1
    np.testing.assert_array_equal(seed, [1.0, 2.0])


@pytest.mark.parametrize("op", [lambda t: t.sum(), lambda t: t.mean(), lambda t: t.reshape(4).sum(),
                                lambda t: t.T.sum(), lambda t: mg.broadcast_to(t, (3, 2, 2)).sum(),
                                lambda t: mg.stack([t, t]).sum(), lambda t: t[0].sum()],
                         ids=["sum", "mean", "reshape", "T", "broadcast_to", "stack", "getitem"])
def test_leaf_gradients_are_writable_own_arrays(op):
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    op(x).backward()
    # a GradArray view of an array that owns its memory, shared with nothing else
    own = x.grad if x.grad.base is None else x.grad.base
    assert x.grad.flags.writeable and own.flags.owndata and own.base is None
    x.grad += 1.0


def test_leaf_gradients_do_not_alias_when_a_custom_backward_reuses_an_array():
    class SharedGradient(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            shared = grad * 1.0
            return shared, shared

    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    SharedGradient.apply(a, b).sum().backward()
    a.grad += 100.0
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


# ---- backward's own errors ------------------------------------------------------------------

def test_non_scalar_backward_needs_a_gradient():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"backward: output 0 has shape \(2,\).*"
                                           r"reduce it first.*an array of shape \(2,\)"):
        y.backward()


def test_single_element_outputs_need_no_gradient():
    x = Tensor([[3.0]], requires_grad=True)
    (x * 2).backward()
    np.testing.assert_array_equal(x.grad, [[2.0]])


def test_explicit_gradient_gives_a_vector_jacobian_product():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(Tensor([1.0, 0.5, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, -6.0])


def test_explicit_gradient_of_the_wrong_shape_raises():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"backward: the gradient given for output 0 has "
                                         r"shape \(3,\) but the output has shape \(2,\)"):
        y.backward(np.ones(3))


def test_backward_of_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match=r"backward: output 0 \(shape \(1,\)\) does not require grad"):
        (Tensor([1.0]) * 2).backward()


# ---- detect_anomaly -------------------------------------------------------------------------

def test_detect_anomaly_names_the_op_in_forward_and_backward():
    with mg.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"detect_anomaly: Log forward produced a "
                                                     r"non-finite value nan at index \(0,\)"):
            with np.errstate(invalid="ignore"):
                mg.log(Tensor([-1.0, 2.0], requires_grad=True))
        root = mg.sqrt(Tensor([0.0, 4.0], requires_grad=True)).sum()
        with pytest.raises(FloatingPointError, match=r"Sqrt backward produced a non-finite value "
                                                     r"inf at index \(0,\)"):
            with np.errstate(divide="ignore"):
                root.backward()
    with np.errstate(invalid="ignore"):
        assert np.isnan(mg.log(Tensor([-1.0])).item())  # off again after the block


# ---- the custom-op example of docs/design.md ------------------------------------------------

def test_design_doc_custom_op_example_prints_what_the_page_says(capsys):
    page = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()
    fences = re.findall(r"^```(\w*)\n(.*?)^```$", page, re.S | re.M)  # (language, body) pairs
    examples = [(body, fences[i + 1][1]) for i, (language, body) in enumerate(fences[:-1])
                if language == "python" and "class LeakyReLU" in body
                and fences[i + 1][0] == "text"]
    assert len(examples) == 1, "docs/design.md lost its LeakyReLU example or its output block"
    source, expected = examples[0]
    exec(compile(source, "docs/design.md", "exec"), {"__name__": "design_example"})
    assert capsys.readouterr().out == expected


def test_a_gradient_of_the_wrong_shape_is_refused_even_with_the_right_size():
    class TransposedGradient(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return grad.T  # (3, 2) for an input of shape (2, 3): same size, wrong shape

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"TransposedGradient\.backward returned a gradient "
                                           r"of shape \(3, 2\) for an input of shape \(2, 3\)"):
        TransposedGradient.apply(x).sum().backward()
