"""CI outputs (JSON, JUnit XML, SARIF), traces, replay and report: formats, determinism, bad traces."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Callable

import pytest

from cli_helpers import one_line_error, run
from framemc.explorer import Counterexample

ROOT = Path(__file__).resolve().parents[2]
# one passing and one violating scenario: the twin bug of segment-pieces
SUITE = ("check", "--only", "scenarios", "--scenario", "segment-pieces", "--memory-model", "sc",
         "--bug", "merge-non-buddy")


@pytest.fixture(scope="module")
def ci_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Outputs of the same violating check, run twice (a, b), from the repository root."""
    out = tmp_path_factory.mktemp("ci")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(ROOT)  # SARIF paths are relative to the working directory
    try:
        for run_name in ("a", "b"):
            result = run(*SUITE, "--json", str(out / f"{run_name}.json"), "--junit-xml", str(out / f"{run_name}.xml"),
                         "--sarif", str(out / f"{run_name}.sarif"), "--trace-dir", str(out / f"traces-{run_name}"))
            assert result.exit_code == 1, result.output
    finally:
        monkeypatch.undo()
    return {p.name: p for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("suffix", ["json", "xml", "sarif"])
def test_machine_outputs_are_byte_identical_across_runs(ci_outputs: dict[str, Path], suffix: str) -> None:
    a, b = ci_outputs[f"a.{suffix}"].read_text(), ci_outputs[f"b.{suffix}"].read_text()
    assert a.replace("traces-a", "traces-b") == b


def test_json_summary(ci_outputs: dict[str, Path]) -> None:
    doc = json.loads(ci_outputs["a.json"].read_text())
    assert doc["schema"] == "framemc-check" and doc["exit_code"] == 1
    assert doc["counts"] == {"pass": 0, "violation": 1, "inconclusive": 0}
    [row] = doc["rows"]
    assert row["outcome"] == "violation" and row["name"] == "sc/segment-pieces"
    assert row["origin"] == {"kind": "bundled", "scenario": "segment-pieces", "bugs": ["merge-non-buddy"],
                             "memory_model": "sc", "design": "metaslot"}
    assert row["design"] == "metaslot"
    assert row["trace_file"].endswith("sc-segment-pieces.json")
    assert doc["config"]["bugs"] == ["merge-non-buddy"]


def test_junit_xml_has_a_failing_case_with_the_counterexample(ci_outputs: dict[str, Path]) -> None:
    root = ET.parse(ci_outputs["a.xml"]).getroot()
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "framemc.scenarios" and suite.get("failures") == "1"
    case = suite.find("testcase")
    assert case is not None and case.get("name") == "sc/segment-pieces"
    failure = case.find("failure")
    assert failure is not None and "step |" in (failure.text or "") and "trace:" in (failure.text or "")


def test_sarif_locates_the_violation_at_the_impl_line(ci_outputs: dict[str, Path]) -> None:
    doc = json.loads(ci_outputs["a.sarif"].read_text())
    assert doc["version"] == "2.1.0"
    [result] = doc["runs"][0]["results"]
    physical = result["locations"][0]["physicalLocation"]
    uri, line = physical["artifactLocation"]["uri"], physical["region"]["startLine"]
    assert (ROOT / uri).is_file(), uri
    cx = Counterexample.from_json(ci_outputs["metaslot-sc-segment-pieces.json"].read_text())
    step = max(cx.marked) if cx.marked else len(cx.events) - 1
    assert cx.events[step].source.endswith(f"{Path(uri).name}:{line}")
    rule_ids = [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert result["ruleId"] in rule_ids


def test_junit_marks_inconclusive_as_error_never_pass(tmp_path: Path) -> None:
    out = tmp_path / "r.xml"
    result = run("check", "--only", "scenarios", "--scenario", "segment-pieces", "--memory-model", "sc",
                 "--max-executions", "1", "--junit-xml", str(out))
    assert result.exit_code == 3
    case = ET.parse(out).getroot().find("testsuite/testcase")
    assert case is not None and case.find("error") is not None and case.find("failure") is None


# ----------------------------------------------------------------- replay

def test_replay_bundled_trace_reproduces(ci_outputs: dict[str, Path]) -> None:
    trace = ci_outputs["metaslot-sc-segment-pieces.json"]
    result = run("replay", str(trace))
    assert result.exit_code == 1, result.output
    assert "the violation reproduces" in result.stdout
    assert Counterexample.from_json(trace.read_text()).to_text() in result.stdout


def test_replay_user_trace_reimports_the_file(scenario_files: dict[str, Path], tmp_path: Path) -> None:
    trace = tmp_path / "racy.json"
    assert run("explore", f"{scenario_files['bad']}:racy", "--trace-out", str(trace)).exit_code == 1
    result = run("replay", str(trace))
    assert result.exit_code == 1 and "exactly one CPU may claim the frame" in result.stdout


def _edit(trace: Path, tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    doc = json.loads(trace.read_text())
    change(doc)
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(doc))
    return out


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.update(version=2), "schema version 2 is not supported"),
    (lambda d: d.pop("origin"), "the trace has no origin block"),
    (lambda d: d["origin"].update(scenario="claim-race"), "the trace does not match this scenario"),
    (lambda d: d["origin"].update(scenario="nosuch"), "unknown scenario 'nosuch'"),
    (lambda d: d["origin"].update(bugs=["nosuch"]), "unknown bug variant 'nosuch'"),
    (lambda d: d["events"][0].update(rf=99), "rf must be null or an earlier step"),
    (lambda d: d.update(schedule=[]), "schedule and events disagree"),
])
def test_replay_bad_trace_exits_2(ci_outputs: dict[str, Path], tmp_path: Path,
                                  change: Callable[[dict[str, Any]], Any], expected: str) -> None:
    edited = _edit(ci_outputs["metaslot-sc-segment-pieces.json"], tmp_path, change)
    assert expected in one_line_error(run("replay", str(edited)))


def test_replay_user_trace_whose_file_changed_says_where_it_left_the_trace(scenario_files: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    trace = tmp_path / "racy.json"
    assert run("explore", f"{scenario_files['bad']}:racy", "--trace-out", str(trace)).exit_code == 1
    source = scenario_files["bad"]
    source.write_text(source.read_text().replace("slot.store(0, Relaxed)", "slot.store(1, Ordering.RELAXED)")
                      .replace("slot.store(0, Ordering.RELAXED)", "slot.store(1, Ordering.RELAXED)"))
    result = run("replay", str(trace))
    assert result.exit_code == 0, result.output
    assert "no longer reproduces: the run left the trace at step" in result.stdout


@pytest.mark.parametrize("content, expected", [
    (b"", "invalid JSON"),
    (b"\xff\xfe", "is not UTF-8"),
    (b"[1, 2]", "counterexample must be a JSON object"),
    (b'{"schema": "other"}', "not a framemc counterexample"),
])
def test_replay_and_report_refuse_garbage(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(content)
    for command in ("replay", "report"):
        assert expected in one_line_error(run(command, str(path)))


# ----------------------------------------------------------------- report

@pytest.mark.parametrize("fmt, marker", [
    ("text", "step |"), ("dot", "digraph hb {"), ("mermaid", "sequenceDiagram"), ("html", "<!DOCTYPE html>"),
])
def test_report_formats(ci_outputs: dict[str, Path], fmt: str, marker: str) -> None:
    result = run("report", str(ci_outputs["metaslot-sc-segment-pieces.json"]), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(marker) or marker in result.stdout.splitlines()[1]


def test_report_html_is_one_parseable_self_contained_page(scenario_files: dict[str, Path], tmp_path: Path) -> None:
    trace, page = tmp_path / "racy.json", tmp_path / "racy.html"
    assert run("explore", f"{scenario_files['bad']}:racy", "--trace-out", str(trace)).exit_code == 1
    assert run("report", str(trace), "--format", "html", "-o", str(page)).exit_code == 0
    root = ET.parse(page).getroot()  # well-formed: parses as XML
    ns = {"h": "http://www.w3.org/1999/xhtml", "s": "http://www.w3.org/2000/svg"}
    text = page.read_text()
    assert "<script" not in text and "http-equiv" not in text and "src=" not in text
    cells = ["".join(td.itertext()) for td in root.iterfind(".//h:td", ns)]
    assert "refcount.store(0, Relaxed)" in cells and "bad.py:13" in cells  # the swimlane
    assert "source" in cells and "bad.py:18" in cells  # the witness table
    svg = root.find(".//s:svg", ns)
    assert svg is not None and len(svg.findall(".//s:rect", ns)) == 6  # one box per event
    assert svg.findall(".//s:line", ns)  # happens-before edges


def test_report_html_shows_the_invariant_and_witness(ci_outputs: dict[str, Path], tmp_path: Path) -> None:
    cx = Counterexample.from_json(ci_outputs["metaslot-sc-segment-pieces.json"].read_text())
    result = run("report", str(ci_outputs["metaslot-sc-segment-pieces.json"]), "--format", "html")
    root = ET.fromstring(result.stdout.split("\n", 1)[1])
    cells = ["".join(td.itertext()) for td in root.iter("{http://www.w3.org/1999/xhtml}td")]
    if cx.invariant is not None:
        assert cx.invariant in cells
    for key in cx.witness:
        assert key in cells


def test_report_to_unwritable_place_exits_2(ci_outputs: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "r.html"
    assert "cannot write it" in one_line_error(run("report", str(ci_outputs["metaslot-sc-segment-pieces.json"]),
                                                   "-o", str(target)))


def test_explore_trace_is_byte_identical_across_runs(scenario_files: dict[str, Path], tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    for out in (first, second):
        assert run("explore", f"{scenario_files['bad']}:racy", "--trace-out", str(out)).exit_code == 1
    assert first.read_bytes() == second.read_bytes()


def test_replay_confirms_a_fix_with_exit_0(ci_outputs: dict[str, Path], tmp_path: Path) -> None:
    # the planted twin's trace, replayed against the reference impl (the fix): it no longer fails
    fixed = _edit(ci_outputs["metaslot-sc-segment-pieces.json"], tmp_path, lambda d: d["origin"].update(bugs=[]))
    result = run("replay", str(fixed))
    assert result.exit_code == 0, result.output
    assert "no longer reproduces" in result.stdout


def test_replay_never_imports_a_file_outside_the_traces_folder(scenario_files: dict[str, Path],
                                                              tmp_path: Path) -> None:
    trace = tmp_path / "racy.json"
    assert run("explore", f"{scenario_files['bad']}:racy", "--trace-out", str(trace)).exit_code == 1
    evil = tmp_path / "sub" / "t.json"
    evil.parent.mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'user'\n")  # the project tree's root
    for target in ("../../../../tmp/evil.py", "/tmp/evil.py", "../../evil.py"):
        doc = json.loads(trace.read_text())
        doc["origin"]["file"] = target
        evil.write_text(json.dumps(doc))
        assert "outside the project tree the trace is in" in one_line_error(run("replay", str(evil)))
    # the user may still name the scenario explicitly
    result = run("replay", str(evil), "--scenario", f"{scenario_files['bad']}:racy")
    assert result.exit_code == 1 and "the violation reproduces" in result.stdout
