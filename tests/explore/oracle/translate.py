"""Turn a DSL program into a framemc scenario ``setup()``."""

from __future__ import annotations

from collections import Counter
from typing import Callable, Optional

import framemc
from framemc import Atomic, CheckFailure, Mutex, Ordering

from .dsl import Program, outcome_key

ORDERING = {
    "rlx": Ordering.RELAXED,
    "acq": Ordering.ACQUIRE,
    "rel": Ordering.RELEASE,
    "acqrel": Ordering.ACQ_REL,
    "sc": Ordering.SEQ_CST,
}


def _thread(i: int, ops: tuple, atomics: dict, mutexes: dict, seen: list) -> Callable[[], None]:
    def run() -> None:
        for op in ops:
            k = op[0]
            if k == "load":
                seen.append(atomics[op[1]].load(ORDERING[op[2]]))
            elif k == "store":
                atomics[op[1]].store(op[2], ORDERING[op[3]])
            elif k == "cas":
                _ok, old = atomics[op[1]].compare_exchange(op[2], op[3], ORDERING[op[4]], ORDERING[op[5]])
                seen.append(old)
            elif k == "fetch_add":
                seen.append(atomics[op[1]].fetch_add(op[2], ORDERING[op[3]]))
            elif k == "swap":
                seen.append(atomics[op[1]].swap(op[2], ORDERING[op[3]]))
            elif k == "fence":
                framemc.fence(ORDERING[op[1]])
            elif k == "lock":
                mutexes[op[1]].lock()
            elif k == "unlock":
                mutexes[op[1]].unlock()
            else:
                raise ValueError(op)
    run.__name__ = f"T{i}"
    return run


def to_setup(prog: Program, record: Optional[Counter] = None, watch: bool = True) -> Callable[[], object]:
    """A framemc ``setup()`` running ``prog``.

    Atomics are ``Atomic(0, name=loc)`` created in ``prog.locations`` order,
    mutexes ``Mutex(name=m)``.  With ``record`` (a Counter), a ``final()``
    adds each complete execution's outcome key to it (it never fails).  With
    ``watch`` and ``prog.watch`` set, a watched invariant forbids that value
    tuple of the atomics.
    """

    def setup():
        atomics = {loc: Atomic(0, name=loc) for loc in prog.locations}
        mutexes = {m: Mutex(name=m) for m in prog.mutexes}
        seen: list = [[] for _ in prog.threads]
        if watch and prog.watch is not None:
            forbidden = tuple(prog.watch)
            watched = [atomics[loc] for loc in prog.locations]
            framemc.watch(lambda: tuple(a.peek() for a in watched),
                          lambda s: [CheckFailure("inv", f"forbidden state {s}", {})] if s == forbidden else [])
        threads = [_thread(i, ops, atomics, mutexes, seen[i]) for i, ops in enumerate(prog.threads)]
        if record is None:
            return threads

        def final() -> None:
            record[outcome_key(seen, {loc: a.peek() for loc, a in atomics.items()})] += 1
        return threads, final

    return setup
