"""Print the C11 figures: per litmus test and allocator-ordering scenario, executions and time.

Usage: ``python benchmarks/c11.py``.  For each litmus test: the RC11 answer
and whether the explorer gives it, executions explored by optimal DPOR,
distinct consistent executions (po, rf, mo) among them, executions of the
plain search, and time.  For each allocator-ordering scenario: the correct
ordering and its planted twin under "c11" and under "sc".  A wrong answer, a
twin not caught under c11 (or caught under sc), or a missed time target
(each scenario under 2 s, the litmus set under 5 s) makes it exit with status 1.
"""

from __future__ import annotations

import sys
import time

import framemc
from framemc.explorer.litmus import C11_LITMUS
from framemc.scenarios.orderings import ORDERING_SCENARIOS

#: seconds the whole litmus set may take
LITMUS_TARGET = 5.0
#: seconds one allocator scenario may take
SCENARIO_TARGET = 2.0


def _litmus() -> bool:
    ok = True
    print(f"{'litmus':24} {'outcome':14} {'RC11':9} {'found':9} {'explored':>8} {'consistent':>10} "
          f"{'plain':>6} {'time (s)':>9}")
    total = 0.0
    for name, test in C11_LITMUS.items():
        outcomes: set = set()
        start = time.perf_counter()
        result = framemc.explore(test.build(outcomes), memory_model="c11")
        elapsed = time.perf_counter() - start
        total += elapsed
        plain = framemc.explore(test.build(set()), memory_model="c11", reduction="none")
        found = test.outcome in outcomes
        want = "allowed" if test.allowed else "forbidden"
        got = "allowed" if found else "forbidden"
        mark = "" if found is test.allowed and result.exhaustive else "  WRONG"
        ok = ok and not mark
        print(f"{name:24} {str(test.outcome):14} {want:9} {got:9} {result.executions:8} "
              f"{result.stats.consistent_executions:10} {plain.executions:6} {elapsed:9.3f}{mark}")
    slow = "" if total < LITMUS_TARGET else f"  SLOW (target {LITMUS_TARGET} s)"
    print(f"{'whole litmus set':24} {'':14} {'':9} {'':9} {'':8} {'':10} {'':6} {total:9.3f}{slow}")
    return ok and not slow


def _scenarios() -> bool:
    ok = True
    print(f"\n{'scenario':20} {'variant':26} {'model':5} {'status':12} {'explored':>8} {'consistent':>10} "
          f"{'time (s)':>9}")
    for name, scenario in ORDERING_SCENARIOS.items():
        for bugs in ((), (scenario.twin,)):
            for model in ("c11", "sc"):
                start = time.perf_counter()
                result = framemc.explore(scenario.setup(bugs), memory_model=model)
                elapsed = time.perf_counter() - start
                caught = result.status is framemc.Status.VIOLATION
                expect_caught = bool(bugs) and model == "c11"
                passed = result.status is framemc.Status.PASS and result.exhaustive
                mark = "" if (caught if expect_caught else passed) else "  WRONG"
                if elapsed >= SCENARIO_TARGET:
                    mark += f"  SLOW (target {SCENARIO_TARGET} s)"
                ok = ok and not mark
                consistent = result.stats.consistent_executions
                print(f"{name:20} {bugs[0] if bugs else 'correct':26} {model:5} {result.status.value:12} "
                      f"{result.executions:8} {'-' if consistent is None else consistent:>10} {elapsed:9.3f}{mark}")
    return ok


def main() -> int:
    """Print both tables; 1 when any row is wrong or slow."""
    ok = _litmus()
    ok = _scenarios() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
