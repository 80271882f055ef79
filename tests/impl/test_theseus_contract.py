"""Bad input to the Theseus allocator: every error is specific, one line, and changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from framemc.errors import UsageError
from framemc.impl.errors import (
    AddressOutOfRange,
    DoubleFree,
    InvalidLayout,
    MisalignedAddress,
    NotAddedMemory,
    OverlapsAddedMemory,
    OverlapsFreeMemory,
    ZeroSize,
)
from framemc.impl.theseus import (
    ActionAlreadyPerformed,
    AllocationError,
    AlreadyInitialized,
    DeferredAllocAction,
    DropMappedFrames,
    Frames,
    FramesConsumed,
    Layout,
    NotAllocated,
    TheseusFrameAllocator,
    WrongFramesState,
)
from framemc.snapshot import PAGE_SIZE

P = PAGE_SIZE


@dataclass
class World:
    """An allocator in a state that has every kind of memory, and handles into it."""

    #: the allocator
    alloc: TheseusFrameAllocator
    #: frames 0-3, handed out by the contract's alloc
    held: int
    #: frames 4-5 owned through the Frames API, Allocated
    owned: Frames
    #: frames 6-7 owned through the Frames API, Mapped
    mapped: Frames
    #: a consumed handle (moved into ``mapped``)
    consumed: Frames
    #: an undelivered action holding frames 9-15
    action: DeferredAllocAction
    #: an action that was already performed
    spent: DeferredAllocAction


def world() -> World:
    """General memory [0, 16) and [24, 28), reserved memory [32, 36), phys space of 64 frames."""
    alloc = TheseusFrameAllocator(phys_frames=64)
    alloc.init([(0, 16 * P)], [(32 * P, 4 * P)])
    alloc.add_free_memory(24 * P, 4 * P)
    held = alloc.alloc(Layout(4 * P))
    owned = alloc.allocate_frames_at(4 * P, 2)
    consumed = alloc.allocate_frames_at(6 * P, 2)
    mapped = consumed.into_mapped()
    _, action = alloc.allocate_frames_deferred(8 * P, 1)
    _, spent = alloc.allocate_frames_deferred(24 * P, 1)
    spent.drop()
    assert held == 0
    return World(alloc, held, owned, mapped, consumed, action, spent)


#: (case id, the bad call, the error it must raise)
CASES: list[tuple[str, Callable[[World], object], type[Exception]]] = [
    ("dealloc-misaligned-addr", lambda w: w.alloc.dealloc(P + 1, P), MisalignedAddress),
    ("dealloc-misaligned-size", lambda w: w.alloc.dealloc(0, P + 1), MisalignedAddress),
    ("dealloc-negative-size", lambda w: w.alloc.dealloc(0, -P), AddressOutOfRange),
    ("dealloc-zero-size", lambda w: w.alloc.dealloc(0, 0), ZeroSize),
    ("dealloc-out-of-range", lambda w: w.alloc.dealloc(63 * P, 2 * P), AddressOutOfRange),
    ("dealloc-negative-addr", lambda w: w.alloc.dealloc(-P, P), AddressOutOfRange),
    ("dealloc-double-free", lambda w: w.alloc.dealloc(25 * P, 2 * P), DoubleFree),
    ("dealloc-pending-leftover", lambda w: w.alloc.dealloc(9 * P, P), DoubleFree),
    ("dealloc-overlaps-free", lambda w: w.alloc.dealloc(8 * P, 2 * P), OverlapsFreeMemory),
    ("dealloc-free-and-never-added", lambda w: w.alloc.dealloc(15 * P, 2 * P), NotAddedMemory),
    ("dealloc-free-reserved", lambda w: w.alloc.dealloc(32 * P, P), DoubleFree),
    ("dealloc-never-added", lambda w: w.alloc.dealloc(40 * P, P), NotAddedMemory),
    ("dealloc-frames-api-owned", lambda w: w.alloc.dealloc(4 * P, P), NotAllocated),
    ("dealloc-part-held-part-owned", lambda w: w.alloc.dealloc(3 * P, 2 * P), NotAllocated),
    ("add-overlaps-general", lambda w: w.alloc.add_free_memory(15 * P, 2 * P), OverlapsAddedMemory),
    ("add-overlaps-allocated", lambda w: w.alloc.add_free_memory(0, P), OverlapsAddedMemory),
    ("add-overlaps-reserved", lambda w: w.alloc.add_free_memory(30 * P, 4 * P), OverlapsAddedMemory),
    ("add-misaligned", lambda w: w.alloc.add_free_memory(40 * P + 8, P), MisalignedAddress),
    ("add-zero", lambda w: w.alloc.add_free_memory(40 * P, 0), ZeroSize),
    ("add-out-of-range", lambda w: w.alloc.add_free_memory(60 * P, 8 * P), AddressOutOfRange),
    ("add-not-an-int", lambda w: w.alloc.add_free_memory("0x1000", P), UsageError),
    ("alloc-misaligned-size", lambda w: w.alloc.alloc(Layout(P + 1)), MisalignedAddress),
    ("alloc-zero-size", lambda w: w.alloc.alloc(Layout(0)), ZeroSize),
    ("alloc-bad-align", lambda w: w.alloc.alloc(Layout(P, 3 * P)), InvalidLayout),
    ("init-twice", lambda w: w.alloc.init([(40 * P, P)]), AlreadyInitialized),
    ("allocate-at-allocated", lambda w: w.alloc.allocate_frames_at(5 * P, 1), AllocationError),
    ("allocate-at-straddling", lambda w: w.alloc.allocate_frames_at(14 * P, 4), AllocationError),
    ("allocate-at-pending", lambda w: w.alloc.allocate_frames_at(10 * P, 1), AllocationError),
    ("allocate-at-out-of-range", lambda w: w.alloc.allocate_frames_at(62 * P, 4), AddressOutOfRange),
    ("allocate-zero-frames", lambda w: w.alloc.allocate_frames_at(20 * P, 0), AllocationError),
    ("drop-mapped", lambda w: w.mapped.drop(), DropMappedFrames),
    ("map-mapped", lambda w: w.mapped.into_mapped(), WrongFramesState),
    ("unmap-allocated", lambda w: w.owned.into_unmapped(), WrongFramesState),
    ("use-consumed", lambda w: w.consumed.drop(), FramesConsumed),
    ("merge-consumed", lambda w: w.owned.merge(w.consumed), FramesConsumed),
    ("action-twice", lambda w: w.spent.drop(), ActionAlreadyPerformed),
]


@pytest.mark.parametrize("call, error", [(c, e) for _, c, e in CASES], ids=[i for i, _, _ in CASES])
def test_bad_input_raises_a_specific_one_line_error_and_changes_nothing(call, error) -> None:
    w = world()
    before = w.alloc.snapshot()
    states = (w.owned.state, w.mapped.state, w.owned.consumed, w.mapped.consumed, w.action.performed)
    with pytest.raises(error) as info:
        call(w)
    assert type(info.value) is error
    message = str(info.value)
    assert "\n" not in message and message
    if error is not UsageError:
        assert "0x" in message or "frames" in message, f"message does not name the range: {message}"
    assert w.alloc.snapshot() == before
    assert (w.owned.state, w.mapped.state, w.owned.consumed, w.mapped.consumed, w.action.performed) == states


def test_init_with_overlapping_free_areas_changes_nothing() -> None:
    alloc = TheseusFrameAllocator(phys_frames=64)
    before = alloc.snapshot()
    with pytest.raises(OverlapsAddedMemory, match=r"init free area \[0x2000, 0x6000\)"):
        alloc.init([(0, 4 * P), (2 * P, 4 * P)])
    assert alloc.snapshot() == before


def test_world_is_what_the_cases_assume() -> None:
    """Guards the cases above: each one targets the memory it claims to."""
    snap = world().alloc.snapshot()
    assert snap.held == ((0, 4),)
    assert snap.allocated == ((0, 4, "free", "allocated"), (4, 2, "free", "allocated"),
                              (6, 2, "free", "mapped"), (8, 1, "free", "allocated"),
                              (24, 1, "free", "allocated"))
    assert snap.pending == ((9, 7, "free"),)
    assert snap.free_general == ((25, 3),) and snap.free_reserved == ((32, 4),)
    assert snap.general_regions == ((0, 16), (24, 4)) and snap.reserved_regions == ((32, 4),)
