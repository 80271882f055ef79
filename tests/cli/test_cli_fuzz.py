"""Fuzz replay and every report format with random bytes, mutated traces and mutated indices.

Only exit codes 0-3, never a traceback; a bad document is exit 2 with one line.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_helpers import racy_trace, run

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def valid_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A real trace of a user scenario, next to its scenario file (so replay can re-import it)."""
    folder = tmp_path_factory.mktemp("fuzz")
    return folder, racy_trace(folder)[1]


#: every report format (``framemc report --format``)
FORMATS = ("text", "html", "dot", "mermaid")


def _assert_clean(path: Path, *, replay: bool = True) -> None:
    commands = [["report", str(path), "--format", fmt] for fmt in FORMATS]
    for command in ([["replay", str(path)]] if replay else []) + commands:
        result = run(*command)
        assert result.exit_code in (0, 1, 2, 3), (command, result.exit_code, result.exception)
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert "Traceback" not in result.output + result.stderr
        if result.exit_code == 2:
            assert len(result.stderr.strip().splitlines()) == 1


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(valid_trace: tuple[Path, dict[str, Any]], data: bytes) -> None:
    path = valid_trace[0] / "random.json"
    path.write_bytes(data)
    _assert_clean(path)


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 2**65) | st.floats(allow_nan=False)
                     | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(doc, dict):
        for key in sorted(doc):
            found += _paths(doc[key], prefix + (key,))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            found += _paths(item, prefix + (i,))
    return found


@FUZZ
@given(st.data())
def test_mutated_traces(valid_trace: tuple[Path, dict[str, Any]], data: st.DataObject) -> None:
    folder, original = valid_trace
    doc = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        where = data.draw(st.sampled_from(paths))
        parent = doc
        for key in where[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(_JSON)
    path = folder / "mutated.json"
    path.write_text(json.dumps(doc))
    _assert_clean(path)


#: the fields that index into something else: where a renderer would crash on a bad value
_INDEX_FIELDS = ("violation.steps", "events.sw", "events.rf", "events.step", "events.thread", "schedule")


@FUZZ
@given(st.data())
def test_mutated_indices(valid_trace: tuple[Path, dict[str, Any]], data: st.DataObject) -> None:
    """Indices set out of range (or to other types), events emptied: each bad document is one line, exit 2."""
    folder, original = valid_trace
    doc = copy.deepcopy(original)
    n = len(doc["events"])
    index = st.integers(-2, n + 2) | st.sampled_from([None, True, "1", 1.5, [0]])
    for _ in range(data.draw(st.integers(1, 3))):
        field = data.draw(st.sampled_from(_INDEX_FIELDS + ("empty events",)))
        if field == "empty events":
            doc["events"] = []
            if data.draw(st.booleans()):
                doc["schedule"] = []
            continue
        if field == "violation.steps":
            doc["violation"]["steps"] = data.draw(st.lists(index, max_size=3))
        elif field == "schedule":
            if doc["schedule"]:
                doc["schedule"][data.draw(st.integers(0, len(doc["schedule"]) - 1))] = data.draw(index)
        elif doc["events"]:
            event = doc["events"][data.draw(st.integers(0, len(doc["events"]) - 1))]
            key = field.partition(".")[2]
            event[key] = data.draw(st.lists(index, max_size=3)) if key == "sw" else data.draw(index)
    path = folder / "indices.json"
    path.write_text(json.dumps(doc))
    _assert_clean(path, replay=False)
