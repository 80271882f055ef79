"""Error classes that say whose fault a failure is.

Three roots, one per party that can be at fault when framemc stops:

* the user: a malformed scenario, trace or configuration, or impossible bounds
  (:class:`UsageError`, exit code 2 on the command line);
* framemc itself (:class:`CheckerBug`, whose message starts with
  ``[framemc internal bug]``);
* the simulated kernel: it refused a call or panicked (:class:`KernelError`, the root of
  the reference allocators' error results in :mod:`framemc.impl.errors`).  A scenario that
  lets one escape has found a failure of the code under check: the explorer reports it as
  an ``assertion`` violation, never as a usage error.

:class:`UsageError` and :class:`CheckerBug` share :class:`FramemcError` (every error framemc
raises about a check); :class:`KernelError` does not, so ``except FramemcError`` never
swallows a kernel's answer.  An invariant that does not hold is no exception at all: it is a
typed verdict or a :class:`~framemc.explorer.trace.Counterexample`.
"""

from __future__ import annotations

__all__ = ["FramemcError", "UsageError", "CheckerBug", "RetryBoundExceeded", "KernelError"]


class FramemcError(Exception):
    """Base class of every error framemc raises about a check (not the simulated kernel's errors)."""


class UsageError(FramemcError):
    """The user's scenario, bounds, trace or configuration is wrong; the message says how."""


class CheckerBug(FramemcError):
    """framemc itself is wrong; please report it with the message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"[framemc internal bug] {message}")


class RetryBoundExceeded(FramemcError):
    """A bounded retry loop in the code under check gave up: a bound was hit, not a verdict on the code."""


class KernelError(Exception):
    """The simulated kernel said no: an allocator call refused (an ``Err`` in Rust) or a kernel panic."""
