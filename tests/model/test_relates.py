"""relates: correct impl-level steps are accepted, wrong ones rejected."""

from dataclasses import replace

import pytest

from framemc.errors import UsageError
from framemc.model import CheckVerdict, ModelConfig, relates
from framemc.model.examples import empty_snapshot, frame_snapshot, rich_snapshot
from framemc.model.macros import greedy_blocks, init_pieces
from framemc.snapshot import PURPOSE_DMA, PURPOSE_NONE, REFCOUNT_UNUSED

CFG = ModelConfig()
RICH = rich_snapshot(CFG)
FRESH = replace(empty_snapshot(CFG, 8), free_blocks=((0, 3),), added=((0, 8),))


def _with_frame(snap, i, fs):
    """``snap`` with frame ``i`` replaced."""
    frames = list(snap.frames)
    frames[i] = fs
    return replace(snap, frames=tuple(frames))


ALLOCATED_0 = replace(_with_frame(FRESH, 0, frame_snapshot(1, purpose=2, gen=1, zeroed=True)),
                      free_blocks=((1, 0), (2, 1), (4, 2)), allocated=((0, 1),))


def test_alloc_frame_from_the_pool():
    assert relates(FRESH, ALLOCATED_0, "alloc_frame", cpu=0, purpose=2, zeroed=True).verdict is CheckVerdict.PASS


@pytest.mark.parametrize("wrong", [
    _with_frame(ALLOCATED_0, 0, frame_snapshot(1, purpose=2, gen=1)),          # page table not zeroed
    _with_frame(ALLOCATED_0, 0, frame_snapshot(1, purpose=2, gen=0, zeroed=True)),  # no new generation
    replace(ALLOCATED_0, free_blocks=((1, 0), (2, 1))),                        # lost a block
], ids=["not-zeroed", "no-generation", "lost-block"])
def test_alloc_frame_rejects_wrong_results(wrong):
    result = relates(FRESH, wrong, "alloc_frame", cpu=0, purpose=2, zeroed=True)
    assert result.verdict is CheckVerdict.VIOLATION and result.detail


def test_alloc_frame_from_the_cache():
    post = replace(_with_frame(RICH, 4, frame_snapshot(1, purpose=1, gen=1, zeroed=True)),
                   cached=((), (7,)), allocated=((0, 5), (5, 2)))
    assert relates(RICH, post, "alloc_frame", cpu=0, purpose=1).verdict is CheckVerdict.PASS


def test_last_drop_returns_the_frame_to_the_pool_or_a_cache():
    torn = _with_frame(RICH, 2, replace(RICH.frames[2], refcount=REFCOUNT_UNUSED))
    to_pool = replace(torn, free_blocks=((2, 0), (8, 3)), allocated=((0, 2), (3, 1), (5, 2)))
    to_cache = replace(torn, cached=((4, 2), (7,)), allocated=((0, 2), (3, 1), (5, 2)))
    for post in (to_pool, to_cache):
        assert relates(RICH, post, "drop", frame=2).verdict is CheckVerdict.PASS
    kept = replace(torn, allocated=((0, 2), (3, 1), (5, 2)))
    assert relates(RICH, kept, "drop", frame=2).verdict is CheckVerdict.VIOLATION


def test_drop_and_clone_of_a_shared_frame():
    one = _with_frame(RICH, 3, replace(RICH.frames[3], refcount=1))
    three = _with_frame(RICH, 3, replace(RICH.frames[3], refcount=3))
    assert relates(RICH, one, "drop", frame=3).verdict is CheckVerdict.PASS
    assert relates(RICH, three, "clone", frame=3).verdict is CheckVerdict.PASS
    assert relates(RICH, three, "drop", frame=3).verdict is CheckVerdict.VIOLATION


def test_add_free_memory_cuts_maximal_blocks():
    empty = empty_snapshot(CFG, 8)
    post = replace(empty, free_blocks=((1, 0), (2, 1), (4, 2)), added=((1, 7),))
    assert relates(empty, post, "add_free_memory", first=1, n=7).verdict is CheckVerdict.PASS
    wrong = replace(post, free_blocks=tuple((f, 0) for f in range(1, 8)))
    assert relates(empty, wrong, "add_free_memory", first=1, n=7).verdict is CheckVerdict.VIOLATION


def test_dealloc_and_cache_policy_ops():
    freed = replace(RICH, free_blocks=((0, 0), (8, 3)), allocated=((1, 3), (5, 2)))
    assert relates(RICH, freed, "dealloc", first=0, n=1).verdict is CheckVerdict.PASS
    refilled = replace(RICH, free_blocks=((9, 0), (10, 1), (12, 2)), cached=((4, 8), (7,)))
    assert relates(RICH, refilled, "cache_refill", cpu=0).verdict is CheckVerdict.PASS
    flushed = replace(RICH, free_blocks=((7, 0), (8, 3)), cached=((4,), ()))
    assert relates(RICH, flushed, "cache_flush", cpu=1).verdict is CheckVerdict.PASS
    assert relates(RICH, flushed, "cache_flush", cpu=0).verdict is CheckVerdict.VIOLATION


def test_helpers_cut_ranges_like_the_allocator():
    assert greedy_blocks(1, 7, 3) == [(1, 0), (2, 1), (4, 2)]
    assert greedy_blocks(0, 16, 3) == [(0, 3), (8, 3)]
    assert init_pieces(0, 16, (4, 6)) == [(0, 4), (6, 10)]
    assert init_pieces(8, 8, (0, 2)) == [(8, 8)]


def test_unknown_operation_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown operation"):
        relates(RICH, RICH, "defragment")


def test_init_adds_the_region_minus_the_early_range():
    empty = empty_snapshot(CFG, 8)
    post = replace(empty, free_blocks=((2, 1), (4, 2)), added=((2, 6),))
    assert relates(empty, post, "init", first=0, n=8, early=(0, 2)).verdict is CheckVerdict.PASS
    assert relates(empty, post, "init", first=0, n=8, early=(0, 0)).verdict is CheckVerdict.VIOLATION


@pytest.mark.parametrize("purpose", [PURPOSE_NONE, PURPOSE_DMA], ids=["none", "dma"])
def test_alloc_frame_publishes_the_first_and_the_last_purpose(purpose):
    post = replace(_with_frame(FRESH, 0, frame_snapshot(1, purpose=purpose, gen=1, zeroed=True)),
                   free_blocks=((1, 0), (2, 1), (4, 2)), allocated=((0, 1),))
    assert relates(FRESH, post, "alloc_frame", cpu=0, purpose=purpose, zeroed=True).verdict is CheckVerdict.PASS


def test_the_per_frame_guards_hold_in_a_composed_operation():
    # dealloc frees only torn-down frames: frame 2 still has a live handle (refcount 1)
    held = replace(RICH, free_blocks=((2, 0), (8, 3)), allocated=((0, 2), (3, 1), (5, 2)))
    assert relates(RICH, held, "dealloc", first=2, n=1).verdict is CheckVerdict.VIOLATION
    # add_free_memory adds only fresh frames: never added, unpoisoned and UNUSED (frame 1's MetaSlot is claimed)
    empty = _with_frame(empty_snapshot(CFG, 8), 1, frame_snapshot(1, gen=1))
    post = replace(empty, free_blocks=((0, 3),), added=((0, 8),))
    assert relates(empty, post, "add_free_memory", first=0, n=8).verdict is CheckVerdict.VIOLATION
    fresh = empty_snapshot(CFG, 8)
    assert relates(fresh, replace(fresh, free_blocks=((0, 3),), added=((0, 8),)), "add_free_memory",
                   first=0, n=8).verdict is CheckVerdict.PASS


def test_from_in_use_of_a_shared_frame_is_never_refused():
    # frame 3 holds two handles: from_in_use hands out a third, and cannot be refused (nothing changing)
    three = _with_frame(RICH, 3, replace(RICH.frames[3], refcount=3))
    assert relates(RICH, three, "from_in_use", frame=3).verdict is CheckVerdict.PASS
    assert relates(RICH, RICH, "from_in_use", frame=3).verdict is CheckVerdict.VIOLATION
    # frame 1 is claimed but not yet published (busy): refused, and nothing changes
    assert relates(RICH, RICH, "from_in_use", frame=1).verdict is CheckVerdict.PASS
