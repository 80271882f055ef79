"""Binary relations as Python sets of pairs, and the few operators the axioms need.

Nothing clever: every operator is the textbook definition, so that the
axioms in ``rc11`` read like the paper.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterable

Rel = frozenset  # a relation is a (frozen)set of (a, b) pairs


def rel(pairs: Iterable[tuple]) -> frozenset:
    return frozenset(pairs)


def ident(events: Iterable) -> frozenset:
    """[S]: the identity relation on a set of events."""
    return frozenset((e, e) for e in events)


def union(*rels: Iterable[tuple]) -> frozenset:
    out: set = set()
    for r in rels:
        out |= set(r)
    return frozenset(out)


def inverse(r: Iterable[tuple]) -> frozenset:
    return frozenset((b, a) for a, b in r)


def compose2(r: Iterable[tuple], s: Iterable[tuple]) -> frozenset:
    """r ; s = {(a, c) | (a, b) in r and (b, c) in s}."""
    succ = defaultdict(set)
    for b, c in s:
        succ[b].add(c)
    return frozenset((a, c) for a, b in r for c in succ.get(b, ()))


def seq(*rels: Iterable[tuple]) -> frozenset:
    """r1 ; r2 ; ... ; rn."""
    out = frozenset(rels[0])
    for r in rels[1:]:
        out = compose2(out, r)
    return out


def opt(r: Iterable[tuple], events: Iterable) -> frozenset:
    """r? = r ∪ id (on ``events``)."""
    return union(r, ident(events))


def tc(r: Iterable[tuple]) -> frozenset:
    """r+ : the transitive closure: (a, c) such that c is reachable from a by one or more r steps."""
    succ = defaultdict(set)
    for a, b in r:
        succ[a].add(b)
    out = set()
    for a in list(succ):
        seen: set = set()
        stack = list(succ[a])
        while stack:
            b = stack.pop()
            if b not in seen:
                seen.add(b)
                stack.extend(succ.get(b, ()))
        out.update((a, b) for b in seen)
    return frozenset(out)


def filt(r: Iterable[tuple], pred: Callable[[object, object], bool]) -> frozenset:
    return frozenset((a, b) for a, b in r if pred(a, b))


def restrict(r: Iterable[tuple], dom: Iterable | None = None, rng: Iterable | None = None) -> frozenset:
    """[dom] ; r ; [rng]."""
    d = None if dom is None else set(dom)
    g = None if rng is None else set(rng)
    return frozenset((a, b) for a, b in r if (d is None or a in d) and (g is None or b in g))


def irreflexive(r: Iterable[tuple]) -> bool:
    return all(a != b for a, b in r)


def acyclic(r: Iterable[tuple]) -> bool:
    """No cycle (equivalently, irreflexive(r+)): Kahn's algorithm removes every node iff r is acyclic."""
    pairs = set(r)
    succ = defaultdict(set)
    indeg: dict = defaultdict(int)
    nodes = set()
    for a, b in pairs:
        succ[a].add(b)
        indeg[b] += 1
        nodes.update((a, b))
    ready = [n for n in nodes if indeg[n] == 0]
    removed = 0
    while ready:
        n = ready.pop()
        removed += 1
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    return removed == len(nodes)


def total_order(seq_: list) -> frozenset:
    """The strict total order listing ``seq_`` first to last."""
    return frozenset((seq_[i], seq_[j]) for i in range(len(seq_)) for j in range(i + 1, len(seq_)))
