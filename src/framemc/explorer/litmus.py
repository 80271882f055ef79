"""Small concurrent programs with known interleaving counts, for tests and benchmarks.

Design: each factory takes a size and returns a scenario ``setup`` in the
public API's shape (threads, plus a ``final`` that records the outcome into
the list it is given), so the same programs serve the DPOR count table, the
cross-check against the plain search, and ``benchmarks/dpor.py``.
"""

from __future__ import annotations

from typing import Any, Callable

from framemc.impl.atomics import Atomic, Ordering

__all__ = ["lastzero", "readers", "ainc", "casrot", "claim", "PROGRAMS", "EXPECTED"]

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
