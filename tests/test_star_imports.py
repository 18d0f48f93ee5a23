"""`from minigrad... import *` never shadows a Python builtin, and brings the public names.

Every module of the package defines `__all__`; the names a star import brings are exactly
those, each exists, and none is a builtin's name (mg.sum, mg.max, mg.min and mg.abs stay
reachable through the module).
"""
from __future__ import annotations

import builtins
import importlib
import pkgutil

import pytest

import minigrad

MODULES = sorted(info.name for info in pkgutil.walk_packages(minigrad.__path__, "minigrad."))


def star_import(module: str) -> dict:
    """The namespace a fresh `from <module> import *` leaves behind."""
    namespace: dict = {}
    exec(f"from {module} import *", namespace)
    namespace.pop("__builtins__")
    return namespace


def test_every_module_of_the_package_is_checked() -> None:
    assert len(MODULES) >= 45
    for name in ("minigrad.nn.functional", "minigrad.ops.reductions", "minigrad.optim.sgd",
                 "minigrad.export.torch", "minigrad.autograd.engine", "minigrad.data"):
        assert name in MODULES


@pytest.mark.parametrize("module", ["minigrad", *MODULES])
def test_a_star_import_brings_its_all_and_no_builtin(module: str) -> None:
    mod = importlib.import_module(module)
    assert isinstance(getattr(mod, "__all__", None), list), f"{module} defines no __all__"
    namespace = star_import(module)
    assert sorted(namespace) == sorted(mod.__all__)
    shadowed = sorted(set(namespace) & set(dir(builtins)))
    assert not shadowed, f"`from {module} import *` shadows the builtins {shadowed}"


@pytest.mark.parametrize("module", ["minigrad", "minigrad.nn", "minigrad.optim",
                                    "minigrad.ops", "minigrad.ops.reductions",
                                    "minigrad.ops.elementwise", "minigrad.nn.functional"])
def test_builtins_still_work_after_a_star_import(module: str) -> None:
    namespace = star_import(module)
    code = ("results = (max(3, 4), min(3, 4), sum([1, 2, 3]), abs(-1), round(2.6), "
            "len([1]), pow(2, 3), any([0, 1]), all([1, 1]), list(map(int, '12')))")
    exec(code, namespace)
    assert namespace["results"] == (4, 3, 6, 1, 3, 1, 8, True, True, [1, 2])


def test_the_public_names_arrive() -> None:
    top = star_import("minigrad")
    for name in ("Tensor", "Function", "no_grad", "gradcheck", "tensor", "zeros", "mean",
                 "exp", "nn", "optim", "data", "autograd", "save", "load"):
        assert name in top, name
    assert top["Tensor"] is minigrad.Tensor and top["nn"] is minigrad.nn
    nn = star_import("minigrad.nn")
    for name in ("Module", "Linear", "Dense", "Sequential", "MLP", "Dropout", "GaussianHead",
                 "GaussianKLLoss", "Parameter", "functional", "init", "utils"):
        assert name in nn, name
    optim = star_import("minigrad.optim")
    assert {"Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"} <= set(optim)
    functional = star_import("minigrad.nn.functional")
    assert {"relu", "tanh", "softmax", "linear", "dropout", "mse_loss"} <= set(functional)
    export = star_import("minigrad.export")
    assert {"to_onnx", "to_torch_state_dict", "from_torch_state_dict"} <= set(export)


def test_the_builtin_named_ops_stay_reachable_through_their_module() -> None:
    t = minigrad.Tensor([[1.0, -2.0], [3.0, 4.0]])
    assert minigrad.sum(t).item() == 6.0
    assert minigrad.max(t).item() == 4.0
    assert minigrad.min(t).item() == -2.0
    assert minigrad.abs(t).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert minigrad.ops.sum is minigrad.sum and minigrad.ops.max is minigrad.max
