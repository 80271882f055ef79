"""Run code in a fresh interpreter on the Python sources of the explorer core (``FRAMEMC_PURE=1``).

A test that plants a bug in the engine by patching it needs this: the compiled core's classes cannot be
patched, and each process picks its build once (:mod:`framemc.explorer.core`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_python_core(code: str, *, pure: bool = True, timeout: float = 600) -> str:
    """Run ``code`` with ``tests/explore`` importable; its standard output, stripped.  A failure raises with
    the child's standard error."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    env.pop("FRAMEMC_PURE", None)
    if pure:
        env["FRAMEMC_PURE"] = "1"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise AssertionError(f"the child exited with {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout.strip()
