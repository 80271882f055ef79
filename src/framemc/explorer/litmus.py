"""Small concurrent programs with known interleaving counts, for tests and benchmarks.

Design: each factory takes a size and returns a scenario ``setup`` in the
public API's shape (threads, plus a ``final`` that records the outcome into
the list it is given), so the same programs serve the DPOR count table, the
cross-check against the plain search, and ``benchmarks/dpor.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from framemc.sync import Atomic, Ordering, fence

__all__ = ["lastzero", "readers", "ainc", "casrot", "claim", "PROGRAMS", "EXPECTED", "C11Litmus", "C11_LITMUS"]

Setup = Callable[[], Any]

#: the UNUSED value a claim slot starts with
UNUSED = 255


def lastzero(n: int, outcomes: list | None = None) -> Setup:
    """Thread 0 scans a[n..0] for the last zero; thread j sets a[j] = a[j-1] + 1."""
    def setup() -> Any:
        a = [Atomic(0, name=f"a[{i}]") for i in range(n + 1)]

        def scanner() -> None:
            i = n
            while a[i].load() != 0:
                i -= 1

        def writer(j: int) -> Callable[[], None]:
            def run() -> None:
                a[j].store(a[j - 1].load() + 1)
            run.__name__ = f"writer{j}"
            return run

        def final() -> None:
            if outcomes is not None:
                outcomes.append(tuple(x.load() for x in a))
        return [scanner] + [writer(j) for j in range(1, n + 1)], final
    return setup


def readers(n: int, outcomes: list | None = None) -> Setup:
    """One thread writes x; n threads each read it once."""
    def setup() -> Any:
        x = Atomic(0, name="x")
        seen = [None] * n

        def writer() -> None:
            x.store(1)

        def reader(i: int) -> Callable[[], None]:
            def run() -> None:
                seen[i] = x.load(Ordering.ACQUIRE)
            return run

        def final() -> None:
            if outcomes is not None:
                outcomes.append(tuple(seen))
        return [writer] + [reader(i) for i in range(n)], final
    return setup


def ainc(n: int, outcomes: list | None = None) -> Setup:
    """n threads each fetch_add(x, 1)."""
    def setup() -> Any:
        x = Atomic(0, name="x")
        got = [None] * n

        def inc(i: int) -> Callable[[], None]:
            def run() -> None:
                got[i] = x.fetch_add(1)
            return run

        def final() -> None:
            assert x.load() == n
            if outcomes is not None:
                outcomes.append(tuple(got))
        return [inc(i) for i in range(n)], final
    return setup


def casrot(n: int, outcomes: list | None = None) -> Setup:
    """Thread i (1..n) does compare_exchange(x, i-1, i); here thread index i-1 runs it."""
    def setup() -> Any:
        x = Atomic(0, name="x")
        ok = [None] * n

        def rot(i: int) -> Callable[[], None]:
            def run() -> None:
                ok[i] = x.compare_exchange(i, i + 1)[0]
            return run

        def final() -> None:
            if outcomes is not None:
                outcomes.append((x.load(), tuple(ok)))
        return [rot(i) for i in range(n)], final
    return setup


def claim(n: int, outcomes: list | None = None) -> Setup:
    """n threads compare_exchange(slot, UNUSED, tid); exactly one wins."""
    def setup() -> Any:
        slot = Atomic(UNUSED, name="slot")

        def claimer(i: int) -> Callable[[], None]:
            def run() -> None:
                slot.compare_exchange(UNUSED, i)
            return run

        def final() -> None:
            assert slot.load() != UNUSED
            if outcomes is not None:
                outcomes.append(slot.load())
        return [claimer(i) for i in range(n)], final
    return setup


#: benchmark name -> factory
PROGRAMS: dict[str, Callable[..., Setup]] = {
    "lastzero": lastzero, "readers": readers, "ainc": ainc, "casrot": casrot, "claim": claim,
}

#: benchmark name -> {N: executions optimal DPOR must report under SC}
EXPECTED: dict[str, dict[int, int]] = {
    "lastzero": dict(zip(range(1, 11), (2, 5, 12, 28, 64, 144, 320, 704, 1536, 3328))),
    "readers": {n: 2 ** n for n in range(1, 9)},
    "ainc": {n: f for n, f in zip(range(1, 7), (1, 2, 6, 24, 120, 720))},
    "casrot": dict(zip(range(2, 8), (2, 5, 14, 43, 144, 523))),
    "claim": {n: n for n in range(1, 9)},
}


# ------------------------------------------------------------------ C11 litmus tests

_RLX, _ACQ, _REL, _SC = Ordering.RELAXED, Ordering.ACQUIRE, Ordering.RELEASE, Ordering.SEQ_CST


@dataclass(frozen=True)
class C11Litmus:
    """A weak-memory litmus test: a program, the outcome asked about, and whether RC11 allows it."""

    #: name, e.g. ``MP+rel+acq``
    name: str
    #: ``outcomes -> setup``; final() adds the outcome tuple to the set
    build: Callable[[set], Setup]
    #: the outcome asked about
    outcome: tuple[int, ...]
    #: True when RC11 allows the outcome (some execution shows it)
    allowed: bool


def _two(t0: Callable[..., None], t1: Callable[..., None], nregs: int, outcomes: set,
         finals: Callable[[Atomic, Atomic], tuple[int, ...]] = lambda x, y: ()) -> Setup:
    def setup() -> Any:
        x, y = Atomic(0, name="x"), Atomic(0, name="y")
        regs = [0] * nregs

        def final() -> None:
            outcomes.add(tuple(regs) + finals(x, y))
        return [lambda: t0(x, y, regs), lambda: t1(x, y, regs)], final
    return setup


def _mp(wx: Ordering, wy: Ordering, ry: Ordering, rx: Ordering) -> Callable[[set], Setup]:
    def t0(x: Atomic, y: Atomic, r: list) -> None:
        x.store(1, wx)
        y.store(1, wy)

    def t1(x: Atomic, y: Atomic, r: list) -> None:
        r[0] = y.load(ry)
        r[1] = x.load(rx)
    return lambda out: _two(t0, t1, 2, out)


def _sb(w: Ordering, r: Ordering) -> Callable[[set], Setup]:
    def t0(x: Atomic, y: Atomic, regs: list) -> None:
        x.store(1, w)
        regs[0] = y.load(r)

    def t1(x: Atomic, y: Atomic, regs: list) -> None:
        y.store(1, w)
        regs[1] = x.load(r)
    return lambda out: _two(t0, t1, 2, out)


def _sb_fences(out: set) -> Setup:
    def t0(x: Atomic, y: Atomic, regs: list) -> None:
        x.store(1, _RLX)
        fence(_SC)
        regs[0] = y.load(_RLX)

    def t1(x: Atomic, y: Atomic, regs: list) -> None:
        y.store(1, _RLX)
        fence(_SC)
        regs[1] = x.load(_RLX)
    return _two(t0, t1, 2, out)


def _mp_fences(out: set) -> Setup:
    def t0(x: Atomic, y: Atomic, regs: list) -> None:
        x.store(1, _RLX)
        fence(_REL)
        y.store(1, _RLX)

    def t1(x: Atomic, y: Atomic, regs: list) -> None:
        regs[0] = y.load(_RLX)
        fence(_ACQ)
        regs[1] = x.load(_RLX)
    return _two(t0, t1, 2, out)


def _mp_release_sequence(out: set) -> Setup:
    # y = 1 (rel) heads a release sequence that the other thread's fetch_add continues
    def setup() -> Any:
        x, y = Atomic(0, name="x"), Atomic(0, name="y")
        regs = [0, 0]

        def t0() -> None:
            x.store(1, _RLX)
            y.store(1, _REL)

        def t1() -> None:
            y.fetch_add(1, _RLX)

        def t2() -> None:
            regs[0] = y.load(_ACQ)
            regs[1] = x.load(_RLX)

        def final() -> None:
            out.add((1 if regs[0] == 2 else 0, regs[1]))
        return [t0, t1, t2], final
    return setup


def _corr(out: set) -> Setup:
    def t0(x: Atomic, y: Atomic, regs: list) -> None:
        x.store(1, _RLX)

    def t1(x: Atomic, y: Atomic, regs: list) -> None:
        regs[0] = x.load(_RLX)
        regs[1] = x.load(_RLX)
    return _two(t0, t1, 2, out)


def _cowr(out: set) -> Setup:
    def t0(x: Atomic, y: Atomic, regs: list) -> None:
        x.store(1, _RLX)
        regs[0] = x.load(_RLX)

    def t1(x: Atomic, y: Atomic, regs: list) -> None:
        x.store(2, _RLX)
    return _two(t0, t1, 1, out, lambda x, y: (x.peek(),))


def _corw(out: set) -> Setup:
    def t0(x: Atomic, y: Atomic, regs: list) -> None:
        regs[0] = x.load(_RLX)
        x.store(1, _RLX)

    def t1(x: Atomic, y: Atomic, regs: list) -> None:
        x.store(2, _RLX)
    return _two(t0, t1, 1, out, lambda x, y: (x.peek(),))


def _two_plus_two_w(out: set) -> Setup:
    def t0(x: Atomic, y: Atomic, regs: list) -> None:
        x.store(1, _RLX)
        y.store(2, _RLX)

    def t1(x: Atomic, y: Atomic, regs: list) -> None:
        y.store(1, _RLX)
        x.store(2, _RLX)
    return _two(t0, t1, 0, out, lambda x, y: (x.peek(), y.peek()))


def _lb(out: set) -> Setup:
    def t0(x: Atomic, y: Atomic, regs: list) -> None:
        regs[0] = x.load(_RLX)
        y.store(1, _RLX)

    def t1(x: Atomic, y: Atomic, regs: list) -> None:
        regs[1] = y.load(_RLX)
        x.store(1, _RLX)
    return _two(t0, t1, 2, out)


def _iriw(order: Ordering) -> Callable[[set], Setup]:
    def build(out: set) -> Setup:
        def setup() -> Any:
            x, y = Atomic(0, name="x"), Atomic(0, name="y")
            regs = [0, 0, 0, 0]

            def reader(first: Atomic, second: Atomic, at: int) -> Callable[[], None]:
                def run() -> None:
                    regs[at] = first.load(order)
                    regs[at + 1] = second.load(order)
                return run

            def final() -> None:
                out.add(tuple(regs))
            writes = [lambda: x.store(1, _SC if order is _SC else _REL),
                      lambda: y.store(1, _SC if order is _SC else _REL)]
            return writes + [reader(x, y, 0), reader(y, x, 2)], final
        return setup
    return build


#: every C11 litmus test, by name, with the RC11 answer
C11_LITMUS: dict[str, C11Litmus] = {t.name: t for t in (
    C11Litmus("MP+rel+acq", _mp(_RLX, _REL, _ACQ, _RLX), (1, 0), False),
    C11Litmus("MP+rlx", _mp(_RLX, _RLX, _RLX, _RLX), (1, 0), True),
    C11Litmus("SB+rel+acq", _sb(_REL, _ACQ), (0, 0), True),
    C11Litmus("SB+sc", _sb(_SC, _SC), (0, 0), False),
    C11Litmus("SB+fence.sc", _sb_fences, (0, 0), False),
    C11Litmus("MP+fence.rel+fence.acq", _mp_fences, (1, 0), False),
    C11Litmus("MP+release-sequence", _mp_release_sequence, (1, 0), False),
    C11Litmus("CoRR", _corr, (1, 0), False),
    C11Litmus("CoWR", _cowr, (2, 1), False),
    C11Litmus("CoRW", _corw, (2, 2), False),
    C11Litmus("2+2W", _two_plus_two_w, (1, 1), True),
    C11Litmus("LB", _lb, (1, 1), False),
    C11Litmus("IRIW+acq", _iriw(_ACQ), (1, 0, 1, 0), True),
    C11Litmus("IRIW+sc", _iriw(_SC), (1, 0, 1, 0), False),
)}
