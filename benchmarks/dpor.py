"""Print the optimal-search benchmark table: executions and time per row, microseconds of CPU per event.

The search is TruSt over execution graphs (``framemc.explorer.engine``).  Greenlets cannot be
copied, so each explored graph is restored by re-running setup() and re-performing its events
before the search extends it.  The table counts both:

* "run events": every event the search ran, added or re-performed, which is the sum of the
  explored executions' lengths; "CPU us/event" divides the search's CPU time by it;
* "added": events added to a graph for the first time; "us/added" divides the same CPU time by
  those, so it charges every restoration to the new events.

CPU time is ``time.process_time`` around the search (the machine is shared: wall time moves with
the load, CPU time much less).  ``--repeat K`` runs each row K times and prints the medians.

Usage: ``python benchmarks/dpor.py [--quick] [--repeat K] [--rows lastzero:10,lastzero:12]``.  Every row is checked against
the expected Mazurkiewicz-trace count; a mismatch is printed as MISMATCH and
makes the script exit with status 1.  The planted-bug table times how long the
explorer takes to find each violation kind; the last table gives the
state-check cache hit rate on watched scenarios.
"""

from __future__ import annotations

import statistics
import sys
import time

import framemc
from framemc.explorer import core
from framemc import Atomic, Cell, Mutex, spin_loop
from framemc.explorer.litmus import EXPECTED, PROGRAMS

#: larger rows, run only when --rows names them: lastzero(n) has (n + 3) * 2^(n - 2) traces, which gives the
#: table's 1..10 and GenMC's lastzero(15) = 147,456 (tests/genmc/synthetic.py)
LARGE = {("lastzero", n): (n + 3) * 2 ** (n - 2) for n in range(11, 15)}

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


def _rows(argv: list[str]) -> list[tuple[str, int]] | None:
    """The ``--rows name:N,...`` selection, or None for every row."""
    if "--rows" not in argv:
        return None
    spec = argv[argv.index("--rows") + 1]
    out = []
    for item in spec.split(","):
        name, _, n = item.partition(":")
        if not n.isdigit() or (int(n) not in EXPECTED.get(name, {}) and (name, int(n)) not in LARGE):
            raise SystemExit(f"dpor.py: --rows: no row {item!r}; rows are "
                             + ", ".join(f"{k}:{m}" for k, t in EXPECTED.items() for m in t)
                             + ", " + ", ".join(f"{k}:{m}" for k, m in LARGE))
        out.append((name, int(n)))
    return out


def main(argv: list[str]) -> int:
    """Print the tables; return 1 when any count differs from the expected one."""
    quick = "--quick" in argv
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 1
    rows = _rows(argv)
    failed = False
    print(f"explorer core: {core.build()}")
    print(f"{'benchmark':<10} {'N':>3} {'expected':>9} {'executions':>11} {'run events':>11} {'added':>8} "
          f"{'wall (s)':>9} {'CPU (s)':>8} {'CPU us/event':>13} {'us/added':>9}")
    tables = {name: dict(table) for name, table in EXPECTED.items()}
    for (name, n), expected in LARGE.items():
        if rows is not None and (name, n) in rows:
            tables[name][n] = expected
    for name, table in tables.items():
        for n, expected in table.items():
            if rows is not None and (name, n) not in rows:
                continue
            if rows is None and quick and (name, n) in _QUICK_SKIP:
                continue
            walls, cpus = [], []
            for _ in range(repeat):
                start, cpu = time.perf_counter(), time.process_time()
                result = framemc.explore(PROGRAMS[name](n))
                cpus.append(time.process_time() - cpu)
                walls.append(time.perf_counter() - start)
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            ok = result.executions == expected and result.status is framemc.Status.PASS
            failed |= not ok
            added = result.stats.events
            ran = added + result.stats.replayed
            print(f"{name:<10} {n:>3} {expected:>9} {result.executions:>11} {ran:>11} {added:>8} {wall:>9.3f} "
                  f"{cpu:>8.3f} {cpu * 1e6 / ran:>13.2f} {cpu * 1e6 / added:>9.1f}{'' if ok else '  MISMATCH'}")
    if rows is not None:
        return 1 if failed else 0
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
