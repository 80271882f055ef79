"""The one verdict vocabulary of framemc, and the exit codes beside it.

Design: every check framemc runs ends in one of two small vocabularies.  A
search or a concrete check is PASS, VIOLATION or INCONCLUSIVE
(:class:`Outcome`); a proof obligation is PROVED, REFUTED, UNKNOWN or
VACUOUS (:class:`Verdict`), and :func:`outcome_of` says which outcome each
proof verdict counts as.  The process exit code of every command is computed
from outcomes in one place (:func:`exit_code`).  UNKNOWN, a hit bound or a
cut run is never a pass.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable

__all__ = ["Outcome", "InvariantResult", "ExitCode", "exit_code", "Verdict", "UnknownCause", "Obligation", "ObligationResult",
           "GUARD", "outcome_of"]


class Outcome(enum.Enum):
    """The verdict on one item of the suite."""

    #: proved, or explored exhaustively with every check holding
    PASS = "pass"
    #: refuted, or a counterexample was found
    VIOLATION = "violation"
    #: z3 said unknown, a bound or budget cut the search, or the item could not run
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class InvariantResult:
    """One invariant (or relation) checked on concrete states: its verdict and, on VIOLATION, a witness."""

    #: the invariant's name (or ``relates:<op>``)
    name: str
    #: PASS / VIOLATION / INCONCLUSIVE
    verdict: Outcome
    #: plain values showing the violation: the frame and its fields; empty unless VIOLATION
    witness: dict = field(default_factory=dict)
    #: why the result is INCONCLUSIVE or how the relation failed, else ``""``
    detail: str = ""


class ExitCode(enum.IntEnum):
    """The process exit codes of every framemc command."""

    #: everything holds
    OK = 0
    #: a violation or a refuted obligation
    VIOLATION = 1
    #: a usage or input error
    USAGE = 2
    #: something was inconclusive and nothing was violated
    INCONCLUSIVE = 3


def exit_code(outcomes: Iterable[Outcome]) -> ExitCode:
    """1 if anything was violated, else 3 if anything was inconclusive, else 0 (the only place this is decided)."""
    seen = set(outcomes)
    if Outcome.VIOLATION in seen:
        return ExitCode.VIOLATION
    if Outcome.INCONCLUSIVE in seen:
        return ExitCode.INCONCLUSIVE
    return ExitCode.OK


class Verdict(enum.Enum):
    """The outcome of one proof obligation."""

    PROVED = "PROVED"
    REFUTED = "REFUTED"
    UNKNOWN = "UNKNOWN"
    #: the hypotheses (invariants at the instantiation points) and the guard contradict each other:
    #: the obligation would hold of no state at all, so it proves nothing (a failure, never a pass)
    VACUOUS = "VACUOUS"


class UnknownCause(enum.Enum):
    """Why an obligation is UNKNOWN: which limit stopped z3, or z3 itself."""

    #: the obligation's calibrated resource limit ran out (deterministic: the same on any machine)
    RLIMIT = "rlimit"
    #: the wall-clock safety net ran out before the resource limit (an overloaded or very slow machine)
    WALL_CLOCK = "wall-clock"
    #: the caller's deadline (``framemc check --time-budget``) passed
    DEADLINE = "deadline"
    #: z3 answered unknown for a reason of its own (an incomplete theory)
    SOLVER = "solver"


@dataclass(frozen=True, slots=True)
class Obligation:
    """One thing to prove: an operation (or Init, or a guard) against one invariant."""

    #: ``op/invariant``, ``init/invariant`` or ``guard/op``
    name: str
    #: the operation name, ``init`` for the initial-state obligations
    op: str
    #: the invariant name, or ``guard-satisfiable``
    invariant: str


@dataclass(frozen=True, slots=True)
class ObligationResult:
    """The verdict on one obligation, its time, and on REFUTED a readable counterexample."""

    #: the obligation's name
    name: str
    #: PROVED / REFUTED / UNKNOWN
    verdict: Verdict
    #: wall-clock seconds spent (building and solving)
    seconds: float
    #: before/after diff of the counterexample (REFUTED only), else ``""``
    counterexample: str = ""
    #: why the result is UNKNOWN (z3's reason and a hint) or VACUOUS, else ``""``
    reason: str = ""
    #: which limit made the result UNKNOWN, else None
    cause: UnknownCause | None = None
    #: z3 resource units (``rlimit count``) the obligation spent: a machine-independent measure of work
    rlimit_used: int = 0
    #: the resource budget the obligation ran under (0: unlimited, as when calibrating)
    rlimit: int = 0


#: the invariant name of an obligation that checks an operation's guard can be met
GUARD = "guard-satisfiable"


def outcome_of(verdict: Verdict) -> Outcome:
    """What a proof verdict counts as: PROVED passes, REFUTED and VACUOUS are violations, UNKNOWN is neither."""
    return {Verdict.PROVED: Outcome.PASS, Verdict.REFUTED: Outcome.VIOLATION, Verdict.VACUOUS: Outcome.VIOLATION,
            Verdict.UNKNOWN: Outcome.INCONCLUSIVE}[verdict]
