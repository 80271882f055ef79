"""The catalogue of planted allocator bugs: is every one caught, by what, and how fast?

Design: each planted bug of each allocator design (its
:class:`~framemc.design.Bug` records) is run through the cheap parts of the
default suite that can see it: every bundled scenario of its design under
its memory model (its twin scenario first, and every scenario that catches
it is recorded), the proof obligations of the model operation its broken
twin replaces, and the design's conformance run.  Scenarios are explored once without
minimisation (the time to the first counterexample) and, when they catch
the bug, once with the default fewest-preemptions-then-fewest-events
minimisation; the page shows the shortest of those.  The unmodified
reference must pass every scenario, or the catalogue is not trustworthy.
Results are typed values; rendering (table, pages, index) is pure and
carries no timings in the pages, so they are byte-for-byte reproducible.
"""

from __future__ import annotations

import enum
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framemc.config import MEMORY_MODELS, CheckConfig
from framemc.suite import ExitCode, Outcome, exit_code
from framemc.errors import UsageError
from framemc.explorer import Bounds, Counterexample, Status, explore
from framemc.design import Bug, designs

__all__ = ["DetectorKind", "Detection", "ScenarioRun", "MutantResult", "ReferenceResult", "Catalogue",
           "run_reference", "run_mutant", "run_catalogue", "catalogue_table", "render_page", "render_index",
           "check_pages_folder", "write_pages"]



class DetectorKind(enum.Enum):
    """Which part of the suite caught a variant."""

    #: an explorer violation in a bundled scenario
    SCENARIO = "scenario"
    #: a REFUTED proof obligation of the same-named model variant
    OBLIGATION = "obligation"
    #: the conformance run found the impl disagreeing with the model
    CONFORMANCE = "conformance"


@dataclass(frozen=True)
class Detection:
    """One part of the suite that caught a variant."""

    #: scenario, obligation or conformance
    kind: DetectorKind
    #: ``sc/claim-race``, ``claim/I3-generation`` or ``conformance``
    name: str
    #: what it found, in a few words (violation kind and invariant, or failing checks)
    detail: str


@dataclass(frozen=True)
class ScenarioRun:
    """One bundled scenario explored with a variant switched on."""

    #: ``<memory model>/<scenario>``
    name: str
    #: PASS / VIOLATION / INCONCLUSIVE
    outcome: Outcome
    #: wall seconds of the unminimised run (time to its first counterexample when it caught the bug)
    seconds: float
    #: the scenario's one-sentence property (what a violation breaks)
    summary: str = ""
    #: the minimal counterexample, when the scenario caught the bug
    counterexample: Counterexample | None = None


@dataclass(frozen=True)
class MutantResult:
    """Everything the catalogue learnt about one variant."""

    #: the variant
    variant: Bug
    #: every part of the suite that caught it, in run order
    detections: tuple[Detection, ...]
    #: every scenario run, in run order (twin first)
    scenarios: tuple[ScenarioRun, ...]
    #: seconds from the start of the variant's run to its first counterexample, or None if never caught
    first_seconds: float | None
    #: the shortest scenario counterexample (fewest preemptions, then fewest events), or None
    shortest: ScenarioRun | None
    #: items that could not decide (bound hit, z3 unknown), as one line each
    undecided: tuple[str, ...] = field(default=())
    #: the design the bug belongs to
    design: str = "metaslot"

    @property
    def caught(self) -> bool:
        """True when at least one part of the suite caught the variant."""
        return bool(self.detections)

    @property
    def outcome(self) -> Outcome:
        """PASS when caught; INCONCLUSIVE when not caught but something was undecided; else VIOLATION."""
        if self.caught:
            return Outcome.PASS
        return Outcome.INCONCLUSIVE if self.undecided else Outcome.VIOLATION

    @property
    def caught_by(self) -> str:
        """The detections' names, comma-separated, or ``-``."""
        return ", ".join(d.name for d in self.detections) or "-"

    @property
    def trace_length(self) -> int | None:
        """Events in the shortest counterexample, or None without one."""
        return None if self.shortest is None else len(self.shortest.counterexample.events)


@dataclass(frozen=True)
class ReferenceResult:
    """The unmodified reference run through every scenario: it must pass them all."""

    #: every scenario run with no bug switched on
    scenarios: tuple[ScenarioRun, ...]
    #: remarks, e.g. a memory model with no scenario registry yet
    notes: tuple[str, ...] = field(default=())

    @property
    def clean(self) -> bool:
        """True when every scenario passed exhaustively: no false alarm."""
        return bool(self.scenarios) and all(r.outcome is Outcome.PASS for r in self.scenarios)

    @property
    def outcome(self) -> Outcome:
        """The worst outcome over the reference scenarios."""
        outcomes = {r.outcome for r in self.scenarios}
        for worst in (Outcome.VIOLATION, Outcome.INCONCLUSIVE):
            if worst in outcomes:
                return worst
        return Outcome.PASS if outcomes else Outcome.INCONCLUSIVE


@dataclass(frozen=True)
class Catalogue:
    """The reference run and one result per variant, in sorted variant order."""

    #: the unmodified reference's run
    reference: ReferenceResult
    #: one result per variant
    mutants: tuple[MutantResult, ...]

    @property
    def exit_code(self) -> ExitCode:
        """0 only when the reference is clean and every variant is caught."""
        return exit_code([self.reference.outcome, *(m.outcome for m in self.mutants)])


# ----------------------------------------------------------------- running

def _registries(chosen: Iterable[Any]) -> tuple[list[tuple[str, Any]], list[str]]:
    """(memory model, scenario) pairs of the ``chosen`` designs in run order, and notes on missing registries."""
    plan: list[tuple[str, Any]] = []
    notes: list[str] = []
    for design in chosen:
        for model in MEMORY_MODELS:
            try:
                registry = design.scenarios(model)
            except ImportError as exc:
                notes.append(f"no {design.name} {model} scenarios: {exc}")
                continue
            plan.extend((model, registry[name]) for name in registry)
    return plan, notes


def _bounds(cfg: CheckConfig) -> Bounds:
    return Bounds(cfg.max_executions, cfg.preemption_bound, cfg.max_steps, None)


def _explore(model: str, scenario: Any, bugs: frozenset[str], cfg: CheckConfig,
             minimize: bool) -> tuple[Any, float] | None:
    """Explore one scenario; None when the scenario cannot host the variant (e.g. a Theseus-only one)."""
    started = time.perf_counter()
    try:
        setup = scenario.setup(bugs)
        result = explore(setup, model, bounds=_bounds(cfg), minimize=minimize)
    except UsageError:
        # a scenario built on another allocator refuses variants it does not honour: not applicable
        return None
    return result, time.perf_counter() - started


def _outcome(result: Any) -> Outcome:
    if result.status is Status.VIOLATION:
        return Outcome.VIOLATION
    return Outcome.PASS if result.status is Status.PASS else Outcome.INCONCLUSIVE


def run_reference(cfg: CheckConfig | None = None, chosen: Iterable[Any] | None = None) -> ReferenceResult:
    """Run every bundled scenario (sc and c11) of the ``chosen`` designs (all) on the unmodified reference."""
    cfg = cfg or CheckConfig()
    plan, notes = _registries(designs().values() if chosen is None else chosen)
    runs = []
    for model, scenario in plan:
        explored = _explore(model, scenario, frozenset(), cfg, minimize=True)
        if explored is None:
            raise UsageError(f"scenario {model}/{scenario.name} refuses the unmodified reference")
        result, seconds = explored
        runs.append(ScenarioRun(f"{model}/{scenario.name}", _outcome(result), seconds, scenario.summary,
                                result.violation))
    return ReferenceResult(tuple(runs), tuple(notes))


def _shortness(run: ScenarioRun) -> tuple[int, int]:
    cx = run.counterexample
    return (cx.preemptions, len(cx.events))


def _scenario_part(design: Any, variant: Bug, cfg: CheckConfig,
                   started: float) -> tuple[list[ScenarioRun], list[Detection], list[str], float | None]:
    plan, _ = _registries([design])
    # the twin scenario first, so the time to the first counterexample is the designed catch
    plan.sort(key=lambda pair: pair[1].twin != variant.name)
    runs: list[ScenarioRun] = []
    found: list[Detection] = []
    undecided: list[str] = []
    first: float | None = None
    for model, scenario in plan:
        name = f"{model}/{scenario.name}"
        explored = _explore(model, scenario, frozenset({variant.name}), cfg, minimize=False)
        if explored is None:
            continue
        result, seconds = explored
        if result.status is Status.VIOLATION:
            first = time.perf_counter() - started if first is None else first
            minimal, _ = _explore(model, scenario, frozenset({variant.name}), cfg, minimize=True)
            cx = minimal.violation
            runs.append(ScenarioRun(name, Outcome.VIOLATION, seconds, scenario.summary, cx))
            found.append(Detection(DetectorKind.SCENARIO, name, _violated(cx)))
        else:
            outcome = _outcome(result)
            runs.append(ScenarioRun(name, outcome, seconds, scenario.summary))
            if outcome is Outcome.INCONCLUSIVE:
                undecided.append(f"{name}: not exhaustive")
    return runs, found, undecided, first


def _violated(cx: Counterexample) -> str:
    return f"{cx.kind.value} {cx.invariant}" if cx.invariant else cx.kind.value


def _proof_part(design: Any, variant: Bug, cfg: CheckConfig, started: float,
                first: float | None) -> tuple[list[Detection], list[str], float | None]:
    from framemc.verdicts import Verdict
    if variant.replaces is None or variant.name not in design.prover.variants:
        return [], [], first
    names = [ob.name for ob in design.prover.obligations(variant.name) if ob.op == variant.replaces]
    found: list[Detection] = []
    undecided: list[str] = []
    for result in design.prover.run(names, variant=variant.name, timeout_ms=cfg.proof_timeout_ms,
                                    rlimit_scale=cfg.proof_rlimit_scale, max_order=cfg.max_order):
        if result.verdict is Verdict.REFUTED:
            first = time.perf_counter() - started if first is None else first
            found.append(Detection(DetectorKind.OBLIGATION, result.name, "refuted"))
        elif result.verdict in (Verdict.UNKNOWN, Verdict.VACUOUS):
            undecided.append(f"{result.name}: {result.verdict.value.lower()} ({result.reason or 'no reason given'})")
    return found, undecided, first


def _conformance_part(design: Any, variant: Bug, cfg: CheckConfig, started: float,
                      first: float | None) -> tuple[list[Detection], list[str], float | None]:
    if design.conformance is None:
        return [], [], first
    report = design.conformance(seed=cfg.conformance_seed, steps=cfg.conformance_steps,
                                bugs=frozenset({variant.name}))
    failure = report.first_failure()
    if failure is None:
        return [], [], first
    index, step = failure
    checks = ", ".join(sorted({r.name for r in step.failures}))
    if report.verdict is not Outcome.VIOLATION:
        return [], [f"conformance: step {index} {step.op}: undecided {checks}"], first
    first = time.perf_counter() - started if first is None else first
    return [Detection(DetectorKind.CONFORMANCE, "conformance", f"step {index} {step.op}: {checks}")], [], first


def _every_bug(chosen: Iterable[Any]) -> dict[str, tuple[Any, Bug]]:
    """Every planted bug of the ``chosen`` designs: name -> (design, bug)."""
    return {name: (d, bug) for d in chosen for name, bug in d.bugs.items()}


def run_mutant(name: str, cfg: CheckConfig | None = None) -> MutantResult:
    """Run one planted bug through its design's scenarios, its model-variant proofs and its conformance run."""
    every = _every_bug(designs().values())
    if name not in every:
        raise UsageError(f"unknown bug variant {name!r}; known variants: {', '.join(sorted(every))}")
    cfg = cfg or CheckConfig()
    design, variant = every[name]
    started = time.perf_counter()
    runs, found, undecided, first = _scenario_part(design, variant, cfg, started)
    proved, proof_undecided, first = _proof_part(design, variant, cfg, started, first)
    conformed, conf_undecided, first = _conformance_part(design, variant, cfg, started, first)
    caught = [r for r in runs if r.counterexample is not None]
    shortest = min(caught, key=_shortness) if caught else None
    return MutantResult(variant, tuple(found + proved + conformed), tuple(runs), first, shortest,
                        tuple(undecided + proof_undecided + conf_undecided), design.name)


def run_catalogue(names: Iterable[str] | None = None, cfg: CheckConfig | None = None,
                  chosen: Iterable[Any] | None = None) -> Catalogue:
    """The reference run plus every named bug (all of the ``chosen`` designs by default), in sorted order."""
    chosen = list(designs().values() if chosen is None else chosen)
    every = _every_bug(chosen)
    picked = sorted(every) if names is None else sorted(set(names))
    unknown = [n for n in picked if n not in every]
    if unknown:
        raise UsageError(f"unknown bug variant {', '.join(repr(u) for u in unknown)}; known variants: "
                         f"{', '.join(sorted(every))}")
    cfg = cfg or CheckConfig()
    reference = run_reference(cfg, chosen)
    return Catalogue(reference, tuple(run_mutant(n, cfg) for n in picked))


# ----------------------------------------------------------------- rendering

def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def catalogue_table(catalogue: Catalogue) -> list[str]:
    """The catalogue as text lines: one row per variant with its first-counterexample time, plus a summary."""
    rows = [("variant", "caught", "first cx s", "trace", "by")]
    for m in catalogue.mutants:
        seconds = "-" if m.first_seconds is None else f"{m.first_seconds:.2f}"
        length = "-" if m.trace_length is None else str(m.trace_length)
        rows.append((m.variant.name, "yes" if m.caught else "NO", seconds, length, m.caught_by))
    lines = _columns(rows)
    for m in catalogue.mutants:
        lines.extend(f"undecided for {m.variant.name}: {u}" for u in m.undecided)
    times = sorted(m.first_seconds for m in catalogue.mutants if m.first_seconds is not None)
    caught = sum(m.caught for m in catalogue.mutants)
    lines.append(f"{caught} of {len(catalogue.mutants)} variants caught")
    if times:
        lines.append(f"time to first counterexample: median {statistics.median(times):.2f} s, "
                     f"slowest {times[-1]:.2f} s")
    ref = catalogue.reference
    lines.extend(f"note: {n}" for n in ref.notes)
    lines.extend(f"reference false alarm: {r.name}: {r.outcome.value}" for r in ref.scenarios
                 if r.outcome is not Outcome.PASS)
    lines.append(f"reference clean: {'yes' if ref.clean else 'no'} ({len(ref.scenarios)} scenarios)")
    return lines


def render_page(result: MutantResult) -> str:
    """The markdown page of one variant: the bug, its source, the counterexample, the invariant, the fix."""
    v = result.variant
    out = [f"# `{v.name}`", "", v.description, "", f"- **Source:** {v.source}",
           f"- **Design:** `{result.design}`",
           f"- **Switched on in:** `{v.module}` (`bugs={{\"{v.name}\"}}`)",
           f"- **Caught:** {'yes' if result.caught else 'NO'}", "", "## Caught by", ""]
    out.extend(f"- {d.kind.value} `{d.name}`: {d.detail}" for d in result.detections)
    if not result.detections:
        out.append("- nothing: this variant escapes the default suite")
    out += ["", "## Counterexample", ""]
    if result.shortest is not None:
        cx = result.shortest.counterexample
        out += [f"The shortest one found, in scenario `{result.shortest.name}` "
                f"({_count(cx.preemptions, 'preemption')}, {_count(len(cx.events), 'event')}):", "", "```text",
                cx.to_text().rstrip("\n"), "```", "", "## Violated invariant", "",
                _invariant_sentence(cx, result.shortest.summary), "", "```text", cx.message.rstrip("\n"), "```"]
    else:
        out.append("No scenario catches this variant; see the detections above.")
    refuted = [d.name for d in result.detections if d.kind is DetectorKind.OBLIGATION]
    if refuted:
        out += ["", "Refuted proof obligations: " + ", ".join(f"`{n}`" for n in refuted) + "."]
    out += ["", "## Fix", "", v.fix, ""]
    return "\n".join(out)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _invariant_sentence(cx: Counterexample, summary: str) -> str:
    if cx.invariant:
        return f"The model invariant `{cx.invariant}`, checked with z3 at every scheduling point."
    if cx.kind.value == "data-race":
        return ("Every pair of conflicting non-atomic accesses is ordered by happens-before (no data race), "
                f"which the scenario relies on: {summary}")
    return f"The scenario's end-to-end property ({cx.kind.value}): {summary}"


def render_index(results: Iterable[MutantResult]) -> str:
    """The index page: one row per variant, without timings."""
    out = ["# Planted-bug catalogue", "",
           "Generated by `framemc mutants --write-docs docs/counterexamples`; do not edit by hand.", "",
           "| variant | caught | caught by | trace events | preemptions |", "|---|---|---|---|---|"]
    for r in results:
        preemptions = "-" if r.shortest is None else str(r.shortest.counterexample.preemptions)
        length = "-" if r.trace_length is None else str(r.trace_length)
        by = ", ".join(f"`{d.name}`" for d in r.detections) or "-"
        out.append(f"| [`{r.variant.name}`]({r.variant.name}.md) | {'yes' if r.caught else 'NO'} | {by} "
                   f"| {length} | {preemptions} |")
    return "\n".join(out) + "\n"


def check_pages_folder(folder: Path) -> None:
    """Raise UsageError unless ``folder`` is a folder or does not exist yet (checked before the long run)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; --write-docs needs a folder for the counterexample pages")


def write_pages(results: Iterable[MutantResult], folder: Path) -> list[Path]:
    """Write one page per variant into ``folder``, and the index when every variant is there; return the paths."""
    results = list(results)
    check_pages_folder(folder)
    # a partial run must not replace the full index with a partial one
    pages = {folder / f"{r.variant.name}.md": render_page(r) for r in results}
    if {r.variant.name for r in results} == set(_every_bug(designs().values())):
        pages[folder / "README.md"] = render_index(results)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, text in pages.items():
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{folder}: cannot write the counterexample pages: {exc.strerror}") from None
    return sorted(pages)
