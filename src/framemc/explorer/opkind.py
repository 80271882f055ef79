"""The kinds of operation an event performs.

Apart from :mod:`framemc.explorer.events` so that mypyc compiles it with the explorer's core
(:data:`framemc.explorer.core.MODULES`): the core tests an event's kind on every event it replays, and a
member of an enum the compilation can see is a C constant there, where one of a module it cannot see is a
dictionary and an attribute lookup each time.
"""

from __future__ import annotations

import enum

from framemc.sync import AtomicOp

__all__ = ["OpKind"]


class OpKind(enum.Enum):
    """The operation an event performs (the trace spelling is the value)."""

    #: members are singletons: hash by identity (Enum hashes the name in Python code, and these are
    #: looked up on every explored event)
    __hash__ = object.__hash__

    LOAD = AtomicOp.LOAD.value
    STORE = AtomicOp.STORE.value
    CAS = AtomicOp.CAS.value
    FETCH_ADD = AtomicOp.FETCH_ADD.value
    FETCH_SUB = AtomicOp.FETCH_SUB.value
    SWAP = AtomicOp.SWAP.value
    READ = "read"
    WRITE = "write"
    LOCK = "lock"
    UNLOCK = "unlock"
    FENCE = "fence"
    SPIN = "spin_loop"
