"""A tiny DSL for straight-line litmus-style programs.

A program is a tuple of threads; a thread is a tuple of ops.  Ops are plain
tuples so that programs are hashable and print back as DSL text:

    ("load", loc, ord)
    ("store", loc, val, ord)
    ("cas", loc, expected, new, succ_ord, fail_ord)
    ("fetch_add", loc, k, ord)
    ("swap", loc, v, ord)
    ("fence", ord)
    ("lock", m)
    ("unlock", m)

Orderings are the strings "rlx", "acq", "rel", "acqrel", "sc".  Locations are
atomics named by a short string ("x", "y", "z"), all initially 0; mutexes are
named "m", "n".  Locks are balanced and not nested within a thread.

Text form (one thread per line, ops separated by ";"):

    T0: store(x,1,rel); load(y,acq)
    T1: cas(x,0,1,acqrel,acq); fetch_add(y,1,rlx); swap(x,2,sc); fence(sc); lock(m); unlock(m)

``parse`` reads it back, so a failing program printed by a test can be pasted
into a new test.  A program may also carry a watched invariant: the value
tuple (one value per location, in ``Program.locations`` order) that the
watch must report as forbidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

ORDERS = ("rlx", "acq", "rel", "acqrel", "sc")
LOAD_ORDERS = ("rlx", "acq", "sc")
STORE_ORDERS = ("rlx", "rel", "sc")
RMW_ORDERS = ORDERS
FAIL_ORDERS = ("rlx", "acq", "sc")
FENCE_ORDERS = ("acq", "rel", "acqrel", "sc")

#: ops that read a location (and so contribute a value to the thread's outcome)
READING = ("load", "cas", "fetch_add", "swap")


def op_loc(op: tuple) -> Optional[str]:
    """The atomic location (or mutex) an op touches; None for a fence."""
    return None if op[0] == "fence" else op[1]


def op_text(op: tuple) -> str:
    kind = op[0]
    return f"{kind}({','.join(str(a) for a in op[1:])})"


def check_op(op: tuple) -> None:
    """Raise ValueError unless ``op`` is well formed (orderings valid as in Rust)."""
    kind = op[0]
    arity = {"load": 3, "store": 4, "cas": 6, "fetch_add": 4, "swap": 4, "fence": 2, "lock": 2, "unlock": 2}
    if kind not in arity or len(op) != arity[kind]:
        raise ValueError(f"malformed op {op!r}")
    if kind == "load" and op[2] not in LOAD_ORDERS:
        raise ValueError(f"load ordering {op[2]} is invalid")
    if kind == "store" and op[3] not in STORE_ORDERS:
        raise ValueError(f"store ordering {op[3]} is invalid")
    if kind in ("fetch_add", "swap") and op[3] not in RMW_ORDERS:
        raise ValueError(f"{kind} ordering {op[3]} is invalid")
    if kind == "cas" and (op[4] not in RMW_ORDERS or op[5] not in FAIL_ORDERS):
        raise ValueError(f"cas orderings {op[4]}/{op[5]} are invalid")
    if kind == "fence" and op[1] not in FENCE_ORDERS:
        raise ValueError(f"fence ordering {op[1]} is invalid")
    for i, a in enumerate(op[1:], 1):
        if kind in ("store", "cas", "fetch_add", "swap") and i >= 2 and isinstance(a, int) and a < 0:
            raise ValueError(f"negative operand in {op!r}")


@dataclass(frozen=True)
class Program:
    """A straight-line multi-threaded program over named atomics and mutexes."""

    threads: tuple[tuple[tuple, ...], ...]
    #: atomic locations, in creation order (all created with name=loc and initial value 0)
    locations: tuple[str, ...] = ()
    #: mutexes, in creation order
    mutexes: tuple[str, ...] = ()
    #: a forbidden value tuple (one per location) for a watched invariant, or None
    watch: Optional[tuple[int, ...]] = field(default=None)

    def __post_init__(self) -> None:
        locs, muts = list(self.locations), list(self.mutexes)
        for th in self.threads:
            held = None
            for op in th:
                check_op(op)
                if op[0] in ("lock", "unlock"):
                    if op[1] not in muts:
                        muts.append(op[1])
                    if op[0] == "lock":
                        if held is not None:
                            raise ValueError("nested lock")
                        held = op[1]
                    else:
                        if held != op[1]:
                            raise ValueError("unlock of a mutex not held")
                        held = None
                elif op[0] != "fence" and op[1] not in locs:
                    locs.append(op[1])
            if held is not None:
                raise ValueError("unbalanced lock")
        object.__setattr__(self, "locations", tuple(locs))
        object.__setattr__(self, "mutexes", tuple(muts))
        if self.watch is not None and len(self.watch) != len(self.locations):
            raise ValueError("the watched tuple needs one value per location")

    @property
    def nevents(self) -> int:
        return sum(len(t) for t in self.threads)

    def all_sc(self) -> bool:
        """True when every access and fence is SeqCst (locks aside)."""
        for th in self.threads:
            for op in th:
                k = op[0]
                if k == "load" and op[2] != "sc":
                    return False
                if k in ("store", "fetch_add", "swap") and op[3] != "sc":
                    return False
                if k == "cas" and (op[4] != "sc" or op[5] != "sc"):
                    return False
                if k == "fence" and op[1] != "sc":
                    return False
        return True

    def has_locks(self) -> bool:
        return bool(self.mutexes)

    def text(self) -> str:
        lines = ["atomics: " + ", ".join(self.locations)]
        if self.mutexes:
            lines.append("mutexes: " + ", ".join(self.mutexes))
        lines += [f"T{i}: " + "; ".join(op_text(op) for op in th) for i, th in enumerate(self.threads)]
        if self.watch is not None:
            lines.append("watch forbids (" + ", ".join(f"{l}={v}" for l, v in zip(self.locations, self.watch)) + ")")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def without_watch(self) -> "Program":
        return Program(self.threads, self.locations, self.mutexes, None)


_OP_RE = re.compile(r"^\s*(\w+)\s*\(([^)]*)\)\s*$")


def _arg(a: str):
    a = a.strip()
    return int(a) if re.fullmatch(r"-?\d+", a) else a


def parse(text: str) -> Program:
    """Read a program in the text form of :meth:`Program.text` (thread lines ``Ti: op; op``)."""
    threads = []
    watch = None
    watch_pairs = None
    locations: tuple = ()
    mutexes: tuple = ()
    for line in text.strip().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("atomics:") or line.startswith("mutexes:"):
            names = tuple(n.strip() for n in line.partition(":")[2].split(",") if n.strip())
            if line.startswith("atomics:"):
                locations = names
            else:
                mutexes = names
            continue
        if line.startswith("watch forbids"):
            body = line[line.index("(") + 1:line.rindex(")")]
            watch_pairs = [tuple(p.strip().split("=")) for p in body.split(",") if p.strip()]
            continue
        head, _, body = line.partition(":")
        if not re.fullmatch(r"T\d+", head.strip()):
            raise ValueError(f"expected 'Ti: ops', got {line!r}")
        if int(head.strip()[1:]) != len(threads):
            raise ValueError(f"threads must be numbered in order, got {head!r}")
        ops = []
        for part in body.split(";"):
            if not part.strip():
                continue
            m = _OP_RE.match(part)
            if m is None:
                raise ValueError(f"cannot parse op {part!r}")
            ops.append((m.group(1),) + tuple(_arg(a) for a in m.group(2).split(",") if a.strip()))
        threads.append(tuple(ops))
    prog = Program(tuple(threads), locations, mutexes)
    if watch_pairs is not None:
        vals = dict((l, int(v)) for l, v in watch_pairs)
        watch = tuple(vals[l] for l in prog.locations)
        prog = Program(prog.threads, prog.locations, prog.mutexes, watch)
    return prog


def outcome_key(reads_per_thread, finals: dict) -> tuple:
    """The outcome key: ("T{i}", reads of thread i) for every thread and (name, final value), sorted by label."""
    items = [(f"T{i}", tuple(r)) for i, r in enumerate(reads_per_thread)]
    items += [(name, v) for name, v in finals.items()]
    return tuple(sorted(items))
