"""check_step: legal steps pass, and each step invariant rejects a step that breaks it."""

from dataclasses import replace

import pytest

from framemc.errors import UsageError
from framemc.model import CheckVerdict, ModelConfig, check_step
from framemc.model.examples import frame_snapshot, rich_snapshot
from framemc.snapshot import PURPOSE_PAGE_TABLE, REFCOUNT_MAX, REFCOUNT_UNIQUE, REFCOUNT_UNUSED

CFG = ModelConfig()
RICH = rich_snapshot(CFG)


def _with_frame(snap, i, **changes):
    """``snap`` with fields of frame ``i`` changed."""
    frames = list(snap.frames)
    frames[i] = replace(frames[i], **changes)
    return replace(snap, frames=tuple(frames))


def _verdicts(pre, post):
    """Invariant name -> result for the step."""
    return {r.name: r for r in check_step(pre, post)}


def test_stutter_and_claim_pass():
    claimed = _with_frame(RICH, 0, refcount=0, generation=2)
    for post in (RICH, claimed):
        assert all(r.verdict is CheckVerdict.PASS for r in check_step(RICH, post))


def test_whole_alloc_frame_passes():
    pre = replace(RICH, cached=((), (7,)), allocated=RICH.allocated)
    post = replace(_with_frame(RICH, 4, refcount=1, generation=1, payload_zero=True,
                               payload_crc=frame_snapshot(zeroed=True).payload_crc, purpose=PURPOSE_PAGE_TABLE),
                   cached=((), (7,)), allocated=((0, 5), (5, 2)))
    pre = replace(pre, cached=((4,), (7,)))
    assert all(r.verdict is CheckVerdict.PASS for r in check_step(pre, post))


PT_PRE = _with_frame(RICH, 1, payload_zero=False, payload_crc=frame_snapshot().payload_crc)
BROKEN = {
    "I1-no-metadata-in-payload": (RICH, _with_frame(RICH, 8, payload_crc=12345), 8),
    "I3-refcount-transitions": (RICH, _with_frame(RICH, 3, refcount=0), 3),
    "I3-generation": (RICH, _with_frame(RICH, 2, generation=2), 2),
    "I4-page-table-zeroed": (PT_PRE, _with_frame(PT_PRE, 1, refcount=1, purpose=PURPOSE_PAGE_TABLE), 1),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_step_invariant_rejects_a_violating_step(name):
    pre, post, frame_no = BROKEN[name]
    result = _verdicts(pre, post)[name]
    assert result.verdict is CheckVerdict.VIOLATION
    assert result.witness["frame"] == frame_no


def test_a_whole_last_drop_to_unused_passes_but_a_shared_frame_cannot_jump_to_unused():
    from framemc.snapshot import REFCOUNT_UNUSED
    # frame 2 holds one handle: its last drop, seen whole, ends UNUSED (fetch_sub, teardown, store UNUSED)
    last = _verdicts(RICH, _with_frame(RICH, 2, refcount=REFCOUNT_UNUSED))["I3-refcount-transitions"]
    assert last.verdict is CheckVerdict.PASS
    # frame 3 holds two: dropping to UNUSED in one step loses a live handle
    lost = _verdicts(RICH, _with_frame(RICH, 3, refcount=REFCOUNT_UNUSED))["I3-refcount-transitions"]
    assert lost.verdict is CheckVerdict.VIOLATION and lost.witness["frame"] == 3


def test_snapshots_of_different_sizes_are_a_usage_error():
    with pytest.raises(UsageError, match="disagree"):
        check_step(RICH, replace(RICH, max_order=2))


def test_a_known_cpu_checks_cache_ownership_and_payload_writes():
    # CPU 1 pops frame 4 from CPU 0's cache and hands it out
    stolen = replace(RICH, cached=((), (7,)), allocated=((0, 7),))
    assert _verdicts(RICH, stolen)["S-cache-owner-steps"].verdict is CheckVerdict.PASS  # author unknown
    by_cpu = {r.name: r for r in check_step(RICH, stolen, cpu=1)}
    assert by_cpu["S-cache-owner-steps"].verdict is CheckVerdict.VIOLATION
    assert by_cpu["S-cache-owner-steps"].witness["frame"] == 4
    assert all(r.verdict is CheckVerdict.PASS for r in check_step(RICH, stolen, cpu=0))
    # an allocator operation writes the payload of frame 2, which a holder owns: only the holder may
    written = _with_frame(RICH, 2, payload_crc=4242, payload_zero=False)
    assert _verdicts(RICH, written)["I1-no-metadata-in-payload"].verdict is CheckVerdict.PASS
    i1 = {r.name: r for r in check_step(RICH, written, cpu=0)}["I1-no-metadata-in-payload"]
    assert i1.verdict is CheckVerdict.VIOLATION and i1.witness["frame"] == 2


def test_a_cpu_outside_the_snapshot_is_a_usage_error():
    with pytest.raises(UsageError, match="not a CPU"):
        check_step(RICH, RICH, cpu=2)


def test_zeroing_must_leave_the_zero_page_not_just_the_zero_flag():
    # frame 1 is claimed (busy): an allocator step may zero it, and zeroing means the all-zero digest
    dirty = _with_frame(RICH, 1, payload_zero=False, payload_crc=frame_snapshot().payload_crc)
    zeroed = _with_frame(RICH, 1, payload_zero=True, payload_crc=frame_snapshot(zeroed=True).payload_crc)
    assert all(r.verdict is CheckVerdict.PASS for r in check_step(dirty, zeroed, cpu=0))
    flagged = _with_frame(RICH, 1, payload_zero=True, payload_crc=1234)
    i1 = {r.name: r for r in check_step(dirty, flagged, cpu=0)}["I1-no-metadata-in-payload"]
    assert i1.verdict is CheckVerdict.VIOLATION and i1.witness["frame"] == 1


def test_a_frame_leaves_unused_only_to_busy_or_one():
    # frame 0 is handed out but not claimed (UNUSED): a claim takes it to 0 or, whole, to 1; never to 2
    for rc, verdict in ((0, CheckVerdict.PASS), (1, CheckVerdict.PASS), (2, CheckVerdict.VIOLATION)):
        post = _with_frame(RICH, 0, refcount=rc, generation=2)
        assert _verdicts(RICH, post)["I3-refcount-transitions"].verdict is verdict, rc


def test_the_claim_cas_may_precede_the_generation_bump_by_one_step():
    # seed 001: the epoch is bumped after a successful CAS, one atomic step later
    cas_only = _with_frame(RICH, 0, refcount=0)
    assert _verdicts(RICH, cas_only)["I3-generation"].verdict is CheckVerdict.PASS
    # but a claim seen whole (UNUSED -> published) must have bumped it
    whole = _with_frame(RICH, 0, refcount=1)
    assert _verdicts(RICH, whole)["I3-generation"].verdict is CheckVerdict.VIOLATION


@pytest.mark.parametrize("frame_no", [8, 4], ids=["free", "cached"])
def test_a_claim_of_a_free_or_cached_frame_breaks_the_refcount_protocol(frame_no):
    # UNUSED -> 0 with the generation bumped, but the frame is still on a free list or in a cache
    post = _with_frame(RICH, frame_no, refcount=0, generation=1)
    result = _verdicts(RICH, post)["I3-refcount-transitions"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == frame_no


def test_a_frame_entering_a_cache_is_checked_against_its_author_only_when_known():
    # frame 2's last handle is dropped and the frame pushed on CPU 0's cache
    freed = replace(_with_frame(RICH, 2, refcount=REFCOUNT_UNUSED), cached=((4, 2), (7,)),
                    allocated=((0, 2), (3, 1), (5, 2)))
    assert _verdicts(RICH, freed)["S-cache-owner-steps"].verdict is CheckVerdict.PASS   # author unknown
    assert {r.name: r for r in check_step(RICH, freed, cpu=0)}["S-cache-owner-steps"].verdict is CheckVerdict.PASS
    by_cpu1 = {r.name: r for r in check_step(RICH, freed, cpu=1)}["S-cache-owner-steps"]
    assert by_cpu1.verdict is CheckVerdict.VIOLATION and by_cpu1.witness["frame"] == 2


def test_the_generation_moves_only_with_a_claim_not_with_a_teardown():
    # frame 1 is busy (claimed): storing UNUSED (teardown) with the generation bumped is not a claim
    torn = _with_frame(RICH, 1, refcount=REFCOUNT_UNUSED, generation=2)
    result = _verdicts(RICH, torn)["I3-generation"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 1
    assert _verdicts(RICH, _with_frame(RICH, 1, refcount=REFCOUNT_UNUSED))["I3-generation"].verdict is CheckVerdict.PASS


def test_a_frame_going_back_to_the_free_list_is_not_zeroed_on_the_way():
    # frame 1 is busy with a dirty payload; its teardown returns it to the pool, and the allocator zeroes it there
    dirty = _with_frame(RICH, 1, payload_zero=False, payload_crc=frame_snapshot().payload_crc)
    freed = replace(_with_frame(dirty, 1, refcount=REFCOUNT_UNUSED), free_blocks=((1, 0),) + RICH.free_blocks,
                    allocated=((0, 1), (2, 2), (5, 2)))
    assert _verdicts(dirty, freed)["I1-no-metadata-in-payload"].verdict is CheckVerdict.PASS
    zeroed = _with_frame(freed, 1, payload_zero=True, payload_crc=frame_snapshot(zeroed=True).payload_crc)
    result = _verdicts(dirty, zeroed)["I1-no-metadata-in-payload"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 1


def test_a_clone_at_refcount_max_is_no_transition():
    # frame 3 at REFCOUNT_MAX: a clone past it lands in the gap before UNIQUE
    at_max = _with_frame(RICH, 3, refcount=REFCOUNT_MAX)
    result = _verdicts(at_max, _with_frame(RICH, 3, refcount=REFCOUNT_MAX + 1))["I3-refcount-transitions"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 3
    below = _with_frame(RICH, 3, refcount=REFCOUNT_MAX - 1)
    assert _verdicts(below, at_max)["I3-refcount-transitions"].verdict is CheckVerdict.PASS


def test_only_a_shared_refcount_counts_down_one_by_one():
    # frame 6 holds a UNIQUE handle: one less than UNIQUE is the gap, not a drop
    result = _verdicts(RICH, _with_frame(RICH, 6, refcount=REFCOUNT_UNIQUE - 1))["I3-refcount-transitions"]
    assert result.verdict is CheckVerdict.VIOLATION and result.witness["frame"] == 6
