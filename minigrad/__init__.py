"""minigrad: a small reverse-mode automatic differentiation framework on NumPy.

    import minigrad as mg
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == [2., 4.]
"""
from minigrad.tensor import Tensor
from minigrad.autograd import (Function, backward, detect_anomaly, enable_grad,
                               is_grad_enabled, no_grad, set_grad_enabled, topological_order,
                               unbroadcast)
from minigrad.dtypes import bool_, float32, float64, get_default_dtype, int64, set_default_dtype
from minigrad.creation import (arange, eye, full, manual_seed, ones, ones_like, rand, randn,
                               tensor, zeros, zeros_like)
from minigrad.ops import (abs, add, broadcast_to, clip, concatenate, divide, equal, exp,
                          expand_dims, greater, greater_equal, less, less_equal, log,
                          log_softmax, matmul, max, maximum, mean, min, minimum, multiply,
                          negative, not_equal, power, relu, reshape, sigmoid, softmax, softplus,
                          sqrt, squeeze, stack, subtract, sum, tanh, transpose, unsqueeze, var,
                          where)
from minigrad.gradcheck import GradcheckError, gradcheck

__version__ = "0.1.0"
from minigrad.serialization import load, save
from minigrad import nn, optim  # noqa: E402  (mg.nn and mg.optim, as torch.nn / torch.optim)
from minigrad import data  # noqa: E402  (mg.data, as torch.utils.data)
