"""Selections that match nothing and wrong-typed [tool] tables exit 2, never "0 items ... exit 0" (issue 12 #3)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cli_helpers import one_line_error, run
from framemc.config import CheckConfig, find_pyproject, load_config
from framemc.suite import run_suite
from framemc.errors import UsageError


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = 'kernel'\n\n" + textwrap.dedent(body))
    return path


@pytest.mark.parametrize("body, line, expected", [
    ("[tool.framemc]\nscenarios = []\n", 5, "nothing to check: scenarios = [] selects no scenario"),
    ("[tool.framemc]\nobligations = []\n", 5, "nothing to check: obligations = [] selects no obligation"),
    ("[tool.framemc]\nbugs = ['non-cas-claim']\nobligations = []\n", 6, "nothing to check: obligations = []"),
    ("[tool.framemc]\ninclude = ['scenarios']\nbugs = ['merge-non-buddy']\nscenarios = []\n", 7,
     "nothing to check: scenarios = []"),
])
def test_an_empty_selection_exits_2_nothing_to_check(tmp_path: Path, body: str, line: int, expected: str) -> None:
    config = _pyproject(tmp_path, body)
    error = one_line_error(run("check", "--config", str(config)))
    assert f"pyproject.toml:{line}: {expected}" in error


def test_an_empty_selection_in_code_is_nothing_to_check() -> None:
    for cfg in (CheckConfig(include=("scenarios",), scenarios=()), CheckConfig(include=("proofs",), obligations=())):
        with pytest.raises(UsageError, match="nothing to check"):
            run_suite(cfg)


@pytest.mark.parametrize("body, line, expected", [
    ("[tool]\nframemc = 5\n", 5, "[tool.framemc] must be a table of settings, got int 5"),
    ("[tool]\nblack = 1\nframemc = 'fast'\n", 6, "[tool.framemc] must be a table of settings, got str 'fast'"),
    ("[tool]\nframemc = [1, 2]\n", 5, "[tool.framemc] must be a table of settings, got list [1, 2]"),
    ("[[tool.framemc]]\ninclude = ['proofs']\n", 4, "[tool.framemc] must be a table of settings, got an array"),
    ("[tool.framemc]\nscenarios = [1]\n", 5, "scenarios must be a list of names (strings), got [1]"),
    ("[tool.framemc]\nproof_rlimit_scale = 'x'\n", 5, "proof_rlimit_scale must be a float, got 'x'"),
])
def test_a_wrong_typed_table_exits_2_with_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         body: str, line: int, expected: str) -> None:
    config = _pyproject(tmp_path, body)
    assert find_pyproject(tmp_path) == config  # found, not silently skipped
    monkeypatch.chdir(tmp_path)
    error = one_line_error(run("check"))  # the file found by walking up from the working directory
    assert f"pyproject.toml:{line}: " in error and expected in error, error


def test_a_pyproject_without_framemc_is_not_configuration(tmp_path: Path) -> None:
    _pyproject(tmp_path, "[tool.black]\nline-length = 100\n")
    assert find_pyproject(tmp_path) is None
    _pyproject(tmp_path, "tool = 5\n")
    assert find_pyproject(tmp_path) is None
    assert load_config(tmp_path / "pyproject.toml") == CheckConfig()
