"""Allocator orderings under C11: correct orderings pass exhaustively; weakened twins are caught
under "c11" and missed under "sc" (which is the point: SC cannot judge an ordering)."""

import pytest

import framemc
from framemc.errors import UsageError
from framemc.scenarios.orderings import ORDERING_SCENARIOS, ordering_scenario_named, refcount_reader

NAMES = sorted(ORDERING_SCENARIOS)


@pytest.mark.parametrize("name", NAMES)
def test_correct_ordering_passes_exhaustively_under_c11(name):
    result = framemc.explore(ORDERING_SCENARIOS[name].setup(), memory_model="c11")
    assert result.status is framemc.Status.PASS and result.exhaustive
    assert result.executions >= 2


@pytest.mark.parametrize("name", NAMES)
def test_twin_is_caught_under_c11_and_missed_under_sc(name):
    scenario = ORDERING_SCENARIOS[name]
    setup = scenario.setup({scenario.twin})
    weak = framemc.explore(setup, memory_model="c11")
    assert weak.status is framemc.Status.VIOLATION
    assert weak.violation.kind in ("data-race", "assertion")
    assert "payload[0]" in weak.violation.message or "stale" in weak.violation.message
    strong = framemc.explore(setup, memory_model="sc")
    assert strong.status is framemc.Status.PASS and strong.exhaustive
    again = framemc.replay(setup, weak.violation.to_json())
    assert again.violation.to_json() == weak.violation.to_json()


@pytest.mark.parametrize("name", NAMES)
def test_plain_search_agrees(name):
    scenario = ORDERING_SCENARIOS[name]
    for bugs in ((), (scenario.twin,)):
        reduced = framemc.explore(scenario.setup(bugs), memory_model="c11", minimize=False)
        plain = framemc.explore(scenario.setup(bugs), memory_model="c11", reduction="none", minimize=False)
        assert reduced.status is plain.status


def test_relaxed_purpose_is_safe_for_a_reader_that_acquires_the_refcount():
    caught = framemc.explore(ORDERING_SCENARIOS["purpose-release"].setup({"relaxed-purpose"}), memory_model="c11")
    assert caught.status is framemc.Status.VIOLATION
    safe = framemc.explore(refcount_reader({"relaxed-purpose"}), memory_model="c11")
    assert safe.status is framemc.Status.PASS and safe.exhaustive


def test_unknown_ordering_scenario_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown ordering scenario 'nope'"):
        ordering_scenario_named("nope")
