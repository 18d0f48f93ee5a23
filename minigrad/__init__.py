"""minigrad: a small reverse-mode automatic differentiation framework on NumPy.

    import minigrad as mg
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == [2., 4.]
"""
from minigrad.tensor import Tensor
from minigrad.autograd import (Function, backward, detect_anomaly, enable_grad, grad,
                               is_grad_enabled, no_grad, once_differentiable, set_grad_enabled,
                               topological_order, unbroadcast)
from minigrad.dtypes import bool_, float32, float64, get_default_dtype, int64, set_default_dtype
from minigrad.creation import (arange, eye, full, manual_seed, ones, ones_like, rand, randn,
                               tensor, zeros, zeros_like)
from minigrad.ops import (abs, add, broadcast_to, cast, clip, concatenate, divide, equal, exp,
                          expand_dims, greater, greater_equal, less, less_equal, log,
                          log_softmax, logical_and, logical_not, logical_or, matmul, max,
                          maximum, mean, min, minimum, multiply, negative, not_equal, power,
                          relu, reshape, sigmoid, softmax, softplus, sqrt, squeeze, stack,
                          subtract, sum, swapaxes, tanh, transpose, unsqueeze, var, where)
from minigrad.gradcheck import GradcheckError, gradcheck, gradgradcheck
from minigrad.serialization import CheckpointError, load, save
from minigrad import autograd, nn, optim  # noqa: E402  (mg.nn and mg.optim, as torch.nn / torch.optim)
from minigrad import data  # noqa: E402  (mg.data, as torch.utils.data)
from minigrad.compile import CaptureError, compile  # noqa: E402  (after nn: its kernels use nn's ops)

__version__ = "0.2.0"

# A star import brings everything above except the names of Python builtins (abs, max, min,
# sum), which `from minigrad import *` must never shadow; use mg.max(...) for those.
__all__ = [
    "Tensor", "Function", "backward", "detect_anomaly", "enable_grad", "grad", "is_grad_enabled",
    "no_grad", "once_differentiable", "set_grad_enabled", "topological_order", "unbroadcast",
    "bool_", "float32", "float64", "get_default_dtype", "int64", "set_default_dtype", "arange",
    "eye", "full", "manual_seed", "ones", "ones_like", "rand", "randn", "tensor", "zeros",
    "zeros_like", "add", "broadcast_to", "cast", "clip", "concatenate", "divide", "equal", "exp",
    "expand_dims", "greater", "greater_equal", "less", "less_equal", "log", "log_softmax",
    "logical_and", "logical_not", "logical_or", "matmul", "maximum", "mean", "minimum",
    "multiply", "negative", "not_equal", "power", "relu", "reshape", "sigmoid", "softmax",
    "softplus", "sqrt", "squeeze", "stack", "subtract", "swapaxes", "tanh", "transpose",
    "unsqueeze", "var", "where", "GradcheckError", "gradcheck", "gradgradcheck", "CheckpointError", "load", "save",
    "CaptureError", "compile", "autograd", "data", "nn", "optim",
]
