"""The generated regions of the docs match the registries: a registry change without a docs change fails."""

import dataclasses
import shutil
from pathlib import Path

import pytest

from framemc import docgen
from framemc.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def test_generated_docs_are_up_to_date():
    assert docgen.stale_pages(ROOT) == [], "run: python -m framemc.docgen"


def test_every_invariant_operation_and_variant_has_a_row():
    from framemc.model import INVARIANTS, OPERATIONS, VARIANTS
    text = (ROOT / "docs/model.md").read_text(encoding="utf-8")
    assert all(f"| {inv.name} |" in text for inv in INVARIANTS)
    assert all(f"| `{name}` |" in text for name in list(OPERATIONS) + list(VARIANTS))


def test_every_scenario_and_bug_variant_has_a_row():
    from framemc.design import designs
    from framemc.scenarios.allocator import SCENARIOS
    from framemc.scenarios.orderings import ORDERING_SCENARIOS
    scenarios = (ROOT / "docs/scenarios.md").read_text(encoding="utf-8")
    explorer = (ROOT / "docs/explorer.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in scenarios for name in list(SCENARIOS) + [b for d in designs().values() for b in d.bugs])
    assert all(f"| `{name}` |" in explorer for name in ORDERING_SCENARIOS)


def test_every_page_has_regions_and_every_region_is_used():
    used = set()
    for page in docgen.PAGES:
        names = [m.group("name") for m in docgen._REGION.finditer((ROOT / page).read_text(encoding="utf-8"))]
        assert names, f"{page} has no generated region"
        used.update(names)
    assert used == set(docgen.REGIONS)


def _copy_docs(tmp_path: Path) -> Path:
    for page in docgen.PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / page, tmp_path / page)
    assert docgen.stale_pages(tmp_path) == []
    return tmp_path


def test_a_changed_invariant_statement_makes_model_md_stale(tmp_path, monkeypatch):
    from framemc.model import invariants
    root = _copy_docs(tmp_path)
    first = invariants.INVARIANTS[0]
    changed = dataclasses.replace(first, statement=first.statement + " (reworded)")
    monkeypatch.setattr(invariants, "INVARIANTS", (changed, *invariants.INVARIANTS[1:]))
    assert docgen.stale_pages(root) == ["docs/model.md"]


def test_a_changed_scenario_summary_makes_scenarios_md_stale(tmp_path, monkeypatch):
    from framemc.scenarios import allocator
    root = _copy_docs(tmp_path)
    scenario = allocator.SCENARIOS["claim-race"]
    monkeypatch.setitem(allocator.SCENARIOS, "claim-race", dataclasses.replace(scenario, summary="Reworded."))
    assert docgen.stale_pages(root) == ["docs/scenarios.md"]


def test_a_new_bug_variant_makes_scenarios_md_stale(tmp_path, monkeypatch):
    from framemc.design import Bug, design_named
    root = _copy_docs(tmp_path)
    new = Bug("planted-for-the-test", "It does it wrong.", "this test", "Do it right.", "framemc.impl.frame")
    monkeypatch.setitem(design_named("metaslot").bugs, new.name, new)
    assert docgen.stale_pages(root) == ["docs/scenarios.md"]
    assert docgen.stale_pages(root, write=True) == ["docs/scenarios.md"]
    text = (root / "docs/scenarios.md").read_text(encoding="utf-8")
    assert "| metaslot | `planted-for-the-test` | It does it wrong. |" in text


def test_a_changed_twin_description_makes_both_scenario_pages_stale(tmp_path, monkeypatch):
    from framemc.design import design_named
    root = _copy_docs(tmp_path)
    bugs = design_named("metaslot").bugs
    for name in ("non-cas-claim", "relaxed-publish"):
        monkeypatch.setitem(bugs, name, dataclasses.replace(bugs[name], description="Reworded."))
    assert docgen.stale_pages(root) == ["docs/scenarios.md", "docs/explorer.md"]


def test_the_check_command_exits_1_on_a_stale_page_and_0_after_rewriting(tmp_path, capsys):
    root = _copy_docs(tmp_path)
    page = root / "docs/scenarios.md"
    page.write_text(page.read_text(encoding="utf-8").replace("| `claim-race` |", "| `claim-rice` |"),
                    encoding="utf-8")
    assert docgen.main(["--check", "--root", str(root)]) == 1
    assert "docs/scenarios.md: stale generated region(s)" in capsys.readouterr().out
    assert docgen.main(["--root", str(root)]) == 0
    assert docgen.main(["--check", "--root", str(root)]) == 0
    assert (root / "docs/scenarios.md").read_text(encoding="utf-8") == (ROOT / "docs/scenarios.md").read_text(
        encoding="utf-8")


def test_a_drifted_region_is_found_and_rewritten(tmp_path):
    page = tmp_path / "docs" / "model.md"
    page.parent.mkdir()
    page.write_text("x\n<!-- generated: invariants -->\n| stale |\n<!-- end generated -->\ny\n", encoding="utf-8")
    only = ("docs/model.md",)
    assert docgen.stale_pages(tmp_path, pages=only) == ["docs/model.md"]
    assert docgen.stale_pages(tmp_path, write=True, pages=only) == ["docs/model.md"]
    assert docgen.stale_pages(tmp_path, pages=only) == []
    assert "I1-no-metadata-in-payload" in page.read_text(encoding="utf-8")


def test_an_unknown_region_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown generated region 'nope'"):
        docgen.regenerate("<!-- generated: nope -->\n<!-- end generated -->", "page.md")
