"""Frame allocation, sharing and dropping: the MetaSlot refcount protocol (seeds 000, 001, 004)."""

from __future__ import annotations

import pytest

from framemc.errors import UsageError
from framemc.sync import Ordering
from framemc.impl.buddy import FrameState, Layout
from framemc.impl.errors import (
    ClaimFailed,
    GetFrameError,
    GetFrameReason,
    InvalidArgs,
    NoMemory,
    RefcountOverflow,
)
from framemc.impl.frame import FramePurpose
from framemc.impl.meta import FrameMetaVtable
from framemc.impl.system import FrameSystem
from framemc.snapshot import (
    PAGE_SIZE,
    PURPOSE_PAGE_TABLE,
    REFCOUNT_BUSY,
    REFCOUNT_MAX,
    REFCOUNT_UNIQUE,
    REFCOUNT_UNUSED,
)


def test_alloc_steps_happen_in_seed_order(recorder):
    """Seed 000: claim CAS (Acquire), generation bump, zero, purpose (Release), refcount=1 (Release)."""
    system = FrameSystem(4, cache_capacity=0)
    recorder.events.clear()
    system.alloc_frame(FramePurpose.PAGE_TABLE)
    claim = recorder.index("meta[0].refcount", "compare_exchange")
    bump = recorder.index("meta[0].generation", "fetch_add")
    zero = recorder.index("payload[0]", "write")
    purpose = recorder.index("meta[0].purpose", "store")
    publish = recorder.index("meta[0].refcount", "store", 1)
    assert claim < bump < zero < purpose < publish
    assert recorder.events[claim].order is Ordering.ACQUIRE
    assert recorder.events[claim].value == REFCOUNT_BUSY
    assert recorder.events[purpose].order is Ordering.RELEASE
    assert recorder.events[publish].order is Ordering.RELEASE


def test_last_drop_steps_happen_in_order(recorder):
    """Last drop: fetch_sub (Release), fence (Acquire), on_last_ref, store UNUSED, then dealloc."""
    system = FrameSystem(4, cache_capacity=0)
    frame = system.alloc_frame()
    recorder.events.clear()
    frame.drop()
    sub = recorder.index("meta[0].refcount", "fetch_sub")
    fence = recorder.index("fence", "fence")
    vtable = recorder.index("meta[0].vtable", "load")
    unused = recorder.index("meta[0].refcount", "store", REFCOUNT_UNUSED)
    lock = recorder.index("pool.lock", "lock")
    assert sub < fence < vtable < unused < lock
    assert recorder.events[sub].order is Ordering.RELEASE
    assert recorder.events[fence].order is Ordering.ACQUIRE
    assert recorder.events[unused].order is Ordering.RELEASE


def test_zeroed_is_the_default_and_can_be_turned_off():
    system = FrameSystem(4, cache_capacity=0, fill=0x5A)
    frame = system.alloc_frame()
    assert frame.read(0, PAGE_SIZE) == bytes(PAGE_SIZE)
    dirty = system.options().zeroed(False).alloc_frame()
    assert dirty.read(0, 16) == b"\x5a" * 16


def test_page_table_purpose_always_zeroes():
    system = FrameSystem(4, cache_capacity=0, fill=0x5A)
    frame = system.options().zeroed(False).purpose(FramePurpose.PAGE_TABLE).alloc_frame()
    assert frame.read(0, PAGE_SIZE) == bytes(PAGE_SIZE)
    assert system.snapshot().frames[frame.paddr // PAGE_SIZE].purpose == PURPOSE_PAGE_TABLE


def test_alloc_segment_zero_is_invalid_args_and_changes_nothing():
    system = FrameSystem(4)
    before = system.snapshot()
    with pytest.raises(InvalidArgs):
        system.alloc_segment(0)
    assert system.snapshot() == before


def test_no_memory_when_exhausted_and_state_unchanged():
    system = FrameSystem(4, cache_capacity=0)
    held = system.alloc_segment(4)
    before = system.snapshot()
    with pytest.raises(NoMemory):
        system.alloc_frame()
    with pytest.raises(NoMemory):
        system.alloc_segment(2)
    assert system.snapshot() == before
    held.drop()


def test_clone_increments_and_drop_decrements():
    system = FrameSystem(4, cache_capacity=0)
    frame = system.alloc_frame()
    twin = frame.clone()
    assert frame.reference_count() == 2
    frame.drop()
    assert twin.reference_count() == 1
    assert system.allocator.allocated() == ((0, 1),)
    twin.drop()
    assert system.allocator.allocated() == ()
    assert system.snapshot().frames[0].refcount == REFCOUNT_UNUSED


@pytest.mark.parametrize("use", ["drop", "clone", "on_unmap", "mark_poisoned", "read", "write"])
def test_dropped_handle_cannot_be_used(use):
    """Every method of a dropped handle is a UsageError and changes nothing (the frame may be someone else's)."""
    system = FrameSystem(4)
    frame = system.alloc_frame()
    frame.drop()
    before = system.snapshot()
    args = {"read": (0, 8), "write": (0, b"x")}.get(use, ())
    with pytest.raises(UsageError, match=f"{use} on frame handle 0x0 after it was dropped"):
        getattr(frame, use)(*args)
    assert system.snapshot() == before


def test_freed_frame_comes_back_with_new_generation():
    system = FrameSystem(1, cache_capacity=0)
    frame = system.alloc_frame()
    assert frame.generation_matches()
    frame.drop()
    again = system.alloc_frame()
    assert again.paddr == frame.paddr
    assert again.generation == frame.generation + 1
    assert not frame.generation_matches()
    assert system.meta_generation_matches(again.paddr, again.generation)


@pytest.mark.parametrize("refcount, reason", [
    (REFCOUNT_UNUSED, GetFrameReason.UNUSED),
    (REFCOUNT_BUSY, GetFrameReason.BUSY),
    (REFCOUNT_UNIQUE, GetFrameReason.UNIQUE),
])
def test_from_in_use_refuses_non_shared_frames(refcount, reason):
    system = FrameSystem(2, cache_capacity=0)
    system.get_meta_slot(0).refcount.store(refcount)
    before = system.snapshot()
    with pytest.raises(GetFrameError) as info:
        system.from_in_use(0)
    assert info.value.reason is reason
    assert system.snapshot() == before


def test_from_in_use_increments_a_live_frame():
    system = FrameSystem(2, cache_capacity=0)
    frame = system.alloc_frame()
    other = system.from_in_use(frame.paddr)
    assert other.reference_count() == 2
    assert other.generation == frame.generation


def test_refcount_overflow_aborts():
    system = FrameSystem(2, cache_capacity=0)
    frame = system.alloc_frame()
    frame.slot.refcount.store(REFCOUNT_MAX)
    with pytest.raises(RefcountOverflow):
        frame.clone()
    frame.slot.refcount.store(REFCOUNT_MAX)
    with pytest.raises(RefcountOverflow):
        system.from_in_use(frame.paddr)


def test_from_unused_claims_only_unused_frames():
    system = FrameSystem(2, cache_capacity=0)
    frame = system.alloc_frame()
    with pytest.raises(ClaimFailed):
        system.from_unused(frame.paddr)
    paddr = system.allocator.alloc(Layout(PAGE_SIZE))
    claimed = system.from_unused(paddr)
    assert claimed.reference_count() == 1
    assert system.snapshot().frames[paddr // PAGE_SIZE].generation == 1


def test_segment_frames_come_back_in_any_order():
    system = FrameSystem(8, cache_capacity=0)
    segment = system.alloc_segment(4)
    assert [f.paddr for f in segment.held()] == [i * PAGE_SIZE for i in range(4)]
    segment.drop_frame(2)
    segment.drop_frame(0)
    assert system.allocator.allocated() == ((1, 1), (3, 1))
    segment.drop()
    assert system.allocator.allocated() == ()
    assert system.allocator.free_blocks() == ((0, 3),)


def test_segment_take_is_checked():
    system = FrameSystem(4, cache_capacity=0)
    segment = system.alloc_segment(2)
    with pytest.raises(UsageError, match="has frames 0..1, not 2"):
        segment.take(2)
    segment.take(1).drop()
    with pytest.raises(UsageError, match="already taken"):
        segment.drop_frame(1)
    segment.drop()
    assert system.allocator.allocated() == ()


def test_vtable_hooks_run_on_last_ref_and_unmap():
    system = FrameSystem(2, cache_capacity=0)
    seen: list[tuple[str, int]] = []
    vtable = FrameMetaVtable("dma", on_last_ref=lambda p: seen.append(("last", p)),
                             on_unmap=lambda p: seen.append(("unmap", p)))
    frame = system.options().vtable(vtable).alloc_frame()
    twin = frame.clone()
    frame.on_unmap()
    frame.drop()
    assert seen == [("unmap", 0)]
    twin.drop()
    assert seen == [("unmap", 0), ("last", 0)]
    # The metadata dies with the last reference: the next owner gets the default vtable.
    assert system.frame_meta_debug_snapshot(0)[2] == 0


def test_mark_poisoned_sets_guard_and_flag():
    system = FrameSystem(2, cache_capacity=0)
    frame = system.alloc_frame()
    frame.mark_poisoned()
    snap = system.snapshot().frames[0]
    assert snap.guard == 1 and snap.flags == 1
    assert system.block_phys_has_poison_guard(0, 0)
    assert system.block_phys_has_poison_guard(0, 1)
    assert not system.block_phys_has_poison_guard(PAGE_SIZE, 0)


def test_poisoned_frame_is_never_handed_out_again():
    system = FrameSystem(2, cache_capacity=2)
    frame = system.alloc_frame()
    frame.mark_poisoned()
    frame.drop()
    handed = {system.alloc_frame().paddr}
    with pytest.raises(NoMemory):
        system.alloc_frame()
    assert frame.paddr not in handed
    # The frame is retired: on no free list, in no cache, and no longer allocated.
    assert system.allocator.frame_state(0) is FrameState.RETIRED
    assert system.allocator.allocated() == ((1, 1),)
    assert system.allocator.cached() == ((),)


def test_payload_access_outside_page_is_refused():
    system = FrameSystem(2)
    frame = system.alloc_frame()
    with pytest.raises(UsageError, match="outside the page"):
        frame.write(PAGE_SIZE - 1, b"ab")


def test_asterinas_alloc_dealloc_ktest():
    """Seed 004's ktest: keep every third single frame, allocate and drop a 10-frame segment."""
    system = FrameSystem(256, cache_capacity=12)
    single = system.options()
    contiguous = system.options().zeroed(False)
    remember = []
    for _ in range(10):
        for i in range(10):
            frame = single.alloc_frame()
            if i % 3 == 0:
                remember.append(frame)
            else:
                frame.drop()
        contiguous.alloc_segment(10).drop()
        remember.pop().drop()
    assert len(system.allocator.allocated()) == len(remember) == 30
    for frame in remember:
        frame.drop()
    snap = system.snapshot()
    assert snap.allocated == ()
    assert sum(1 << o for _, o in snap.free_blocks) + sum(len(c) for c in snap.cached) == 256


def test_snapshot_is_a_pure_hashable_observation(recorder):
    def build() -> FrameSystem:
        """The same little history every time."""
        system = FrameSystem(8, ncpus=2, cache_capacity=2)
        keep = system.alloc_segment(3)
        system.alloc_frame(FramePurpose.PAGE_TABLE).drop()
        keep.drop_frame(1)
        return system

    system = build()
    recorder.events.clear()
    snap = system.snapshot()
    assert recorder.events == []                       # no scheduling point
    assert hash(snap) == hash(build().snapshot())      # plain values, deterministic
    assert snap == build().snapshot()
    assert snap.nframes == 8 and snap.max_order == 3
    assert snap.allocated == ((0, 1), (2, 1))
