"""The version clock behind in-place checks (see minigrad/inplace.py and the engine)."""
from __future__ import annotations

from typing import Any

__all__ = ["VersionClock", "clock"]


class VersionClock:
    """Counts in-place changes, process-wide. A tensor's `_version` is the clock's value at its
    last in-place change and a node remembers the clock at its creation, so backward checks a
    node's saved inputs only when something changed in place since (almost never)."""

    now = 0

    def tick(self, t: Any) -> None:
        self.now += 1
        t._version = self.now


clock = VersionClock()
