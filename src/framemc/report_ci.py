"""Machine-readable outputs of ``framemc check`` for CI: JSON summary, JUnit XML and SARIF.

Design: each writer is a pure function of a :class:`SuiteResult` returning
text, with no timestamps, durations or absolute paths, so the same run gives
byte-identical files (durations appear only in the human table).  JUnit has
one test case per row; a violation is a ``<failure>`` carrying the
counterexample text and an inconclusive row an ``<error>`` (never a pass).
SARIF locates each scenario violation at the impl source line of its
violating event, mapped from the explorer's module-relative ``file:line``
to a path relative to the working directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from framemc.cli_suite import Outcome, Row, Section, SuiteResult

__all__ = ["summary_json", "junit_xml", "sarif_json", "source_path", "violating_source", "SUMMARY_SCHEMA"]

#: the ``schema`` field of the JSON summary
SUMMARY_SCHEMA = "framemc-check"
#: bumped whenever the summary's shape changes
SUMMARY_VERSION = 1
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def summary_json(result: SuiteResult) -> str:
    """The machine-readable summary: every row's outcome and detail, the counts and the exit code."""
    doc = {
        "schema": SUMMARY_SCHEMA,
        "version": SUMMARY_VERSION,
        "exit_code": int(result.exit_code),
        "counts": {o.value: n for o, n in result.counts().items()},
        "budget_exhausted": result.budget_exhausted,
        "coverage": result.coverage(),
        "notes": list(result.notes),
        "config": result.config.as_dict(),
        "rows": [{"section": r.section.value, "name": r.name, "outcome": r.outcome.value, "detail": r.detail,
                  "text": r.text, "trace_file": r.trace_file, "origin": r.origin,
                  "source": violating_source(r)} for r in result.rows],
    }
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def junit_xml(result: SuiteResult) -> str:
    """JUnit XML: a test suite per section, a test case per row."""
    root = ET.Element("testsuites", name="framemc check", tests=str(len(result.rows)))
    for section in Section:
        rows = [r for r in result.rows if r.section is section]
        if not rows:
            continue
        counts = {o: sum(r.outcome is o for r in rows) for o in Outcome}
        suite = ET.SubElement(root, "testsuite", name=f"framemc.{section.value}", tests=str(len(rows)),
                              failures=str(counts[Outcome.VIOLATION]), errors=str(counts[Outcome.INCONCLUSIVE]),
                              skipped="0")
        for row in rows:
            case = ET.SubElement(suite, "testcase", classname=f"framemc.{section.value}", name=row.name)
            body = row.text or row.detail
            if row.trace_file is not None:
                body += f"\ntrace: {row.trace_file}\n"
            if row.outcome is Outcome.VIOLATION:
                ET.SubElement(case, "failure", message=row.detail, type="violation").text = body
            elif row.outcome is Outcome.INCONCLUSIVE:
                ET.SubElement(case, "error", message=row.detail, type="inconclusive").text = body
            else:
                ET.SubElement(case, "system-out").text = row.detail
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def source_path(module_path: str) -> str:
    """A module-relative trace path (``framemc/impl/frame.py``) as a path relative to the working directory."""
    if not module_path.startswith("framemc/") or not module_path.endswith(".py"):
        return module_path
    dotted = module_path[:-3].replace("/", ".").removesuffix(".__init__")
    try:
        spec = importlib.util.find_spec(dotted)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        return module_path
    real = Path(spec.origin).resolve()
    try:
        return real.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return module_path


def violating_source(row: Row) -> dict[str, Any] | None:
    """``{"file", "line"}`` of a row's violating event (the last marked step, else the last step), or None."""
    cx = row.counterexample
    if cx is None or not cx.events:
        return None
    step = max(cx.marked) if cx.marked and max(cx.marked) < len(cx.events) else len(cx.events) - 1
    file, _, line = cx.events[step].source.rpartition(":")
    if not file or not line.isdigit():
        return None
    if row.origin is not None and row.origin.get("kind") == "file" and os.path.basename(row.origin["file"]) == file:
        return {"file": row.origin["file"], "line": int(line)}
    return {"file": source_path(file), "line": int(line)}


def sarif_json(result: SuiteResult) -> str:
    """SARIF 2.1.0: one result per violation, scenario violations located at the violating event's line."""
    rules = sorted({_rule(r) for r in result.rows if r.outcome is Outcome.VIOLATION})
    results = []
    for row in result.rows:
        if row.outcome is not Outcome.VIOLATION:
            continue
        entry: dict[str, Any] = {
            "ruleId": _rule(row),
            "level": "error",
            "message": {"text": f"{row.name}: {row.detail}"},
            "properties": {"section": row.section.value, "trace": row.text},
        }
        where = violating_source(row)
        location: dict[str, Any] = {"logicalLocations": [{"name": row.name, "kind": "module"}]}
        if where is not None:
            location["physicalLocation"] = {"artifactLocation": {"uri": where["file"], "uriBaseId": "%SRCROOT%"},
                                            "region": {"startLine": where["line"]}}
        entry["locations"] = [location]
        results.append(entry)
    doc = {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "framemc", "version": _version(),
                                "rules": [{"id": rule, "shortDescription": {"text": rule}} for rule in rules]}},
            "results": results,
        }],
    }
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("framemc")
    except PackageNotFoundError:
        return "unknown"


def _rule(row: Row) -> str:
    if row.section is Section.PROOFS:
        return f"proof/{row.name.rpartition('/')[2]}"
    cx = row.counterexample
    if cx is not None and cx.invariant:
        return f"invariant/{cx.invariant}"
    if cx is not None:
        return f"explorer/{cx.kind.value}"
    return f"{row.section.value}/violation"
