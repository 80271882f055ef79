"""Sequential consistency: some total order of all events explains every read.

Design: a graph is SC-consistent when po ∪ rf ∪ co ∪ fr is acyclic and every
read-modify-write is atomic (Shasha and Snir; GenMC's ``SCChecker``).  Per
location the coherence relations only depend on each event's coherence
index, so the check is a topological sort over O(events) edges.  Every atomic
access is SeqCst whatever ordering the code names; happens-before is program
order plus every atomic reads-from (a lock reads from the unlock it follows).
"""

from __future__ import annotations

from framemc.explorer.graph import Graph, Pos
from framemc.explorer.memory import R, Events, acyclic

__all__ = ["SequentialConsistency"]


class SequentialConsistency:
    """The SC consistency checker."""

    #: the name ``memory_model=`` takes
    name = "sc"
    #: every consistent graph is an interleaving
    interleaving = True

    def consistent(self, graph: Graph) -> bool:
        """Acyclic po ∪ rf ∪ co ∪ fr, and atomic read-modify-writes.

        Checked on the graph itself (no :class:`Events` view): events are numbered thread by
        thread, fr goes to the co-immediate successor of the write read (co is a chain, so that
        implies the rest), and Kahn's algorithm looks for a cycle.  This runs once per explored
        graph, so it is kept to plain list work.
        """
        threads = graph.threads
        base: list[int] = []
        count = 0
        for nodes in threads:
            base.append(count)
            count += len(nodes)
        succ: list[list[int]] = [[] for _ in range(count)]
        indeg = [0] * count
        at: dict[Pos, int] = {}
        for order in graph.co.values():
            prev = -1
            for i, p in enumerate(order):
                at[p] = i
                e = base[p[0]] + p[1]
                if prev >= 0:
                    succ[prev].append(e)
                    indeg[e] += 1
                prev = e
        for t, nodes in enumerate(threads):
            e = base[t]
            last = e + len(nodes) - 1
            for n in nodes:
                if e < last:
                    succ[e].append(e + 1)
                    indeg[e + 1] += 1
                if n.reads:
                    rf = n.rf
                    later = graph.co.get(n.loc)
                    if rf is not None:
                        w = base[rf[0]] + rf[1]
                        succ[w].append(e)
                        indeg[e] += 1
                        i = at[rf] + 1
                    else:
                        i = 0
                    if later is not None and i < len(later):
                        f = later[i]
                        succ[e].append(base[f[0]] + f[1])
                        indeg[base[f[0]] + f[1]] += 1
                elif n.rmw and n.writes:
                    rf = nodes[n.index - 1].rf
                    if at[n.pos] != (0 if rf is None else at[rf] + 1):
                        return False
                e += 1
        return acyclic(succ, indeg)

    def hb_clocks(self, ev: Events) -> list[tuple[int, ...]]:
        """Program order plus every atomic reads-from edge."""
        def acquire(e: int, clocks: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
            src = self._source(ev, e)
            return [] if src is None else [clocks[src]]
        return ev.clocks_from(acquire)

    def sync_sources(self, ev: Events, e: int) -> tuple[int, ...]:
        """The atomic write an atomic read reads from."""
        src = self._source(ev, e)
        return () if src is None else (src,)

    @staticmethod
    def _source(ev: Events, e: int) -> int | None:
        if ev.kind[e] != R or ev.na[e]:
            return None
        return ev.rf[e]
