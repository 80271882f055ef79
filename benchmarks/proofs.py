"""Benchmark of the proof suite and the concrete checker: ``python benchmarks/proofs.py [--jobs N]``.

Prints the number of obligations, the wall-clock time of the whole suite, the
summed per-obligation time, the slowest five obligations, and the cost of one
``check_snapshot`` / ``check_step`` call on an 8-frame snapshot.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from framemc.model import ModelConfig, check_snapshot, check_step
from framemc.model.examples import rich_snapshot
from framemc.proofs import Verdict, run_obligations


def _per_call_ms(fn, *args, repeat: int = 50) -> float:
    """Mean milliseconds per call of ``fn(*args)`` after one warm-up call."""
    fn(*args)
    started = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - started) * 1000 / repeat


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table; exit 0 only when every obligation is PROVED."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the proofs")
    parser.add_argument("--max-order", type=int, default=ModelConfig().max_order, help="MAX_ORDER bound")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run_obligations(jobs=args.jobs, cfg=ModelConfig(max_order=args.max_order))
    wall = time.perf_counter() - started
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    print(f"obligations           {len(results)}  ({', '.join(f'{n} {v.value}' for v, n in counts.items())})")
    print(f"max_order             {args.max_order}")
    print(f"wall time             {wall:.2f} s with {args.jobs} job(s)")
    print(f"summed solver time    {sum(r.seconds for r in results):.2f} s")
    print(f"z3 resource units     {sum(r.rlimit_used for r in results):,} (deterministic; limits: "
          f"benchmarks/calibrate_rlimits.py)")
    print("slowest five:")
    for r in sorted(results, key=lambda r: -r.seconds)[:5]:
        print(f"  {r.name:<45} {r.verdict.value:<8} {r.seconds:7.3f} s  {r.rlimit_used:>12,} of {r.rlimit:,} units")
    rich = rich_snapshot(ModelConfig())
    eight = replace(rich, nframes=8, frames=rich.frames[:8], free_blocks=(), added=((0, 8),))
    print(f"check_snapshot        {_per_call_ms(check_snapshot, eight):.2f} ms per call (8 frames)")
    print(f"check_step            {_per_call_ms(check_step, eight, eight):.2f} ms per call (8 frames)")
    return 0 if counts[Verdict.PROVED] == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
