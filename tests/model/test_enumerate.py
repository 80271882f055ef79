"""Tests of the symbolic initial-state enumerator: soundness against check_snapshot, symmetry, bounds, non-vacuity."""

from __future__ import annotations

import zlib

import pytest

from framemc.errors import UsageError
from framemc.model import CheckVerdict, check_snapshot
from framemc.model.enumerate import (
    EnumerationStatus,
    canonical_snapshot,
    enumerate_states,
    is_quiescent,
)
from framemc.model.invariants import INVARIANTS_BY_NAME, STATE_INVARIANTS
from framemc.snapshot import (
    FILL_DIGEST,
    PAGE_SIZE,
    PAYLOAD_FILL,
    REFCOUNT_UNUSED,
    ZERO_DIGEST,
    AllocatorSnapshot,
    FrameSnapshot,
)

#: invariants no other invariant or bound implies: dropping one lets z3 produce a state violating it
INDEPENDENT = ("I3-refcount-sentinels", "S-conservation", "S-buddy-aligned", "S-buddies-merged",
               "S-poisoned-never-free")
#: invariants that hold in every state the bounds allow even without themselves (see model/enumerate.py); the
#: ghost-field invariants hold by the refinement mapping that derives ghost fields from a snapshot (a snapshot
#: is taken with the pool idle, so no block is pending)
IMPLIED = ("I2-non-overlapping-ranges", "S-blocks-within-pool", "S-pool-ids", "S-early-frames-reserved",
           "I3-generation-epoch", "I3-live-handles", "S-cache-owner", "S-pending-block")


@pytest.fixture(scope="module")
def two_frames():
    """Every state of a 2-frame, 2-CPU machine."""
    return enumerate_states(2, 2)


def _verdicts(snap: AllocatorSnapshot) -> dict[str, CheckVerdict]:
    return {r.name: r.verdict for r in check_snapshot(snap)}


def test_partition_covers_every_state_invariant():
    assert sorted(INDEPENDENT + IMPLIED) == sorted(inv.name for inv in STATE_INVARIANTS)


def test_enumeration_is_complete_and_every_state_passes_check_snapshot(two_frames):
    assert two_frames.status is EnumerationStatus.COMPLETE and two_frames.complete
    assert len(two_frames.states) > 1
    for state in two_frames.states:
        assert set(_verdicts(state.snapshot).values()) == {CheckVerdict.PASS}, state.snapshot


def test_quiescent_states_of_three_frames_pass_check_snapshot():
    result = enumerate_states(3, 2, quiescent_only=True)
    assert result.complete and len(result.states) > 100
    assert all(s.quiescent for s in result.states)
    for snap in result.quiescent:
        assert set(_verdicts(snap).values()) == {CheckVerdict.PASS}, snap


def test_quiescent_only_is_the_quiescent_flag(two_frames):
    filtered = enumerate_states(2, 2, quiescent_only=True)
    assert filtered.quiescent == two_frames.quiescent
    assert 0 < len(two_frames.quiescent) < len(two_frames.states)
    assert any(not s.quiescent for s in two_frames.states)


def test_symmetry_reduction_reduces_and_accounts_for_every_raw_model(two_frames):
    assert len(two_frames.states) < two_frames.raw_count
    assert sum(s.orbit for s in two_frames.states) == two_frames.raw_count
    for state in two_frames.states:
        assert canonical_snapshot(state.snapshot) == state.snapshot
        assert list(state.snapshot.cached) == sorted(state.snapshot.cached)
    assert any(s.orbit == 2 for s in two_frames.states)


def test_one_cpu_has_no_symmetry():
    result = enumerate_states(2, 1)
    assert result.complete and result.raw_count == len(result.states)


def test_enumeration_is_deterministic(two_frames):
    again = enumerate_states(2, 2)
    assert again.states == two_frames.states and again.raw_count == two_frames.raw_count


def test_snapshots_follow_the_bounds_and_the_payload_convention(two_frames):
    for state in two_frames.states:
        snap = state.snapshot
        assert snap.added == ((0, 2),) and len(snap.cached) == 2
        for fs in snap.frames:
            assert fs.refcount in (REFCOUNT_UNUSED, 0, 1, 2)
            assert fs.payload_crc == (ZERO_DIGEST if fs.payload_zero else FILL_DIGEST)
            assert fs.flags == fs.guard
        assert sum(fs.guard != 0 for fs in snap.frames) <= 1
    assert FILL_DIGEST == zlib.crc32(bytes([PAYLOAD_FILL]) * PAGE_SIZE)


def test_vary_data_adds_generations_purposes_and_payloads():
    plain = enumerate_states(2, 1, quiescent_only=True)
    varied = enumerate_states(2, 1, quiescent_only=True, vary_data=True)
    assert varied.complete and len(varied.states) > len(plain.states)
    assert {fs.purpose for s in varied.quiescent for fs in s.frames} > {fs.purpose for s in plain.quiescent
                                                                         for fs in s.frames}
    for snap in varied.quiescent:
        assert set(_verdicts(snap).values()) == {CheckVerdict.PASS}


def test_limit_makes_the_result_incomplete():
    result = enumerate_states(2, 2, limit=5)
    assert result.status is EnumerationStatus.LIMIT_HIT and not result.complete
    assert result.raw_count == 5 and result.detail


def test_time_budget_makes_the_result_unknown_never_complete():
    result = enumerate_states(3, 2, timeout_ms=1)
    assert result.status is EnumerationStatus.UNKNOWN and not result.complete and result.detail


@pytest.mark.parametrize("name", INDEPENDENT)
def test_dropping_an_invariant_lets_in_states_that_violate_it(two_frames, name):
    rest = tuple(inv for inv in STATE_INVARIANTS if inv.name != name)
    loose = enumerate_states(2, 2, invariants=rest, limit=3000)
    extra = [s.snapshot for s in loose.states if s.snapshot not in {t.snapshot for t in two_frames.states}]
    assert extra, f"dropping {name} let in no new state"
    assert all(_verdicts(snap)[name] is CheckVerdict.VIOLATION for snap in extra)


@pytest.mark.parametrize("name", IMPLIED)
def test_implied_invariants_change_nothing_under_the_bounds(two_frames, name):
    rest = tuple(inv for inv in STATE_INVARIANTS if inv.name != name)
    assert enumerate_states(2, 2, invariants=rest).states == two_frames.states


def test_a_violating_state_is_not_enumerated(two_frames):
    frame = FrameSnapshot(REFCOUNT_UNUSED, 0, 0, 0, 0, False, FILL_DIGEST)
    unmerged = AllocatorSnapshot(2, 1, (frame, frame), ((0, 0), (1, 0)), ((), ()), (), ((0, 2),))
    assert _verdicts(unmerged)["S-buddies-merged"] is CheckVerdict.VIOLATION
    assert is_quiescent(unmerged)
    assert unmerged not in {s.snapshot for s in two_frames.states}
    merged = AllocatorSnapshot(2, 1, (frame, frame), ((0, 1),), ((), ()), (), ((0, 2),))
    assert merged in {s.snapshot for s in two_frames.states}


def test_is_quiescent_rejects_busy_and_stray_refcounts():
    def snap(rc0: int, allocated: tuple) -> AllocatorSnapshot:
        fs = FrameSnapshot(rc0, 1, 0, 0, 1, True, 0)
        return AllocatorSnapshot(1, 0, (fs,), (), ((),), allocated, ((0, 1),))

    assert is_quiescent(snap(1, ((0, 1),)))
    assert not is_quiescent(snap(0, ((0, 1),)))
    assert not is_quiescent(snap(REFCOUNT_UNUSED, ((0, 1),)))
    assert not is_quiescent(snap(1, ()))


@pytest.mark.parametrize("kwargs, word", [
    ({"nframes": 0}, "nframes"), ({"ncpus": 9}, "ncpus"), ({"max_refcount": 0}, "max_refcount"),
    ({"limit": 0}, "limit"), ({"timeout_ms": 0}, "timeout_ms"), ({"quiescent_only": 1}, "quiescent_only"),
    ({"invariants": (INVARIANTS_BY_NAME["I3-generation"],)}, "state invariants"),
])
def test_bad_bounds_are_one_line_usage_errors(kwargs, word):
    with pytest.raises(UsageError, match=word) as info:
        enumerate_states(**kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_four_frames_two_cpus_quiescent_states_all_pass():
    result = enumerate_states(4, 2, quiescent_only=True)
    assert result.complete and len(result.states) > 1000
    for snap in result.quiescent:
        assert set(_verdicts(snap).values()) == {CheckVerdict.PASS}, snap
