"""The bounded explorer: controlled scheduling of plain Python threads, each consistent execution graph once.

Design: ``program`` runs the scenario's threads as greenlets and stops them at
every shared access; ``graph`` holds execution graphs (po, rf, co); ``engine``
is the TruSt search over them (optimal: once per Mazurkiewicz trace under sc,
once per RC11/C++20-consistent graph under c11) and the plain search over every
schedule; ``memory`` holds the consistency checkers behind one interface;
``states`` checks watched state in every state a graph passes through;
``parallel`` runs the optimal search in pieces on worker processes, a Dask
cluster or across checkpoints, merged by search order into the one-process
result; ``trace`` turns a failing execution into a readable, replayable
counterexample; ``watch`` is the frame-agnostic state-check hook.
"""

from framemc.explorer import core as _core

_core.install()  # the compiled core or its sources, before anything imports them

from framemc.explorer.api import explore, replay  # noqa: E402
from framemc.explorer.bounds import BoundKind, Bounds, MemoryModel, Reduction
from framemc.explorer.result import ExploreResult, ExploreStats, Status
from framemc.explorer.trace import Counterexample, TraceEvent
from framemc.explorer.violation import ViolationKind
from framemc.explorer.watch import CheckFailure, name_values, watch

__all__ = [
    "explore", "replay", "watch", "name_values", "CheckFailure", "Bounds", "BoundKind", "MemoryModel", "Reduction",
    "ExploreResult", "ExploreStats", "Status", "Counterexample", "TraceEvent", "ViolationKind",
]
