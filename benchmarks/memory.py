"""Print peak memory and wall time of the optimal search on lastzero(N), one fresh process per row.

Usage: ``python benchmarks/memory.py [N ...]`` (default 8 to 14).  Each row runs in its own Python
process so that its peak resident set size (``ru_maxrss``) is its own; the "baseline" row is the
same process importing framemc and exploring nothing, so the difference is the explorer's.
Memory is flat when the search state does not grow with the number of executions: TruSt keeps a
stack of graphs (one per pending backward revisit), not the set of explored executions.
"""

from __future__ import annotations

import subprocess
import sys

_CHILD = r"""
import resource, sys, time
import framemc
from framemc.explorer.litmus import PROGRAMS
n = int(sys.argv[1])
start = time.perf_counter()
result = framemc.explore(PROGRAMS["lastzero"](n)) if n else None
elapsed = time.perf_counter() - start
print(result.executions if result else 0, f"{elapsed:.2f}", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or list(range(8, 15))
    print(f"{'row':>12} {'executions':>11} {'wall (s)':>9} {'peak RSS (MiB)':>15}")
    for n in [0] + sizes:
        out = subprocess.run([sys.executable, "-c", _CHILD, str(n)], capture_output=True, text=True, check=True)
        execs, wall, rss = out.stdout.split()
        label = "baseline" if n == 0 else f"lastzero({n})"
        print(f"{label:>12} {execs:>11} {wall:>9} {int(rss) / 1024:>15.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
