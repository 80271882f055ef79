"""Facts the operations' guards rely on without stating them, and what they allow in sequence."""

import pytest
import z3

from framemc.design.frames import FRAME_BITS
from framemc.model.ops import Step, add_block, early_alloc, initial_state, retire_early
from framemc.model.state import FrameSort, ModelConfig, SmallSort, align_sym, block_len, frame, small, widen


@pytest.mark.parametrize("max_order", [0, 3, 11])
def test_an_aligned_block_never_wraps_past_the_last_frame(max_order):
    # add_block's guard requires h aligned to 2**k, and no longer h + 2**k <= 2**64 besides
    h, k = z3.Const("h", FrameSort), z3.Const("k", SmallSort)
    aligned = z3.And(z3.ULE(k, small(max_order)), align_sym(h, k, max_order) == h)
    no_wrap = z3.ULE(widen(h) + widen(block_len(k, max_order)), z3.BitVecVal(1 << FRAME_BITS, FRAME_BITS + 1))
    solver = z3.Solver()
    solver.add(aligned, z3.Not(no_wrap))
    assert solver.check() == z3.unsat


def test_boot_runs_from_an_initial_state_and_init_retires_the_early_allocator():
    # from an initial state: an early alloc of frame 0, init's retire_early, then an add of the fresh frame 2;
    # not an add of the early-allocated frame 0, and no early alloc once retired ("served by the buddy from now on")
    cfg = ModelConfig()
    s, initial = initial_state(cfg, "boot")
    booted = (Step(guard=z3.BoolVal(True), post=s)
              .then(lambda t: early_alloc(cfg, t, frame(1)))
              .then(lambda t: retire_early(cfg, t)))

    def possible(step):
        solver = z3.Solver()
        solver.add(initial, s.early_lo == frame(0), s.early_hi == frame(4), step.guard)
        solver.add([r.at(frame(g)) for r in step.ranged for g in range(8)])
        return solver.check()

    assert possible(booted.then(lambda t: add_block(cfg, t, frame(2), frame(2), small(0)))) == z3.sat
    assert possible(booted.then(lambda t: add_block(cfg, t, frame(0), frame(0), small(0)))) == z3.unsat
    assert possible(booted.then(lambda t: early_alloc(cfg, t, frame(1)))) == z3.unsat
