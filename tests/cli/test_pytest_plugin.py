"""The pytest plugin, loaded through its entry point in a separate pytest run on a user's test file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cli_helpers import BAD, GOOD, run

USER_TESTS = textwrap.dedent('''
    import pytest
    from good import setup as good_setup
    from bad import racy

    def test_fixture_pass(framemc_explore):
        result = framemc_explore(good_setup)
        assert result.executions == 2

    def test_fixture_violation(framemc_explore):
        framemc_explore(racy)

    def test_fixture_inconclusive(framemc_explore):
        framemc_explore(good_setup, max_executions=1)

    def test_fixture_inconclusive_allowed(framemc_explore):
        framemc_explore(good_setup, max_executions=1, allow_inconclusive=True)

    @pytest.mark.framemc(max_executions=100)
    def test_marker_pass():
        return good_setup()

    @pytest.mark.framemc()
    def test_marker_violation():
        return racy()

    def make_setup(kind):
        def built():
            return racy() if kind == "racy" else good_setup()
        return built

    def test_factory_violation(framemc_explore):
        framemc_explore(make_setup("racy"))
''')


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """pytest run on the user's tests with --junitxml; the plugin comes from the installed entry point."""
    folder = tmp_path_factory.mktemp("user")
    (folder / "good.py").write_text(GOOD)
    (folder / "bad.py").write_text(BAD)
    (folder / "test_kernel.py").write_text(USER_TESTS)
    # a user's project: replay trusts trace origins only inside the tree under this file
    (folder / "pyproject.toml").write_text("[project]\nname = 'kernel-tests'\nversion = '0'\n")
    (folder / "reports").mkdir()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers",
                           "--junitxml", "reports/junit.xml", "-o", "addopts=", "test_kernel.py"],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    return folder, proc


def test_plugin_outcomes(plugin_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, proc = plugin_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "4 failed, 3 passed" in proc.stdout, proc.stdout
    for name in ("test_fixture_violation", "test_fixture_inconclusive", "test_marker_violation",
                 "test_factory_violation"):
        assert f"FAILED test_kernel.py::{name}" in proc.stdout


def test_plugin_fails_with_the_counterexample_text(plugin_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, proc = plugin_run
    assert "framemc found a counterexample" in proc.stdout
    assert "final() raised AssertionError: exactly one CPU may claim the frame" in proc.stdout
    assert "refcount.store(0, Relaxed)" in proc.stdout
    assert "inconclusive after 1 executions (the max_executions bound cut the search)" in proc.stdout


def test_plugin_writes_replayable_traces_next_to_the_report(
        plugin_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, _ = plugin_run
    traces = sorted(p.name for p in (folder / "reports").glob("*.framemc.json") if "factory" not in p.name)
    assert traces == ["test_kernel.py_test_fixture_violation.framemc.json",
                      "test_kernel.py_test_marker_violation.framemc.json"]
    props = {p.get("value") for p in ET.parse(folder / "reports" / "junit.xml").getroot().iter("property")
             if p.get("name") == "framemc_trace"}
    assert {Path(v).name for v in props} - {"test_kernel.py_test_factory_violation.framemc.json"} == set(traces)
    for trace in traces:
        doc = json.loads((folder / "reports" / trace).read_text())
        assert doc["origin"]["kind"] == "file"
        result = run("replay", str(folder / "reports" / trace))
        assert result.exit_code == 1, result.output
        assert "the violation reproduces" in result.stdout


def test_a_factory_built_setup_replays_through_its_test(
        plugin_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, _ = plugin_run
    trace = folder / "reports" / "test_kernel.py_test_factory_violation.framemc.json"
    doc = json.loads(trace.read_text())
    # a closure cannot be imported by name: the origin is the test, which rebuilds the setup
    assert doc["origin"] == {"kind": "pytest", "nodeid": "test_kernel.py::test_factory_violation", "rootdir": ".."}
    result = run("replay", str(trace))
    assert result.exit_code == 1, result.output
    assert "reproduces" in result.stdout
