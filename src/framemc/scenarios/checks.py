"""Glue between the explorer and the model: check an allocator's snapshots with z3.

Design: the explorer knows nothing about frames, and the model knows nothing
about the impl.  This module is where the two meet: it registers a
``FrameSystem``'s ``snapshot`` with :func:`framemc.watch`, and turns the
model's per-invariant verdicts into explorer ``CheckFailure``s.  A z3
``unknown`` becomes an inconclusive failure, never a pass.  The model's
predicates are the only definitions used; nothing is restated here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from framemc.explorer import CheckFailure, name_values, watch
from framemc.model import INVARIANTS_BY_NAME, CheckVerdict, InvariantResult, check_snapshot, check_step
from framemc.snapshot import REFCOUNT_UNIQUE, REFCOUNT_UNUSED, AllocatorSnapshot

if TYPE_CHECKING:
    from framemc.impl.system import FrameSystem

__all__ = ["watch_allocator", "state_failures", "step_failures", "as_failure"]


def as_failure(result: InvariantResult) -> CheckFailure:
    """The explorer's view of a non-PASS model result: the invariant's statement and its witness."""
    invariant = INVARIANTS_BY_NAME.get(result.name)
    statement = invariant.statement if invariant is not None else result.name
    if result.verdict is CheckVerdict.INCONCLUSIVE:
        return CheckFailure(result.name, f"{statement}: z3 could not decide ({result.detail})",
                            dict(result.witness), inconclusive=True)
    where = ", ".join(f"{k}={v}" for k, v in sorted(result.witness.items()) if k != "invariant")
    return CheckFailure(result.name, f"{statement} [{where}]" if where else statement, dict(result.witness))


def _failures(results: tuple[InvariantResult, ...]) -> Iterator[CheckFailure]:
    for result in results:
        if result.verdict is not CheckVerdict.PASS:
            yield as_failure(result)


def state_failures(snap: AllocatorSnapshot) -> list[CheckFailure]:
    """Every state invariant that does not hold (or is undecided) on ``snap``."""
    return list(_failures(check_snapshot(snap)))


def step_failures(pre: AllocatorSnapshot, post: AllocatorSnapshot) -> list[CheckFailure]:
    """Every step invariant that does not hold (or is undecided) from ``pre`` to ``post``."""
    return list(_failures(check_step(pre, post)))


def watch_allocator(system: "FrameSystem") -> None:
    """Check ``system`` against every model invariant at every scheduling point (call it in a setup)."""
    watch(system.snapshot, state_failures, step_failures)
    # the refcount sentinels read better by their seed names than as 0xffffffffffffffff
    name_values({REFCOUNT_UNUSED: "UNUSED", REFCOUNT_UNIQUE: "UNIQUE"})
