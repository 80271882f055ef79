"""The search loop shared by every strategy: run, backtrack, count, stop at a bound.

Design (stateright's split): a strategy (:class:`~framemc.explorer.dpor.OptimalDPOR`
or :class:`~framemc.explorer.plain.PlainDFS`) only chooses threads and plans
the next execution; this loop owns the executions, the statistics and the
bounds on the whole search.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from framemc.explorer.bounds import BoundKind, Bounds, MemoryModel, Reduction
from framemc.explorer.dpor import OptimalDPOR
from framemc.explorer.events import SourceLocator, creation_hook
from framemc.explorer.execution import Execution, ExecutionRecord, Outcome
from framemc.explorer.plain import PlainDFS
from framemc.explorer.watch import StateChecker

__all__ = ["SearchOutcome", "run_search"]


@dataclass
class SearchOutcome:
    """What one search found, before it becomes a public result."""

    #: complete executions (those ending in a violation included)
    executions: int
    #: events over all executions, abandoned ones included
    events: int
    #: the execution that violated something, or None
    failing: ExecutionRecord | None
    #: the bound that cut the search, or None
    cut: BoundKind | None
    #: executions abandoned because every enabled thread was asleep
    sleep_blocked: int
    #: wall time in seconds
    elapsed: float
    #: distinct execution graphs (po, rf, mo) among the complete executions (C11), else None
    consistent: int | None = None
    #: executions abandoned because a spin loop re-read a stale store (C11 await)
    assume_blocked: int = 0


def run_search(setup: Callable[[], Any], bounds: Bounds, reduction: Reduction,
               checker: StateChecker, locator: SourceLocator, shortest: bool = False,
               model: MemoryModel = MemoryModel.SC) -> SearchOutcome:
    """Explore ``setup`` until the space is exhausted, a violation is found or a bound cuts.

    With ``shortest`` the search goes on past violations and keeps the one with the fewest events.
    """
    strategy = OptimalDPOR(bounds) if reduction is Reduction.OPTIMAL else PlainDFS(bounds)
    execution = Execution(setup, bounds, checker, locator, model)
    start = time.perf_counter()
    executions = events = 0
    failing = None
    cut = None
    graphs: set[Any] = set()
    with creation_hook(execution.created):
        while True:
            record = execution.run(strategy)
            events += len(record.events)
            if record.outcome is not Outcome.ABANDONED:
                executions += 1
                if record.graph is not None:
                    graphs.add(record.graph)
            if record.outcome is Outcome.VIOLATION:
                if failing is None or len(record.events) < len(failing.events):
                    failing = record
                if not shortest:
                    break
            if not strategy.backtrack(record):
                cut = strategy.cut
                break
            if bounds.max_executions is not None and executions >= bounds.max_executions:
                cut = BoundKind.MAX_EXECUTIONS
                break
            if bounds.time_budget is not None and time.perf_counter() - start > bounds.time_budget:
                cut = BoundKind.TIME_BUDGET
                break
    consistent = len(graphs) if model is MemoryModel.C11 else None
    return SearchOutcome(executions, events, failing, cut, strategy.sleep_blocked,
                         time.perf_counter() - start, consistent, execution.assume_blocked)
