"""Watched state checked in every state an execution graph can pass through, not only along one run.

Design: the optimal search runs one interleaving per execution graph, but a
watched invariant is a property of *states*, and another interleaving of the
same graph passes through other states (x set before y, or y before x).  A
state of a graph is what the threads have done after a set of its events
that is closed under the graph's order: program order, reads-from, and under
``"sc"`` also modification order and from-reads (an SC run executes writes
in modification order and a read before the writes that overwrite what it
read).  So this module walks every such downward-closed set (*ideal*) of
each explored graph, re-running the program to reach it, and checks each
state and each step between two ideals.  Results are cached by snapshot
value (:class:`~framemc.explorer.watch.StateChecker`), and the walk re-runs
the program only where it branches.

Under ``"c11"`` the order is program order and reads-from (plus
modification order when that keeps it acyclic); ``peek`` then shows each
location's mo-latest write among those performed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from framemc.explorer.graph import Graph, Node, Pos
from framemc.explorer.program import ProgramRun
from framemc.explorer.violation import Violation, ViolationKind

if TYPE_CHECKING:
    from framemc.explorer.engine import Explorer

__all__ = ["check_states", "StateMemo"]


def _steps(g: Graph) -> list[list[list[Node]]]:
    """Per thread, its steps: an RMW's read and write together, every other event alone."""
    out = []
    for nodes in g.threads:
        steps: list[list[Node]] = []
        for n in nodes:
            if n.writes and n.rmw and steps:
                steps[-1].append(n)
            else:
                steps.append([n])
        out.append(steps)
    return out


def check_states(explorer: "Explorer", g: Graph) -> tuple[Graph, ProgramRun] | None:
    """Check every ideal of ``g``; on a failure, the failing prefix graph and a run that reached it."""
    sc = explorer._model.interleaving
    preds = g.order_preds(sc)
    steps = _steps(g)
    nt = len(steps)
    # per step: the step-count vector that must be reached before it
    need: dict[tuple[int, int], tuple[int, ...]] = {}
    step_of: dict[Pos, tuple[int, int]] = {}
    for t, ss in enumerate(steps):
        for k, step in enumerate(ss):
            for n in step:
                step_of[n.pos] = (t, k)
    memo: dict[Pos, tuple[int, ...]] = {}

    def closure(pos: Pos) -> tuple[int, ...]:
        # the step counts that the node's strict predecessors force (iterative DFS)
        if pos in memo:
            return memo[pos]
        stack = [(pos, False)]
        while stack:
            p, done = stack.pop()
            if p in memo:
                continue
            if not done:
                stack.append((p, True))
                stack.extend((q, False) for q in preds[p] if q not in memo)
                continue
            vec = [0] * nt
            for q in preds[p]:
                qt, qk = step_of[q]
                sub = memo[q]
                for u in range(nt):
                    if sub[u] > vec[u]:
                        vec[u] = sub[u]
                if qk + 1 > vec[qt]:
                    vec[qt] = qk + 1
            memo[p] = tuple(vec)
        return memo[pos]

    for t, ss in enumerate(steps):
        for k, step in enumerate(ss):
            vec = [0] * nt
            for n in step:
                for u, c in enumerate(closure(n.pos)):
                    if c > vec[u]:
                        vec[u] = c
            vec[t] = k  # an RMW's write needs its own read: that is the step itself
            need[(t, k)] = tuple(vec)
    walker = _Walker(explorer, g, steps, need)
    return walker.walk()


class _Walker:
    """Depth-first over the ideals of one graph, running the program only to reach states not seen before.

    An ideal's identity is, per thread, the chain of its events (operation, location, the write each
    read read, each write's modification-order predecessor, the value written): equal identities are
    equal states, whichever graph they come from.  The explorer keeps the snapshot of every identity
    and every checked step between two identities for the whole search, so a state shared by many
    graphs (a common prefix) is computed and checked once.
    """

    def __init__(self, explorer: "Explorer", g: Graph, steps: list[list[list[Node]]],
                 need: dict[tuple[int, int], tuple[int, ...]]) -> None:
        self.ex = explorer
        self.g = g
        self.steps = steps
        self.need = need
        self.run: ProgramRun | None = None
        self.at: tuple[int, ...] | None = None
        #: per run: location -> co index of the write ``peek`` shows
        self.shown: dict[int, dict[Any, int]] = {}
        memo = explorer.state_memo
        trie = memo.trie
        # per thread, the identity of each prefix of its steps
        self.ids: list[list[int]] = []
        for t, ss in enumerate(steps):
            chain = [0]
            for step in ss:
                desc = (chain[-1],) + tuple(g.identity(n) for n in step)
                ident = trie.get(desc)
                if ident is None:
                    ident = trie[desc] = len(trie) + 1
                chain.append(ident)
            self.ids.append(chain)

    def key(self, ideal: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.ids[t][k] for t, k in enumerate(ideal))

    def _enabled(self, ideal: tuple[int, ...]) -> list[int]:
        out = []
        need = self.need
        for t, ss in enumerate(self.steps):
            k = ideal[t]
            if k < len(ss):
                req = need[(t, k)]
                for u in range(len(ideal)):
                    if req[u] > ideal[u]:
                        break
                else:
                    out.append(t)
        return out

    def _goto(self, ideal: tuple[int, ...]) -> ProgramRun:
        """A run standing at ``ideal`` (re-run from setup)."""
        run = self.ex._fresh_run()
        self.shown = {}
        done = [0] * len(ideal)
        while tuple(done) != ideal:
            for t in self._enabled(tuple(done)):
                if done[t] < ideal[t]:
                    self._do(run, t, done[t])
                    done[t] += 1
                    break
            else:
                raise AssertionError("ideal not reachable")
        self.run, self.at = run, ideal
        return run

    def _do(self, run: ProgramRun, t: int, k: int) -> None:
        shown = self.shown.setdefault(id(run), {})
        for n in self.steps[t][k]:
            self.ex.perform(self.g, run, n, shown)

    def _snapshot(self, ideal: tuple[int, ...], via: tuple[int, ...] | None, t: int | None) -> Any:
        """The snapshot at ``ideal``: remembered, or computed by running there (from ``via`` by one step)."""
        memo = self.ex.state_memo
        k = self.key(ideal)
        snap = memo.snaps.get(k, _MISSING)
        if snap is not _MISSING:
            return snap
        if via is None:
            run = self._goto(ideal)
        else:
            run = self.run if self.at == via else self._goto(via)
            self._do(run, t, via[t])
            self.at = ideal
        snap = self.ex._checker.snapshot(run.watchers)
        memo.snaps[k] = snap
        return snap

    def walk(self) -> tuple[Graph, ProgramRun] | None:
        checker = self.ex._checker
        memo = self.ex.state_memo
        watchers = self.ex._run.watchers if self.ex._run is not None else []
        start = tuple(0 for _ in self.steps)
        snap = self._snapshot(start, None, None)
        skey = self.key(start)
        if skey not in memo.checked:
            memo.checked.add(skey)
            met = checker.undecided_met
            failure = checker.check(watchers, None, snap)
            if failure is not None:
                return self._fail(start, failure)
            if checker.undecided_met != met:
                # undecided: check it again wherever it is reached, so every search piece records it
                memo.checked.discard(skey)
        seen = {start}
        stack: list[tuple[tuple[int, ...], list[int]]] = [(start, self._enabled(start))]
        while stack:
            ideal, todo = stack[-1]
            if not todo:
                stack.pop()
                continue
            t = todo.pop(0)
            nxt = list(ideal)
            nxt[t] += 1
            nxt_t = tuple(nxt)
            edge = (self.key(ideal), self.key(nxt_t))
            if edge not in memo.checked:
                prev = memo.snaps[edge[0]]
                cur = self._snapshot(nxt_t, ideal, t)
                memo.checked.add(edge)
                met = checker.undecided_met
                failure = checker.check(watchers, prev, cur)
                if failure is not None:
                    return self._fail(nxt_t, failure, ideal, t)
                if checker.undecided_met != met:
                    memo.checked.discard(edge)
            if nxt_t not in seen:
                seen.add(nxt_t)
                stack.append((nxt_t, self._enabled(nxt_t)))
        return None

    def _fail(self, ideal: tuple[int, ...], failure: Any, via: tuple[int, ...] | None = None,
              t: int | None = None) -> tuple[Graph, ProgramRun]:
        # re-run along the failing step so that the trace ends with it
        if via is not None:
            run = self._goto(via)
            self._do(run, t, via[t])
        else:
            run = self._goto(ideal)
        view = tuple(sum(len(s) for s in self.steps[u][:ideal[u]]) for u in range(len(ideal)))
        sub = self.g.copy(view)
        run.violation = Violation(ViolationKind.INVARIANT, f"invariant {failure.name} violated: {failure.message}",
                                  (), str(failure.name), dict(failure.witness))
        return sub, run


_MISSING = object()


class StateMemo:
    """What the state walk remembers for a whole search: ideal identities, snapshots, checked steps."""

    def __init__(self) -> None:
        #: (parent identity, event descriptions) -> identity
        self.trie: dict[tuple[Any, ...], int] = {}
        #: ideal identity (per-thread identities) -> snapshot
        self.snaps: dict[tuple[int, ...], Any] = {}
        #: ideal identities checked as states, and (before, after) pairs checked as steps
        self.checked: set[Any] = set()
