"""Tests of restore(): snapshot round trips (enumerated and randomly driven systems), handles, bad input."""

from __future__ import annotations

import ast
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import framemc.impl.restore as restore_module
from framemc.errors import UsageError
from framemc.sync import on_cpu
from framemc.impl.errors import NoMemory
from framemc.impl.frame import FramePurpose
from framemc.impl.restore import MAX_RESTORED_HANDLES, restore
from framemc.impl.system import FrameSystem
from framemc.model.enumerate import enumerate_states
from framemc.snapshot import FILL_DIGEST, PAGE_SIZE, REFCOUNT_BUSY, REFCOUNT_UNUSED


@pytest.fixture(scope="module")
def three_frames():
    """Every 3-frame, 2-CPU state with refcounts up to 1 (shared ones: random systems, slow sweep)."""
    return enumerate_states(3, 2, max_refcount=1)


def test_every_enumerated_state_round_trips(three_frames):
    # 451 states: I3's "a refcount other than UNUSED means allocated" excludes retired frames still claimed
    assert three_frames.complete and len(three_frames.states) > 400
    for state in three_frames.states:
        system, _ = restore(state.snapshot)
        assert system.snapshot() == state.snapshot


def test_handles_account_for_each_published_frames_refcount(three_frames):
    for state in three_frames.states:
        snap = state.snapshot
        _, handles = restore(snap)
        allocated = {f for f, _ in snap.allocated}
        published = {f for f in allocated if snap.frames[f].refcount == 1}
        assert set(handles) == published
        for f, held in handles.items():
            assert len(held) == snap.frames[f].refcount
            assert all(h.paddr == f * PAGE_SIZE and h.generation == snap.frames[f].generation for h in held)


def test_dropping_every_handle_returns_the_frames():
    snap = next(s.snapshot for s in enumerate_states(2, 1, quiescent_only=True).states
                if any(fs.refcount == 2 for fs in s.snapshot.frames))
    system, handles = restore(snap, cache_capacity=2)
    for held in handles.values():
        for handle in held:
            handle.drop()
    after = system.snapshot()
    assert after.allocated == ()
    assert all(fs.refcount == REFCOUNT_UNUSED for fs in after.frames)


def test_busy_frames_get_no_handles():
    system = FrameSystem(2, ncpus=1)
    system.alloc_frame()
    snap = system.snapshot()
    busy = replace(snap, frames=(replace(snap.frames[0], refcount=REFCOUNT_BUSY), *snap.frames[1:]))
    restored, handles = restore(busy)
    assert restored.snapshot() == busy and handles == {}


def test_bugs_are_switched_on_in_the_restored_system():
    system, _ = restore(FrameSystem(2).snapshot(), bugs={"merge-non-buddy"})
    assert system.bugs == frozenset({"merge-non-buddy"})


_OPS = st.lists(st.tuples(st.sampled_from(["alloc", "alloc2", "clone", "drop", "poison"]), st.integers(0, 7),
                          st.booleans()), max_size=14)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(nframes=st.integers(1, 6), ncpus=st.integers(1, 3), cache=st.integers(0, 3), ops=_OPS)
def test_randomly_driven_systems_round_trip_and_behave_alike(nframes, ncpus, cache, ops):
    system = FrameSystem(nframes, ncpus=ncpus, cache_capacity=cache)
    held = []
    for op, pick, flag in ops:
        with on_cpu(pick % ncpus):
            try:
                if op == "alloc":
                    purpose = FramePurpose.PAGE_TABLE if flag else FramePurpose.GENERAL
                    held.append(system.options().purpose(purpose).zeroed(pick % 2 == 0).alloc_frame())
                elif op == "alloc2":
                    segment = system.alloc_segment(2, zeroed=flag)
                    held.extend(segment.take(i) for i in range(2))
                elif held and op == "clone":
                    held.append(held[pick % len(held)].clone())
                elif held and op == "drop":
                    held.pop(pick % len(held)).drop()
                elif held and op == "poison":
                    held[pick % len(held)].mark_poisoned()
            except NoMemory:
                pass
    snap = system.snapshot()
    restored, handles = restore(snap, cache_capacity=cache)
    assert restored.snapshot() == snap
    assert sum(len(h) for h in handles.values()) == len(held)
    # the restored system makes the same next choice as the original
    for machine in (system, restored):
        with on_cpu(0):
            try:
                machine.alloc_frame()
            except NoMemory:
                pass
    assert restored.snapshot() == system.snapshot()


def _boot(nframes: int = 2):
    return FrameSystem(nframes, ncpus=2).snapshot()


def _in_use():
    system = FrameSystem(2, ncpus=1, cache_capacity=0)
    system.alloc_frame()
    return system.snapshot()


@pytest.mark.parametrize("make, kwargs, words", [
    (lambda: replace(_boot(), frames=(replace(_boot().frames[0], payload_crc=123), _boot().frames[1])), {},
     "neither the zero page nor the fill page"),
    (lambda: replace(_boot(), allocated=((0, 1),)), {}, "both free and allocated"),
    (lambda: replace(_boot(), free_blocks=((1, 1),)), {}, "misaligned"),
    (lambda: replace(_boot(), free_blocks=()), {}, "not poisoned"),
    (lambda: replace(_boot(), free_blocks=((0, 0),), cached=((1,), ())), {"cache_capacity": 0}, "cache_capacity"),
    (lambda: replace(_boot(), added=((0, 3),)), {}, "not inside 2 frames"),
    (lambda: replace(_in_use(), frames=(replace(_in_use().frames[0], refcount=MAX_RESTORED_HANDLES + 1),
                                        _in_use().frames[1])), {}, "handles"),
    (lambda: replace(_boot(), free_blocks=((0, 0), (1, 0)), frames=(replace(_boot().frames[0], refcount=1),
                                                                    _boot().frames[1])), {}, "refcount"),
    (lambda: "not a snapshot", {}, "AllocatorSnapshot"),
    (lambda: replace(_boot(), max_order=-1), {}, "max_order"),
    (lambda: replace(_boot(), frames=(replace(_boot().frames[0], purpose=256), _boot().frames[1])), {}, "8-bit"),
    (lambda: _boot(), {"cache_capacity": -1}, "cache_capacity"),
])
def test_bad_snapshots_are_one_line_usage_errors(make, kwargs, words):
    with pytest.raises(UsageError, match=words) as info:
        restore(make(), **kwargs)
    assert "\n" not in str(info.value)


def test_fill_page_crc_is_what_a_fresh_machine_shows():
    assert {fs.payload_crc for fs in _boot().frames} == {FILL_DIGEST}


@pytest.mark.slow
def test_every_four_frame_state_round_trips():
    result = enumerate_states(4, 2)
    assert result.complete
    for state in result.states:
        system, _ = restore(state.snapshot)
        assert system.snapshot() == state.snapshot


def test_restore_keeps_the_layering():
    tree = ast.parse(open(restore_module.__file__).read())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.startswith(("z3", "framemc.model"))]
