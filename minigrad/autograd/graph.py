"""The recorded graph as a whole: its nodes in dependency order, and which of them can
reach given tensors (so `grad` runs only the nodes it needs)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["nodes_leading_to", "topological_order"]


def topological_order(root: Any) -> list:
    """The nodes `root` depends on (itself included), each after all the nodes it consumes.
    Nodes are numbered as they are made, after their inputs' nodes, so sorting by number is
    a topological order."""
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        for t in node.inputs:
            fn = t.grad_fn
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.append(fn)
    return sorted(seen, key=lambda node: node.seq)


def nodes_leading_to(targets: Iterable[Any], roots: Iterable[Any]) -> set:
    """The nodes under `roots` whose backward can reach one of the `targets` tensors."""
    target_ids = {id(t) for t in targets}
    nodes: set = set()
    for root in roots:
        nodes.update(topological_order(root))
    useful: set = set()
    for node in sorted(nodes, key=lambda n: n.seq):  # inputs' nodes come first
        if any(id(t) in target_ids or t.grad_fn in useful for t in node.inputs):
            useful.add(node)
    return useful
