"""The search entry point shared by ``explore``, minimisation and the suite runner.

Design (stateright's split): the engine (:mod:`~framemc.explorer.engine`)
owns executions, graphs and bounds; this module only picks the mode.  The
optimal search is TruSt over execution graphs; the plain search visits every
schedule (and, under C11, every consistent reads-from and modification-order
choice).  A preemption bound is honoured exactly only by the plain search,
so a bounded search always runs plain.
"""

from __future__ import annotations

from typing import Any, Callable

from framemc.explorer.bounds import Bounds, MemoryModel, Reduction
from framemc.explorer.engine import Explorer, SearchOutcome
from framemc.explorer.events import SourceLocator
from framemc.explorer.watch import StateChecker

__all__ = ["SearchOutcome", "run_search"]


def run_search(setup: Callable[[], Any], bounds: Bounds, reduction: Reduction,
               checker: StateChecker, locator: SourceLocator, shortest: bool = False,
               model: MemoryModel = MemoryModel.SC, outcomes: bool = False,
               progress: Callable[[int, int, float], None] | None = None) -> SearchOutcome:
    """Explore ``setup`` until the space is exhausted, a violation is found or a bound cuts.

    With ``shortest`` the search goes on past violations and keeps the one with the fewest events.
    """
    optimal = reduction is Reduction.OPTIMAL and bounds.preemption_bound is None
    explorer = Explorer(setup, bounds, model, checker, locator, optimal=optimal, outcomes=outcomes,
                        shortest=shortest, progress=progress)
    return explorer.search()
