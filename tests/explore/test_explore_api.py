"""The public API surface: re-exports, bad scenarios, determinism of counts."""

import pytest

import framemc
import framemc.sync as sync


def test_public_objects_are_the_sync_objects():
    for name in ("Atomic", "Cell", "Mutex", "Ordering", "fence", "spin_loop", "current_cpu", "SpinLock"):
        assert getattr(framemc, name) is getattr(sync, name)


@pytest.mark.parametrize("ret,fragment", [
    (None, "got NoneType"),
    (42, "got int"),
    ([], "returned no threads"),
    ([1], "thread 0 is a int"),
    (([lambda: None], 3), "final is a int"),
    ((lambda: None, lambda: None), "got tuple"),
])
def test_bad_setup_return_is_a_usage_error(ret, fragment):
    with pytest.raises(framemc.UsageError, match=fragment) as info:
        framemc.explore(lambda: ret)
    assert "\n" not in str(info.value)


def test_setup_must_be_callable():
    with pytest.raises(framemc.UsageError, match="setup must be a zero-argument callable"):
        framemc.explore([lambda: None])


def test_setup_that_raises_is_a_usage_error():
    def setup():
        raise ValueError("boom")
    with pytest.raises(framemc.UsageError, match="setup\\(\\) raised ValueError: boom"):
        framemc.explore(setup)


def test_nondeterministic_scenario_is_reported():
    calls = []

    def setup():
        calls.append(1)
        a, b, x = (framemc.Atomic(0, name=n) for n in "abx")
        first = a if len(calls) == 1 else b

        def t0():
            first.store(1)
            x.store(1)
        return [t0, lambda: x.load()]
    with pytest.raises(framemc.UsageError, match="not deterministic|does not match"):
        framemc.explore(setup)


@pytest.mark.parametrize("second_run", ["other location", "no operation"])
def test_a_replay_that_diverges_while_its_thread_waits_is_reported(second_run):
    # Thread 0's load first reads the initial value; the backward revisit has it read thread 1's store, and
    # restoring that graph starts thread 0 before the store is replayed: it waits, and its event is checked
    # when the store has gone (or found never announced, when the thread returned instead).
    runs = []

    def setup():
        runs.append(1)
        x, y = framemc.Atomic(0, name="x"), framemc.Atomic(0, name="y")

        def t0():
            if len(runs) == 1:
                x.load()
            elif second_run == "other location":
                y.load()
        return [t0, lambda: x.store(1)]
    what = "load of y" if second_run == "other location" else "nothing"
    with pytest.raises(framemc.UsageError, match=f"re-running thread 0, its event 0 was load of x before and "
                                                 f"is {what} now"):
        framemc.explore(setup)


def test_current_cpu_is_the_thread_index():
    seen = {}

    def setup():
        def who(i):
            def run():
                seen.setdefault(i, set()).add(framemc.current_cpu())
            return run
        return [who(0), who(1), who(2)]
    assert framemc.explore(setup).status is framemc.Status.PASS
    assert seen == {0: {0}, 1: {1}, 2: {2}}


def test_locations_created_inside_threads_are_explored():
    def setup():
        box = framemc.Cell(None, name="box")

        def maker():
            box.write(framemc.Atomic(0))

        def user():
            b = box.read()
            if b is not None:
                b.fetch_add(1)
        return [maker, user]
    # a genuine race on the non-atomic box
    assert framemc.explore(setup).violation.kind == "data-race"


def test_race_on_a_raw_location_and_fences_in_the_trace():
    from framemc.sync import Location

    def setup():
        payload = Location("payload[0]")

        def writer():
            framemc.fence(framemc.Ordering.SEQ_CST)
            payload.access(True)
        return [writer, lambda: payload.access(False)]
    cx = framemc.explore(setup).violation
    assert cx.kind == "data-race"
    assert {e.location for e in cx.events} == {None, "payload[0]"}
    assert "fence(SeqCst)" in cx.to_text()


def test_unlock_by_a_thread_that_does_not_hold_the_mutex_is_reported():
    def setup():
        m = framemc.Mutex(name="m")
        return [lambda: m.unlock()]
    cx = framemc.explore(setup).violation
    assert cx.kind == "assertion" and "unlock() by thread 0, which does not hold it" in cx.message


def test_explorations_do_not_nest():
    def inner():
        return [lambda: None]

    def setup():
        def t0():
            framemc.explore(inner)
        return [t0]
    # the nested call is refused: a mistake in the scenario, not a bug found in the code
    with pytest.raises(framemc.UsageError, match="do not nest"):
        framemc.explore(setup)
