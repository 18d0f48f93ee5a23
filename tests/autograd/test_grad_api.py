"""`minigrad.grad` (torch.autograd.grad's semantics), `backward(create_graph=True)`,
`once_differentiable` and their errors."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor


def test_grad_returns_a_tuple_and_touches_no_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0], requires_grad=True)
    out = (x * x * y).sum()
    gx, gy = mg.grad(out, [x, y])
    np.testing.assert_array_equal(gx.data, [6.0, 12.0])
    np.testing.assert_array_equal(gy.data, [5.0])
    assert x.grad is None and y.grad is None and not gx.requires_grad
    with pytest.raises(RuntimeError, match="a second time"):  # retain_graph defaults to False
        mg.grad(out, x)


def test_grad_of_an_intermediate_tensor_and_several_outputs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    a, b = (h * h).sum(), h.sum()
    gh, = mg.grad([a, b], h, retain_graph=True)
    np.testing.assert_array_equal(gh.data, 2 * h.data + 1)
    gh2, = mg.grad([a, b], [h], grad_outputs=[Tensor(2.0), Tensor(0.0)])
    np.testing.assert_array_equal(gh2.data, 4 * h.data)


def test_unused_inputs_raise_unless_allowed():
    x = Tensor([1.0], requires_grad=True, name="x")
    unused = Tensor([1.0, 2.0], requires_grad=True, name="lonely")
    out = (x * 2).sum()
    with pytest.raises(RuntimeError, match=r"input 1 \('lonely', shape \(2,\)\) was not used.*"
                                           r"allow_unused=True"):
        mg.grad(out, [x, unused], retain_graph=True)
    gx, gu = mg.grad(out, [x, unused], allow_unused=True)
    assert gu is None and gx.data.tolist() == [2.0]


def test_bad_arguments_name_the_tensor_shapes_and_fix():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"grad: output 0 has shape \(2,\).*reduce it first"):
        mg.grad(y, x)
    with pytest.raises(ValueError, match=r"grad: the gradient given for output 0 has shape "
                                         r"\(3,\) but the output has shape \(2,\)"):
        mg.grad(y, x, grad_outputs=np.ones(3))
    with pytest.raises(RuntimeError, match=r"grad: input 0 \(shape \(2,\)\) does not require grad"):
        mg.grad(y.sum(), Tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"grad: output 0 .*does not require grad"):
        mg.grad(Tensor([1.0]), x)


def test_backward_create_graph_leaves_a_differentiable_grad():
    x = Tensor([1.0, -2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert isinstance(x.grad, Tensor) and x.grad.requires_grad
    np.testing.assert_array_equal(x.grad.data, 3 * x.data ** 2)
    g = x.grad
    x.grad = None
    (g * g).sum().backward()        # a gradient penalty: d/dx sum(9 x^4) = 36 x^3
    np.testing.assert_allclose(x.grad, 36 * np.array([1.0, -2.0]) ** 3)


def test_plain_backward_keeps_grad_a_numpy_array():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert isinstance(x.grad, np.ndarray) and type(x.grad.data) is np.ndarray


class Cube(mg.Function):
    """x^3; d/dx = 3 x^2, written in NumPy: runs on tensors too."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class ArrayOnly(mg.Function):
    """2x with a backward that only runs on arrays."""

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    @mg.once_differentiable
    def backward(ctx, grad):
        out = np.empty_like(grad)
        np.multiply(grad, 2, out=out)
        return out


def test_user_functions_get_second_derivatives_from_the_same_backward():
    x = Tensor([0.5, -1.0], requires_grad=True)
    assert mg.gradgradcheck(lambda x: Cube.apply(x), [x])
    g, = mg.grad(Cube.apply(x).sum(), x, create_graph=True)
    h, = mg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_once_differentiable_works_once_and_refuses_twice_by_name():
    x = Tensor([1.0, 2.0], requires_grad=True)
    g, = mg.grad(ArrayOnly.apply(x).sum(), x)
    np.testing.assert_array_equal(g.data, [2.0, 2.0])
    with pytest.raises(RuntimeError, match=r"ArrayOnly: its backward is marked "
                                           r"once_differentiable.*create_graph"):
        mg.grad(ArrayOnly.apply(x).sum(), x, create_graph=True)


def test_a_backward_that_cannot_run_on_tensors_says_how_to_fix_it():
    class Sneaky(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * np.cumsum(x)   # not differentiable in minigrad

    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Sneaky.backward failed on tensors.*np.cumsum.*"
                                           r"once_differentiable"):
        mg.grad(Sneaky.apply(x).sum(), x, create_graph=True)


def test_numpy_functions_on_tensors_record_or_refuse():
    x = Tensor([0.5, 1.5], requires_grad=True)
    y = np.exp(x) + np.where(x.data > 1, x, 0.0)      # dispatch to minigrad ops
    assert isinstance(y, Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data) + [0.0, 1.0])
    assert np.allclose(Tensor([1.0, 2.0]), [1.0, 2.0])   # non-differentiable: plain result
    with pytest.raises(TypeError, match=r"np.cumsum on a tensor that requires grad.*detach"):
        np.cumsum(x)
