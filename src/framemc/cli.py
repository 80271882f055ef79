"""The ``framemc`` command line: check, prove, list, mutants, explore, replay, report.

Design: each command turns its flags into typed values (a frozen
:class:`~framemc.config.CheckConfig`, explorer ``Bounds``), runs the
library, and maps typed outcomes to the exit code through
:func:`~framemc.suite.exit_code`: 0 everything holds, 1 a violation or
refuted obligation, 2 a usage or input error, 3 inconclusive.  Every
:class:`~framemc.errors.UsageError` (and every click usage error) becomes one
``framemc: error:`` line on stderr and exit 2, with no traceback; that
happens in one place, :meth:`_Cli.main`; so does a failed write on
standard output (a full disk, a closed pipe).  The suite's rows go to
stdout as each item is decided, flushed, whether or not stdout is a
terminal, so a CI log streams; progress bars go to stderr through rich, only
when stderr is a terminal and ``--quiet`` is off.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import click

from framemc.config import MEMORY_MODELS, SECTIONS, CheckConfig, find_pyproject, load_config
from framemc.suite import ExitCode, Outcome, Row, Section, SuiteResult, chosen_designs, exit_code, run_suite
from framemc.setups import (PytestOrigin, file_origin, load_user_setup, read_trace, replay_pytest_origin,
                               setup_for_origin, trace_document)
from framemc.reports import report_options, requested, write_reports
from framemc.errors import CheckerBug, UsageError

__all__ = ["cli", "main"]

_STATUS_OUTCOME = {"pass": Outcome.PASS, "violation": Outcome.VIOLATION, "inconclusive": Outcome.INCONCLUSIVE}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _echo(text: str, *, err: bool = False) -> None:
    # traces may carry any JSON string, lone surrogates included: never fail on printing them
    try:
        click.echo(text.encode("utf-8", "backslashreplace"), err=err, nl=False)  # click.echo flushes
    except OSError as exc:
        if err:
            return  # nowhere left to say anything
        _silence_stdout()
        raise UsageError(f"cannot write to standard output: {exc.strerror or exc}") from None


def _silence_stdout() -> None:
    # the interpreter flushes stdout again at exit: point it at /dev/null so that flush cannot fail too
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


class _Cli(click.Group):
    """The command group, with the one place that turns errors into exit codes."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Run a command; usage and input errors print one line and exit 2, never a traceback."""
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            _echo(exc.format_message() + "\n", err=True)
            code = ExitCode.USAGE
        except (UsageError, click.UsageError, click.BadParameter, click.FileError) as exc:
            message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
            _echo(f"framemc: error: {_one_line(message)}\n", err=True)
            code = ExitCode.USAGE
        except CheckerBug as exc:
            _echo(f"framemc: {_one_line(str(exc))}\n", err=True)
            code = ExitCode.INCONCLUSIVE
        except click.exceptions.Abort:
            _echo("framemc: aborted\n", err=True)
            code = ExitCode.INCONCLUSIVE
        sys.exit(int(code or 0))


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="framemc")
def cli() -> None:
    """framemc model-checks the physical frame allocator of a Rust kernel.

    For each allocator design (built in: `metaslot`, the buddy + MetaSlot
    allocator, and `theseus`, the Theseus chunk allocator; your own through
    [tool.framemc] designs, see docs/extending.md) it proves the model's
    invariants with z3, explores every interleaving of the reference
    allocator on simulated CPUs, and checks that the model describes the
    code.  Start with `framemc check`; `--design NAME` narrows any command.

    Exit codes (all commands): 0 everything holds; 1 a violation or a
    refuted proof; 2 a usage or input error; 3 inconclusive (z3 unknown,
    a timeout or a hit bound) with nothing violated.
    """


# ----------------------------------------------------------------- shared pieces

def _progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


class _RichProgress:
    """One rich progress bar per suite section, on stderr; proofs count obligations done out of the total."""

    def __init__(self, bars: Any) -> None:
        #: the rich Progress
        self._bars = bars
        #: section -> task id
        self._tasks: dict[Section, Any] = {}

    def start(self, section: Section, items: tuple[str, ...]) -> None:
        """Add the section's bar."""
        self._tasks[section] = self._bars.add_task(section.value, total=len(items))

    def finished(self, row: Row) -> None:
        """Move the row's section bar."""
        self._bars.update(self._tasks[row.section], description=row.section.value)
        self._bars.advance(self._tasks[row.section], 1)

    def working(self, section: Section, item: str, executions: int, blocked: int, seconds: float) -> None:
        """Show, on the section's bar, how far the running exploration has got."""
        self._bars.update(self._tasks[section], description=f"{section.value} {item}: "
                                                            f"{_rate(executions, blocked, seconds)}")


class _RowPrinter:
    """Prints each row on stdout the moment its item is decided, then moves the progress bars.

    Column widths come from the names of every planned item, so rows line
    up although they are printed one at a time; each row is flushed, so a CI
    log shows it at once and keeps it if the job is killed.
    """

    _HEADER = ("design", "section", "item", "outcome", "seconds", "detail")

    def __init__(self, quiet: bool, bars: Any = None) -> None:
        #: print only the rows that did not pass
        self._quiet = quiet
        #: the rich Progress on stderr, or None
        self._bars = bars
        #: the progress display driven by the rows, or None
        self._display = _RichProgress(bars) if bars is not None else None
        #: every planned item name (for the column widths)
        self._items: list[str] = []
        #: True once the header line is out
        self._header_done = False
        #: when the last progress line went to a non-terminal stderr
        self._last_log = time.monotonic()
        #: width of the design column (the longest registered design name)
        from framemc.design import designs
        self._design_width = max([len("design")] + [len(n) for n in designs()])

    def start(self, section: Section, items: tuple[str, ...]) -> None:
        """Remember the section's item names; start its bar."""
        self._items.extend(items)
        if self._display is not None:
            self._display.start(section, items)

    def finished(self, row: Row) -> None:
        """Print the row (unless quiet and passed), then advance the bar."""
        if not (self._quiet and row.outcome is Outcome.PASS):
            if not self._header_done:
                self._print(self._line(self._HEADER))
                self._header_done = True
            self._print(self._line((row.design, row.section.value, row.name, row.outcome.value.upper(),
                                    f"{row.seconds:.2f}", row.detail)))
        if self._display is not None:
            self._display.finished(row)

    def working(self, section: Section, item: str, executions: int, blocked: int, seconds: float) -> None:
        """Bars: show the running item's counts; a CI log: a line on stderr every few seconds."""
        if self._display is not None:
            self._display.working(section, item, executions, blocked, seconds)
        elif not self._quiet and time.monotonic() - self._last_log >= _LOG_EVERY:
            self._last_log = time.monotonic()
            click.echo(f"{section.value} {item}: {_rate(executions, blocked, seconds)}", err=True)

    def _line(self, cells: tuple[str, str, str, str, str, str]) -> str:
        item = max([len(n) for n in self._items] + [len(cells[2]), len("item")])
        return "  ".join([cells[0].ljust(self._design_width), cells[1].ljust(len("conformance")), cells[2].ljust(item),
                          cells[3].ljust(len("inconclusive")), cells[4].rjust(7), cells[5]]).rstrip() + "\n"

    def _print(self, line: str) -> None:
        if self._bars is not None and sys.stdout.isatty():
            # stdout and the bars share the terminal: print above the bars, not through them
            self._bars.console.print(line, end="", markup=False, highlight=False, soft_wrap=True)
        else:
            _echo(line)


def _with_progress(quiet: bool, run: Callable[[Any], SuiteResult]) -> SuiteResult:
    if not _progress_enabled(quiet):
        return run(_RowPrinter(quiet))
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True, redirect_stdout=False,
                  redirect_stderr=False) as bars:
        return run(_RowPrinter(quiet, bars))


def _config_from_file(config_path: str | None) -> tuple[CheckConfig, Path | None]:
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise UsageError(f"{path}: no such configuration file (expected a pyproject.toml with [tool.framemc])")
    else:
        path = find_pyproject(Path.cwd())
    cfg = load_config(path)
    if cfg.designs and path is not None:
        # the user's design modules live in their project, as pytest finds a project's tests: import them from
        # the folder of the pyproject.toml that names them (and its src/ folder)
        root = path.resolve().parent
        for folder in (root / "src", root):
            if folder.is_dir() and str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
    if cfg.designs:
        from framemc.design import load_user_designs
        load_user_designs(cfg.designs, f"{path}: [tool.framemc] designs")
    return cfg, path


def _ci_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        report_options("check"),
        click.option("--trace-dir", metavar="DIR", help="Write the trace JSON of every scenario violation here "
                     "(replay or render them with `framemc replay` / `framemc report`)."),
        click.option("--time-budget", type=float, metavar="SECONDS", help="Stop after this many seconds; "
                     "whatever was not finished is reported INCONCLUSIVE, with what was covered."),
        click.option("--jobs", type=int, metavar="N", help="Worker processes for the proofs."),

        click.option("--config", "config_path", metavar="FILE", help="Read [tool.framemc] from this file "
                     "instead of the nearest pyproject.toml."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bars; print only what did not pass."),
    ]
    return functools.reduce(lambda f, option: option(f), reversed(options), func)


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write it: {exc.strerror}") from None


def _write_traces(result: SuiteResult, trace_dir: str | None) -> SuiteResult:
    if trace_dir is None:
        return result
    folder = Path(trace_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot create the trace folder: {exc.strerror}") from None
    rows = []
    for row in result.rows:
        if row.counterexample is not None:
            path = folder / (f"{row.design}-" + row.name.replace("/", "-") + ".json")
            _write(str(path), trace_document(row.counterexample, row.origin))
            row = dataclasses.replace(row, trace_file=path.as_posix())
        rows.append(row)
    return SuiteResult(tuple(rows), result.config, result.budget_exhausted, result.notes)


def _report_suite(result: SuiteResult, wall: float, quiet: bool, reports: dict[str, Any]) -> ExitCode:
    write_reports("check", result, reports)
    out: list[str] = []
    for row in result.rows:
        if row.outcome is not Outcome.PASS and row.text:
            out.append(f"\n{row.outcome.value.upper()} {row.design} {row.section.value} {row.name}\n{row.text}")
            if row.trace_file is not None:
                out.append(f"trace: {row.trace_file}\n")
    for note in result.notes:
        out.append(f"note: {note}\n")
    for warning in result.warnings:
        out.append(f"warning: {warning}\n")
    counts = result.counts()
    code = result.exit_code
    if result.budget_exhausted:
        out.append(f"time budget of {result.config.time_budget:g} s ran out: {result.coverage()}; "
                   f"the rest is INCONCLUSIVE, not a pass\n")
    out.append(f"{len(result.rows)} items: " + ", ".join(f"{counts[o]} {o.value}" for o in Outcome)
               + f" in {wall:.1f} s; exit {int(code)} ({_meaning(code)})\n")
    _echo("".join(out))
    return code


def _meaning(code: ExitCode) -> str:
    return {ExitCode.OK: "everything holds", ExitCode.VIOLATION: "a violation was found",
            ExitCode.INCONCLUSIVE: "inconclusive, nothing violated", ExitCode.USAGE: "usage error"}[code]


def _run_and_report(cfg: CheckConfig, quiet: bool, trace_dir: str | None, reports: dict[str, Any]) -> ExitCode:
    started = time.perf_counter()
    result = _with_progress(quiet, lambda progress: run_suite(cfg, progress))
    result = _write_traces(result, trace_dir)
    return _report_suite(result, time.perf_counter() - started, quiet, reports)


def _names(values: tuple[str, ...]) -> tuple[str, ...] | None:
    return tuple(values) if values else None


# ----------------------------------------------------------------- check

@cli.command()
@click.option("--design", "design", multiple=True, metavar="NAME",
              help="Check only this allocator design (repeatable; `framemc list --kind designs`).")
@click.option("--only", "only", multiple=True, type=click.Choice(SECTIONS),
              help="Run only this part of the suite (repeatable).")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
              help="Run only this bundled scenario (repeatable).")
@click.option("--obligation", "obligations", multiple=True, metavar="NAME",
              help="Run only the proof obligations with this name, operation or invariant (repeatable).")
@click.option("--memory-model", "memory_models", multiple=True, type=click.Choice(MEMORY_MODELS),
              help="Run the scenarios under this memory model only (repeatable).")
@click.option("--bug", "bugs", multiple=True, metavar="VARIANT",
              help="Switch on a planted bug variant in the impl (and the same-named model variant in the proofs); "
                   "the check should then fail.")
@click.option("--max-executions", type=int, metavar="N", help="Explore at most N executions per scenario.")
@click.option("--preemption-bound", type=int, metavar="N", help="At most N preemptions per execution.")
@click.option("--max-steps", type=int, metavar="N", help="Events one scenario thread may perform.")
@click.option("--proof-timeout-ms", type=int, metavar="MS", help="Wall-clock safety net per z3 proof query "
              "(calibrated z3 resource limits, not time, bound the proofs; hitting this is INCONCLUSIVE).")
@click.option("--proof-rlimit-scale", type=float, metavar="X", help="Multiply every obligation's calibrated z3 "
              "resource limit by X.")
@click.option("--max-order", "max_order", type=int, metavar="N", help="Discharge the proofs at this buddy "
              "MAX_ORDER (default 3); the proofs' one bound, see `framemc prove --help`.")
@click.option("--conformance-steps", type=int, metavar="N", help="Operations in the conformance run.")
@click.option("--conformance-seed", type=int, metavar="N", help="Seed of the conformance run.")
@click.option("--workers", type=int, metavar="N", help="Split each scenario's exploration over N processes "
              "(beside the proof workers, --jobs); the result is the same as with 1.")
@click.option("--dask", metavar="tcp://HOST:PORT", help="Split each scenario's exploration over the workers of "
              "this Dask scheduler (pip install 'framemc[cluster]'; see docs/cluster.md).")
@_ci_options
def check(design: tuple[str, ...], only: tuple[str, ...], scenarios: tuple[str, ...], obligations: tuple[str, ...],
          memory_models: tuple[str, ...], bugs: tuple[str, ...], max_executions: int | None,
          preemption_bound: int | None, max_steps: int | None, proof_timeout_ms: int | None,
          proof_rlimit_scale: float | None, max_order: int | None, conformance_steps: int | None,
          conformance_seed: int | None, workers: int | None, dask: str | None, trace_dir: str | None,
          time_budget: float | None, jobs: int | None, config_path: str | None, quiet: bool,
          **reports: str | None) -> ExitCode:
    """Run the whole built-in suite: the main job, no arguments needed.

    For every allocator design (the built-in MetaSlot and Theseus ones,
    and your own from [tool.framemc] designs) it runs every bundled
    scenario under every memory model that has scenarios (every
    interleaving, with the z3 invariants checked at each step), the
    conformance check (the z3 model describes the impl), and every proof
    obligation (each operation preserves each invariant from any state).  It prints one row per item and exits 0 when
    everything holds, 1 on a violation or refuted obligation, 2 on a usage
    error, 3 when something was inconclusive and nothing violated.

    Defaults come from [tool.framemc] in the nearest pyproject.toml;
    flags override them.
    """
    base, _ = _config_from_file(config_path)
    cfg = base.merged(design=_names(design), include=_names(only), scenarios=_names(scenarios),
                      obligations=_names(obligations),
                      memory_models=_names(memory_models), bugs=_names(bugs), max_executions=max_executions,
                      preemption_bound=preemption_bound, max_steps=max_steps, proof_timeout_ms=proof_timeout_ms,
                      proof_rlimit_scale=proof_rlimit_scale, max_order=max_order, conformance_steps=conformance_steps,
                      conformance_seed=conformance_seed, time_budget=time_budget, jobs=jobs, workers=workers,
                      dask=dask)
    return _run_and_report(cfg, quiet, trace_dir, reports)


# ----------------------------------------------------------------- prove

@cli.command()
@click.argument("names", nargs=-1)
@click.option("--design", "design", multiple=True, metavar="NAME",
              help="Prove only this allocator design's obligations (repeatable; `framemc list --kind designs`).")
@click.option("--variant", metavar="NAME", help="Substitute a deliberately broken model operation "
              "(its obligations should then be REFUTED).")
@click.option("--timeout-ms", type=int, metavar="MS", help="Wall-clock safety net per z3 query (calibrated z3 "
              "resource limits, not time, bound the proofs; hitting this is INCONCLUSIVE).")
@click.option("--rlimit-scale", type=float, metavar="X", help="Multiply every obligation's calibrated z3 resource "
              "limit by X.")
@click.option("--max-order", "max_order", type=int, metavar="N", help="Prove at this buddy MAX_ORDER (default 3; "
              "Linux-style buddies use 10-11).  It is the proofs' one bound: the CPU count is symbolic, so every "
              "proof holds for 1 to 253 CPUs, and frame numbers are arbitrary 64-bit values.  Obligations run under "
              "resource limits extrapolated from the calibrated ones at MAX_ORDER 3.")
@click.option("--emit-smt2", "emit_smt2", metavar="DIR", help="Instead of the table: write the z3 queries that decide "
              "every selected obligation of every selected design (all by default; --design narrows them) as "
              "standalone SMT-LIB 2 files, DIR/<design>/<obligation>/<piece>.smt2 (proof pieces and witness checks, "
              "which need unsat; vacuity checks and guard witnesses, which need sat), and DIR/manifest.json (each "
              "file's design, obligation, the answer the obligation needs, the verdict any other answer gives, z3's "
              "answer); print a summary per design and exit 0 once written, whatever the verdicts (run without "
              "--emit-smt2 for the verdict table and exit code). DIR must be new, empty or an earlier export. "
              "Cross-check with cvc5: `python -m framemc.proofs.crosscheck DIR`.")
@_ci_options
def prove(names: tuple[str, ...], design: tuple[str, ...], variant: str | None, timeout_ms: int | None, rlimit_scale: float | None,
          max_order: int | None, emit_smt2: str | None, trace_dir: str | None, time_budget: float | None,
          jobs: int | None, config_path: str | None, quiet: bool, **reports: str | None) -> ExitCode:
    """Prove every design's model obligations with z3, as a table.

    For each design (`--design` narrows them): one obligation per
    (operation, invariant) pair, plus Init => each
    invariant and one guard-satisfiability check per operation; each is
    proved for an arbitrary frame, so it holds for any number of frames.
    NAMES selects obligations by name, operation or invariant (all by
    default).  Each obligation may spend a z3 resource limit calibrated
    for it (deterministic: the same verdict on a quiet or a loaded
    machine).  An UNKNOWN (a hit limit) is never a pass: exit 3.
    """
    base, _ = _config_from_file(config_path)
    chosen = chosen_designs(base.merged(design=_names(design)))
    if variant is not None and not any(variant in d.prover.variants for d in chosen):
        every = sorted({v for d in chosen for v in d.prover.variants})
        raise UsageError(f"unknown model variant {variant!r}; known variants: {', '.join(every)}")
    cfg = base.merged(design=_names(design), include=("proofs",), obligations=_names(names),
                      bugs=(variant,) if variant else (),
                      proof_timeout_ms=timeout_ms, proof_rlimit_scale=rlimit_scale, time_budget=time_budget, jobs=jobs,
                      max_order=max_order)
    if emit_smt2 is not None:
        clashing = [*requested("check", reports)] + [flag for flag, value in (("--trace-dir", trace_dir),
                                                                            ("--time-budget", time_budget))
                                                    if value is not None]
        if clashing:
            raise UsageError(f"--emit-smt2 writes queries, not verdicts: it cannot be combined with "
                             f"{', '.join(clashing)}")
        return _emit_smt2(emit_smt2, cfg, [d.name for d in chosen_designs(cfg)], variant, quiet)
    return _run_and_report(cfg, quiet, trace_dir, reports)


def _emit_smt2(directory: str, cfg: CheckConfig, designs: list[str], variant: str | None, quiet: bool) -> ExitCode:
    """``prove --emit-smt2 DIR``: write the deciding queries and, per design, a summary line and a line per
    obligation not PROVED."""
    from framemc.proofs.smt2 import export_smt2

    def export() -> Any:
        return export_smt2(directory, cfg.obligations, designs=designs, variant=variant, max_order=cfg.max_order,
                           rlimit_scale=cfg.proof_rlimit_scale, timeout_ms=cfg.proof_timeout_ms, jobs=cfg.jobs)

    if _progress_enabled(quiet):
        from rich.console import Console
        with Console(stderr=True).status(f"posing the proof queries and writing them into {directory}"):
            done = export()
    else:
        done = export()
    lines = [f"wrote {len(done.queries)} SMT-LIB 2 files for {len(done.verdicts)} obligations into {directory} "
             f"(manifest.json)"]
    for name in dict.fromkeys(d for d, _ in done.verdicts):
        verdicts = [v for (d, _), v in done.verdicts.items() if d == name]
        tally = ", ".join(f"{verdicts.count(v)} {v}" for v in ("PROVED", "REFUTED", "VACUOUS", "UNKNOWN")
                          if verdicts.count(v))
        files = sum(q.design == name for q in done.queries)
        lines.append(f"  {name}: {files} files; z3 on its obligations: {tally}")
        lines += [f"    {verdict} {ob}" for (d, ob), verdict in done.verdicts.items()
                  if d == name and verdict != "PROVED"]
    lines += [f"  {name}: not exported (its prover has no pose method)" for name in done.skipped]
    _echo("\n".join(lines) + "\n")
    return ExitCode.OK


# ----------------------------------------------------------------- mutants

@cli.command()
@click.argument("variants", nargs=-1, metavar="[VARIANT]...")
@click.option("--write-docs", metavar="DIR", help="Also write one counterexample page per variant into DIR "
              "(docs/counterexamples in this repository), and the index README.md when every variant ran.")
@click.option("--config", "config_path", metavar="FILE", help="Read bounds from [tool.framemc] in this file "
              "instead of the nearest pyproject.toml.")
@click.option("--design", "design", multiple=True, metavar="NAME",
              help="Only this allocator design's bugs and scenarios (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def mutants(variants: tuple[str, ...], write_docs: str | None, config_path: str | None, design: tuple[str, ...],
            quiet: bool) -> ExitCode:
    """Run every planted-bug variant through the suite: is each one caught?

    For each variant (all by default, or the VARIANTs named) it explores
    every bundled scenario (its twin first), proves the obligations of the
    model operation a same-named model variant replaces, and runs the
    conformance check; it prints whether the variant was caught, by what,
    the time to the first counterexample and the length of the shortest
    trace.  The unmodified reference must pass every scenario.  Exit 0
    only when the reference is clean and every variant is caught.
    """
    from framemc.mutants import catalogue_table, check_pages_folder, run_catalogue, write_pages
    base, _ = _config_from_file(config_path)
    chosen = chosen_designs(base.merged(design=_names(design)))
    if write_docs is not None:
        check_pages_folder(Path(write_docs))
    if _progress_enabled(quiet):
        from rich.console import Console
        with Console(stderr=True).status("running the planted-bug catalogue"):
            catalogue = run_catalogue(_names(variants), base, chosen)
    else:
        catalogue = run_catalogue(_names(variants), base, chosen)
    out = "".join(line + "\n" for line in catalogue_table(catalogue))
    if write_docs is not None:
        written = write_pages(catalogue.mutants, Path(write_docs))
        out += f"wrote {len(written)} pages into {write_docs}\n"
    code = catalogue.exit_code
    _echo(out + f"exit {int(code)} ({_meaning(code)})\n")
    return code


# ----------------------------------------------------------------- list

#: what ``framemc list`` can print, in the order it prints them
LIST_KINDS = ("designs", "scenarios", "bugs", "invariants", "obligations")


def _list_rows(kind: str, chosen: list[Any]) -> list[tuple[str, str]]:
    """(name, one-line description) of every registered item of ``kind`` in the ``chosen`` designs."""
    rows: list[tuple[str, str]] = []
    for design in chosen:
        tag = f"[{design.name}]"
        if kind == "designs":
            rows.append((design.name, f"{design.summary} ({'; '.join(design.sources)})"))
        elif kind == "scenarios":
            for model in MEMORY_MODELS:
                registry = design.scenarios(model)
                rows += [(name, f"[{design.name}, {model}] {sc.summary} (planted-bug twin: {sc.twin})")
                         for name, sc in sorted(registry.items())]
        elif kind == "bugs":
            rows += [(name, f"{tag} {bug.description}" + (
                f" [model variant of {bug.replaces}: proofs of {', '.join(i.name for i in bug.breaks)} are refuted]"
                if bug.replaces else "")) for name, bug in sorted(design.bugs.items())]
        elif kind == "invariants":
            rows += [(i.name, f"{tag} {i.kind.value}: {i.statement}") for i in design.invariants]
        else:
            rows += [(ob.name, f"{tag} " + ("the initial state satisfies the invariant" if ob.op == "init"
                                          else "some valid state enables the operation" if ob.name.startswith("guard/")
                                          else f"{ob.op} preserves {ob.invariant}"))
                     for ob in design.prover.obligations()]
    return rows


@cli.command("list")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(LIST_KINDS),
              help="Print only this kind of name (repeatable); with one kind, one name per line first.")
@click.option("--design", "design", multiple=True, metavar="NAME", help="Only this allocator design (repeatable).")
@click.option("--config", "config_path", metavar="FILE", help="Read [tool.framemc] (your own designs) from this "
              "file instead of the nearest pyproject.toml.")
def list_names(kinds: tuple[str, ...], design: tuple[str, ...], config_path: str | None) -> ExitCode:
    """List the names other commands accept: designs, scenarios, bug variants, invariants, proof obligations.

    Designs go to `--design`, scenarios to `check --scenario` (their
    memory model, in brackets, to `--memory-model`), bug variants to
    `check --bug` and `prove --variant`, invariants and obligations to
    `check --obligation` and `prove`.  Each row names its design in
    brackets.
    """
    base, _ = _config_from_file(config_path)
    chosen = chosen_designs(base.merged(design=_names(design)))
    picked = [k for k in LIST_KINDS if k in kinds] if kinds else list(LIST_KINDS)
    out = []
    for kind in picked:
        rows = _list_rows(kind, chosen)
        if len(picked) > 1:
            out.append(f"{kind} ({len(rows)}):\n")
        width = max([len(name) for name, _ in rows] + [0])
        indent = "  " if len(picked) > 1 else ""
        out += [f"{indent}{name.ljust(width)}  {text}".rstrip() + "\n" for name, text in rows]
    _echo("".join(out))
    return ExitCode.OK


# ----------------------------------------------------------------- explore

@cli.command()
@click.argument("target", metavar="FILE.py[:FUNC]")
@click.option("--memory-model", type=click.Choice(MEMORY_MODELS), default="sc", show_default=True,
              help="The memory model executions follow.")
@click.option("--max-executions", type=int, metavar="N", help="Stop after N complete executions (then the "
              "result is INCONCLUSIVE, not a pass).")
@click.option("--preemption-bound", type=int, metavar="N", help="At most N preemptive context switches per "
              "execution.")
@click.option("--max-steps", type=int, metavar="N", help="Events one thread may perform before its loop "
              "counts as non-terminating.")
@click.option("--time-budget", type=float, metavar="SECONDS", help="Stop after this many seconds (INCONCLUSIVE).")
@click.option("--trace-out", metavar="FILE.json", help="Write the counterexample here, for `framemc replay` "
              "and `framemc report`.")
@click.option("--config", "config_path", metavar="FILE", help="Read default bounds from [tool.framemc] in this "
              "file instead of the nearest pyproject.toml.")
@click.option("--outcomes", "show_outcomes", is_flag=True, help="Also print every distinct final observation "
              "(what each thread's reads returned, each named Atomic's final value) with its count.")
@click.option("--reduction", type=click.Choice(["optimal", "none"]), default="optimal", show_default=True,
              help="'none' runs the unreduced search (every schedule), for cross-checking.")
@click.option("--workers", type=int, metavar="N", help="Split the exploration over N processes of this machine "
              "(default: workers in [tool.framemc], else 1); the result is the same as with 1.")
@click.option("--dask", metavar="tcp://HOST:PORT", help="Split it over the workers of this Dask scheduler; they "
              "must be able to import FILE.py (see docs/cluster.md).")
@click.option("--checkpoint", metavar="FILE", help="Write the work left to FILE every --checkpoint-every "
              "seconds (and at the end), so that --resume can go on after a crash or a kill.")
@click.option("--checkpoint-every", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              metavar="SECONDS",
              help="Seconds between two checkpoints.")
@click.option("--resume", metavar="FILE", help="Go on from this checkpoint (same scenario, bounds, memory model "
              "and framemc version; anything else is refused); the counts are those of an uninterrupted run.")
@click.option("--json", "json_out", metavar="FILE", help="Also write the result (verdict, counts, how the work "
              "was spread) as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display.")
def explore(target: str, memory_model: str, max_executions: int | None, preemption_bound: int | None,
            max_steps: int | None, time_budget: float | None, trace_out: str | None, config_path: str | None,
            show_outcomes: bool, reduction: str, workers: int | None, dask: str | None, checkpoint: str | None,
            checkpoint_every: float, resume: str | None, json_out: str | None, quiet: bool) -> ExitCode:
    """Explore every execution of the threads of your own scenario.

    FILE.py defines a setup function (FUNC, default `setup`) that builds
    fresh shared state from framemc's stand-ins (Atomic, Cell, Mutex,
    fence) and returns a list of thread functions, or (threads, final).
    framemc runs it once per execution graph (TruSt, as in GenMC: once per
    Mazurkiewicz trace under sc, once per RC11/C++20-consistent graph under
    c11) and reports the first assertion failure, exception, data race,
    deadlock, endless spin or watched invariant that breaks, as a swimlane
    with the source line of every step.
    """
    from framemc.explorer import Bounds
    from framemc.explorer import explore as run_explore
    base, _ = _config_from_file(config_path)
    cfg = base.merged(max_executions=max_executions, preemption_bound=preemption_bound, max_steps=max_steps,
                      time_budget=time_budget, workers=workers, dask=dask)
    bounds = Bounds(cfg.max_executions, cfg.preemption_bound, cfg.max_steps, cfg.time_budget)
    user = load_user_setup(target)
    label = f"exploring {user.path}:{user.func}"
    spread = dict(workers=cfg.workers, dask=cfg.dask, checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                  resume=resume)
    try:
        if _progress_enabled(quiet):
            from rich.console import Console
            with Console(stderr=True).status(label) as status:
                def show(executions: int, blocked: int, seconds: float, stats: Any = None) -> None:
                    extra = f"; {stats.line()}" if stats is not None else ""
                    status.update(f"{label}: {_rate(executions, blocked, seconds)}{extra}")
                result = run_explore(user.setup, memory_model, bounds=bounds, outcomes=show_outcomes,
                                     reduction=reduction, progress=show, **spread)
        else:
            last = [time.monotonic()]

            def log(executions: int, blocked: int, seconds: float, stats: Any = None) -> None:
                # a CI log: a line every few seconds, so a long or killed job still shows how far it got
                if not quiet and time.monotonic() - last[0] >= _LOG_EVERY:
                    last[0] = time.monotonic()
                    extra = f"; {stats.line()}" if stats is not None else ""
                    click.echo(f"{label}: {_rate(executions, blocked, seconds)}{extra}", err=True)
            result = run_explore(user.setup, memory_model, bounds=bounds, outcomes=show_outcomes,
                                 reduction=reduction, progress=log, **spread)
    except UsageError as exc:
        raise UsageError(f"{user.where}: {user.func}(): {exc}") from None
    code = exit_code([_STATUS_OUTCOME[result.status.value]])
    lines = [f"{user.path}:{user.func}: {result.status.value.upper()} after {result.executions} executions"
             + (" (exhaustive)" if result.exhaustive else "")]
    if result.bound_hit is not None:
        lines.append(f"the {result.bound_hit.value} bound cut the search: not every interleaving was explored")
    for failure in result.inconclusive:
        lines.append(f"undecided check {failure.name}: {failure.message}")
    if result.stats.blocked:
        lines.append(f"{result.stats.blocked} blocked executions (assume, spin-waits, lock waits) were not counted")
    if result.parallel is not None:
        lines.append(f"spread over {result.parallel.line()}")
    if result.outcomes is not None:
        lines.append(f"outcomes ({len(result.outcomes)} distinct):")
        for key, count in sorted(result.outcomes.items(), key=lambda kv: repr(kv[0])):
            shown = ", ".join(f"{label}={value!r}" for label, value in key)
            lines.append(f"  {count:>6}  {shown}")
    out = "\n".join(lines) + "\n"
    if json_out is not None:
        _write(json_out, json.dumps(_explore_json(user, memory_model, result), indent=2, sort_keys=True) + "\n")
    if result.violation is not None:
        out += result.violation.to_text()
        if trace_out is not None:
            _write(trace_out, trace_document(result.violation, file_origin(user, Path(trace_out))))
            out += f"trace: {trace_out}\n"
    _echo(out)
    return code


def _explore_json(user: Any, memory_model: str, result: Any) -> dict[str, Any]:
    """The JSON report of ``framemc explore`` (``stats.core``: the build of the explorer core that ran)."""
    from framemc.explorer.core import build as core_build
    st = result.stats
    return {"scenario": f"{user.path}:{user.func}", "memory_model": memory_model, "status": result.status.value,
            "executions": result.executions, "exhaustive": result.exhaustive,
            "bound_hit": None if result.bound_hit is None else result.bound_hit.value,
            "stats": {"events": st.events, "replayed": st.replayed, "blocked": st.blocked, "invalid": st.invalid,
                      "seconds": round(st.elapsed, 3), "states_checked": st.states_checked,
                      "cache_hits": st.cache_hits, "core": core_build()},
            "violation": None if result.violation is None else result.violation.to_json(),
            "parallel": None if result.parallel is None else result.parallel.as_dict()}


#: seconds between two progress lines of ``explore`` when stderr is not a terminal
_LOG_EVERY = 5.0


def _rate(executions: int, blocked: int, seconds: float) -> str:
    per = executions / seconds if seconds > 0 else 0.0
    return f"{executions} executions ({per:.0f}/s), {blocked} blocked, {seconds:.0f} s"


# ----------------------------------------------------------------- replay

@cli.command()
@click.argument("trace", metavar="TRACE.json")
@click.option("--scenario", "scenario", metavar="FILE.py[:FUNC]", help="Replay against this scenario instead of "
              "the one the trace names (needed when the trace's file lies outside the trace's folder).")
def replay(trace: str, scenario: str | None) -> ExitCode:
    """Re-run a counterexample deterministically and print it.

    The trace records the scenario it came from (a bundled scenario with
    its bugs, or your file and function), so replay rebuilds that setup and
    follows the recorded execution step by step.  A reproduced violation
    exits 1.  If the scenario no longer produces it (it left the trace at
    some step, or followed it and ended clean), replay says so and exits 0:
    that is how a fix is confirmed.  A trace that cannot be read exits 2.
    """
    from framemc.explorer import replay as run_replay
    path = Path(trace)
    cx, origin = read_trace(path)
    try:
        setup = load_user_setup(scenario).setup if scenario is not None else setup_for_origin(origin, path)
    except PytestOrigin as test:
        return ExitCode(replay_pytest_origin(test.origin, path))
    try:
        result = run_replay(setup, cx)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    if result.violation is None:
        _echo(f"{path}: {result.note}\n")
        return ExitCode.OK
    _echo(f"{path}: replayed {len(result.violation.events)} steps; the violation reproduces\n"
          + result.violation.to_text())
    return exit_code([_STATUS_OUTCOME[result.status.value]])


# ----------------------------------------------------------------- report

@cli.command()
@click.argument("trace", metavar="TRACE.json")
@click.option("--format", "fmt", type=click.Choice(["text", "html", "dot", "mermaid"]), default="text",
              show_default=True, help="text: the swimlane; html: one self-contained page (swimlane, "
              "happens-before graph, invariant and witness); dot: the happens-before graph for Graphviz; "
              "mermaid: a sequence diagram for a design-review document.")
@click.option("-o", "--output", metavar="FILE", help="Write here instead of standard output.")
def report(trace: str, fmt: str, output: str | None) -> ExitCode:
    """Render a counterexample for a reviewer (without re-running it)."""
    cx, _ = read_trace(Path(trace))
    if fmt == "html":
        from framemc.report_html import to_html
        text = to_html(cx, f"framemc: {Path(trace).name}")
    else:
        text = {"text": cx.to_text, "dot": cx.to_dot, "mermaid": cx.to_mermaid}[fmt]()
    if output is not None:
        _write(output, text)
    else:
        _echo(text)
    return ExitCode.OK


@cli.command()
@click.argument("logs", nargs=-1, required=True, metavar="LOG...")
@report_options("validate")
@click.option("--logged", metavar="KINDS", help="Read the logs as partial: only these event kinds (comma "
              "separated, e.g. alloc,dealloc,add_free_memory) count as logged; other events in the logs are "
              "left out and bridged.  Default: the header's \"logged\", else every kind.")
@click.option("--invariants-every", type=click.IntRange(min=0), default=10_000, show_default=True, metavar="N",
              help="Evaluate every invariant of the model on the replayed state every N events and at the end "
              "(1: after every event; 0: only at the end).  About 45 ms per check at 64 frames.")
@click.option("--logged-cpus", metavar="CPUS", help="Only these CPUs' MetaSlot steps count as logged (comma "
              "separated ids); the other CPUs' are bridged.")
def validate(logs: tuple[str, ...], logged: str | None, logged_cpus: str | None, invariants_every: int,
             **reports: str | None) -> ExitCode:
    """Check logs of a real run, step by step, against the allocator model.

    Each LOG is a JSON Lines file (format: docs/validate.md) written by the
    kernel, one per CPU or one for all; they are merged by their global
    sequence numbers.  Every event must be a step the model allows in the
    state the earlier events left (the same operations the proofs use).

    A log may be partial: the header's "logged" list (or --logged) says which
    event kinds it holds.  The steps it leaves out are bridged: some sequence
    of model operations must lead to a state where the next logged event is a
    step.  The summary says how many steps were bridged.

    The model's invariants are also evaluated on the replayed state (see
    --invariants-every).

    Exit 0: every step allowed; 1: a step the model forbids, a broken
    invariant, or an event no bridge explains, named by file and line; 2: bad
    input; 3: undecided (z3 could not decide, or a bridge search was cut).
    """
    from framemc.bridge import KINDS
    from framemc.errors import UsageError
    from framemc.validate import validate_logs
    kinds = None if logged is None else [k.strip() for k in logged.split(",") if k.strip()]
    cpus = None
    if logged_cpus is not None:
        try:
            cpus = [int(c) for c in logged_cpus.split(",") if c.strip()]
        except ValueError:
            raise UsageError(f"--logged-cpus expects CPU ids separated by commas, got {logged_cpus!r}") from None
    result = validate_logs(list(logs), kinds, cpus, invariants_every)
    write_reports("validate", result, reports)
    rate = result.events / result.elapsed if result.elapsed > 0 else 0.0
    lines = [f"{result.verdict.upper()}: {result.events} events, {result.steps} model steps in "
             f"{result.elapsed:.2f} s ({rate:,.0f} events/s; {result.z3_steps} steps evaluated by z3, "
             f"{result.memo_hits} from the memo; every invariant evaluated {result.invariant_checks} times)"]
    if result.failure:
        lines.append(result.failure)
        for what, values in result.state.items():
            shown = values if isinstance(values, str) else ", ".join(f"{k}={v}" for k, v in values.items())
            lines.append(f"  {what}: {shown}")
    if not result.logged or result.logged.get("cpus") is not None or len(result.logged["kinds"]) < len(KINDS):
        share = result.hidden_steps / max(1, result.hidden_steps + result.steps)
        lines.append(f"partial log: {result.bridged_events} events needed hidden steps; {result.hidden_steps} "
                     f"steps bridged ({share:.0%} of all model steps); {result.ignored} events left out; "
                     f"{result.states_searched} states searched; at most {result.max_worlds} model states "
                     "consistent with the log at once")
        if result.approximate:
            lines.append(f"note: not every model state the log allows was followed: {result.approximate}")
    for note in result.open_steps:
        lines.append(f"note: {note}")
    _echo("\n".join(lines) + "\n")
    return ExitCode(result.exit_code)


def main(argv: list[str] | None = None) -> None:
    """The ``framemc`` console script."""
    cli.main(args=argv, prog_name="framemc")
