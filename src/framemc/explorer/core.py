"""Which build of the explorer's core runs: the compiled one (mypyc) or its Python source.

Design.  The search's hot modules (:data:`MODULES`: execution graphs, the
TruSt engine, the program runs, the memory models' checkers) are plain,
type-annotated Python.  Installing
framemc compiles them with mypyc when it can (``setup.py``); the compiled
modules are C extensions that sit beside the sources and are the very same
code, only faster.  A compiled module is used only when it was built from the
sources that sit beside it: the build records each source's SHA-256 in
``_core_stamp.py``, and this module compares them before the first of them is
imported.  When they differ (a source edited after the build), when the build
did not compile (no C compiler, ``FRAMEMC_PURE=1`` at install) or when
``FRAMEMC_PURE=1`` is set at run time, an import hook loads the Python sources
instead, so a stale build never runs.  ``framemc explore --json`` and
:func:`build` say which build ran.

``tests/explore/test_core_build.py`` runs the same programs under both builds
and requires identical counts and traces.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["MODULES", "build", "install"]

#: the modules mypyc compiles (setup.py loads this file for the list, :func:`source_path` and :func:`digest`; so
#: this module imports nothing but the standard library)
MODULES = ("framemc.explorer.opkind", "framemc.explorer.graph", "framemc.explorer.engine", "framemc.explorer.program",
           "framemc.explorer.memory", "framemc.explorer.memory.sc", "framemc.explorer.memory.rc11")
#: the environment variable that selects the Python sources
PURE_ENV = "FRAMEMC_PURE"

_HERE = Path(__file__).resolve().parent


def source_path(module: str) -> Path:
    """The ``.py`` file of one of :data:`MODULES`."""
    path = _HERE.joinpath(*module.split(".")[2:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def digest(module: str) -> str:
    """SHA-256 of a module's source file."""
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


def _why_pure() -> str | None:
    """Why the Python sources run (None: the compiled build runs)."""
    if os.environ.get(PURE_ENV) == "1":
        return f"{PURE_ENV}=1"
    try:
        from framemc.explorer import _core_stamp  # type: ignore[attr-defined]
    except ImportError:
        return "not compiled"
    stamps: dict[str, str] = getattr(_core_stamp, "SOURCES", {})
    for module in MODULES:
        if stamps.get(module) != digest(module):
            return f"{source_path(module).name} changed since the build"
        if not _compiled_file(module):
            return "not compiled"
    return None


def _compiled_file(module: str) -> bool:
    """Does a compiled build of ``module`` sit beside its source?"""
    src = source_path(module)
    return any(src.with_name(src.stem + suffix).is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Loads :data:`MODULES` from their ``.py`` files even where a compiled build sits beside them."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in MODULES:
            return None
        src = source_path(fullname)
        if src.name == "__init__.py":
            return importlib.util.spec_from_file_location(fullname, src, submodule_search_locations=[str(src.parent)])
        return importlib.util.spec_from_file_location(fullname, src)


_STATE: dict[str, str | None] = {}


def install() -> None:
    """Choose the build, once per process, before any of :data:`MODULES` is imported."""
    if "why" in _STATE:
        return
    loaded = [m for m in MODULES if m in sys.modules]
    if loaded:
        raise ImportError(f"framemc.explorer.core.install() runs before {loaded[0]} is imported")
    why = _why_pure()
    _STATE["why"] = why
    if why is not None:
        sys.meta_path.insert(0, _SourcesFirst())


def build() -> str:
    """``"compiled"`` or ``"python (<why>)"``: the build of the core this process runs."""
    install()
    why = _STATE["why"]
    return "compiled" if why is None else f"python ({why})"
