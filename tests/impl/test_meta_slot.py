"""MetaSlot array, vtable fallback and the seed 001 helper functions."""

from __future__ import annotations

import pytest

from framemc.sync import Atomic, Ordering
from framemc.impl.errors import AddressOutOfRange, MisalignedAddress, RetryBoundExceeded
from framemc.impl.machine import metadata_size_for
from framemc.impl.meta import (
    DEFAULT_FRAME_META_VTABLE,
    MAX_CAS_RETRIES,
    FrameMetaVtable,
    VtableRegistry,
    fetch_or,
    init_metadata_array,
)
from framemc.impl.system import FrameSystem
from framemc.snapshot import FRAME_META_SIZE, PAGE_SIZE, REFCOUNT_UNUSED


def test_metadata_array_has_one_unused_slot_per_frame():
    meta = init_metadata_array(5)
    assert len(meta) == 5
    assert [s.refcount.peek() for s in meta.slots] == [REFCOUNT_UNUSED] * 5
    assert meta.slots[3].refcount.name == "meta[3].refcount"
    assert metadata_size_for(5 * PAGE_SIZE) == PAGE_SIZE
    assert metadata_size_for(PAGE_SIZE * PAGE_SIZE // FRAME_META_SIZE + PAGE_SIZE) == 2 * PAGE_SIZE


def test_get_meta_slot_checks_the_address():
    meta = init_metadata_array(4)
    assert meta.get_meta_slot(3 * PAGE_SIZE).index == 3
    assert meta.get_meta is not None
    with pytest.raises(MisalignedAddress, match=r"get_meta_slot \[0x1001"):
        meta.get_meta_slot(PAGE_SIZE + 1)
    with pytest.raises(AddressOutOfRange):
        meta.get_meta_slot(4 * PAGE_SIZE)


def test_links_live_in_the_slot_not_the_payload():
    system = FrameSystem(4, cache_capacity=0, fill=0x77)
    before = [system.memory.frame_crc(i) for i in range(4)]
    frame = system.alloc_frame(zeroed=False)
    frame.drop()
    assert [system.memory.frame_crc(i) for i in range(4)] == before
    assert system.get_meta_slot(0).link.order == 2


@pytest.mark.parametrize("bits, expected", [
    (0, "default"),
    (3, "default"),                 # unaligned
    (0xDEAD_BEE8, "default"),      # aligned but not registered
])
def test_vtable_ref_falls_back_to_default(bits, expected):
    registry = VtableRegistry()
    registry.register(FrameMetaVtable("dma"))
    assert registry.vtable_ref(bits).name == expected


def test_try_vtable_ref_tells_invalid_bits_apart():
    registry = VtableRegistry()
    vtable = FrameMetaVtable("dma")
    bits = registry.register(vtable)
    assert registry.register(vtable) == bits
    assert bits and bits % 8 == 0
    assert registry.try_vtable_ref(bits) is vtable
    assert registry.vtable_ref(bits) is vtable
    assert registry.try_vtable_ref(0) is DEFAULT_FRAME_META_VTABLE
    assert registry.try_vtable_ref(bits + 1) is None
    assert registry.try_vtable_ref(bits + 8 * 1024) is None


def test_invalid_vtable_bits_in_a_slot_do_not_break_the_last_drop():
    system = FrameSystem(2, cache_capacity=0)
    frame = system.alloc_frame()
    frame.slot.vtable.store(0x1235)
    frame.drop()
    assert system.allocator.allocated() == ()


def test_debug_snapshot_and_generation_check():
    system = FrameSystem(2, cache_capacity=0)
    frame = system.alloc_frame()
    frame.mark_poisoned()
    assert system.frame_meta_debug_snapshot(0) == (1, 1, 0)
    assert system.meta_generation_matches(0, 1)
    assert not system.meta_generation_matches(0, 0)
    system.get_meta_slot(0).set_generation(7)
    assert system.frame_meta_debug_snapshot(0)[0] == 7


def test_fetch_or_sets_bits_and_returns_old():
    cell = Atomic(0b100, bits=8, name="x")
    assert fetch_or(cell, 0b001, Ordering.RELEASE) == 0b100
    assert cell.peek() == 0b101


def test_fetch_or_retry_is_bounded(recorder):
    cell = Atomic(0, bits=8, name="contended")
    # Another CPU changes the value after every load and every CAS attempt: the loop must give up.
    bump = lambda: setattr(cell, "_value", (cell._value + 2) & 0xFF)  # noqa: E731
    for _ in range(MAX_CAS_RETRIES + 1):
        recorder.after("contended", "load", bump)
    for _ in range(MAX_CAS_RETRIES + 1):
        recorder.after("contended", "compare_exchange", bump)
    with pytest.raises(RetryBoundExceeded, match="contended"):
        fetch_or(cell, 1, Ordering.RELAXED)
