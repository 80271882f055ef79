"""Print, one JSON line per search, everything an exploration reports, for comparing two builds of the core.

Run as ``python core_fingerprint.py`` (with ``tests/explore`` on ``sys.path``); ``FRAMEMC_PURE=1`` selects the
Python sources of the explorer core, otherwise the compiled build runs when installed.  The first line names
the build.  Timings are left out; everything else (counts, outcomes in the order found, the counterexample's
whole trace) must be identical between the builds (``test_core_build.py``).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

import framemc
from framemc.explorer import core
from framemc.explorer.litmus import C11_LITMUS, EXPECTED, PROGRAMS
from oracle import random_program, to_setup

#: random programs (tests/explore/oracle) run under both models, with and without their watched invariant
SEEDS = range(40)
#: the largest size of each counted program
SIZES = {"lastzero": 5, "readers": 4, "ainc": 4, "casrot": 4, "claim": 3}


def fingerprint(label: str, result: Any) -> str:
    """``result`` without its timings, as one JSON line."""
    s = result.stats
    out = {
        "run": label, "status": str(result.status), "executions": result.executions,
        "exhaustive": result.exhaustive, "bound": str(result.bound_hit),
        "stats": [s.events, s.replayed, s.blocked, s.invalid, s.consistent_executions, s.states_checked,
                  s.cache_hits],
        "outcomes": None if result.outcomes is None else [[repr(k), v] for k, v in result.outcomes.items()],
        "violation": None if result.violation is None else result.violation.to_dict(),
        "inconclusive": [repr(x) for x in result.inconclusive],
    }
    return json.dumps(out, sort_keys=True, default=repr)


def searches() -> list[tuple[str, Any]]:
    """Every search: (label, thunk)."""
    runs: list[tuple[str, Any]] = []
    for name, sizes in EXPECTED.items():
        for n in sorted(sizes):
            if n <= SIZES.get(name, 3):
                runs.append((f"{name}({n})", lambda name=name, n=n: framemc.explore(PROGRAMS[name](n), outcomes=True)))
    for name, test in sorted(C11_LITMUS.items()):
        runs.append((f"litmus {name}", lambda test=test: framemc.explore(test.build(set()), memory_model="c11",
                                                                          outcomes=True)))
    for seed in SEEDS:
        prog = random_program(seed, max_events=7)
        for model in ("sc", "c11"):
            for reduction in ("optimal", "none"):
                runs.append((f"random {seed} {model} {reduction}",
                             lambda prog=prog, model=model, reduction=reduction: framemc.explore(
                                 to_setup(prog, Counter()), memory_model=model, reduction=reduction,
                                 outcomes=True)))
    return runs


def main() -> None:
    print(json.dumps({"build": core.build()}))
    for label, thunk in searches():
        print(fingerprint(label, thunk()))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
