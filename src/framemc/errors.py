"""Error classes that say whose fault a failure is.

Three parties can be at fault when framemc stops:

* the user: a malformed scenario, trace or configuration, or impossible bounds
  (:class:`UsageError`, exit code 2 on the command line);
* the code under check: an invariant or assertion does not hold (reported as a
  typed verdict or :class:`~framemc.explorer.trace.Counterexample`, never raised
  through this module);
* framemc itself (:class:`CheckerBug`, whose message starts with
  ``[framemc internal bug]``).
"""

from __future__ import annotations


class FramemcError(Exception):
    """Base class of every error framemc raises on purpose."""


class UsageError(FramemcError):
    """The user's scenario, bounds, trace or configuration is wrong; the message says how."""


class CheckerBug(FramemcError):
    """framemc itself is wrong; please report it with the message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"[framemc internal bug] {message}")
