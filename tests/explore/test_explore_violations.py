"""Each violation kind is caught on a planted bug, and not reported on the fixed program."""

import pytest

import framemc
from framemc import Atomic, Cell, CheckFailure, Mutex, Ordering, spin_loop
from framemc.impl.errors import AllocError, ContractError, DoubleFree, NoMemory, RetryBoundExceeded


def assertion_bug():
    x = Atomic(0, name="x")

    def t0():
        x.store(1, Ordering.RELEASE)

    def t1():
        assert x.load(Ordering.ACQUIRE) == 0, "saw the store"
    return [t0, t1]


def test_assertion_in_a_thread():
    result = framemc.explore(assertion_bug)
    cx = result.violation
    assert result.status is framemc.Status.VIOLATION
    assert cx.kind == "assertion" and cx.kind is framemc.ViolationKind.ASSERTION
    assert "AssertionError: saw the store" in cx.message
    assert "test_explore_violations.py:" in cx.message


def test_assertion_in_final():
    def setup():
        x = Atomic(0, name="x")

        def final():
            assert x.load() == 1, "nobody stored"
        return [lambda: x.load()], final
    cx = framemc.explore(setup).violation
    assert cx.kind == "assertion" and "final() raised AssertionError: nobody stored" in cx.message


def _raising(exc: Exception):
    def setup():
        x = Atomic(0, name="x")

        def t0():
            x.store(1)
            raise exc
        return [t0]
    return setup


@pytest.mark.parametrize("exc, kind", [
    (NoMemory("alloc of 4 frames"), framemc.ViolationKind.ASSERTION),
    (DoubleFree("dealloc", 0x1000, 0x1000), framemc.ViolationKind.ASSERTION),
    (RetryBoundExceeded("gave up"), framemc.ViolationKind.BOUND),
    (ValueError("oops"), framemc.ViolationKind.EXCEPTION),
], ids=["alloc-error", "contract-error", "retry-bound", "other"])
def test_an_escaped_error_is_classified_by_its_root(exc, kind):
    cx = framemc.explore(_raising(exc)).violation
    assert cx.kind is kind
    assert f"thread 0 raised {type(exc).__name__}: " in cx.message


def test_a_usage_error_in_scenario_code_is_raised_not_reported():
    with pytest.raises(framemc.UsageError, match="bad bounds"):
        framemc.explore(_raising(framemc.UsageError("bad bounds")))


def test_the_three_error_roots_are_apart():
    assert issubclass(ContractError, framemc.KernelError) and issubclass(AllocError, framemc.KernelError)
    assert not issubclass(framemc.KernelError, framemc.FramemcError)
    assert not issubclass(framemc.UsageError, framemc.CheckerBug)
    assert not issubclass(framemc.CheckerBug, framemc.UsageError)


def _counter_setup(lock: bool):
    def setup():
        m = Mutex(name="m")
        c = Cell(0, name="count")

        def inc():
            if lock:
                with m:
                    c.write(c.read() + 1)
            else:
                c.write(c.read() + 1)
        return [inc, inc]
    return setup


def test_data_race_on_unsynchronised_cell():
    cx = framemc.explore(_counter_setup(lock=False)).violation
    assert cx.kind == "data-race"
    assert len(cx.marked) == 2
    first, second = (cx.events[i] for i in cx.marked)
    assert first.thread != second.thread and first.location == second.location == "count"


def test_no_race_when_protected_by_a_mutex():
    result = framemc.explore(_counter_setup(lock=True))
    assert result.status is framemc.Status.PASS and result.violation is None


def test_no_race_when_published_through_an_atomic():
    def setup():
        data = Cell(0, name="data")
        flag = Atomic(0, name="flag")

        def producer():
            data.write(7)
            flag.store(1, Ordering.RELEASE)

        def consumer():
            if flag.load(Ordering.ACQUIRE) == 1:
                assert data.read() == 7
        return [producer, consumer]
    assert framemc.explore(setup).status is framemc.Status.PASS


def lock_order_inversion():
    a, b = Mutex(name="a"), Mutex(name="b")

    def t0():
        with a:
            with b:
                pass

    def t1():
        with b:
            with a:
                pass
    return [t0, t1]


def test_deadlock_from_lock_order_inversion():
    cx = framemc.explore(lock_order_inversion).violation
    assert cx.kind == "deadlock"
    assert "thread 0 waits" in cx.message and "thread 1 waits" in cx.message


def test_blocked_on_a_mutex_held_by_a_finished_thread_is_a_deadlock():
    def setup():
        m = Mutex(name="m")
        return [lambda: m.lock(), lambda: m.lock()]
    cx = framemc.explore(setup).violation
    assert cx.kind == "deadlock" and "which has finished" in cx.message


def test_spin_loop_that_never_ends_is_a_liveness_violation():
    def setup():
        x = Atomic(0, name="x")

        def waiter():
            while x.load() == 0:
                spin_loop()
        return [waiter, lambda: x.load()]
    cx = framemc.explore(setup).violation
    assert cx.kind == "liveness"
    assert "thread 0 spins forever at test_explore_violations.py:" in cx.message
    # found after two iterations, not after max_steps of them
    assert len(cx.events) < 10


def test_loop_that_keeps_writing_exceeds_the_step_bound():
    def setup():
        x = Atomic(0, name="x")

        def runaway():
            while x.fetch_add(1) >= 0:
                spin_loop()
        return [runaway, lambda: x.load()]
    cx = framemc.explore(setup, max_steps=40).violation
    assert cx.kind == "bound"
    assert "exceeded 40 steps" in cx.message and "max_steps" in cx.message
    assert "test_explore_violations.py:" in cx.message


def test_spin_waiter_waits_instead_of_multiplying_executions():
    def setup():
        flag = Atomic(0, name="flag")

        def waiter():
            while flag.load() == 0:
                spin_loop()

        def setter():
            for _ in range(3):
                flag.load()
            flag.store(1)
        return [waiter, setter]
    result = framemc.explore(setup)
    assert result.status is framemc.Status.PASS
    # GenMC's spin-assume: the one complete execution is the one whose load reads the store;
    # iterations that read 0 end in a blocked execution (not counted), never in a repeated loop
    assert result.executions == 1
    assert result.stats.blocked >= 1


def test_spin_loop_that_is_released_passes():
    def setup():
        x = Atomic(0, name="x")

        def waiter():
            while x.load() == 0:
                spin_loop()
        return [waiter, lambda: x.store(1)]
    result = framemc.explore(setup, max_steps=40)
    assert result.status is framemc.Status.PASS


def _watched(check, step_check=None, bound=2):
    def setup():
        x = Atomic(0, name="x")
        framemc.watch(lambda: x.peek(), check, step_check)

        def inc():
            x.fetch_add(1)
        return [inc] * bound
    return setup


def test_invariant_violation_through_watch():
    def at_most_one(value):
        if value > 1:
            yield CheckFailure("at_most_one", f"x is {value}", {"x": value})
    cx = framemc.explore(_watched(at_most_one)).violation
    assert cx.kind == "invariant" and cx.invariant == "at_most_one"
    assert cx.witness == {"x": 2}


def test_step_invariant_violation_through_watch():
    def grows_by_one(prev, cur):
        return [] if cur == prev + 1 else [CheckFailure("grows_by_one", f"{prev} -> {cur}", {})]

    def decreasing(prev, cur):
        return [CheckFailure("never_grows", f"{prev} -> {cur}", {"prev": prev, "cur": cur})] if cur > prev else []
    assert framemc.explore(_watched(lambda v: [], grows_by_one)).status is framemc.Status.PASS
    cx = framemc.explore(_watched(lambda v: [], decreasing)).violation
    assert cx.invariant == "never_grows" and cx.witness == {"prev": 0, "cur": 1}


def test_check_results_are_cached_by_snapshot():
    calls = []

    def check(value):
        calls.append(value)
        return []
    result = framemc.explore(_watched(check, bound=3))
    assert result.status is framemc.Status.PASS
    assert sorted(calls) == [0, 1, 2, 3]
    assert result.stats.states_checked == 4
    assert result.stats.cache_hits > 0 and 0 < result.stats.cache_hit_rate < 1


def test_inconclusive_check_is_never_a_pass():
    def undecided(value):
        return [CheckFailure("hard", "solver said unknown", {}, inconclusive=True)] if value == 2 else []
    result = framemc.explore(_watched(undecided))
    assert result.violation is None
    assert result.status is framemc.Status.INCONCLUSIVE
    assert [f.name for f in result.inconclusive] == ["hard"]


def test_watch_outside_setup_is_a_usage_error():
    with pytest.raises(framemc.UsageError, match="inside a scenario's setup"):
        framemc.watch(lambda: 0, lambda s: [])


def test_unhashable_snapshot_is_a_usage_error():
    def setup():
        framemc.watch(lambda: [1], lambda s: [])
        return [lambda: None]
    with pytest.raises(framemc.UsageError, match="hashable"):
        framemc.explore(setup)


def test_atomic_op_in_snapshot_fn_is_a_usage_error():
    def setup():
        x = Atomic(0)
        framemc.watch(lambda: x.load(), lambda s: [])
        return [lambda: x.store(1)]
    with pytest.raises(framemc.UsageError, match="peek"):
        framemc.explore(setup)
