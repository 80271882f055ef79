"""Axiomatic enumeration of execution graphs: RC11 (C++20 release sequences) and, as a cross-check, SC.

For a straight-line program the events of each thread are fixed except for
compare-exchanges, which write only when they succeed.  So we guess, for every
CAS, whether it succeeds; build the events; enumerate every modification
order (co) of every location and every reads-from (rf) choice; compute the
values the reads return (which must agree with the guesses, and every lock
must read the "unlocked" value 0); and keep the candidates that satisfy the
model's axioms, evaluated directly from their definitions on sets of pairs.

Event model (one event per memory action):
  load            R(loc, ord)
  store           W(loc, val, ord)
  fetch_add/swap  R(loc, rmode) -rmw-> W(loc, f(old), wmode)
  cas, succeeds   R(loc, rmode) -rmw-> W(loc, new, wmode)
  cas, fails      R(loc, fail_ord)
  fence           F(ord)
  lock(m)         R(m, acq) -rmw-> W(m, 1, rlx)   (must read 0: from init or an unlock)
  unlock(m)       W(m, 0, rel)
  init            W(loc, 0, na) for every atomic and mutex, po-before every other event
An RMW of ordering o has a read of mode acq if o ∈ {acq, acqrel}, sc if o = sc, else rlx,
and a write of mode rel if o ∈ {rel, acqrel}, sc if o = sc, else rlx (as in RC11).

RC11 (Lahav et al., PLDI 2017, with the C++20 release sequence of P0982R1):
  rs   = [W] ; (rf ; rmw)*
  sw   = [E⊒rel] ; ([F] ; po)? ; rs ; rf ; [R⊒rlx] ; (po ; [F])? ; [E⊒acq]
  hb   = (po ∪ sw)+
  fr   = rf⁻¹ ; co
  eco  = (rf ∪ co ∪ fr)+
  scb  = po ∪ po|≠loc ; hb ; po|≠loc ∪ hb|loc ∪ co ∪ fr
  psc_base = ([E^sc] ∪ [F^sc] ; hb?) ; scb ; ([E^sc] ∪ hb? ; [F^sc])
  psc_F    = [F^sc] ; (hb ∪ hb ; eco ; hb) ; [F^sc]
  COHERENCE     irreflexive(hb ; eco?)
  ATOMICITY     rmw ∩ (fr ; co) = ∅
  SC            acyclic(psc_base ∪ psc_F)
  NO-THIN-AIR   acyclic(po ∪ rf)
SC (the cross-check): acyclic(po ∪ rf ∪ co ∪ fr) and ATOMICITY.

Graph keys have the same shape as the interleaving enumerator's (``sc.py``):
(rf as sorted ((thread, index) of the read, (thread, index) of the write or
"init")), co as ((location, (writes first to last, init left out)), ...)),
so the two SC enumerations can be compared key by key.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from .dsl import Program, outcome_key
from .relations import (acyclic, compose2, filt, ident, inverse, irreflexive, opt, restrict, seq, tc,
                        total_order, union)

MASK = (1 << 64) - 1

_RMW_READ = {"rlx": "rlx", "acq": "acq", "rel": "rlx", "acqrel": "acq", "sc": "sc"}
_RMW_WRITE = {"rlx": "rlx", "acq": "rlx", "rel": "rel", "acqrel": "rel", "sc": "sc"}


def is_rel(mode: str) -> bool:
    return mode in ("rel", "acqrel", "sc")


def is_acq(mode: str) -> bool:
    return mode in ("acq", "acqrel", "sc")


def is_atomic(mode: str) -> bool:
    return mode != "na"


def mutex_loc(m: str) -> str:
    return "mutex:" + m


@dataclass
class Ev:
    id: int
    thread: int              # -1 for an initialisation write
    index: int               # the op's index in its thread (-1 for init)
    kind: str                # "R", "W" or "F"
    loc: Optional[str]       # None for a fence
    mode: str                # "na", "rlx", "acq", "rel", "acqrel", "sc"
    op: Optional[tuple] = None
    value: Optional[int] = None   # the value a store/unlock/init writes (RMW writes: computed)

    @property
    def name(self):
        return "init" if self.thread < 0 else (self.thread, self.index)


@dataclass
class Skeleton:
    """The events of one guess of CAS outcomes, with po and rmw."""

    events: list
    po: frozenset
    rmw: frozenset
    reads: list                # read events, in id order
    writes: dict               # loc -> non-init write events
    init: dict                 # loc -> init event
    thread_reads: list = field(default_factory=list)   # per thread: read events whose value is reported
    cas_guess: dict = field(default_factory=dict)      # read event id -> (expected, guessed success)


def build(prog: Program, guess: dict) -> Skeleton:
    """The events of ``prog`` when CAS (thread, index) succeeds iff ``guess[(thread, index)]``."""
    events: list = []

    def new(*args, **kw) -> Ev:
        e = Ev(len(events), *args, **kw)
        events.append(e)
        return e

    init = {}
    for loc in prog.locations:
        init[loc] = new(-1, -1, "W", loc, "na", None, 0)
    for m in prog.mutexes:
        init[mutex_loc(m)] = new(-1, -1, "W", mutex_loc(m), "na", None, 0)
    po_pairs = set()
    rmw = set()
    thread_reads = []
    cas_guess = {}
    per_thread = []
    for t, ops in enumerate(prog.threads):
        mine = []
        reported = []
        for i, op in enumerate(ops):
            k = op[0]
            if k == "load":
                r = new(t, i, "R", op[1], op[2], op)
                mine.append(r)
                reported.append(r)
            elif k == "store":
                mine.append(new(t, i, "W", op[1], op[3], op, op[2]))
            elif k in ("fetch_add", "swap"):
                r = new(t, i, "R", op[1], _RMW_READ[op[3]], op)
                w = new(t, i, "W", op[1], _RMW_WRITE[op[3]], op)
                mine += [r, w]
                rmw.add((r.id, w.id))
                reported.append(r)
            elif k == "cas":
                ok = guess[(t, i)]
                if ok:
                    r = new(t, i, "R", op[1], _RMW_READ[op[4]], op)
                    w = new(t, i, "W", op[1], _RMW_WRITE[op[4]], op)
                    mine += [r, w]
                    rmw.add((r.id, w.id))
                else:
                    r = new(t, i, "R", op[1], op[5], op)
                    mine.append(r)
                cas_guess[r.id] = (op[2], ok)
                reported.append(r)
            elif k == "fence":
                mine.append(new(t, i, "F", None, op[1], op))
            elif k == "lock":
                r = new(t, i, "R", mutex_loc(op[1]), "acq", op)
                w = new(t, i, "W", mutex_loc(op[1]), "rlx", op, 1)
                mine += [r, w]
                rmw.add((r.id, w.id))
            elif k == "unlock":
                mine.append(new(t, i, "W", mutex_loc(op[1]), "rel", op, 0))
            else:
                raise ValueError(op)
        per_thread.append(mine)
        thread_reads.append(reported)
        for a in range(len(mine)):
            for b in range(a + 1, len(mine)):
                po_pairs.add((mine[a].id, mine[b].id))
    for e0 in init.values():
        for e in events:
            if e.thread >= 0:
                po_pairs.add((e0.id, e.id))
    reads = [e for e in events if e.kind == "R"]
    writes = {loc: [e for e in events if e.kind == "W" and e.thread >= 0 and e.loc == loc] for loc in init}
    return Skeleton(events, frozenset(po_pairs), frozenset(rmw), reads, writes, init, thread_reads, cas_guess)


def _cas_ops(prog: Program) -> list:
    return [(t, i) for t, ops in enumerate(prog.threads) for i, op in enumerate(ops) if op[0] == "cas"]


def _values(sk: Skeleton, rf: dict) -> Optional[dict]:
    """Event id -> value read (reads) or written (writes), or None if some value is undetermined."""
    ev = sk.events
    val: dict = {}
    for e in ev:
        if e.kind == "W" and e.value is not None:
            val[e.id] = e.value
    rmw_of_write = {w: r for r, w in sk.rmw}
    changed = True
    while changed:
        changed = False
        for e in ev:
            if e.id in val:
                continue
            if e.kind == "R":
                src = rf[e.id]
                if src in val:
                    val[e.id] = val[src]
                    changed = True
            elif e.kind == "W":
                r = rmw_of_write[e.id]
                if r in val:
                    old = val[r]
                    op = e.op
                    if op[0] == "fetch_add":
                        val[e.id] = (old + op[2]) & MASK
                    elif op[0] == "swap":
                        val[e.id] = op[2]
                    elif op[0] == "cas":
                        val[e.id] = op[3]
                    else:
                        raise AssertionError(op)
                    changed = True
    if any(e.kind != "F" and e.id not in val for e in ev):
        return None
    return val


def rc11_consistent(sk: Skeleton, rf: dict, co: dict, po_hb_po: str = "neq-loc") -> bool:
    """The RC11 axioms for the candidate (rf: read id -> write id; co: loc -> [write ids] with init first)."""
    ev = sk.events
    E = [e.id for e in ev]
    po = sk.po
    rmw = sk.rmw
    rf_rel = frozenset((w, r) for r, w in rf.items())
    co_rel = union(*(total_order(order) for order in co.values()))
    fr = seq(inverse(rf_rel), co_rel)
    # NO-THIN-AIR
    if not acyclic(union(po, rf_rel)):
        return False
    # ATOMICITY
    if rmw & seq(fr, co_rel):
        return False
    W = [e.id for e in ev if e.kind == "W"]
    F = [e.id for e in ev if e.kind == "F"]
    R_rlx = [e.id for e in ev if e.kind == "R" and is_atomic(e.mode)]
    E_rel = [e.id for e in ev if is_rel(e.mode)]
    E_acq = [e.id for e in ev if is_acq(e.mode)]
    rs = seq(ident(W), opt(tc(seq(rf_rel, rmw)), E))
    sw = seq(ident(E_rel), opt(seq(ident(F), po), E), rs, rf_rel, ident(R_rlx), opt(seq(po, ident(F)), E),
             ident(E_acq))
    hb = tc(union(po, sw))
    eco = tc(union(rf_rel, co_rel, fr))
    # COHERENCE: irreflexive(hb ; eco?)
    if not irreflexive(hb) or not irreflexive(seq(hb, eco)):
        return False
    # SC
    loc = {e.id: e.loc for e in ev}
    same_loc = lambda a, b: loc[a] is not None and loc[a] == loc[b]  # noqa: E731
    po_neq = filt(po, lambda a, b: not same_loc(a, b))
    hb_loc = filt(hb, same_loc)
    if po_hb_po == "neq-loc":      # RC11 as published: po|≠loc ; hb ; po|≠loc
        middle = seq(po_neq, hb, po_neq)
    elif po_hb_po == "any":        # variant (see module doc): po ; hb ; po
        middle = seq(po, hb, po)
    else:
        raise ValueError(po_hb_po)
    scb = union(po, middle, hb_loc, co_rel, fr)
    E_sc = [e.id for e in ev if e.mode == "sc"]
    F_sc = [e.id for e in ev if e.kind == "F" and e.mode == "sc"]
    hb_opt = opt(hb, E)
    left = union(ident(E_sc), seq(ident(F_sc), hb_opt))
    right = union(ident(E_sc), seq(hb_opt, ident(F_sc)))
    psc_base = seq(left, scb, right)
    psc_f = seq(ident(F_sc), union(hb, seq(hb, eco, hb)), ident(F_sc))
    return acyclic(union(psc_base, psc_f))


def sc_consistent(sk: Skeleton, rf: dict, co: dict) -> bool:
    """SC: acyclic(po ∪ rf ∪ co ∪ fr) and atomicity."""
    rf_rel = frozenset((w, r) for r, w in rf.items())
    co_rel = union(*(total_order(order) for order in co.values()))
    fr = seq(inverse(rf_rel), co_rel)
    if sk.rmw & seq(fr, co_rel):
        return False
    return acyclic(union(sk.po, rf_rel, co_rel, fr))


@dataclass
class GraphSet:
    """What an enumeration found."""

    count: int
    outcomes: Counter
    keys: set
    candidates: int = 0

    @property
    def outcome_set(self) -> set:
        return set(self.outcomes)


def enumerate_graphs(prog: Program, model: str = "rc11", prune: bool = True) -> GraphSet:
    """Every consistent execution graph of ``prog`` under ``model`` ("rc11", "rc11-paper" or "sc").

    Without ``prune`` every read may read every write of its location, and
    every candidate goes through the full check.  ``prune`` only skips
    candidates that the full check would reject anyway (``prune=False`` exists
    to test exactly that):

    * an RMW read reads the write immediately co-before its own write (any
      other choice breaks ATOMICITY, COHERENCE or NO-THIN-AIR);
    * so, given co, every write's value is known: a successful CAS whose
      co-predecessor holds another value than expected, or a lock whose
      co-predecessor is not 0, is impossible, and a failed CAS may only read
      a write holding another value than expected;
    * a read does not read a write po-after it (NO-THIN-AIR), nor a write
      co-before a write of its own thread po-before it (COHERENCE: w' hb r
      and r fr w').
    """
    # "rc11" is the C++20 model Rust follows: psc's scb uses po ; hb ; po, the standard's "strongly
    # happens before" (as GenMC does); "rc11-paper" keeps the PLDI'17 paper's po|≠loc ; hb ; po|≠loc
    check = {"rc11": lambda sk, rf, co: rc11_consistent(sk, rf, co, "any"), "sc": sc_consistent,
             "rc11-paper": rc11_consistent}[model]
    cases = _cas_ops(prog)
    outcomes: Counter = Counter()
    keys: set = set()
    candidates = 0
    for flags in itertools.product((False, True), repeat=len(cases)):
        sk = build(prog, dict(zip(cases, flags)))
        by_id = sk.events
        locs = list(sk.init)
        rmw_write_of = {r: w for r, w in sk.rmw}
        rmw_read_of = {w: r for r, w in sk.rmw}
        perms = [list(itertools.permutations([w.id for w in sk.writes[l]])) for l in locs]
        for co_choice in itertools.product(*perms):
            co = {l: [sk.init[l].id] + list(order) for l, order in zip(locs, co_choice)}
            if prune:
                options = _pruned_options(sk, co, rmw_write_of, rmw_read_of)
                if options is None:
                    continue
            else:
                options = [co[r.loc] for r in sk.reads]
            for rf_choice in itertools.product(*options):
                candidates += 1
                rf = {r.id: w for r, w in zip(sk.reads, rf_choice)}
                val = _values(sk, rf)
                if val is None:
                    continue
                if any((val[rid] == exp) != ok for rid, (exp, ok) in sk.cas_guess.items()):
                    continue
                if any(by_id[r].op[0] == "lock" and val[r] != 0 for r in rf):
                    continue
                if not check(sk, rf, co):
                    continue
                key = graph_key(sk, rf, co)
                assert key not in keys, "one graph enumerated twice"
                keys.add(key)
                reads = [tuple(val[e.id] for e in tr) for tr in sk.thread_reads]
                finals = {l: val[co[l][-1]] for l in prog.locations}
                outcomes[outcome_key(reads, finals)] += 1
    return GraphSet(len(keys), outcomes, keys, candidates)


def _write_value(w: Ev, old: int) -> int:
    op = w.op
    if w.value is not None:
        return w.value
    if op[0] == "fetch_add":
        return (old + op[2]) & MASK
    if op[0] == "swap":
        return op[2]
    if op[0] == "cas":
        return op[3]
    raise AssertionError(op)


def _pruned_options(sk: Skeleton, co: dict, rmw_write_of: dict, rmw_read_of: dict) -> Optional[list]:
    """Per read, the writes it may read given co (see enumerate_graphs); None if co itself is impossible."""
    ev = sk.events
    wval: dict = {}
    for loc, order in co.items():
        for pos, w in enumerate(order):
            if ev[w].thread < 0:
                wval[w] = 0
                continue
            r = rmw_read_of.get(w)
            if r is None:
                wval[w] = ev[w].value
                continue
            old = wval[order[pos - 1]]
            if r in sk.cas_guess:
                expected, ok = sk.cas_guess[r]
                if ok and old != expected:
                    return None    # a successful CAS reading an unexpected value
            if ev[r].op[0] == "lock" and old != 0:
                return None
            wval[w] = _write_value(ev[w], old)
    options = []
    for r in sk.reads:
        order = co[r.loc]
        if r.id in rmw_write_of:
            options.append([order[order.index(rmw_write_of[r.id]) - 1]])
            continue
        earlier = [e.id for e in ev if e.thread == r.thread and e.kind == "W" and e.loc == r.loc and e.id < r.id]
        floor = max((order.index(w) for w in earlier), default=0)
        mine = []
        for pos, w in enumerate(order):
            if pos < floor:
                continue
            if ev[w].thread == r.thread and w > r.id:
                continue   # po-after the read
            if r.id in sk.cas_guess and wval[w] == sk.cas_guess[r.id][0]:
                continue   # a failed CAS reading the expected value
            mine.append(w)
        options.append(mine)
    return options


def graph_key(sk: Skeleton, rf: dict, co: dict) -> tuple:
    ev = sk.events
    rf_part = tuple(sorted((ev[r].name, ev[w].name) for r, w in rf.items()))
    co_part = tuple(sorted((loc, tuple(ev[w].name for w in order[1:])) for loc, order in co.items()))
    return rf_part, co_part


def rc11_graphs(prog: Program, prune: bool = True) -> GraphSet:
    return enumerate_graphs(prog, "rc11", prune)


def sc_graphs_axiomatic(prog: Program, prune: bool = True) -> GraphSet:
    return enumerate_graphs(prog, "sc", prune)
