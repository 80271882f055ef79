"""check_snapshot: valid snapshots pass, and each state invariant rejects a snapshot that breaks it."""

from dataclasses import replace
import time

import pytest
import z3

from framemc.errors import UsageError
from framemc.model import INVARIANTS_BY_NAME, CheckVerdict, ModelConfig, check_snapshot
from framemc.model.concrete import FrameValues, concrete_state, snapshot_values
from framemc.model.examples import empty_snapshot, frame_snapshot, rich_snapshot
from framemc.model.state import frame, update

CFG = ModelConfig()
RICH = rich_snapshot(CFG)


def _with_frame(snap, i, fs):
    """``snap`` with frame ``i`` replaced."""
    frames = list(snap.frames)
    frames[i] = fs
    return replace(snap, frames=tuple(frames))


def _verdicts(snap):
    """Invariant name -> result for ``snap``."""
    return {r.name: r for r in check_snapshot(snap)}


@pytest.mark.parametrize("snap", [RICH, empty_snapshot(CFG)], ids=["rich", "empty"])
def test_valid_snapshots_pass(snap):
    assert all(r.verdict is CheckVerdict.PASS for r in check_snapshot(snap))


BROKEN = {
    "I2-non-overlapping-ranges": (replace(RICH, allocated=RICH.allocated + ((8, 1),)), 8),
    "I3-refcount-sentinels": (_with_frame(RICH, 9, frame_snapshot(0)), 9),
    "S-conservation": (replace(RICH, cached=((), (7,))), 4),
    "S-buddy-aligned": (replace(RICH, free_blocks=((8, 0), (9, 2))), 9),
    "S-buddies-merged": (replace(RICH, free_blocks=((8, 2), (12, 2))), 8),
    "S-blocks-within-pool": (replace(RICH, added=((0, 12), (12, 4))), 12),
    "S-poisoned-never-free": (_with_frame(RICH, 10, frame_snapshot(poisoned=True)), 10),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_state_invariant_rejects_a_violating_snapshot(name):
    snap, frame_no = BROKEN[name]
    result = _verdicts(snap)[name]
    assert result.verdict is CheckVerdict.VIOLATION
    assert result.witness["frame"] == frame_no


def test_sentinels_reject_a_refcount_in_the_gap_between_max_and_unique():
    from framemc.snapshot import REFCOUNT_MAX, REFCOUNT_UNIQUE
    for bad in (REFCOUNT_MAX + 1, REFCOUNT_UNIQUE - 1):
        result = _verdicts(_with_frame(RICH, 2, frame_snapshot(bad, gen=1)))["I3-refcount-sentinels"]
        assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 2


def test_sentinels_hold_both_ways_a_claimed_frame_must_be_allocated():
    # frame 5 (poisoned) leaves the allocated ranges while still holding a handle: retired but claimed
    retired = replace(_with_frame(RICH, 5, frame_snapshot(1, poisoned=True, gen=1)), allocated=((0, 4), (6, 1)))
    result = _verdicts(retired)["I3-refcount-sentinels"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 5
    # torn down first (UNUSED), the same retirement is fine
    torn_down = replace(RICH, allocated=((0, 4), (6, 1)))
    assert _verdicts(torn_down)["I3-refcount-sentinels"].verdict is CheckVerdict.PASS


def test_buddy_aligned_rejects_an_order_above_max_order_even_when_aligned():
    # frame 0 is aligned to every order, so only "order <= MAX_ORDER" can reject a block of order MAX_ORDER + 1
    top = RICH.max_order + 1
    snap = replace(RICH, free_blocks=((0, top),))
    result = _verdicts(snap)["S-buddy-aligned"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 0


def test_duplicate_free_block_is_an_overlap():
    result = _verdicts(replace(RICH, free_blocks=((8, 3), (8, 2))))["I2-non-overlapping-ranges"]
    assert result.verdict is CheckVerdict.VIOLATION and "two free blocks" in result.witness["reason"]


def test_pool_ids_rejects_a_pool_named_after_a_later_frame():
    # snapshots always name a pool by its first frame, so break the per-frame values directly
    fv = snapshot_values(RICH)
    values = {k: dict(v) for k, v in fv.values.items()}
    values["pool"][5] = 7
    state = concrete_state(FrameValues(values, fv.bound, fv.cfg))
    body = INVARIANTS_BY_NAME["S-pool-ids"].body
    assert z3.is_false(z3.simplify(body(CFG, state, frame(5))))
    assert z3.is_true(z3.simplify(body(CFG, concrete_state(fv), frame(5))))


def test_early_frames_reserved_rejects_an_added_early_frame():
    state = concrete_state(snapshot_values(RICH))
    body = INVARIANTS_BY_NAME["S-early-frames-reserved"].body
    early = update(state, early_lo=frame(0), early_end=frame(2), early_hi=frame(4))
    assert z3.is_false(z3.simplify(body(CFG, early, frame(1))))
    assert z3.is_true(z3.simplify(body(CFG, early, frame(2))))


@pytest.mark.parametrize("mutate, message", [
    (lambda s: replace(s, frames=s.frames[:-1]), "frame entries"),
    (lambda s: replace(s, free_blocks=((-1, 0),)), "free block start"),
    (lambda s: replace(s, allocated=((0, 0),)), "is empty"),
    (lambda s: _with_frame(s, 0, replace(s.frames[0], refcount=1 << 64)), "refcount"),
])
def test_bad_snapshot_is_a_usage_error(mutate, message):
    with pytest.raises(UsageError, match=message):
        check_snapshot(mutate(RICH))


def test_check_snapshot_is_fast_for_eight_frames():
    snap = replace(RICH, nframes=8, frames=RICH.frames[:8], free_blocks=(), allocated=((0, 4), (5, 2)),
                   added=((0, 8),))
    assert all(r.verdict is CheckVerdict.PASS for r in check_snapshot(snap))
    # CPU time, so that other processes on a shared machine do not count
    started = time.process_time()
    for _ in range(20):
        check_snapshot(snap)
    per_call_ms = (time.process_time() - started) * 1000 / 20
    assert per_call_ms < 20, f"{per_call_ms:.1f} ms per call"


def test_a_free_block_nested_in_another_is_an_overlap():
    # the order-2 block at 12 lies inside the order-3 block at 8: frames 12..15 are free twice
    result = _verdicts(replace(RICH, free_blocks=((8, 3), (12, 2))))["I2-non-overlapping-ranges"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 12


def test_a_frame_both_free_and_cached_is_an_overlap():
    # frame 8 starts a free block and is also on CPU 0's cache
    result = _verdicts(replace(RICH, cached=((4, 8), (7,))))["I2-non-overlapping-ranges"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 8
