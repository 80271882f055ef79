"""The record type of the GenMC port registry and the C-like shorthands the ports share.

Design: a port is a zero-argument ``setup`` in the explorer's scenario shape,
written to mirror GenMC's C file line by line, so that reading the two side
by side is enough to review it.  The conventions (see ``tests/genmc/__init__.py``
for the full list) are:

* ``atomic_int x;`` becomes ``Atomic(0, bits=32)`` (``atomic_int`` below); C's
  plain ``x = 1`` / ``if (x)`` on an atomic is a SeqCst store / load, which
  is framemc's default ordering, so those calls carry no ordering.
* ``int x;`` shared between threads becomes a ``Cell``.
* a signed result that can be negative is stored two's-complement (``i32``).
* C pointers to atomics become small integers naming them (``SharedPtr``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from framemc import Atomic, Ordering, fence

__all__ = ["GenmcTest", "Setup", "RLX", "ACQ", "REL", "AR", "SC", "atomic_int", "atomics", "i32", "publish",
           "acquire"]

#: a scenario ``setup``: called afresh for every execution, returns threads or (threads, final)
Setup = Callable[[], Any]

RLX = Ordering.RELAXED
#: memory_order_acquire (and memory_order_consume, which GenMC also treats as acquire)
ACQ = Ordering.ACQUIRE
REL = Ordering.RELEASE
AR = Ordering.ACQ_REL
SC = Ordering.SEQ_CST

#: 2**32 - 1: the values an ``atomic_int`` can hold, as unsigned
MASK32 = (1 << 32) - 1

#: max_executions for a wrong test (GenMC gives no count): its violation shows up long before
WRONG_TEST_BOUND = 100_000


@dataclass(frozen=True)
class GenmcTest:
    """One row of the registry: a ported GenMC test with GenMC's own expected result."""

    #: GenMC's test directory name, plus the parameter for parametrised rows: ``casrot(N=4)``
    name: str
    #: path in GenMC's repository of the C file whose threads are ported (the variant when they live there)
    source: str
    #: GenMC's test group: litmus, synthetic (tests/correct/...), racy, safety, liveness (tests/wrong/...)
    group: str
    #: the scenario: a zero-argument setup, called afresh for every execution
    setup: Setup
    #: complete executions under SC: the expected.sc.mo.in line for this row; None for a wrong test
    sc: int | None
    #: complete executions under RC11: the expected.rc11.mo.in line for this row; None for a wrong test
    rc11: int | None
    #: violation kind GenMC reports under RC11 (the error line of the variant's trace file); None if correct
    violation: str | None = None
    #: violation kind expected under SC for a wrong test (GenMC runs those only under RC11/IMM: see note)
    sc_violation: str | None = None
    #: True when both models run in seconds (the default pytest run); False rows are marked slow
    fast: bool = True
    #: what was adapted in the port, and why; empty for a line-by-line translation
    note: str = ""
    #: GenMC's arguments for this row, the matching line of args.rc11.mo.in ("" when there is none)
    args: str = ""
    #: max_steps to explore with: per-thread event bound, above the longest legitimate run
    max_steps: int = 1000

    @property
    def correct(self) -> bool:
        """True for a test from tests/correct (expected to pass with the given counts)."""
        return self.violation is None

    def expected(self, model: str) -> int | None:
        """The expected complete-execution count under ``model`` ("sc" or "c11")."""
        return self.sc if model == "sc" else self.rc11

    def expected_violation(self, model: str) -> str | None:
        """The expected violation kind under ``model`` ("sc" or "c11"); None means the run passes."""
        return self.sc_violation if model == "sc" else self.violation

    def max_executions(self, model: str) -> int:
        """max_executions for this row: safely above the expected complete executions, so a runaway search stops."""
        expected = self.expected(model)
        return WRONG_TEST_BOUND if expected is None else 10 * expected + 1000


def atomic_int(name: str, init: int = 0) -> Atomic:
    """C's ``atomic_int name = init;``: a 32-bit atomic."""
    return Atomic(init, bits=32, name=name)


def atomics(*names: str) -> list[Atomic]:
    """Several zero-initialised ``atomic_int`` globals, in declaration order."""
    return [atomic_int(n) for n in names]


def i32(value: int) -> int:
    """A C ``int`` result as the unsigned 32-bit pattern an ``atomic_int`` holds (two's complement)."""
    return value & MASK32



def publish(y: Atomic, writer: str) -> None:
    """The writer side of the MP/MPU/S families: set y to 1 after the payload write.

    ``rel``: a release store; ``relf``: a release fence, then a relaxed store;
    ``rels``: a release store of 0, then a relaxed store of 1 (under C++20 the
    relaxed store is not in the release sequence); ``rlx``: a relaxed store.
    """
    if writer == "rel":
        y.store(1, REL)
    elif writer == "relf":
        fence(REL)
        y.store(1, RLX)
    elif writer == "rels":
        y.store(0, REL)
        y.store(1, RLX)
    else:
        y.store(1, RLX)


def acquire(y: Atomic, reader: str, pred: Callable[[int], bool] = bool) -> bool:
    """The reader side: load y and return pred(value).

    ``acq``: an acquire load; ``acqf``: a relaxed load, then an acquire fence
    if pred holds (the C ``if (load) { fence; ... }``); ``rlx``: a relaxed load.
    """
    if reader == "acq":
        return pred(y.load(ACQ))
    if reader == "acqf":
        if pred(y.load(RLX)):
            fence(ACQ)
            return True
        return False
    return pred(y.load(RLX))
