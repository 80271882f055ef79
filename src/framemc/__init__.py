"""framemc: a formal-model checker for the physical frame allocators of Rust kernels.

The public API is the explorer's: write a scenario ``setup()`` returning
threads built on the atomics stand-ins below, then call :func:`explore`
(or :func:`replay` a counterexample).  ``Atomic``, ``Cell``, ``Mutex``,
``Ordering`` and ``fence`` are the very objects of ``framemc.sync``.
"""

from framemc.errors import CheckerBug, FramemcError, KernelError, UsageError
from framemc.explorer import (BoundKind, Bounds, CheckFailure, Counterexample, ExploreResult, ExploreStats,
                             MemoryModel, Reduction, Status, TraceEvent, ViolationKind, explore, name_values,
                             replay, watch)
from framemc.sync import Atomic, Cell, Mutex, Ordering, SpinLock, assume, current_cpu, fence, spin_loop

__all__ = [
    "Atomic", "Cell", "Mutex", "SpinLock", "Ordering", "fence", "spin_loop", "assume", "current_cpu",
    "explore", "replay", "watch", "name_values", "CheckFailure", "Bounds", "BoundKind", "MemoryModel", "Reduction",
    "ExploreResult", "ExploreStats", "Status", "Counterexample", "TraceEvent", "ViolationKind",
    "FramemcError", "UsageError", "CheckerBug", "KernelError",
]
