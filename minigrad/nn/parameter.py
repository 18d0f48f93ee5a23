"""`Parameter`: the tensor type a `Module` learns, a float leaf that always requires grad."""
from __future__ import annotations

from typing import Any

from minigrad.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that requires grad and that a `Module` registers when assigned to it.

    Once registered, `.name` holds its dotted path in the module tree (`layers.0.weight`),
    the same name `named_parameters()` and `state_dict()` use.
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None, name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data, dtype=dtype, name=name)
        if self.data.dtype.kind != "f":
            raise TypeError(
                f"Parameter: parameters must be floating point to require grad, got dtype "
                f"{self.data.dtype}; convert first, e.g. Parameter(data.astype(np.float64))"
            )
        self.requires_grad = True

    def __repr__(self) -> str:
        # requires_grad is the rule for parameters: only a frozen one says so
        return self._format("Parameter", [] if self.requires_grad else ["requires_grad=False"])
