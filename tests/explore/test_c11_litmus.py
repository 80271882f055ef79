"""C11 litmus tests over the public API: exact RC11 answers, no reduction loss, data races, traces."""

import json

import pytest

import framemc
from framemc import Atomic, Cell, Ordering
from framemc.explorer.litmus import C11_LITMUS

NAMES = sorted(C11_LITMUS)


def _outcomes(name, reduction="optimal", memory_model="c11"):
    outcomes = set()
    result = framemc.explore(C11_LITMUS[name].build(outcomes), memory_model=memory_model, reduction=reduction)
    assert result.status is framemc.Status.PASS and result.exhaustive
    return outcomes, result


@pytest.mark.parametrize("name", NAMES)
def test_litmus_gives_the_rc11_answer(name):
    litmus = C11_LITMUS[name]
    outcomes, result = _outcomes(name)
    assert (litmus.outcome in outcomes) is litmus.allowed, sorted(outcomes)
    assert 1 <= result.stats.consistent_executions <= result.executions


@pytest.mark.parametrize("name", NAMES)
def test_reduction_loses_no_outcome(name):
    reduced, _ = _outcomes(name)
    plain, _ = _outcomes(name, reduction="none")
    assert reduced == plain


@pytest.mark.parametrize("name", ["MP+rlx", "SB+rel+acq", "2+2W"])
def test_sc_ignores_orderings_and_forbids_the_weak_outcome(name):
    outcomes, _ = _outcomes(name, memory_model="sc")
    assert C11_LITMUS[name].outcome not in outcomes


def _mp_cell(flag_store, flag_load):
    def setup():
        data, flag = Cell(0, name="data"), Atomic(0, name="flag")

        def producer():
            data.write(42)
            flag.store(1, flag_store)

        def consumer():
            if flag.load(flag_load) == 1:
                assert data.read() == 42
        return [producer, consumer]
    return setup


def test_mp_on_a_cell_races_with_a_relaxed_flag():
    result = framemc.explore(_mp_cell(Ordering.RELAXED, Ordering.RELAXED), memory_model="c11")
    assert result.violation is not None and result.violation.kind == "data-race"
    assert "data race on data" in result.violation.message


def test_mp_on_a_cell_is_race_free_with_release_acquire():
    result = framemc.explore(_mp_cell(Ordering.RELEASE, Ordering.ACQUIRE), memory_model="c11")
    assert result.status is framemc.Status.PASS and result.exhaustive


def test_relaxed_flag_race_is_missed_under_sc():
    assert framemc.explore(_mp_cell(Ordering.RELAXED, Ordering.RELAXED)).status is framemc.Status.PASS


def _mp_assert(flag_store, flag_load, expected_x, message):
    def setup():
        x, y = Atomic(0, name="x"), Atomic(0, name="y")

        def t0():
            x.store(1, Ordering.RELAXED)
            y.store(1, flag_store)

        def t1():
            if y.load(flag_load) == 1:
                assert x.load(Ordering.RELAXED) == expected_x, message
        return [t0, t1]
    return setup


def _stale_mp():
    return _mp_assert(Ordering.RELAXED, Ordering.RELAXED, 1, "stale x")


def test_counterexample_shows_reads_from_and_why():
    cx = framemc.explore(_stale_mp(), memory_model="c11").violation
    assert cx is not None and cx.memory_model == "c11"
    text = cx.to_text()
    assert "reads-from:" in text
    assert ("x.load(Relaxed) -> 0: reads the value it had before the threads started; no synchronisation; "
            "step 0 stores a newer value (1) but does not happen-before this read") in text
    assert "y.load(Relaxed) -> 1: reads step 1 (T0)" in text
    assert '[label="rf", style=dashed]' in cx.to_dot()


def test_counterexample_replays_with_its_store_choices():
    setup = _stale_mp()
    cx = framemc.explore(setup, memory_model="c11").violation
    again = framemc.replay(setup, cx.to_json())
    assert again.violation.to_json() == cx.to_json()
    # the trace names the stale store each load read
    assert any(e.why for e in cx.events)


def test_synchronises_with_edges_in_the_graph():
    setup = _mp_assert(Ordering.RELEASE, Ordering.ACQUIRE, 0, "planted: the message was seen")
    cx = framemc.explore(setup, memory_model="c11").violation
    assert cx is not None and cx.kind == "assertion"
    assert '[label="sw", style=dashed]' in cx.to_dot()
    assert "synchronises-with it" in cx.to_text()


def test_sc_text_has_no_reads_from_section():
    def setup():
        c = Cell(0, name="c")
        return [lambda: c.write(1), lambda: c.write(2)]
    sc = framemc.explore(setup).violation
    assert sc.kind == "data-race" and "reads-from:" not in sc.to_text()


def test_documents_without_the_c11_fields_still_parse():
    doc = json.loads(framemc.explore(_stale_mp(), memory_model="c11").violation.to_json())
    for event in doc["events"]:
        for field in ("pick", "sw", "why"):
            del event[field]
    parsed = framemc.Counterexample.from_json(doc)
    assert all(e.pick == 0 and e.sw == () and e.why is None for e in parsed.events)


def test_replaying_a_store_choice_the_scenario_does_not_allow_is_a_usage_error():
    setup = _stale_mp()
    doc = json.loads(framemc.explore(setup, memory_model="c11").violation.to_json())
    chosen = next(e for e in doc["events"] if e["op"] == "load")
    chosen["rf"] = chosen["step"]
    with pytest.raises(framemc.UsageError, match=f"event {chosen['step']} reads from step {chosen['step']}"):
        framemc.replay(setup, doc)
