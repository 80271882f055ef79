"""Shared fixtures for the impl tests: a sequential recording runtime for the atomics layer.

The recorder executes every operation exactly as direct mode would, but logs
it (so tests can assert the order and memory orderings of the protocol
steps) and can run a callback right after a chosen operation, which is how
the tests force the one interleaving a planted bug needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from framemc.sync import (
    AtomicOp,
    Ordering,
    apply_rmw,
    install_runtime,
    uninstall_runtime,
)


@dataclass(frozen=True)
class Event:
    """One logged atomics-layer operation."""

    #: name of the atomic / location / lock, or "fence"
    target: str
    #: operation kind ("load", "store", "compare_exchange", "write", "read", "lock", "fence", ...)
    op: str
    #: memory ordering, when the operation has one
    order: Ordering | None = None
    #: the value stored / operand, when there is one
    value: int | None = None


class RecordingRuntime:
    """Executes atomics-layer calls sequentially and logs them."""

    def __init__(self, cpu: int = 0) -> None:
        self.events: list[Event] = []
        self.cpu = cpu
        self._hooks: list[tuple[str, str, Callable[[], None]]] = []

    def after(self, target: str, op: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` once, right after the next ``op`` on ``target``."""
        self._hooks.append((target, op, callback))

    def _fire(self, target: str, op: str) -> None:
        for i, (t, o, callback) in enumerate(self._hooks):
            if t == target and o == op:
                del self._hooks[i]
                callback()
                return

    def atomic(self, obj, op, order, a, b, failure):
        """Perform the operation as direct mode would, log it, then fire a matching hook."""
        old = obj._value
        if op is AtomicOp.LOAD:
            result = old
        elif op is AtomicOp.STORE:
            obj._value = a
            result = None
        elif op is AtomicOp.CAS:
            result = (old == a, old)
            if old == a:
                obj._value = b
        else:
            obj._value = apply_rmw(op, old, a, obj._mask)
            result = old
        value = b if op is AtomicOp.CAS else a
        self.events.append(Event(obj.name, op.value, order, value))
        self._fire(obj.name, op.value)
        return result

    def nonatomic(self, loc, write, value=None):
        """Log a payload access."""
        self.events.append(Event(loc.name, "write" if write else "read"))

    def lock(self, m):
        """Take the lock (it must be free: nothing else runs)."""
        assert m._held_by is None, "sequential runtime cannot block"
        m._held_by = self.cpu
        self.events.append(Event(m.name, "lock"))

    def unlock(self, m):
        """Release the lock."""
        m._held_by = None
        self.events.append(Event(m.name, "unlock"))

    def fence(self, order):
        """Log a fence."""
        self.events.append(Event("fence", "fence", order))

    def spin(self):
        """Log a spin hint."""
        self.events.append(Event("spin", "spin"))

    def current_thread(self):
        """The CPU the test chose."""
        return self.cpu

    def on(self, target: str) -> list[Event]:
        """The logged events on ``target``."""
        return [e for e in self.events if e.target == target]

    def index(self, target: str, op: str, value: int | None = None) -> int:
        """Position of the first event matching ``target``/``op`` (and ``value`` if given)."""
        for i, e in enumerate(self.events):
            if e.target == target and e.op == op and (value is None or e.value == value):
                return i
        raise AssertionError(f"no {op} on {target} in {self.events}")


@pytest.fixture
def recorder() -> Iterator[RecordingRuntime]:
    """A RecordingRuntime installed for the duration of the test."""
    rt = RecordingRuntime()
    install_runtime(rt)
    try:
        yield rt
    finally:
        uninstall_runtime(rt)
