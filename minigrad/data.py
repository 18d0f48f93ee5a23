"""Datasets and minibatches, as ``torch.utils.data``: ``TensorDataset`` pairs tensors row by
row, ``DataLoader`` cuts a dataset into (optionally shuffled) batches.

    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True,
                        generator=np.random.default_rng(0))
    for xb, yb in loader:            # xb: (64, ...) rows of x, yb: the matching rows of y
        ...

A *generator* in minigrad is a ``numpy.random.Generator`` (PyTorch's is a
``torch.Generator``): pass ``np.random.default_rng(seed)`` to make the shuffle repeat, or
leave ``generator=None`` to draw from minigrad's own generator, the one
``minigrad.manual_seed`` seeds (as PyTorch draws from its global one).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from minigrad import creation
from minigrad.ops import stack
from minigrad.tensor import Tensor

__all__ = ["DataLoader", "Dataset", "TensorDataset", "default_collate"]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__(i)`` (one sample) and ``__len__``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index)")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__()")


class TensorDataset(Dataset):
    """Sample i is ``(t[i] for t in tensors)``; every tensor has the same first axis.
    Arrays and nested lists are taken as tensors."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        shapes = [t.shape for t in self.tensors]
        if any(len(s) == 0 for s in shapes) or len({s[0] for s in shapes}) != 1:
            raise ValueError(f"TensorDataset: every tensor needs the same first axis (one row "
                             f"per sample), got shapes {', '.join(map(str, shapes))}")

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge a list of samples into one batch, as PyTorch's default collate does: tensors,
    arrays and numbers are stacked along a new first axis into a Tensor (Python floats as
    float64, ints as int64); tuples and lists are collated position by position (giving a
    list), dicts key by key; anything else (e.g. strings) is returned as given (for a
    field of tuple samples, a tuple of its values)."""
    first = batch[0]
    if isinstance(first, Tensor):
        if any(t.requires_grad for t in batch):
            return stack(list(batch))  # keeps the graph, as torch.stack would
        return Tensor._make(np.stack([t.data for t in batch]), False, None)
    if isinstance(first, (np.ndarray, np.generic)) or (
            isinstance(first, numbers.Number) and not isinstance(first, bool)):
        # np.asarray keeps ints as int64 and floats as float64 (as_array would make floats)
        return Tensor._make(np.stack([np.asarray(x) for x in batch]), False, None)
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if len({len(sample) for sample in batch}) != 1:
            raise ValueError(f"default_collate: the samples of a batch have different lengths "
                             f"({sorted({len(s) for s in batch})}); every sample must hold "
                             f"the same fields")
        return [default_collate(field) for field in zip(*batch)]
    return batch  # as PyTorch: the samples unchanged (a tuple of a field's values)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` samples, as PyTorch's DataLoader.

    Each pass (each ``for`` loop) visits every index once: in order, or in a fresh random
    permutation drawn from ``generator`` when ``shuffle=True``. The last batch is smaller
    when ``batch_size`` does not divide the dataset, unless ``drop_last=True`` drops it.
    ``collate_fn`` (``default_collate`` by default) merges a batch's samples; with
    ``batch_size=None`` samples are yielded one at a time, unmerged. ``len(loader)`` is the
    number of batches. A ``TensorDataset`` is sliced with one index array per batch instead
    of sample by sample (the same result, without the Python loop).
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, generator: np.random.Generator | None = None,
                 collate_fn: Callable[[list], Any] | None = None) -> None:
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, numbers.Integral)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer (or None for "
                             f"single samples), got {batch_size!r}")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, e.g. "
                            f"np.random.default_rng(0), got {type(generator).__name__}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset must have __getitem__ and __len__ (a "
                            f"map-style dataset such as TensorDataset), got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        rng = self.generator if self.generator is not None else creation.generator()
        return rng.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield self.dataset[int(i)]
            return
        fast = self.collate_fn is None and type(self.dataset) is TensorDataset
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            rows = order[start:start + self.batch_size]
            if fast:
                yield [_rows(t, rows) for t in self.dataset.tensors]
            else:
                collate = self.collate_fn or default_collate
                yield collate([self.dataset[int(i)] for i in rows])

    def __repr__(self) -> str:
        return (f"DataLoader(batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, {len(self)} batches)")


def _rows(t: Tensor, rows: np.ndarray) -> Tensor:
    """t[rows]: a plain copy for data, the differentiable indexing op for a graph tensor."""
    if t.requires_grad:
        return t[rows]
    return Tensor._make(t.data[rows], False, None)
