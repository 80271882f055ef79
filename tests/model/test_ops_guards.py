"""Facts the operations' guards rely on without stating them."""

import pytest
import z3

from framemc.design.frames import FRAME_BITS
from framemc.model.state import FrameSort, SmallSort, align_sym, block_len, small, widen


@pytest.mark.parametrize("max_order", [0, 3, 11])
def test_an_aligned_block_never_wraps_past_the_last_frame(max_order):
    # add_block's guard requires h aligned to 2**k, and no longer h + 2**k <= 2**64 besides
    h, k = z3.Const("h", FrameSort), z3.Const("k", SmallSort)
    aligned = z3.And(z3.ULE(k, small(max_order)), align_sym(h, k, max_order) == h)
    no_wrap = z3.ULE(widen(h) + widen(block_len(k, max_order)), z3.BitVecVal(1 << FRAME_BITS, FRAME_BITS + 1))
    solver = z3.Solver()
    solver.add(aligned, z3.Not(no_wrap))
    assert solver.check() == z3.unsat
