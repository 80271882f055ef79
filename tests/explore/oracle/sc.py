"""SC by brute force: run every interleaving of the threads, one op at a time.

Each op is one atomic step on a single shared memory (fences do nothing under
SC); a lock is enabled only while its mutex is free.  For each complete
interleaving we record its execution graph -- for every read (load, CAS
whether it succeeds or not, the read of an RMW or a lock) the write it read,
and for every location the order of its writes -- and its outcome.  Distinct
graphs are distinct Mazurkiewicz traces, so their number is what an optimal
explorer must report under SC.  We also collect every state (the tuple of
atomic values) seen after any prefix of any interleaving, for watched
invariants.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .axiomatic import MASK, mutex_loc
from .dsl import Program, outcome_key


@dataclass
class SCResult:
    count: int
    outcomes: Counter
    keys: set
    states: set            # value tuples (in Program.locations order) after any prefix
    interleavings: int

    @property
    def outcome_set(self) -> set:
        return set(self.outcomes)


def sc_interleavings(prog: Program) -> SCResult:
    threads = prog.threads
    n = len(threads)
    locs = list(prog.locations)
    keys_outcome: dict = {}
    states: set = set()
    leaves = 0

    # state: pcs, memory values, last write per location, write order per location, rf, reads, holders
    def run(pcs, mem, last, co, rf, reads, held):
        nonlocal leaves
        states.add(tuple(mem[l] for l in locs))
        progressed = False
        for t in range(n):
            i = pcs[t]
            if i == len(threads[t]):
                continue
            op = threads[t][i]
            k = op[0]
            if k == "lock" and held[op[1]] is not None:
                continue  # not enabled
            progressed = True
            me = (t, i)
            mem2, last2, co2, rf2, reads2, held2 = dict(mem), dict(last), dict(co), dict(rf), list(reads), dict(held)

            def write(loc, value):
                mem2[loc] = value
                last2[loc] = me
                co2[loc] = co2[loc] + (me,)

            if k == "load":
                rf2[me] = last[op[1]]
                reads2[t] = reads2[t] + (mem[op[1]],)
            elif k == "store":
                write(op[1], op[2])
            elif k in ("fetch_add", "swap", "cas"):
                loc = op[1]
                old = mem[loc]
                rf2[me] = last[loc]
                reads2[t] = reads2[t] + (old,)
                if k == "fetch_add":
                    write(loc, (old + op[2]) & MASK)
                elif k == "swap":
                    write(loc, op[2])
                elif old == op[2]:
                    write(loc, op[3])
            elif k == "fence":
                pass
            elif k == "lock":
                loc = mutex_loc(op[1])
                assert mem[loc] == 0
                rf2[me] = last[loc]
                write(loc, 1)
                held2[op[1]] = t
            elif k == "unlock":
                write(mutex_loc(op[1]), 0)
                held2[op[1]] = None
            else:
                raise ValueError(op)
            pcs2 = pcs[:t] + (i + 1,) + pcs[t + 1:]
            run(pcs2, mem2, last2, co2, rf2, reads2, held2)
        if not progressed:
            assert all(pcs[t] == len(threads[t]) for t in range(n)), "deadlock in a lock-balanced program?"
            leaves += 1
            key = (tuple(sorted(rf.items())), tuple(sorted((l, order) for l, order in co.items())))
            outcome = outcome_key(reads, {l: mem[l] for l in locs})
            if key in keys_outcome:
                assert keys_outcome[key] == outcome, "one graph, two outcomes"
            keys_outcome[key] = outcome

    all_locs = locs + [mutex_loc(m) for m in prog.mutexes]
    run(tuple(0 for _ in threads), {l: 0 for l in all_locs}, {l: "init" for l in all_locs},
        {l: () for l in all_locs}, {}, [() for _ in threads], {m: None for m in prog.mutexes})
    outcomes = Counter(keys_outcome.values())
    return SCResult(len(keys_outcome), outcomes, set(keys_outcome), states, leaves)
