"""Ports of GenMC's tests/wrong/racy, tests/wrong/safety and tests/wrong/liveness.

Design: GenMC's verdict for a wrong test is the first line of the variant's
trace file (``variants/<name>0.rc11.wb.trace``, ``.rc11.mo.trace`` for
liveness, the coherence scripts/driver.sh picks per group); the run must
exit with status 42 (error found).  It maps to a framemc violation kind:

* ``Error detected: Non-Atomic race!``  -> ``data-race``
* ``Error detected: Safety violation!`` -> ``assertion``
* ``Error detected: Liveness violation!`` (``-check-liveness``) -> ``liveness``

GenMC runs wrong tests only under RC11 and IMM, so it gives no SC verdict.
``sc_violation`` is ours: the same kind where the bug does not need weak
ordering (a race on plain data, a spin loop nobody releases, a Fibonacci
value SC can reach), None where SC hides it (every racy MP/MPU/S test: under
SC each atomic read synchronises with the store it reads; dekker_rlx: SC
forbids both threads entering).  Under SC such rows must pass.
"""

from __future__ import annotations

from framemc import Cell, spin_loop

from .common import ACQ, REL, RLX, GenmcTest, acquire, atomic_int, atomics, publish
from .synthetic import fib_bench

__all__ = ["TESTS"]


# ------------------------------------------------------------------ racy

def _mp_racy(writer: str, reader: str):
    """MP+{rel,relf,rels,rlx}+{acq,acqf,rlx}: the read of x races unless y's read synchronises."""
    def setup():
        x, y = Cell(0, name="x"), atomic_int("y")

        def thread_1():
            x.write(1)
            publish(y, writer)

        def thread_2():
            if acquire(y, reader):
                x.read()                        # r_x = x;
        return [thread_1, thread_2]
    return setup


def _mpu_racy(writer: str, reader: str):
    def setup():
        x, y = Cell(0, name="x"), atomic_int("y")

        def thread_1():
            x.write(1)
            publish(y, writer)

        def thread_2():
            y.fetch_add(1, RLX)

        def thread_3():
            if acquire(y, reader, lambda v: v > 1):
                x.write(2)
        return [thread_1, thread_2, thread_3]
    return setup


def _mpu2_racy(writer: str, reader: str):
    def setup():
        x, y = Cell(0, name="x"), atomic_int("y")

        def thread_1():
            x.write(1)
            publish(y, writer)

        def thread_2():
            y.compare_exchange(2, 3, RLX, RLX)

        def thread_3():
            y.compare_exchange(1, 2, RLX, RLX)

        def thread_4():
            if acquire(y, reader, lambda v: v > 2):
                x.write(2)
        return [thread_1, thread_2, thread_3, thread_4]
    return setup


def _s_racy(writer: str, reader: str):
    def setup():
        x, y = Cell(0, name="x"), atomic_int("y")

        def thread_1():
            x.write(1)
            publish(y, writer)

        def thread_2():
            if acquire(y, reader):
                x.write(2)
        return [thread_1, thread_2]
    return setup


def var_names():
    """struct foo on main's stack: atomics x, y[2].b[4], y[2].c and the plain int z both threads write."""
    x = atomic_int("shared.x")
    b = [[atomic_int(f"shared.y[{i}].b[{j}]") for j in range(4)] for i in range(2)]
    c = [atomic_int(f"shared.y[{i}].c") for i in range(2)]
    z = Cell(0, name="shared.z")

    def thread_1():
        x.store(42, RLX)
        b[0][0].store(42, RLX)
        b[0][1].store(42, RLX)
        c[0].store(42, RLX)
        z.write(42)                             # and here comes the race

    def thread_2():
        x.store(42, RLX)
        b[1][2].store(42, RLX)
        b[1][3].store(42, RLX)
        c[1].store(42, RLX)
        z.write(17)
    return [thread_1, thread_2]


# ------------------------------------------------------------------ safety

#: reader/writer rounds of the cks example
CKS_ROUNDS = 2


def cks():
    """ck_sequence seqlock with every access a plain (volatile) int; its fences are compiler barriers."""
    sequence = Cell(0, name="seqlock.sequence")
    gx, gy = Cell(0, name="global.x"), Cell(0, name="global.y")

    def read_begin():
        while True:
            version = sequence.read()
            if version & 1 == 0:
                return version
            spin_loop()                         # ck_pr_stall()

    def reader():
        for _ in range(CKS_ROUNDS):
            while True:
                version = read_begin()
                copy_x = gx.read()
                copy_y = gy.read()
                if sequence.read() == version:  # ck_sequence_read_retry
                    break
            assert copy_x == copy_y, "copy.x==copy.y"

    def writer():
        for _ in range(CKS_ROUNDS):
            sequence.write(sequence.read() + 1)     # ck_sequence_write_begin
            gx.write(gx.read() + 1)
            gy.write(gx.read())
            sequence.write(sequence.read() + 1)     # ck_sequence_write_end
    return [reader, writer]


def dekker_rlx():
    x, y, c = atomics("x", "y", "c")

    def thread_one():
        y.store(1, RLX)
        if not x.load(RLX):
            c.store(1, RLX)
            assert c.load(RLX) == 1

    def thread_two():
        x.store(1, RLX)
        if not y.load(RLX):
            c.store(0, RLX)
            assert c.load(RLX) == 0
    return [thread_one, thread_two]


# ------------------------------------------------------------------ liveness

#: -unroll=3 (unroll.in): lamport-deadlock's while (true) loop starts at most 3 iterations
LAMPORT_DEADLOCK_UNROLL = 3


def lamport_deadlock():
    x, p1, p2 = atomics("x", "p1", "p2")

    def thread_1():
        p1.store(0)
        for _ in range(LAMPORT_DEADLOCK_UNROLL):
            p1.store(1)
            while p2.load():
                spin_loop()
            x.store(1)                          # critical section
            p1.store(0)

    def thread_2():
        p2.store(0)
        for _ in range(LAMPORT_DEADLOCK_UNROLL):
            p2.store(1)
            while p1.load():
                spin_loop()
            x.store(2)
            p2.store(0)
    return [thread_1, thread_2]


def lock_deadlock():
    lock_a, lock_b = atomics("lock_a", "lock_b")
    data = Cell(0, name="data")

    def lock(lk):
        while not lk.compare_exchange(0, 1, ACQ, ACQ)[0]:
            spin_loop()

    def unlock(lk):
        lk.store(0, REL)

    def thread_1():
        lock(lock_a)
        lock(lock_b)
        data.write(42)
        unlock(lock_b)
        unlock(lock_a)

    def thread_2():
        lock(lock_b)
        lock(lock_a)
        data.write(17)
        unlock(lock_a)
        unlock(lock_b)
    return [thread_1, thread_2]


def simple():
    x, y = atomics("x", "y")

    def main():
        # pthread_create(&t, NULL, run, NULL) comes first; main then runs alongside run
        y.store(1)
        while not x.load():
            spin_loop()

    def run():
        if y.load():
            x.store(1)
    return [main, run]


def spinloop():
    x = atomic_int("x")

    def thread_1():
        while not x.load():
            spin_loop()
        x.store(42)
    return [thread_1]


# ------------------------------------------------------------------ registry rows

def _w(group: str, name: str, file: str, setup, violation: str, sc_violation: str | None,
       note: str = "", args: str = "", fast: bool = True) -> GenmcTest:
    return GenmcTest(name=name, source=f"tests/wrong/{group}/{name}/{file}", group=group, setup=setup,
                     sc=None, rc11=None, violation=violation, sc_violation=sc_violation, note=note, args=args,
                     fast=fast)


_ORDER_ONLY = "SC orders the accesses: passes under SC"


def _racy_family(prefix: str, file_prefix: str, factory, pairs: list[tuple[str, str]]) -> list[GenmcTest]:
    return [_w("racy", f"{prefix}+{w}+{r}", f"{file_prefix}+{w}+{r}.c", factory(w, r), "data-race", None,
               note=_ORDER_ONLY) for w, r in pairs]


_MP_PAIRS = [("rel", "rlx"), ("relf", "rlx"), ("rels", "rlx"), ("rlx", "acq"), ("rlx", "acqf"), ("rlx", "rlx")]

#: every wrong row: racy, safety, liveness, in GenMC's directory order
TESTS: list[GenmcTest] = [
    *_racy_family("MP", "mp", _mp_racy, _MP_PAIRS),
    *_racy_family("MPU", "mpu", _mpu_racy, _MP_PAIRS),
    *_racy_family("MPU2", "mpu2", _mpu2_racy, _MP_PAIRS),
    *_racy_family("S", "s", _s_racy, _MP_PAIRS),
    _w("racy", "var_names", "var_names.c", var_names, "data-race", "data-race", args="-disable-ipr -disable-sr",
       note="the struct is main's local passed to both threads: its fields are separate locations here"),
    _w("safety", "cks", "variants/cks0.c", cks, "data-race", "data-race",
       note="the preprocessed ck_sequence example: volatile ints become Cells, ck_pr_fence_* are compiler "
            "barriers (no-ops); read_begin's wait is a spin loop"),
    _w("safety", "dekker_rlx", "dekker_rlx.c", dekker_rlx, "assertion", None, args="-disable-ipr -disable-sr",
       note="SC forbids both threads entering: passes under SC"),
    _w("safety", "fib_bench", "fib_bench.c",
       fib_bench(num=5, bound=144, strict=False, order_rw=(RLX, RLX)), "assertion", "assertion", fast=False,
       note="SC reaches 144 too (the correct synthetic/fib_bench asserts > 144); tens of thousands of "
            "executions come before the failing one"),
    _w("liveness", "lamport-deadlock", "variants/lamport-deadlock0.c", lamport_deadlock, "liveness", "liveness",
       args="-check-liveness -unroll=3",
       note="-unroll=3 (unroll.in): each thread's while (true) loop starts at most 3 iterations"),
    _w("liveness", "lock-deadlock", "lock-deadlock.c", lock_deadlock, "liveness", "liveness",
       args="-check-liveness",
       note="the locks are CAS spin loops, so the lock-order inversion is a liveness violation, not a deadlock"),
    _w("liveness", "simple", "variants/simple0.c", simple, "liveness", "liveness", args="-check-liveness",
       note="main spins on x concurrently with the thread it created, so main is thread 0 here"),
    _w("liveness", "spinloop", "variants/spinloop0.c", spinloop, "liveness", "liveness", args="-check-liveness"),
]
