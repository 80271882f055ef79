"""The allocator: each CPU keeps a small free list; an empty list refills a batch from a global pool under a lock.

Design: frames are plain numbers.  The global pool is a stack of free frames
guarded by one ``Mutex``; each CPU's free list is touched by that CPU only,
so it needs no lock.  ``alloc`` pops from the CPU's list, refilling up to
``BATCH`` frames from the pool first when the list is empty; ``free`` pushes
onto the CPU's list; ``flush`` gives a CPU's whole list back to the pool.

The state lives in framemc's ``Cell`` stand-ins, so that framemc's explorer
sees every access (and flags one made without the lock as a data race).
The planted bug ``refill-without-lock`` reads and shrinks the pool without
taking the lock: two CPUs refilling at once can both take the same frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from framemc import Cell, Mutex

__all__ = ["BATCH", "BUGS", "PerCpuPool", "Snapshot"]

#: frames a refill takes from the pool at most
BATCH = 2
#: the planted bugs this allocator honours
BUGS = frozenset({"refill-without-lock"})


@dataclass(frozen=True)
class Snapshot:
    """The allocator's books as plain values."""

    #: frames of the address space
    nframes: int
    #: frames in the global pool, bottom to top
    pool: tuple[int, ...]
    #: each CPU's free list
    lists: tuple[tuple[int, ...], ...]
    #: frames handed out, with the CPU that allocated them
    used: tuple[tuple[int, int], ...]


class PerCpuPool:
    """Per-CPU free lists over a locked global pool of ``nframes`` frames."""

    def __init__(self, nframes: int, ncpus: int, *, bugs: frozenset[str] = frozenset()) -> None:
        """All frames start in the pool; ``bugs`` switches planted bugs on."""
        unknown = sorted(set(bugs) - BUGS)
        if unknown:
            raise ValueError(f"unknown bug {unknown[0]!r}; this allocator knows {', '.join(sorted(BUGS))}")
        self.nframes = nframes
        self.bugs = frozenset(bugs)
        self._lock = Mutex(name="pool.lock")
        self._pool = Cell(tuple(range(nframes)), name="pool")
        self._lists = [Cell((), name=f"list[{cpu}]") for cpu in range(ncpus)]
        self._used = Cell((), name="used")

    def _refill(self, cpu: int) -> None:
        if "refill-without-lock" in self.bugs:
            pool = self._pool.read()
            self._pool.write(pool[:-BATCH])
        else:
            with self._lock:
                pool = self._pool.read()
                self._pool.write(pool[:-BATCH])
        self._lists[cpu].write(self._lists[cpu].read() + pool[-BATCH:][::-1])

    def alloc(self, cpu: int) -> int | None:
        """A free frame for ``cpu``, or None when its list and the pool are empty."""
        if not self._lists[cpu].read():
            self._refill(cpu)
        mine = self._lists[cpu].read()
        if not mine:
            return None
        self._lists[cpu].write(mine[:-1])
        with self._lock:
            self._used.write(self._used.read() + ((mine[-1], cpu),))
        return mine[-1]

    def free(self, cpu: int, frame: int) -> None:
        """Give ``frame`` (allocated by any CPU) back to ``cpu``'s list."""
        with self._lock:
            used = self._used.read()
            if not any(f == frame for f, _ in used):
                raise ValueError(f"frame {frame} is not allocated")
            self._used.write(tuple(u for u in used if u[0] != frame))
        self._lists[cpu].write(self._lists[cpu].read() + (frame,))

    def flush(self, cpu: int) -> None:
        """Give ``cpu``'s whole list back to the pool."""
        mine = self._lists[cpu].read()
        self._lists[cpu].write(())
        with self._lock:
            self._pool.write(self._pool.read() + mine)

    def snapshot(self) -> Snapshot:
        """The books as plain values (no scheduling point)."""
        return Snapshot(self.nframes, self._pool.peek(), tuple(c.peek() for c in self._lists), self._used.peek())
