"""Fixtures for the command-line tests (the helpers themselves live in ``cli_helpers``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cli_helpers import BAD, GOOD


@pytest.fixture
def scenario_files(tmp_path: Path) -> dict[str, Path]:
    """good.py (setup passes), bad.py (racy() violates) in a temporary folder."""
    files = {}
    for name, text in (("good", GOOD), ("bad", BAD)):
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(text))
        files[name] = path
    return files
