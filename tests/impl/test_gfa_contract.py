"""Seed 002's GlobalFrameAllocator contract: every breach raises its own error and changes nothing."""

from __future__ import annotations

import pytest

from framemc.errors import FramemcError, KernelError, UsageError
from framemc.impl.buddy import Layout
from framemc.impl.errors import (
    AddressOutOfRange,
    ContractError,
    DoubleFree,
    InvalidLayout,
    MisalignedAddress,
    NotAddedMemory,
    OverlapsAddedMemory,
    OverlapsFreeMemory,
    ZeroSize,
)
from framemc.impl.system import FrameSystem
from framemc.snapshot import PAGE_SIZE

P = PAGE_SIZE


def contract_system() -> FrameSystem:
    """16 frames; [0, 12) added; 8..11 allocated as one range, 0 and 1 as singles, 1 then freed (cached)."""
    system = FrameSystem(16, cache_capacity=2, add_all=False)
    system.allocator.add_free_memory(0, 12 * P)
    assert system.allocator.alloc(Layout(4 * P)) == 8 * P
    assert system.allocator.alloc(Layout(P)) == 0
    assert system.allocator.alloc(Layout(P)) == P
    system.allocator.dealloc(P, P)
    assert system.allocator.cached() == ((1,),)
    assert system.allocator.free_blocks() == ((2, 1), (4, 2))
    return system


BAD_CALLS = [
    # (id, method, args, error, message fragment)
    ("dealloc-misaligned-addr", "dealloc", (P + 8, P), MisalignedAddress, "not aligned"),
    ("dealloc-misaligned-size", "dealloc", (0, P // 2), MisalignedAddress, "not aligned"),
    ("dealloc-zero-size", "dealloc", (0, 0), ZeroSize, "size is zero"),
    ("dealloc-out-of-range", "dealloc", (15 * P, 2 * P), AddressOutOfRange, "outside physical memory"),
    ("dealloc-negative", "dealloc", (-P, P), AddressOutOfRange, "outside physical memory"),
    ("dealloc-never-added", "dealloc", (12 * P, P), NotAddedMemory, "never added"),
    ("dealloc-double-free", "dealloc", (P, P), DoubleFree, "double free"),
    ("dealloc-double-free-in-pool", "dealloc", (4 * P, 4 * P), DoubleFree, "double free"),
    ("dealloc-overlaps-free", "dealloc", (0, 2 * P), OverlapsFreeMemory, "already free"),
    ("dealloc-straddles-added-edge", "dealloc", (11 * P, 2 * P), NotAddedMemory, "never added"),
    ("add-overlaps-added", "add_free_memory", (10 * P, 4 * P), OverlapsAddedMemory, "added before"),
    ("add-misaligned", "add_free_memory", (12 * P + 1, P), MisalignedAddress, "not aligned"),
    ("add-zero-size", "add_free_memory", (12 * P, 0), ZeroSize, "size is zero"),
    ("add-out-of-range", "add_free_memory", (12 * P, 8 * P), AddressOutOfRange, "outside physical memory"),
    ("alloc-zero-size", "alloc", (Layout(0),), ZeroSize, "size is zero"),
    ("alloc-size-not-page-multiple", "alloc", (Layout(P + 1),), MisalignedAddress, "not aligned"),
    ("alloc-align-not-power-of-two", "alloc", (Layout(P, 3 * P),), InvalidLayout, "power of two"),
]


@pytest.mark.parametrize("method, args, error, fragment", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_contract_breach_raises_and_changes_nothing(method, args, error, fragment):
    system = contract_system()
    before = system.snapshot()
    with pytest.raises(error) as info:
        getattr(system.allocator, method)(*args)
    assert isinstance(info.value, ContractError)
    assert isinstance(info.value, KernelError)
    assert not isinstance(info.value, FramemcError)
    message = str(info.value)
    assert "\n" not in message and fragment in message
    assert message.startswith(method)
    assert system.snapshot() == before


def test_messages_name_the_range():
    system = contract_system()
    with pytest.raises(DoubleFree, match=r"dealloc \[0x1000, 0x2000\): double free"):
        system.allocator.dealloc(P, P)


@pytest.mark.parametrize("args", [("0x1000", P), (0, None), (True, P)])
def test_non_integer_arguments_are_usage_errors(args):
    system = contract_system()
    before = system.snapshot()
    with pytest.raises(UsageError, match="must be ints"):
        system.allocator.dealloc(*args)
    assert system.snapshot() == before


def test_partial_dealloc_of_a_range_is_allowed_in_any_order():
    system = contract_system()
    system.allocator.dealloc(10 * P, P)
    system.allocator.dealloc(8 * P, P)
    assert system.allocator.allocated() == ((0, 1), (9, 1), (11, 1))
    with pytest.raises(DoubleFree):
        system.allocator.dealloc(10 * P, P)
    system.allocator.dealloc(11 * P, P)
    system.allocator.dealloc(9 * P, P)
    assert system.allocator.allocated() == ((0, 1),)


def test_a_freed_range_may_be_freed_again_after_reallocation():
    system = contract_system()
    system.allocator.dealloc(8 * P, 4 * P)
    assert system.allocator.alloc(Layout(4 * P)) == 4 * P
    assert system.allocator.alloc(Layout(4 * P)) == 8 * P
    system.allocator.dealloc(8 * P, 4 * P)
    assert system.allocator.frame_state(8).name == "FREE"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"nframes": 0}, "nframes must be an int in 1.."),
    ({"nframes": 1 << 20}, "nframes must be an int in 1.."),
    ({"nframes": 4, "ncpus": 0}, "at least one CPU"),
    ({"nframes": 4, "max_order": 21}, "max_order must be in 0..20"),
    ({"nframes": 4, "cache_capacity": -1}, "cache_capacity must be >= 0"),
    ({"nframes": 4, "bugs": {"typo"}}, "unknown bug variant 'typo'"),
    ({"nframes": 4, "fill": 256}, "not a byte"),
])
def test_bad_system_configuration_is_a_one_line_usage_error(kwargs, fragment):
    with pytest.raises(UsageError) as info:
        FrameSystem(**kwargs)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("call, fragment", [
    (lambda s: s.options().zeroed(1), "zeroed expects a bool"),
    (lambda s: s.options().purpose(2), "purpose expects a FramePurpose"),
    (lambda s: s.options().vtable("dma"), "vtable expects a FrameMetaVtable"),
    (lambda s: s.alloc_segment(-1), "alloc_segment expects a frame count"),
    (lambda s: s.allocator.alloc(4096), "alloc expects a Layout"),
])
def test_bad_frame_api_input_is_refused(call, fragment):
    system = contract_system()
    before = system.snapshot()
    with pytest.raises(UsageError, match=fragment):
        call(system)
    assert system.snapshot() == before
