"""The RC11 memory of one execution: per-location store lists, thread views and messages.

Design: an operational, view-based reading of RC11 (Lahav et al., PLDI 2017)
run inside the interleaving explorer.  Because events are executed one at a
time in an order that extends po and rf, po ∪ rf is acyclic by construction:
no load buffering, no out-of-thin-air values.  What RC11 adds to SC is
expressed with three kinds of state:

* every atomic location keeps its stores in modification order (mo); a new
  store may be placed at any mo position coherence allows, which is a
  branch of the exploration like a load's choice of store;
* every thread has a *view*: a happens-before vector clock plus, per
  location, the mo-earliest store it may still read or write after
  (its coherence floor); a load may read any store at or after its floor;
* every store carries a *message*: the view a thread acquires by reading it
  with Acquire (or through a later acquire fence).  A release store sends its
  thread's view, a relaxed one the view of the thread's last release fence
  joined with its release-sequence head; an RMW forwards the message of the
  store it read (release sequences).

SeqCst: a global SC view orders every SC fence and SC access.  An SC event
first joins the SC view into its thread's view and, after it, publishes its
thread's view back.  This forbids SB+sc and IRIW+sc as RC11 does, at the
price of treating SC accesses like accesses fenced with SC fences, which is
stronger than RC11 for programs that mix SC and weaker accesses to the same
locations (documented in docs/explorer.md).
"""

from __future__ import annotations

from typing import Any

from framemc.impl.atomics import Ordering

__all__ = ["View", "StoreRecord", "C11Memory"]


class View:
    """A happens-before clock plus per-location coherence floors."""

    __slots__ = ("clock", "floors")

    def __init__(self, clock: tuple[int, ...], floors: dict[Any, "StoreRecord"]) -> None:
        #: happens-before vector clock
        self.clock = clock
        #: location key -> mo-earliest store still readable
        self.floors = floors


def _join_clock(into: list[int], other: tuple[int, ...]) -> None:
    for u, c in enumerate(other):
        if c > into[u]:
            into[u] = c


def _join_floors(into: dict[Any, "StoreRecord"], other: dict[Any, "StoreRecord"]) -> None:
    for key, rec in other.items():
        mine = into.get(key)
        if mine is None or rec.pos > mine.pos:
            into[key] = rec


def _joined(a: View | None, b: View | None) -> View | None:
    """The join of two views (None is the empty view)."""
    if a is None:
        return b
    if b is None:
        return a
    clock = list(a.clock)
    _join_clock(clock, b.clock)
    floors = dict(a.floors)
    _join_floors(floors, b.floors)
    return View(tuple(clock), floors)


class StoreRecord:
    """One store in a location's modification order."""

    __slots__ = ("event", "thread", "tidx", "value", "message", "pos", "rmw")

    def __init__(self, event: int | None, thread: int | None, tidx: int, value: Any,
                 message: View | None, rmw: bool) -> None:
        #: index of the event that made the store, None for the initial value
        self.event = event
        #: storing thread, None for the initial value
        self.thread = thread
        #: the storing thread's clock component at the store (0 for the initial value)
        self.tidx = tidx
        #: value stored
        self.value = value
        #: view an acquiring reader gets, or None (nothing to acquire)
        self.message = message
        #: position in the location's modification order (kept current on insertion)
        self.pos = 0
        #: True when an RMW made it: no store may come between it and the store it read
        self.rmw = rmw


class C11Memory:
    """Stores, views and messages of one execution under RC11."""

    def __init__(self, nthreads: int, syncs: list[list[int]]) -> None:
        #: number of threads
        self._n = nthreads
        #: the execution's per-thread happens-before clocks (shared, updated in place)
        self._syncs = syncs
        #: location key -> its stores in modification order
        self.stores: dict[Any, list[StoreRecord]] = {}
        #: per thread: location key -> coherence floor
        self._floors: list[dict[Any, StoreRecord]] = [{} for _ in range(nthreads)]
        #: per thread: the view at its last release fence
        self._fence_release: list[View | None] = [None] * nthreads
        #: per thread: join of messages read with Relaxed, for a later acquire fence
        self._pending_acquire: list[View | None] = [None] * nthreads
        #: per thread: location key -> message of its last release store there (release-sequence head)
        self._release_head: list[dict[Any, View]] = [{} for _ in range(nthreads)]
        #: the global SC view
        self._sc: View = View((0,) * nthreads, {})
        #: mutex key -> the view of its last unlock (what the next lock acquires)
        self._unlocked: dict[Any, View] = {}

    def location(self, key: Any, initial: Any) -> list[StoreRecord]:
        """The store list of ``key``, created with its initial value on first use."""
        found = self.stores.get(key)
        if found is None:
            found = [StoreRecord(None, None, 0, initial, None, False)]
            self.stores[key] = found
        return found

    def view(self, t: int) -> View:
        """Thread ``t``'s current view (a copy)."""
        return View(tuple(self._syncs[t]), dict(self._floors[t]))

    def _acquire(self, t: int, message: View | None) -> None:
        if message is not None:
            _join_clock(self._syncs[t], message.clock)
            _join_floors(self._floors[t], message.floors)

    def _floor(self, t: int, key: Any) -> int:
        rec = self._floors[t].get(key)
        return 0 if rec is None else rec.pos

    # ------------------------------------------------------------ SC order

    def sc_enter(self, t: int) -> None:
        """Before an SC event: the thread sees everything earlier in the SC order."""
        self._acquire(t, self._sc)

    def sc_leave(self, t: int) -> None:
        """After an SC event: later SC events see everything this thread has seen."""
        self._sc = View(tuple(self._syncs[t]), dict(self._floors[t]))

    # ------------------------------------------------------------ reads

    def read_options(self, t: int, key: Any, rmw: bool, fails: Any = None) -> list[StoreRecord]:
        """Stores a read may read, mo-latest first; an RMW reads only the latest.

        ``fails`` (a CAS's expected value) adds the older stores a failing CAS may read.
        """
        stores = self.stores[key]
        latest = stores[-1]
        if rmw:
            return [latest]
        floor = self._floor(t, key)
        older = stores[floor:-1]
        if fails is not None:
            older = [s for s in older if s.value != fails[0]]
        return [latest] + older[::-1]

    def read(self, t: int, key: Any, rec: StoreRecord, order: Ordering) -> None:
        """Thread ``t`` reads ``rec`` with ``order`` (acquire the message now or at a later fence)."""
        floors = self._floors[t]
        mine = floors.get(key)
        if mine is None or rec.pos > mine.pos:
            floors[key] = rec
        if order.is_acquire:
            self._acquire(t, rec.message)
        else:
            self._pending_acquire[t] = _joined(self._pending_acquire[t], rec.message)

    def hidden_by(self, key: Any, rec: StoreRecord) -> StoreRecord | None:
        """The mo-latest store newer than ``rec`` (why ``rec`` was stale), or None if it is the latest."""
        stores = self.stores[key]
        return None if rec is stores[-1] else stores[-1]

    # ------------------------------------------------------------ writes

    def store_positions(self, t: int, key: Any) -> list[int]:
        """mo positions a new store of thread ``t`` may take, the end first."""
        stores = self.stores[key]
        floor = self._floor(t, key)
        # never between an RMW and the store it read
        inner = [p for p in range(floor + 1, len(stores)) if not stores[p].rmw]
        return [len(stores)] + inner[::-1]

    def write(self, t: int, key: Any, event: int, tidx: int, value: Any, order: Ordering,
              pos: int, rmw_source: StoreRecord | None) -> StoreRecord:
        """Insert a store of thread ``t`` at mo position ``pos`` (after the event's clock tick)."""
        rec = StoreRecord(event, t, tidx, value, None, rmw_source is not None)
        stores = self.stores[key]
        stores.insert(pos, rec)
        for i in range(pos, len(stores)):
            stores[i].pos = i
        self._floors[t][key] = rec
        if order.is_release:
            own: View | None = self.view(t)
            self._release_head[t][key] = own
        else:
            own = _joined(self._fence_release[t], self._release_head[t].get(key))
        if rmw_source is not None:
            own = _joined(own, rmw_source.message)
        rec.message = own
        return rec

    # ------------------------------------------------------------ mutexes

    def unlock(self, t: int, key: Any) -> None:
        """Thread ``t`` releases mutex ``key``: the next lock acquires its view."""
        self._unlocked[key] = self.view(t)

    def lock(self, t: int, key: Any) -> None:
        """Thread ``t`` acquires mutex ``key``: it sees everything before the last unlock."""
        self._acquire(t, self._unlocked.get(key))

    # ------------------------------------------------------------ fences

    def fence(self, t: int, order: Ordering) -> None:
        """An acquire, release, AcqRel or SeqCst fence of thread ``t`` (after its clock tick)."""
        if order.is_acquire:
            self._acquire(t, self._pending_acquire[t])
        if order is Ordering.SEQ_CST:
            self.sc_enter(t)
            self.sc_leave(t)
        if order.is_release:
            self._fence_release[t] = self.view(t)
