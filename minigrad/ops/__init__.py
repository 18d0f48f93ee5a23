"""Every built-in op: a `Function` subclass per op and a NumPy-named function for each."""
from minigrad.ops.arithmetic import (Add, Div, Mul, Neg, Pow, Sub, add, divide, multiply,
                                     negative, power, subtract)
from minigrad.ops.compare import (equal, greater, greater_equal, less, less_equal, logical_and,
                                  logical_not, logical_or, not_equal)
from minigrad.ops.elementwise import (Abs, Cast, Clip, Exp, Log, Maximum, Minimum, ReLU,
                                      Sigmoid, Softplus, Sqrt, Tanh, Where, cast, clip, exp, log,
                                      maximum, minimum, relu, sigmoid, softplus, sqrt, tanh, where)
from minigrad.ops.linalg import MatMul, matmul
from minigrad.ops.reductions import Max, Mean, Min, Sum, Var, mean, var
from minigrad.ops.shape import (BroadcastTo, Concatenate, ExpandDims, GetItem, IndexAdd, Reshape,
                                Squeeze, Stack, Transpose, broadcast_to, concatenate, expand_dims,
                                getitem, reshape, squeeze, stack, swapaxes, transpose, unsqueeze)
from minigrad.ops.softmax import LogSoftmax, Softmax, log_softmax, softmax

# ops.abs, ops.max, ops.min, ops.sum: kept out of __all__ (a star import must never shadow
# Python's builtins); `name as name` marks them as deliberate re-exports
from minigrad.ops.elementwise import abs as abs  # noqa: A004
from minigrad.ops.reductions import max as max, min as min, sum as sum  # noqa: A004

__all__ = [
    "Abs", "Add", "BroadcastTo", "Cast", "Clip", "Concatenate", "Div", "Exp", "ExpandDims",
    "GetItem", "IndexAdd", "Log", "LogSoftmax", "MatMul", "Max", "Maximum", "Mean", "Min",
    "Minimum", "Mul", "Neg", "Pow", "ReLU", "Reshape", "Sigmoid", "Softmax", "Softplus", "Sqrt",
    "Squeeze", "Stack", "Sub", "Sum", "Tanh", "Transpose", "Var", "Where", "add",
    "broadcast_to", "cast", "clip", "concatenate", "divide", "equal", "exp", "expand_dims",
    "getitem", "greater", "greater_equal", "less", "less_equal", "log", "log_softmax",
    "logical_and", "logical_not", "logical_or", "matmul", "maximum", "mean", "minimum",
    "multiply", "negative", "not_equal", "power", "relu", "reshape", "sigmoid", "softmax",
    "softplus", "sqrt", "squeeze", "stack", "subtract", "swapaxes", "tanh", "transpose",
    "unsqueeze", "var", "where",
]
