"""The ``Optimizer`` base class: parameter groups, per-parameter state, save and load.

Modelled on ``torch.optim.Optimizer``. A *parameter* is any tensor-like object with a
``.data`` ndarray (updated in place by ``step``), a ``.grad`` attribute (an ndarray or
``None``) and a ``.requires_grad`` flag. Parameters are keyed by identity.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numbers

import numpy as np

from minigrad.autograd.versions import clock
from minigrad.tensor import Tensor
from minigrad.autograd.grad_mode import state as _grad_mode

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of all optimisers.

    Parameters
    ----------
    params : iterable
        Parameters, or dicts defining parameter groups. A group dict holds the key
        ``"params"`` plus any options that override ``defaults`` for that group.
    defaults : dict
        Default value of every option, used where a group does not set it.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (a list) and a value for every option.
    state : dict
        Parameter -> dict of that parameter's state (buffers, step count).
    defaults : dict
    """

    def __init__(self, params: Iterable[Any], defaults: dict) -> None:
        self.defaults = dict(defaults)
        self._check_options(self.defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Any, dict[str, Any]] = {}  # parameter -> its named buffers

        if callable(getattr(params, "parameters", None)):
            # a PyTorch habit: optim.SGD(model, ...) instead of optim.SGD(model.parameters(), ...)
            raise TypeError(f"{type(self).__name__}: got the {type(params).__name__} module itself; "
                            f"pass its parameters instead: {type(self).__name__}(model.parameters(), ...)")
        if _is_param(params) or isinstance(params, (dict, str)):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of parameters or of dicts, "
                            f"but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: {_SET_MESSAGE}")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        """Add a group of parameters, e.g. layers unfrozen during fine-tuning.

        ``group`` is a dict with key ``"params"``; options it leaves out are taken
        from ``defaults``.
        """
        if not isinstance(group, dict):
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f'{type(self).__name__}: a parameter group must have the key "params"')
        params = group["params"]
        if _is_param(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{type(self).__name__}: {_SET_MESSAGE}")
        params = list(params)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not _is_param(p):
                raise TypeError(f"{type(self).__name__}: an optimizer can only update parameters (objects with a "
                                ".data ndarray, .grad and .requires_grad), "
                                f"but got {type(p).__name__}")
            if not np.issubdtype(p.data.dtype, np.floating):
                raise TypeError(f"{type(self).__name__}: an optimizer can only update floating-point parameters, "
                                f"but got one of dtype {p.data.dtype}")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter appears more than once in the optimizer's "
                                 "parameter groups")
            seen.add(id(p))

        new_group = {**self.defaults, **group, "params": params}
        self._check_options(new_group)
        self.param_groups.append(new_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: set them to None, or (``set_to_none=False``) fill them
        with zeros in place."""
        if _grad_mode.s.tracer is not None:  # minigrad.compile is capturing: it notes the reset
            _grad_mode.s.tracer.zero_grad([p for g in self.param_groups for p in g["params"]],
                                        set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p._grad = None
                elif p.grad is not None:
                    p.grad.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. ``closure``, if given, is called
        first and its result (the loss) returned."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def replay_kernel(self) -> Callable[[], None]:
        """What `minigrad.compile` runs to replay this optimiser's update: by default `step`
        itself, which reads the gradients, options and state afresh on every call."""
        return self.step

    def _check_options(self, options: dict) -> None:
        """Raise ValueError if an option value is invalid. Subclasses override."""

    def _check_grad(self, p: Any) -> None:
        """Raise ValueError naming the parameter if ``p.grad`` does not have ``p``'s shape
        (a gradient written by hand, not by backward), instead of a raw broadcasting error."""
        grad = p.grad
        if getattr(grad, "shape", None) == p.data.shape:
            return
        where = next(f"parameter {i} of group {g}" for g, group in enumerate(self.param_groups)
                     for i, q in enumerate(group["params"]) if q is p)
        name = getattr(p, "name", None)
        label = f"{name!r} ({where})" if name else where
        raise ValueError(f"{type(self).__name__}.step: {label} has shape {p.data.shape} but its .grad "
                         f"has shape {getattr(grad, 'shape', type(grad).__name__)}; a gradient must "
                         f"have its parameter's shape (set it with backward(), or assign an array "
                         f"of shape {p.data.shape})")

    def _check_state(self, where: str, state: dict, param: Any) -> None:
        """Raise ValueError if one parameter's loaded (non-empty) state cannot be used by
        ``step()``; ``where`` names it (``"state[0]"``). Called by ``load_state_dict``
        for every parameter before anything changes. Subclasses override."""

    def state_dict(self) -> dict:
        """The optimiser's options and state, with parameters replaced by indices.

        Returns ``{"state": {index: {name: value}}, "param_groups": [group, ...]}``,
        where parameters are numbered 0, 1, ... in order across the groups and each
        group lists the indices of its parameters under ``"params"``. Arrays are copies.
        """
        index: dict[int, int] = {}  # id(parameter) -> its number
        groups = []
        for group in self.param_groups:
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(saved)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {k: _copy(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state saved by ``state_dict()`` (copies are taken).

        The saved groups must match this optimiser's groups in number and size, and
        every saved array must have its parameter's shape; otherwise ValueError, and
        nothing is changed.
        """
        owner = type(self).__name__
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            got = type(state_dict).__name__ if not isinstance(state_dict, dict) \
                else f"keys {sorted(map(str, state_dict))}"
            raise ValueError(f'{owner}: a state dict must be a dict with keys "state" and '
                             f'"param_groups" (as returned by state_dict()), got {got}')
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)):
            raise ValueError(f'{owner}: the state dict\'s "param_groups" must be a list, '
                             f"got {type(saved_groups).__name__}")
        if not isinstance(saved_state, dict):
            raise ValueError(f'{owner}: the state dict\'s "state" must be a dict from parameter '
                             f"index to that parameter's state, got {type(saved_state).__name__}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{owner}: loaded state dict has {len(saved_groups)} parameter groups, "
                             f"but the optimizer has {len(self.param_groups)}")

        param_of: dict[Any, Any] = {}  # saved index -> our parameter
        new_groups = []
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
                raise ValueError(f'{owner}: parameter group {i} of the loaded state dict is not a '
                                 'dict with the key "params" (a list of parameter indices)')
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{owner}: parameter group {i} has {len(saved['params'])} parameters "
                                 f"in the loaded state dict, but {len(group['params'])} in "
                                 "the optimizer")
            missing = [k for k in self.defaults if k not in saved]
            if missing:
                raise ValueError(f"{owner}: parameter group {i} of the loaded state dict has no "
                                 f"{missing[0]!r} (options {sorted(k for k in saved if k != 'params')}"
                                 f"); it was probably saved by another optimizer class")
            for index in saved["params"]:
                if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                        or index in param_of:
                    raise ValueError(f"{owner}: parameter group {i} of the loaded state dict lists "
                                     f"the parameter index {index!r}, which is not an int or "
                                     "appears twice")
                param_of[index] = None
            param_of.update(zip(saved["params"], group["params"]))
            options = {k: v for k, v in saved.items() if k != "params"}
            new_group = {**self.defaults, **options, "params": group["params"]}
            self._check_options(new_group)
            new_groups.append(new_group)

        new_state = {}
        for key, values in saved_state.items():
            if key not in param_of:
                raise ValueError(f"{type(self).__name__}: loaded state dict has state for parameter {key!r}, "
                                 "which is in none of its parameter groups")
            p = param_of[key]
            if not isinstance(values, dict):
                raise ValueError(f"{owner}: state[{key!r}] of the loaded state dict must be a dict "
                                 f"of named buffers, got {type(values).__name__}")
            for name, value in values.items():
                if isinstance(value, np.ndarray) and value.shape != p.data.shape:
                    raise ValueError(f"{type(self).__name__}: state {name!r} of parameter {key} has shape "
                                     f"{value.shape} in the loaded state dict, but the "
                                     f"parameter has shape {p.data.shape}")
                if isinstance(value, np.ndarray) and not (np.issubdtype(value.dtype, np.number)
                                                          and np.isrealobj(value)):
                    raise ValueError(f"{owner}: state[{key!r}][{name!r}] has dtype {value.dtype}; "
                                     "optimizer state arrays must be real numbers")
            if values:
                self._check_state(f"state[{key!r}]", values, p)
            new_state[p] = {name: np.array(value, dtype=p.data.dtype)
                            if isinstance(value, np.ndarray) else value
                            for name, value in values.items()}

        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        lines.append(")")
        return "\n".join(lines)


_SET_MESSAGE = ("optimizer parameters must be given in an ordered collection such as a "
                "list, not a set: a set's order changes between runs")


def _is_param(obj: Any) -> bool:
    return (isinstance(getattr(obj, "data", None), np.ndarray)
            and hasattr(obj, "grad") and hasattr(obj, "requires_grad"))


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def check_real(owner: str, name: str, value: Any) -> None:
    """Raise TypeError unless ``value`` is a real number (bool excluded)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, "
                        f"got {type(value).__name__}")


def check_non_negative(owner: str, name: str, value: Any) -> None:
    """Raise (Type|Value)Error unless ``value`` is a real number >= 0."""
    check_real(owner, name, value)
    if not value >= 0:
        raise ValueError(f"{owner}: invalid {name} {value}: must be >= 0")


def effective_grad(p: Any, weight_decay: float, maximize: bool, owner: Any = None) -> tuple:
    """``+-p.grad + weight_decay * p.data`` (sign - when maximising).

    Allocates at most one new array, and none when there is nothing to add or negate.
    Never writes to ``p.grad``. Returns ``(g, owned)``: ``owned`` is True when ``g`` is
    a fresh array the caller may overwrite.
    """
    grad = p._grad  # a plain array is the engine's, at p's shape (see grad_array.py)
    if type(grad) is not np.ndarray:  # assigned or read as p.grad; a Tensor after create_graph
        # np.asarray gives a GradArray's plain ndarray view (C-level: cheaper than .data)
        grad = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
        if grad.shape != p.data.shape and owner is not None:
            owner._check_grad(p)  # raises, naming the parameter and both shapes
    # the caller is about to change p in place: a graph that saved p must notice (clock.tick,
    # spelled out as it runs for every parameter on every step)
    clock.now += 1
    p._version = clock.now
    if weight_decay == 0:
        return (-grad, True) if maximize else (grad, False)
    g = p.data * weight_decay
    if maximize:
        g -= grad
    else:
        g += grad
    return g, True


def check_state_keys(owner: str, where: str, state: dict, required: tuple,
                     optional: tuple = ()) -> None:
    """Raise ValueError unless ``state`` has every key of ``required`` and no key outside
    ``required + optional`` (a state saved by another optimizer class fails here)."""
    for key in required:
        if key not in state:
            raise ValueError(f"{owner}: {where} of the loaded state dict has no {key!r} "
                             f"(it has {sorted(map(str, state))}); was it saved by another "
                             "optimizer class?")
    for key in state:
        if key not in required + optional:
            raise ValueError(f"{owner}: {where}[{key!r}] of the loaded state dict is not part of "
                             f"{owner}'s state (which holds {list(required + optional)}); was it "
                             "saved by another optimizer class?")


def check_step(owner: str, where: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is a step count: an integer >= 0."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value < 0:
        raise ValueError(f"{owner}: {where}['step'] must be an integer >= 0 (the number of steps "
                         f"taken), got {value!r}")


def check_buffer(owner: str, where: str, name: str, value: Any, non_negative: bool = False) -> None:
    """Raise ValueError unless ``value`` is an ndarray of finite numbers (>= 0 if asked)."""
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{owner}: {where}[{name!r}] must be an array, got {type(value).__name__}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{owner}: {where}[{name!r}] holds non-finite values")
    if non_negative and np.any(value < 0):
        raise ValueError(f"{owner}: {where}[{name!r}] holds negative values (min "
                         f"{value.min()}), but it is a running average of squares")
