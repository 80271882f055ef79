"""The ``[tool.framemc]`` configuration of ``framemc check``: bounds, what to include, budgets.

Design: like a TLC ``.cfg`` file, bounds live apart from the code under
check.  One frozen :class:`CheckConfig` is built from the defaults, then the
``[tool.framemc]`` table of ``pyproject.toml``, then the command-line flags
(each layer overrides the one before), and is validated once, so the suite
runner never meets an impossible bound.  Every key is declared once in
:data:`KEYS`; an unknown key is a one-line :class:`UsageError` naming the
file and line.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framemc.errors import UsageError
from framemc.explorer.bounds import MemoryModel

__all__ = ["CheckConfig", "KEYS", "SECTIONS", "MEMORY_MODELS", "find_pyproject", "load_config"]

#: the parts of the default suite, in the order they run (cheapest first, so a time budget covers most)
SECTIONS = ("scenarios", "conformance", "proofs")
#: memory models the bundled scenarios run under: every model of the explorer's registry
MEMORY_MODELS = tuple(m.value for m in MemoryModel)
#: the largest MAX_ORDER accepted (Linux uses 10 to 13; every bound the encoding allows is far beyond)
MAX_ORDER_LIMIT = 30


@dataclass(frozen=True)
class CheckConfig:
    """Everything ``framemc check`` runs and under which bounds; None means "all" or "unbounded"."""

    #: suite parts to run (a subset of SECTIONS, in SECTIONS order)
    include: tuple[str, ...] = SECTIONS
    #: proof obligations, operations or invariants to run; None: every obligation
    obligations: tuple[str, ...] | None = None
    #: bundled scenario names to run; None: every scenario
    scenarios: tuple[str, ...] | None = None
    #: memory models the scenarios run under (models without scenarios are skipped)
    memory_models: tuple[str, ...] = MEMORY_MODELS
    #: planted bug variants switched on in the impl (and the same-named model variant in the proofs)
    bugs: tuple[str, ...] = ()
    #: per-scenario cap on complete executions
    max_executions: int | None = None
    #: per-scenario cap on preemptive context switches per execution
    preemption_bound: int | None = None
    #: events one scenario thread may perform
    max_steps: int = 1000
    #: seconds for the whole check; what is left when it runs out is INCONCLUSIVE
    time_budget: float | None = None
    #: wall-clock safety net per z3 proof query, in milliseconds (calibrated resource limits bound the work)
    proof_timeout_ms: int = 300_000
    #: factor on every obligation's calibrated z3 resource limit
    proof_rlimit_scale: float = 1.0
    #: the buddy's MAX_ORDER the proofs are discharged at (the one bound the proofs have; see docs/model.md)
    max_order: int = 3
    #: worker processes for the proofs
    jobs: int = max(1, min(os.cpu_count() or 1, 4))
    #: worker processes each scenario's exploration is split over; 1: run it here
    workers: int = 1
    #: a Dask scheduler address (tcp://host:8786): each scenario's exploration is split over its workers
    dask: str | None = None
    #: seed of the conformance run's operation choices
    conformance_seed: int = 0
    #: operations the conformance run applies (about 50 ms each)
    conformance_steps: int = 150
    #: the designs to check, by name (``framemc list --kind designs``); None: every registered design
    design: tuple[str, ...] | None = None
    #: the user's own designs, as ``module:ATTRIBUTE`` of a ``framemc.design.Design`` value (imported from the
    #: folder of the pyproject.toml that names them, as pytest imports a project's tests)
    designs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("include", "memory_models"):
            allowed = SECTIONS if name == "include" else MEMORY_MODELS
            value = getattr(self, name)
            bad = [v for v in value if v not in allowed]
            if bad or not value:
                raise UsageError(f"{name} must be a non-empty list drawn from {', '.join(allowed)}, got {list(value)}")
            # run order is fixed, whatever order the user listed them in
            object.__setattr__(self, name, tuple(v for v in allowed if v in value))
        _check_int("max_executions", self.max_executions, 1, optional=True)
        _check_int("preemption_bound", self.preemption_bound, 0, optional=True)
        _check_int("max_steps", self.max_steps, 1)
        _check_int("proof_timeout_ms", self.proof_timeout_ms, 1)
        _check_int("jobs", self.jobs, 1)
        _check_int("workers", self.workers, 1)
        if self.dask is not None and (not isinstance(self.dask, str) or "://" not in self.dask):
            raise UsageError(f"dask must be a scheduler address like tcp://host:8786, got {self.dask!r}")
        _check_int("max_order", self.max_order, 0)
        if self.max_order > MAX_ORDER_LIMIT:
            raise UsageError(f"max_order must be at most {MAX_ORDER_LIMIT}, got {self.max_order}")
        _check_int("conformance_seed", self.conformance_seed, 0)
        _check_int("conformance_steps", self.conformance_steps, 1)
        budget = self.time_budget
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                                   or not budget > 0):
            raise UsageError(f"time_budget must be a positive number of seconds, got {budget!r}")
        scale = self.proof_rlimit_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < float("inf"):
            raise UsageError(f"proof_rlimit_scale must be a positive number, got {scale!r}")
        for name in ("obligations", "scenarios", "bugs", "design", "designs"):
            value = getattr(self, name)
            if value is not None and not all(isinstance(v, str) and v for v in value):
                raise UsageError(f"{name} must be a list of names, got {list(value)}")

    def merged(self, **overrides: Any) -> "CheckConfig":
        """A copy with every override that is not None applied (the command line over the file)."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        """Plain values for the JSON summary (lists, not tuples)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _check_int(name: str, value: object, floor: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < floor:
        raise UsageError(f"{name} must be an integer >= {floor}, got {value!r}")


#: every configuration key and the type its TOML value must have
KEYS: dict[str, type] = {f.name: list if f.name in ("include", "obligations", "scenarios", "memory_models", "bugs",
                                                     "design", "designs")
                         else float if f.name in ("time_budget", "proof_rlimit_scale")
                         else str if f.name == "dask" else int
                         for f in dataclasses.fields(CheckConfig)}


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that configures framemc under ``[tool]``.

    A file counts when its TOML has a ``tool.framemc`` entry of any type (a
    wrong type is reported by :func:`load_config`, never silently skipped), or
    when it cannot be parsed but mentions framemc under ``tool``.
    """
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        text = _read(candidate)
        if "framemc" not in text:
            continue
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            if _framemc_line(text):
                return candidate
            continue
        tool = doc.get("tool")
        if isinstance(tool, dict) and "framemc" in tool:
            return candidate
    return None


def _framemc_line(text: str) -> int:
    """The line that defines ``tool.framemc`` (a table header, a dotted key or a key in ``[tool]``), or 0."""
    section = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            section = header.group(1).replace(" ", "").replace('"', "")
            if section == "tool.framemc" or section.startswith("tool.framemc."):
                return number
            continue
        key = re.match(r'^"?([A-Za-z0-9_.\-" ]+?)"?\s*=', stripped)
        if key is None:
            continue
        full = ".".join(p for p in (section, key.group(1).replace(" ", "").replace('"', "")) if p)
        if full == "tool.framemc" or full.startswith("tool.framemc.") or (
                full == "tool" and re.search(r"\bframemc\s*=", stripped)):
            return number
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the configuration: {exc}") from None


def _line_of(text: str, key: str) -> int:
    # tomllib keeps no positions; find the key's line inside the [tool.framemc] table
    in_table = False
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped.startswith("[tool.framemc")
        elif in_table and re.match(rf"^{re.escape(key)}\s*=", stripped):
            return number
    return 0


def load_config(path: Path | None) -> CheckConfig:
    """The configuration in ``path``'s ``[tool.framemc]`` table (defaults when ``path`` is None)."""
    if path is None:
        return CheckConfig()
    text = _read(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    tool = doc.get("tool", {})
    if not isinstance(tool, dict):
        if _framemc_line(text):
            raise UsageError(f"{path}:{_framemc_line(text)}: 'tool' must be a table holding [tool.framemc], "
                             f"got {type(tool).__name__}")
        return CheckConfig()
    table = tool.get("framemc", {})
    if not isinstance(table, dict):
        tables = isinstance(table, list) and bool(table) and all(isinstance(t, dict) for t in table)
        kind = "an array of tables" if tables else f"{type(table).__name__} {table!r}"
        raise UsageError(f"{path}:{_framemc_line(text)}: [tool.framemc] must be a table of settings, got {kind}")
    values: dict[str, Any] = {}
    for key in sorted(table, key=lambda k: (_line_of(text, k), k)):
        where = f"{path}:{_line_of(text, key)}"
        if key not in KEYS:
            raise UsageError(f"{where}: unknown [tool.framemc] key {key!r}; expected one of {', '.join(sorted(KEYS))}")
        value = table[key]
        want = KEYS[key]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or isinstance(value, bool):
            raise UsageError(f"{where}: {key} must be a {'list of names' if want is list else want.__name__}, "
                             f"got {value!r}")
        if want is list and not all(isinstance(v, str) and v for v in value):
            raise UsageError(f"{where}: {key} must be a list of names (strings), got {value!r}")
        if want is list and not value and key in ("scenarios", "obligations"):
            raise UsageError(f"{where}: nothing to check: {key} = [] selects no {key[:-1]}; leave the key out "
                             f"to run every one, or take {('proofs' if key == 'obligations' else key)!r} out of "
                             f"include")
        values[key] = tuple(value) if want is list else value
    try:
        return CheckConfig(**values)
    except UsageError as exc:
        raise UsageError(f"{path}: [tool.framemc] {exc}") from None
