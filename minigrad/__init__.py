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
from minigrad.ops import (add, broadcast_to, cast, clip, concatenate, divide, equal, exp,
                          expand_dims, greater, greater_equal, less, less_equal, log,
                          log_softmax, logical_and, logical_not, logical_or, matmul, maximum,
                          mean, minimum, multiply, negative, not_equal, power, relu, reshape,
                          sigmoid, softmax, softplus, sqrt, squeeze, stack, subtract, swapaxes,
                          tanh, transpose, unsqueeze, var, where)
# mg.abs, mg.max, mg.min, mg.sum: kept out of __all__ (a star import must never shadow Python's
# builtins); `name as name` marks them as deliberate re-exports for linters and type checkers
from minigrad.ops import abs as abs, max as max, min as min, sum as sum  # noqa: A004
from minigrad.gradcheck import GradcheckError, gradcheck, gradgradcheck
from minigrad.serialization import CheckpointError, load, save
from minigrad import autograd, nn, optim
from minigrad import data
# after nn: its kernels use nn's ops; mg.compile, like mg.sum, is a deliberate re-export
from minigrad.compile import CaptureError, compile as compile  # noqa: A004

__version__ = "0.2.0"

# A star import brings everything above except the names of Python builtins (abs, max, min,
# sum, and compile), which `from minigrad import *` must never shadow; use mg.max(...) for those.
__all__ = [
    "CaptureError",
    "CheckpointError", "Function", "GradcheckError", "Tensor", "add", "arange", "autograd",
    "backward", "bool_", "broadcast_to", "cast", "clip", "concatenate", "data",
    "detect_anomaly", "divide", "enable_grad", "equal", "exp", "expand_dims", "eye", "float32",
    "float64", "full", "get_default_dtype", "grad", "gradcheck", "gradgradcheck", "greater",
    "greater_equal", "int64", "is_grad_enabled", "less", "less_equal", "load", "log",
    "log_softmax", "logical_and", "logical_not", "logical_or", "manual_seed", "matmul",
    "maximum", "mean", "minimum", "multiply", "negative", "nn", "no_grad", "not_equal",
    "once_differentiable", "ones", "ones_like", "optim", "power", "rand", "randn", "relu",
    "reshape", "save", "set_default_dtype", "set_grad_enabled", "sigmoid", "softmax",
    "softplus", "sqrt", "squeeze", "stack", "subtract", "swapaxes", "tanh", "tensor",
    "topological_order", "transpose", "unbroadcast", "unsqueeze", "var", "where", "zeros",
    "zeros_like",
]
