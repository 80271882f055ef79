"""The state-check hook: scenarios register what to snapshot and how to check it.

Design: the explorer knows nothing about frames.  A scenario calls
:func:`watch` inside its setup with a ``snapshot_fn`` returning a hashable
plain value and checks over such values.  The explorer snapshots after every
event and checks each distinct snapshot (and each distinct pair of
consecutive snapshots) once: results are cached by value across the whole
search, because many interleavings pass through the same states.  A check
reports failures as objects with ``.name``, ``.message`` and ``.witness``; a
failure whose ``inconclusive`` attribute is true (e.g. z3 said unknown) makes
the result INCONCLUSIVE instead of a violation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from framemc.errors import UsageError

__all__ = ["CheckFailure", "watch", "name_values", "Watcher", "StateChecker", "WatchContext"]


@dataclass(frozen=True)
class CheckFailure:
    """One invariant that does not hold (or could not be decided) in a snapshot."""

    #: the invariant's name, e.g. ``refcount_in_range``
    name: str
    #: one line saying what is wrong
    message: str
    #: the values that show it, e.g. ``{"frame": 3, "refcount": 7}``
    witness: dict[str, Any] = field(default_factory=dict)
    #: True when the check could not decide (z3 unknown/timeout): never a pass, never a violation
    inconclusive: bool = False


@dataclass(frozen=True)
class Watcher:
    """A registered state to check: how to snapshot it and the checks to run."""

    #: returns a hashable plain value; must not perform atomics-layer operations
    snapshot_fn: Callable[[], Any]
    #: ``check_fn(snapshot)`` yields failures
    check_fn: Callable[[Any], Iterable[Any]]
    #: ``step_check_fn(prev, cur)`` yields failures of a two-state check, or None
    step_check_fn: Callable[[Any, Any], Iterable[Any]] | None = None


class WatchContext:
    """Collects the watchers one setup() call registers."""

    def __init__(self) -> None:
        #: watchers in registration order
        self.watchers: list[Watcher] = []
        #: value -> the name traces show for it (``name_values``)
        self.value_names: dict[Any, str] = {}


class _Slot(threading.local):
    context: WatchContext | None = None


_SLOT = _Slot()


def open_context() -> WatchContext:
    """Start collecting watch() calls on this OS thread (the explorer calls this around setup)."""
    ctx = WatchContext()
    _SLOT.context = ctx
    return ctx


def close_context() -> None:
    """Stop collecting watch() calls."""
    _SLOT.context = None


def watch(snapshot_fn: Callable[[], Any], check_fn: Callable[[Any], Iterable[Any]],
          step_check_fn: Callable[[Any, Any], Iterable[Any]] | None = None) -> None:
    """Register a state to check at every scheduling point; call it inside a scenario's setup."""
    ctx = _SLOT.context
    if ctx is None:
        raise UsageError("watch() must be called inside a scenario's setup() while framemc explores it")
    for what, fn in (("snapshot_fn", snapshot_fn), ("check_fn", check_fn)):
        if not callable(fn):
            raise UsageError(f"watch(): {what} must be callable, got {fn!r}")
    if step_check_fn is not None and not callable(step_check_fn):
        raise UsageError(f"watch(): step_check_fn must be callable or None, got {step_check_fn!r}")
    ctx.watchers.append(Watcher(snapshot_fn, check_fn, step_check_fn))


def name_values(names: dict[Any, str]) -> None:
    """Inside setup(): show these values by name in traces, e.g. ``{2**64 - 1: "UNUSED"}``."""
    ctx = _SLOT.context
    if ctx is None:
        raise UsageError("name_values() must be called inside a scenario's setup() while framemc explores it")
    if not isinstance(names, dict) or not all(isinstance(k, int) and not isinstance(k, bool) and
                                              isinstance(v, str) and v for k, v in names.items()):
        raise UsageError(f"name_values() takes a dict of int values to non-empty names, got {names!r:.80}")
    ctx.value_names.update(names)


def _failures(produced: Iterable[Any] | None, what: str) -> tuple[Any, ...]:
    if produced is None:
        return ()
    items = tuple(produced)
    for item in items:
        if not all(hasattr(item, attr) for attr in ("name", "message", "witness")):
            raise UsageError(f"{what} must yield objects with .name, .message and .witness, got {item!r}")
    return items


class StateChecker:
    """Runs registered checks with a cache keyed by snapshot value, shared by a whole search."""

    def __init__(self) -> None:
        #: (watcher index, snapshot) -> failures of check_fn
        self._state_cache: dict[tuple[int, Any], tuple[Any, ...]] = {}
        #: (watcher index, prev, cur) -> failures of step_check_fn
        self._step_cache: dict[tuple[int, Any, Any], tuple[Any, ...]] = {}
        #: checks actually run (cache misses)
        self.checked = 0
        #: checks answered from the cache
        self.hits = 0
        #: inconclusive failures seen, by (name, message)
        self.inconclusive: dict[tuple[str, str], Any] = {}
        #: inconclusive failures met, counting repeats (a check that met one is not remembered as passed)
        self.undecided_met = 0

    def snapshot(self, watchers: list[Watcher]) -> tuple[Any, ...]:
        """Snapshot every watcher; each snapshot must be hashable."""
        snaps = []
        for w in watchers:
            snap = w.snapshot_fn()
            try:
                hash(snap)
            except TypeError:
                raise UsageError(f"snapshot_fn must return a hashable plain value, got {type(snap).__name__}") from None
            snaps.append(snap)
        return tuple(snaps)

    def check(self, watchers: list[Watcher], prev: tuple[Any, ...] | None,
              cur: tuple[Any, ...]) -> Any | None:
        """The first definite failure of any check on ``cur`` (and on the step ``prev -> cur``), or None."""
        for i, w in enumerate(watchers):
            if prev is not None and prev[i] == cur[i]:
                continue
            failure = self._run(self._state_cache, (i, cur[i]), lambda: w.check_fn(cur[i]), "check_fn")
            if failure is not None:
                return failure
            if prev is not None and w.step_check_fn is not None:
                step = w.step_check_fn
                failure = self._run(self._step_cache, (i, prev[i], cur[i]),
                                    lambda: step(prev[i], cur[i]), "step_check_fn")
                if failure is not None:
                    return failure
        return None

    def _run(self, cache: dict, key: tuple, compute: Callable[[], Iterable[Any]], what: str) -> Any | None:
        found = cache.get(key)
        if found is None:
            self.checked += 1
            found = _failures(compute(), what)
            cache[key] = found
        else:
            self.hits += 1
        for item in found:
            if getattr(item, "inconclusive", False):
                self.undecided_met += 1
                self.inconclusive.setdefault((str(item.name), str(item.message)), item)
            else:
                return item
        return None
