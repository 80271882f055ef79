"""Search bounds and search options, as one frozen value.

Design: like a TLA+ config file, bounds live apart from the scenario.  A
:class:`Bounds` is validated once when it is built, so the search never meets
an impossible bound; every cut the search makes is named by a
:class:`BoundKind` and turns the result non-exhaustive.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from framemc.errors import UsageError

__all__ = ["Bounds", "BoundKind", "MemoryModel", "Reduction", "DEFAULT_MAX_STEPS"]

#: events one thread may perform before its loop counts as non-terminating
DEFAULT_MAX_STEPS = 1000


class BoundKind(enum.Enum):
    """Which bound cut a search (so the result is not exhaustive)."""

    MAX_EXECUTIONS = "max_executions"
    PREEMPTIONS = "preemption_bound"
    TIME_BUDGET = "time_budget"


def _model_names() -> tuple[str, ...]:
    from framemc.explorer.memory import MODELS
    return tuple(MODELS)


def _member(cls: type[enum.Enum], value: object, expectation: str) -> Any:
    if isinstance(value, cls):
        return value
    if isinstance(value, str) and value in {m.value for m in cls}:
        return cls(value)
    raise UsageError(f"{expectation}, got {value!r}")


class _MemoryModels(enum.Enum):
    """The memory model executions follow: one member per entry of ``framemc.explorer.memory.MODELS``."""

    @classmethod
    def parse(cls, value: object) -> "MemoryModel":
        """The member named by ``value`` (a member or its string); UsageError otherwise."""
        names = [m.value for m in cls]
        return _member(cls, value, f"memory_model must be {' or '.join(repr(n) for n in names)}")


#: the memory models, built from the registry of consistency checkers (a new model is one file and one entry
#: there): ``MemoryModel.SC``, ``MemoryModel.C11``, ...
MemoryModel = _MemoryModels("MemoryModel", {name.upper(): name for name in _model_names()}, module=__name__)


class Reduction(enum.Enum):
    """How the search prunes equivalent interleavings."""

    #: optimal DPOR: one execution per Mazurkiewicz trace
    OPTIMAL = "optimal"
    #: every interleaving of every scheduling point (for cross-checking)
    NONE = "none"

    @classmethod
    def parse(cls, value: object) -> "Reduction":
        """The member named by ``value`` (a member or its string); UsageError otherwise."""
        return _member(cls, value, "reduction must be 'optimal' or 'none'")


def _positive_int(name: str, value: object, *, allow_zero: bool) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"{name} must be an int or None, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        floor = "zero or more" if allow_zero else "at least 1"
        raise UsageError(f"{name} must be {floor}, got {value}")


@dataclass(frozen=True)
class Bounds:
    """Limits on one exploration; None means unbounded."""

    #: stop after this many complete executions
    max_executions: int | None = None
    #: at most this many preemptive context switches per execution
    preemption_bound: int | None = None
    #: events one thread may perform; exceeding it is a "bound" violation, not a cut
    max_steps: int = DEFAULT_MAX_STEPS
    #: stop the search after this many seconds of wall time
    time_budget: float | None = None

    def __post_init__(self) -> None:
        _positive_int("max_executions", self.max_executions, allow_zero=False)
        _positive_int("preemption_bound", self.preemption_bound, allow_zero=True)
        if self.max_steps is None:
            raise UsageError("max_steps must be an int (a spin loop needs a bound), got None")
        _positive_int("max_steps", self.max_steps, allow_zero=False)
        budget = self.time_budget
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                                   or not budget > 0):
            raise UsageError(f"time_budget must be a positive number of seconds or None, got {budget!r}")
