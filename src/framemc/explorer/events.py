"""Events of one execution, the locations they touch, and where in the source they come from.

Design: an :class:`Event` is one scheduling point that ran: a thread, an
operation, the location (by a key that is stable across executions, so the
DPOR can compare events of different runs), the values read and written, and
two vector clocks: ``clock`` orders dependent events (what the DPOR reasons
about) and ``sync`` is happens-before from program order plus
synchronisation (what data races and the HB graph use).  Keeping both, plus
reads-from edges, is what the C11 model (``c11``) builds on.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from framemc.explorer.opkind import OpKind
from framemc.sync import Atomic, Cell, Mutex, set_creation_hook

__all__ = ["OpKind", "Event", "LocationInfo", "dependent", "SourceLocator", "creation_hook", "location_kind",
           "SC_ORDER_KEY"]

#: the pseudo-location every SeqCst event touches under C11 (they are all mutually ordered)
SC_ORDER_KEY = ("sc-order",)


class LocationInfo:
    """One location as events name it: its key stable across executions, its trace name and its kind."""

    __slots__ = ("key", "name", "kind")

    def __init__(self, key: Any, name: str, kind: str) -> None:
        #: identity stable across executions of one scenario
        self.key = key
        #: the name traces show
        self.name = name
        #: "atomic", "cell", "location" or "mutex"
        self.kind = kind


@dataclass(slots=True, eq=False)
class Event:
    """One operation that ran in an execution."""

    #: position in the execution
    index: int
    #: explored thread index
    thread: int
    #: 1-based count of this thread's events (its own clock component)
    tidx: int
    #: the operation
    op: OpKind
    #: the location touched, or None (fence, spin_loop)
    loc: LocationInfo | None
    #: True when the event modifies its location (a failed CAS does not)
    is_write: bool
    #: memory ordering given, or None
    order: str | None
    #: value read, or None
    read: Any
    #: value written, or None
    written: Any
    #: ``file:line`` of the first frame outside the atomics layer and the explorer
    source: str
    #: dependence clock (the DPOR's happens-before)
    clock: tuple[int, ...] = ()
    #: program order + synchronisation clock (data races, HB graph)
    sync: tuple[int, ...] = ()
    #: event index this event read from or synchronised with (rf / unlock->lock), or None
    rf: int | None = None
    #: True when scheduling this event preempted a thread that could have continued
    preemption: bool = False
    #: extra operands for the trace, e.g. a CAS's expected and new values
    args: tuple[Any, ...] = ()
    #: True for a SeqCst event under C11 (it also touches the SC order)
    sc: bool = False
    #: which of the ``npicks`` allowed stores / mo positions this event took (C11)
    pick: int = 0
    #: how many stores (loads) or mo positions (stores) were allowed
    npicks: int = 1
    #: event indices this event synchronises with (C11: acquire read or fence of a release message)
    sw: tuple[int, ...] = ()
    #: why a C11 load could read a store that is not the mo-latest, or None
    why: str | None = None

    @property
    def sig(self) -> tuple[Any, ...] | None:
        """What the DPOR compares: (location key, writes?[, SC]) or None for location-free events."""
        if self.sc:
            return (SC_ORDER_KEY if self.loc is None else self.loc.key, self.is_write or self.loc is None, True)
        return None if self.loc is None else (self.loc.key, self.is_write)


def location_kind(obj: object) -> str:
    """The trace's word for a location object: atomic, mutex, cell or location."""
    return "atomic" if isinstance(obj, Atomic) else "mutex" if isinstance(obj, Mutex) \
        else "cell" if isinstance(obj, Cell) else "location"


def dependent(a: tuple[Any, ...] | None, b: tuple[Any, ...] | None) -> bool:
    """True when two event signatures touch the same location and at least one writes, or both are SC."""
    return a is not None and b is not None and ((a[0] == b[0] and (a[1] or b[1])) or len(a) == len(b) == 3)


#: modules whose frames are plumbing, never the source of an operation
_SKIPPED_MODULES = frozenset({"framemc.sync", "framemc.explorer.execution", "framemc.explorer.events"})


_UNSEEN = object()


class SourceLocator:
    """Finds the ``file:line`` of the user or impl code behind an operation, cheaply."""

    def __init__(self) -> None:
        #: code object -> printable file name, or None when the frame is to be skipped
        self._names: dict[Any, str | None] = {}

    def _name(self, frame: Any) -> str | None:
        code = frame.f_code
        if code in self._names:
            return self._names[code]
        module = frame.f_globals.get("__name__", "")
        path = os.path.abspath(code.co_filename)
        if module in _SKIPPED_MODULES or module.startswith("greenlet"):
            name = None
        elif module.startswith("framemc."):
            # module-relative path: stable whatever the checkout or install location
            suffix = "/__init__.py" if path.endswith("__init__.py") else ".py"
            name = module.replace(".", "/") + suffix
        else:
            name = os.path.basename(path)
        self._names[code] = name
        return name

    def locate(self, depth: int = 2) -> str:
        """``file:line`` of the first frame, ``depth`` frames up or more, outside the skipped code."""
        return self.at(sys._getframe(depth))

    def at(self, frame: Any) -> str:
        """``file:line`` of ``frame`` or, when it is plumbing, of the first caller outside the skipped code."""
        names = self._names
        while frame is not None:
            name = names.get(frame.f_code, _UNSEEN)
            if name is _UNSEEN:
                name = self._name(frame)
            if name is not None:
                return f"{name}:{frame.f_lineno}"
            frame = frame.f_back
        return "?"

    def locate_traceback(self, tb: Any) -> str:
        """``file:line`` of the innermost traceback entry outside the skipped code."""
        found = "?"
        while tb is not None:
            name = self._name(tb.tb_frame)
            if name is not None:
                found = f"{name}:{tb.tb_lineno}"
            tb = tb.tb_next
        return found


@contextmanager
def creation_hook(callback: Any) -> Iterator[None]:
    """Call ``callback(obj)`` for every Atomic, Cell, Location and Mutex this OS thread creates.

    Location keys must be stable across executions for the DPOR to compare
    events of different runs; creation order (within setup, or within one
    thread) is.  The atomics layer calls the hook from its constructors
    (:func:`framemc.sync.set_creation_hook`).
    """
    previous = set_creation_hook(callback)
    try:
        yield
    finally:
        set_creation_hook(previous)
