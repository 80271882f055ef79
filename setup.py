"""Build hook: compile the explorer's core with mypyc when possible (pyproject.toml holds everything else).

The modules listed in ``framemc.explorer.core.MODULES`` are compiled to C extensions by mypyc (from the
``mypy`` package, a build requirement) and a C compiler.  The build is optional: with ``FRAMEMC_PURE=1``,
without a C compiler or when mypyc fails, framemc installs its Python sources alone, which run the same
code more slowly.  ``_core_stamp.py`` records the SHA-256 of each compiled source, so that a source edited
after the build runs as Python instead of as a stale extension (``framemc.explorer.core``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
EXPLORER = ROOT / "src" / "framemc" / "explorer"
STAMP = EXPLORER / "_core_stamp.py"


def _load_core():  # type: ignore[no-untyped-def]
    """``framemc.explorer.core`` loaded from its file (it needs only the standard library; the package itself is
    not importable while it is being built): the module list, source paths and digests come from there."""
    spec = importlib.util.spec_from_file_location("framemc_explorer_core", EXPLORER / "core.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CORE = _load_core()


def _note(message: str) -> None:
    print(f"framemc setup: {message}", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """Build the compiled core, and install the sources alone when that fails (no C compiler, say).

    mypyc translates the modules when this command is set up, not when setup.py is loaded: pip loads it several
    times (requirements, metadata) and each translation takes tens of seconds.
    """

    def finalize_options(self) -> None:
        STAMP.unlink(missing_ok=True)
        self.distribution.ext_modules = _extensions()
        super().finalize_options()

    def run(self) -> None:
        if not self.extensions:
            return
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure leaves the pure-Python install
            _note(f"compiling the explorer core failed ({exc}); the Python sources will run")
            return
        digests = {m: CORE.digest(m) for m in CORE.MODULES}
        STAMP.write_text('"""Written by setup.py: the SHA-256 of each source compiled into the explorer core."""\n\n'
                         f"SOURCES = {digests!r}\n", encoding="utf-8")
        if not self.inplace:
            # a wheel build: the stamp goes into the built package too
            target = Path(self.build_lib) / "framemc" / "explorer" / STAMP.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(STAMP.read_text(encoding="utf-8"), encoding="utf-8")


_TRANSLATED: list = []


def _extensions() -> list:
    """The compiled core's extensions, or none (the sources then run); translated once per process."""
    if not _TRANSLATED:
        _TRANSLATED.append(_translate())
    return _TRANSLATED[0]


def _translate() -> list:
    if os.environ.get(CORE.PURE_ENV) == "1":
        _note(f"{CORE.PURE_ENV}=1: the explorer core is not compiled")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _note("mypy (mypyc) is not installed: the explorer core is not compiled")
        return []
    paths = [str(CORE.source_path(m).relative_to(ROOT)) for m in CORE.MODULES]
    try:
        return mypycify(paths + ["--ignore-missing-imports", "--follow-imports=silent"],
                        group_name="framemc.explorer._core", opt_level="3", strip_asserts=False)
    except BaseException as exc:  # noqa: BLE001 - mypyc exits on a type error; keep the pure build
        _note(f"mypyc could not translate the explorer core ({exc!r}); the Python sources will run")
        return []


#: stands for the extensions until OptionalBuildExt translates them (it makes the wheel a platform wheel and has
#: setuptools run build_ext)
PLACEHOLDER = Extension("framemc.explorer._core_placeholder", sources=[])

setup(ext_modules=[PLACEHOLDER], cmdclass={"build_ext": OptionalBuildExt})
