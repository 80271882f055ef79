"""The compiled explorer core (mypyc) is the very code of its Python sources, and a stale build never runs."""

from __future__ import annotations

import ast
import importlib
import os

import pytest

from framemc.explorer import core
from framemc.explorer.events import LocationInfo, OpKind
from framemc.explorer.graph import Node
from framemc.sync import Ordering
from python_core import HERE, run_python_core


def test_ci_runs_the_compiled_core():
    """.ci/run installs from scratch: the build must have compiled (a C compiler and mypy from PyPI)."""
    if core.build() != "compiled":
        if os.environ.get("CI") and os.environ.get(core.PURE_ENV) != "1":
            pytest.fail(f"the explorer core is not compiled in CI: {core.build()}")
        pytest.skip(f"this install runs the Python sources: {core.build()}")
    for module in core.MODULES:
        assert not importlib.import_module(module).__file__.endswith(".py"), module


def test_the_python_sources_and_the_compiled_core_explore_identically():
    """193 searches (counted programs, C11 litmus tests, 40 random programs under sc and c11, optimal and plain),
    12 of them with counterexamples: the same counts, outcomes in the same order and byte-identical traces."""
    script = (HERE / "core_fingerprint.py").read_text(encoding="utf-8")
    pure = run_python_core(script, pure=True).splitlines()
    mine = run_python_core(script, pure=False).splitlines()
    assert pure[0] == '{"build": "python (FRAMEMC_PURE=1)"}'
    assert len(pure) == len(mine) > 150
    assert sum('"violation": {' in line for line in pure) >= 10
    for a, b in zip(pure[1:], mine[1:]):
        assert a == b


def test_the_compiled_modules_have_no_code_mypy_calls_dead():
    """mypyc trusts mypy's types: code mypy thinks unreachable (an attribute narrowed to None, then set by a call)
    would not run as written, so none may exist in the compiled modules."""
    from mypy import api
    files = [str(core.source_path(m)) for m in core.MODULES]
    out, err, status = api.run(["--follow-imports=silent", "--ignore-missing-imports", "--warn-unreachable",
                                "--strict-equality", "--no-incremental", "--cache-dir", os.devnull, *files])
    assert status == 0, out + err


def test_a_source_changed_after_the_build_runs_as_python(monkeypatch):
    monkeypatch.setattr(core, "digest", lambda module: "0" * 64)
    monkeypatch.delenv(core.PURE_ENV, raising=False)
    why = core._why_pure()
    assert why is not None
    assert why == "not compiled" or why.endswith("changed since the build")


def test_framemc_pure_selects_the_sources(monkeypatch):
    monkeypatch.setenv(core.PURE_ENV, "1")
    assert core._why_pure() == "FRAMEMC_PURE=1"
    files = run_python_core("import framemc.explorer.engine as e, framemc.explorer.graph as g, "
                            "framemc.explorer.program as p, framemc.explorer.memory.sc as s\n"
                            "print(e.__file__, g.__file__, p.__file__, s.__file__)")
    assert all(f.endswith(".py") for f in files.split())


def _distinct(slot: str, value, i: int):
    """A value for ``slot`` that differs from ``value`` and fits the slot's type (the compiled Node checks)."""
    special = {"op": OpKind.STORE, "info": LocationInfo(("setup", i), f"x{i}", "atomic"), "order": Ordering.RELAXED,
               "rf": (i, i), "orders": (Ordering.ACQUIRE, None), "args": (i,)}
    if slot in special:
        return special[slot]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1000 + i
    if isinstance(value, str):
        return f"{value}:{i}"
    return ("value", i)


def _node_slots() -> tuple[str, ...]:
    """Node's ``__slots__`` as its source lists them (a compiled class has no ``__slots__`` attribute)."""
    tree = ast.parse(core.source_path("framemc.explorer.graph").read_text(encoding="utf-8"))
    node = next(c for c in tree.body if isinstance(c, ast.ClassDef) and c.name == "Node")
    slots = next(a for a in node.body if isinstance(a, ast.Assign) and a.targets[0].id == "__slots__")
    return ast.literal_eval(slots.value)


def test_node_clone_copies_every_slot():
    n = Node(1, 2, OpKind.CAS, None, None, "here.py:3")
    want = []
    slots = _node_slots()
    assert len(slots) > 20
    for i, slot in enumerate(slots):
        value = _distinct(slot, getattr(n, slot), i)
        assert value != getattr(n, slot)
        setattr(n, slot, value)
        want.append(value)
    c = n.clone()
    assert c is not n
    assert [getattr(c, s) for s in slots] == want
