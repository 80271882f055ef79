"""A seeded generator of random straight-line DSL programs."""

from __future__ import annotations

import random

from .dsl import FAIL_ORDERS, FENCE_ORDERS, LOAD_ORDERS, RMW_ORDERS, STORE_ORDERS, Program

LOCS = ("x", "y", "z")
MUTEXES = ("m", "n")


def random_program(seed: int, max_events: int = 8, min_threads: int = 2, max_threads: int = 4,
                   p_all_sc: float = 0.2, p_lock: float = 0.2, p_watch: float = 0.3) -> Program:
    """A random program: 2-4 threads, 1-3 locations, at most ``max_events`` ops in all.

    With probability ``p_all_sc`` every access and fence is SeqCst; with
    ``p_watch`` the program carries a watched forbidden value tuple.
    """
    rng = random.Random(seed)
    nthreads = rng.randint(min_threads, max_threads)
    nlocs = rng.randint(1, 3)
    locs = LOCS[:nlocs]
    nevents = rng.randint(nthreads, max(nthreads, max_events))
    sizes = [1] * nthreads
    for _ in range(nevents - nthreads):
        sizes[rng.randrange(nthreads)] += 1
    all_sc = rng.random() < p_all_sc
    nmutex = rng.choice((1, 1, 2))

    def order(choices):
        return "sc" if all_sc else rng.choice(choices)

    stored = [1, 2, 3]

    def access():
        loc = rng.choice(locs)
        kind = rng.choices(("load", "store", "cas", "fetch_add", "swap", "fence"), (30, 25, 14, 10, 8, 8))[0]
        if kind == "load":
            return ("load", loc, order(LOAD_ORDERS))
        if kind == "store":
            return ("store", loc, rng.choice(stored), order(STORE_ORDERS))
        if kind == "cas":
            return ("cas", loc, rng.choice((0, 0, 1, 1, 2, 3)), rng.choice(stored), order(RMW_ORDERS),
                    order(FAIL_ORDERS))
        if kind == "fetch_add":
            return ("fetch_add", loc, rng.choice((1, 1, 2)), order(RMW_ORDERS))
        if kind == "swap":
            return ("swap", loc, rng.choice(stored), order(RMW_ORDERS))
        return ("fence", order(FENCE_ORDERS))

    threads = []
    for size in sizes:
        ops = [access() for _ in range(size)]
        if size >= 3 and rng.random() < p_lock:
            # replace a contiguous run of at least 2 ops by lock(m); ...; unlock(m)
            a = rng.randrange(0, size - 1)
            b = rng.randrange(a + 1, size)
            m = MUTEXES[rng.randrange(nmutex)]
            ops[a] = ("lock", m)
            ops[b] = ("unlock", m)
        threads.append(tuple(ops))
    watch = None
    if rng.random() < p_watch:
        candidates = [0, 1, 2, 3, 4]
        watch = tuple(rng.choice(candidates[:4] if rng.random() < 0.8 else candidates) for _ in locs)
    return Program(tuple(threads), tuple(locs), (), watch)
