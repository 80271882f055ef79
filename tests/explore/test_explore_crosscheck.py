"""Optimal DPOR and the plain exhaustive search agree on final states and verdicts."""

import pytest

import explore_trace_scenarios
import framemc
from framemc import Atomic, Cell, Mutex, spin_loop
from framemc.explorer.litmus import PROGRAMS

SMALL = [("lastzero", 2), ("lastzero", 3), ("readers", 3), ("ainc", 3), ("casrot", 4), ("claim", 3)]


def _outcomes(factory, n, reduction):
    outcomes = []
    result = framemc.explore(factory(n, outcomes), reduction=reduction)
    return result, set(outcomes)


@pytest.mark.parametrize("name,n", SMALL, ids=[f"{a}({b})" for a, b in SMALL])
def test_same_final_states(name, n):
    optimal, opt_states = _outcomes(PROGRAMS[name], n, "optimal")
    plain, plain_states = _outcomes(PROGRAMS[name], n, "none")
    assert opt_states == plain_states
    assert optimal.status is plain.status is framemc.Status.PASS
    assert optimal.executions <= plain.executions


def locked_counter(n, outcomes):
    def setup():
        m = Mutex(name="m")
        count = Cell(0, name="count")
        order = Cell((), name="order")

        def worker(i):
            def run():
                with m:
                    count.write(count.read() + 1)
                    order.write(order.read() + (i,))
            return run

        def final():
            outcomes.append((count.peek(), order.peek()))
        return [worker(i) for i in range(n)], final
    return setup


def message_passing(outcomes):
    def setup():
        data = Cell(0, name="data")
        flag = Atomic(0, name="flag")
        side = Atomic(0, name="side")

        def producer():
            data.write(42)
            flag.store(1)
            side.store(1)

        def consumer():
            while flag.load() == 0:
                spin_loop()
            outcomes.append((data.read(), side.load()))
        return [producer, consumer]
    return setup


def lock_then_atomic(outcomes):
    def setup():
        m = Mutex(name="m")
        x = Atomic(0, name="x")

        def a():
            with m:
                x.store(1)

        def b():
            seen = x.load()
            with m:
                outcomes.append(("b", seen, x.load()))

        def c():
            with m:
                x.fetch_add(2)
        return [a, b, c]
    return setup


@pytest.mark.parametrize("make", [lambda o: locked_counter(3, o), message_passing, lock_then_atomic],
                         ids=["locked_counter", "message_passing", "lock_then_atomic"])
def test_same_outcomes_with_mutexes_and_spins(make):
    results = {}
    for reduction in ("optimal", "none"):
        outcomes = []
        res = framemc.explore(make(outcomes), reduction=reduction)
        results[reduction] = (res.status, res.violation and res.violation.kind, set(outcomes))
    assert results["optimal"] == results["none"]
    assert results["optimal"][0] is framemc.Status.PASS


def racy(outcomes):
    def setup():
        c = Cell(0, name="c")
        return [lambda: c.write(1), lambda: c.write(2)]
    return setup


def lost_update(outcomes):
    return explore_trace_scenarios.lost_update


@pytest.mark.parametrize("make,kind", [(racy, "data-race"), (lost_update, "assertion")], ids=["race", "lost_update"])
def test_same_verdict_on_buggy_programs(make, kind):
    for reduction in ("optimal", "none"):
        res = framemc.explore(make([]), reduction=reduction)
        assert res.status is framemc.Status.VIOLATION
        assert res.violation.kind == kind
