"""The generated regions of the docs match the registries: a registry change without a docs change fails."""

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


def test_a_drifted_region_is_found_and_rewritten(tmp_path):
    page = tmp_path / "docs" / "model.md"
    page.parent.mkdir()
    page.write_text("x\n<!-- generated: invariants -->\n| stale |\n<!-- end generated -->\ny\n", encoding="utf-8")
    assert docgen.stale_pages(tmp_path) == ["docs/model.md"]
    assert docgen.stale_pages(tmp_path, write=True) == ["docs/model.md"]
    assert docgen.stale_pages(tmp_path) == []
    assert "I1-no-metadata-in-payload" in page.read_text(encoding="utf-8")


def test_an_unknown_region_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown generated region 'nope'"):
        docgen.regenerate("<!-- generated: nope -->\n<!-- end generated -->", "page.md")
