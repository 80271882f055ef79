"""Ports of GenMC's tests/correct/litmus: one setup per test directory, in directory order.

Design: each setup is the test's C file translated line by line (thread
functions keep their C names; ``main`` is the creation order of
``variants/*0.c``).  A value a C thread only loads and drops is loaded and
dropped here too: the load is an event of the graph either way.  The
registry rows at the bottom carry GenMC's expected counts (first line of
expected.sc.mo.in / expected.rc11.mo.in, or the line matching the args line).
"""

from __future__ import annotations

import framemc
from framemc import Cell, fence, spin_loop

from .common import ACQ, AR, REL, RLX, SC, GenmcTest, acquire, atomic_int, atomics, i32, publish

__all__ = ["TESTS"]


# ------------------------------------------------------------------ 2+2W family

def two_plus_two_w_2sc_scf():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)
        y.store(2, SC)

    def thread_2():
        y.store(1, RLX)
        fence(SC)
        x.store(2, RLX)
    return [thread_1, thread_2]


def two_plus_two_w_3sc_rel1():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)
        y.store(2, SC)

    def thread_2():
        y.store(1, REL)
        x.store(2, SC)
    return [thread_1, thread_2]


def two_plus_two_w_3sc_rel2():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)
        y.store(2, SC)

    def thread_2():
        y.store(1, SC)
        x.store(2, REL)
    return [thread_1, thread_2]


def two_plus_two_w_4sc():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)
        y.store(2, SC)

    def thread_2():
        y.store(1, SC)
        x.store(2, SC)
    return [thread_1, thread_2]


def two_plus_two_w_scfs():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, RLX)
        fence(SC)
        y.store(2, RLX)

    def thread_2():
        y.store(1, RLX)
        fence(SC)
        x.store(2, RLX)
    return [thread_1, thread_2]


def two_plus_two_w():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, REL)
        y.store(2, REL)

    def thread_2():
        y.store(1, REL)
        x.store(2, REL)
    return [thread_1, thread_2]


# ------------------------------------------------------------------ coherence

def two_cowr():
    x, y = atomics("x", "y")

    def thread_one():
        y.load(ACQ)

    def thread_two():
        x.load(ACQ)

    def thread_three():
        x.store(1, REL)

    def thread_four():
        y.store(1, REL)
    return [thread_one, thread_two, thread_three, thread_four]


def corr():
    x, _y = atomics("x", "y")

    def thread_one():
        x.store(1, REL)
        x.store(2, REL)

    def thread_two():
        x.load(ACQ)
        x.load(ACQ)
    return [thread_one, thread_two]


def corr0():
    x = atomic_int("x")

    def thread_1():
        x.store(1, REL)

    def thread_2():
        x.load(ACQ)

    def thread_3():
        x.load(ACQ)
    return [thread_1, thread_2, thread_3]


def corr1():
    x = atomic_int("x")

    def thread_one():
        x.store(1, REL)

    def thread_two():
        x.store(2, REL)

    def thread_three():
        x.load(ACQ)
        x.load(ACQ)

    def thread_four():
        x.load(ACQ)
    return [thread_one, thread_two, thread_three, thread_four]


def corr2():
    x = atomic_int("x")

    def thread_one():
        x.store(1, REL)

    def thread_two():
        x.store(2, REL)

    def thread_three():
        x.load(ACQ)
        x.load(ACQ)

    def thread_four():
        x.load(ACQ)
        x.load(ACQ)
    return [thread_one, thread_two, thread_three, thread_four]


def corw():
    x = atomic_int("x")

    def thread_one():
        x.load(ACQ)
        x.store(1, REL)

    def thread_two():
        x.store(2, REL)
    return [thread_one, thread_two]


def cowr():
    x = atomic_int("x")

    def thread_one():
        x.store(1, REL)
        x.load(ACQ)

    def thread_two():
        x.store(2, REL)
    return [thread_one, thread_two]


# ------------------------------------------------------------------ IRIW, JLT

def iriw_acq_sc():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)

    def thread_2():
        x.load(ACQ)
        y.load(SC)

    def thread_3():
        y.load(ACQ)
        x.load(SC)

    def thread_4():
        y.store(1, SC)
    return [thread_1, thread_2, thread_3, thread_4]


def iriwish():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, RLX)

    def thread_2():
        r1 = x.load(RLX)
        y.store(r1, REL)

    def thread_3():
        x.load(RLX)
        fence(AR)
        y.load(RLX)

    def thread_4():
        y.load(RLX)
        fence(AR)
        x.load(RLX)
    return [thread_1, thread_2, thread_3, thread_4]


def jlt():
    x, y = atomics("x", "y")

    def thread_one():
        x.store(1, REL)
        y.load(ACQ)
        x.load(ACQ)

    def thread_two():
        x.store(2, REL)
        x.load(ACQ)

    def thread_three():
        y.store(3, REL)
    return [thread_one, thread_two, thread_three]


# ------------------------------------------------------------------ LB family

def lb_acq():
    x, y = atomics("x", "y")

    def thread_1():
        x.load(ACQ)
        y.store(1, RLX)

    def thread_2():
        y.load(ACQ)
        x.store(1, RLX)
    return [thread_1, thread_2]


def _lb_addr(call_through: str):
    """LB+addr, LB+addr-fun, LB+addr-ind-fun: the same accesses, inline / via a function / via a pointer."""
    def setup():
        x = atomic_int("x")
        y = [atomic_int("y[0]"), atomic_int("y[1]")]

        def load_store(a):
            y[a].load(RLX)            # atomic_load_explicit(y + a, ...)
            y[0].store(1, RLX)

        def thread_1():
            a = x.load(RLX)
            if call_through == "inline":
                y[a].load(RLX)
                y[0].store(1, RLX)
            else:
                fp = load_store       # "fun" calls it directly, "ind-fun" through a function pointer
                fp(a)

        def thread_2():
            r = y[0].load(RLX)
            x.store(r, REL)
        return [thread_1, thread_2]
    return setup


def lb_ctrl_rel():
    x, y = atomics("x", "y")

    def thread_1():
        r = x.load(RLX)
        if not r:
            y.store(1, RLX)
        else:
            y.store(2, RLX)

    def thread_2():
        y.load(RLX)
        x.store(1, REL)
    return [thread_1, thread_2]


def lb_ctrl():
    x, y = atomics("x", "y")

    def thread_1():
        r = x.load(RLX)
        if not r:
            y.store(1, RLX)
        else:
            y.store(2, RLX)

    def thread_2():
        r = y.load(RLX)
        if not r:
            x.store(1, RLX)
        else:
            x.store(2, RLX)
    return [thread_1, thread_2]


def lb_dep():
    x, y = atomics("x", "y")

    def thread_1():
        r = x.load(RLX)
        y.store(i32(r + 1), RLX)

    def thread_2():
        r = y.load(RLX)
        x.store(i32(r + 1), RLX)
    return [thread_1, thread_2]


def lb_fr_fr_data_data():
    x, y = atomics("x", "y")

    def thread_1():
        r0 = x.load(RLX)
        y.store(1 + (r0 ^ r0), RLX)

    def thread_2():
        y.load(RLX)
        r1 = y.load(RLX)
        x.store(1 + (r1 ^ r1), RLX)

    def thread_3():
        y.store(2, RLX)
    return [thread_1, thread_2, thread_3]


def lb_incmps():
    x, y, w, z = atomics("x", "y", "w", "z")

    def thread_1():
        x.load(ACQ)
        z.fetch_add(1, AR)

    def thread_2():
        z.fetch_add(1, AR)
        y.store(1, REL)

    def thread_3():
        y.load(ACQ)
        w.fetch_add(1, AR)

    def thread_4():
        w.fetch_add(1, AR)
        x.store(1, REL)
    return [thread_1, thread_2, thread_3, thread_4]


def lb_rel():
    x, y = atomics("x", "y")

    def thread_1():
        x.load(RLX)
        y.store(1, REL)

    def thread_2():
        y.load(RLX)
        x.store(1, REL)
    return [thread_1, thread_2]


def lb():
    x, y = atomics("x", "y")

    def thread_one():
        y.load(ACQ)
        x.store(1, REL)

    def thread_two():
        x.load(ACQ)
        y.store(1, REL)
    return [thread_one, thread_two]


def lb2():
    x, y = atomics("x", "y")

    def thread_1():
        x.load(RLX)
        y.store(1, RLX)

    def thread_2():
        y.load(RLX)
        x.store(1, RLX)
    return [thread_1, thread_2]


def lb3():
    a, b, c = atomics("a", "b", "c")

    def thread_1():
        a.load(RLX)
        b.store(1, RLX)

    def thread_2():
        b.load(RLX)
        c.store(1, RLX)

    def thread_3():
        c.load(RLX)
        a.store(1, RLX)
    return [thread_1, thread_2, thread_3]


def mcp_rrw():
    x = atomic_int("x")

    def thread_1():
        x.store(1, REL)

    def thread_2():
        x.store(2, REL)

    def thread_3():
        x.load(ACQ)
    return [thread_1, thread_2, thread_3]


# ------------------------------------------------------------------ MP family

def mp_incmp():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        y.load(ACQ)
        z.fetch_add(1, AR)

    def thread_2():
        z.fetch_add(1, AR)
        x.load(ACQ)

    def thread_3():
        x.store(1, REL)
        y.store(1, REL)
    return [thread_1, thread_2, thread_3]


def _mp_na(writer: str, reader: str, race_detection: bool = True):
    """MP+{rel,relf,rels}+{acq,acqf}: a non-atomic x published through y.

    ``writer``: rel (y=1 release), relf (release fence, y=1 relaxed), rels
    (y=0 release, then y=1 relaxed: not in the release sequence under C++20).
    ``reader``: acq (acquire load of y), acqf (relaxed load, then acquire fence).
    GenMC runs the rels rows with -disable-race-detection: x is then a relaxed
    atomic, which is what a non-atomic access is to GenMC without race detection.
    """
    def setup():
        x = Cell(0, name="x") if race_detection else atomic_int("x")
        y = atomic_int("y")

        def write_x(v):
            if race_detection:
                x.write(v)
            else:
                x.store(v, RLX)

        def read_x():
            return x.read() if race_detection else x.load(RLX)

        def thread_1():
            write_x(1)
            publish(y, writer)

        def thread_2():
            if acquire(y, reader):
                read_x()                    # r_x = x;
        return [thread_1, thread_2]
    return setup


def mp():
    x, y = atomics("x", "y")

    def thread_one():
        x.store(1, REL)
        y.store(1, REL)

    def thread_two():
        y.load(ACQ)
        x.load(ACQ)
    return [thread_one, thread_two]


def mp2():
    a, b, c, d = atomics("a", "b", "c", "d")

    def thread_1():
        a.store(1, RLX)
        c.store(1, RLX)
        fence(AR)
        b.store(1, RLX)
        d.store(1, RLX)

    def thread_2():
        b.load(RLX)
        fence(AR)
        a.load(RLX)

    def thread_3():
        d.load(RLX)
        fence(AR)
        c.load(RLX)
    return [thread_1, thread_2, thread_3]


def _mpu(writer: str, reader: str, race_detection: bool = True):
    """MPU+*+*: thread_2 bumps y with a relaxed fetch_add; thread_3 writes x if it sees y > 1."""
    def setup():
        x = Cell(0, name="x") if race_detection else atomic_int("x")
        y = atomic_int("y")

        def write_x(v):
            if race_detection:
                x.write(v)
            else:
                x.store(v, RLX)

        def thread_1():
            write_x(1)
            publish(y, writer)

        def thread_2():
            y.fetch_add(1, RLX)

        def thread_3():
            if acquire(y, reader, lambda v: v > 1):
                write_x(2)
        return [thread_1, thread_2, thread_3]
    return setup


def _mpu2(writer: str, reader: str, race_detection: bool = True):
    """MPU2+*+*: two relaxed CASes move y 1 -> 2 -> 3; thread_4 writes x if it sees y > 2."""
    def setup():
        x = Cell(0, name="x") if race_detection else atomic_int("x")
        y = atomic_int("y")

        def write_x(v):
            if race_detection:
                x.write(v)
            else:
                x.store(v, RLX)

        def thread_1():
            write_x(1)
            publish(y, writer)

        def thread_2():
            y.compare_exchange(2, 3, RLX, RLX)

        def thread_3():
            y.compare_exchange(1, 2, RLX, RLX)

        def thread_4():
            if acquire(y, reader, lambda v: v > 2):
                write_x(2)
        return [thread_1, thread_2, thread_3, thread_4]
    return setup


def rmwfix():
    x, y = atomics("x", "y")

    def thread_1():
        if y.load():
            x.fetch_add(1)
            x.fetch_add(1)

    def thread_2():
        x.fetch_add(1)

    def thread_3():
        y.store(42)
    return [thread_1, thread_2, thread_3]


def rwc_syncs():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, RLX)

    def thread_2():
        x.load(RLX)
        fence(SC)
        y.load(RLX)

    def thread_3():
        y.store(1, RLX)
        fence(SC)
        x.load(RLX)
    return [thread_1, thread_2, thread_3]


def _s_na(writer: str, reader: str, race_detection: bool = True):
    """S+*+*: thread_2 overwrites the non-atomic x if it sees y."""
    def setup():
        x = Cell(0, name="x") if race_detection else atomic_int("x")
        y = atomic_int("y")

        def write_x(v):
            if race_detection:
                x.write(v)
            else:
                x.store(v, RLX)

        def thread_1():
            write_x(1)
            publish(y, writer)

        def thread_2():
            if acquire(y, reader):
                write_x(2)
        return [thread_1, thread_2]
    return setup


def s():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(2, RLX)
        y.store(1, RLX)

    def thread_2():
        y.load(RLX)
        x.store(1, RLX)
    return [thread_1, thread_2]


# ------------------------------------------------------------------ SB family

def sb_2sc_scf():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)
        y.load(SC)

    def thread_2():
        y.store(1, RLX)
        fence(SC)
        x.load(RLX)
    return [thread_1, thread_2]


def sb_3sc_acq():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)
        y.load(SC)

    def thread_2():
        y.store(1, SC)
        x.load(ACQ)
    return [thread_1, thread_2]


def sb_3sc_rel():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)
        y.load(SC)

    def thread_2():
        y.store(1, REL)
        x.load(SC)
    return [thread_1, thread_2]


def sb_4sc():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, SC)
        y.load(SC)

    def thread_2():
        y.store(1, SC)
        x.load(SC)
    return [thread_1, thread_2]


def sb_assert():
    x, y = atomics("x", "y")
    r_x, r_y = Cell(0, name="r_x"), Cell(0, name="r_y")

    def thread_1():
        x.store(1)
        r_y.write(y.load())

    def thread_2():
        y.store(1)
        r_x.write(x.load())

    def final():
        assert not (r_x.read() == 0 and r_y.read() == 0)
    return [thread_1, thread_2], final


def sb_rfis():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, REL)
        x.load(SC)
        y.load(SC)

    def thread_2():
        y.store(1, REL)
        y.load(SC)
        x.load(SC)
    return [thread_1, thread_2]


def sb_scfs():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, RLX)
        fence(SC)
        y.load(RLX)

    def thread_2():
        y.store(1, RLX)
        fence(SC)
        x.load(RLX)
    return [thread_1, thread_2]


def sb():
    x, y = atomics("x", "y")

    def thread_one():
        x.store(1, REL)
        y.load(ACQ)

    def thread_two():
        y.store(1, REL)
        x.load(ACQ)
    return [thread_one, thread_two]


# ------------------------------------------------------------------ TC, W, WRC, WW, Z

def tc1():
    x, y = atomics("x", "y")

    def thread_1():
        r1 = x.load(RLX)
        if r1 >= 0:                     # always true for the values stored here
            y.store(1, RLX)

    def thread_2():
        r2 = y.load(RLX)
        x.store(r2, RLX)
    return [thread_1, thread_2]


def tc2():
    x, y = atomics("x", "y")

    def thread_1():
        r1 = x.load(RLX)
        r2 = x.load(RLX)
        if r1 == r2:
            y.store(1, RLX)

    def thread_2():
        r3 = y.load(RLX)
        x.store(r3, RLX)
    return [thread_1, thread_2]


def w_jw():
    x, y = atomics("x", "y")
    done = atomic_int("t1_joinable")     # stands for pthread_join(pid): thread_1's termination

    def thread_1():
        x.store(42, RLX)
        done.store(1, REL)              # thread exit (joined with acquire)

    def thread_2():
        while done.load(ACQ) == 0:      # pthread_join(pid, NULL)
            spin_loop()
        assert x.load(RLX) == 42
        y.store(42, RLX)
    return [thread_1, thread_2]


def w_rrr_w():
    x = atomic_int("x")

    def thread_1():
        x.store(1, RLX)

    def thread_2():
        a = x.load(RLX)
        b = x.load(RLX)
        c = x.load(RLX)
        assert not (a == 1 and b == 2 and c == 1)

    def thread_3():
        x.store(2, RLX)
    return [thread_1, thread_2, thread_3]


def w_rwc():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        x.store(1, RLX)
        z.store(1, REL)

    def thread_2():
        z.load(ACQ)
        fence(SC)
        y.load(RLX)

    def thread_3():
        y.store(1, RLX)
        fence(SC)
        x.load(RLX)
    return [thread_1, thread_2, thread_3]


def wrc_dep():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, RLX)

    def thread_2():
        r1 = x.load(RLX)
        y.store(r1, RLX)

    def thread_3():
        y.load(RLX)
        fence(AR)
        x.load(RLX)
    return [thread_1, thread_2, thread_3]


def wwr_2wr():
    x, y, z = atomics("x", "y", "z")

    def thread1():
        x.store(1)
        y.store(1)
        framemc.assume(z.load() == 0)

    def thread2():
        z.store(1)
        framemc.assume(y.load() == 2)

    def thread3():
        y.store(2)
        framemc.assume(x.load() == 0)
    return [thread1, thread2, thread3]


def wwmerge1():
    x, y = atomics("x", "y")

    def thread_1():
        x.load(ACQ)
        y.load(SC)

    def thread_2():
        x.store(1, SC)
        x.store(2, SC)

    def thread_3():
        y.store(1, SC)
        x.load(SC)
    return [thread_1, thread_2, thread_3]


def wwmerge2():
    x, y = atomics("x", "y")

    def thread_1():
        x.load(ACQ)
        y.load(SC)

    def thread_2():
        x.store(2, SC)

    def thread_3():
        y.store(1, SC)
        x.load(SC)
    return [thread_1, thread_2, thread_3]


def z6_acq():
    a, b, c = atomics("a", "b", "c")

    def thread_1():
        a.store(1, RLX)
        fence(SC)
        b.store(1, RLX)

    def thread_2():
        b.load(ACQ)
        c.store(1, RLX)

    def thread_3():
        c.store(2, RLX)
        fence(SC)
        a.load(RLX)
    return [thread_1, thread_2, thread_3]


def z6_u():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1)
        y.store(1, REL)

    def thread_2():
        y.fetch_add(1)
        y.load(RLX)

    def thread_3():
        y.store(3)
        x.load()
    return [thread_1, thread_2, thread_3]


# ------------------------------------------------------------------ the rest, alphabetically

def assume_ctrl():
    x, y = atomics("x", "y")

    def thread_1():
        framemc.assume(2 > y.load(RLX) or y.load(RLX) > 3)
        x.store(1, RLX)

    def thread_2():
        framemc.assume(x.load(RLX) < 3)
        y.store(3, RLX)
        fence(SC)
        y.store(4, RLX)
    return [thread_1, thread_2]


def atomicpo():
    x, y = atomics("x", "y")

    def thread_1():
        y.store(1, RLX)
        fence(AR)
        x.store(1, RLX)

    def thread_2():
        x.swap(1, RLX)
        y.swap(1, RLX)
    return [thread_1, thread_2]


def casdep():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        a = x.load(RLX)
        _ok, a = y.compare_exchange(a, 1, RLX, RLX)   # a failed CAS writes the value it saw into a
        z.store(a, RLX)

    def thread_2():
        y.store(2, RLX)
    return [thread_1, thread_2]


def ccr():
    x = atomic_int("x")

    def thread_1():
        x.compare_exchange(0, 42, RLX, RLX)

    def thread_2():
        x.compare_exchange(0, 17, RLX, RLX)
        x.load(RLX)
    return [thread_1, thread_2]


def cii():
    x = atomic_int("x")

    def thread_1():
        x.compare_exchange(1, 2, RLX, RLX)

    def thread_2():
        x.fetch_add(1, RLX)

    def thread_3():
        x.fetch_add(1, RLX)
    return [thread_1, thread_2, thread_3]


def cumul_release():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        x.store(1, RLX)
        y.store(1, REL)

    def thread_2():
        r1 = y.load(RLX)
        z.store(r1, RLX)

    def thread_3():
        z.load(RLX)
        fence(AR)
        x.load(RLX)
    return [thread_1, thread_2, thread_3]


def default():
    x = atomic_int("x")

    def thread_one():
        x.load(ACQ)
        x.load(ACQ)

    def thread_two():
        x.store(1, REL)

    def thread_three():
        x.store(2, REL)
    return [thread_one, thread_two, thread_three]


def detour():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        x.store(1, RLX)

    def thread_2():
        a = z.load(RLX)
        x.store(i32(a - 1), RLX)        # int arithmetic: 0 - 1 is -1
        b = x.load(RLX)
        y.store(b, RLX)

    def thread_3():
        c = y.load(RLX)
        z.store(c, RLX)
    return [thread_1, thread_2, thread_3]


def fr_w_w_w_reads():
    x = atomic_int("x")

    def thread_1():
        x.store(1, RLX)

    def thread_2():
        x.store(2, RLX)

    def thread_3():
        x.store(3, RLX)

    def thread_4():
        for _ in range(4):              # r1 .. r4
            x.load(RLX)
    return [thread_1, thread_2, thread_3, thread_4]


def inc_inc_rr_w_rr():
    x = atomic_int("x")
    a, b, c, d = (Cell(0, name=n) for n in "abcd")

    def thread_1():
        x.fetch_add(1, RLX)

    def thread_2():
        x.fetch_add(1, RLX)

    def thread_3():
        a.write(x.load(RLX))
        b.write(x.load(RLX))

    def thread_4():
        x.store(42, RLX)

    def thread_5():
        c.write(x.load(RLX))
        d.write(x.load(RLX))

    def final():
        assert not (a.read() == 42 and b.read() == 2 and c.read() == 1 and d.read() == 42)
    return [thread_1, thread_2, thread_3, thread_4, thread_5], final


def inc2w():
    x = atomic_int("x")

    def thread_1():
        x.fetch_add(1, RLX)

    def thread_2():
        x.store(4, REL)

    def thread_3():
        x.fetch_add(2, RLX)
    return [thread_1, thread_2, thread_3]


def isa2():
    a, b, c = atomics("a", "b", "c")

    def thread_1():
        a.store(1, RLX)
        b.store(1, REL)

    def thread_2():
        b.load(ACQ)
        c.store(1, REL)

    def thread_3():
        c.load(ACQ)
        a.load(RLX)
    return [thread_1, thread_2, thread_3]


def malloc_dep():
    count = atomic_int("count")

    def run():
        Cell(0, name="data")               # data_t *data = malloc(...): never accessed
        p = Cell(None, name="p")           # *p = malloc(sizeof(student))
        count.fetch_add(1, RLX)
        p.write("data")                    # p->data = data;
    return [run, run]


def ori():
    x, y = atomics("x", "y")

    def thread_1():
        x.fetch_add(1, RLX)
        y.store(1, REL)

    def thread_2():
        x.compare_exchange(0, 1, ACQ, ACQ)

    def thread_3():
        if y.load(RLX):
            x.store(4, REL)
    return [thread_1, thread_2, thread_3]


def peterz():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        x.store(1, RLX)
        fence(SC)
        y.load(RLX)

    def thread_2():
        y.store(1, RLX)
        z.store(1, REL)

    def thread_3():
        z.load(ACQ)
        fence(SC)
        x.load(RLX)
    return [thread_1, thread_2, thread_3]


def po_loc():
    x, y = atomics("x", "y")

    def thread_1():
        y.load(RLX)
        fence(AR)
        x.load(RLX)
        x.store(1, RLX)

    def thread_2():
        r2 = x.load(RLX)
        y.store(r2, RLX)
    return [thread_1, thread_2]


def psc_ar():
    x, y, z = atomics("x", "y", "z")
    res = Cell(0, name="res")

    def thread_1():
        a = y.load(RLX)
        framemc.assume(a == 1)
        fence(SC)
        b = z.load(RLX)
        framemc.assume(b == 0)

    def thread_2():
        z.store(1, RLX)
        fence(SC)
        x.store(1, RLX)

    def thread_3():
        d = x.load(RLX)
        if d == 1:
            y.store(1, RLX)
        framemc.assume(d == 1)
        res.write(d)
    return [thread_1, thread_2, thread_3]


def psc_base_notin_ar():
    x, y = atomics("x", "y")

    def thread_1():
        a = x.load(RLX)
        framemc.assume(a == 2)
        y.store(1)

    def thread_2():
        y.store(2)

    def thread_3():
        b = y.load(RLX)
        framemc.assume(b == 2)
        x.store(b, RLX)
    return [thread_1, thread_2, thread_3]


def psc_sbhbsb():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1)
        y.store(1)

    def thread_2():
        a = x.load(ACQ)
        framemc.assume(a == 1)
        b = y.load()
        framemc.assume(b == 0)
    return [thread_1, thread_2]


def rel_b_cumul_acq():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        x.store(1, RLX)
        y.store(1, REL)

    def thread_2():
        r1 = y.load(RLX)
        z.store(r1, RLX)

    def thread_3():
        z.load(RLX)
        fence(AR)
        x.load(RLX)

    def thread_4():
        y.load(ACQ)
    return [thread_1, thread_2, thread_3, thread_4]


def _rel_pporf(use_store: bool):
    def setup():
        x, y, z = atomics("x", "y", "z")

        def runA():
            x.load(RLX)
            if use_store:
                z.store(1, REL)
            else:
                z.swap(1, REL)
            y.store(1, REL)

        def runB():
            y.load(RLX)
            x.store(1, RLX)
        return [runA, runB]
    return setup


def relacq_b_cumul():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        x.store(1, RLX)
        y.store(1, REL)

    def thread_2():
        y.load(ACQ)
        z.store(1, RLX)

    def thread_3():
        z.load(RLX)
        fence(AR)
        x.load(RLX)
    return [thread_1, thread_2, thread_3]


def relseq():
    x, y = atomics("x", "y")

    def thread_1():
        x.store(1, RLX)
        y.store(1, REL)
        y.store(2, RLX)

    def thread_2():
        y.swap(3, RLX)

    def thread_3():
        y.load(RLX)
        fence(AR)
        x.load(RLX)
    return [thread_1, thread_2, thread_3]


def rfi_preserved():
    x, y, z = atomics("x", "y", "z")

    def thread_1():
        x.load(RLX)
        y.store(1, REL)
        b = y.load(RLX)
        z.store(b, RLX)

    def thread_2():
        c = z.load(RLX)
        x.store(c, RLX)
    return [thread_1, thread_2]


def rii():
    x = atomic_int("x")

    def thread_1():
        x.load(RLX)
        x.fetch_add(1, RLX)

    def thread_2():
        x.fetch_add(1, RLX)
    return [thread_1, thread_2]


def rinc_wr():
    x = atomic_int("x")

    def thread_1():
        x.fetch_add(1, RLX)

    def thread_2():
        x.store(2, RLX)
        x.load(RLX)
    return [thread_1, thread_2]


def riwi():
    x, y = atomics("x", "y")

    def thread_1():
        y.load(RLX)
        x.fetch_add(1, RLX)

    def thread_2():
        x.fetch_add(1, RLX)
        y.store(1, REL)
    return [thread_1, thread_2]


def small0():
    x = atomic_int("x")

    def thread_one():
        x.load(ACQ)

    def thread_two():
        x.load(ACQ)
        x.store(1, REL)

    def thread_three():
        x.store(2, REL)
    return [thread_one, thread_two, thread_three]


def small1():
    x, y, z = atomics("x", "y", "z")

    def thread_one():
        y.load(ACQ)
        z.load(ACQ)
        x.load(ACQ)

    def thread_two():
        x.store(1, REL)

    def thread_three():
        y.store(1, REL)
        z.store(1, REL)
    return [thread_one, thread_two, thread_three]


def viktor_relseq():
    lock = atomic_int("lock")

    def threadRa():
        lock.fetch_add(1, ACQ)
        lock.fetch_add(1, RLX)

    def threadR():
        lock.fetch_add(1, RLX)
        lock.fetch_add(1, RLX)

    def threadRr():
        lock.fetch_add(1, REL)

    def threadRs():
        lock.fetch_add(1, RLX)
    return [threadR, threadRa, threadRr, threadRs]     # creation order of main()


def wcii():
    x = atomic_int("x")

    def thread_1():
        x.store(5, REL)

    def thread_2():
        x.compare_exchange(1, 2, RLX, RLX)

    def thread_3():
        x.fetch_add(1, RLX)

    def thread_4():
        x.fetch_add(1, RLX)
    return [thread_1, thread_2, thread_3, thread_4]


def _wrw(n: int):
    def setup():
        x = atomic_int("x")

        def thread_0():
            x.store(1, REL)

        def thread_n(r):
            def run():
                x.load(RLX)
                x.store(r, REL)
            run.__name__ = f"thread_n({r})"
            return run
        return [thread_0] + [thread_n(i) for i in range(n)]
    return setup


# ------------------------------------------------------------------ registry rows

_RACE_OFF = "GenMC runs it with -disable-race-detection: x is a relaxed atomic here, so the racy read is counted"


def _t(name: str, file: str, setup, sc: int, rc11: int, note: str = "", args: str = "", fast: bool = True,
       label: str | None = None) -> GenmcTest:
    return GenmcTest(name=label or name, source=f"tests/correct/litmus/{name}/{file}", group="litmus",
                     setup=setup, sc=sc, rc11=rc11, note=note, args=args, fast=fast)


def _family(prefix: str, file_prefix: str, factory, counts: dict[tuple[str, str], tuple[int, int]]) -> list:
    rows = []
    for (w, r), (sc, rc11) in counts.items():
        rels = w == "rels"
        rows.append(_t(f"{prefix}+{w}+{r}", f"{file_prefix}+{w}+{r}.c", factory(w, r, race_detection=not rels),
                       sc, rc11, note=_RACE_OFF if rels else "", args="-disable-race-detection" if rels else ""))
    return rows


#: every litmus row, in GenMC's directory order
TESTS: list[GenmcTest] = [
    _t("2+2W+2sc+scf", "2+2w+2sc+scf.c", two_plus_two_w_2sc_scf, 3, 3),
    _t("2+2W+3sc+rel1", "2+2w+3sc+rel1.c", two_plus_two_w_3sc_rel1, 3, 4),
    _t("2+2W+3sc+rel2", "2+2w+3sc+rel2.c", two_plus_two_w_3sc_rel2, 3, 4),
    _t("2+2W+4sc", "2+2w+4sc.c", two_plus_two_w_4sc, 3, 3),
    _t("2+2W+scfs", "2+2w+scfs.c", two_plus_two_w_scfs, 3, 3),
    _t("2+2W", "2+2W.c", two_plus_two_w, 3, 4),
    _t("2CoWR", "2cowr.c", two_cowr, 4, 4),
    _t("CoRR", "corr.c", corr, 6, 6),
    _t("CoRR0", "corr0.c", corr0, 4, 4),
    _t("CoRR1", "corr1.c", corr1, 36, 36),
    _t("CoRR2", "corr2.c", corr2, 72, 72),
    _t("CoRW", "corw.c", corw, 3, 3),
    _t("CoWR", "cowr.c", cowr, 3, 3),
    _t("IRIW-acq-sc", "IRIW-acq-sc.c", iriw_acq_sc, 15, 16),
    _t("IRIWish", "IRIWish.c", iriwish, 27, 28),
    _t("JLT", "jlt.c", jlt, 8, 8),
    _t("LB+acq", "lb+acq.c", lb_acq, 3, 3),
    _t("LB+addr-fun", "lb+addr-fun.c", _lb_addr("fun"), 3, 3),
    _t("LB+addr-ind-fun", "lb+addr-fun.c", _lb_addr("ind-fun"), 3, 3),
    _t("LB+addr", "lb+addr.c", _lb_addr("inline"), 3, 3),
    _t("LB+ctrl+rel", "lb+ctrl+rel.c", lb_ctrl_rel, 3, 3),
    _t("LB+ctrl", "lb+ctrl.c", lb_ctrl, 3, 3),
    _t("LB+dep", "lb+dep.c", lb_dep, 3, 3),
    _t("LB+fr-fr-data+data", "LB+fr-fr-data+data.c", lb_fr_fr_data_data, 16, 18),
    _t("LB+incMPs", "LB+incMPs.c", lb_incmps, 15, 15),
    _t("LB+rel", "lb+rel.c", lb_rel, 3, 3),
    _t("LB", "lb.c", lb, 3, 3),
    _t("LB2", "lb.c", lb2, 3, 3),
    _t("LB3", "lb3.c", lb3, 7, 7),
    _t("MCP-rrw", "MCP-rrw.c", mcp_rrw, 6, 6),
    _t("MP+incMP", "MP+incMP.c", mp_incmp, 7, 7),
    *_family("MP", "mp", _mp_na, {("rel", "acq"): (2, 2), ("rel", "acqf"): (2, 2), ("relf", "acq"): (2, 2),
                                  ("relf", "acqf"): (2, 2), ("rels", "acq"): (3, 4), ("rels", "acqf"): (3, 4)}),
    _t("MP", "mp.c", mp, 3, 3),
    _t("MP2", "mp2.c", mp2, 9, 9),
    *_family("MPU", "mpu", _mpu, {("rel", "acq"): (6, 6), ("rel", "acqf"): (6, 6), ("relf", "acq"): (6, 6),
                                  ("relf", "acqf"): (6, 6), ("rels", "acq"): (12, 13), ("rels", "acqf"): (12, 13)}),
    *_family("MPU2", "mpu2", _mpu2, {("rel", "acq"): (14, 14), ("rel", "acqf"): (14, 14),
                                     ("relf", "acq"): (14, 14), ("relf", "acqf"): (14, 14),
                                     ("rels", "acq"): (35, 36), ("rels", "acqf"): (35, 36)}),
    _t("RMWFix", "rmwfix.c", rmwfix, 4, 4),
    _t("RWC+syncs", "RWC+syncs.c", rwc_syncs, 7, 7),
    *_family("S", "s", _s_na, {("rel", "acq"): (2, 2), ("rel", "acqf"): (2, 2), ("relf", "acq"): (2, 2),
                               ("relf", "acqf"): (2, 2), ("rels", "acq"): (3, 4), ("rels", "acqf"): (3, 4)}),
    _t("S", "s.c", s, 3, 4),
    _t("SB+2sc+scf", "sb+2sc+scf.c", sb_2sc_scf, 3, 3),
    _t("SB+3sc+acq", "sb+3sc+acq.c", sb_3sc_acq, 3, 4),
    _t("SB+3sc+rel", "sb+3sc+rel.c", sb_3sc_rel, 3, 4),
    _t("SB+4sc", "sb+4sc.c", sb_4sc, 3, 3),
    _t("SB+assert", "SB+assert.c", sb_assert, 3, 3),
    _t("SB+rfis", "SB+rfis.c", sb_rfis, 3, 4),
    _t("SB+scfs", "sb+scfs.c", sb_scfs, 3, 3),
    _t("SB", "sb.c", sb, 3, 4),
    _t("TC1", "tc1.c", tc1, 3, 3),
    _t("TC2", "variants/tc20.c", tc2, 4, 4),
    _t("W+JW", "W+JW.c", w_jw, 1, 1,
       note="thread_2 joins thread_1 (pthread_join inside a thread): modelled as a release flag thread_1 sets "
            "last and thread_2 spin-waits on with acquire; the pid handshake through main is dropped"),
    _t("W+RRR+W", "w+rrr+w.c", w_rrr_w, 20, 20),
    _t("W+RWC", "W+RWC.c", w_rwc, 7, 7),
    _t("WRC+dep", "variants/wrc+dep0.c", wrc_dep, 7, 8),
    _t("WWR+2WR", "wwr+2wr.c", wwr_2wr, 0, 0),
    _t("WWmerge1", "WWmerge1.c", wwmerge1, 15, 17),
    _t("WWmerge2", "WWmerge2.c", wwmerge2, 7, 8),
    _t("Z6+acq", "z6+acq.c", z6_acq, 7, 7),
    _t("Z6.U", "Z6.U.c", z6_u, 18, 22),
    _t("assume-ctrl", "assume-ctrl.c", assume_ctrl, 4, 4),
    _t("atomicpo", "atomicpo.c", atomicpo, 3, 4),
    _t("casdep", "casdep.c", casdep, 2, 2),
    _t("ccr", "ccr.c", ccr, 2, 2),
    _t("cii", "cii.c", cii, 6, 6),
    _t("cumul-release", "cumul-release.c", cumul_release, 7, 8),
    _t("default", "default.c", default, 12, 12),
    _t("detour", "detour.c", detour, 9, 9),
    _t("fr+w+w+w+reads", "fr+w+w+w+reads.c", fr_w_w_w_reads, 210, 210),
    _t("inc+inc+RR+W+RR", "inc+inc+rr+w+rr.c", inc_inc_rr_w_rr, 600, 600),
    _t("inc2w", "inc2w.c", inc2w, 6, 6),
    _t("isa2", "isa2.c", isa2, 7, 7),
    _t("malloc-dep", "variants/malloc-dep0.c", malloc_dep, 2, 2,
       note="the two malloc'd objects are thread-local Cells created by each thread"),
    _t("ori", "ori.c", ori, 5, 5),
    _t("peterZ", "peterZ.c", peterz, 7, 7),
    _t("po-loc", "po-loc.c", po_loc, 3, 3),
    _t("psc-ar", "psc-ar.c", psc_ar, 0, 1),
    _t("psc-base-notin-ar", "psc-base-notin-ar.c", psc_base_notin_ar, 1, 2),
    _t("psc-sbhbsb", "psc-sbhbsb.c", psc_sbhbsb, 1, 1),
    _t("rel-B-cumul-acq", "relbcumulacq.c", rel_b_cumul_acq, 14, 16),
    _t("rel-pporf", "rel-pporf.c", _rel_pporf(True), 3, 3, args="-DUSE_STORE",
       note="GenMC's args file builds only the -DUSE_STORE variant (a release store, not an exchange)"),
    _t("relacq-B-cumul", "relacq-b-cumul.c", relacq_b_cumul, 7, 8),
    _t("relseq", "relseq.c", relseq, 16, 20),
    _t("rfi-preserved", "rfi-preserved.c", rfi_preserved, 3, 3),
    _t("rii", "rii.c", rii, 3, 3),
    _t("rinc+wr", "rinc+wr.c", rinc_wr, 3, 3),
    _t("riwi", "riwi.c", riwi, 3, 3),
    _t("small0", "small0.c", small0, 9, 9),
    _t("small1", "small1.c", small1, 8, 8),
    _t("viktor-relseq", "viktor-relseq.c", viktor_relseq, 180, 180),
    _t("wcii", "wcii.c", wcii, 24, 24),
    *(_t("wrw", "wrw.c", _wrw(n), sc, rc11, args=f"-DN={n}", label=f"wrw(N={n})", fast=n < 4)
      for n, sc, rc11 in ((2, 22, 22), (3, 300, 300), (4, 6576, 6576))),
]
