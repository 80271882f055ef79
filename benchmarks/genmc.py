"""Print the GenMC table: every ported GenMC test under SC and RC11, GenMC's answer beside framemc's.

Usage: ``python benchmarks/genmc.py [--fast] [--model sc|c11] [--group GROUP] [--time-budget SECONDS]``.
``--fast`` leaves out the rows the test suite marks slow; ``--model`` and
``--group`` (litmus, synthetic, racy, safety, liveness) narrow the table.
Rows come from the registry in ``tests/genmc`` (GenMC's tests ported with
their expected counts).  Per row: the expected answer (GenMC's complete
executions, or the violation kind of a wrong test), what framemc got
(``executions``, or the violation kind / ``pass``), executions explored
(complete plus blocked), distinct consistent graphs (c11 only), blocked
executions, seconds, and whether it matches.  The last line gives the rows
matched and the slowest row.  Any mismatch makes the script exit with
status 1; an exception in a row is printed in its ``got`` column and is a
mismatch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import framemc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.genmc import GROUPS, REGISTRY, GenmcTest  # noqa: E402

MODELS = ("sc", "c11")


def _row(test: GenmcTest, model: str, time_budget: float | None) -> tuple[list[str], bool, float]:
    """Run one row; return its table cells, whether it matches GenMC, and its seconds."""
    kind = test.expected_violation(model)
    expected = test.expected(model)
    want = kind if kind is not None else ("pass" if expected is None else str(expected))
    start = time.perf_counter()
    try:
        result = framemc.explore(test.setup, memory_model=model, max_executions=test.max_executions(model),
                                 max_steps=test.max_steps, time_budget=time_budget, minimize=False)
    except Exception as exc:  # noqa: BLE001 - a broken row is reported, the table goes on
        elapsed = time.perf_counter() - start
        return [want, f"ERROR {type(exc).__name__}: {exc}", "-", "-", "-"], False, elapsed
    elapsed = time.perf_counter() - start
    stats = result.stats
    found = result.violation.kind.value if result.violation is not None else result.status.value
    if kind is not None:
        got, ok = found, found == kind
    elif result.violation is not None or not result.exhaustive:
        got, ok = found if result.violation is not None else f"{result.status.value} ({result.bound_hit})", False
    else:
        got = "pass" if expected is None else str(result.executions)
        ok = expected is None or result.executions == expected
        if model == "c11":
            ok = ok and stats.consistent_executions == result.executions
    graphs = "-" if stats.consistent_executions is None else str(stats.consistent_executions)
    return [want, got, str(result.executions + stats.blocked), graphs, str(stats.blocked)], ok, elapsed


def main(argv: list[str]) -> int:
    """Print the table and the summary line; return 1 when any row differs from GenMC."""
    parser = argparse.ArgumentParser(prog="benchmarks/genmc.py", description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the rows the default test run covers")
    parser.add_argument("--model", choices=MODELS, help="only this memory model")
    parser.add_argument("--group", choices=GROUPS, help="only this GenMC test group")
    parser.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                        help="stop each row after this long (the row then does not match)")
    args = parser.parse_args(argv)
    rows = [(test, model) for test in REGISTRY for model in MODELS
            if (test.fast or not args.fast) and (args.model in (None, model))
            and (args.group in (None, test.group))]
    header = f"{'test':28} {'model':5} {'expected':>10} {'got':>10} {'explored':>9} {'graphs':>8} " \
             f"{'blocked':>8} {'seconds':>8}  match"
    print(header)
    print("-" * len(header))
    matched = 0
    slowest: tuple[float, str] = (0.0, "-")
    for test, model in rows:
        (want, got, explored, graphs, blocked), ok, elapsed = _row(test, model, args.time_budget)
        matched += ok
        slowest = max(slowest, (elapsed, f"{test.name} ({model})"))
        print(f"{test.name:28} {model:5} {want:>10} {got:>10} {explored:>9} {graphs:>8} {blocked:>8} "
              f"{elapsed:8.2f}  {'yes' if ok else 'no'}", flush=True)
    print(f"\n{matched}/{len(rows)} rows match GenMC; slowest: {slowest[1]} {slowest[0]:.2f} s")
    return 0 if matched == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
