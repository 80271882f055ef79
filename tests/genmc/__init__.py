"""GenMC's own test programs, ported to framemc, with GenMC's expected results beside them.

framemc's explorer counts execution graphs the way GenMC does (TruSt-style:
under ``"sc"`` the SC-consistent graphs, under ``"c11"`` the RC11-consistent
ones with C++20 release sequences; blocked executions are not counted).  The
surest check of that is GenMC's own regression suite, so this package ports
it: ``REGISTRY`` is one list of :class:`~tests.genmc.common.GenmcTest` rows,
each a setup translated from a C file of GenMC's repository
(github.com/MPI-SWS/genmc, read at b03f01e), the path of that file, and the
counts GenMC's test driver expects.  ``tests/explore/test_genmc_suite.py``
checks every row; ``benchmarks/genmc.py`` prints the table.

Where the numbers come from (scripts/driver.sh, runcorrect.sh, runwrong.sh):

* A correct test ``tests/correct/<group>/<name>/`` is run on every
  ``variants/*.c`` (each ``#include``s the test's C file and holds ``main``);
  every variant must report the same "Number of complete executions
  explored" (minus "exceeded bound", zero unless bounding), so one variant,
  ``variants/*0.c``, fixes the thread creation order here.
* ``expected.<model>.<coherence>.in`` holds that count, one line per line of
  ``args.<model>.<coherence>.in``: runcorrect.sh reads both files in lockstep
  (``while read test_args <&3 && read expected <&4``), so line k is the count
  for the k-th argument set ``genmc flags | clang flags`` (e.g. ``-DN=4``).  A
  test without an args file uses only the first line (``head -n 1``); the
  extra lines (the SC files repeat their block three times: SB's
  ``expected.sc.mo.in`` is ``3 3 3``) are never read.  The driver runs
  correct tests with coherence ``mo``, so the rows use ``expected.sc.mo.in``
  and ``expected.rc11.mo.in``.  (At this commit driver.sh runs only rc11 and
  imm; the SC files are read when runcorrect.sh is run with model=sc.)
* Blocked executions (a failed ``__VERIFIER_assume``, a spin loop iteration
  that found nothing new) are counted apart and checked only for the saver,
  helper and ipr groups (``blocked.*.in``), none of which is ported.
* Flags in the args files that do not change the complete count are dropped:
  ``-disable-ipr`` (in-place revisiting only changes how blocked executions
  are revisited), ``-disable-sr`` (symmetry reduction applies only to threads
  spawned with ``__VERIFIER_spawn_symmetric``, which no ported test uses),
  ``-check-liveness`` (framemc always reports a spin loop that cannot exit).
  ``-unroll=N`` and ``-disable-race-detection`` change what is explored; the
  rows that have them say how they are modelled.
* A wrong test ``tests/wrong/<group>/<name>/`` must make GenMC exit with
  status 42; the error it reports is the first line of the variant's trace
  file, mapped to a framemc kind in ``tests/genmc/wrong.py``.

Translation rules (GenMC semantics, not framemc's current engine):

* ``atomic_*_explicit(..., memory_order_X)`` keeps X (consume -> acquire);
  plain reads and writes of an ``_Atomic`` and the non-explicit calls are
  SeqCst, framemc's default.  Plain shared globals (``int x``) are ``Cell``s.
* A thread's ``assert`` stays in the thread; ``main``'s code after joining its
  threads goes in ``final()``; stores in ``main`` before the first
  ``pthread_create`` are initial values.
* ``__VERIFIER_assume(c)`` is ``framemc.assume(c)``; a side-effect-free wait
  loop ``while (c);`` (which GenMC's spin-assume pass turns into an assume)
  is ``while c: framemc.spin_loop()``; a CAS lock loop is such a wait loop
  too (a failed CAS only reads).  Loops with other effects stay plain loops.
* ``pthread_mutex_*`` is ``framemc.Mutex``.

Ported: all 111 litmus tests, 42 of the 52 synthetic tests, and all of
wrong/racy (25), wrong/safety (3) and wrong/liveness (4).  Not ported: the
eight barrier tests (framemc has no barriers), big1 and big2 (millions of
executions) and lastzero with N=15 (147456).  Parametrised rows keep GenMC's
N, so every count is GenMC's; rows that take more than a few seconds on
either model are ``fast=False`` (slow).
"""

from __future__ import annotations

from .common import GenmcTest
from .litmus import TESTS as LITMUS
from .synthetic import TESTS as SYNTHETIC
from .wrong import TESTS as WRONG

__all__ = ["GenmcTest", "REGISTRY", "GROUPS", "by_name"]

#: every ported test: litmus, then synthetic, then wrong (racy, safety, liveness)
REGISTRY: list[GenmcTest] = [*LITMUS, *SYNTHETIC, *WRONG]

#: GenMC test groups in registry order
GROUPS: tuple[str, ...] = ("litmus", "synthetic", "racy", "safety", "liveness")


def by_name(name: str) -> GenmcTest:
    """The registry row called ``name`` (e.g. ``"SB"``, ``"casrot(N=4)"``); KeyError if there is none."""
    for test in REGISTRY:
        if test.name == name:
            return test
    raise KeyError(name)


def _check_unique() -> None:
    names = [t.name for t in REGISTRY]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate GenMC registry rows: {sorted(duplicates)}")


_check_unique()
