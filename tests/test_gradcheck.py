"""gradcheck itself: it passes correct gradients, and its failure names the input, the
worst element's index and both values (checked with deliberately wrong Functions)."""
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import Function, GradcheckError, Tensor, gradcheck


class SquareWithWrongGradient(Function):
    """x^2 whose backward claims 3x instead of 2x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x * grad


class SumWithOneWrongElement(Function):
    """sum(x) whose backward doubles the gradient at index (1, 2) only."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return x.sum()

    @staticmethod
    def backward(ctx, grad):
        g = np.full(ctx.shape, grad)
        g[1, 2] *= 2
        return g


def reported_values(message: str) -> tuple:
    """The analytic and finite-difference numbers quoted in a GradcheckError."""
    number = r"(?:np\.float64\()?([-+0-9.e]+)\)?"
    found = re.search(rf"analytic {number}, finite difference {number}", message)
    assert found, message
    return float(found.group(1)), float(found.group(2))


def test_passes_correct_gradients_and_returns_true():
    a = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    b = Tensor(np.linspace(0.5, 2, 3), requires_grad=True)
    assert gradcheck(lambda x, y: (x * y).exp() / y, [a, b]) is True


def test_names_the_worst_index_and_both_values():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"the gradient of input 0, shape \(2, 3\), is wrong "
                                             r"at index \(1, 2\)") as failure:
        gradcheck(SumWithOneWrongElement.apply, [x])
    analytic, numeric = reported_values(str(failure.value))
    assert analytic == pytest.approx(2 * numeric, rel=1e-6)
    assert "eps=1e-06" in str(failure.value)


def test_names_the_input_by_position_and_name():
    constant = Tensor([1.0, 2.0])
    x = Tensor([1.0, -2.0, 0.5], requires_grad=True, name="weights")
    with pytest.raises(GradcheckError, match=r"input 1 \('weights'\), shape \(3,\)") as failure:
        gradcheck(lambda c, t: SquareWithWrongGradient.apply(t).sum() * c, [constant, x])
    analytic, numeric = reported_values(str(failure.value))
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-6)  # 3x against 2x


def test_is_an_assertion_error_so_plain_asserts_read_well():
    assert issubclass(GradcheckError, AssertionError)


def test_tolerances_are_respected():
    class SlightlyOff(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2 * (1 + 1e-4)   # relative error 1e-4

    x = Tensor([1.0, 2.0], requires_grad=True)
    assert gradcheck(SlightlyOff.apply, [x])                    # within rtol=1e-3
    with pytest.raises(GradcheckError):
        gradcheck(SlightlyOff.apply, [x], rtol=1e-6, atol=1e-9)


def test_a_nan_gradient_fails():
    class NanGradient(Function):
        @staticmethod
        def forward(ctx, x):
            return x + 1

        @staticmethod
        def backward(ctx, grad):
            return grad * np.nan

    with pytest.raises(GradcheckError, match=r"analytic (np\.float64\()?nan"):
        gradcheck(NanGradient.apply, [Tensor([1.0], requires_grad=True)])


def test_several_outputs_and_constant_inputs():
    a = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    weights = np.array([0.5, -1.0])                # a plain array: a constant
    assert gradcheck(lambda x, w: (x @ w, (x * x).sum(axis=0)), [a, weights])


def test_checks_float32_inputs_in_float64_and_leaves_inputs_untouched():
    data = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    x = Tensor(data.copy(), requires_grad=True)
    assert gradcheck(lambda t: (t * t * t).sum(), [x])  # float32 differences would be too coarse
    np.testing.assert_array_equal(x.data, data)
    assert x.dtype == np.float32 and x.grad is None


def test_no_input_requiring_grad_raises():
    with pytest.raises(ValueError, match=r"gradcheck: no input requires grad.*requires_grad=True"):
        gradcheck(lambda t: t * 2, [Tensor([1.0])])


def test_fn_must_return_tensors():
    with pytest.raises(TypeError, match=r"gradcheck: fn must return a Tensor or a tuple of Tensors"):
        gradcheck(lambda t: 3.0, [Tensor([1.0], requires_grad=True)])


def test_public_name():
    assert mg.gradcheck is gradcheck and mg.GradcheckError is GradcheckError
