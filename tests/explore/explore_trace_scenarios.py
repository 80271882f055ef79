"""Small scenarios whose counterexamples the trace tests pin down."""

from framemc import Atomic, Cell, Ordering


def flag_race():
    """Thread 1 writes data without waiting for the flag: a data race."""
    data = Cell(0, name="data")
    flag = Atomic(0, name="flag")

    def producer():
        data.write(1)
        flag.store(1, Ordering.RELEASE)

    def consumer():
        flag.load(Ordering.ACQUIRE)
        data.write(2)
    return [producer, consumer]


def lost_update():
    """Two threads increment with load + store: an update can be lost."""
    x = Atomic(0, name="x")

    def inc():
        x.store(x.load() + 1)

    def final():
        assert x.load() == 2, "lost update"
    return [inc, inc], final
