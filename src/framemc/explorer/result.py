"""The typed result of an exploration.

Design: a verdict is PASS, VIOLATION or INCONCLUSIVE; a search cut by a
bound, or a check that could not decide, is INCONCLUSIVE, never a pass.
Statistics (including the state-check cache hit rate) travel alongside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from framemc.explorer.bounds import BoundKind, Bounds
from framemc.explorer.trace import Counterexample
from framemc.verdicts import Outcome

__all__ = ["Status", "ExploreStats", "ExploreResult"]


#: an exploration's verdict is the one vocabulary's PASS / VIOLATION / INCONCLUSIVE
Status = Outcome


@dataclass(frozen=True)
class ExploreStats:
    """Counters of one exploration."""

    #: events performed over all executions
    events: int
    #: wall time of the search in seconds (not part of any trace)
    elapsed: float
    #: state checks actually run (cache misses)
    states_checked: int
    #: state checks answered from the cache
    cache_hits: int
    #: executions dropped, not counted: a failed ``assume``, a spin-wait iteration that only read, a lock
    #: wait that a later unlock revisits (GenMC's "blocked executions")
    blocked: int = 0
    #: executions the minimal-preemption search ran after the first counterexample
    minimization_executions: int = 0
    #: distinct consistent execution graphs (po, rf, co) among the executions; the optimal search explores
    #: each once, so it equals ``executions`` there
    consistent_executions: int | None = None
    #: revisits whose graph turned out inconsistent under the memory model and was dropped
    invalid: int = 0
    #: events re-performed to restore a graph before extending it (the program is re-run from setup() for
    #: each explored graph); ``events + replayed`` is every event the search ran
    replayed: int = 0

    @property
    def sleep_blocked(self) -> int:
        """Kept for older callers: the optimal search never abandons an execution, so always 0."""
        return 0

    @property
    def cache_hit_rate(self) -> float:
        """Fraction of state checks answered from the cache (0.0 when none ran)."""
        total = self.states_checked + self.cache_hits
        return self.cache_hits / total if total else 0.0

    @property
    def us_per_event(self) -> float:
        """Microseconds of search time per event added to a graph (restoring graphs included)."""
        return self.elapsed * 1e6 / self.events if self.events else 0.0

    @property
    def us_per_run_event(self) -> float:
        """Microseconds of search time per event the search ran: added or re-performed (``events + replayed``),
        the sum of the explored executions' lengths."""
        total = self.events + self.replayed
        return self.elapsed * 1e6 / total if total else 0.0


@dataclass(frozen=True)
class ExploreResult:
    """What :func:`framemc.explore` found."""

    #: complete executions explored
    executions: int
    #: True when the whole space was explored: no bound cut it and no violation stopped it
    exhaustive: bool
    #: the first counterexample, or None
    violation: Counterexample | None
    #: PASS / VIOLATION / INCONCLUSIVE
    status: Status
    #: counters
    stats: ExploreStats
    #: the bounds the search ran under
    bounds: Bounds
    #: the bound that cut the search, or None
    bound_hit: BoundKind | None = None
    #: checks that could not decide (objects with .name, .message, .witness), by name then message
    inconclusive: tuple[Any, ...] = field(default=())
    #: with ``outcomes=True``: each distinct final observation -> how many executions ended with it.
    #: An observation is a sorted tuple of (label, value): ``"T<i>"`` -> the values thread i's reads
    #: returned, in program order; each named Atomic's name -> its final (co-latest) value
    outcomes: dict[tuple[tuple[str, Any], ...], int] | None = None
    #: a sentence for the reader, e.g. why a replay no longer reproduces its violation
    note: str | None = None
    #: how a search run in pieces (workers, dask, checkpoint) spread its work
    #: (:class:`~framemc.explorer.parallel.ParallelStats`), else None
    parallel: Any = None
