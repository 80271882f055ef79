"""Print the conformance run's coverage table and its cost per step.

Usage: ``python benchmarks/conformance.py [--seed N ...] [--steps N]``.  It
runs the conformance check ``framemc check`` runs (its default seed and
steps unless given), prints the coverage table of each seed (public
operations applied, model operations matched, guards met, buddy corner
cases), then one line per seed with the wall and CPU seconds per step and
per run against the target (a run under 10 s), and the items no seed
covered.  It exits 1 when a run does not pass or a run misses the target.
"""

from __future__ import annotations

import argparse
import sys
import time

from framemc.config import CheckConfig
from framemc.conformance import run_conformance
from framemc.model import CheckVerdict

#: seconds one conformance run (one `framemc check` row) may take
RUN_TARGET = 10.0


def main(argv: list[str]) -> int:
    """Run conformance for each seed, print coverage tables and timings; return the exit status."""
    cfg = CheckConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, action="append", help=f"seed (default {cfg.conformance_seed})")
    parser.add_argument("--steps", type=int, default=cfg.conformance_steps)
    args = parser.parse_args(argv)
    seeds = args.seed or [cfg.conformance_seed]
    ok = True
    missed: set[str] | None = None
    lines = []
    for seed in seeds:
        wall, cpu = time.perf_counter(), time.process_time()
        report = run_conformance(seed=seed, steps=args.steps)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        steps = len(report.steps)
        print(f"seed {seed}: {report.verdict.value}, {steps} steps")
        print(report.coverage.render())
        uncovered = {f"{i.kind.value}: {i.name}" for i in report.coverage.uncovered}
        missed = uncovered if missed is None else missed & uncovered
        met = wall < RUN_TARGET
        ok = ok and met and report.verdict is CheckVerdict.PASS
        lines.append(f"seed {seed}: {1000 * wall / steps:.0f} ms/step wall ({1000 * cpu / steps:.0f} ms CPU), "
                     f"run {wall:.1f} s wall ({cpu:.1f} s CPU) < {RUN_TARGET:g} s: {'met' if met else 'MISSED'}")
    print("\n".join(lines))
    print(f"uncovered by every seed: {', '.join(sorted(missed or ())) or 'none'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
