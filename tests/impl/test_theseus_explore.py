"""The Theseus allocator under the explorer: two CPUs racing for the same frames."""

from __future__ import annotations

from typing import Any, Callable

from framemc.explorer.api import explore
from framemc.explorer.result import Status
from framemc.impl.theseus import AllocationError, TheseusFrameAllocator
from framemc.snapshot import PAGE_SIZE

P = PAGE_SIZE


def frames_of(chunks) -> list[int]:
    """Every frame of ``(first, nframes, ...)`` chunks, with repetition."""
    return [f for c in chunks for f in range(c[0], c[0] + c[1])]


def race(bugs: frozenset[str], *, demand_success: bool) -> Callable[[], Any]:
    """CPU 0 allocates two frames anywhere while CPU 1 asks for frame 1 by address."""
    def setup() -> Any:
        alloc = TheseusFrameAllocator(phys_frames=16, bugs=bugs)
        alloc.add_free_memory(0, 8 * P)

        def anywhere() -> None:
            frames = alloc.allocate_frames(2)
            assert frames is not None or not demand_success, "allocate_frames(2) failed with 7 frames free"

        def at_frame_one() -> None:
            try:
                alloc.allocate_frames_at(P, 1)
            except AllocationError:
                pass

        def final() -> None:
            snap = alloc.snapshot()
            every = (frames_of(snap.free_general) + frames_of(snap.free_reserved)
                     + frames_of(snap.pending) + frames_of(snap.allocated))
            twice = sorted({f for f in every if every.count(f) > 1})
            assert not twice, f"frames {twice} have two owners"
            assert sorted(every) == frames_of(snap.general_regions + snap.reserved_regions)
        return [anywhere, at_frame_one], final
    return setup


def test_correct_allocator_passes_every_interleaving() -> None:
    result = explore(race(frozenset(), demand_success=False))
    assert result.status is Status.PASS and result.exhaustive


def test_explorer_finds_double_ownership_in_alloc_at_skips_overlap() -> None:
    result = explore(race(frozenset({"alloc-at-skips-overlap"}), demand_success=False))
    assert result.status is Status.VIOLATION
    assert "have two owners" in result.violation.message


def test_deferred_window_is_visible_to_other_cpus() -> None:
    """Until CPU 1 drops its DeferredAllocAction, the leftovers are in no list, so CPU 0 can fail."""
    result = explore(race(frozenset(), demand_success=True))
    assert result.status is Status.VIOLATION
    assert "thread 0 raised AssertionError" in result.violation.message
