"""What went wrong in one execution, as a typed value.

Design: the execution engine fills a :class:`Violation` at the moment it
sees the problem; the trace layer later turns it plus the events into a
:class:`~framemc.explorer.trace.Counterexample`.  ``ViolationKind`` is a
``str`` enum so ``cx.kind == "data-race"`` reads naturally in scenarios.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ViolationKind", "Violation"]


class ViolationKind(str, enum.Enum):
    """The kinds of violation the explorer reports."""

    #: an assert failed, or the simulated kernel panicked, in a thread or final()
    ASSERTION = "assertion"
    #: a watched invariant is false
    INVARIANT = "invariant"
    #: no thread can run and not all have finished
    DEADLOCK = "deadlock"
    #: two accesses to a non-atomic location, at least one a write, unordered by happens-before
    DATA_RACE = "data-race"
    #: a thread exceeded its step bound (a loop that does not terminate)
    BOUND = "bound"
    #: a spin-wait loop that can never exit: every read of its last iteration saw the latest write
    LIVENESS = "liveness"
    #: an exception other than a failed assert escaped scenario or impl code (a bug in the scenario,
    #: or an error the code under check did not expect); the message names its type and where
    EXCEPTION = "exception"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Violation:
    """One violation found in an execution."""

    #: what kind of problem
    kind: ViolationKind
    #: one line saying what is wrong
    message: str
    #: indices of the events involved (the racing pair, the failing thread's last event)
    events: tuple[int, ...] = ()
    #: the violated invariant's name (kind INVARIANT), else None
    invariant: str | None = None
    #: values that show the violation
    witness: dict[str, Any] = field(default_factory=dict)
