"""Print the planted-bug catalogue with timings: every variant caught, by what, and how fast.

Usage: ``python benchmarks/mutants.py [VARIANT ...]``.  It runs the same
catalogue as ``framemc mutants`` (the reference through every scenario, then
each variant through the scenarios, its model-variant proofs and
conformance) and prints one row per variant with the time to its first
counterexample and the events of its shortest trace, then the median and
slowest first-counterexample times against the targets (median under 1 s,
slowest under 10 s).  It exits 1 when a variant escapes, the reference
raises a false alarm, or a target is missed.
"""

from __future__ import annotations

import statistics
import sys
import time

from framemc.mutants import catalogue_table, run_catalogue

#: the figures' targets, in seconds to the first counterexample
MEDIAN_TARGET = 1.0
SLOWEST_TARGET = 10.0


def main(argv: list[str]) -> int:
    """Run the catalogue, print its table and the targets; return the exit status."""
    started = time.perf_counter()
    catalogue = run_catalogue(argv or None)
    wall = time.perf_counter() - started
    for line in catalogue_table(catalogue):
        print(line)
    times = [m.first_seconds for m in catalogue.mutants if m.first_seconds is not None]
    ok = int(catalogue.exit_code) == 0
    if times:
        median, slowest = statistics.median(times), max(times)
        ok = ok and median < MEDIAN_TARGET and slowest < SLOWEST_TARGET
        print(f"targets: median {median:.2f} s < {MEDIAN_TARGET:g} s, slowest {slowest:.2f} s < {SLOWEST_TARGET:g} s: "
              f"{'met' if median < MEDIAN_TARGET and slowest < SLOWEST_TARGET else 'MISSED'}")
    print(f"whole catalogue: {wall:.1f} s wall")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
