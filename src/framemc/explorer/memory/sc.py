"""Sequential consistency: some total order of all events explains every read.

Design: a graph is SC-consistent when po ∪ rf ∪ co ∪ fr is acyclic and every
read-modify-write is atomic (Shasha and Snir; GenMC's ``SCChecker``).  Per
location the coherence relations only depend on each event's coherence
index, so the check is a topological sort over O(events) edges.  Every atomic
access is SeqCst whatever ordering the code names; happens-before is program
order plus every atomic reads-from (a lock reads from the unlock it follows).
"""

from __future__ import annotations

from typing import Any

from framemc.explorer.memory import R, W, Events, acyclic

__all__ = ["SequentialConsistency"]


class SequentialConsistency:
    """The SC consistency checker."""

    #: the name ``memory_model=`` takes
    name = "sc"
    #: every consistent graph is an interleaving
    interleaving = True

    def consistent(self, ev: Events) -> bool:
        """Acyclic po ∪ rf ∪ co ∪ fr, and atomic read-modify-writes."""
        if not ev.atomic_ok():
            return False
        succ: list[list[int]] = [[] for _ in range(ev.count)]
        for evs in ev.by_thread:
            for a, b in zip(evs, evs[1:]):
                succ[a].append(b)
        layers: dict[Any, dict[int, tuple[list[int], list[int]]]] = {}
        for e in range(ev.count):
            k = ev.kind[e]
            if k == R or k == W:
                per = layers.setdefault(ev.loc[e], {})
                slot = per.setdefault(ev.idx[e], ([], []))
                slot[0 if k == W else 1].append(e)
        for per in layers.values():
            keys = sorted(per)
            for i, c in enumerate(keys):
                writes, reads = per[c]
                nxt = per[keys[i + 1]][0] if i + 1 < len(keys) else []
                for w in writes:
                    succ[w].extend(reads)
                    succ[w].extend(nxt)
                for r in reads:
                    succ[r].extend(nxt)
        return acyclic(dict(enumerate(succ)))

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
