"""Cross-check the exported proof queries with a second solver, cvc5 (``pip install 'framemc[smt]'``).

Design: every file of an export (:mod:`framemc.proofs.smt2`), of every
design in it, is parsed by
cvc5's own SMT-LIB parser and solved under a deterministic per-query
resource limit (cvc5's ``rlimit-per``, in cvc5's units of work), with a
large wall-clock limit (``tlimit-per``) only as a safety net, and with
model-based quantifier instantiation (``mbqi``) for the files that quantify.  cvc5's
answer is compared with z3's answer recorded in the manifest (and, if
asked, with z3 solving the same file again).  An ``unknown`` from either
solver is counted as such, never as an agreement; every disagreement is
listed.  Each obligation's verdict follows from its files' answers alike
for both solvers (:func:`obligation_verdict`), and the report compares them
design by design.

``python -m framemc.proofs.crosscheck DIR`` prints the table and exits 0
when cvc5 decided every file and agreed with z3 on each, 1 on any
disagreement, 3 when something was undecided.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from framemc.errors import UsageError
from framemc.proofs.smt2 import ExportedQuery, obligation_verdict, read_manifest

__all__ = ["CVC5_RLIMIT", "CVC5_TLIMIT_MS", "CrossCheck", "Row", "crosscheck", "cvc5_available", "solve_cvc5",
           "solve_z3", "format_report"]

#: cvc5 resource units one query may spend (``rlimit-per``): deterministic; about 100 times the most any
#: exported query needed (99,145 units of a metaslot file, 85,214 of a theseus one; cvc5 1.4.2, max_order 3)
CVC5_RLIMIT = 10_000_000
#: wall-clock safety net per cvc5 query, in milliseconds (hitting it is unknown, never agreement)
CVC5_TLIMIT_MS = 600_000


def cvc5_available() -> bool:
    """Is the cvc5 Python package installed (the ``smt`` extra)?"""
    try:
        import cvc5  # noqa: F401
    except ImportError:
        return False
    return True


def solve_cvc5(path: str | Path, *, rlimit: int = CVC5_RLIMIT, tlimit_ms: int = CVC5_TLIMIT_MS
               ) -> tuple[str, float, int]:
    """cvc5's answer on the SMT-LIB file ``path`` (its last check-sat): (answer, seconds, resource units).

    The answer is ``sat``, ``unsat``, ``unknown`` (a hit limit included) or ``error: ...``.
    """
    try:
        import cvc5
    except ImportError:
        raise UsageError("cvc5 is not installed: pip install 'framemc[smt]'") from None
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    if rlimit:
        solver.setOption("rlimit-per", str(rlimit))
    if tlimit_ms:
        solver.setOption("tlimit-per", str(tlimit_ms))
    # model-based quantifier instantiation: without it cvc5 answers a satisfiable quantified file (the
    # theseus Init condition, "every frame is unknown memory") unknown; quantifier-free files are unaffected
    solver.setOption("mbqi", "true")
    symbols = cvc5.SymbolManager(tm)
    parser = cvc5.InputParser(solver, symbols)
    parser.setFileInput(cvc5.InputLanguage.SMT_LIB_2_6, str(path))
    answer = "error: no (check-sat) in the file"
    started = time.perf_counter()
    try:
        while True:
            command = parser.nextCommand()
            if command.isNull():
                break
            out = command.invoke(solver, symbols)
            if command.getCommandName() == "check-sat":
                answer = out.strip()
    except RuntimeError as exc:  # a parse or solver error
        answer = f"error: {' '.join(str(exc).split())}"
    seconds = time.perf_counter() - started
    units = 0
    for key, value in solver.getStatistics():
        if key == "resource::resourceUnitsUsed":
            units = int(value["value"])
    if answer not in ("sat", "unsat", "unknown") and not answer.startswith("error"):
        answer = f"error: unexpected output {answer!r}"
    return answer, seconds, units


def solve_z3(path: str | Path, *, rlimit: int = 0, timeout_ms: int = CVC5_TLIMIT_MS) -> tuple[str, float]:
    """z3's answer on the SMT-LIB file ``path``, parsed from the file (a fresh context): (answer, seconds)."""
    import z3
    context = z3.Context()
    solver = z3.Solver(ctx=context)
    if rlimit:
        solver.set("rlimit", rlimit)
    solver.set("timeout", timeout_ms)
    solver.add(z3.parse_smt2_file(str(path), ctx=context))
    started = time.perf_counter()
    result = solver.check()
    answer = "sat" if result == z3.sat else "unsat" if result == z3.unsat else "unknown"
    return answer, time.perf_counter() - started


@dataclass(frozen=True, slots=True)
class Row:
    """One file's answers: z3's (from the export and, if asked, re-solved from the file) and cvc5's."""

    #: the exported query
    query: ExportedQuery
    #: cvc5's answer: sat / unsat / unknown / error: ...
    cvc5: str
    #: cvc5's wall-clock seconds
    cvc5_seconds: float
    #: cvc5's resource units
    cvc5_units: int
    #: z3's answer solving the file itself, or None when not asked
    z3_file: str | None = None

    @property
    def status(self) -> str:
        """``agree`` (both decided, the same), ``disagree`` (both decided, different), or ``unknown``."""
        decided = ("sat", "unsat")
        if self.query.z3 in decided and self.cvc5 in decided:
            return "agree" if self.query.z3 == self.cvc5 else "disagree"
        return "unknown"


@dataclass(frozen=True)
class CrossCheck:
    """The rows of a cross-check, in manifest order, and per-obligation verdicts of both solvers."""

    #: the export folder
    directory: Path
    #: one row per file
    rows: tuple[Row, ...]
    #: (design, obligation) -> (z3's verdict, cvc5's verdict), from the answers on its files
    verdicts: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @property
    def designs(self) -> list[str]:
        """The designs the rows come from, in manifest order."""
        return list(dict.fromkeys(r.query.design for r in self.rows))

    def count(self, status: str, design: str | None = None) -> int:
        """How many rows (of ``design``, or all) have ``status`` (agree / disagree / unknown)."""
        return sum(r.status == status for r in self.rows if design is None or r.query.design == design)

    @property
    def disagreements(self) -> list[Row]:
        """Every file on which z3 and cvc5 decided differently (or z3 from the file differs from the export)."""
        return [r for r in self.rows if r.status == "disagree"
                or (r.z3_file in ("sat", "unsat") and r.z3_file != r.query.z3 and r.query.z3 in ("sat", "unsat"))]

    @property
    def exit_code(self) -> int:
        """0 every file decided alike, 1 any disagreement, 3 something undecided."""
        if self.disagreements:
            return 1
        return 3 if self.count("unknown") else 0


def _solve_rows(directory: str, queries: list[ExportedQuery], rlimit: int, tlimit_ms: int,
                with_z3: bool) -> list[Row]:
    rows = []
    for q in queries:
        path = Path(directory) / q.file
        answer, seconds, units = solve_cvc5(path, rlimit=rlimit, tlimit_ms=tlimit_ms)
        z3_file = solve_z3(path, timeout_ms=tlimit_ms)[0] if with_z3 else None
        rows.append(Row(q, answer, seconds, units, z3_file))
    return rows


def crosscheck(directory: str | Path, *, rlimit: int = CVC5_RLIMIT, tlimit_ms: int = CVC5_TLIMIT_MS,
               with_z3: bool = False, jobs: int = 1, designs: Iterable[str] | None = None) -> CrossCheck:
    """Solve every file of the export in ``directory`` (of ``designs`` only, if given) with cvc5 and compare
    with z3's recorded answers.

    ``with_z3`` also re-solves each file with z3 (parsed from the file, no
    resource limit, ``tlimit_ms`` as its timeout).  With ``jobs > 1`` the
    files are shared out among worker processes.
    """
    if not cvc5_available():
        raise UsageError("cvc5 is not installed: pip install 'framemc[smt]'")
    _, queries = read_manifest(directory)
    if designs is not None:
        wanted = list(designs)
        present = list(dict.fromkeys(q.design for q in queries))
        missing = [d for d in wanted if d not in present]
        if missing:
            raise UsageError(f"the export in {directory} holds no queries of design {missing[0]!r}; it holds "
                             f"{', '.join(present) or 'none'}")
        queries = [q for q in queries if q.design in wanted]
    if jobs <= 1:
        rows = _solve_rows(str(directory), queries, rlimit, tlimit_ms, with_z3)
    else:
        chunks = [queries[i::jobs] for i in range(jobs)]
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_solve_rows, str(directory), chunk, rlimit, tlimit_ms, with_z3)
                       for chunk in chunks]
            by_file = {r.query.file: r for fut in futures for r in fut.result()}
        rows = [by_file[q.file] for q in queries]
    by_key: dict[tuple[str, str], list[ExportedQuery]] = {}
    for q in queries:
        by_key.setdefault((q.design, q.obligation), []).append(q)
    cvc5_answers = {r.query.file: r.cvc5 for r in rows}
    verdicts = {key: (obligation_verdict(mine), obligation_verdict(mine, cvc5_answers)) for key, mine in by_key.items()}
    return CrossCheck(Path(directory), tuple(rows), verdicts)


def _tally(answers: list[str]) -> str:
    counts = {a: answers.count(a) for a in dict.fromkeys(sorted(answers))}
    return ", ".join(f"{n} {a}" for a, n in counts.items()) or "-"


def _summary(check: CrossCheck, design: str | None) -> list[str]:
    """The table lines of one design's rows (all rows when None)."""
    rows = [r for r in check.rows if design is None or r.query.design == design]
    verdicts = [v for (d, _), v in check.verdicts.items() if design is None or d == design]
    disagreements = [r for r in check.disagreements if design is None or r.query.design == design]
    times = [r.cvc5_seconds for r in rows]
    lines = [
        f"obligations          {len(verdicts)}",
        f"files (pieces)       {len(rows)}",
        f"z3 answers           {_tally([r.query.z3 for r in rows])}",
        f"cvc5 answers         {_tally([r.cvc5 for r in rows])}",
    ]
    if any(r.z3_file is not None for r in rows):
        lines.append(f"z3 from the files    {_tally([r.z3_file or '-' for r in rows])}")
    lines += [
        f"agree                {check.count('agree', design)}",
        f"disagree             {len(disagreements)}",
        f"undecided            {check.count('unknown', design)}",
        f"z3 verdicts          {_tally([z for z, _ in verdicts])}",
        f"cvc5 verdicts        {_tally([c for _, c in verdicts])}",
        f"verdicts differ      {sum(z != c for z, c in verdicts)}",
        f"cvc5 seconds         total {sum(times):.2f}, median {statistics.median(times) if times else 0:.3f}, "
        f"max {max(times, default=0):.2f}",
        f"cvc5 resource units  total {sum(r.cvc5_units for r in rows):,}, max "
        f"{max((r.cvc5_units for r in rows), default=0):,}",
    ]
    return lines


def format_report(check: CrossCheck) -> str:
    """The summary table of a cross-check (each design's, then the whole's when there are several), then every
    disagreement, undecided file and obligation whose verdicts differ."""
    designs = check.designs
    if len(designs) == 1:
        lines = [f"design               {designs[0]}"] + _summary(check, designs[0])
    else:
        lines = []
        for design in designs:
            lines += [f"design               {design}"] + _summary(check, design) + [""]
        lines += [f"all designs          {', '.join(designs) or '-'}"] + _summary(check, None)
    for r in check.disagreements:
        lines.append(f"DISAGREE  {r.query.file}: z3 {r.query.z3}"
                     + (f" (from the file: {r.z3_file})" if r.z3_file else "") + f", cvc5 {r.cvc5}")
    for r in check.rows:
        if r.status == "unknown":
            lines.append(f"UNDECIDED {r.query.file}: z3 {r.query.z3}, cvc5 {r.cvc5}")
    for (design, name), (z3_verdict, cvc5_verdict) in check.verdicts.items():
        if z3_verdict != cvc5_verdict:
            lines.append(f"VERDICT   {design} {name}: z3 {z3_verdict}, cvc5 {cvc5_verdict}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m framemc.proofs.crosscheck DIR``: print the report; exit 0 / 1 / 3 (2 on a usage error)."""
    parser = argparse.ArgumentParser(prog="python -m framemc.proofs.crosscheck", description=__doc__.splitlines()[0])
    parser.add_argument("directory", help="a folder written by `framemc prove --emit-smt2 DIR`")
    parser.add_argument("--rlimit", type=int, default=CVC5_RLIMIT, help="cvc5 resource units per query")
    parser.add_argument("--tlimit-ms", type=int, default=CVC5_TLIMIT_MS, help="wall-clock safety net per query")
    parser.add_argument("--z3", action="store_true", help="also re-solve every file with z3")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--design", action="append", metavar="NAME",
                        help="only this design's files (repeatable; all designs in the export by default)")
    args = parser.parse_args(argv)
    try:
        check = crosscheck(args.directory, rlimit=args.rlimit, tlimit_ms=args.tlimit_ms, with_z3=args.z3,
                           jobs=args.jobs, designs=args.design)
    except UsageError as exc:
        print(f"framemc: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(format_report(check))
    return check.exit_code


if __name__ == "__main__":
    sys.exit(main())
