"""Export the z3 queries that decide every proof obligation of every design as standalone SMT-LIB 2 files.

Design: the exporter does not rebuild any formula.  It asks each design's
prover (``Design.prover.pose``, the seam ``framemc prove`` runs through) to
pose the selected obligations as it proves them, recording every query and
z3's answer under the obligation's resource limit, and writes the queries
that decide each piece:

* ``metaslot`` (:func:`engine.pose`): per piece of ``op/INV`` the
  hypothesis level at which z3 answered ``unsat`` (on ``sat`` or ``unknown``
  the strongest level, the one that refutes); the proof query of
  ``init/INV``; each witness query of ``guard/OP``;
* a :class:`~framemc.design.frames.FrameModel` design such as ``theseus``
  (:func:`framemc.design.prover.pose`): the vacuity query and the claim of
  ``init/INV`` and ``op/INV``; the witness checks and witness queries of
  ``guard/OP``.

Each query is translated into a fresh z3 context before printing, so a
file depends on that query alone: the export is byte-identical from run to
run.  Files go to ``DIR/<design>/<obligation>/<piece>.smt2``;
``DIR/manifest.json`` lists every file with its design, obligation, piece,
role, the answer the obligation needs, the verdict any other answer gives,
and z3's answer; :mod:`framemc.proofs.crosscheck` solves the files with cvc5.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import z3

from framemc.errors import UsageError
from framemc.proofs.engine import DEFAULT_TIMEOUT_MS, FOCUSED, LEVELS, PosedQuery, Verdict

__all__ = ["MANIFEST", "Export", "ExportedQuery", "check_export_dir", "export_smt2", "obligation_verdict", "query_text",
           "read_manifest"]

#: the manifest's file name inside the export folder
MANIFEST = "manifest.json"
#: bumped when the layout of the files or of the manifest changes (2: a folder per design, ``fails_as``)
FORMAT = 2


@dataclass(frozen=True, slots=True)
class ExportedQuery:
    """One exported file: which design, obligation and piece it is, what a proof needs, what z3 answered."""

    #: path relative to the export folder, ``<design>/<obligation name>/<piece index>.smt2``
    file: str
    #: the design whose prover posed it, e.g. ``theseus``
    design: str
    #: the obligation's name, e.g. ``claim/I3-generation``
    obligation: str
    #: the piece's index within the obligation (0-based, in proof order)
    piece: int
    #: what the piece is, e.g. ``conjunct 2/3, order 1`` or ``witness rich``
    label: str
    #: ``proof``, ``vacuity``, ``witness-check`` (each must get ``expected``) or ``witness`` (one sat is enough)
    role: str
    #: the answer the obligation needs: ``unsat`` (proof, witness-check) or ``sat`` (vacuity, witness)
    expected: str
    #: the obligation's verdict when a solver decides the file the other way (for witnesses: all of them)
    fails_as: str
    #: z3's answer when the prover posed this query: ``sat``, ``unsat`` or ``unknown``
    z3: str
    #: the hypothesis level of the query (FOCUSED weakest .. LEVELS-1), or None where the prover has no levels
    level: int | None
    #: the SMT-LIB logic the file declares
    logic: str


@dataclass(frozen=True, slots=True)
class Export:
    """What :func:`export_smt2` wrote: the folder, the files in suite order, and z3's verdict per obligation."""

    #: the export folder
    directory: Path
    #: every file written
    queries: tuple[ExportedQuery, ...]
    #: (design, obligation) -> z3's verdict derived from the exported queries (PROVED / REFUTED / VACUOUS / UNKNOWN)
    verdicts: dict[tuple[str, str], str]
    #: designs selected whose prover cannot pose its queries (no ``pose`` method): nothing of theirs is written
    skipped: tuple[str, ...] = field(default=())


#: integer operations outside linear arithmetic (a product of two terms is checked apart)
_NONLINEAR = frozenset({z3.Z3_OP_DIV, z3.Z3_OP_IDIV, z3.Z3_OP_MOD, z3.Z3_OP_REM, z3.Z3_OP_POWER})


def _logic(assertions: list[z3.ExprRef]) -> str:
    """The SMT-LIB logic of ``assertions``: QF_ with A (arrays), UF (functions) and BV, LIA or NIA; else ALL.

    ALL where a quantifier, another sort, or bit-vectors beside integers
    (no standard logic has both) appear.
    """
    seen: set[int] = set()
    todo = list(assertions)
    uf = arrays = bv = ints = nonlinear = other = False
    while todo:
        t = todo.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_quantifier(t):
            other = True
            continue
        sort = t.sort_kind()
        if sort == z3.Z3_ARRAY_SORT:
            arrays = True
        elif sort == z3.Z3_BV_SORT:
            bv = True
        elif sort == z3.Z3_INT_SORT:
            ints = True
        elif sort != z3.Z3_BOOL_SORT:
            other = True
        if z3.is_app(t):
            kind = t.decl().kind()
            if kind == z3.Z3_OP_UNINTERPRETED and t.num_args() > 0:
                uf = True
            elif kind in _NONLINEAR or (kind == z3.Z3_OP_MUL and sum(not z3.is_int_value(c) for c in t.children()) > 1):
                nonlinear = True
        todo.extend(t.children())
    if other or (bv and ints):
        return "ALL"
    theory = "BV" if bv else "NIA" if nonlinear else "LIA" if ints else ""
    if not theory:
        return "QF_UF" if not arrays else "ALL"
    return "QF_" + ("A" if arrays else "") + ("UF" if uf else "") + theory


def query_text(assertions: list[z3.BoolRef], header: list[str]) -> tuple[str, str]:
    """A standalone SMT-LIB 2 benchmark of ``assertions`` with ``header`` comment lines: (text, logic).

    The assertions are translated into a fresh z3 context first, so the
    text (z3 names its ``let`` bindings after term ids) depends on them alone.
    """
    context = z3.Context()
    solver = z3.Solver(ctx=context)
    fresh = [a.translate(context) for a in assertions]
    solver.add(*fresh)
    body = solver.to_smt2()
    lines = [line for line in body.splitlines()
             if not line.startswith("; benchmark generated") and not line.startswith("(set-info :status")]
    logic = _logic(fresh)
    out = [f"; {line}" if line else ";" for line in header]
    out += ["(set-info :smt-lib-version 2.6)", f"(set-logic {logic})"]
    out += lines
    if not out[-1].startswith("(check-sat"):
        out.append("(check-sat)")
    out.append("(exit)")
    return "\n".join(out) + "\n", logic


def check_export_dir(directory: str | Path) -> Path:
    """The export folder, if it can be used: missing, empty, or an earlier export; else UsageError.

    Nothing is written here: call it before any work, so a bad folder costs nothing.
    """
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path}: not a directory (--emit-smt2 needs a folder to write the queries into)")
    if path.is_dir() and any(path.iterdir()) and not (path / MANIFEST).is_file():
        raise UsageError(f"{path}: the folder is not empty and holds no earlier export ({MANIFEST}); "
                         f"give a new or empty folder")
    parent = path.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{path}: cannot create it: {parent} is not a directory")
    return path


def _clear_earlier_export(path: Path) -> None:
    """Remove the files an earlier export listed (and the folders it left empty), nothing else."""
    manifest = path / MANIFEST
    if not manifest.is_file():
        return
    try:
        listed = [entry["file"] for entry in json.loads(manifest.read_text(encoding="utf-8"))["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{manifest}: not a framemc export manifest ({exc}); give a new or empty folder") from None
    root = path.resolve()
    for name in listed:
        target = (path / name).resolve()
        if root in target.parents and target.suffix == ".smt2" and target.is_file():
            target.unlink()
            for folder in target.parents:
                if folder == root or any(folder.iterdir()):
                    break
                folder.rmdir()
    manifest.unlink()


def _write(directory: Path, design: str, name: str, variant: str | None, max_order: int, index: int,
           posed: PosedQuery) -> ExportedQuery:
    """Write one posed query as ``<design>/<name>/<index>.smt2`` under ``directory``: its manifest entry."""
    piece = posed.piece
    rel = f"{design}/{name}/{index:03d}.smt2"
    level_text = f", hypothesis level {piece.level} of {FOCUSED}..{LEVELS - 1}" if piece.level is not None else ""
    need = (f"a {piece.role} piece: {piece.expected} is needed, the other answer makes the obligation "
            f"{piece.fails_as.value}" if piece.role != "witness" else
            f"a guard witness: sat on any witness proves the guard, unsat on all makes it {piece.fails_as.value}")
    header = [
        "framemc proof query (framemc.proofs.smt2)",
        f"design: {design}, obligation: {name} (variant: {variant or 'none'}; max_order {max_order} where the "
        f"design has buddy orders; any frame and CPU count)",
        f"piece {index}: {piece.label}{level_text}",
        f"expected: {piece.expected} ({need})",
        f"z3: {posed.z3} (when the prover posed this query, z3 {z3.get_version_string()})",
        "",
    ]
    text, logic = query_text(list(posed.assertions), header)
    target = directory / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return ExportedQuery(rel, design, name, index, piece.label, piece.role, piece.expected, piece.fails_as.value,
                         posed.z3, piece.level, logic)


def _export_group(design: str, names: list[str], variant: str | None, max_order: int, rlimit_scale: float,
                  timeout_ms: int, directory: str) -> list[ExportedQuery]:
    """Pose the named obligations of ``design`` through its prover and write their queries (in a worker, or
    here)."""
    from framemc.design import design_named
    posed = design_named(design).prover.pose(names, variant=variant, timeout_ms=timeout_ms,
                                             rlimit_scale=rlimit_scale, max_order=max_order)
    return [_write(Path(directory), design, name, variant, max_order, index, q)
            for name, queries in posed for index, q in enumerate(queries)]


def obligation_verdict(queries: Iterable[ExportedQuery], answers: dict[str, str] | None = None) -> str:
    """The verdict the exported queries of one obligation give: PROVED, REFUTED, VACUOUS or UNKNOWN.

    ``answers`` maps a file to a solver's answer (default: z3's, from the
    export).  Every file but a witness must get its expected answer: the
    first decided the other way gives its ``fails_as``; of the witnesses
    one sat is enough, and all unsat gives theirs.  Anything undecided
    otherwise, or no file at all, is UNKNOWN.
    """
    got = [(q, answers[q.file] if answers is not None else q.z3) for q in queries]
    undecided = not got
    for q, answer in got:
        if q.role != "witness" and answer in ("sat", "unsat") and answer != q.expected:
            return q.fails_as
        undecided |= q.role != "witness" and answer != q.expected
    witnesses = [(q, answer) for q, answer in got if q.role == "witness"]
    if witnesses and not any(answer == q.expected for q, answer in witnesses):
        if all(answer in ("sat", "unsat") for _, answer in witnesses) and not undecided:
            return witnesses[0][0].fails_as
        undecided = True
    return Verdict.UNKNOWN.value if undecided else Verdict.PROVED.value


def export_smt2(directory: str | Path, selection: Iterable[str] | None = None, *,
                designs: Iterable[str] | None = None, variant: str | None = None, max_order: int | None = None,
                rlimit_scale: float = 1.0, timeout_ms: int = DEFAULT_TIMEOUT_MS, jobs: int = 1) -> Export:
    """Write the deciding queries of the selected obligations of the selected designs into ``directory``.

    ``designs`` names the designs (every registered one by default);
    ``selection`` picks obligations by name, operation or invariant in
    every design that has them, and ``variant`` is a broken model operation
    (the design that owns it is then the only one exported), as for
    ``framemc prove``.  Each obligation runs under its resource limit times
    ``rlimit_scale``; ``max_order`` is the buddy bound (default 3) of the
    designs that have one.  ``directory`` must be missing, empty, or an
    earlier export (whose files are replaced); a bad folder or selection is
    a UsageError before anything is solved or written.  With ``jobs > 1``
    the operations are shared out among worker processes; the files are
    the same either way.
    """
    from framemc.config import CheckConfig
    from framemc.suite import chosen_designs, proof_groups, proof_tasks
    if jobs < 1:
        raise UsageError(f"jobs must be at least 1, got {jobs}")
    path = check_export_dir(directory)
    config = CheckConfig().merged(design=None if designs is None else tuple(designs),
                                  obligations=None if selection is None else tuple(selection),
                                  bugs=(variant,) if variant else (), include=("proofs",), max_order=max_order)
    chosen = chosen_designs(config)
    skipped = tuple(d.name for d in chosen if not callable(getattr(d.prover, "pose", None)))
    if variant is not None and not any(variant in d.prover.variants for d in chosen):
        raise UsageError(f"{variant!r} is a planted bug of the impl with no broken model operation: its "
                         f"proofs are those of the correct model")
    groups, variants = proof_groups(config, [d for d in chosen if d.name not in skipped])
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{path}: cannot create the folder: {exc.strerror}") from None
    _clear_earlier_export(path)
    tasks = proof_tasks(groups, chosen)
    bound = config.max_order
    if jobs == 1:
        written = [q for design, names in tasks
                   for q in _export_group(design, names, variants[design], bound, rlimit_scale, timeout_ms, str(path))]
    else:
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_export_group, design, names, variants[design], bound, rlimit_scale, timeout_ms,
                                   str(path)) for design, names in tasks]
            written = [q for fut in futures for q in fut.result()]
    # suite order: the designs, their operations, their obligations, each obligation's pieces
    keys = [(design, name) for (design, _), names in groups.items() for name in names]
    by_key: dict[tuple[str, str], list[ExportedQuery]] = {key: [] for key in keys}
    for q in written:
        by_key[(q.design, q.obligation)].append(q)
    written = [q for key in keys for q in by_key[key]]
    verdicts = {key: obligation_verdict(by_key[key]) for key in keys}
    exported = list(dict.fromkeys(design for design, _ in keys))
    manifest = {
        "format": FORMAT,
        "generator": "framemc.proofs.smt2",
        "z3_version": z3.get_version_string(),
        "max_order": bound,
        "rlimit_scale": rlimit_scale,
        "designs": [{"name": design, "variant": variants[design],
                     "obligations": sum(d == design for d, _ in keys),
                     "files": sum(q.design == design for q in written)} for design in exported],
        "skipped": list(skipped),
        "obligations": [{"design": design, "name": name, "z3": verdicts[(design, name)],
                         "files": [q.file for q in by_key[(design, name)]]} for design, name in keys],
        "files": [asdict(q) for q in written],
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return Export(path, tuple(written), verdicts, skipped)


def read_manifest(directory: str | Path) -> tuple[dict, list[ExportedQuery]]:
    """The manifest of an export folder and its files; UsageError when there is none."""
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise UsageError(f"{path}: written in export format {data.get('format')!r}, this framemc reads "
                             f"format {FORMAT}: export again with framemc prove --emit-smt2 DIR")
        return data, [ExportedQuery(**entry) for entry in data["files"]]
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (export the queries first: framemc prove --emit-smt2 DIR)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not a framemc export manifest ({exc})") from None

