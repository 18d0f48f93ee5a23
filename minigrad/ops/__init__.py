"""Every built-in op: a `Function` subclass per op and a NumPy-named function for each."""
from minigrad.ops.arithmetic import (Add, Div, Mul, Neg, Pow, Sub, add, divide, multiply,
                                     negative, power, subtract)
from minigrad.ops.compare import (equal, greater, greater_equal, less, less_equal, logical_and,
                                  logical_not, logical_or, not_equal)
from minigrad.ops.elementwise import (Abs, Cast, Clip, Exp, Log, Maximum, Minimum, ReLU,
                                      Sigmoid, Softplus, Sqrt, Tanh, Where, abs, cast, clip, exp,
                                      log, maximum, minimum, relu, sigmoid, softplus, sqrt, tanh,
                                      where)
from minigrad.ops.linalg import MatMul, matmul
from minigrad.ops.reductions import Max, Mean, Min, Sum, Var, max, mean, min, sum, var
from minigrad.ops.shape import (BroadcastTo, Concatenate, ExpandDims, GetItem, IndexAdd, Reshape,
                                Squeeze, Stack, Transpose, broadcast_to, concatenate, expand_dims,
                                getitem, reshape, squeeze, stack, swapaxes, transpose, unsqueeze)
from minigrad.ops.softmax import LogSoftmax, Softmax, log_softmax, softmax

# `from minigrad.ops import *` brings the op classes only: the functions named like Python
# builtins (abs, max, min, sum) stay behind their module name.
__all__ = ["Abs", "Add", "BroadcastTo", "Cast", "Clip", "Concatenate", "Div", "Exp", "ExpandDims",
           "GetItem", "IndexAdd", "Log", "LogSoftmax", "MatMul", "Max", "Maximum", "Mean", "Min",
           "Minimum", "Mul", "Neg", "Pow", "ReLU", "Reshape", "Sigmoid", "Softmax", "Softplus",
           "Sqrt", "Squeeze", "Stack", "Sub", "Sum", "Tanh", "Transpose", "Var", "Where"]
