"""The proof hints the operations give (``Step.lemmas``) hold for every value: the proofs may assume them."""

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
