"""Bounds cut the search visibly, are validated, and minimisation finds the fewest preemptions."""

import pytest

import framemc
from framemc import Atomic, Bounds
from framemc.explorer.litmus import PROGRAMS


def test_max_executions_cut_is_not_exhaustive():
    result = framemc.explore(PROGRAMS["lastzero"](4), max_executions=5)
    assert result.executions == 5
    assert not result.exhaustive
    assert result.bound_hit is framemc.BoundKind.MAX_EXECUTIONS
    assert result.status is framemc.Status.INCONCLUSIVE


def test_time_budget_cut_is_not_exhaustive():
    # lastzero(12) takes over a second even compiled: 20 times the budget
    result = framemc.explore(PROGRAMS["lastzero"](12), time_budget=0.05)
    assert not result.exhaustive and result.bound_hit is framemc.BoundKind.TIME_BUDGET
    assert result.executions < 15360


@pytest.mark.parametrize("reduction", ["optimal", "none"])
def test_preemption_bound_zero_gives_fewer_executions(reduction):
    # a preemption bound is honoured exactly by the plain search, which a bounded search always uses
    full = framemc.explore(PROGRAMS["lastzero"](3), reduction="none")
    bounded = framemc.explore(PROGRAMS["lastzero"](3), preemption_bound=0, reduction=reduction)
    assert full.exhaustive
    assert bounded.executions < full.executions
    assert not bounded.exhaustive and bounded.bound_hit is framemc.BoundKind.PREEMPTIONS


def needs_two_preemptions():
    x = Atomic(0, name="x")
    y = Atomic(0, name="y")

    def t0():
        x.store(1)
        y.load()
        y.load()
        x.store(0)

    def t1():
        a = x.load()
        b = x.load()
        x.load()
        assert not (a == 1 and b == 0), "saw x flip"
    return [t0, t1]


def test_counterexample_has_the_fewest_preemptions():
    found = framemc.explore(needs_two_preemptions, minimize=False).violation
    minimal = framemc.explore(needs_two_preemptions).violation
    assert found is not None and minimal is not None
    assert minimal.kind == "assertion"
    assert minimal.preemptions <= found.preemptions
    # no schedule with fewer preemptions fails
    assert minimal.preemptions >= 1
    below = framemc.explore(needs_two_preemptions, preemption_bound=minimal.preemptions - 1, reduction="none")
    assert below.violation is None


@pytest.mark.parametrize("kwargs,fragment", [
    ({"max_executions": 0}, "max_executions must be at least 1"),
    ({"max_executions": -3}, "max_executions must be at least 1"),
    ({"max_executions": 2.5}, "max_executions must be an int"),
    ({"preemption_bound": -1}, "preemption_bound must be zero or more"),
    ({"preemption_bound": "2"}, "preemption_bound must be an int"),
    ({"max_steps": 0}, "max_steps must be at least 1"),
    ({"time_budget": 0}, "time_budget must be a positive number"),
    ({"memory_model": "tso"}, "memory_model must be 'sc'"),
    ({"memory_model": "SC"}, "memory_model must be 'sc' or 'c11'"),
    ({"reduction": "sleepy"}, "reduction must be 'optimal' or 'none'"),
])
def test_impossible_bounds_are_usage_errors(kwargs, fragment):
    with pytest.raises(framemc.UsageError, match=fragment) as info:
        framemc.explore(PROGRAMS["claim"](2), **kwargs)
    assert "\n" not in str(info.value)


def test_bounds_value_is_frozen_and_accepted():
    bounds = Bounds(max_executions=3)
    with pytest.raises(AttributeError):
        bounds.max_executions = 4
    result = framemc.explore(PROGRAMS["lastzero"](4), bounds=bounds)
    assert result.executions == 3 and result.bounds is bounds


def two_ways_to_fail():
    y = Atomic(0, name="y")
    flag = Atomic(0, name="flag")

    def slow_setter():
        for _ in range(5):
            y.load()
        flag.store(1)

    def fast_setter():
        flag.store(1)

    def checker():
        assert flag.load() == 0, "flag was set"
    return [slow_setter, fast_setter, checker]


def test_counterexample_then_has_the_fewest_events():
    first = framemc.explore(two_ways_to_fail, minimize=False)
    best = framemc.explore(two_ways_to_fail)
    assert first.violation.preemptions == best.violation.preemptions == 0
    assert len(first.violation.events) == 8
    assert len(best.violation.events) == 2
    assert best.violation.schedule == (1, 2)
    assert best.stats.minimization_executions > 0


def test_bounds_and_bound_keywords_together_are_a_usage_error():
    with pytest.raises(framemc.UsageError, match="not both"):
        framemc.explore(PROGRAMS["claim"](2), max_executions=2, bounds=Bounds(max_executions=3))


@pytest.mark.parametrize("where", ["thread", "final"])
def test_a_deadline_converted_by_a_c_call_is_a_cut_not_a_violation(where):
    # the budget's timer can land inside a ctypes call (z3), which turns it into a ctypes.ArgumentError; that
    # error must count as the deadline, never as a violation of the scenario or a crash of the search
    import ctypes

    from framemc.explorer.program import DEADLINE

    def landed() -> None:
        DEADLINE.fired = True  # what the timer does before its exception reaches the C call
        raise ctypes.ArgumentError("argument 1: DeadlineExceeded:")

    def setup():
        x = framemc.Atomic(0)
        if where == "thread":
            return [lambda: (x.store(1), landed())]
        return [lambda: x.store(1)], landed

    result = framemc.explore(setup, time_budget=30)
    assert result.status is framemc.Status.INCONCLUSIVE and result.violation is None
    assert result.bound_hit is not None and result.bound_hit.value == "time_budget"
    assert not DEADLINE.fired  # cleared for the next search
