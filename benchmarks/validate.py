"""Print how fast ``framemc validate`` checks a long log: events per second, z3 steps, memo hits.

Usage: ``python benchmarks/validate.py [--events N] [--partial-events N]``.

Rows:
- a generated one-frame log: boot, the buddy split down to a single frame, then claim / zero / publish /
  clone / drop / teardown cycles of that frame by 4 CPUs, until ``--events`` events (the memo's best case);
- the Rust example's per-CPU logs (``recorders/rust``, built offline with cargo; 4 threads over 64 frames),
  about ``--events`` events: a realistic many-frame log;
- a smaller Rust log (``--partial-events``), complete and read as partial (``--logged``): only the public
  operations, then those and the MetaSlot steps, with the share of model steps that were bridged.

The validator runs in a fresh process, as a user runs it; the table gives the log size, wall time and the
split between steps z3 evaluated and steps the memo answered.  Nothing is asserted: run it, compare within
one run.
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


RUST = Path(__file__).resolve().parents[1] / "recorders" / "rust"
PUBLIC = "alloc,dealloc,add_free_memory"
METASLOT = "rc_cas,gen_bump,zero,set_purpose,publish,rc_add,rc_sub,rc_store,poison,payload_write"


def rust_logs(tmp: Path, events: int, name: str) -> list[str]:
    """Per-CPU logs of the Rust example (4 threads over 64 frames), about ``events`` events; [] without cargo."""
    import shutil
    cargo = shutil.which("cargo")
    if cargo is None:
        return []
    subprocess.run([cargo, "build", "--offline", "--release", "-q", "--manifest-path", str(RUST / "Cargo.toml"),
                    "-p", "framemc-recorder-example"], check=True)
    exe = RUST / "target" / "release" / "framemc-recorder-example"
    # about 13.8 events per operation of each thread
    subprocess.run([str(exe), "--threads", "4", "--ops", str(max(1, events * 10 // 138)), "--seed", "7", "--out",
                    str(tmp / name)], check=True, capture_output=True)
    return sorted(str(p) for p in (tmp / name).glob("cpu*.jsonl"))


def measure(label: str, logs: list[str], tmp: Path, *extra: str) -> None:
    out_json = tmp / "o.json"
    size = sum(Path(p).stat().st_size for p in logs)
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "framemc", "validate", *logs, "--json", str(out_json), *extra],
                       capture_output=True, text=True)
    wall = time.perf_counter() - start
    out = json.loads(out_json.read_text())
    n = out["events"] + out.get("ignored", 0)
    b = out.get("bridge", {})
    steps = out["steps"] + b.get("hidden_steps", 0)
    share = b.get("hidden_steps", 0) / steps if steps else 0.0
    print(f"{label:<34} {n:>9} {size / 2**20:>7.1f} {wall:>7.2f} {n / wall:>9,.0f} {out['z3_steps']:>8} "
          f"{out['memo_hits']:>9} {b.get('hidden_steps', 0):>8} {share:>6.0%} {out['verdict']} (exit {r.returncode})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="events of the complete logs")
    ap.add_argument("--partial-events", type=int, default=100_000, help="events of the logs read as partial")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        log = tmp / "run.jsonl"
        write_log(log, args.events)
        print(f"{'log':<34} {'events':>9} {'MiB':>7} {'wall s':>7} {'events/s':>9} {'z3 steps':>8} {'memo hits':>9} "
              f"{'bridged':>8} {'share':>6} verdict")
        measure("one frame, 4 CPUs (synthetic)", [str(log)], tmp)
        big = rust_logs(tmp, args.events, "big")
        if not big:
            print("(no cargo: the Rust example's rows are left out)")
            return 0
        measure("Rust example, 64 frames, 4 CPUs", big, tmp)
        small = rust_logs(tmp, args.partial_events, "small")
        measure("  same shape, complete", small, tmp)
        measure("  read as public operations only", small, tmp, "--logged", PUBLIC)
        measure("  read as public + MetaSlot", small, tmp, "--logged", f"{PUBLIC},{METASLOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
