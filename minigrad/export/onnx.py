"""`to_onnx`: write a minigrad model as a standard ONNX file, checked and verified before it lands.

Each module class has a converter in a registry, `{module class: converter}`. A converter
receives the graph being built, the module and the name of its input value, emits ONNX
nodes through `OnnxGraph`, and returns the name of its output value, or a dict
`{output name: value}` when the module is a head whose outputs are the model's named
outputs (GaussianHead gives `mu` and `sigma`). Adding a module is one registration:

    register_onnx(nn.Linear, lambda g, m, x: g.affine(x, m.weight, m.bias, transposed=True))

The `onnx` package is optional (the `export` extra) and is imported only when exporting.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from typing import Any, cast

import numpy as np

import minigrad
from minigrad import nn
from minigrad.tensor import Tensor

DEFAULT_OPSET = 17  # onnxruntime and onnx's reference evaluator both run it
MIN_OPSET = 13      # Gather/MatMul/Relu/Where in the forms used here all exist from 13 on
INPUT_NAME = "input"
OUTPUT_NAME = "output"  # for a model without a head; a head names its own outputs
BATCH = "batch"         # the symbolic name of the dynamic first axis
TOLERANCE = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}


class ExportError(ValueError):
    """The model, the example input or the destination cannot be exported; the message says
    what is wrong and how to fix it."""


# A converter: (graph, module, input value name) -> output value name, or {output name: value}.
Converter = Callable[["OnnxGraph", Any, str], "str | dict[str, str]"]
# How to split minigrad's output of a head into the ONNX outputs it names (used to verify).
OutputSplit = Callable[[np.ndarray], "dict[str, np.ndarray]"]


class _Entry:
    __slots__ = ("convert", "outputs")

    def __init__(self, convert: Converter, outputs: OutputSplit | None) -> None:
        self.convert, self.outputs = convert, outputs


_CONVERTERS: dict[type, _Entry] = {}


def register_onnx(module_class: type, converter: Converter | None = None, *,
                  outputs: OutputSplit | None = None) -> Any:
    """Teach `to_onnx` a module class: `converter(g, module, x)` emits its nodes.

    A head whose converter returns `{name: value}` also passes `outputs`, which splits
    minigrad's output of the module into the same named arrays, so the export can be
    verified. Usable as a decorator (`@register_onnx(MyModule)`). The class must match
    exactly: a subclass may compute something else, so it needs its own entry.
    """
    if not (isinstance(module_class, type) and issubclass(module_class, nn.Module)):
        raise TypeError(f"register_onnx: expected a Module class, got {module_class!r}")

    def add(function: Converter) -> Converter:
        _CONVERTERS[module_class] = _Entry(function, outputs)
        return function

    return add if converter is None else add(converter)


def unregister_onnx(module_class: type) -> None:
    """Forget the converter of `module_class` (no error if it has none)."""
    _CONVERTERS.pop(module_class, None)


def supported_modules() -> list[str]:
    """The names of the module classes `to_onnx` can export, sorted."""
    return sorted(cls.__name__ for cls in _CONVERTERS)


def _require_onnx() -> Any:
    try:
        import onnx
        import onnx.reference
    except ImportError:
        raise ImportError(
            "minigrad.export.to_onnx needs the onnx package, an optional extra: "
            "pip install 'minigrad-numpy[export]' (or pip install onnx)"
        ) from None
    return onnx


class OnnxGraph:
    """The graph under construction: nodes, initializers (the weights, under their
    parameter names) and unique value names. Converters call its methods."""

    def __init__(self, onnx: Any, dtype: np.dtype, paths: Mapping[int, str]) -> None:
        self.onnx, self.dtype = onnx, np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self.split: OutputSplit | None = None  # set by the head that names the outputs
        self._paths = paths   # id(module) -> its dotted path in the model, for node names
        self._scope = ""
        self._used: set = {INPUT_NAME}
        self._weights: dict = {}    # id(parameter) -> initializer name (shared weights once)
        self._constants: dict = {}  # (dtype, value) -> initializer name
        self._producer: dict = {}   # value name -> the node that outputs it

    # ---- names and values --------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        """A value name not used yet, built from `hint`."""
        name, n = hint, 1
        while name in self._used:
            n += 1
            name = f"{hint}_{n}"
        self._used.add(name)
        return name

    def weight(self, parameter: Any) -> str:
        """The initializer holding `parameter` (a Parameter or array), named by its dotted
        parameter name so that a viewer such as Netron shows `0.layers.0.weight`."""
        key = id(parameter)
        if key not in self._weights:
            data = parameter.data if isinstance(parameter, Tensor) else np.asarray(parameter)
            label = getattr(parameter, "name", None) or f"{self._scope or 'param'}.weight"
            name = self.fresh(label)
            self.initializers.append(
                self.onnx.numpy_helper.from_array(np.ascontiguousarray(data), name))
            self._weights[key] = name
        return self._weights[key]

    def constant(self, value: float, dtype: Any = None) -> str:
        """A scalar initializer, in the graph's float dtype unless `dtype` says otherwise."""
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        key = (dtype.str, value)
        if key not in self._constants:
            name = self.fresh(f"const_{value:g}")
            self.initializers.append(
                self.onnx.numpy_helper.from_array(np.array(value, dtype=dtype), name))
            self._constants[key] = name
        return self._constants[key]

    def array(self, values: Any, hint: str) -> str:
        """A constant array initializer (index tables, masks), kept in its own dtype and
        named `{scope}.{hint}`; each call stores a new one."""
        name = self.fresh(f"{self._scope}.{hint}" if self._scope else hint)
        self.initializers.append(
            self.onnx.numpy_helper.from_array(np.ascontiguousarray(values), name))
        return name

    def op(self, op_type: str, inputs: list, **attributes: Any) -> str:
        """Append one node; returns the name of its (single) output value."""
        out = self.fresh(f"{self._scope}/{op_type}" if self._scope else op_type)
        node = self.onnx.helper.make_node(op_type, list(inputs), [out], name=out, **attributes)
        self.nodes.append(node)
        self._producer[out] = node
        return out

    # ---- building blocks shared by converters ------------------------------------------
    def affine(self, x: str, weight: Any, bias: Any = None, transposed: bool = False) -> str:
        """x @ W + b. W is (in, out) as in Dense; `transposed=True` takes (out, in) as in
        PyTorch's nn.Linear and inserts a Transpose node, so the stored weight keeps its shape."""
        w = self.weight(weight)
        if transposed:
            w = self.op("Transpose", [w], perm=[1, 0])
        y = self.op("MatMul", [x, w])
        return y if bias is None else self.op("Add", [y, self.weight(bias)])

    def sigmoid(self, x: str) -> str:
        """sigmoid(x) as (1 + tanh(x/2)) / 2, the formula minigrad computes (never overflows)."""
        half = self.constant(0.5)
        t = self.op("Tanh", [self.op("Mul", [x, half])])
        return self.op("Add", [self.op("Mul", [t, half]), half])

    def log1p(self, u: str) -> str:
        """log(1 + u) accurate for small u, which ONNX lacks: with w = 1 + u rounded,
        log1p(u) = log(w) * u / (w - 1), or u itself when w rounds to 1 (Goldberg's trick)."""
        w = self.op("Add", [self.constant(1.0), u])
        d = self.op("Sub", [w, self.constant(1.0)])
        tiny = self.op("Equal", [d, self.constant(0.0)])
        # divide by 1 where w rounded to 1, so no 0/0 arises; those lanes take u instead
        safe = self.op("Where", [tiny, self.constant(1.0), d])
        ratio = self.op("Div", [self.op("Mul", [self.op("Log", [w]), u]), safe])
        return self.op("Where", [tiny, u, ratio])

    def softplus(self, x: str) -> str:
        """softplus(x) = log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), the form of NumPy's
        logaddexp(x, 0) that minigrad uses: no overflow, and exact for very negative x.
        ONNX's own Softplus is avoided: onnxruntime has no float64 kernel for it, and the
        reference evaluator computes log(exp(x) + 1), which overflows and loses small values."""
        decay = self.op("Exp", [self.op("Neg", [self.op("Abs", [x])])])
        return self.op("Add", [self.op("Relu", [x]), self.log1p(decay)])

    def pick(self, x: str, index: int) -> str:
        """x[..., index]: the last axis dropped."""
        return self.op("Gather", [x, self.constant(index, np.int64)], axis=-1)

    # ---- walking the model -------------------------------------------------------------
    def convert(self, module: Any, x: str) -> str | dict[str, str]:
        """Emit `module`'s nodes on input value `x` through its registered converter."""
        entry = _CONVERTERS.get(type(module))
        if entry is None:
            path = self._paths.get(id(module))
            where = f" (at {path!r})" if path else ""
            raise ExportError(
                f"to_onnx: cannot export module {type(module).__name__}{where}: no ONNX "
                f"converter is registered for it. Supported: {', '.join(supported_modules())}. "
                f"Register one with minigrad.export.register_onnx({type(module).__name__}, "
                f"converter) (see docs/exporting.md)"
            )
        outer = self._scope
        self._scope = self._paths.get(id(module)) or type(module).__name__
        try:
            result = entry.convert(self, module, x)
        finally:
            self._scope = outer
        if isinstance(result, dict) and entry.outputs is not None:
            self.split = entry.outputs  # containers pass the head's outputs up unchanged
        return result

    def rename(self, value: str, name: str) -> None:
        """Make the graph produce `value` under `name` (an output name)."""
        node = self._producer.get(value)
        if node is None or name in self._used:  # a graph input or a value already renamed
            self.nodes.append(self.onnx.helper.make_node("Identity", [value], [name],
                                                         name=f"{name}/Identity"))
            return
        node.output[0] = name
        for other in self.nodes:
            for i, source in enumerate(other.input):
                if source == value:
                    other.input[i] = name
        self._used.add(name)
        del self._producer[value]


# ---- the converters of the built-in modules ---------------------------------------------

def identity(g: OnnxGraph, module: Any, x: str) -> str:
    """Converter of a module that is the identity at inference (e.g. Dropout)."""
    return x


def _sequential(g: OnnxGraph, module: Any, x: Any) -> Any:
    children = list(module)
    for i, child in enumerate(children):
        x = g.convert(child, x)
        if isinstance(x, dict) and i < len(children) - 1:
            raise ExportError(
                f"to_onnx: {type(child).__name__} gives the model's named outputs "
                f"({', '.join(x)}) and must be the last module, but "
                f"{type(children[i + 1]).__name__} follows it"
            )
    return x


def _gaussian_head(g: OnnxGraph, module: Any, x: str) -> dict:
    # mu = raw[..., 0]; sigma = softplus(raw[..., 1]) + min_sigma, as GaussianParams computes
    raw = cast(str, g.convert(module.linear, x))  # a linear layer gives one value
    sigma = g.op("Add", [g.softplus(g.pick(raw, 1)), g.constant(module.min_sigma)])
    return {"mu": g.pick(raw, 0), "sigma": sigma}


def _mu_sigma(y: np.ndarray) -> dict:
    return {"mu": y[..., 0], "sigma": y[..., 1]}


register_onnx(nn.Sequential, _sequential)
register_onnx(nn.MLP, lambda g, m, x: _sequential(g, m.layers, x))
register_onnx(nn.Dense, lambda g, m, x: g.affine(x, m.weight, m.bias))
register_onnx(nn.Tanh, lambda g, m, x: g.op("Tanh", [x]))
register_onnx(nn.ReLU, lambda g, m, x: g.op("Relu", [x]))
register_onnx(nn.Sigmoid, lambda g, m, x: g.sigmoid(x))
register_onnx(nn.Softplus, lambda g, m, x: g.softplus(x))
register_onnx(nn.GaussianHead, _gaussian_head, outputs=_mu_sigma)
register_onnx(nn.Linear, lambda g, m, x: g.affine(x, m.weight, m.bias, transposed=True))
register_onnx(nn.Dropout, identity)  # the identity at inference, which is what is exported


# ---- checks on what the user passed ------------------------------------------------------

def _model_dtype(model: Any, example: np.ndarray) -> np.dtype:
    dtypes = {p.data.dtype for p in model.parameters()}
    if len(dtypes) > 1:
        raise ExportError(
            f"to_onnx: the model mixes parameter dtypes ({', '.join(sorted(map(str, dtypes)))}); "
            f"an ONNX graph has one: build the model in a single dtype"
        )
    dtype = dtypes.pop() if dtypes else example.dtype
    if dtype not in TOLERANCE:
        raise ExportError(f"to_onnx: only float32 and float64 models export, this one is {dtype}")
    return np.dtype(dtype)


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise ExportError(f"to_onnx: expected a minigrad nn.Module, got {type(model).__name__}")
    for name, p in model.named_parameters():
        if p is None or p.data is None or p.data.size == 0:
            raise ExportError(
                f"to_onnx: parameter {name!r} has no values yet: the model is only partly "
                f"built; run it once or load its weights before exporting"
            )
        if not np.isfinite(p.data).all():
            raise ExportError(
                f"to_onnx: parameter {name!r} holds inf or NaN (did training diverge?); "
                f"export a model whose weights are finite"
            )
    for path, module in model.named_modules():
        if isinstance(module, nn.Sequential) and len(module) == 0:
            raise ExportError(
                f"to_onnx: the Sequential at {path or 'the root'!r} is empty: the model is "
                f"only partly built; append its modules before exporting"
            )


def _check_example(example_input: Any) -> np.ndarray:
    data = example_input.data if isinstance(example_input, Tensor) else example_input
    try:
        data = np.asarray(data)
    except (TypeError, ValueError) as err:
        raise ExportError(f"to_onnx: the example input is not an array ({err})") from None
    if data.dtype.kind != "f":
        raise ExportError(
            f"to_onnx: the example input has dtype {data.dtype}; pass floating-point data "
            f"in the model's dtype, e.g. x.astype(np.float64)"
        )
    if data.ndim < 2 or data.shape[0] < 1:
        raise ExportError(
            f"to_onnx: the example input has shape {data.shape}; it needs a batch axis first, "
            f"(batch, features), e.g. x[None] for one row"
        )
    return data


def _check_destination(path: Any) -> str:
    try:
        path = os.fspath(path)
    except TypeError:
        raise ExportError(f"to_onnx: path must be a file name, got {type(path).__name__}") from None
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ExportError(f"to_onnx: {path!r} is a folder; give a file name such as model.onnx")
    if not os.path.isdir(folder):
        raise ExportError(
            f"to_onnx: cannot write {path!r}: the folder {folder!r} does not exist; create it first"
        )
    if not os.access(folder, os.W_OK):
        raise ExportError(f"to_onnx: cannot write {path!r}: the folder {folder!r} is not writable")
    return path


def _reference_outputs(model: Any, example: np.ndarray) -> Any:
    """minigrad's output on the example, in eval mode and without a graph."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()  # export describes inference (Dropout off)
    try:
        with minigrad.no_grad():
            out = model(Tensor(example))
    except (ValueError, TypeError) as err:
        raise ExportError(
            f"to_onnx: the example input of shape {example.shape} and dtype {example.dtype} "
            f"does not fit the model: {err}"
        ) from None
    finally:
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
    # a head may return several tensors (MultivariateGaussianHead gives (mu, L))
    return tuple(o.data for o in out) if isinstance(out, tuple) else out.data


# ---- the export ---------------------------------------------------------------------------

def to_onnx(model: Any, example_input: Any, path: Any, opset: int | None = None, *,
            metadata: Mapping[str, str] | None = None) -> Any:
    """Write `model` to `path` as an ONNX model and return the `onnx.ModelProto`.

    The graph has one input `input` of shape (batch, *example_input.shape[1:]) with a dynamic
    batch axis. A model ending in a head has the head's named outputs: `mu` and `sigma` (each
    shaped like the input without its last axis) for a GaussianHead; `logits`, `mu`, `sigma`
    (each (..., K)) for a GaussianMixtureHead; `mu` (..., D) and `L` (..., D, D) for a
    MultivariateGaussianHead. Any other model has one output `output`. The dtype is the
    model's (float32 or float64). The weights are stored under their parameter names.

    Before the file is written, the model passes `onnx.checker.check_model(full_check=True)`
    and ONNX's reference evaluator must reproduce minigrad's outputs on `example_input` to
    1e-12 (float64) or 1e-6 (float32). The file appears complete or not at all: it is written
    beside `path` under a temporary name, then renamed. `opset` defaults to 17 (13 is the
    least); `metadata` becomes the model's metadata_props (strings).
    """
    onnx = _require_onnx()
    _check_model(model)
    example = _check_example(example_input)
    dtype = _model_dtype(model, example)
    if example.dtype != dtype:
        raise ExportError(
            f"to_onnx: the example input is {example.dtype} but the model is {dtype}; "
            f"pass x.astype(np.{dtype}) (the exported graph takes the model's dtype)"
        )
    path = _check_destination(path)
    opset = _check_opset(onnx, opset)
    expected = _reference_outputs(model, example)

    paths = {id(m): p for p, m in model.named_modules()}
    g = OnnxGraph(onnx, dtype, paths)
    result = g.convert(model, INPUT_NAME)
    if isinstance(result, dict):
        outputs = dict(result)
        if g.split is None:
            raise ExportError(
                f"to_onnx: a converter returned the named outputs {', '.join(result)} but was "
                f"registered without outputs=, the function that splits minigrad's output "
                f"into them; pass it to register_onnx"
            )
        expected = {name: np.asarray(v) for name, v in g.split(expected).items()}
    elif isinstance(expected, tuple):
        raise ExportError(
            f"to_onnx: the model returns {len(expected)} tensors, but its last converter gave "
            f"one ONNX value; a module with several outputs needs a converter that returns "
            f"{{output name: value}} and registers outputs= (see docs/exporting.md)"
        )
    else:
        outputs, expected = {OUTPUT_NAME: result}, {OUTPUT_NAME: expected}
    for name, value in outputs.items():
        g.rename(value, name)

    proto = _assemble(onnx, g, model, example, expected, opset, metadata)
    _verify(onnx, proto, example, expected, dtype)
    _write_atomically(proto.SerializeToString(), path)
    return proto


def _check_opset(onnx: Any, opset: int | None) -> int:
    latest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, latest)
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool) \
            or not MIN_OPSET <= opset <= latest:
        raise ExportError(
            f"to_onnx: opset must be an integer from {MIN_OPSET} to {latest} (the newest this "
            f"onnx package knows), got {opset!r}; leave it out for {DEFAULT_OPSET}"
        )
    return int(opset)


def _assemble(onnx: Any, g: OnnxGraph, model: Any, example: np.ndarray, expected: dict,
              opset: int, metadata: Mapping[str, str] | None) -> Any:
    helper = onnx.helper
    elem = helper.np_dtype_to_tensor_dtype(g.dtype)
    inputs = [helper.make_tensor_value_info(INPUT_NAME, elem, [BATCH, *example.shape[1:]])]
    outputs = [helper.make_tensor_value_info(name, elem, [BATCH, *value.shape[1:]])
               for name, value in expected.items()]
    graph = helper.make_graph(g.nodes, type(model).__name__, inputs, outputs,
                              initializer=g.initializers, doc_string=repr(model))
    opsets = [helper.make_opsetid("", opset)]
    # the oldest IR version that carries this opset, so that older runtimes load the file
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="minigrad",
                              producer_version=minigrad.__version__,
                              ir_version=helper.find_min_ir_version_for(opsets))
    if metadata:
        helper.set_model_props(proto, {str(k): str(v) for k, v in metadata.items()})
    return proto


def _verify(onnx: Any, proto: Any, example: np.ndarray, expected: dict, dtype: np.dtype) -> None:
    """Check the model, then run it in ONNX's reference evaluator against minigrad."""
    from onnx.reference import ReferenceEvaluator

    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as err:
        raise ExportError(f"to_onnx: the built model fails onnx.checker ({err}); this is a "
                          f"bug in a converter, please report it") from None
    got = ReferenceEvaluator(proto).run(None, {INPUT_NAME: example})
    tol = TOLERANCE[dtype]
    for (name, want), have in zip(expected.items(), got):
        if have.shape != want.shape or not np.allclose(have, want, rtol=tol, atol=tol):
            diff = (np.max(np.abs(have - want)) if have.shape == want.shape
                    else f"shape {have.shape} vs {want.shape}")
            raise ExportError(
                f"to_onnx: output {name!r} of the ONNX graph differs from minigrad's on the "
                f"example input (largest difference {diff}, tolerance {tol}); a converter does "
                f"not match its module, please report it"
            )


def _write_atomically(data: bytes, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                             dir=folder)
    except OSError as err:
        raise ExportError(f"to_onnx: cannot write {path!r}: {err.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException as err:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(err, OSError):
            raise ExportError(f"to_onnx: cannot write {path!r}: {err}") from None
        raise


def max_difference(a: Any, b: Any) -> float:
    """The largest |a - b| over all elements, in float64 (for reports and tests)."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)),
                        initial=0.0))


__all__ = [
    "DEFAULT_OPSET", "MIN_OPSET", "ExportError", "OnnxGraph", "identity", "max_difference",
    "register_onnx", "supported_modules", "to_onnx", "unregister_onnx",
]

