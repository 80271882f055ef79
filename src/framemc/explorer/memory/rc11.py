"""RC11 (Lahav, Vafeiadis, Kang, Hur, Dreyer, PLDI 2017) with C++20 release sequences.

Design: the axioms, checked on the whole graph.  A graph is consistent when

* coherence: ``hb ; eco?`` is irreflexive;
* atomicity: no write comes between a read-modify-write and the write it read;
* SC: ``psc = psc_base ∪ psc_F`` is acyclic over SeqCst events, with
  ``scb = po ∪ po;hb;po ∪ hb|loc ∪ co ∪ fr``,
  ``psc_base = ([Esc] ∪ [Fsc];hb?) ; scb ; ([Esc] ∪ hb?;[Fsc])`` and
  ``psc_F = [Fsc] ; (hb ∪ hb;eco;hb) ; [Fsc]`` — SeqCst accesses are ordered
  only through psc, never as if fenced;
* no thin air: ``po ∪ rf`` is acyclic (the explorer never builds a graph
  that breaks it).

Happens-before is ``(po ∪ sw)+`` with
``sw = [E⊒rel] ; ([F] ; po)? ; rs ; rf ; [R⊒rlx] ; (po ; [F])? ; [E⊒acq]``
and the C++20 release sequence ``rs = [W] ; (rf ; rmw)*`` (P0982R1): only
read-modify-writes extend it, not later stores of the releasing thread.
A lock is an acquire read-modify-write and an unlock a release store.
Non-atomic accesses never synchronise; unordered conflicting ones race.

The middle term of ``scb`` is ``po ; hb ; po``, as in the C++20 standard's
"strongly happens before" ([intro.races], 12.3: A sequenced before B, B simply
happens before C, C sequenced before D) and in GenMC; the RC11 paper writes
``po|≠loc ; hb ; po|≠loc``, which is weaker: it allows two of GenMC's Z6.U
and one of its WWmerge1 graphs that C++20 forbids.

Coherence uses each event's coherence index (see :class:`Events`): ``eco``
relates a to b exactly when a's index is smaller, or equal with a a write
and b a read.
"""

from __future__ import annotations

from framemc.explorer.graph import Graph
from framemc.explorer.memory import F, R, W, Events, acyclic
from framemc.sync import Ordering

__all__ = ["RC11"]


def _is_rel(order: Ordering | None) -> bool:
    return order is not None and order.is_release


def _is_acq(order: Ordering | None) -> bool:
    return order is not None and order.is_acquire


class RC11:
    """The RC11 consistency checker (C++20 release sequences)."""

    #: the name ``memory_model=`` takes
    name = "c11"
    #: a weak model: reads may see older writes, so traces explain synchronisation
    interleaving = False

    # ------------------------------------------------------------ happens-before

    def _heads(self, ev: Events, w: int) -> list[int]:
        """Events whose release ``w`` belongs to: release heads and release fences po-before them."""
        out = []
        h: int | None = w
        while h is not None:
            if _is_rel(ev.order[h]):
                out.append(h)
            fence = self._last_release_fence(ev, h)
            if fence is not None:
                out.append(fence)
            node = ev.node[h]
            # rs = [W]; (rf; rmw)*: an RMW's write continues the sequence of the write its read read
            h = ev.rf[ev.of_node[(node.thread, node.index - 1)]] if node.rmw else None
        return out

    @staticmethod
    def _last_release_fence(ev: Events, e: int) -> int | None:
        evs = ev.by_thread[ev.thread[e]]
        for x in reversed(evs[:ev.poi[e] - 1]):
            if ev.kind[x] == F and _is_rel(ev.order[x]):
                return x
        return None

    def _message(self, ev: Events, r: int) -> list[int]:
        """The release events an atomic read ``r`` reads a message of."""
        w = ev.rf[r]
        if ev.na[r] or w is None:
            return []
        return self._heads(ev, w)

    def sync_sources(self, ev: Events, e: int) -> tuple[int, ...]:
        """The release events ``e`` synchronises with (an acquire read, or an acquire fence)."""
        if ev.kind[e] == R and _is_acq(ev.order[e]):
            return tuple(sorted(set(self._message(ev, e))))
        if ev.kind[e] == F and _is_acq(ev.order[e]):
            out: set[int] = set()
            for x in ev.by_thread[ev.thread[e]][:ev.poi[e] - 1]:
                if ev.kind[x] == R:
                    out.update(self._message(ev, x))
            return tuple(sorted(out))
        return ()

    def hb_clocks(self, ev: Events) -> list[tuple[int, ...]]:
        """(po ∪ sw)+ as vector clocks."""
        def acquire(e: int, clocks: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
            return [clocks[s] for s in self.sync_sources(ev, e)]
        return ev.clocks_from(acquire)

    # ------------------------------------------------------------ consistency

    def consistent(self, graph: Graph) -> bool:
        """Coherence, atomicity and acyclic psc."""
        ev = Events(graph)
        if not ev.atomic_ok():
            return False
        clocks = self.hb_clocks(ev)
        by_loc: dict[object, list[int]] = {}
        for e in range(ev.count):
            if ev.kind[e] != F:
                by_loc.setdefault(ev.loc[e], []).append(e)
        for evs in by_loc.values():
            for a in evs:
                for b in evs:
                    if ev.hb(clocks, a, b) and self._eco(ev, b, a):
                        return False
        return self._psc_acyclic(ev, clocks, by_loc)

    @staticmethod
    def _eco(ev: Events, a: int, b: int) -> bool:
        ia, ib = ev.idx[a], ev.idx[b]
        return ia < ib or (ia == ib and ev.kind[a] == W and ev.kind[b] == R)

    def _psc_acyclic(self, ev: Events, clocks: list[tuple[int, ...]], by_loc: dict[object, list[int]]) -> bool:
        n = ev.count
        sc = [e for e in range(n) if ev.order[e] is Ordering.SEQ_CST]
        if len(sc) < 2:
            return True
        hb = [0] * n
        hbpred = [0] * n
        for a in range(n):
            for b in range(n):
                if ev.hb(clocks, a, b):
                    hb[a] |= 1 << b
                    hbpred[b] |= 1 << a
        po = [0] * n
        for evs in ev.by_thread:
            for i, a in enumerate(evs):
                for b in evs[i + 1:]:
                    po[a] |= 1 << b
        same = [0] * n
        cofr = [0] * n
        eco = [0] * n
        for evs in by_loc.values():
            mask = 0
            for e in evs:
                mask |= 1 << e
            for a in evs:
                same[a] = mask
                for b in evs:
                    if a != b and self._eco(ev, a, b):
                        eco[a] |= 1 << b
                        if ev.kind[b] == W and ev.idx[a] < ev.idx[b]:
                            cofr[a] |= 1 << b  # co (a a write) or fr (a a read)

        def bits(mask: int) -> list[int]:
            out = []
            while mask:
                low = mask & -mask
                out.append(low.bit_length() - 1)
                mask ^= low
            return out

        def compose(rel: list[int], other: list[int]) -> list[int]:
            out = [0] * n
            for a in range(n):
                acc = 0
                for x in bits(rel[a]):
                    acc |= other[x]
                out[a] = acc
            return out

        middle = compose(compose(po, hb), po)
        scb = [po[a] | middle[a] | (hb[a] & same[a]) | cofr[a] for a in range(n)]
        fences = {e for e in sc if ev.kind[e] == F}
        hb_eco_hb = compose(compose(hb, eco), hb)
        edges: dict[int, list[int]] = {a: [] for a in sc}
        dense = {e: i for i, e in enumerate(edges)}
        for a in sc:
            start = 1 << a
            if a in fences:
                start |= hb[a]
            row = 0
            for x in bits(start):
                row |= scb[x]
            for b in sc:
                if row >> b & 1 or (b in fences and row & hbpred[b]):
                    edges[a].append(b)
                elif a in fences and b in fences and ((hb[a] | hb_eco_hb[a]) >> b & 1):
                    edges[a].append(b)
        return acyclic([[dense[b] for b in outs] for outs in edges.values()])
