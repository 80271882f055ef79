"""The design registry as a user meets it: listing designs, narrowing commands to one, loading their own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from framemc import design as registry
from framemc.design import Design, design_named, designs, load_user_designs, register
from framemc.errors import UsageError

from cli_helpers import one_line_error, run


def test_the_built_in_designs_are_listed_with_their_sources():
    result = run("list", "--kind", "designs")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == list(registry.BUILTIN)
    assert "seed 001 (MetaSlot)" in result.stdout


@pytest.mark.parametrize("kind", ["scenarios", "bugs", "invariants", "obligations"])
def test_every_listed_item_names_its_design(kind):
    result = run("list", "--kind", kind, "--design", "metaslot")
    lines = result.stdout.splitlines()
    assert result.exit_code == 0 and lines
    assert all("[metaslot" in line for line in lines), [line for line in lines if "[metaslot" not in line][:3]


def test_an_unknown_design_is_a_usage_error():
    for args in (["check", "--design", "nosuch"], ["prove", "--design", "nosuch"], ["list", "--design", "nosuch"],
                 ["mutants", "--design", "nosuch"]):
        result = run(*args)
        assert result.exit_code == 2
        assert one_line_error(result).startswith("framemc: error: unknown design 'nosuch'; known designs: metaslot")


def _project(tmp_path: Path, designs_value: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.framemc]\ndesigns = {designs_value}\n")
    return tmp_path


@pytest.mark.parametrize("value, message", [
    ('["nosuch_module_xyz:DESIGN"]', "cannot import design module 'nosuch_module_xyz'"),
    ('["json:nosuch"]', "module 'json' has no attribute 'nosuch'"),
    ('["json:dumps"]', "json:dumps is a function, not a framemc.design.Design"),
    ('["json"]', "a design is named as 'module:ATTRIBUTE', got 'json'"),
    ('"json:dumps"', "designs must be a list of names"),
])
def test_a_bad_user_design_is_a_one_line_usage_error(tmp_path, monkeypatch, value, message):
    monkeypatch.chdir(_project(tmp_path, value))
    result = run("list", "--kind", "designs")
    assert result.exit_code == 2 and message in one_line_error(result)


def test_a_user_design_is_imported_from_its_project_folder(tmp_path, monkeypatch):
    project = _project(tmp_path, '["toy_design_for_test:DESIGN"]')
    (project / "toy_design_for_test.py").write_text(textwrap.dedent('''
        from framemc.design import Design, design_named
        _base = design_named("metaslot")
        DESIGN = Design(name="toy", summary="A toy that borrows the MetaSlot parts.", sources=("test",),
                        build=_base.build, scenarios=lambda model: {}, prover=_base.prover, conformance=None)
    '''))
    monkeypatch.chdir(project)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_ORIGIN", dict(registry._ORIGIN))
    result = run("list", "--kind", "designs")
    assert result.exit_code == 0, result.output
    assert [line.split()[0] for line in result.stdout.splitlines()] == [*registry.BUILTIN, "toy"]


def test_two_designs_with_one_name_are_refused(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_ORIGIN", dict(registry._ORIGIN))
    base = design_named("metaslot")
    twin = Design(name="metaslot", summary="x", sources=(), build=base.build, scenarios=base.scenarios,
                  prover=base.prover, conformance=None)
    with pytest.raises(UsageError, match="two designs are named 'metaslot'"):
        register(twin, "mine:TWIN")
    assert designs()["metaslot"] is base
    with pytest.raises(UsageError, match="a design's name must be lower-case"):
        Design(name="My Design", summary="", sources=(), build=base.build, scenarios=base.scenarios,
               prover=base.prover, conformance=None)


def test_loading_is_idempotent(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_ORIGIN", dict(registry._ORIGIN))
    first = load_user_designs(["framemc.design.metaslot:DESIGN"])
    assert load_user_designs(["framemc.design.metaslot:DESIGN"]) == first


def test_an_installed_package_registers_its_design_by_entry_point(monkeypatch):
    import importlib.metadata

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_ORIGIN", dict(registry._ORIGIN))
    base = design_named("metaslot")
    module = type(registry)("pkg_with_a_design_for_test")
    module.DESIGN = Design(name="from-entry-point", summary="x", sources=(), build=base.build,
                           scenarios=lambda model: {}, prover=base.prover, conformance=None)
    monkeypatch.setitem(__import__("sys").modules, module.__name__, module)
    point = importlib.metadata.EntryPoint("mine", f"{module.__name__}:DESIGN", registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [point] if group == registry.ENTRY_POINT_GROUP else [])
    assert list(designs()) == [*registry.BUILTIN, "from-entry-point"]
    result = run("list", "--kind", "designs")
    assert result.exit_code == 0 and "from-entry-point" in result.stdout
