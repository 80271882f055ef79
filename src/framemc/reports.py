"""The report formats a command can write beside its table, as one registry.

Design: a :class:`ReportFormat` names a format once: the command-line flag
that asks for it and, per kind of result (``check`` for a suite run,
``validate`` for a log validation), the ``module:function`` that renders that
result as text.  The CLI builds its ``--json`` / ``--junit-xml`` /
``--sarif`` options from this registry (:func:`report_options`) and writes
them through :func:`write_reports`, so a new format is one entry here and a
writer function, not edits across the command-line code.  Writers are pure
functions of the result (no timestamps or durations), so the files are
byte-for-byte reproducible.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import click

from framemc.errors import UsageError

__all__ = ["ReportFormat", "REPORT_FORMATS", "report_options", "write_reports", "formats_for"]


@dataclass(frozen=True)
class ReportFormat:
    """One machine-readable report format."""

    #: short name, also the keyword argument the CLI option fills (``<name>_report``)
    name: str
    #: the command-line flag that asks for it
    flag: str
    #: one line for ``--help``, per kind of result
    help: Mapping[str, str]
    #: ``module:function`` rendering a result as text, per kind of result
    writers: Mapping[str, str]

    @property
    def dest(self) -> str:
        """The keyword argument the option fills."""
        return f"{self.name}_report"

    def writer(self, kind: str) -> Callable[[Any], str]:
        """The function that renders a ``kind`` result in this format."""
        module, _, name = self.writers[kind].partition(":")
        return getattr(importlib.import_module(module), name)


#: every format, in the order the options are listed
REPORT_FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat("junit", "--junit-xml",
                 {"check": "Write JUnit XML: one test case per obligation and per scenario; failures carry the "
                           "counterexample.",
                  "validate": "Also write the result as JUnit XML."},
                 {"check": "framemc.report_ci:junit_xml", "validate": "framemc.validate:junit_xml"}),
    ReportFormat("json", "--json",
                 {"check": "Write the machine-readable summary.", "validate": "Also write the result as JSON."},
                 {"check": "framemc.report_ci:summary_json", "validate": "framemc.validate:json_summary"}),
    ReportFormat("sarif", "--sarif",
                 {"check": "Write SARIF 2.1.0: each violation located at the impl source line of its violating "
                           "event (for code-scanning views).",
                  "validate": "Also write the forbidden step as SARIF 2.1.0, located at its log file and line."},
                 {"check": "framemc.report_ci:sarif_json", "validate": "framemc.validate:sarif_json"}),
)


def formats_for(kind: str) -> tuple[ReportFormat, ...]:
    """The formats that can render a ``kind`` result."""
    return tuple(f for f in REPORT_FORMATS if kind in f.writers)


def report_options(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding one ``FLAG FILE`` click option per format that renders ``kind`` results."""
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        options = [click.option(f.flag, f.dest, metavar="FILE", help=f.help[kind]) for f in formats_for(kind)]
        return functools.reduce(lambda g, option: option(g), reversed(options), func)
    return decorate


def requested(kind: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The ``{flag: path}`` of the report options given in ``values`` (a command's keyword arguments)."""
    return {f.flag: values[f.dest] for f in formats_for(kind) if values.get(f.dest) is not None}


def write_reports(kind: str, result: Any, values: Mapping[str, Any]) -> None:
    """Write every report ``values`` asks for (a command's keyword arguments) for a ``kind`` result."""
    for f in formats_for(kind):
        path = values.get(f.dest)
        if path is None:
            continue
        text = f.writer(kind)(result)
        try:
            Path(path).write_text(text, encoding="utf-8", errors="backslashreplace")
        except OSError as exc:
            raise UsageError(f"{path}: cannot write it: {exc.strerror}") from None
