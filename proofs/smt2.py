"""Export the z3 queries that decide each proof obligation as standalone SMT-LIB 2 files.

Design: the exporter does not rebuild any formula.  It poses each
obligation's queries through the prover itself (:func:`engine._decide`,
:func:`engine._guard_satisfiable`, :func:`engine._prove_init`) with a
:class:`engine.Work` that records every query and z3's answer, under the
obligation's calibrated resource limit, and writes the query that decided
each piece:

* a piece of ``op/INV`` (a whole order case, or one conjunct in it, :func:`engine._decide`):
  the hypothesis level at which z3 answered ``unsat`` (the weakest that
  proves it); on ``sat`` or ``unknown`` the strongest level, which is the
  one that refutes;
* ``init/INV``: the proof query (``unsat`` proves it);
* ``guard/OP``: each witness query the prover posed (``sat`` on any proves it).

Why not always the strongest level: it is a superset of every weaker
level's hypotheses, so its correct answer is the same, but z3 cannot
decide some of those queries within minutes (``buddy_free`` /
``I2-non-overlapping-ranges``), which the prover proves at a weaker level.

Each query is translated into a fresh z3 context before printing, so a
file depends on that query alone: the export is byte-identical from run to
run (given z3's deterministic resource counting, which also picks the
level).  ``DIR/manifest.json`` lists every file with its obligation, piece,
role, the answer the proof needs and z3's answer;
:mod:`framemc.proofs.crosscheck` solves the files with cvc5.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import z3

from framemc.errors import UsageError
from framemc.model.ops import resolve
from framemc.model.state import ModelConfig
from framemc.proofs import engine
from framemc.proofs.engine import DEFAULT_TIMEOUT_MS, FOCUSED, GUARD, LEVELS, Obligation, Verdict

__all__ = ["MANIFEST", "Export", "ExportedQuery", "check_export_dir", "export_smt2", "obligation_verdict", "query_text",
           "read_manifest"]

#: the manifest's file name inside the export folder
MANIFEST = "manifest.json"
#: bumped when the layout of the files or of the manifest changes
FORMAT = 1


@dataclass(frozen=True, slots=True)
class ExportedQuery:
    """One exported file: which obligation and piece it is, what a proof needs, what z3 answered."""

    #: path relative to the export folder, ``<obligation name>/<piece index>.smt2``
    file: str
    #: the obligation's name, e.g. ``claim/I3-generation``
    obligation: str
    #: the piece's index within the obligation (0-based, in proof order)
    piece: int
    #: what the piece is, e.g. ``conjunct 2/3, case 1/2`` or ``witness rich``
    label: str
    #: ``proof`` (every such file must be unsat) or ``witness`` (any one sat proves the guard)
    role: str
    #: the answer the obligation's proof needs: ``unsat`` for a proof piece, ``sat`` for a witness
    expected: str
    #: z3's answer when the prover posed this query: ``sat``, ``unsat`` or ``unknown``
    z3: str
    #: the hypothesis level of the query (FOCUSED weakest .. LEVELS-1), or None outside ``op/INV`` obligations
    level: int | None
    #: the SMT-LIB logic the file declares
    logic: str


@dataclass(frozen=True, slots=True)
class Export:
    """What :func:`export_smt2` wrote: the folder, the files in obligation order, and z3's verdict on each."""

    #: the export folder
    directory: Path
    #: every file written
    queries: tuple[ExportedQuery, ...]
    #: obligation name -> z3's verdict derived from the exported queries (PROVED / REFUTED / UNKNOWN)
    verdicts: dict[str, str]


class _RecordingWork(engine.Work):
    """The prover's budget, recording every query it poses and z3's answer to it."""

    def __init__(self, rlimit: int, timeout_ms: int) -> None:
        super().__init__(rlimit, timeout_ms, None)
        #: (assertions, answer) of every query posed, in order
        self.posed: list[tuple[list[z3.BoolRef], z3.CheckSatResult]] = []

    def solve(self, assertions: list[z3.BoolRef], cap: int | None = None) -> tuple[z3.CheckSatResult,
                                                                                   z3.ModelRef | None]:
        result, model = super().solve(assertions, cap)
        self.posed.append((list(assertions), result))
        return result, model

    def solve_under(self, hypotheses: list[z3.BoolRef], negated: list[z3.BoolRef], cap: int | None = None
                    ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        result, model = super().solve_under(hypotheses, negated, cap)
        self.posed.append((list(hypotheses) + list(negated), result))
        return result, model


def _answer(result: z3.CheckSatResult) -> str:
    return "sat" if result == z3.sat else "unsat" if result == z3.unsat else "unknown"


def _decided(cfg: ModelConfig, ob: Obligation, variant: str | None, work: _RecordingWork
             ) -> list[tuple[str, str, str, str, int | None, list[z3.BoolRef]]]:
    """The deciding queries of ``ob``: (label, role, expected, z3 answer, level, assertions), in proof order."""
    if ob.op != "init" and ob.invariant != GUARD:
        ctx = engine._context(cfg, ob.op, variant)
        inv = engine._invariant(ob.invariant)
        rows = []
        work.posed = []
        for label, case, negated, verdict, _ in engine._decide(cfg, ctx, inv, work):
            if verdict is Verdict.PROVED:
                # the last query posed answered unsat, at the level the prover records
                level = work.proved_at
                rows.append((label, "proof", "unsat", "unsat", level, work.posed[-1][0]))
            else:
                # a refutation is a model of the strongest level; an unknown is exported there too
                answer = "sat" if verdict is Verdict.REFUTED else "unknown"
                rows.append((label, "proof", "unsat", answer, LEVELS - 1,
                             ctx.hypotheses(LEVELS - 1, inv, case) + negated))
        return rows
    work.posed = []
    if ob.invariant == GUARD:
        engine._guard_satisfiable(cfg, resolve(ob.op, variant), work)
        labels = [label for label, _, _ in engine._witness_states(cfg)]
        return [(f"witness {labels[i] if i < len(labels) else i}", "witness", "sat", _answer(result), None,
                 assertions) for i, (assertions, result) in enumerate(work.posed)]
    engine._prove_init(cfg, engine._invariant(ob.invariant), work)
    label = "Init implies the invariant at an arbitrary frame"
    if not work.posed:
        return []
    assertions, result = work.posed[-1]
    return [(label, "proof", "unsat", _answer(result), None, assertions)]


def _logic(assertions: list[z3.ExprRef]) -> str:
    """The exact SMT-LIB logic of ``assertions``: QF_BV, QF_UFBV, QF_ABV or QF_AUFBV (else ALL)."""
    seen: set[int] = set()
    todo = list(assertions)
    uf = arrays = False
    other = False
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
        elif sort not in (z3.Z3_BV_SORT, z3.Z3_BOOL_SORT):
            other = True
        if z3.is_app(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED and t.num_args() > 0:
            uf = True
        todo.extend(t.children())
    if other:
        return "ALL"
    return "QF_" + ("A" if arrays else "") + ("UF" if uf else "") + "BV"


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


def _export_group(names: list[str], variant: str | None, cfg: ModelConfig, rlimit_scale: float, timeout_ms: int,
                  directory: str) -> list[ExportedQuery]:
    """Write the deciding queries of the named obligations into ``directory`` (in a worker, or here)."""
    by_name = {ob.name: ob for ob in engine.obligations(variant=variant)}
    written = []
    for name in names:
        ob = by_name[name]
        budget = engine._Limits(timeout_ms, float(rlimit_scale), None).grant(engine.rlimit_for(name, variant, cfg))
        work = _RecordingWork(budget, timeout_ms)
        for index, (label, role, expected, answer, level, assertions) in enumerate(_decided(cfg, ob, variant, work)):
            rel = f"{name}/{index:03d}.smt2"
            level_text = f", hypothesis level {level} of {FOCUSED}..{LEVELS - 1}" if level is not None else ""
            need = ("a proof piece: unsat proves it, sat refutes the obligation" if role == "proof"
                    else "a guard witness: sat on any witness proves the guard")
            header = [
                "framemc proof query (framemc.proofs.smt2)",
                f"obligation: {name} (variant: {variant or 'none'}, max_order {cfg.max_order}, any CPU count)",
                f"piece {index}: {label}{level_text}",
                f"expected: {expected} ({need})",
                f"z3: {answer} (when the prover posed this query, z3 {z3.get_version_string()})",
                "",
            ]
            text, logic = query_text(assertions, header)
            target = Path(directory) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(ExportedQuery(rel, name, index, label, role, expected, answer, level, logic))
    return written


def obligation_verdict(queries: Iterable[ExportedQuery], answers: dict[str, str] | None = None) -> str:
    """The verdict the exported queries of one obligation give: PROVED, REFUTED or UNKNOWN.

    ``answers`` maps a file to a solver's answer (default: z3's, from the
    export).  Proof pieces: PROVED when every one is unsat, REFUTED when one
    is sat; witnesses: PROVED when one is sat, REFUTED when all are unsat.
    Anything else is UNKNOWN.
    """
    queries = list(queries)
    got = [(q.role, answers[q.file] if answers is not None else q.z3) for q in queries]
    if not got:
        return Verdict.UNKNOWN.value
    if all(role == "witness" for role, _ in got):
        if any(a == "sat" for _, a in got):
            return Verdict.PROVED.value
        return Verdict.REFUTED.value if all(a == "unsat" for _, a in got) else Verdict.UNKNOWN.value
    if any(a == "sat" for _, a in got):
        return Verdict.REFUTED.value
    return Verdict.PROVED.value if all(a == "unsat" for _, a in got) else Verdict.UNKNOWN.value


def export_smt2(directory: str | Path, selection: Iterable[str] | None = None, *, variant: str | None = None,
                cfg: ModelConfig | None = None, rlimit_scale: float = 1.0, timeout_ms: int = DEFAULT_TIMEOUT_MS,
                jobs: int = 1) -> Export:
    """Write the deciding query of every piece of the selected obligations (all by default) into ``directory``.

    ``selection`` and ``variant`` are those of :func:`engine.run_obligations`;
    each obligation runs under its calibrated resource limit times
    ``rlimit_scale``.  ``directory`` must be missing, empty, or an earlier
    export (whose files are replaced); a bad folder is a UsageError before
    anything is solved or written.  With ``jobs > 1`` the operations are
    shared out among worker processes; the files are the same either way.
    """
    cfg = cfg or ModelConfig()
    if jobs < 1:
        raise UsageError(f"jobs must be at least 1, got {jobs}")
    path = check_export_dir(directory)
    chosen = engine.select(selection, variant=variant)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{path}: cannot create the folder: {exc.strerror}") from None
    _clear_earlier_export(path)
    names = [ob.name for ob in chosen]
    if jobs == 1:
        written = _export_group(names, variant, cfg, rlimit_scale, timeout_ms, str(path))
    else:
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_export_group, task, variant, cfg, rlimit_scale, timeout_ms, str(path))
                       for task in engine._tasks(chosen, variant, jobs)]
            by_name: dict[str, list[ExportedQuery]] = {}
            for fut in futures:
                for q in fut.result():
                    by_name.setdefault(q.obligation, []).append(q)
        written = [q for name in names for q in by_name.get(name, [])]
    verdicts = {name: obligation_verdict(q for q in written if q.obligation == name) for name in names}
    manifest = {
        "format": FORMAT,
        "generator": "framemc.proofs.smt2",
        "z3_version": z3.get_version_string(),
        "variant": variant,
        "model": {"max_order": cfg.max_order, "ncpus": cfg.ncpus},
        "rlimit_scale": rlimit_scale,
        "obligations": [{"name": name, "z3": verdicts[name],
                         "files": [q.file for q in written if q.obligation == name]} for name in names],
        "files": [asdict(q) for q in written],
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return Export(path, tuple(written), verdicts)


def read_manifest(directory: str | Path) -> tuple[dict, list[ExportedQuery]]:
    """The manifest of an export folder and its files; UsageError when there is none."""
    path = Path(directory) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data, [ExportedQuery(**entry) for entry in data["files"]]
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (export the queries first: framemc prove --emit-smt2 DIR)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path}: not a framemc export manifest ({exc})") from None

