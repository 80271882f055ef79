"""The bounded interleaving explorer: controlled scheduling of plain Python threads with optimal DPOR.

Design: ``execution`` runs one interleaving as the atomics layer's runtime;
``dpor`` (optimal DPOR with wakeup trees) and ``plain`` (no reduction) are
search strategies over executions; ``search`` is the loop they share;
``trace`` turns a failing execution into a readable, replayable
counterexample; ``watch`` is the frame-agnostic state-check hook; ``c11``
is the RC11 memory (store lists, views, messages) used under ``memory_model="c11"``.
"""

from framemc.explorer.api import explore, replay
from framemc.explorer.bounds import BoundKind, Bounds, MemoryModel, Reduction
from framemc.explorer.result import ExploreResult, ExploreStats, Status
from framemc.explorer.trace import Counterexample, TraceEvent
from framemc.explorer.violation import ViolationKind
from framemc.explorer.watch import CheckFailure, name_values, watch

__all__ = [
    "explore", "replay", "watch", "name_values", "CheckFailure", "Bounds", "BoundKind", "MemoryModel", "Reduction",
    "ExploreResult", "ExploreStats", "Status", "Counterexample", "TraceEvent", "ViolationKind",
]
