"""Conformance of the Theseus impl against its z3 model: the correct impl passes, every planted bug is caught."""

import pytest

from framemc.design.theseus import DESIGN, conformance
from framemc.conformance import CoverageKind
from framemc.model.theseus import MODEL
from framemc.verdicts import Outcome


@pytest.mark.parametrize("seed", [0, 1])
def test_the_correct_impl_conforms(seed):
    report = conformance(seed=seed, steps=120)
    failure = report.first_failure()
    assert report.verdict is Outcome.PASS, failure and [(r.name, r.detail, r.witness) for r in failure[1].failures]
    assert len(report.steps) >= 100
    hit = {i.name for i in report.coverage.items if i.kind is CoverageKind.MODEL and i.hits}
    assert set(MODEL.macros) <= hit
    # the filling phase makes the drop into the full early list happen, and the correct impl refuses it
    assert any(i.name == "drop refused: EarlyListFull" and i.hits for i in report.coverage.items)


#: a seed on which the conformance run reaches each bug (with 150 steps, seeds 0-2 all catch every bug: the
#: first failing step is 31-76 for alloc-at-skips-overlap, 23-82 for drop-mapped-frames, 14 for
#: early-list-overflow, 78-123 for merge-non-adjacent)
CATCHING_SEED = {"alloc-at-skips-overlap": 0, "drop-mapped-frames": 0, "merge-non-adjacent": 0,
                 "early-list-overflow": 0}


@pytest.mark.parametrize("bug", sorted(DESIGN.bugs))
def test_each_impl_bug_knob_is_a_violation(bug):
    report = conformance(seed=CATCHING_SEED[bug], steps=150, bugs={bug})
    assert report.verdict is Outcome.VIOLATION
    _, step = report.first_failure()
    failed = {r.name for r in step.failures}
    assert failed & ({i.name for i in DESIGN.bugs[bug].breaks} | {n for n in failed if n.startswith("relates:")})


def test_the_early_list_overflow_is_caught_where_the_filling_phase_overflows_the_list():
    report = conformance(seed=0, steps=150, bugs={"early-list-overflow"})
    index, step = report.first_failure()
    # boot, six deferred-allocation/drop pairs that bring the general list from 26 to 32 chunks, one more
    # allocation, then the drop that a correct impl refuses
    assert (index, step.op.name) == (14, "drop")
    assert {r.name for r in step.failures} == {"T-early-capacity", "relates:drop"}
