"""The proof hints the operations give (``Step.lemmas``) hold for every value: the proofs may assume them."""

import dataclasses

import pytest
import z3

from framemc.model.ops import OPERATIONS, VARIANTS
from framemc.model.state import FrameSort, ModelConfig, symbolic_state

SPECS = sorted([(name, spec) for name, spec in OPERATIONS.items()] +
               [(name, v.spec) for name, v in VARIANTS.items()], key=lambda pair: pair[0])


def test_split_gives_a_lemma():
    # the engine relies on it at a high MAX_ORDER (split/S-blocks-within-pool); keep this test meaningful
    spec = OPERATIONS["split"]
    assert spec.fn(ModelConfig(), symbolic_state("pre"), *spec.symbolic_args("arg")).lemmas


@pytest.mark.parametrize("max_order", [0, 3, 11])
@pytest.mark.parametrize("name,spec", SPECS, ids=[name for name, _ in SPECS])
def test_every_lemma_is_valid(name, spec, max_order):
    # the state's fields are uninterpreted and the frame and arguments free: unsat means valid for all values
    cfg = ModelConfig(max_order=max_order)
    step = spec.fn(cfg, symbolic_state("pre"), *spec.symbolic_args("arg"))
    t = z3.Const("t", FrameSort)
    for lemma in step.lemmas:
        solver = z3.Solver()
        solver.add(z3.Not(lemma(t)))
        assert solver.check() == z3.unsat, (name, max_order)


def test_the_prover_refuses_to_assume_a_lemma_that_does_not_hold(monkeypatch):
    # --max-order takes any value: the engine proves each lemma valid at the run's bound before assuming it
    from framemc.errors import CheckerBug
    from framemc.model import ops
    from framemc.proofs import engine
    from framemc.proofs import run_obligations

    real = ops.OPERATIONS["split"].fn

    def split_with_a_false_hint(cfg, s, *args):
        step = real(cfg, s, *args)
        return dataclasses.replace(step, lemmas=step.lemmas + (lambda t: t == z3.BitVecVal(0, t.size()),))

    monkeypatch.setitem(ops.OPERATIONS, "split", dataclasses.replace(ops.OPERATIONS["split"],
                                                                     fn=split_with_a_false_hint))
    engine._context.cache_clear()   # a context built earlier holds the real split
    with pytest.raises(CheckerBug, match=r"split_with_a_false_hint: proof hint \(lemma 1\) is not proved valid"):
        run_obligations(["split/S-blocks-within-pool"], jobs=1)
