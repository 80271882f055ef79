"""Generated parts of the docs: tables read from the registries, so the docs cannot drift from the code.

Design: a docs page marks each generated region with
``<!-- generated: NAME -->`` ... ``<!-- end generated -->``; :data:`REGIONS`
maps each NAME to the function that renders it from a registry (the
invariants, the operations, the broken model variants).  ``python -m
framemc.docgen`` rewrites the regions in place (``--check`` only reports
stale ones, exit 1); a test runs the check, so a registry change without
the docs change fails CI.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable

from framemc.errors import UsageError

#: the docs pages with generated regions, relative to the repository root
PAGES = ("docs/model.md",)

_REGION = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def _cell(text: str) -> str:
    """``text`` made safe for one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def invariants_table() -> str:
    """One row per registered invariant: name, kind, statement, the seed sentence it comes from."""
    from framemc.model.invariants import INVARIANTS
    rows = ["| name | kind | statement | seed |", "|---|---|---|---|"]
    rows += [f"| {inv.name} | {inv.kind.value} | {_cell(inv.statement)} | {_cell(inv.citation)} |"
             for inv in INVARIANTS]
    return "\n".join(rows) + "\n"


def operations_table() -> str:
    """One row per registered model operation: name, parameters, summary."""
    from framemc.model.ops import OPERATIONS
    rows = ["| operation | parameters | what it models |", "|---|---|---|"]
    rows += [f"| `{spec.name}` | {', '.join(f'{n}: {k.value}' for n, k in spec.params) or '-'} | "
             f"{_cell(spec.summary)} |" for spec in OPERATIONS.values()]
    return "\n".join(rows) + "\n"


def variants_table() -> str:
    """One row per broken model operation: name, the operation it replaces, what is wrong, what refutes it."""
    from framemc.model.ops import VARIANTS
    rows = ["| variant | replaces | what is wrong | refuted by |", "|---|---|---|---|"]
    rows += [f"| `{v.name}` | `{v.replaces}` | {_cell(v.summary)} | {', '.join(v.breaks)} |"
             for v in sorted(VARIANTS.values(), key=lambda v: v.name)]
    return "\n".join(rows) + "\n"


#: generated region name -> renderer
REGIONS: dict[str, Callable[[], str]] = {
    "invariants": invariants_table,
    "operations": operations_table,
    "model-variants": variants_table,
}


def regenerate(text: str, where: str) -> str:
    """``text`` with every generated region re-rendered; UsageError for a region no renderer knows."""
    def render(match: re.Match) -> str:
        name = match.group("name")
        if name not in REGIONS:
            raise UsageError(f"{where}: unknown generated region {name!r}; known: {', '.join(REGIONS)}")
        return match.group(1) + REGIONS[name]() + match.group(4)
    return _REGION.sub(render, text)


def stale_pages(root: Path, *, write: bool = False) -> list[str]:
    """The pages under ``root`` whose generated regions differ from the registries (rewritten when ``write``)."""
    stale = []
    for page in PAGES:
        path = root / page
        text = path.read_text(encoding="utf-8")
        fresh = regenerate(text, page)
        if fresh != text:
            stale.append(page)
            if write:
                path.write_text(fresh, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    """``python -m framemc.docgen [--check]``: rewrite the generated regions (or only report stale ones)."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    root = Path(__file__).resolve().parents[2]
    stale = stale_pages(root, write=not check)
    for page in stale:
        print(f"{page}: {'stale generated region(s); run python -m framemc.docgen' if check else 'rewritten'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
