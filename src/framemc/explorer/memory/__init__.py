"""Memory models: one consistency checker per model, behind one interface.

Design (GenMC's ``ConsistencyChecker``): the explorer builds execution
graphs and asks the active model two questions: is this graph consistent,
and what is happens-before in it (for data races and for traces).  The
engine never branches on which model is active; a model is one module here
and one entry in :data:`MODELS`.

Both questions are answered on :class:`Events`, a flat view of a graph
(one event per node: a read-modify-write is two, its read then its write,
as in the axiomatic models).
"""

from __future__ import annotations

from typing import Any, Final, Protocol

from framemc.explorer.graph import Graph, Node
from framemc.sync import Ordering

__all__ = ["Events", "MemoryModelChecker", "MODELS", "checker_for", "acyclic"]

#: event kinds
R: Final = "R"
W: Final = "W"
F: Final = "F"


class Events:
    """A graph as flat events: kind, location, ordering, thread, po index, coherence index."""

    __slots__ = ("graph", "kind", "loc", "order", "thread", "poi", "node", "na", "idx", "rf", "count",
                 "of_node", "by_thread")

    def __init__(self, graph: Graph) -> None:
        #: the graph
        self.graph = graph
        #: per event: "R", "W" or "F"
        self.kind: list[str] = []
        #: per event: location key (None for fences)
        self.loc: list[Any] = []
        #: per event: memory ordering (None for non-atomic accesses)
        self.order: list[Ordering | None] = []
        #: per event: thread
        self.thread: list[int] = []
        #: per event: 1-based index among its thread's events (its vector-clock component)
        self.poi: list[int] = []
        #: per event: the node it belongs to
        self.node: list[Node] = []
        #: per event: True for a non-atomic access
        self.na: list[bool] = []
        #: per event: coherence index (writes: position in co, 1-based; reads: that of the write read)
        self.idx: list[int] = []
        #: per read event: the write event it reads, or None (the initial value)
        self.rf: list[int | None] = []
        #: number of events
        self.count = 0
        #: node position -> its event
        self.of_node: dict[Any, int] = {}
        #: per thread, its events in program order (events are numbered in an order extending po ∪ rf)
        self.by_thread: list[list[int]] = [[] for _ in graph.threads]
        co_pos = {pos: i + 1 for order in graph.co.values() for i, pos in enumerate(order)}
        for n in graph.linearization():
            self.of_node[n.pos] = self._add(n, R if n.reads else W if n.writes else F)
        for e in range(self.count):
            n = self.node[e]
            k = self.kind[e]
            if k == W:
                self.idx[e] = co_pos[n.pos]
            elif k == R:
                self.idx[e] = 0 if n.rf is None else co_pos[n.rf]
                self.rf[e] = None if n.rf is None else self.of_node[n.rf]

    def _add(self, n: Node, kind: str) -> int:
        e = self.count
        self.count += 1
        self.kind.append(kind)
        self.loc.append(n.loc)
        self.order.append(n.order)
        self.thread.append(n.thread)
        mine = self.by_thread[n.thread]
        mine.append(e)
        self.poi.append(len(mine))
        self.node.append(n)
        self.na.append(n.na)
        self.idx.append(0)
        self.rf.append(None)
        return e

    def clocks_from(self, acquire: Any) -> list[tuple[int, ...]]:
        """Happens-before vector clocks: po plus what ``acquire(e, clocks, pending)`` joins in.

        ``acquire`` returns the clocks an event synchronises with, given the
        clocks computed so far (events are visited in an order extending po ∪ rf).
        """
        nt = len(self.by_thread)
        clocks: list[tuple[int, ...]] = [()] * self.count
        last: list[tuple[int, ...]] = [(0,) * nt for _ in range(nt)]
        for e in range(self.count):
            t = self.thread[e]
            c = list(last[t])
            c[t] = self.poi[e]
            for other in acquire(e, clocks):
                for u in range(nt):
                    if other[u] > c[u]:
                        c[u] = other[u]
            clocks[e] = tuple(c)
            last[t] = clocks[e]
        return clocks

    def hb(self, clocks: list[tuple[int, ...]], a: int, b: int) -> bool:
        """True when ``a`` happens before ``b`` (strictly)."""
        return a != b and clocks[b][self.thread[a]] >= self.poi[a]

    def atomic_ok(self) -> bool:
        """Atomicity: every read-modify-write's write is co-immediately after the write it read."""
        for w in range(self.count):
            n = self.node[w]
            if self.kind[w] == W and n.rmw:
                r = self.of_node[(n.thread, n.index - 1)]
                if self.idx[w] != self.idx[r] + 1:
                    return False
        return True

    def races(self, clocks: list[tuple[int, ...]], among: set[int] | None = None) -> tuple[int, int] | None:
        """A pair of conflicting accesses, one non-atomic, unordered by happens-before (None: none).

        With ``among``, only pairs involving those events are examined.
        """
        by_loc: dict[Any, list[int]] = {}
        for e in range(self.count):
            if self.kind[e] != F:
                by_loc.setdefault(self.loc[e], []).append(e)
        for loc, evs in by_loc.items():
            if not any(self.na[e] for e in evs):
                continue
            for i, a in enumerate(evs):
                for b in evs[i + 1:]:
                    if among is not None and a not in among and b not in among:
                        continue
                    if self.thread[a] == self.thread[b] or not (self.na[a] or self.na[b]):
                        continue
                    if self.kind[a] == R and self.kind[b] == R:
                        continue
                    if not self.hb(clocks, a, b) and not self.hb(clocks, b, a):
                        return (a, b)
        return None


def acyclic(succ: list[list[int]], indeg: list[int] | None = None) -> bool:
    """True when the directed graph on nodes ``0..len(succ)-1`` with successor lists ``succ`` has no cycle
    (Kahn's algorithm).  ``indeg``, when the caller counted in-degrees while building ``succ``, is used up."""
    if indeg is None:
        indeg = [0] * len(succ)
        for outs in succ:
            for b in outs:
                indeg[b] += 1
    ready = [a for a, d in enumerate(indeg) if d == 0]
    seen = 0
    while ready:
        a = ready.pop()
        seen += 1
        for b in succ[a]:
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)
    return seen == len(succ)


class MemoryModelChecker(Protocol):
    """What the explorer asks of a memory model."""

    #: the model's name, as ``memory_model=`` spells it
    name: str
    #: True when every consistent graph is an interleaving (coherence and from-reads are respected by program
    #: execution order, as under SC); False for a weak model, whose traces also explain what synchronised
    interleaving: bool

    def consistent(self, graph: Graph) -> bool:
        """True when the execution graph is consistent under this model."""

    def hb_clocks(self, ev: Events) -> list[tuple[int, ...]]:
        """Happens-before vector clocks of every event."""

    def sync_sources(self, ev: Events, e: int) -> tuple[int, ...]:
        """The write (or read) events ``e`` synchronises with, for traces."""


def checker_for(name: str) -> MemoryModelChecker:
    """The checker of the model named ``name``."""
    return MODELS[name]


from framemc.explorer.memory.rc11 import RC11  # noqa: E402
from framemc.explorer.memory.sc import SequentialConsistency  # noqa: E402

#: every memory model, by the name ``memory_model=`` takes
MODELS: dict[str, MemoryModelChecker] = {"sc": SequentialConsistency(), "c11": RC11()}
