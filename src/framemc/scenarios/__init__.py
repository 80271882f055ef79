"""Scenarios that run the reference impl under the explorer, with the model's invariants watched.

* :mod:`.allocator`: bundled allocator scenarios, each with a planted-bug twin (under SC);
* :mod:`.orderings`: memory-ordering scenarios, whose twins only C11 can catch;
* :mod:`.initial`: scenarios started from every z3-enumerated allocator state;
* :mod:`.checks`: the glue that checks snapshots against ``framemc.model``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from framemc.errors import UsageError

T = TypeVar("T")

__all__ = ["lookup"]


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """``registry[name]``, or a UsageError naming the unknown ``what`` and listing the known ones."""
    try:
        return registry[name]
    except KeyError:
        raise UsageError(f"unknown {what} {name!r}; known {what}s: {', '.join(registry)}") from None
