"""Every command through its real click entry point: each exit code, each bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from cli_helpers import one_line_error, run
from framemc.suite import ExitCode, Outcome, exit_code

# a suite that runs in about a second: one bundled scenario under sc
ONE_SCENARIO = ("check", "--only", "scenarios", "--scenario", "segment-pieces", "--memory-model", "sc")


@pytest.mark.parametrize("outcomes, code", [
    ((), ExitCode.OK),
    ((Outcome.PASS,), ExitCode.OK),
    ((Outcome.PASS, Outcome.INCONCLUSIVE), ExitCode.INCONCLUSIVE),
    ((Outcome.INCONCLUSIVE, Outcome.VIOLATION), ExitCode.VIOLATION),
    ((Outcome.VIOLATION, Outcome.PASS), ExitCode.VIOLATION),
])
def test_exit_code_is_computed_from_outcomes(outcomes: tuple[Outcome, ...], code: ExitCode) -> None:
    assert exit_code(outcomes) is code


# ----------------------------------------------------------------- explore

def test_explore_pass_exits_0(scenario_files: dict[str, Path]) -> None:
    result = run("explore", str(scenario_files["good"]))
    assert result.exit_code == 0, result.output
    assert "PASS after 2 executions (exhaustive)" in result.stdout


def test_explore_violation_exits_1_with_the_swimlane(scenario_files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "traces" / "racy.json"
    out.parent.mkdir()
    result = run("explore", f"{scenario_files['bad']}:racy", "--trace-out", str(out))
    assert result.exit_code == 1, result.output
    assert "assertion: final() raised AssertionError: exactly one CPU may claim the frame" in result.stdout
    assert "refcount.store(0, Relaxed)" in result.stdout and "bad.py:13" in result.stdout
    doc = json.loads(out.read_text())
    assert doc["origin"] == {"kind": "file", "file": "../bad.py", "func": "racy"}
    assert doc["schema"] == "framemc-counterexample" and doc["version"] == 1


def test_explore_hit_bound_exits_3(scenario_files: dict[str, Path]) -> None:
    result = run("explore", str(scenario_files["good"]), "--max-executions", "1")
    assert result.exit_code == 3, result.output
    assert "INCONCLUSIVE after 1 executions" in result.stdout
    assert "max_executions bound cut the search" in result.stdout


def test_explore_time_budget_is_never_a_pass(tmp_path: Path) -> None:
    many = tmp_path / "many.py"
    many.write_text(textwrap.dedent('''
        from framemc import Atomic
        def setup():
            x = Atomic(0, name="x")
            def t():
                for _ in range(6):
                    x.fetch_add(1)
            return [t, t, t]
    '''))
    result = run("explore", str(many), "--time-budget", "0.05")
    assert result.exit_code == 3, result.output
    assert "time_budget bound cut the search" in result.stdout


@pytest.mark.parametrize("case, args, expected", [
    ("missing file", ["nowhere.py"], "nowhere.py: no such file"),
    ("no such function", ["{good}:nosuch"], "good.py: no function 'nosuch' (expected a setup function"),
    ("not a function", ["{shape}:VALUE"], "shape.py: 'VALUE' is a int, expected a function"),
    ("wrong shape", ["{shape}:returns_int"], "shape.py:6: returns_int(): setup() must return a list of thread"),
    ("thread not callable", ["{shape}:returns_junk"], "shape.py:9: returns_junk(): setup() thread 0 is a str"),
    ("import error", ["{broken}"], "broken.py:3: raised ZeroDivisionError while importing: division by zero"),
    ("syntax error", ["{syntax}"], "syntax.py:2: has a syntax error"),
    ("impossible bound", ["{good}", "--max-executions", "0"], "max_executions must be an integer >= 1, got 0"),
    ("negative preemptions", ["{good}", "--preemption-bound", "-1"],
     "preemption_bound must be an integer >= 0, got -1"),
    ("not a number", ["{good}", "--max-steps", "many"], "'many' is not a valid integer"),
])
def test_explore_bad_input_exits_2_with_one_line(scenario_files: dict[str, Path], tmp_path: Path, case: str,
                                                args: list[str], expected: str) -> None:
    (tmp_path / "shape.py").write_text("VALUE = 3\n\n\n\n\ndef returns_int():\n    return 3\n\n"
                                       "def returns_junk():\n    return ['thread']\n")
    (tmp_path / "broken.py").write_text("import framemc\n\nRATIO = 1 / 0\n")
    (tmp_path / "syntax.py").write_text("def setup():\n    return [\n")
    files = {"good": scenario_files["good"], "shape": tmp_path / "shape.py", "broken": tmp_path / "broken.py",
             "syntax": tmp_path / "syntax.py"}
    line = one_line_error(run("explore", *[a.format(**files) for a in args]))
    assert expected in line, (case, line)


# ----------------------------------------------------------------- check

def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = 'kernel'\n\n[tool.framemc]\n" + textwrap.dedent(body))
    return path


def test_check_from_config_exits_0(tmp_path: Path) -> None:
    config = _config(tmp_path, '''
        include = ["scenarios"]
        scenarios = ["segment-pieces"]
        memory_models = ["sc"]
    ''')
    result = run("check", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "sc/segment-pieces  PASS" in result.stdout
    assert "1 items: 1 pass, 0 violation, 0 inconclusive" in result.stdout
    assert result.stderr == ""  # not a terminal: no progress bars


def test_check_planted_bug_exits_1() -> None:
    result = run(*ONE_SCENARIO, "--bug", "merge-non-buddy")
    assert result.exit_code == 1, result.output
    assert "VIOLATION metaslot scenarios sc/segment-pieces" in result.stdout


def test_check_command_line_overrides_config(tmp_path: Path) -> None:
    config = _config(tmp_path, 'include = ["scenarios"]\nscenarios = ["segment-pieces"]\nmemory_models = ["sc"]\n'
                                'max_executions = 1\n')
    assert run("check", "--config", str(config)).exit_code == 3
    assert run("check", "--config", str(config), "--max-executions", "100").exit_code == 0


def test_check_hit_bound_exits_3_and_says_what_was_covered() -> None:
    result = run(*ONE_SCENARIO, "--max-executions", "2")
    assert result.exit_code == 3, result.output
    assert "max_executions hit after 2 executions: not exhaustive" in result.stdout


def test_check_time_budget_reports_partial_coverage_inconclusive() -> None:
    result = run("check", "--only", "scenarios", "--only", "conformance", "--memory-model", "sc",
                 "--time-budget", "0.001")
    assert result.exit_code in (1, 3), result.output  # 1 only if a scenario violated before the budget ran out
    assert "time budget of 0.001 s ran out:" in result.stdout
    assert "the rest is INCONCLUSIVE, not a pass" in result.stdout
    assert "not run: the time budget ran out" in result.stdout
    assert " PASS " not in result.stdout.split("conformance (seed")[1].splitlines()[0]


def test_check_conformance_section_runs() -> None:
    result = run("check", "--only", "conformance", "--conformance-steps", "5")
    assert result.exit_code in (0, 1, 3), result.output
    assert "conformance (seed 0, 5 steps)" in result.stdout


def test_check_conformance_lists_uncovered_items_as_a_warning_and_in_the_json(tmp_path) -> None:
    summary = tmp_path / "summary.json"
    result = run("check", "--design", "metaslot", "--only", "conformance", "--conformance-steps", "5", "--json",
                 str(summary))
    assert result.exit_code == 0, result.output          # uncovered items are a warning, not a failure
    assert "conformance coverage items exercised" in result.stdout
    [warning] = [line for line in result.stdout.splitlines() if line.startswith("warning: ")]
    assert warning.startswith("warning: metaslot conformance (seed 0, 5 steps) left")
    assert "coverage item(s) unexercised" in warning and "merge cascade of length 3" in warning
    doc = json.loads(summary.read_text())
    [row] = doc["rows"]
    coverage = row["coverage"]
    assert {"kind": "operation", "name": "init", "hits": 1, "expected": True} in coverage["items"]
    assert "case: merge cascade of length 3" in coverage["uncovered"]
    assert doc["warnings"] == [warning.removeprefix("warning: ")] and doc["version"] == 2


@pytest.mark.parametrize("args, expected", [
    (["--scenario", "nosuch"], "unknown scenario 'nosuch'"),
    (["--bug", "nosuch"], "unknown bug variant 'nosuch'"),
    (["--max-executions", "0"], "max_executions must be an integer >= 1, got 0"),
    (["--time-budget", "-1"], "time_budget must be a positive number of seconds"),
    (["--jobs", "0"], "jobs must be an integer >= 1"),
    (["--config", "missing.toml"], "missing.toml: no such configuration file"),
    (["--only", "everything"], "'everything' is not one of"),
    (["--obligation", "nosuch"], "no obligation matches nosuch"),
])
def test_check_bad_input_exits_2(args: list[str], expected: str) -> None:
    assert expected in one_line_error(run("check", "--only", "scenarios", "--only", "proofs", *args))


@pytest.mark.parametrize("body, expected", [
    ("include = ['scenarios']\nbounds = 3\n", "pyproject.toml:6: unknown [tool.framemc] key 'bounds'"),
    ("max_executions = 'many'\n", "pyproject.toml:5: max_executions must be a int, got 'many'"),
    ("preemption_bound = -1\n", "preemption_bound must be an integer >= 0, got -1"),
    ("memory_models = ['tso']\n", "memory_models must be a non-empty list drawn from sc, c11"),
    ("include = [\n", "not valid TOML"),
])
def test_check_bad_config_exits_2(tmp_path: Path, body: str, expected: str) -> None:
    config = _config(tmp_path, body)
    assert expected in one_line_error(run("check", "--config", str(config)))


def test_check_finds_pyproject_in_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _config(tmp_path, "include = ['scenarios']\nscenarios = ['segment-pieces']\nmemory_models = ['sc']\nsurprise = 1\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert "unknown [tool.framemc] key 'surprise'" in one_line_error(run("check"))


# ----------------------------------------------------------------- prove

def test_prove_table_exits_0() -> None:
    result = run("prove", "claim", "--jobs", "1", "--timeout-ms", "120000")
    assert result.exit_code == 0, result.output
    assert "claim/I3-generation" in result.stdout and "PASS" in result.stdout


def test_prove_refuted_variant_exits_1_with_the_diff() -> None:
    # a generous z3 timeout: on a loaded machine a timeout would be UNKNOWN (exit 3), not the refutation
    result = run("prove", "claim_failed/I3-generation", "--variant", "generation-before-cas", "--jobs", "1",
                 "--timeout-ms", "120000")
    assert result.exit_code == 1, result.output
    assert "VIOLATION metaslot proofs claim_failed/I3-generation" in result.stdout
    assert "->" in result.stdout  # the before -> after diff


def test_prove_unknown_is_inconclusive_exit_3() -> None:
    result = run("prove", "buddy_free/S-conservation", "--timeout-ms", "1", "--jobs", "1")
    assert result.exit_code == 3, result.output
    assert "z3 said unknown" in result.stdout and "not a proof" in result.stdout


def test_prove_in_worker_processes_matches_inline(tmp_path: Path) -> None:
    inline, parallel = tmp_path / "inline.json", tmp_path / "parallel.json"
    patient = ("--timeout-ms", "120000")  # a z3 timeout on a loaded machine would make this exit 3
    assert run("prove", "claim", "--jobs", "1", *patient, "--json", str(inline)).exit_code == 0
    assert run("prove", "claim", "--jobs", "2", *patient, "--json", str(parallel)).exit_code == 0
    rows = json.loads(inline.read_text())["rows"]
    assert len(rows) > 5 and [r["name"] for r in rows] == [r["name"] for r in json.loads(parallel.read_text())["rows"]]


@pytest.mark.parametrize("args, expected", [
    (["nosuch"], "no obligation matches nosuch"),
    (["--variant", "nosuch"], "unknown model variant 'nosuch'"),
    (["--timeout-ms", "0"], "proof_timeout_ms must be an integer >= 1"),
])
def test_prove_bad_input_exits_2(args: list[str], expected: str) -> None:
    assert expected in one_line_error(run("prove", *args))


@pytest.mark.parametrize("command", ["check", "prove", "explore", "replay", "report"])
def test_help_speaks_to_a_kernel_developer(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Usage: framemc " + command in result.stdout


def test_no_command_is_a_usage_error() -> None:
    result = run()
    assert result.exit_code == 2 and "Commands:" in result.stderr
