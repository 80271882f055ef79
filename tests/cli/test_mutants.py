"""`framemc mutants`: the planted-bug catalogue, its exit code, and the generated counterexample pages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cli_helpers import one_line_error, run
from framemc import mutants
from framemc.config import CheckConfig
from framemc.suite import ExitCode, Outcome
from framemc.design import designs
from framemc.mutants import (Catalogue, Detection, DetectorKind, MutantResult, ReferenceResult, ScenarioRun,
                             catalogue_table, render_index, render_page, run_catalogue, run_mutant)
from framemc.scenarios.allocator import SCENARIOS, Scenario

#: every planted bug of the built-in designs, by name
BUGS = {name: bug for d in designs().values() for name, bug in d.bugs.items()}

#: the committed pages
DOCS = Path(__file__).resolve().parents[2] / "docs" / "counterexamples"
#: a cheap subset covering a sc scenario + proofs + conformance, and a c11-only variant
SUBSET = ("check-then-decrement", "relaxed-claim")


def test_subset_is_caught_and_its_pages_are_up_to_date(tmp_path):
    out = tmp_path / "pages"
    result = run("mutants", *SUBSET, "--write-docs", str(out))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["variant", "caught", "first", "cx", "s", "trace", "by"]
    assert lines[1].startswith("check-then-decrement") and " yes " in lines[1]
    assert "sc/concurrent-last-drops" in lines[1] and "drop_last/I3-refcount-transitions" in lines[1]
    assert lines[2].startswith("relaxed-claim") and "c11/claim-acquire" in lines[2]
    assert "2 of 2 variants caught" in result.stdout and "reference clean: yes (13 scenarios)" in result.stdout
    for name in SUBSET:
        page = (out / f"{name}.md").read_text(encoding="utf-8")
        assert page == (DOCS / f"{name}.md").read_text(encoding="utf-8"), (
            f"docs/counterexamples/{name}.md is stale: run `framemc mutants --write-docs docs/counterexamples`")
    assert not (out / "README.md").exists()      # a partial run never replaces the full index


def test_write_docs_into_a_file_is_refused_before_running(tmp_path):
    target = tmp_path / "pages"
    target.write_text("not a folder")
    line = one_line_error(run("mutants", "relaxed-claim", "--write-docs", str(target)))
    assert "not a folder" in line and target.read_text() == "not a folder"


def test_page_shows_bug_source_swimlane_invariant_and_fix():
    page = (DOCS / "check-then-decrement.md").read_text(encoding="utf-8")
    variant = BUGS["check-then-decrement"]
    for part in (variant.description, variant.source, variant.fix, "## Counterexample", "step | T0",
                 "## Violated invariant", "## Fix"):
        assert part in page


def test_unknown_variant_is_one_line_error_and_writes_nothing(tmp_path):
    out = tmp_path / "pages"
    line = one_line_error(run("mutants", "no-such-bug", "--write-docs", str(out)))
    assert "unknown bug variant 'no-such-bug'" in line and "non-cas-claim" in line
    assert not out.exists()


def _only(plan_names):
    """A replacement scenario plan holding only the named sc scenarios."""
    return lambda chosen: ([("sc", SCENARIOS[n]) for n in plan_names], [])


def test_an_escaping_variant_fails_the_run(monkeypatch):
    # with no scenario left, relaxed-claim (no model variant; conformance is sequential) escapes
    monkeypatch.setattr(mutants, "_registries", _only([]))
    result = run("mutants", "relaxed-claim")
    assert result.exit_code == int(ExitCode.VIOLATION), result.output
    assert "relaxed-claim" in result.stdout and " NO " in result.stdout
    assert "0 of 1 variants caught" in result.stdout


def test_a_false_alarm_on_the_reference_fails_the_run(monkeypatch):
    race = SCENARIOS["claim-race"]
    # a scenario that plants a bug even when asked for the reference: the reference is no longer clean
    rigged = Scenario(race.name, race.summary, race.twin, lambda bugs: race.build(bugs | {"non-cas-claim"}))
    monkeypatch.setattr(mutants, "_registries", lambda chosen: ([("sc", rigged)], []))
    result = run("mutants", "non-cas-claim")
    assert result.exit_code == int(ExitCode.VIOLATION), result.output
    assert "reference clean: no" in result.stdout and "reference false alarm: sc/claim-race" in result.stdout


def test_the_page_shows_the_shortest_counterexample():
    result = run_mutant("check-then-decrement")
    caught = [r for r in result.scenarios if r.counterexample is not None]
    assert len(caught) >= 2 and result.shortest in caught
    best = (result.shortest.counterexample.preemptions, len(result.shortest.counterexample.events))
    assert all(best <= (r.counterexample.preemptions, len(r.counterexample.events)) for r in caught)
    assert result.trace_length == best[1]
    assert result.scenarios[0].name == "sc/concurrent-last-drops"      # the twin runs first
    assert result.first_seconds is not None and result.outcome is Outcome.PASS


def _fake(name: str, seconds: float | None, undecided: tuple[str, ...] = ()) -> MutantResult:
    found = () if seconds is None else (Detection(DetectorKind.OBLIGATION, "claim/I3-generation", "refuted"),)
    return MutantResult(BUGS[name], found, (), seconds, None, undecided)


def test_table_figures_and_exit_codes_from_typed_results():
    clean = ReferenceResult((ScenarioRun("sc/claim-race", Outcome.PASS, 0.1),))
    catalogue = Catalogue(clean, (_fake("non-cas-claim", 0.5), _fake("relaxed-claim", 3.0),
                                  _fake("relaxed-publish", 0.1)))
    lines = catalogue_table(catalogue)
    assert "time to first counterexample: median 0.50 s, slowest 3.00 s" in lines
    assert catalogue.exit_code is ExitCode.OK
    escaped = dataclasses.replace(catalogue, mutants=(*catalogue.mutants, _fake("relaxed-purpose", None)))
    assert escaped.exit_code is ExitCode.VIOLATION
    undecided = dataclasses.replace(catalogue, mutants=(_fake("relaxed-purpose", None, ("x: z3 unknown",)),))
    assert undecided.exit_code is ExitCode.INCONCLUSIVE           # an undecided escape is never a pass
    assert "undecided for relaxed-purpose: x: z3 unknown" in catalogue_table(undecided)
    empty = Catalogue(ReferenceResult(()), catalogue.mutants)
    assert not empty.reference.clean and empty.exit_code is ExitCode.INCONCLUSIVE


def test_a_page_without_a_scenario_counterexample_says_so():
    page = render_page(_fake("relaxed-claim", 0.2))
    assert "No scenario catches this variant" in page and "`claim/I3-generation`" in page
    assert "| [`relaxed-claim`](relaxed-claim.md) | yes | `claim/I3-generation` | - | - |" in render_index(
        [_fake("relaxed-claim", 0.2)])


@pytest.mark.slow
def test_full_catalogue_catches_everything_and_pages_are_up_to_date(tmp_path):
    catalogue = run_catalogue(cfg=CheckConfig())
    assert catalogue.reference.clean
    assert [m.variant.name for m in catalogue.mutants] == sorted(BUGS)
    assert all(m.caught for m in catalogue.mutants), catalogue_table(catalogue)
    assert catalogue.exit_code is ExitCode.OK
    mutants.write_pages(catalogue.mutants, tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(p.name for p in DOCS.iterdir())
    for name in written:
        assert (tmp_path / name).read_bytes() == (DOCS / name).read_bytes(), f"docs/counterexamples/{name} is stale"
