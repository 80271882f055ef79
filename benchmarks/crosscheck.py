"""Cross-check benchmark: ``python benchmarks/crosscheck.py [--jobs N] [--dir DIR] [--design NAME] [NAMES...]``.

Exports the deciding z3 queries of every piece of the selected obligations
of the selected designs (all by default) with :func:`framemc.proofs.smt2.export_smt2`, solves every
file with cvc5 under its deterministic resource limit, and prints a table:
obligations, pieces, z3's and cvc5's answer counts, agreements,
disagreements, undecided files, and cvc5's median and total time, per design.  Exits 0
only when cvc5 decided every file and agreed with z3 on each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from framemc.model import ModelConfig
from framemc.proofs.crosscheck import CVC5_RLIMIT, crosscheck, format_report
from framemc.proofs.smt2 import export_smt2


def main(argv: list[str] | None = None) -> int:
    """Export, cross-check, print the table; the cross-check's exit code (0 / 1 / 3)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="obligations, operations or invariants (all by default)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the export and for cvc5")
    parser.add_argument("--design", action="append", metavar="NAME", help="only this design (repeatable)")
    parser.add_argument("--dir", help="export here (kept) instead of a temporary folder")
    parser.add_argument("--variant", help="a broken model variant (its refuting pieces are sat)")
    parser.add_argument("--max-order", type=int, default=ModelConfig().max_order,
                        help="MAX_ORDER bound (of the metaslot design)")
    parser.add_argument("--rlimit", type=int, default=CVC5_RLIMIT, help="cvc5 resource units per query")
    parser.add_argument("--z3", action="store_true", help="also re-solve every file with z3, from the file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.dir) if args.dir else Path(scratch) / "smt2"
        started = time.perf_counter()
        export_smt2(folder, args.names or None, designs=args.design, variant=args.variant, max_order=args.max_order,
                    jobs=args.jobs)
        exported = time.perf_counter() - started
        started = time.perf_counter()
        check = crosscheck(folder, rlimit=args.rlimit, with_z3=args.z3, jobs=args.jobs)
        checked = time.perf_counter() - started
    print(f"export                {exported:.1f} s wall with {args.jobs} job(s) (z3 poses every query)")
    print(f"cross-check           {checked:.1f} s wall with {args.jobs} job(s)")
    print(f"max_order             {args.max_order}")
    sys.stdout.write(format_report(check))
    return check.exit_code


if __name__ == "__main__":
    sys.exit(main())
