"""The example design in examples/percpu_pool, checked as a user would: from a copy outside the repository,
with the installed ``framemc`` command and nothing but the project's own pyproject.toml."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "percpu_pool"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("user") / "percpu_pool"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def framemc(project: Path, *args: str) -> subprocess.CompletedProcess:
    """``framemc ARGS`` run in the user's project folder, as from a shell."""
    command = [sys.executable, "-m", "framemc", *args]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)


def _rows(project: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    out = project / "summary.json"
    done = framemc(project, "check", "--design", "percpu-pool", "--json", str(out), "-q", *args)
    return done, json.loads(out.read_text())["rows"]


def test_the_copy_is_outside_the_repository(project):
    assert EXAMPLE.parents[1] not in project.parents


def test_the_design_is_listed_beside_the_built_in_ones(project):
    done = framemc(project, "list", "--kind", "designs")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["metaslot", "theseus", "percpu-pool"]


def test_the_correct_design_passes_every_part_of_the_suite(project):
    done, rows = _rows(project)
    assert done.returncode == 0, done.stdout + done.stderr
    sections = {(r["section"], r["outcome"]) for r in rows}
    assert sections == {("scenarios", "pass"), ("conformance", "pass"), ("proofs", "pass")}
    assert {r["design"] for r in rows} == {"percpu-pool"}
    assert sum(r["section"] == "proofs" for r in rows) == 9  # init, and a guard and a step per operation


def test_the_planted_bug_is_caught_by_the_scenario_and_the_proof(project):
    done, rows = _rows(project, "--bug", "refill-without-lock")
    assert done.returncode == 1, done.stdout + done.stderr
    failed = {r["name"]: r["detail"] for r in rows if r["outcome"] == "violation"}
    assert set(failed) == {"sc/two-cpus-refill", "refill/P-one-place"}
    assert failed["sc/two-cpus-refill"].startswith("data-race: data race on pool")


def test_the_mutants_command_finds_the_bug_caught(project):
    done = framemc(project, "mutants", "--design", "percpu-pool", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 of 1 variants caught" in done.stdout and "reference clean: yes (1 scenarios)" in done.stdout


def test_a_bug_of_another_design_is_refused_in_one_line(project):
    done = framemc(project, "check", "--bug", "refill-without-lock", "--bug", "non-cas-claim")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "belong to different designs" in done.stderr
