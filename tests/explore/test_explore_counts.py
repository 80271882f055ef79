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
