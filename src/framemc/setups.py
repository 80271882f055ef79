"""Where a scenario comes from: a user's scenario file, a bundled scenario, and a trace file's origin block.

Design: a trace file is the explorer's versioned counterexample document
plus one optional ``origin`` object the command line adds, saying how to
rebuild the setup it came from: a bundled scenario (name, bugs, memory
model) or a user file (path relative to the trace file, and the function).
The explorer ignores keys it does not know, so the schema stays version 1.
Everything the user hands in (a file, a function, a trace) is checked here,
and every problem is one :class:`UsageError` line naming the file and line.
This is library code: the command line, the suite, reports and designs use
it, and it never imports the command line.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from framemc.errors import UsageError
from framemc.explorer import Counterexample
from framemc.trace_schema import ORIGIN_KINDS, validate_trace

__all__ = ["UserSetup", "load_user_setup", "bundled_registry", "bundled_origin", "file_origin",
           "trace_document", "read_trace", "setup_for_origin", "ORIGIN_KINDS"]


@dataclass(frozen=True)
class UserSetup:
    """A user's scenario function, loaded from a file."""

    #: the file as the user named it
    path: Path
    #: the function's name
    func: str
    #: the function itself
    setup: Callable[[], Any]
    #: the line of its ``def``, for error messages
    line: int

    @property
    def where(self) -> str:
        """``file:line`` of the function, the prefix of every error about it."""
        return f"{self.path}:{self.line}"


def _split_spec(spec: str) -> tuple[str, str]:
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail.isidentifier():
        return head, tail
    return spec, "setup"


def _module_name(path: Path) -> str:
    # unique per file, and not under framemc., so traces show the file's own name
    return "framemc_user_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def _import_error_line(exc: BaseException, path: Path) -> int:
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        return exc.lineno
    target = os.path.realpath(path)
    found = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(frame.filename) == target:
            found = frame.lineno or 0
    return found


def _import_file(path: Path) -> ModuleType:
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: cannot be imported as a Python file (expected FILE.py)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # like ``python FILE.py``: the file's folder is importable, so its sibling modules are too
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module may raise anything while importing
        del sys.modules[name]
        what = "has a syntax error" if isinstance(exc, SyntaxError) else f"raised {type(exc).__name__} while importing"
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise UsageError(f"{path}:{_import_error_line(exc, path)}: {what}: {detail}") from None
    return module


def load_user_setup(spec: str | os.PathLike[str], base: Path | None = None) -> UserSetup:
    """Import ``FILE.py[:FUNC]`` (FUNC defaults to ``setup``), resolving FILE against ``base`` if given."""
    file, func = _split_spec(os.fspath(spec))
    path = Path(file)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.exists():
        raise UsageError(f"{path}: no such file (expected a Python file defining the scenario's setup function)")
    if not path.is_file():
        raise UsageError(f"{path}: is not a file (expected a Python file defining the scenario's setup function)")
    module = _import_file(path)
    target = getattr(module, func, None)
    if target is None:
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        listing = ", ".join(found) if found else "none"
        raise UsageError(f"{path}: no function {func!r} (expected a setup function returning the threads; "
                         f"functions defined there: {listing})")
    if not callable(target):
        raise UsageError(f"{path}: {func!r} is a {type(target).__name__}, expected a function returning the threads")
    code = getattr(target, "__code__", None)
    line = code.co_firstlineno if code is not None else 0
    return UserSetup(path, func, target, line)


def bundled_registry(memory_model: str) -> dict[str, Any]:
    """The bundled scenarios that run under ``memory_model`` (name -> Scenario)."""
    if memory_model == "sc":
        from framemc.scenarios.allocator import SCENARIOS
        return dict(SCENARIOS)
    if memory_model == "c11":
        from framemc.scenarios import orderings
        for name in ("SCENARIOS", "ORDERING_SCENARIOS"):
            if isinstance(getattr(orderings, name, None), dict):
                return dict(getattr(orderings, name))
        raise ImportError("framemc.scenarios.orderings has no SCENARIOS registry")
    from framemc.explorer.memory import MODELS
    if memory_model in MODELS:
        return {}  # a memory model registered since: no bundled scenario is written for it yet
    raise UsageError(f"memory model must be one of {', '.join(MODELS)}, got {memory_model!r}")


def bundled_origin(scenario: str, bugs: tuple[str, ...], memory_model: str, design: str = "metaslot"
                   ) -> dict[str, Any]:
    """The origin of a trace from a bundled scenario of ``design``."""
    return {"kind": "bundled", "scenario": scenario, "bugs": sorted(bugs), "memory_model": memory_model,
            "design": design}


def file_origin(user: UserSetup, trace_path: Path) -> dict[str, Any]:
    """The origin of a trace from a user file, its path relative to the trace file's folder."""
    folder = trace_path.resolve().parent
    try:
        rel = os.path.relpath(user.path.resolve(), folder)
    except ValueError:  # another drive on Windows
        rel = str(user.path.resolve())
    return {"kind": "file", "file": Path(rel).as_posix(), "func": user.func}


def trace_document(cx: Counterexample, origin: dict[str, Any] | None) -> str:
    """The counterexample's JSON document with the origin block (sorted keys: byte-identical)."""
    doc = cx.to_dict()
    if origin is not None:
        doc["origin"] = origin
    return json.dumps(doc, sort_keys=True, indent=2) + "\n"


def read_trace(path: Path) -> tuple[Counterexample, dict[str, Any] | None]:
    """The counterexample in ``path`` and its origin (None if it has none); UsageError when malformed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (expected a framemc trace JSON file)") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a framemc trace: byte {exc.start} is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not a framemc trace: invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise UsageError(f"{path}: not a framemc trace: JSON nested too deeply") from None
    try:
        # checked completely first, indices included, so no parser or renderer meets a bad document
        validate_trace(doc)
        cx = Counterexample.from_json(doc)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except RecursionError:
        raise UsageError(f"{path}: malformed counterexample: values nested too deeply") from None
    return cx, doc.get("origin")


def _project_root(trace_path: Path) -> Path:
    """The tree a trace was written for: the nearest folder above it with .git or pyproject.toml."""
    folder = trace_path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists() or (candidate / "pyproject.toml").is_file():
            return candidate
    return folder


def _inside_tree(trace_path: Path, rel: str) -> Path | None:
    """``rel`` (relative to the trace's folder) resolved, if it stays inside the trace's project tree."""
    if Path(rel).is_absolute() or rel.startswith(("/", "\\")):
        return None
    target = (trace_path.resolve().parent / rel).resolve()
    root = _project_root(trace_path)
    return target if target == root or root in target.parents else None


class PytestOrigin(Exception):
    """The trace came from a pytest test whose setup is built at run time: replay re-runs that test."""

    def __init__(self, origin: dict[str, Any]) -> None:
        super().__init__(origin["nodeid"])
        #: the origin block
        self.origin = origin


def replay_pytest_origin(origin: dict[str, Any], trace_path: Path) -> int:
    """Re-run the pytest test that wrote ``trace_path`` with ``--framemc-replay``; 1 reproduced, 0 fixed."""
    import subprocess
    import sys
    root = _inside_tree(trace_path, str(origin["rootdir"]))
    test_file = Path(str(origin["nodeid"]).split("::", 1)[0])
    # a trace is data (it may come from a CI artifact): it never points outside the tree it was written for
    if root is None or test_file.is_absolute() or ".." in test_file.parts:
        raise UsageError(f"{trace_path}: the trace names test {origin['nodeid']!r} in folder {origin['rootdir']!r}, "
                         "outside the project tree the trace is in; replay will not run it. Run the test "
                         f"yourself: pytest --framemc-replay {trace_path} NODEID")
    if not root.is_dir():
        raise UsageError(f"{trace_path}: the test folder {root} the trace came from is gone")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--framemc-replay",
           str(trace_path.resolve()), str(origin["nodeid"])]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    print(done.stdout, end="")
    if done.returncode == 0:
        return 0
    if done.returncode == 1:
        return 1
    raise UsageError(f"{trace_path}: re-running test {origin['nodeid']} failed to start (pytest exit "
                     f"{done.returncode}): {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}")


def setup_for_origin(origin: dict[str, Any] | None, trace_path: Path) -> Callable[[], Any]:
    """Rebuild the setup a trace came from; UsageError when the trace does not say or it is gone."""
    if origin is None:
        raise UsageError(f"{trace_path}: the trace has no origin block, so there is no scenario to replay it "
                         f"against (traces written by 'framemc explore --trace-out' or 'framemc check --trace-dir' "
                         f"have one)")
    if origin["kind"] == "pytest":
        raise PytestOrigin(origin)
    if origin["kind"] == "file":
        if _inside_tree(trace_path, str(origin["file"])) is None:
            # a trace is data: it may come from an untrusted CI artifact, so it never picks code to import
            # from outside its own folder
            raise UsageError(f"{trace_path}: the trace names the scenario file {origin['file']!r}, outside the "
                             "project tree the trace is in; replay will not import it. Name the scenario yourself: "
                             "framemc replay TRACE.json --scenario FILE.py:FUNC")
        user = load_user_setup(f"{origin['file']}:{origin['func']}", base=trace_path.resolve().parent)
        return user.setup
    try:
        if "design" in origin:
            from framemc.design import design_named
            registry = dict(design_named(str(origin["design"])).scenarios(origin["memory_model"]))
        else:  # a trace written before designs were named
            registry = bundled_registry(origin["memory_model"])
    except ImportError as exc:
        raise UsageError(f"{trace_path}: scenarios for memory model {origin['memory_model']!r} are "
                         f"not available: {exc}") from None
    name = origin["scenario"]
    if name not in registry:
        raise UsageError(f"{trace_path}: unknown scenario {name!r}; known scenarios: {', '.join(registry)}")
    try:
        return registry[name].setup(tuple(origin["bugs"]))
    except UsageError as exc:
        raise UsageError(f"{trace_path}: {exc}") from None
