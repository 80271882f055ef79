"""Execution graphs: events per thread, reads-from and modification order.

Design (GenMC's execution graphs, Kokologiannakis et al.): one :class:`Node`
per event, in program order per thread.  A node reads (``rf`` names the
write it reads, or None for the location's initial value), writes (it then
has a place in its location's modification order ``co``) or is a fence.  A
read-modify-write (a successful CAS, fetch_add, swap, a lock acquisition) is
two nodes, its read and then its write, and the write is co-immediately after
the write the read read.  A failed CAS is its read alone.
Every node carries the *stamp* of the moment it was added: the exploration
order that the TruSt algorithm reasons about.

Positions ``(thread, index)`` name nodes, so that a graph is copied by
copying plain lists, and a copy restricted to a prefix per thread (a *view*)
is a valid graph once the reads whose writes were cut are repaired.
"""

from __future__ import annotations

import heapq
from typing import Any


from framemc.explorer.events import LocationInfo
from framemc.explorer.opkind import OpKind
from framemc.explorer.program import hashable_value
from framemc.sync import FULL_MASK, Ordering

__all__ = ["Node", "Graph", "Pos", "View"]

#: a node's name: (thread, index in the thread)
Pos = tuple[int, int]
#: per thread, how many of its nodes are included
View = tuple[int, ...]


class Node:
    """One operation of one thread in an execution graph."""

    __slots__ = ("thread", "index", "stamp", "op", "loc", "info", "order", "reads", "writes", "rf", "rval",
                 "wval", "args", "na", "max_r", "max_w", "stable", "source", "cas_expected", "rmw", "rmw_op",
                 "blocks", "orders", "mask")

    def __init__(self, thread: int = 0, index: int = 0, op: OpKind = OpKind.FENCE, info: LocationInfo | None = None,
                 order: Ordering | None = None, source: str = "") -> None:
        # (the defaults let pickle make a blank node, as the compiled core's classes require)
        #: thread index
        self.thread = thread
        #: position in the thread (0-based)
        self.index = index
        #: when the node was added (exploration order)
        self.stamp = 0
        #: the operation
        self.op = op
        #: location key, or None (fence)
        self.loc: Any = None if info is None else info.key
        #: the location's per-run info (name for traces)
        self.info = info
        #: effective memory ordering (a failed CAS: its failure ordering); None for non-atomic accesses
        self.order = order
        #: True when the node reads its location
        self.reads = False
        #: True when the node writes its location (it then sits in ``co``)
        self.writes = False
        #: position of the write read, or None for the initial value (reads only)
        self.rf: Pos | None = None
        #: value read
        self.rval: Any = None
        #: value written
        self.wval: Any = None
        #: operands for traces (CAS expected/new, RMW operand)
        self.args: tuple[Any, ...] = ()
        #: True for a non-atomic access (Cell, payload Location)
        self.na = False
        #: the read was added reading the co-latest write (TruSt's "added maximally")
        self.max_r = True
        #: the write was added at the co-latest position
        self.max_w = True
        #: True when no backward revisit may change this read (it is in a revisiting write's prefix)
        self.stable = False
        #: ``file:line`` of the operation
        self.source = source
        #: a CAS's expected value (its write part exists only when the value read equals it)
        self.cas_expected: Any = None
        #: True for the read of a read-modify-write, and for its write
        self.rmw = False
        #: the operation's operand (RMW operand, CAS new value), for the write part
        self.rmw_op: Any = None
        #: True for a lock acquisition that read a locked mutex (its thread waits)
        self.blocks = False
        #: a CAS's (success, failure) orderings
        self.orders: tuple[Ordering | None, Ordering | None] = (order, order)
        #: the location's value mask (an RMW's write wraps to it)
        self.mask = FULL_MASK

    def clone(self) -> "Node":
        """A copy (positions are plain tuples, so nothing else needs copying)."""
        c = Node(self.thread, self.index, self.op, self.info, self.order, self.source)
        c.stamp = self.stamp
        c.loc = self.loc
        c.reads = self.reads
        c.writes = self.writes
        c.rf = self.rf
        c.rval = self.rval
        c.wval = self.wval
        c.args = self.args
        c.na = self.na
        c.max_r = self.max_r
        c.max_w = self.max_w
        c.stable = self.stable
        c.cas_expected = self.cas_expected
        c.rmw = self.rmw
        c.rmw_op = self.rmw_op
        c.blocks = self.blocks
        c.orders = self.orders
        c.mask = self.mask
        return c

    @property
    def pos(self) -> Pos:
        """This node's position."""
        return (self.thread, self.index)


    def __repr__(self) -> str:
        parts = [f"T{self.thread}.{self.index}", self.op.value]
        if self.loc is not None:
            parts.append(str(self.info.name if self.info else self.loc))
        if self.reads:
            parts.append(f"rf={self.rf}:{self.rval!r}")
        if self.writes:
            parts.append(f"w={self.wval!r}")
        return f"<{' '.join(parts)} @{self.stamp}>"


class Graph:
    """An execution graph: nodes per thread, rf on reads, co per location."""

    __slots__ = ("threads", "co", "init", "next_stamp")

    def __init__(self, nthreads: int = 0) -> None:
        # (the default lets pickle make a blank graph, as the compiled core's classes require)
        #: per thread, its nodes in program order
        self.threads: list[list[Node]] = [[] for _ in range(nthreads)]
        #: location key -> positions of its writes in modification order (the initial value is implicit, first)
        self.co: dict[Any, list[Pos]] = {}
        #: location key -> initial value
        self.init: dict[Any, Any] = {}
        #: stamp the next added node gets
        self.next_stamp = 0

    # ------------------------------------------------------------ access

    def node(self, pos: Pos) -> Node:
        """The node at ``pos``."""
        return self.threads[pos[0]][pos[1]]

    def nodes(self) -> list[Node]:
        """Every node, thread by thread."""
        return [n for nodes in self.threads for n in nodes]

    def size(self) -> int:
        """Number of nodes."""
        return sum(len(nodes) for nodes in self.threads)

    def view(self) -> View:
        """The view containing the whole graph."""
        return tuple(len(nodes) for nodes in self.threads)

    def contains(self, view: View, pos: Pos | None) -> bool:
        """True when ``pos`` (None: an initial value) lies in ``view``."""
        return pos is None or pos[1] < view[pos[0]]

    def value_of(self, loc: Any, pos: Pos | None) -> Any:
        """The value written by ``pos`` (None: the initial value of ``loc``)."""
        return self.init[loc] if pos is None else self.node(pos).wval

    def co_max(self, loc: Any) -> Pos | None:
        """The co-latest write to ``loc`` (None: the initial value)."""
        order = self.co.get(loc)
        return order[-1] if order else None

    def co_index(self, pos: Pos | None) -> int:
        """Position in its location's modification order (the initial value is 0)."""
        if pos is None:
            return 0
        return self.co[self.node(pos).loc].index(pos) + 1

    def co_positions(self) -> dict[Pos, int]:
        """Every write's place in its location's modification order (1-based, as :meth:`co_index`)."""
        return {p: i for order in self.co.values() for i, p in enumerate(order, 1)}

    def identity(self, n: Node) -> tuple[Any, ...]:
        """What makes ``n`` the same event in another graph of the same program.

        Its operation and location, the write it read and the write before it in modification
        order (by position), and the value it wrote.  A thread's chain of these identities fixes
        what it has done, so equal chains are equal states (``states``), and equal graphs have
        equal identities everywhere (the plain search's count of distinct graphs).
        """
        co_pred = None
        if n.writes:
            order = self.co[n.loc]
            i = order.index(n.pos)
            co_pred = order[i - 1] if i else None
        return (n.op, n.loc, n.rf if n.reads else None, co_pred,
                hashable_value(n.wval) if n.writes else None, n.blocks)

    def readers(self, loc: Any) -> list[Node]:
        """Every node that reads ``loc``."""
        return [n for nodes in self.threads for n in nodes if n.reads and n.loc == loc]

    # ------------------------------------------------------------ change

    def add(self, node: Node) -> Node:
        """Append ``node`` to its thread with the next stamp."""
        if node.index != len(self.threads[node.thread]):
            raise AssertionError(f"node {node.pos} added out of program order")
        node.stamp = self.next_stamp
        self.next_stamp += 1
        self.threads[node.thread].append(node)
        return node

    def insert_co(self, node: Node, after: Pos | None) -> None:
        """Place ``node``'s write immediately after ``after`` (None: first) in modification order."""
        order = self.co.setdefault(node.loc, [])
        order.insert(0 if after is None else order.index(after) + 1, node.pos)

    def remove_co(self, node: Node) -> None:
        """Take ``node``'s write out of modification order."""
        self.co[node.loc].remove(node.pos)

    def copy(self, view: View | None = None) -> "Graph":
        """A copy holding only the nodes in ``view`` (all when None); reads of cut writes dangle."""
        g = Graph(len(self.threads))
        if view is None:
            view = self.view()
        g.threads = [[n.clone() for n in nodes[:view[t]]] for t, nodes in enumerate(self.threads)]
        g.co = {loc: [p for p in order if p[1] < view[p[0]]] for loc, order in self.co.items()}
        g.init = dict(self.init)
        g.next_stamp = self.next_stamp
        return g

    def restrict(self, view: View) -> None:
        """Cut every node outside ``view``, in place."""
        for t, nodes in enumerate(self.threads):
            del nodes[view[t]:]
        for loc, order in self.co.items():
            order[:] = [p for p in order if p[1] < view[p[0]]]

    def stamp_view(self, stamp: int) -> View:
        """The nodes added at or before ``stamp`` (stamps grow along each thread)."""
        out = []
        for nodes in self.threads:
            k = len(nodes)
            while k and nodes[k - 1].stamp > stamp:
                k -= 1
            out.append(k)
        return tuple(out)

    def dangling(self) -> list[Node]:
        """Reads whose write is no longer in the graph."""
        out = []
        for nodes in self.threads:
            for n in nodes:
                if n.reads and n.rf is not None and (n.rf[1] >= len(self.threads[n.rf[0]])
                                                     or not self.node(n.rf).writes):
                    out.append(n)
        return out

    # ------------------------------------------------------------ prefixes

    def porf(self, pos: Pos) -> View:
        """The (po ∪ rf)* prefix of ``pos`` (``pos`` included), as a view."""
        view = [0] * len(self.threads)
        stack = [pos]
        while stack:
            t, i = stack.pop()
            if view[t] > i:
                continue
            for j in range(view[t], i + 1):
                n = self.threads[t][j]
                if n.reads and n.rf is not None and view[n.rf[0]] <= n.rf[1]:
                    stack.append(n.rf)
            view[t] = i + 1
        return tuple(view)

    def order_preds(self, sc: bool) -> dict[Pos, set[Pos]]:
        """Immediate predecessors of each node in po ∪ rf, plus co ∪ fr when ``sc`` (an SC run's order)."""
        preds: dict[Pos, set[Pos]] = {}
        for nodes in self.threads:
            prev = None
            for n in nodes:
                mine = preds[n.pos] = set()
                if prev is not None:
                    mine.add(prev)
                if n.reads and n.rf is not None:
                    mine.add(n.rf)
                prev = n.pos
        if sc:
            for order in self.co.values():
                for a, b in zip(order, order[1:]):
                    preds[b].add(a)
            for nodes in self.threads:
                for n in nodes:
                    if n.reads:
                        order = self.co.get(n.loc, [])
                        start = 0 if n.rf is None else order.index(n.rf) + 1
                        for w in order[start:]:
                            if w != (n.thread, n.index + 1):
                                preds[w].add(n.pos)
        return preds

    def readable_order(self, sc: bool) -> list[Node]:
        """An order of every node that a reader can follow: it extends po ∪ rf (and co ∪ fr under SC),
        keeps running one thread while it can, and otherwise takes the earliest-added node."""
        preds = self.order_preds(sc)
        waiting = {p: len(ps) for p, ps in preds.items()}
        succs: dict[Pos, list[Pos]] = {p: [] for p in preds}
        for p, ps in preds.items():
            for q in ps:
                succs[q].append(p)
        ready = {p for p, k in waiting.items() if k == 0}
        out: list[Node] = []
        done = [0] * len(self.threads)
        current = None
        while ready:
            nxt = None
            if current is not None:
                cand = (current, done[current])
                if cand in ready:
                    nxt = cand
            if nxt is None:
                nxt = min(ready, key=lambda p: self.node(p).stamp)
            ready.discard(nxt)
            node = self.node(nxt)
            out.append(node)
            current = node.thread
            done[current] += 1
            for q in succs[nxt]:
                waiting[q] -= 1
                if waiting[q] == 0:
                    ready.add(q)
        if len(out) != self.size():
            raise AssertionError("the graph's order is cyclic")
        return out

    def linearization(self) -> list[Node]:
        """Every node in an order extending po and rf that runs one thread as long as it can.

        A thread goes on until its next node reads a write not yet in the order; then the thread whose
        next node was added first (a heap holds each waiting thread's next stamp) takes over.
        :class:`framemc.explorer.memory.Events` numbers a graph's events in this order.
        """
        threads = self.threads
        done = [0] * len(threads)
        out: list[Node] = []
        heap: list[tuple[int, int]] = []
        waiting: dict[Pos, list[int]] = {}
        push, pop = heapq.heappush, heapq.heappop

        def ready(t: int) -> bool:
            """Can thread ``t``'s next node go now?  (Else it waits for the write it reads.)"""
            n = threads[t][done[t]]
            rf = n.rf
            if n.reads and rf is not None and rf[1] >= done[rf[0]]:
                waiting.setdefault(rf, []).append(t)
                return False
            return True

        for t, nodes in enumerate(threads):
            if nodes and ready(t):
                push(heap, (nodes[0].stamp, t))
        while heap:
            t = pop(heap)[1]
            nodes = threads[t]
            i = done[t]
            while True:
                out.append(nodes[i])
                i += 1
                done[t] = i
                if waiting:
                    for u in waiting.pop((t, i - 1), ()):
                        if ready(u):
                            push(heap, (threads[u][done[u]].stamp, u))
                if i == len(nodes) or not ready(t):
                    break
        if len(out) != self.size():
            raise AssertionError("po ∪ rf is cyclic")
        return out
