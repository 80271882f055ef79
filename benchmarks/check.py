"""Print the wall time of ``framemc check`` (the README's main job), measured over several runs.

Usage: ``python benchmarks/check.py [--runs N] [-- extra framemc check flags]``.
Each run is a fresh ``framemc check --quiet`` process (so imports and z3
start-up count, as a user would see them); the script prints one row per run
(wall seconds, exit code, pass/violation/inconclusive counts from the JSON
summary) and the mean, min and max.  It exits 1 if the runs disagree on the
exit code or the counts, which would mean the check is not deterministic.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _one_run(extra: list[str], summary: Path) -> tuple[float, int, dict[str, int]]:
    started = time.perf_counter()
    command = [sys.executable, "-c", "from framemc.cli import main; main()", "check", "--quiet", "--json", str(summary)]
    proc = subprocess.run(command + extra, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode == 2:
        sys.exit(f"framemc check failed with a usage error: {proc.stderr.strip()}")
    return wall, proc.returncode, json.loads(summary.read_text())["counts"]


def main() -> int:
    """Run the check ``--runs`` times and print the table; 1 when runs disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="how many times to run framemc check")
    parser.add_argument("extra", nargs="*", help="flags passed on to framemc check (after --)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.runs):
            rows.append(_one_run(args.extra, Path(folder) / f"run{i}.json"))
            wall, code, counts = rows[-1]
            print(f"run {i + 1}: {wall:7.1f} s  exit {code}  "
                  + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())), flush=True)
    walls = [r[0] for r in rows]
    print(f"wall time over {len(walls)} runs: mean {sum(walls) / len(walls):.1f} s, "
          f"min {min(walls):.1f} s, max {max(walls):.1f} s")
    agree = len({(code, tuple(sorted(counts.items()))) for _, code, counts in rows}) == 1
    if not agree:
        print("MISMATCH: the runs disagree on the exit code or the counts")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
