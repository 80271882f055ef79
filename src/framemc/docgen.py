"""Generated parts of the docs: tables read from the registries, so the docs cannot drift from the code.

Design: a docs page marks each generated region with
``<!-- generated: NAME -->`` ... ``<!-- end generated -->``; :data:`REGIONS`
maps each NAME to the function that renders it from a registry (the
invariants, the operations and macro-operations, the broken model variants,
the bundled and ordering scenarios, the impl's planted bug variants).  The
prose around the regions is written by hand.  ``python -m framemc.docgen``
rewrites the regions in place (``--check`` only reports stale ones, exit 1);
a test runs the check, so a registry change without the docs change fails CI.
Rows follow the registries' own stable order, or are sorted by name.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path
from typing import Callable

from framemc.errors import UsageError
from framemc.config import MEMORY_MODELS

#: the docs pages with generated regions, relative to the repository root
PAGES = ("docs/model.md", "docs/scenarios.md", "docs/explorer.md", "docs/seed-003-theseus.md")

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
    rows += [f"| `{v.name}` | `{v.replaces}` | {_cell(v.summary)} | {', '.join(i.name for i in v.breaks)} |"
             for v in sorted(VARIANTS.values(), key=lambda v: v.name)]
    return "\n".join(rows) + "\n"


def macros_table() -> str:
    """One row per macro-operation ``relates`` knows: name, keyword arguments, the steps it composes."""
    from framemc.model.macros import MACROS
    rows = ["| macro-operation | arguments | model steps |", "|---|---|---|"]
    for name, fn in MACROS.items():
        kwargs = [p for p in inspect.signature(fn).parameters.values() if p.kind is p.KEYWORD_ONLY]
        doc = inspect.getdoc(fn) or ""
        rows.append(f"| `{name}` | {', '.join(p.name for p in kwargs) or '-'} | {_cell(doc.splitlines()[0])} |")
    return "\n".join(rows) + "\n"


def _scenario_table(scenarios: dict) -> str:
    """One row per scenario: name, what it shows, its planted twin and what the twin does."""
    from framemc.design import BUILTIN, design_named
    bugs = {name: bug for d in BUILTIN for name, bug in design_named(d).bugs.items()}
    rows = ["| scenario | what it shows | planted twin |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {_cell(s.summary)} | `{s.twin}`: {_cell(bugs[s.twin].description)} |"
             for s in scenarios.values()]
    return "\n".join(rows) + "\n"


def allocator_scenarios_table() -> str:
    """The bundled allocator scenarios (``framemc.scenarios.allocator.SCENARIOS``)."""
    from framemc.scenarios.allocator import SCENARIOS
    return _scenario_table(SCENARIOS)


def ordering_scenarios_table() -> str:
    """The allocator-ordering scenarios (``framemc.scenarios.orderings.ORDERING_SCENARIOS``)."""
    from framemc.scenarios.orderings import ORDERING_SCENARIOS
    return _scenario_table(ORDERING_SCENARIOS)


def bug_variants_table() -> str:
    """One row per planted bug of every built-in design: what it changes, where it comes from, its fix, which
    scenario is its twin and which invariants its broken model operation breaks."""
    from framemc.design import BUILTIN, design_named
    rows = ["| design | bug | what it changes | comes from | fix | twin of | model refutes |",
            "|---|---|---|---|---|---|---|"]
    for name in BUILTIN:
        design = design_named(name)
        caught: dict[str, list[str]] = {}
        for model in MEMORY_MODELS:
            for s in design.scenarios(model).values():
                caught.setdefault(s.twin, []).append(f"`{s.name}`")
        rows += [f"| {name} | `{b.name}` | {_cell(b.description)} | {_cell(b.source)} | {_cell(b.fix)} | "
                 f"{', '.join(sorted(caught.get(b.name, []))) or '-'} | "
                 f"{', '.join(i.name for i in b.breaks) or '-'} |" for b in sorted(design.bugs.values(),
                                                                                  key=lambda b: b.name)]
    return "\n".join(rows) + "\n"


def _frame_model(design: str):  # noqa: ANN202 - a FrameModel
    from framemc.design import design_named
    return design_named(design).prover.model


def frame_model_invariants(design: str) -> str:
    """One row per invariant of a frame-model design: name, kind, statement, citation."""
    rows = ["| name | kind | statement | source |", "|---|---|---|---|"]
    rows += [f"| {i.name} | {i.kind.value} | {_cell(i.statement)} | {_cell(i.citation)} |"
             for i in _frame_model(design).invariants]
    return "\n".join(rows) + "\n"


def frame_model_operations(design: str) -> str:
    """One row per operation and macro of a frame-model design: name, parameters, summary."""
    model = _frame_model(design)
    rows = ["| operation | kind | parameters | what it models |", "|---|---|---|---|"]
    for kind, table in (("step", model.operations), ("macro", model.macros)):
        rows += [f"| `{o.name}` | {kind} | {', '.join(n for n, _ in o.params) or '-'} | {_cell(o.summary)} |"
                 for o in table.values()]
    return "\n".join(rows) + "\n"


def frame_model_variants(design: str) -> str:
    """One row per broken operation of a frame-model design: name, what it replaces, what refutes it."""
    model = _frame_model(design)
    rows = ["| variant | replaces | what is wrong | refuted by |", "|---|---|---|---|"]
    rows += [f"| `{v.name}` | `{v.replaces}` | {_cell(v.op.summary)} | {', '.join(i.name for i in v.breaks)} |"
             for v in sorted(model.variants.values(), key=lambda v: v.name)]
    return "\n".join(rows) + "\n"


#: generated region name -> renderer
REGIONS: dict[str, Callable[[], str]] = {
    "invariants": invariants_table,
    "operations": operations_table,
    "model-variants": variants_table,
    "model-macros": macros_table,
    "allocator-scenarios": allocator_scenarios_table,
    "ordering-scenarios": ordering_scenarios_table,
    "bug-variants": bug_variants_table,
    "theseus-invariants": lambda: frame_model_invariants("theseus"),
    "theseus-operations": lambda: frame_model_operations("theseus"),
    "theseus-variants": lambda: frame_model_variants("theseus"),
}


def regenerate(text: str, where: str) -> str:
    """``text`` with every generated region re-rendered; UsageError for a region no renderer knows."""
    def render(match: re.Match) -> str:
        name = match.group("name")
        if name not in REGIONS:
            raise UsageError(f"{where}: unknown generated region {name!r}; known: {', '.join(REGIONS)}")
        return match.group(1) + REGIONS[name]() + match.group(4)
    return _REGION.sub(render, text)


def stale_pages(root: Path, *, write: bool = False, pages: tuple[str, ...] = PAGES) -> list[str]:
    """The ``pages`` under ``root`` whose generated regions differ from the registries (rewritten when ``write``)."""
    stale = []
    for page in pages:
        path = root / page
        text = path.read_text(encoding="utf-8")
        fresh = regenerate(text, page)
        if fresh != text:
            stale.append(page)
            if write:
                path.write_text(fresh, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    """``python -m framemc.docgen [--check] [--root DIR]``: rewrite the generated regions (or only report stale ones)."""
    parser = argparse.ArgumentParser(prog="python -m framemc.docgen",
                                     description="Regenerate the docs' generated regions from the registries.")
    parser.add_argument("--check", action="store_true", help="only report stale pages (exit 1 if any)")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the repository root holding docs/ (default: this checkout)")
    args = parser.parse_args(argv)
    stale = stale_pages(args.root, write=not args.check)
    for page in stale:
        print(f"{page}: {'stale generated region(s); run python -m framemc.docgen' if args.check else 'rewritten'}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
