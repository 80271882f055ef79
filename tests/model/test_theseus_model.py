"""The Theseus chunk allocator model (seed 003): invariants on hand-built states, every proof, every planted bug."""

from dataclasses import replace

import pytest
import z3

from framemc.design import prover
from framemc.design.conformance import check_state, check_step
from framemc.model.theseus import MODEL, Kind, Where, concrete_state
from framemc.verdicts import Outcome, Verdict

_A, _M, _F, _P = Where.ALLOCATED, Where.MAPPED, Where.FREE, Where.PENDING
_GOOD = [(0, 2, _F, False), (2, 4, _A, True), (4, 5, _M, False), (5, 6, _P, False), (8, 10, _F, False)]
_REGIONS = [(0, 6, Kind.GENERAL), (8, 10, Kind.RESERVED)]


def _verdicts(state):
    return {r.name: r.verdict for r in check_state(MODEL, state)}


def test_a_valid_state_meets_every_state_invariant():
    assert set(_verdicts(concrete_state(_GOOD, _REGIONS, heap=False)).values()) == {Outcome.PASS}


BROKEN = {
    # a free chunk [0, 3) overlapping the allocated [2, 4)
    "T-no-overlap": ([(0, 3, _F, False)] + _GOOD[1:], _REGIONS, {}),
    # a held chunk that is mapped
    "T-chunk-wf": ([_GOOD[0], (2, 4, _M, True)] + _GOOD[2:], _REGIONS, {}),
    # frame 5 is general memory in no chunk
    "T-conservation": (_GOOD[:3] + _GOOD[4:], _REGIONS, {}),
    # 33 free general chunks before the heap switch
    "T-early-capacity": (_GOOD, _REGIONS, {"nfree_g": 33, "nfree_r": 1, "npend_g": 1, "npend_r": 0,
                                           "nreg_g": 1, "nreg_r": 1}),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_state_invariant_rejects_a_state_that_breaks_it(name):
    chunks, regions, counts = BROKEN[name]
    state = concrete_state(chunks, regions, heap=False, counts=counts or None)
    assert _verdicts(state)[name] is Outcome.VIOLATION


def test_the_step_invariants_reject_a_mapped_drop_and_a_region_changing_kind():
    pre = concrete_state(_GOOD, _REGIONS, heap=False)
    mapped_freed = concrete_state(_GOOD[:2] + [(4, 5, _F, False)] + _GOOD[3:], _REGIONS, heap=False)
    verdicts = {r.name: r.verdict for r in check_step(MODEL, pre, mapped_freed)}
    assert verdicts == {"T-typestate": Outcome.VIOLATION, "T-regions-stable": Outcome.PASS}
    recast = concrete_state(_GOOD, [(0, 6, Kind.GENERAL), (8, 10, Kind.GENERAL)], heap=False)
    verdicts = {r.name: r.verdict for r in check_step(MODEL, pre, recast)}
    assert verdicts == {"T-typestate": Outcome.PASS, "T-regions-stable": Outcome.VIOLATION}
    assert {r.verdict for r in check_step(MODEL, pre, pre)} == {Outcome.PASS}


def test_every_witness_state_meets_every_invariant():
    for witness in MODEL.witnesses():
        assert prover.check_witness(MODEL, witness) is None


OBLIGATIONS = [o.name for o in prover.obligations(MODEL)]
#: z3 units any one obligation may use here: the prover's integer encoding needs at most about 0.3 million (the
#: bit-vector encoding needed up to 57 million), so an encoding that stops applying fails this bound
WORK_BOUND = 2_000_000


def _prove(name, variant=None):
    [result] = prover.run(MODEL, [name], variant=variant, witnesses=MODEL.witnesses())
    return result


@pytest.mark.parametrize("name", OBLIGATIONS)
def test_every_obligation_is_proved(name):
    result = _prove(name)
    assert result.verdict is Verdict.PROVED, result.counterexample or result.reason
    assert result.rlimit_used <= WORK_BOUND


@pytest.mark.parametrize("bug", sorted(MODEL.variants))
def test_each_variant_is_refuted_on_the_invariants_it_breaks(bug):
    variant = MODEL.variants[bug]
    assert variant.breaks
    for i in variant.breaks:
        result = _prove(f"{variant.replaces}/{i.name}", bug)
        assert result.verdict is Verdict.REFUTED, (bug, i.name, result.verdict, result.reason)
        assert result.counterexample


def test_an_initial_condition_that_no_state_meets_is_never_proved():
    impossible = replace(MODEL, initial=lambda s: z3.BoolVal(False))
    results = prover.run(impossible, [f"init/{i.name}" for i in MODEL.state_invariants])
    assert results and {r.verdict for r in results} == {Verdict.VACUOUS}
