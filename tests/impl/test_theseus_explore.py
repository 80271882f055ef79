"""The Theseus allocator under the explorer: two CPUs racing for the same frames."""

from __future__ import annotations

from framemc.explorer.api import explore
from framemc.explorer.result import Status
from framemc.scenarios.allocator import theseus_race


def test_correct_allocator_passes_every_interleaving() -> None:
    result = explore(theseus_race(frozenset()))
    assert result.status is Status.PASS and result.exhaustive


def test_explorer_finds_double_ownership_in_alloc_at_skips_overlap() -> None:
    result = explore(theseus_race(frozenset({"alloc-at-skips-overlap"})))
    assert result.status is Status.VIOLATION
    assert "have two owners" in result.violation.message


def test_deferred_window_is_visible_to_other_cpus() -> None:
    """Until CPU 1 drops its DeferredAllocAction, the leftovers are in no list, so CPU 0 can fail."""
    result = explore(theseus_race(frozenset(), demand_success=True))
    assert result.status is Status.VIOLATION
    assert "thread 0 raised AssertionError" in result.violation.message
