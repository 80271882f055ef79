"""The buddy allocator: orders, split and merge, per-CPU caches, poison, determinism."""

from __future__ import annotations

import pytest

from framemc.errors import UsageError
from framemc.impl.buddy import FrameState, Layout, aligned_blocks, order_for
from framemc.impl.system import FrameSystem, default_max_order
from framemc.snapshot import PAGE_SIZE

P = PAGE_SIZE


def pool_only(nframes: int, **kw) -> FrameSystem:
    """A system without per-CPU caches, so every call reaches the buddy pool."""
    return FrameSystem(nframes, cache_capacity=0, **kw)


@pytest.mark.parametrize("start, end, expected", [
    (0, 16, [(0, 4)]),
    (1, 8, [(1, 0), (2, 1), (4, 2)]),
    (3, 12, [(3, 0), (4, 2), (8, 2)]),
    (0, 5, [(0, 2), (4, 0)]),
])
def test_aligned_blocks_are_maximal_and_aligned(start, end, expected):
    assert list(aligned_blocks(start, end, 10)) == expected


def test_aligned_blocks_respect_max_order():
    assert list(aligned_blocks(0, 16, 2)) == [(0, 2), (4, 2), (8, 2), (12, 2)]


@pytest.mark.parametrize("n, order", [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (1024, 10)])
def test_order_for(n, order):
    assert order_for(n) == order


def test_default_max_order_fits_the_machine():
    assert default_max_order(0) == 0
    assert default_max_order(1) == 0
    assert default_max_order(16) == 4
    assert default_max_order(1 << 14) == 10


def test_split_takes_lowest_block_and_frees_upper_halves():
    system = pool_only(16)
    assert system.allocator.free_blocks() == ((0, 4),)
    assert system.allocator.alloc(Layout(P)) == 0
    assert system.allocator.free_blocks() == ((1, 0), (2, 1), (4, 2), (8, 3))


def test_non_power_of_two_request_returns_the_tail():
    system = pool_only(8)
    assert system.allocator.alloc(Layout(3 * P)) == 0
    assert system.allocator.free_blocks() == ((3, 0), (4, 2))
    assert system.allocator.allocated() == ((0, 3),)


def test_alignment_is_honoured():
    system = pool_only(16)
    system.allocator.alloc(Layout(P))
    assert system.allocator.alloc(Layout(P, 8 * P)) == 8 * P


@pytest.mark.parametrize("align", [0, -P, 3 * P])
def test_an_alignment_that_is_not_a_power_of_two_is_refused(align):
    from framemc.impl.errors import InvalidLayout
    system = pool_only(16)
    with pytest.raises(InvalidLayout):
        system.allocator.alloc(Layout(P, align))
    assert system.allocator.alloc(Layout(P, 1)) == 0  # any power of two, however small, is fine


def test_free_merges_back_to_one_block():
    system = pool_only(8)
    addrs = [system.allocator.alloc(Layout(P)) for _ in range(8)]
    assert system.allocator.free_blocks() == ()
    for addr in [5 * P, 0, 7 * P, 2 * P, 1 * P, 6 * P, 3 * P, 4 * P]:
        system.allocator.dealloc(addr, P)
    assert sorted(addrs) == [i * P for i in range(8)]
    assert system.allocator.free_blocks() == ((0, 3),)


def test_merge_only_with_true_buddy():
    """Frames 1 and 2 are adjacent and free but not buddies: they must stay apart."""
    system = pool_only(4)
    for _ in range(4):
        system.allocator.alloc(Layout(P))
    system.allocator.dealloc(1 * P, P)
    system.allocator.dealloc(2 * P, P)
    assert system.allocator.free_blocks() == ((1, 0), (2, 0))


def test_no_merge_across_added_ranges():
    system = FrameSystem(4, cache_capacity=0, add_all=False)
    system.allocator.add_free_memory(0, P)
    system.allocator.add_free_memory(P, P)
    assert system.allocator.free_blocks() == ((0, 0), (1, 0))
    assert system.allocator.added() == ((0, 1), (1, 1))


def test_request_larger_than_max_order_fails():
    system = pool_only(8, max_order=2)
    assert system.allocator.free_blocks() == ((0, 2), (4, 2))
    assert system.allocator.alloc(Layout(8 * P)) is None
    assert system.allocator.alloc(Layout(4 * P)) == 0


def test_a_large_refill_hands_out_the_lowest_addresses_first():
    system = FrameSystem(32, cache_capacity=8)   # a refill takes 4 frames
    alloc = system.allocator
    assert [alloc.alloc(Layout(P)) // P for _ in range(4)] == [0, 1, 2, 3]
    assert [alloc.alloc(Layout(P)) // P for _ in range(4)] == [4, 5, 6, 7]


def test_cache_is_lifo_with_refill_and_flush():
    system = FrameSystem(16, cache_capacity=4)
    alloc = system.allocator
    assert alloc.alloc(Layout(P)) == 0          # refill takes 2 frames, hands out the lowest
    assert alloc.cached() == ((1,),)
    assert alloc.alloc(Layout(P)) == P
    assert alloc.alloc(Layout(P)) == 2 * P      # empty again: refilled with 2, 3
    alloc.dealloc(0, P)
    assert alloc.cached() == ((3, 0),)
    assert alloc.alloc(Layout(P)) == 0          # last in, first out
    for addr in (0, P, 2 * P):
        alloc.dealloc(addr, P)
    assert alloc.cached() == ((3, 0, 1, 2),)


def test_cache_flush_returns_the_coldest_half():
    system = FrameSystem(16, cache_capacity=4)
    alloc = system.allocator
    addrs = [alloc.alloc(Layout(P)) for _ in range(5)]
    assert addrs == [i * P for i in range(5)]
    for addr in addrs:
        alloc.dealloc(addr, P)
    # The cache held [5, 0, 1, 2] when 3 came back: the two coldest (5, 0) went to the pool.
    cached = alloc.cached()[0]
    assert cached == (1, 2, 3, 4)
    free = {f for first, o in alloc.free_blocks() for f in range(first, first + (1 << o))}
    assert {0, 5} <= free
    assert len(free) + len(cached) == 16


def test_each_cpu_has_its_own_cache(recorder):
    system = FrameSystem(16, ncpus=2, cache_capacity=2)
    alloc = system.allocator
    assert alloc.alloc(Layout(P)) == 0
    recorder.cpu = 1
    assert alloc.alloc(Layout(P)) == P
    alloc.dealloc(0, P)
    assert alloc.cached() == ((), (0,))


def test_cpu_index_beyond_ncpus_is_a_usage_error(recorder):
    system = FrameSystem(8, ncpus=1)
    recorder.cpu = 3
    with pytest.raises(UsageError, match="CPU 3"):
        system.allocator.alloc(Layout(P))


@pytest.mark.parametrize("cache_capacity", [0, 4])
def test_poisoned_frame_is_retired_when_it_comes_back(cache_capacity):
    system = FrameSystem(4, cache_capacity=cache_capacity)
    system.allocator.alloc(Layout(P))
    system.get_meta_slot(0).mark_poisoned()
    system.allocator.dealloc(0, P)
    assert system.allocator.frame_state(0) is FrameState.RETIRED
    assert system.allocator.allocated() == ()
    assert all(0 not in c for c in system.allocator.cached())
    assert all(f != 0 for f, _ in system.allocator.free_blocks())
    handed = [system.allocator.alloc(Layout(P)) for _ in range(3)]
    assert sorted(handed) == [P, 2 * P, 3 * P]
    assert system.allocator.alloc(Layout(P)) is None


def test_poisoned_frames_of_a_range_are_retired_and_the_rest_freed():
    system = FrameSystem(8, cache_capacity=0)
    system.allocator.alloc(Layout(8 * P))
    system.get_meta_slot(2 * P).mark_poisoned()
    system.get_meta_slot(5 * P).mark_poisoned()
    system.allocator.dealloc(0, 8 * P)
    assert system.allocator.free_blocks() == ((0, 1), (3, 0), (4, 0), (6, 1))
    assert [system.allocator.frame_state(f) for f in (2, 5)] == [FrameState.RETIRED] * 2


def test_allocation_is_deterministic():
    def run() -> list[int | None]:
        """One fixed sequence of calls."""
        system = FrameSystem(32, cache_capacity=4)
        out = []
        for n in (1, 3, 1, 2, 5, 1):
            out.append(system.allocator.alloc(Layout(n * P)))
        system.allocator.dealloc(out[1], 3 * P)
        out.append(system.allocator.alloc(Layout(2 * P)))
        return out

    assert run() == run()
