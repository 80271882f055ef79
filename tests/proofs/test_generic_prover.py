"""The generic prover (framemc.design.prover) on a toy design written here: it proves what holds, refutes a
planted bug, and never passes a vacuous, undecided or unwitnessed obligation."""

from __future__ import annotations

import dataclasses

import pytest
import z3

from framemc.design.frames import (FState, FrameModel, FrameSort, Inv, InvKind, Shape, Step, Variant, frame, inv,
                                   op, store)
from framemc.design.prover import check_witness, obligations, run, select
from framemc.errors import UsageError
from framemc.verdicts import Verdict

B8 = z3.BitVecSort(8)
NONE, FREE, USED = (z3.BitVecVal(v, 8) for v in (0, 1, 2))
SHAPE = Shape(frames=(("loc", B8), ("copies", B8)), scalars=(("nused", z3.BitVecSort(64)),))


def one_place(s: FState, f: z3.BitVecRef) -> z3.BoolRef:
    """A known frame is in exactly one place: free or used, counted once."""
    return z3.And(z3.ULE(s.loc[f], USED), (s.loc[f] == NONE) == (s.copies[f] == 0),
                  z3.Implies(s.loc[f] != NONE, s.copies[f] == 1))


def used_stays_used(pre: FState, post: FState, f: z3.BitVecRef) -> z3.BoolRef:
    """A used frame is only ever freed, never forgotten."""
    return z3.Implies(pre.loc[f] == USED, z3.Or(post.loc[f] == USED, post.loc[f] == FREE))


ONE_PLACE = inv(one_place, name="T-one-place", citation="toy")
USED_STAYS = inv(used_stays_used, name="T-used-stays", citation="toy", kind=InvKind.STEP)


def add(s: FState, f: z3.BitVecRef) -> Step:
    """Add an unknown frame as free memory."""
    return Step(s.loc[f] == NONE, s.update(loc=store(s.loc, f, FREE), copies=store(s.copies, f, z3.BitVecVal(1, 8))),
                seeds=(f,))


def take(s: FState, f: z3.BitVecRef) -> Step:
    """Hand out a free frame."""
    return Step(s.loc[f] == FREE, s.update(loc=store(s.loc, f, USED), nused=s.nused + 1), seeds=(f,))


def give(s: FState, f: z3.BitVecRef) -> Step:
    """Take a used frame back."""
    return Step(s.loc[f] == USED, s.update(loc=store(s.loc, f, FREE), nused=s.nused - 1), seeds=(f,))


def take_twice(s: FState, f: z3.BitVecRef) -> Step:
    """Planted bug: hand out a frame and also count it again."""
    return Step(s.loc[f] == FREE, s.update(loc=store(s.loc, f, USED), copies=store(s.copies, f, z3.BitVecVal(2, 8))),
                seeds=(f,))


def _initial(s: FState) -> z3.BoolRef:
    g = z3.Const("g0", FrameSort)
    return z3.And(s.nused == 0, z3.ForAll([g], z3.And(s.loc[g] == NONE, s.copies[g] == 0)))


def _witnesses() -> list[tuple[str, FState, int]]:
    s = SHAPE.concrete({"loc": {0: 1, 1: 2}, "copies": {0: 1, 1: 1}}, {"nused": 1})
    return [("one free, one used", s, 2)]


F = ("f", FrameSort)
OPS = {o.name: o for o in (op(add, F), op(take, F), op(give, F))}
MODEL = FrameModel(SHAPE, _initial, OPS, (ONE_PLACE, USED_STAYS),
                   variants={"take-twice": Variant("take-twice", "take", op(take_twice, F, name="take"), (ONE_PLACE,))},
                   witnesses=_witnesses, rlimit=5_000_000)


def _run(model: FrameModel = MODEL, **kw) -> dict[str, Verdict]:
    return {r.name: r.verdict for r in run(model, witnesses=model.witnesses(), **kw)}


def test_every_obligation_of_the_correct_toy_is_proved():
    verdicts = _run()
    assert len(verdicts) == len(obligations(MODEL)) == 1 + 3 * 3
    assert set(verdicts.values()) == {Verdict.PROVED}, verdicts


def test_the_planted_bug_is_refuted_with_a_counterexample():
    results = run(MODEL, ["take"], variant="take-twice", witnesses=MODEL.witnesses())
    by = {r.name: r for r in results}
    assert by["take/T-one-place"].verdict is Verdict.REFUTED
    assert "copies=1 -> 2" in by["take/T-one-place"].counterexample
    assert by["take/T-used-stays"].verdict is Verdict.PROVED


def test_a_wrong_step_invariant_is_refuted():
    forget = op(lambda s, f: Step(s.loc[f] == USED, s.update(loc=store(s.loc, f, NONE))), F, name="give")
    broken = dataclasses.replace(MODEL, operations={**OPS, "give": forget})
    verdicts = _run(broken, selection=["give"])
    assert verdicts["give/T-used-stays"] is Verdict.REFUTED and verdicts["give/T-one-place"] is Verdict.REFUTED


def test_an_impossible_initial_state_is_vacuous_never_proved():
    nothing = dataclasses.replace(MODEL, initial=lambda s: z3.BoolVal(False))
    assert _run(nothing, selection=["init"]) == {"init/T-one-place": Verdict.VACUOUS}


def test_a_guard_that_contradicts_the_invariants_is_vacuous():
    # only a frame counted twice may be taken: no state satisfying the invariants enables it
    odd = op(lambda s, f: Step(z3.And(s.loc[f] == FREE, s.copies[f] == 2), s.update(loc=store(s.loc, f, USED)),
                               seeds=(f,)), F, name="take")
    verdicts = _run(dataclasses.replace(MODEL, operations={**OPS, "take": odd}), selection=["take"])
    assert verdicts == {"guard/take": Verdict.VACUOUS, "take/T-one-place": Verdict.VACUOUS,
                        "take/T-used-stays": Verdict.VACUOUS}


def test_no_witness_states_leave_the_guards_unknown():
    verdicts = {r.name: r.verdict for r in run(MODEL, ["guard/add"])}
    assert verdicts == {"guard/add": Verdict.UNKNOWN}


def test_a_witness_that_breaks_an_invariant_is_refused():
    bad = SHAPE.concrete({"loc": {3: 1}, "copies": {3: 2}}, {"nused": 0})
    assert "breaks T-one-place at frame 3" in check_witness(MODEL, ("bad", bad, 4))
    results = run(MODEL, ["guard/add"], witnesses=[("bad", bad, 4)])
    assert results[0].verdict is Verdict.UNKNOWN and "breaks T-one-place" in results[0].reason


def test_a_resource_limit_too_small_is_unknown_not_proved():
    results = run(dataclasses.replace(MODEL, rlimit=1), ["take/T-one-place"])
    assert [r.verdict for r in results] == [Verdict.UNKNOWN] and results[0].cause is not None


def test_selection_and_variants_are_checked():
    assert [o.name for o in select(MODEL, ["T-used-stays"])] == ["add/T-used-stays", "take/T-used-stays",
                                                                  "give/T-used-stays"]
    with pytest.raises(UsageError, match="no obligation matches nosuch"):
        select(MODEL, ["nosuch"])
    with pytest.raises(UsageError, match="unknown model variant 'nosuch'"):
        obligations(MODEL, variant="nosuch")


def test_a_model_whose_registries_disagree_is_refused():
    with pytest.raises(UsageError, match="breaks 'X'"):
        FrameModel(SHAPE, _initial, OPS, (ONE_PLACE,),
                   variants={"v": Variant("v", "take", OPS["take"], (Inv("X", "x", "", InvKind.STATE, 1, one_place),))})
    with pytest.raises(UsageError, match="needs a docstring"):
        inv(lambda s, f: z3.BoolVal(True), name="Q", citation="")
    with pytest.raises(UsageError, match="wrong kind of value"):
        SHAPE.symbolic("s").update(loc=frame(1))
