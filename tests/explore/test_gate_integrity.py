"""Routes to a false pass that the explorer closes: leaked state, exits, exceptions that are not findings."""

from __future__ import annotations

import pytest

import framemc
from framemc import Atomic, Cell, Ordering

#: shared state made at import, outside setup(): it would carry one execution's writes into the next
LEAKED = Atomic(2**64 - 1, name="leaked-refcount")


def leaky_claim():
    won = [Cell(False, name="won0"), Cell(False, name="won1")]

    def claimer(cpu):
        def run():
            if LEAKED.load(Ordering.ACQUIRE) == 2**64 - 1:
                LEAKED.store(0, Ordering.RELAXED)
                won[cpu].write(True)
        return run

    def final():
        assert sum(w.read() for w in won) == 1
    return [claimer(0), claimer(1)], final


def test_state_created_outside_setup_is_a_usage_error_not_a_pass():
    with pytest.raises(framemc.UsageError, match="leaked-refcount.*created at test_gate_integrity.py:11.*"
                                                 "created outside setup\\(\\).*inside setup"):
        framemc.explore(leaky_claim)


def test_state_kept_from_an_earlier_execution_is_refused():
    kept = []

    def setup():
        if not kept:
            kept.append(Atomic(0, name="kept"))
        x = kept[0]
        return [lambda: x.store(1), lambda: x.load()]
    with pytest.raises(framemc.UsageError, match="kept.*created outside setup"):
        framemc.explore(setup)


def _failing_final(threads):
    def setup():
        def final():
            assert False, "final always fails"
        return threads(), final
    return setup


def test_sys_exit_in_setup_is_a_usage_error():
    def setup():
        raise SystemExit(0)
    with pytest.raises(framemc.UsageError, match="setup\\(\\) raised SystemExit"):
        framemc.explore(setup)


def test_sys_exit_in_a_thread_is_a_usage_error_never_a_pass():
    def bye():
        raise SystemExit(0)
    with pytest.raises(framemc.UsageError, match="thread 0 raised SystemExit"):
        framemc.explore(_failing_final(lambda: [bye]))


def test_a_typo_is_an_exception_violation_not_a_caught_bug():
    def setup():
        x = Atomic(0, name="x")

        def t0():
            x.lod()  # noqa: the typo under test
        return [t0]
    cx = framemc.explore(setup).violation
    assert cx.kind == "exception"
    assert "AttributeError" in cx.message and "test_gate_integrity.py" in cx.message


def test_a_failed_assert_stays_an_assertion():
    def setup():
        x = Atomic(0, name="x")

        def t0():
            assert x.load() == 1, "x was not set"
        return [t0]
    assert framemc.explore(setup).violation.kind == "assertion"


def test_assume_drops_executions_without_counting_them():
    def setup():
        x = Atomic(0, name="x")

        def t0():
            framemc.assume(x.load() == 1)
            assert False, "only reached when x was 1"
        return [t0, lambda: x.store(1)]
    result = framemc.explore(setup)
    assert result.violation is not None and result.violation.kind == "assertion"

    def setup_ok():
        x = Atomic(0, name="x")

        def t0():
            framemc.assume(x.load() == 1)
        return [t0, lambda: x.store(1)]
    ok = framemc.explore(setup_ok)
    assert ok.status is framemc.Status.PASS and ok.executions == 1 and ok.stats.blocked == 1


def test_outcomes_are_listed_with_counts():
    def sb():
        x, y = Atomic(0, name="x"), Atomic(0, name="y")

        def t0():
            x.store(1, Ordering.RELAXED)
            y.load(Ordering.RELAXED)

        def t1():
            y.store(1, Ordering.RELAXED)
            x.load(Ordering.RELAXED)
        return [t0, t1]
    sc = framemc.explore(sb, outcomes=True).outcomes
    c11 = framemc.explore(sb, memory_model="c11", outcomes=True).outcomes
    weak = (("T0", (0,)), ("T1", (0,)), ("x", 1), ("y", 1))
    assert weak in c11 and weak not in sc
    assert set(sc) < set(c11)
    assert sum(sc.values()) == framemc.explore(sb).executions


def test_release_sequence_is_cpp20s_a_later_relaxed_store_does_not_extend_it():
    # RC11's (po|loc)? would make the relaxed store carry the release: C++20 does not
    def setup():
        data, flag = Cell(0, name="data"), Atomic(0, name="flag")

        def producer():
            data.write(7)
            flag.store(1, Ordering.RELEASE)
            flag.store(2, Ordering.RELAXED)

        def consumer():
            if flag.load(Ordering.ACQUIRE) == 2:
                data.read()
        return [producer, consumer]
    assert framemc.explore(setup, memory_model="c11").violation.kind == "data-race"


def test_an_rmw_does_extend_the_release_sequence():
    def setup():
        data, flag = Cell(0, name="data"), Atomic(0, name="flag")

        def producer():
            data.write(7)
            flag.store(1, Ordering.RELEASE)

        def bumper():
            flag.fetch_add(1, Ordering.RELAXED)

        def consumer():
            if flag.load(Ordering.ACQUIRE) == 2:
                data.read()
        return [producer, bumper, consumer]
    result = framemc.explore(setup, memory_model="c11")
    assert result.status is framemc.Status.PASS, result.violation and result.violation.to_text()


def test_sc_accesses_are_not_fenced_sb_with_one_acquire_load():
    # SB with three SeqCst accesses and one Acquire load: RC11/C++20 allow r0 = r1 = 0
    def setup():
        x, y = Atomic(0, name="x"), Atomic(0, name="y")

        def t0():
            x.store(1, Ordering.SEQ_CST)
            y.load(Ordering.SEQ_CST)

        def t1():
            y.store(1, Ordering.SEQ_CST)
            x.load(Ordering.ACQUIRE)
        return [t0, t1]
    outcomes = framemc.explore(setup, memory_model="c11", outcomes=True).outcomes
    assert (("T0", (0,)), ("T1", (0,)), ("x", 1), ("y", 1)) in outcomes


def test_a_thread_that_never_reaches_a_scheduling_point_is_cut_by_the_time_budget():
    def setup():
        x = Atomic(0, name="x")

        def hog():
            while True:  # pure Python: no scheduling point, ever
                pass
        return [lambda: x.store(1), hog]
    result = framemc.explore(setup, time_budget=0.5)
    assert result.status is framemc.Status.INCONCLUSIVE
    assert result.bound_hit is framemc.BoundKind.TIME_BUDGET and not result.exhaustive


def test_a_scenario_names_its_sentinels_and_every_rendering_uses_the_name():
    def setup():
        framemc.name_values({2**64 - 1: "UNUSED"})
        slot = Atomic(2**64 - 1, name="refcount")
        won = [Cell(False, name="won0"), Cell(False, name="won1")]

        def claimer(cpu):
            def run():
                if slot.load(Ordering.ACQUIRE) == 2**64 - 1:
                    slot.store(0, Ordering.RELAXED)
                    won[cpu].write(True)
            return run

        def final():
            winners = [cpu for cpu in (0, 1) if won[cpu].read()]
            if len(winners) != 1:
                raise AssertionError(f"CPUs {winners} both claimed the frame")
        return [claimer(0), claimer(1)], final
    cx = framemc.explore(setup).violation
    assert "refcount.load(Acquire) -> UNUSED" in cx.to_text()
    assert "0xffffffffffffffff" not in cx.to_text() + cx.to_mermaid() + cx.to_dot()
    again = framemc.Counterexample.from_json(cx.to_json())
    assert again == cx and "-> UNUSED" in again.to_text()
    assert framemc.replay(setup, cx.to_json()).violation.to_json() == cx.to_json()


def test_name_values_outside_setup_is_a_usage_error():
    with pytest.raises(framemc.UsageError, match="inside a scenario's setup"):
        framemc.name_values({1: "ONE"})


def test_progress_reports_executions_while_the_search_runs(monkeypatch):
    from framemc.explorer import engine
    from framemc.explorer.litmus import PROGRAMS
    monkeypatch.setattr(engine, "PROGRESS_EVERY", 0.0)
    seen = []
    result = framemc.explore(PROGRAMS["lastzero"](4), progress=lambda e, b, s: seen.append((e, b, s)))
    assert seen and seen[-1][0] <= result.executions
    assert [e for e, _, _ in seen] == sorted(e for e, _, _ in seen)
