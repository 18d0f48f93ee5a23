"""Every built-in op: a `Function` subclass per op and a NumPy-named function for each."""
from minigrad.ops.arithmetic import (Add, Div, Mul, Neg, Pow, Sub, add, divide, multiply,
                                     negative, power, subtract)
from minigrad.ops.compare import equal, greater, greater_equal, less, less_equal, not_equal
from minigrad.ops.elementwise import (Abs, Clip, Exp, Log, Maximum, Minimum, ReLU, Sigmoid,
                                      Softplus, Sqrt, Tanh, Where, abs, clip, exp, log, maximum,
                                      minimum, relu, sigmoid, softplus, sqrt, tanh, where)
from minigrad.ops.linalg import MatMul, matmul
from minigrad.ops.reductions import Max, Mean, Min, Sum, Var, max, mean, min, sum, var
from minigrad.ops.shape import (BroadcastTo, Concatenate, ExpandDims, GetItem, Reshape, Squeeze,
                                Stack, Transpose, broadcast_to, concatenate, expand_dims,
                                getitem, reshape, squeeze, stack, transpose, unsqueeze)
from minigrad.ops.softmax import LogSoftmax, Softmax, log_softmax, softmax
