"""framemc.sync: the user-facing stand-ins for Rust's atomics, locks and cells.

Scenario code and the reference allocators in ``framemc.impl`` alike import this module; it is
the only way they touch shared state.  It is apart from the engine (``framemc.explorer``), as
loom keeps ``sync/`` apart from ``rt/``.

Design: every primitive (``Atomic``, ``Cell``, ``Mutex``, ``fence``,
non-atomic payload ``Location``) keeps its own value and executes directly,
like plain Rust code on one CPU.  When an explorer has installed a
:class:`Runtime` (see :func:`active_runtime`), every operation is instead
handed to that runtime, which turns it into a scheduling point and decides
its result (under C11 a load may read any store coherence allows).  This is
the loom pattern: the user-facing stand-ins know there *may* be an engine,
but nothing about how it schedules.

The runtime is found through a ``threading.local``; greenlets that run the
explored threads share one OS thread, so they all see the same runtime.

Contract for a runtime (duck-typed, see :class:`Runtime`):

* ``atomic(obj, op, order, a, b, failure)`` performs an atomic operation and
  returns what the direct path would return.  The runtime must keep
  ``obj._value`` equal to the value latest in modification order, so that
  :meth:`Atomic.peek` (used by snapshots, never by impl logic) stays current.
* ``nonatomic(loc, write, value)`` is a scheduling point and data-race check for a
  non-atomic access; the caller then performs the access on its own storage.
* ``lock(m)`` / ``unlock(m)`` / ``fence(order)`` / ``spin()`` likewise.
* ``assume(cond)`` drops the execution when ``cond`` is false.
* ``current_thread()`` returns the index of the running explored thread.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any, Callable, Protocol

from framemc.errors import UsageError

__all__ = [
    "Ordering",
    "AtomicOp",
    "Atomic",
    "Cell",
    "Location",
    "Mutex",
    "SpinLock",
    "fence",
    "spin_loop",
    "assume",
    "AssumptionFailed",
    "current_cpu",
    "on_cpu",
    "Runtime",
    "active_runtime",
    "install_runtime",
    "uninstall_runtime",
    "set_creation_hook",
    "origin_of",
]


class Ordering(enum.Enum):
    """C11 / Rust ``core::sync::atomic::Ordering``."""

    #: members are singletons: hash by identity (Enum hashes the name in Python code, and these are
    #: looked up on every explored event)
    __hash__ = object.__hash__

    RELAXED = "Relaxed"
    ACQUIRE = "Acquire"
    RELEASE = "Release"
    ACQ_REL = "AcqRel"
    SEQ_CST = "SeqCst"

    @property
    def is_acquire(self) -> bool:
        """True when this ordering has acquire semantics on a read."""
        return self in (Ordering.ACQUIRE, Ordering.ACQ_REL, Ordering.SEQ_CST)

    @property
    def is_release(self) -> bool:
        """True when this ordering has release semantics on a write."""
        return self in (Ordering.RELEASE, Ordering.ACQ_REL, Ordering.SEQ_CST)


class AtomicOp(enum.Enum):
    """The kinds of atomic operation a runtime is asked to perform."""

    #: members are singletons: hash by identity (Enum hashes the name in Python code, and these are
    #: looked up on every explored event)
    __hash__ = object.__hash__

    LOAD = "load"
    STORE = "store"
    CAS = "compare_exchange"
    FETCH_ADD = "fetch_add"
    FETCH_SUB = "fetch_sub"
    SWAP = "swap"


#: the hot paths' constants, looked up as module globals rather than as enum attributes
_SEQ_CST = Ordering.SEQ_CST
_LOAD = AtomicOp.LOAD
_STORE = AtomicOp.STORE


class Runtime(Protocol):
    """What an explorer must provide to take over the atomics layer."""

    def atomic(self, obj: "Atomic", op: AtomicOp, order: Ordering, a: Any, b: Any,
               failure: Ordering | None) -> Any: ...
    def nonatomic(self, loc: object, write: bool, value: Any = None) -> None: ...
    def lock(self, m: "Mutex") -> None: ...
    def unlock(self, m: "Mutex") -> None: ...
    def fence(self, order: Ordering) -> None: ...
    def spin(self) -> None: ...
    def assume(self, cond: bool) -> None: ...
    def current_thread(self) -> int: ...


class _Slot(threading.local):
    runtime: Runtime | None = None
    cpu: int = 0
    #: called with every Atomic, Cell, Location and Mutex made on this OS thread (an exploring search's)
    created: Callable[[object], None] | None = None


_SLOT = _Slot()


def active_runtime() -> Runtime | None:
    """The runtime that owns the atomics layer on this OS thread, or None (direct mode)."""
    return _SLOT.runtime


def install_runtime(rt: Runtime) -> None:
    """Hand every later atomics-layer operation on this OS thread to ``rt``."""
    if _SLOT.runtime is not None:
        raise UsageError("an exploration is already running on this thread; explorations do not nest")
    _SLOT.runtime = rt


def uninstall_runtime(rt: Runtime) -> None:
    """Return the atomics layer to direct mode (``rt`` must be the installed one)."""
    if _SLOT.runtime is rt:
        _SLOT.runtime = None


#: this module's globals: a frame running this module's code is plumbing, never where a location was made
_PLUMBING = globals()
#: the value mask of a 64-bit atomic (also the explorer's default for a node's location)
FULL_MASK = (1 << 64) - 1


def set_creation_hook(callback: Callable[[object], None] | None) -> Callable[[object], None] | None:
    """Have ``callback(obj)`` called for every location object made on this OS thread; return the previous one."""
    previous = _SLOT.created
    _SLOT.created = callback
    return previous


def _born(obj: object) -> tuple[str, int] | None:
    """A location was made: tell the creation hook, and return the (file, line) that made it, for errors
    about shared state made in the wrong place (:func:`origin_of` formats it; this runs for every location
    of every explored execution, so it stays raw)."""
    callback = _SLOT.created
    if callback is not None:
        callback(obj)
    frame = sys._getframe(2)
    while frame is not None and frame.f_globals is _PLUMBING:
        frame = frame.f_back
    if frame is None:
        return None
    return frame.f_code.co_filename, frame.f_lineno


def origin_of(obj: object) -> str | None:
    """``file:line`` where a location object was created, or None when unknown."""
    site = getattr(obj, "_origin", None)
    return None if site is None else f"{os.path.basename(site[0])}:{site[1]}"


def _check_order(order: object, what: str) -> Ordering:
    if not isinstance(order, Ordering):
        raise UsageError(f"{what}: ordering must be a framemc Ordering, got {order!r}")
    return order


class Atomic:
    """An atomic unsigned integer of ``bits`` width (default 64), like Rust's ``AtomicU64``."""

    __slots__ = ("_value", "_mask", "name", "_origin", "__weakref__")

    def __init__(self, initial: int = 0, *, bits: int = 64, name: str | None = None) -> None:
        # every explored execution makes its atomics afresh: the common case (a 64-bit int) is tested first
        if bits == 64 and initial.__class__ is int and 0 <= initial <= FULL_MASK:
            self._mask = FULL_MASK
        else:
            if not isinstance(initial, int) or isinstance(initial, bool):
                raise UsageError(f"Atomic initial value must be an int, got {initial!r}")
            if bits <= 0:
                raise UsageError(f"Atomic width must be positive, got {bits}")
            self._mask = (1 << bits) - 1
            if not 0 <= initial <= self._mask:
                raise UsageError(f"Atomic initial value {initial} does not fit in {bits} unsigned bits")
        #: current value in direct mode; the mo-latest value under a runtime
        self._value = initial
        #: label used in traces (e.g. ``meta[3].refcount``)
        self.name = name
        #: (file, line) that created it (see :func:`origin_of`)
        self._origin = _born(self)

    def __repr__(self) -> str:
        return f"Atomic({self._value}, name={self.name!r})"

    def _fit(self, value: int, what: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise UsageError(f"{what}: value must be an int, got {value!r}")
        if not 0 <= value <= self._mask:
            raise UsageError(f"{what}: value {value} does not fit in the atomic's width")
        return value

    def peek(self) -> int:
        """The current value without a scheduling point; for snapshots only, never for logic."""
        return self._value

    def load(self, order: Ordering = Ordering.SEQ_CST) -> int:
        """Atomically read the value."""
        if order is not _SEQ_CST:  # the default skips the checks: this runs for every explored load
            _check_order(order, "load")
            if order in (Ordering.RELEASE, Ordering.ACQ_REL):
                raise UsageError(f"load: ordering {order.value} is not valid for a load (as in Rust, it panics)")
        rt = _SLOT.runtime
        if rt is None:
            return self._value
        return rt.atomic(self, _LOAD, order, None, None, None)

    def store(self, value: int, order: Ordering = Ordering.SEQ_CST) -> None:
        """Atomically write ``value``."""
        if order is not _SEQ_CST:
            _check_order(order, "store")
            if order in (Ordering.ACQUIRE, Ordering.ACQ_REL):
                raise UsageError(f"store: ordering {order.value} is not valid for a store (as in Rust, it panics)")
        if value.__class__ is not int or not 0 <= value <= self._mask:
            value = self._fit(value, "store")
        rt = _SLOT.runtime
        if rt is None:
            self._value = value
            return None
        rt.atomic(self, _STORE, order, value, None, None)
        return None

    def compare_exchange(self, expected: int, new: int, success: Ordering = Ordering.SEQ_CST,
                         failure: Ordering = Ordering.SEQ_CST) -> tuple[bool, int]:
        """If the value is ``expected``, replace it by ``new``; return ``(ok, observed)``."""
        if success is not _SEQ_CST:
            _check_order(success, "compare_exchange success")
        if failure is not _SEQ_CST:
            _check_order(failure, "compare_exchange failure")
            if failure in (Ordering.RELEASE, Ordering.ACQ_REL):
                raise UsageError(f"compare_exchange: failure ordering {failure.value} is not valid (as in Rust, "
                                 "it panics)")
        if new.__class__ is not int or not 0 <= new <= self._mask:
            new = self._fit(new, "compare_exchange")
        rt = _SLOT.runtime
        if rt is None:
            old = self._value
            if old == expected:
                self._value = new
                return True, old
            return False, old
        return rt.atomic(self, AtomicOp.CAS, success, expected, new, failure)

    def _rmw(self, op: AtomicOp, operand: int, order: Ordering) -> int:
        if order is not _SEQ_CST:
            _check_order(order, op.value)
        if operand.__class__ is not int and (not isinstance(operand, int) or isinstance(operand, bool)):
            raise UsageError(f"{op.value}: operand must be an int, got {operand!r}")
        rt = _SLOT.runtime
        if rt is None:
            old = self._value
            self._value = apply_rmw(op, old, operand, self._mask)
            return old
        return rt.atomic(self, op, order, operand, None, None)

    def fetch_add(self, delta: int, order: Ordering = Ordering.SEQ_CST) -> int:
        """Add ``delta`` (wrapping) and return the previous value."""
        return self._rmw(AtomicOp.FETCH_ADD, delta, order)

    def fetch_sub(self, delta: int, order: Ordering = Ordering.SEQ_CST) -> int:
        """Subtract ``delta`` (wrapping) and return the previous value."""
        return self._rmw(AtomicOp.FETCH_SUB, delta, order)

    def swap(self, value: int, order: Ordering = Ordering.SEQ_CST) -> int:
        """Replace the value and return the previous one."""
        return self._rmw(AtomicOp.SWAP, self._fit(value, "swap"), order)


def apply_rmw(op: AtomicOp, old: int, operand: int, mask: int) -> int:
    """The value a read-modify-write leaves behind; shared by direct mode and runtimes."""
    if op is AtomicOp.FETCH_ADD:
        return (old + operand) & mask
    if op is AtomicOp.FETCH_SUB:
        return (old - operand) & mask
    if op is AtomicOp.SWAP:
        return operand
    raise UsageError(f"{op.value} is not a read-modify-write")


class Location:
    """Identity of a non-atomic memory location (a frame's payload, a Cell) for race detection."""

    __slots__ = ("name", "_origin", "__weakref__")

    def __init__(self, name: str | None = None) -> None:
        #: label used in traces (e.g. ``payload[3]``)
        self.name = name
        #: (file, line) that created it (see :func:`origin_of`)
        self._origin = _born(self)

    def __repr__(self) -> str:
        return f"Location({self.name!r})"

    def access(self, write: bool, value: Any = None) -> None:
        """Announce a non-atomic access (a scheduling point under a runtime); no-op directly.

        A write may say what it writes (``value``), so that a runtime can show it.
        """
        rt = _SLOT.runtime
        if rt is not None:
            rt.nonatomic(self, write, value)


class Cell(Location):
    """A non-atomic location holding any value; unordered conflicting accesses are a data race."""

    __slots__ = ("_value",)

    def __init__(self, initial: Any = 0, *, name: str | None = None) -> None:
        super().__init__(name)
        #: the stored value (non-atomic: the last write in execution order)
        self._value = initial

    def __repr__(self) -> str:
        return f"Cell({self._value!r}, name={self.name!r})"

    def peek(self) -> Any:
        """The current value without a scheduling point; for snapshots only."""
        return self._value

    def read(self) -> Any:
        """Non-atomic read."""
        self.access(False)
        return self._value

    def write(self, value: Any) -> None:
        """Non-atomic write."""
        self.access(True, value)
        self._value = value


class Mutex:
    """A mutual-exclusion lock; also a context manager.  ``SpinLock`` is the same object."""

    __slots__ = ("_held_by", "name", "_origin", "__weakref__")

    def __init__(self, *, name: str | None = None) -> None:
        #: thread index (or 0 in direct mode) of the holder, None when free
        self._held_by: int | None = None
        #: label used in traces
        self.name = name
        #: (file, line) that created it (see :func:`origin_of`)
        self._origin = _born(self)

    def __repr__(self) -> str:
        return f"Mutex(name={self.name!r}, held_by={self._held_by!r})"

    @property
    def locked(self) -> bool:
        """True while some thread holds the lock (no scheduling point)."""
        return self._held_by is not None

    def lock(self) -> None:
        """Acquire the lock (blocks under a runtime; self-deadlock is an error directly)."""
        rt = _SLOT.runtime
        if rt is None:
            if self._held_by is not None:
                raise UsageError(f"{self.name or 'mutex'}: lock() while already held: this would deadlock")
            self._held_by = 0
            return
        rt.lock(self)

    def unlock(self) -> None:
        """Release the lock."""
        rt = _SLOT.runtime
        if rt is None:
            if self._held_by is None:
                raise UsageError(f"{self.name or 'mutex'}: unlock() of a lock that is not held")
            self._held_by = None
            return
        rt.unlock(self)

    def __enter__(self) -> "Mutex":
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()


SpinLock = Mutex


def fence(order: Ordering = Ordering.SEQ_CST) -> None:
    """A memory fence, like ``core::sync::atomic::fence``."""
    _check_order(order, "fence")
    if order is Ordering.RELAXED:
        raise UsageError("fence: Relaxed is not a valid fence ordering (as in Rust, it panics)")
    rt = _SLOT.runtime
    if rt is not None:
        rt.fence(order)


def spin_loop() -> None:
    """Hint that the caller is spinning (``core::hint::spin_loop``); lets an explorer bound the loop."""
    rt = _SLOT.runtime
    if rt is not None:
        rt.spin()


class AssumptionFailed(Exception):
    """``assume(False)`` outside an exploration: the caller's precondition does not hold."""


def assume(cond: object) -> None:
    """GenMC's ``__VERIFIER_assume``: under an explorer, an execution where ``cond`` is false is dropped.

    Such executions are neither counted nor violations (``result.stats.blocked`` counts them).
    In direct mode a false ``cond`` raises :class:`AssumptionFailed`.
    """
    rt = _SLOT.runtime
    if rt is not None:
        rt.assume(bool(cond))
    elif not cond:
        raise AssumptionFailed("assume() failed outside an exploration")


def current_cpu() -> int:
    """The index of the running CPU: the explored thread's index, or the :func:`on_cpu` CPU in direct mode."""
    rt = _SLOT.runtime
    if rt is None:
        return _SLOT.cpu
    return rt.current_thread()


@contextlib.contextmanager
def on_cpu(cpu: int) -> Iterator[None]:
    """In direct mode, run the body as CPU ``cpu`` (default CPU is 0); explorers pick CPUs themselves."""
    if not isinstance(cpu, int) or isinstance(cpu, bool) or cpu < 0:
        raise UsageError(f"on_cpu: CPU must be a non-negative int, got {cpu!r}")
    if _SLOT.runtime is not None:
        raise UsageError("on_cpu is for direct mode; under an explorer the thread index is the CPU")
    previous, _SLOT.cpu = _SLOT.cpu, cpu
    try:
        yield
    finally:
        _SLOT.cpu = previous
