"""Optimal DPOR explores exactly one execution per Mazurkiewicz trace on the benchmark table."""

import pytest

import framemc
from framemc.explorer.litmus import EXPECTED, PROGRAMS

#: rows too slow for the default run
SLOW = {("lastzero", 9), ("lastzero", 10)}

ROWS = [pytest.param(name, n, expected, id=f"{name}({n})",
                     marks=[pytest.mark.slow] if (name, n) in SLOW else [])
        for name, table in EXPECTED.items() for n, expected in table.items()]


@pytest.mark.parametrize("name,n,expected", ROWS)
def test_optimal_dpor_count(name, n, expected):
    result = framemc.explore(PROGRAMS[name](n))
    assert result.violation is None
    assert result.exhaustive
    assert result.status is framemc.Status.PASS
    assert result.executions == expected
    assert result.stats.sleep_blocked == 0


def test_every_trace_reaches_a_distinct_outcome_on_ainc():
    outcomes = []
    framemc.explore(PROGRAMS["ainc"](4, outcomes))
    # each of the 4! orders of the fetch_adds gives a different assignment of old values
    assert len(outcomes) == len(set(outcomes)) == 24


@pytest.mark.parametrize("name,n,ops", [("readers", 4, 5), ("ainc", 4, 4), ("casrot", 4, None)])
def test_events_added_plus_replayed_is_every_operation_of_every_execution(name, n, ops):
    """``stats.replayed`` counts the operations re-performed to restore graphs, in ``stats.events``' unit (a
    read-modify-write is one operation): each explored execution runs each of its operations once, either
    added or replayed.  readers(n) runs n + 1 operations per execution and ainc(n) n fetch_adds; for casrot
    the count of operations per execution is taken from the plain search, which re-runs each execution from
    scratch with nothing replayed."""
    result = framemc.explore(PROGRAMS[name](n))
    if ops is None:
        plain = framemc.explore(PROGRAMS[name](n), reduction="none")
        assert plain.stats.replayed == 0
        per_execution = plain.stats.events / plain.executions
        ops = round(per_execution)
        assert ops == per_execution, "casrot's executions all have the same length"
    assert result.stats.replayed > 0
    assert result.stats.events + result.stats.replayed == result.executions * ops
    assert result.stats.us_per_run_event <= result.stats.us_per_event
