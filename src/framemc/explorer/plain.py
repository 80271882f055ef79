"""Plain exhaustive search: every enabled thread at every scheduling point, no reduction.

Design: a depth-first walk over schedules, re-running the scenario from
setup() for each one.  It is exponentially slower than the DPOR and exists to
cross-check it (both must reach the same final states and verdicts) and to
find counterexamples with the fewest preemptions: under a preemption bound
it visits every schedule within the bound, which the DPOR does not promise.
"""

from __future__ import annotations

from framemc.errors import UsageError
from framemc.explorer.bounds import BoundKind, Bounds
from framemc.explorer.events import Event
from framemc.explorer.execution import ExecutionRecord

__all__ = ["PlainDFS"]


class PlainDFS:
    """The exhaustive search strategy: a chooser plus depth-first backtracking."""

    def __init__(self, bounds: Bounds) -> None:
        #: limits (the preemption bound is applied here)
        self._bounds = bounds
        #: per depth: [threads to try, index of the one tried, preemptions before, 1 if it preempts,
        #: store picked, stores it could pick]
        self._stack: list[list] = []
        #: the bound that cut the search, if any
        self.cut: BoundKind | None = None
        #: kept for symmetry with the DPOR's statistics; the plain search never sleeps
        self.sleep_blocked = 0

    def choose(self, depth: int, enabled: list[int], last: int | None) -> int | None:
        """The next untried choice at ``depth`` (lowest thread first)."""
        if depth < len(self._stack):
            entry = self._stack[depth]
            t = entry[0][entry[1]]
            if t not in enabled:
                raise UsageError(f"the scenario is not deterministic: replaying step {depth}, thread {t} "
                                 f"is not enabled (enabled: {enabled}); setup() and threads must behave "
                                 "the same way on every run")
            return t
        before = self._stack[depth - 1][2] + self._stack[depth - 1][3] if depth else 0
        bound = self._bounds.preemption_bound
        options = []
        for t in enabled:
            if bound is not None and last is not None and t != last and last in enabled and before >= bound:
                self.cut = BoundKind.PREEMPTIONS
                continue
            options.append(t)
        if not options:
            return None
        self._stack.append([options, 0, before, 0, 0, 1])
        return options[0]

    def pick(self, depth: int, count: int) -> int:
        """The store (or mo position) being tried at ``depth``."""
        entry = self._stack[depth]
        entry[5] = count
        return entry[4]

    def executed(self, depth: int, event: Event) -> None:
        """Remember whether the step at ``depth`` was a preemption."""
        self._stack[depth][3] = int(event.preemption)

    def backtrack(self, record: ExecutionRecord) -> bool:
        """Move to the next schedule in depth-first order; False when all are done."""
        stack = self._stack
        while stack:
            top = stack[-1]
            if top[4] + 1 < top[5]:
                top[4] += 1
                return True
            if top[1] + 1 < len(top[0]):
                top[1] += 1
                top[4], top[5] = 0, 1
                return True
            stack.pop()
        return False
