"""Print the optimal-search benchmark table: executions and time per row, microseconds per event.

The search is TruSt over execution graphs (``framemc.explorer.engine``); "us/event" divides the
search's wall time by the events it added, so it includes re-running the program from setup()
to restore each graph.

Usage: ``python benchmarks/dpor.py [--quick]``.  Every row is checked against
the expected Mazurkiewicz-trace count; a mismatch is printed as MISMATCH and
makes the script exit with status 1.  The planted-bug table times how long the
explorer takes to find each violation kind; the last table gives the
state-check cache hit rate on watched scenarios.
"""

from __future__ import annotations

import sys
import time

import framemc
from framemc import Atomic, Cell, Mutex, spin_loop
from framemc.explorer.litmus import EXPECTED, PROGRAMS

#: rows left out by --quick
_QUICK_SKIP = {("lastzero", 9), ("lastzero", 10), ("casrot", 7), ("ainc", 6)}


def _race():
    c = Cell(0, name="c")
    return [lambda: c.write(1), lambda: c.write(2)]


def _deadlock():
    a, b = Mutex(name="a"), Mutex(name="b")

    def t0():
        with a, b:
            pass

    def t1():
        with b, a:
            pass
    return [t0, t1]


def _lost_update():
    x = Atomic(0, name="x")

    def inc():
        x.store(x.load() + 1)

    def final():
        assert x.load() == 2
    return [inc, inc], final


def _spin_forever():
    x = Atomic(0, name="x")

    def waiter():
        while x.load() == 0:
            spin_loop()
    return [waiter, lambda: x.load()]


def _invariant():
    x = Atomic(0, name="x")
    framemc.watch(lambda: x.peek(),
                  lambda v: [framemc.CheckFailure("x_le_1", f"x = {v}", {"x": v})] if v > 1 else [])
    return [lambda: x.fetch_add(1), lambda: x.fetch_add(1)]


def _watched_counters(n: int):
    """n threads each bump one of two counters; the watch sees both, checks they sum to at most n."""
    def setup():
        xs = [Atomic(0, name=f"x{i}") for i in range(2)]
        framemc.watch(lambda: (xs[0].peek(), xs[1].peek()),
                      lambda s: [] if sum(s) <= n else [framemc.CheckFailure("sum", f"{s}", {})])

        def bump(i):
            return lambda: xs[i % 2].fetch_add(1)
        return [bump(i) for i in range(n)]
    return setup


#: planted bug -> scenario
BUGS = {"assertion": _lost_update, "data-race": _race, "deadlock": _deadlock, "bound": _spin_forever,
        "invariant": _invariant}


def main(argv: list[str]) -> int:
    """Print both tables; return 1 when any count differs from the expected one."""
    quick = "--quick" in argv
    failed = False
    print(f"{'benchmark':<10} {'N':>3} {'expected':>9} {'executions':>11} {'time (s)':>9} {'us/event':>9}")
    for name, table in EXPECTED.items():
        for n, expected in table.items():
            if quick and (name, n) in _QUICK_SKIP:
                continue
            start = time.perf_counter()
            result = framemc.explore(PROGRAMS[name](n))
            elapsed = time.perf_counter() - start
            ok = result.executions == expected and result.status is framemc.Status.PASS
            failed |= not ok
            print(f"{name:<10} {n:>3} {expected:>9} {result.executions:>11} {elapsed:>9.3f} "
                  f"{result.stats.us_per_event:>9.1f}{'' if ok else '  MISMATCH'}")
    print()
    print(f"{'planted bug':<12} {'found':<10} {'executions':>11} {'time (s)':>9}")
    for kind, scenario in BUGS.items():
        start = time.perf_counter()
        result = framemc.explore(scenario, max_steps=200)
        elapsed = time.perf_counter() - start
        found = result.violation.kind.value if result.violation else "nothing"
        failed |= found != kind
        print(f"{kind:<12} {found:<10} {result.executions:>11} {elapsed:>9.3f}")
    print()
    print(f"{'watched scenario':<18} {'executions':>11} {'checked':>8} {'hits':>8} {'hit rate':>9}")
    for n in (3, 4, 5):
        result = framemc.explore(_watched_counters(n))
        stats = result.stats
        failed |= result.status is not framemc.Status.PASS
        print(f"{f'counters({n})':<18} {result.executions:>11} {stats.states_checked:>8} {stats.cache_hits:>8} "
              f"{stats.cache_hit_rate:>9.1%}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
