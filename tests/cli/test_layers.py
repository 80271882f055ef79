"""The layers stay apart: impl never imports z3 or the model, the model never imports impl, the explorer knows
nothing of frames, and no library module imports the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (at any depth: function-level imports count too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names |= {f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
              for a in n.names}
    return names


def _offenders(folder: str, banned: tuple[str, ...], allowed: tuple[str, ...] = (), root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted((root / folder).rglob("*.py")):
        rel = str(path.relative_to(root))
        if rel in allowed:
            continue
        bad = sorted(n for n in _imports(path) if any(n == b or n.startswith(b + ".") for b in banned))
        if bad:
            out.append(f"{rel}: {', '.join(bad)}")
    return out


@pytest.mark.parametrize("folder, banned, allowed", [
    ("impl", ("z3", "framemc.model", "framemc.design", "framemc.proofs"), ()),
    ("model", ("framemc.impl", "framemc.design.metaslot", "framemc.design.theseus", "framemc.cli"), ()),
    ("src/framemc/explorer", ("framemc.impl", "framemc.model", "framemc.design", "z3"), ()),
    ("src/framemc", ("framemc.cli",), ("src/framemc/cli.py", "src/framemc/__main__.py")),
    ("proofs", ("framemc.impl", "framemc.cli"), ()),
])
def test_a_layer_never_imports_what_it_must_not(folder, banned, allowed):
    assert _offenders(folder, banned, allowed) == []


def test_the_check_finds_a_planted_import(tmp_path):
    (tmp_path / "impl").mkdir()
    (tmp_path / "impl" / "bad.py").write_text("def f():\n    import z3\n    from framemc.model.state import frame\n")
    (tmp_path / "impl" / "good.py").write_text("import z3x\nfrom framemc.modelling import y\n")
    assert _offenders("impl", ("z3", "framemc.model"), root=tmp_path) == [
        "impl/bad.py: framemc.model.state, framemc.model.state.frame, z3"]
