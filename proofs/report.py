"""The proof table and the command-line entry shared by every proof script.

Design: scripts differ only in which obligations they select; this module
runs them, prints one row per obligation (name, verdict, seconds) and the
counterexample diffs of refuted ones, and turns the verdicts into the exit
code: 0 only when everything is PROVED.
"""

from __future__ import annotations

import argparse
import sys
from typing import Iterable, TextIO

from framemc.errors import UsageError
from framemc.proofs.engine import DEFAULT_TIMEOUT_MS, ObligationResult, Verdict, run_obligations


def format_table(results: list[ObligationResult]) -> str:
    """The results as a fixed-width table, then the details of every non-PROVED row."""
    width = max([len("obligation")] + [len(r.name) for r in results])
    lines = [f"{'obligation':<{width}}  {'verdict':<8}  {'seconds':>8}", "-" * (width + 20)]
    lines += [f"{r.name:<{width}}  {r.verdict.value:<8}  {r.seconds:>8.3f}" for r in results]
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    lines.append(f"{len(results)} obligations: " + ", ".join(f"{counts[v]} {v.value}" for v in Verdict)
                 + f"; {sum(r.seconds for r in results):.2f} s")
    for r in results:
        if r.verdict is Verdict.REFUTED:
            lines += ["", f"REFUTED {r.name}: counterexample (before -> after)", r.counterexample]
        elif r.verdict is Verdict.UNKNOWN:
            lines += ["", f"UNKNOWN {r.name}: z3 said unknown ({r.reason or 'no reason given'}); this is not a proof"]
        elif r.verdict is Verdict.VACUOUS:
            lines += ["", f"VACUOUS {r.name}: {r.reason}; this is not a proof"]
    return "\n".join(lines)


def exit_code(results: list[ObligationResult]) -> int:
    """0 when every obligation is PROVED, 1 otherwise (REFUTED, VACUOUS or UNKNOWN)."""
    return 0 if results and all(r.verdict is Verdict.PROVED for r in results) else 1


def main(selection: Iterable[str] | None = None, argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run the selected obligations as a script: parse options, print the table, return the exit code."""
    parser = argparse.ArgumentParser(description="Prove allocator-model obligations with z3.")
    parser.add_argument("--timeout-ms", type=int, default=DEFAULT_TIMEOUT_MS,
                        help="wall-clock safety net per z3 query (resource limits bound the work)")
    parser.add_argument("--rlimit-scale", type=float, default=1.0,
                        help="factor on every obligation's calibrated z3 resource limit")
    parser.add_argument("--variant", default=None, help="substitute a broken operation (non-vacuity)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("only", nargs="*", help="obligation, operation or invariant names")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    chosen = list(args.only) or (list(selection) if selection is not None else None)
    try:
        results = run_obligations(chosen, variant=args.variant, timeout_ms=args.timeout_ms, jobs=args.jobs,
                                  rlimit_scale=args.rlimit_scale)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(results), file=out)
    return exit_code(results)
