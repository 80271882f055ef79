"""Counterexamples: the text format is a contract, JSON replays, DOT is a valid HB graph."""

import json
import re

import networkx as nx
import pytest

import framemc
from framemc import Atomic, Counterexample
from explore_trace_scenarios import flag_race, lost_update

GOLDEN_FLAG_RACE = """\
data-race: data race on data: thread 0 writes it at explore_trace_scenarios.py:12 (step 2) and thread 1's write at explore_trace_scenarios.py:17 (step 1) is not ordered before it by happens-before
step | T0 producer     | T1 consumer             | source
-----+-----------------+-------------------------+------------------------------
   0 |                 | flag.load(Acquire) -> 0 | explore_trace_scenarios.py:16
   1 |                 | data.write(2) *         | explore_trace_scenarios.py:17
   2 | data.write(1) * |                         | explore_trace_scenarios.py:12
* the racing pair
witness: location='data'
"""

GOLDEN_LOST_UPDATE = """\
assertion: final() raised AssertionError: lost update at explore_trace_scenarios.py:29
step | T0 inc        | T1 inc         | source
-----+---------------+----------------+------------------------------
   0 | x.load() -> 0 |                | explore_trace_scenarios.py:26
   1 |               | ^x.load() -> 0 | explore_trace_scenarios.py:26
   2 |               | x.store(1)     | explore_trace_scenarios.py:26
   3 | x.store(1)    |                | explore_trace_scenarios.py:26
^ a preemption (1 in all)
witness: source='explore_trace_scenarios.py:29', thread='final'
"""


def test_exact_text_of_a_data_race():
    assert framemc.explore(flag_race).violation.to_text() == GOLDEN_FLAG_RACE


def test_exact_text_of_a_lost_update():
    assert framemc.explore(lost_update).violation.to_text() == GOLDEN_LOST_UPDATE


@pytest.mark.parametrize("scenario", [flag_race, lost_update])
def test_two_runs_are_byte_identical(scenario):
    first, second = framemc.explore(scenario), framemc.explore(scenario)
    assert first.executions == second.executions
    assert first.violation.to_json() == second.violation.to_json()
    assert first.violation.to_text() == second.violation.to_text()
    assert first.violation.to_dot() == second.violation.to_dot()


@pytest.mark.parametrize("form", ["object", "json", "dict"])
def test_replay_round_trip(form):
    cx = framemc.explore(lost_update).violation
    trace = {"object": cx, "json": cx.to_json(), "dict": json.loads(cx.to_json())}[form]
    again = framemc.replay(lost_update, trace)
    assert again.executions == 1
    assert again.violation.to_json() == cx.to_json()
    assert Counterexample.from_json(cx.to_json()) == cx


def lost_update_changed():
    x = Atomic(0, name="x")

    def inc():
        x.fetch_add(1)

    def final():
        assert x.load() == 2
    return [inc, inc], final


def test_replay_divergence_names_the_step():
    # a changed scenario that leaves the trace no longer reproduces it: a PASS that says where
    cx = framemc.explore(lost_update).violation
    again = framemc.replay(lost_update_changed, cx)
    assert again.status is framemc.Status.PASS and again.violation is None
    assert "left the trace at step 0" in again.note
    assert "T0 load of x" in again.note and "T0 fetch_add of x" in again.note


def test_replay_of_a_disabled_thread_names_the_step():
    doc = json.loads(framemc.explore(lost_update).violation.to_json())
    doc["threads"].append("ghost")
    doc["schedule"][1] = 2
    doc["events"][1]["thread"] = 2
    with pytest.raises(framemc.UsageError, match="it has 3 threads, the scenario 2"):
        framemc.replay(lost_update, doc)


@pytest.mark.parametrize("doc,fragment", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"schema": "other"}', "not a framemc counterexample"),
    ('{"schema": "framemc-counterexample", "version": 99}', "version 99 is not supported"),
    ('{"schema": "framemc-counterexample", "version": 1}', "malformed counterexample"),
])
def test_malformed_traces_are_usage_errors(doc, fragment):
    with pytest.raises(framemc.UsageError, match=fragment) as info:
        framemc.replay(lost_update, doc)
    assert "\n" not in str(info.value)


def test_schedule_and_events_must_agree():
    doc = json.loads(framemc.explore(lost_update).violation.to_json())
    doc["schedule"] = doc["schedule"][:-1]
    with pytest.raises(framemc.UsageError, match="schedule and events disagree"):
        Counterexample.from_json(doc)


def _parse_dot(text):
    """A pydot-free reading of the DOT we emit: node ids and (src, dst, label) edges."""
    assert text.startswith("digraph hb {") and text.rstrip().endswith("}")
    nodes = re.findall(r"^  (e\d+) \[label=", text, re.M)
    edges = re.findall(r"^  (e\d+) -> (e\d+) \[label=\"(\w+)\"", text, re.M)
    return nodes, edges


def test_dot_is_the_hb_graph():
    cx = framemc.explore(flag_race).violation
    graph = cx.hb_graph()
    assert isinstance(graph, nx.DiGraph)
    nodes, edges = _parse_dot(cx.to_dot())
    assert nodes == [f"e{n}" for n in sorted(graph.nodes)]
    assert sorted(edges) == sorted((f"e{a}", f"e{b}", d["kind"]) for a, b, d in graph.edges(data=True))
    assert ("e0", "e1", "po") in edges and ("e1", "e2", "race") in edges


def test_dot_shows_reads_from_across_threads():
    def setup():
        x = Atomic(0, name="x")

        def writer():
            x.store(1)

        def reader():
            assert x.load() == 0
        return [writer, reader]
    cx = framemc.explore(setup).violation
    _, edges = _parse_dot(cx.to_dot())
    assert ("e0", "e1", "rf") in edges
    assert cx.events[1].rf == 0


def test_mermaid_has_a_lane_per_thread_and_a_note_per_step():
    cx = framemc.explore(flag_race).violation
    text = cx.to_mermaid()
    assert text.startswith("sequenceDiagram\n")
    assert "  participant T0 as T0 producer" in text and "  participant T1 as T1 consumer" in text
    assert text.count("Note over") == len(cx.events)
    assert "  Note over T1: 1: data.write(2) *" in text


def test_unnamed_locations_get_creation_order_names():
    def setup():
        a, b = Atomic(0), Atomic(0)
        c = framemc.Cell(0)

        def t0():
            b.store(1)
            a.load()
            c.write(1)
        return [t0, lambda: c.write(2)]
    cx = framemc.explore(setup).violation
    assert [e.location for e in cx.events if e.thread == 0] == ["atomic#1", "atomic#0", "cell#0"]


def test_bound_counterexample_replays_under_its_own_step_bound():
    def setup():
        x = Atomic(0, name="x")

        def runaway():
            while True:
                x.fetch_add(1)
        return [runaway]
    cx = framemc.explore(setup, max_steps=25).violation
    assert cx.kind == "bound" and cx.max_steps == 25 and len(cx.events) == 26
    assert json.loads(cx.to_json())["max_steps"] == 25
    assert framemc.replay(setup, cx.to_json()).violation.to_json() == cx.to_json()


def test_large_values_show_in_hex_in_text_but_not_in_json():
    def setup():
        x = Atomic(2 ** 64 - 1, name="x")
        return [lambda: x.compare_exchange(2 ** 64 - 1, 0), lambda: x.load() and None]

    def failing():
        threads = setup()

        def final():
            raise AssertionError("show me")
        return threads, final
    cx = framemc.explore(failing).violation
    assert "x.compare_exchange(0xffffffffffffffff, 0) -> (True, 0xffffffffffffffff)" in cx.to_text()
    assert cx.events[0].read == 2 ** 64 - 1
