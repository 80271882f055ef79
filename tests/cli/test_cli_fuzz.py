"""Fuzz replay and report with random bytes and mutated valid traces: only exit codes 0-3, never a traceback."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_helpers import BAD, run

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def valid_trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A real trace of a user scenario, next to its scenario file (so replay can re-import it)."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "bad.py").write_text(BAD)
    trace = folder / "trace.json"
    assert run("explore", f"{folder / 'bad.py'}:racy", "--trace-out", str(trace)).exit_code == 1
    return folder, json.loads(trace.read_text())


def _assert_clean(path: Path) -> None:
    for command in (["replay", str(path)], ["report", str(path), "--format", "html"],
                    ["report", str(path), "--format", "dot"], ["report", str(path), "--format", "mermaid"]):
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
