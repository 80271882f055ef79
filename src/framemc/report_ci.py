"""Machine-readable outputs of ``framemc check`` for CI: JSON summary, JUnit XML and SARIF.

Design: each writer is a pure function of a :class:`SuiteResult` returning
text, with no timestamps, durations or absolute paths, so the same run gives
byte-identical files (durations appear only in the human table).  JUnit has
one test case per row; a violation is a ``<failure>`` carrying the
counterexample text and an inconclusive row an ``<error>`` (never a pass).
SARIF gives every result a physical location, as GitHub code scanning
requires: a scenario violation at the source line of its violating event
(mapped from the explorer's module-relative ``framemc/impl/frame.py:N`` to
the file in the checkout), a refuted obligation or a conformance mismatch at
the definition of the invariant, operation or macro it is about.  URIs are
relative to the project root (the checkout: the nearest folder above the
working directory with ``.git``, else with ``pyproject.toml``), so
annotations land on ``impl/frame.py``, ``model/invariants.py`` and so on.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from framemc.suite import Outcome, Row, Section, SuiteResult

__all__ = ["summary_json", "junit_xml", "sarif_json", "source_path", "violating_source", "row_location",
           "project_root", "SUMMARY_SCHEMA"]

#: the ``schema`` field of the JSON summary
SUMMARY_SCHEMA = "framemc-check"
#: bumped whenever the summary's shape changes (2: conformance coverage per row, and warnings)
SUMMARY_VERSION = 2
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
        "warnings": list(result.warnings),
        "config": result.config.as_dict(),
        "rows": [{"design": r.design, "section": r.section.value, "name": r.name, "outcome": r.outcome.value, "detail": r.detail,
                  "text": r.text, "trace_file": r.trace_file, "origin": r.origin,
                  "source": violating_source(r),
                  "coverage": None if r.coverage is None else r.coverage.as_dict()} for r in result.rows],
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
            case = ET.SubElement(suite, "testcase", classname=f"framemc.{section.value}.{row.design}", name=row.name)
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


def project_root(start: Path | None = None) -> Path:
    """The checkout the outputs describe: the nearest folder at or above ``start`` (the working directory)
    holding ``.git``, else ``pyproject.toml``, else ``start`` itself."""
    here = (start or Path.cwd()).resolve()
    for marker in (".git", "pyproject.toml"):
        for folder in (here, *here.parents):
            if (folder / marker).exists():
                return folder
    return here


def _relative(real: Path, module_path: str | None = None) -> str:
    """``real`` relative to the project root; outside it, the module path (or the file name): never absolute."""
    try:
        return real.resolve().relative_to(project_root()).as_posix()
    except ValueError:
        return module_path or real.name


def source_path(module_path: str) -> str:
    """A module-relative trace path (``framemc/impl/frame.py``) as the file's path in the checkout."""
    if not module_path.endswith(".py"):
        return module_path
    dotted = module_path[:-3].replace("/", ".").removesuffix(".__init__")
    try:
        spec = importlib.util.find_spec(dotted) if module_path.startswith("framemc/") else None
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin is not None:
        return _relative(Path(spec.origin), module_path)
    if Path(module_path).is_file():
        return _relative(Path(module_path), module_path)
    return module_path


def violating_source(row: Row) -> dict[str, Any] | None:
    """``{"file", "line"}`` of a row's violating event (the last marked step, else the last step), or None."""
    cx = row.counterexample
    if cx is None or not cx.events:
        return None
    step = max(cx.marked) if cx.marked and max(cx.marked) < len(cx.events) else len(cx.events) - 1
    file, _, line = cx.events[step].source.rpartition(":")
    if not file or not line.isdigit() or int(line) < 1:
        return None
    return {"file": source_path(file), "line": int(line)}


def _definition(obj: Any) -> dict[str, Any] | None:
    """``{"file", "line"}`` of the definition of a function (or class), or None."""
    try:
        target = inspect.unwrap(obj)
        file, line = inspect.getsourcefile(target), inspect.getsourcelines(target)[1]
    except (TypeError, OSError):
        return None
    if file is None:
        return None
    return {"file": _relative(Path(file)), "line": max(1, line)}


def _model_definition(design: str, name: str) -> dict[str, Any] | None:
    """Where ``design``'s model defines ``name`` (an invariant, a ``relates:OP`` check, an operation), or None."""
    from framemc.design import design_named
    target = design_named(design).definition(name)
    return None if target is None else _definition(target)


def row_location(row: Row) -> dict[str, Any]:
    """``{"file", "line"}`` for a row, never None: the violating event, else the definition it is about."""
    where: dict[str, Any] | None = None
    if row.section is Section.SCENARIOS:
        where = violating_source(row)
        if where is None and row.origin is not None and row.origin.get("kind") == "bundled":
            from framemc.design import design_named
            scenario = design_named(row.design).scenarios(row.origin["memory_model"]).get(row.origin["scenario"])
            where = None if scenario is None else _definition(scenario.build)
    elif row.section is Section.PROOFS:
        op, _, invariant = row.name.partition("/")
        where = _model_definition(row.design, invariant) or _model_definition(row.design, op)
    else:
        for check in row.failed_checks:
            where = _model_definition(row.design, check)
            if where is not None:
                break
    if where is None:
        from framemc import suite
        where = _definition(suite)  # the suite itself: a location GitHub accepts, never a missing one
    return where or {"file": "pyproject.toml", "line": 1}


def sarif_json(result: SuiteResult) -> str:
    """SARIF 2.1.0: one result per violation, each with a physical location in the checkout."""
    violations = [r for r in result.rows if r.outcome is Outcome.VIOLATION]
    rules: dict[str, str] = {}
    for row in violations:
        rules.setdefault(_rule(row), _rule_text(row))
    results = []
    for row in violations:
        where = row_location(row)
        results.append({
            "ruleId": _rule(row),
            "level": "error",
            "message": {"text": f"{row.key}: {row.detail}"},
            "properties": {"section": row.section.value, "trace": row.text},
            "locations": [{
                "physicalLocation": {"artifactLocation": {"uri": where["file"], "uriBaseId": "%SRCROOT%"},
                                     "region": {"startLine": where["line"]}},
                "logicalLocations": [{"name": row.key, "kind": "module"}],
            }],
        })
    doc = {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "framemc", "version": _version(),
                                "rules": [{"id": rule, "shortDescription": {"text": rule},
                                           "fullDescription": {"text": text},
                                           "defaultConfiguration": {"level": "error"}}
                                          for rule, text in sorted(rules.items())]}},
            "results": results,
        }],
    }
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def _rule_text(row: Row) -> str:
    """The rule's description: the invariant's statement where there is one."""
    from framemc.model import INVARIANTS_BY_NAME
    rule = _rule(row)
    name = rule.partition("/")[2]
    if name in INVARIANTS_BY_NAME:
        return INVARIANTS_BY_NAME[name].statement
    return {"guard-satisfiable": "Some valid state enables the operation."}.get(name, f"framemc {rule}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("framemc")
    except PackageNotFoundError:
        return "unknown"


def _rule(row: Row) -> str:
    if row.section is Section.PROOFS:
        return f"proof/{row.name.rpartition('/')[2]}"
    if row.section is Section.CONFORMANCE and row.failed_checks:
        return f"conformance/{row.failed_checks[0]}"
    cx = row.counterexample
    if cx is not None and cx.invariant:
        return f"invariant/{cx.invariant}"
    if cx is not None:
        return f"explorer/{cx.kind.value}"
    return f"{row.section.value}/violation"
