"""Optimal dynamic partial-order reduction with source sets and wakeup trees.

Design (Abdulla, Aronis, Jonsson, Sagonas, "Optimal Dynamic Partial Order
Reduction", POPL 2014, Algorithm 2), run statelessly: every execution is
re-run from setup() along a prefix of the previous one.  For each prefix
``E'`` of the current execution the search keeps a *level*: the wakeup tree
``wut(E')`` (ordered children, each a thread plus the event signature it
was inserted with) and the sleep set ``sleep(E')`` (threads already explored
there, with their next event).  The current execution is always the leftmost
branch of the tree.  At the end of an execution every reversible race
``e < e'`` yields ``v = notdep(e, E).e'``, inserted into ``wut(pre(E, e))``
unless a sleeping thread is a weak initial of ``v``.  Backtracking moves the
explored child into the sleep set and follows the next child.

Mutexes: an unlock->lock race cannot be reversed (the lock is disabled
before the unlock), so a lock races with the previous lock of the same mutex
by another thread, unless that lock happens before this one's program-order
predecessor.
"""

from __future__ import annotations

from typing import Any

from framemc.errors import CheckerBug, UsageError
from framemc.explorer.bounds import BoundKind, Bounds
from framemc.explorer.events import SC_ORDER_KEY, Event, OpKind, dependent
from framemc.explorer.execution import ExecutionRecord

__all__ = ["OptimalDPOR"]

_Sig = tuple[Any, ...] | None


class _Node:
    """A wakeup-tree node: a thread step, the signature it was inserted with, and ordered children."""

    __slots__ = ("thread", "sig", "children")

    def __init__(self, thread: int | None, sig: _Sig) -> None:
        #: the thread this step runs (None at the root)
        self.thread = thread
        #: (location key, writes?) of the step when inserted
        self.sig = sig
        #: children in exploration order; the first is the one being explored
        self.children: list[_Node] = []


class _Level:
    """Search state at one prefix of the current execution."""

    __slots__ = ("node", "sleep", "preemptions", "pick", "npicks")

    def __init__(self, node: _Node, sleep: dict[int, _Sig], preemptions: int) -> None:
        #: wut(prefix): its children are the steps still to explore here
        self.node = node
        #: sleep(prefix): thread -> signature of its next event
        self.sleep = sleep
        #: preemptions in the prefix
        self.preemptions = preemptions
        #: under C11, the store (or mo position) the explored step takes; None before it ran
        self.pick: int | None = None
        #: how many the explored step could take
        self.npicks = 1


def _weak_initial(thread: int, sig: _Sig, v: list[tuple[int, _Sig]]) -> list[tuple[int, _Sig]] | None:
    """``v`` without ``thread``'s first step when ``thread`` is a weak initial of ``v``, else None."""
    for i, (p, s) in enumerate(v):
        if p == thread:
            for _, earlier in v[:i]:
                if dependent(earlier, s):
                    return None
            return v[:i] + v[i + 1:]
    for _, s in v:
        if dependent(sig, s):
            return None
    return v


def _as_writing(ev: Event) -> _Sig:
    """``ev``'s signature as a write (keeping its SC mark): a CAS that may succeed elsewhere."""
    sig = ev.sig
    return None if sig is None else (sig[0], True) + sig[2:]


def _as_sleeping(ev: Event) -> _Sig:
    """The signature a thread sleeps with: a CAS that could read other stores may also write."""
    if ev.npicks > 1 and ev.op is OpKind.CAS:
        return _as_writing(ev)
    return ev.sig


class OptimalDPOR:
    """The optimal-DPOR search strategy: a chooser plus backtracking over wakeup trees."""

    def __init__(self, bounds: Bounds) -> None:
        #: limits (the preemption bound is applied here)
        self._bounds = bounds
        root = _Node(None, None)
        #: one level per prefix of the current execution
        self._levels: list[_Level] = [_Level(root, {}, 0)]
        #: depths below this replay the previous execution
        self._replay_depth = 0
        #: the bound that cut the search, if any
        self.cut: BoundKind | None = None
        #: executions abandoned because every enabled thread was asleep
        self.sleep_blocked = 0

    def _allowed(self, level: _Level, t: int, enabled: list[int], last: int | None) -> bool:
        bound = self._bounds.preemption_bound
        if bound is None:
            return True
        preempt = last is not None and t != last and last in enabled
        if level.preemptions + preempt <= bound:
            return True
        self.cut = BoundKind.PREEMPTIONS
        return False

    def choose(self, depth: int, enabled: list[int], last: int | None) -> int | None:
        """Follow the wakeup tree; with none, continue the last thread or take the lowest awake one."""
        level = self._levels[depth]
        node = level.node
        if depth < self._replay_depth:
            t = node.children[0].thread
            if t not in enabled:
                raise UsageError(f"the scenario is not deterministic: replaying step {depth}, thread {t} "
                                 f"is not enabled (enabled: {enabled}); setup() and threads must behave "
                                 "the same way on every run")
            return t
        while node.children:
            child = node.children[0]
            t = child.thread
            if t in enabled and t not in level.sleep and self._allowed(level, t, enabled, last):
                return t
            # a step a lock or a spin-wait disabled (running it would repeat a state already
            # explored), or beyond the preemption bound
            node.children.pop(0)
        awake = [t for t in enabled if t not in level.sleep]
        if not awake:
            self.sleep_blocked += 1
            return None
        if last in awake:
            awake.remove(last)
            awake.insert(0, last)
        for t in awake:
            if self._allowed(level, t, enabled, last):
                node.children.append(_Node(t, None))
                return t
        return None

    def pick(self, depth: int, count: int) -> int:
        """The store the step at ``depth`` reads (or its mo position): the one being explored, else the first."""
        level = self._levels[depth]
        if level.pick is None:
            return 0
        if level.npicks != count:
            raise UsageError(f"the scenario is not deterministic: replaying step {depth}, it could read "
                             f"{count} stores where the previous run had {level.npicks}; setup() and threads "
                             "must behave the same way on every run")
        return level.pick

    def executed(self, depth: int, event: Event) -> None:
        """Record the step taken and derive the next level's sleep set."""
        level = self._levels[depth]
        child = level.node.children[0]
        if child.thread != event.thread:
            raise CheckerBug(f"DPOR expected thread {child.thread} at step {depth}, got {event.thread}")
        if depth < self._replay_depth:
            if child.sig != event.sig:
                raise UsageError(f"the scenario is not deterministic: replaying step {depth}, thread "
                                 f"{event.thread} touched {event.loc.name if event.loc else 'no location'} "
                                 "differently than in the previous run; setup() and threads must behave "
                                 "the same way on every run")
            return
        child.sig = event.sig
        level.pick, level.npicks = event.pick, event.npicks
        sig = event.sig
        sleep = {q: s for q, s in level.sleep.items() if q != event.thread and not dependent(s, sig)}
        self._levels.append(_Level(child, sleep, level.preemptions + event.preemption))

    def backtrack(self, record: ExecutionRecord) -> bool:
        """Plan the next execution from this one's races; False when the search is complete."""
        events = record.events
        self._add_races(events)
        for k in range(len(events) - 1, -1, -1):
            level = self._levels[k]
            if level.pick is not None and level.pick + 1 < level.npicks:
                # the same step reading another store: a fresh subtree below it
                level.pick += 1
                level.node.children[0].children = []
                del self._levels[k + 1:]
                self._replay_depth = k
                return True
            explored = level.node.children.pop(0)
            level.pick, level.npicks = None, 1
            level.sleep[explored.thread] = _as_sleeping(events[k])
            if level.node.children:
                del self._levels[k + 1:]
                self._replay_depth = k
                return True
        return False

    # ------------------------------------------------------------ races

    def _add_races(self, events: list[Event]) -> None:
        n = len(events[0].clock) if events else 0
        by_loc: dict[Any, list[Event]] = {}
        po_clock: list[tuple[int, ...]] = [(0,) * n for _ in range(n)]
        for ev in events:
            info = ev.loc
            if ev.sc:
                self._sc_race(events, by_loc.setdefault(SC_ORDER_KEY, []), ev, po_clock[ev.thread])
            if info is not None:
                accesses = by_loc.setdefault(info.key, [])
                pred = po_clock[ev.thread]
                if ev.op is OpKind.LOCK:
                    self._lock_race(events, accesses, ev, pred)
                elif ev.op is not OpKind.UNLOCK:
                    self._access_races(events, accesses, ev, pred)
                accesses.append(ev)
            po_clock[ev.thread] = ev.clock

    def _sc_race(self, events: list[Event], sc_events: list[Event], ev: Event, pred: tuple[int, ...]) -> None:
        # every SC event writes the SC order: only the latest earlier one can race with ev
        if sc_events:
            x = sc_events[-1]
            if x.thread != ev.thread and pred[x.thread] < x.tidx:
                self._reverse(events, x, ev)
        sc_events.append(ev)

    def _lock_race(self, events: list[Event], accesses: list[Event], ev: Event,
                   pred: tuple[int, ...]) -> None:
        for x in reversed(accesses):
            if x.op is OpKind.LOCK:
                if x.thread != ev.thread and pred[x.thread] < x.tidx:
                    self._reverse(events, x, ev)
                return

    def _access_races(self, events: list[Event], accesses: list[Event], ev: Event,
                      pred: tuple[int, ...]) -> None:
        seen = list(pred)
        for x in reversed(accesses):
            if not (x.is_write or ev.is_write):
                continue
            if x.thread != ev.thread and seen[x.thread] < x.tidx:
                self._reverse(events, x, ev)
            if x.is_write:
                # a write follows every earlier access of its location: nothing older can race
                return
            xc = x.clock
            for u in range(len(seen)):
                if xc[u] > seen[u]:
                    seen[u] = xc[u]

    def _reverse(self, events: list[Event], e: Event, e2: Event) -> None:
        t, k = e.thread, e.tidx
        v = [(x.thread, x.sig) for x in events[e.index + 1:e2.index] if x.clock[t] < k]
        # e2 runs earlier in the new execution and may read another value: a CAS that
        # failed here may succeed there, so assume it writes
        v.append((e2.thread, _as_writing(e2) if e2.op is OpKind.CAS else e2.sig))
        level = self._levels[e.index]
        for q, sig in level.sleep.items():
            if _weak_initial(q, sig, v) is not None:
                return
        self._insert(level.node, v)

    @staticmethod
    def _insert(node: _Node, v: list[tuple[int, _Sig]]) -> None:
        while True:
            for child in node.children:
                rest = _weak_initial(child.thread, child.sig, v)
                if rest is not None:
                    if not child.children or not rest:
                        return
                    node, v = child, rest
                    break
            else:
                for p, s in v:
                    new = _Node(p, s)
                    node.children.append(new)
                    node = new
                return
