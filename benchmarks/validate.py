"""Print how fast ``framemc validate`` checks a long log: events per second, z3 steps, memo hits.

Usage: ``python benchmarks/validate.py [--events N]``.

The log is generated: boot (one add_free_memory of ``2**6`` frames), the buddy split down to single
frame, then claim / zero / publish / clone / drop / teardown cycles of that frame by 4 CPUs, until ``N``
events (default 1,000,000).  One frame is the memo's best case: a log over many frames pays one z3
evaluation per new (operation, frame, local state); that shape is not measured yet.  The validator runs in a fresh process, as a user runs it; the table
gives the log size, wall time and the split between steps z3 evaluated and steps the memo answered.
Nothing is asserted: run it, compare within one run.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

UNUSED = (1 << 64) - 1


def write_log(path: Path, events: int) -> int:
    seq = 0
    with path.open("w") as out:
        def e(cpu: int, ev: str, **a: object) -> None:
            nonlocal seq
            out.write(json.dumps({"seq": seq, "cpu": cpu, "ev": ev, **a}) + "\n")
            seq += 1
        out.write(json.dumps({"framemc_log": 1, "nframes": 64, "ncpus": 4, "max_order": 6}) + "\n")
        e(0, "add_block", pool=0, head=0, order=6)
        e(0, "merge_stop", head=0)
        # split the top block down to a single frame at 0 and allocate it
        for _ in range(6):
            e(0, "split", head=0)
        e(0, "alloc_block", head=0, order=0)
        gens = [1]
        rng = random.Random(1)
        while seq < events:
            f = 0
            cpu = rng.randrange(4)
            e(cpu, "rc_cas", frame=f, old=UNUSED, new=0, ok=True)
            e(cpu, "gen_bump", frame=f, new=gens[f])
            gens[f] += 1
            e(cpu, "zero", frame=f)
            e(cpu, "set_purpose", frame=f, purpose=1)
            e(cpu, "publish", frame=f, zeroed=False)
            k = rng.randrange(1, 6)
            for i in range(k):
                e(rng.randrange(4), "rc_add", frame=f, old=1 + i)
            for i in range(k):
                e(rng.randrange(4), "rc_sub", frame=f, old=k + 1 - i)
            e(cpu, "rc_sub", frame=f, old=1)
            e(cpu, "rc_store", frame=f, value=UNUSED)
    return seq


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "run.jsonl"
        n = write_log(log, args.events)
        size = log.stat().st_size
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "framemc", "validate", str(log), "--json", str(Path(tmp) / "o.json")],
                           capture_output=True, text=True)
        wall = time.perf_counter() - start
        out = json.loads((Path(tmp) / "o.json").read_text())
    print(f"{'events':>10} {'log MiB':>8} {'wall s':>7} {'events/s':>9} {'z3 steps':>8} {'memo hits':>10} verdict")
    print(f"{n:>10} {size / 2**20:>8.1f} {wall:>7.2f} {n / wall:>9,.0f} {out['z3_steps']:>8} {out['memo_hits']:>10} "
          f"{out['verdict']} (exit {r.returncode})")
    return 0 if r.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
