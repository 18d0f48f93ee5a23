"""Per-thread engine state: grad mode, anomaly detection and the running module scope.

Each thread has its own copy (as PyTorch's grad mode is thread-local), so `no_grad()` in a
data-loading or evaluation thread never switches recording off in the training thread.
"""
from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "detect_anomaly", "enable_grad", "is_grad_enabled", "module_scope", "no_grad",
    "set_grad_enabled",
]


class ThreadState:
    """One thread's engine state, as plain attributes."""

    __slots__ = ("anomaly", "grad_enabled", "scope", "tracer")

    def __init__(self) -> None:
        self.grad_enabled = True    # record graphs
        self.anomaly = False        # check every forward value and backward gradient for NaN/inf
        self.scope: tuple = ()      # the nn.Modules whose forward is running, outermost first
        self.tracer: Any = None     # minigrad.compile's recorder while it captures a step


def _delegate(name: str) -> property:
    return property(lambda self: getattr(self.s, name),
                    lambda self, value: setattr(self.s, name, value))


class _State(threading.local):
    """`state.grad_enabled` and friends, per thread. The hot paths (every op, every module
    call) read `state.s` once and then plain attributes: one `threading.local` lookup costs
    several dictionary lookups, and an op used to make four."""

    s: ThreadState
    grad_enabled: bool = _delegate("grad_enabled")  # type: ignore[assignment]
    anomaly: bool = _delegate("anomaly")  # type: ignore[assignment]
    scope: tuple = _delegate("scope")  # type: ignore[assignment]
    tracer: Any = _delegate("tracer")

    def __init__(self) -> None:  # runs once in each thread that touches the state
        self.s = ThreadState()


state = _State()


def is_grad_enabled() -> bool:
    """Whether ops record a graph in this thread."""
    return state.grad_enabled


class _Mode:
    """A context manager that is also a decorator, for functions and generator functions.

    `@no_grad` and `@no_grad()` both work; on a generator function the mode holds while the
    generator runs (around each step), not while it is suspended, as in PyTorch.
    """

    enabled = True

    def __new__(cls, *args: Any) -> Any:
        self = super().__new__(cls)
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            return self.__call__(args[0])   # used bare: @no_grad
        return self

    def __enter__(self) -> None:
        self._previous = state.grad_enabled
        state.grad_enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        state.grad_enabled = self._previous

    def _fresh(self) -> _Mode:
        """A new manager with the same mode: one object per entry keeps entries independent."""
        return _fixed_mode(self.enabled)

    def __call__(self, fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(*args: Any, **kwargs: Any) -> Any:
                return (yield from _stepped(self, fn(*args, **kwargs)))
            return generator

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)
        return wrapper


def _stepped(mode: _Mode, gen: Any) -> Any:
    """Drive `gen` with the mode on during each of its steps and off while it is suspended."""
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            with mode._fresh():
                value = gen.throw(thrown) if thrown is not None else gen.send(sent)
        except StopIteration as stop:
            return stop.value
        thrown = None
        try:
            sent = yield value
        except GeneratorExit:
            with mode._fresh():
                gen.close()
            raise
        except BaseException as err:  # noqa: BLE001  (thrown into us: pass it into the generator)
            thrown = err


class no_grad(_Mode):
    """Inside it, ops record no graph: results do not require grad."""

    enabled = False


class enable_grad(_Mode):
    """Switch graph recording back on inside a `no_grad` block."""

    enabled = True


def _fixed_mode(enabled: bool) -> _Mode:
    return no_grad() if not enabled else enable_grad()


class set_grad_enabled(_Mode):
    """`set_grad_enabled(mode)`: as a call, sets the mode now; as a context manager, for the
    block; as a decorator, for each call of the function (and not at decoration time)."""

    def __new__(cls, mode: bool) -> Any:
        return object.__new__(cls)

    def __init__(self, mode: bool) -> None:
        self.enabled = bool(mode)
        self._previous = state.grad_enabled
        state.grad_enabled = self.enabled

    def __enter__(self) -> None:
        pass  # __init__ already switched

    def __call__(self, fn: Callable) -> Callable:
        state.grad_enabled = self._previous  # decorating must not change the current mode
        return super().__call__(fn)


class detect_anomaly:
    """Check every op's forward output and backward gradients for NaN/inf, naming the op."""

    def __enter__(self) -> None:
        self._previous = state.anomaly
        state.anomaly = True

    def __exit__(self, *exc: object) -> None:
        state.anomaly = self._previous


class module_scope:
    """Record that the ops run inside belong to `module` (nn.Module.__call__ uses it)."""

    __slots__ = ("_previous", "module")

    def __init__(self, module: Any) -> None:
        self.module = module

    def __enter__(self) -> None:
        self._previous = state.scope
        state.scope = self._previous + (self.module,)

    def __exit__(self, *exc: object) -> None:
        state.scope = self._previous
