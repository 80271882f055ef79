"""Print the bundled allocator scenarios table: exhaustive runs of the reference impl and the planted twins.

Usage: ``python benchmarks/scenarios.py``.  For each scenario it explores the
reference impl exhaustively (executions, time, z3 state checks, cache hit
rate) and its planted-bug twin twice: once with ``minimize=False`` for the time
to the first counterexample, and once with the default fewest-preemptions
minimisation for the trace the reviewer sees.  A reference run that is not
PASS, or a twin that is not caught, is printed as FAIL and makes the script
exit with status 1.
"""

from __future__ import annotations

import sys
import time

import framemc
from framemc.scenarios.allocator import SCENARIOS


def _timed(setup, **kwargs):
    start = time.perf_counter()
    result = framemc.explore(setup, **kwargs)
    return result, time.perf_counter() - start


def main() -> int:
    """Run every scenario and print one row each; return the exit status."""
    failed = False
    print(f"{'scenario':26} {'exec':>5} {'time s':>7} {'checks':>7} {'hit rate':>8} | {'twin':22} "
          f"{'first cx s':>10} {'min. s':>7} {'events':>6} {'preempt':>7}  caught by")
    for name, scenario in SCENARIOS.items():
        ref, ref_s = _timed(scenario.setup())
        first, first_s = _timed(scenario.setup({scenario.twin}), minimize=False)
        minimal, min_s = _timed(scenario.setup({scenario.twin}))
        ok = ref.status is framemc.Status.PASS and ref.exhaustive and minimal.violation is not None
        failed |= not ok
        cx = minimal.violation
        caught = f"{cx.kind.value} {cx.invariant or ''}".strip() if cx else "NOT CAUGHT"
        print(f"{name:26} {ref.executions:5} {ref_s:7.2f} {ref.stats.states_checked:7} "
              f"{ref.stats.cache_hit_rate:8.1%} | {scenario.twin:22} {first_s:10.2f} {min_s:7.2f} "
              f"{len(cx.events) if cx else 0:6} {cx.preemptions if cx else 0:7}  {caught}{'' if ok else '  FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
