"""pytest plugin: model-check scenarios inside your own test suite.

Design: two doors to the same check.  The ``framemc_explore`` fixture is a
function ``check(setup, **explore_options)`` that runs
:func:`framemc.explore`; the ``@pytest.mark.framemc(**explore_options)``
marker turns a test function into a setup (it returns the threads) and
explores it.  Either way a violation fails the test with the
counterexample text, an inconclusive result (a hit bound, z3 unknown) fails
it too unless ``allow_inconclusive=True`` (it is never a silent pass), and
the trace JSON is written next to the test report: in the folder of
``--junitxml`` when given, else ``--framemc-trace-dir`` (default
``.framemc/traces`` under the root directory).  The trace file's path is
recorded as the ``framemc_trace`` user property, so JUnit XML shows it.
framemc is imported lazily, so merely having the plugin installed costs
other test suites nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest

__all__ = ["framemc_explore", "pytest_addoption", "pytest_configure", "pytest_pyfunc_call"]

_MARKER = "framemc"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--framemc-trace-dir``."""
    group = parser.getgroup("framemc", "framemc model checking")
    group.addoption("--framemc-trace-dir", default=None, metavar="DIR",
                    help="where failing framemc explorations write their trace JSON "
                         "(default: next to --junitxml, else .framemc/traces under the root directory)")
    group.addoption("--framemc-replay", default=None, metavar="TRACE.json",
                    help="replay this trace instead of exploring (the selected test must be the one that wrote "
                         "it): the test fails when the violation reproduces, and passes when it no longer does")


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so --strict-markers accepts it."""
    config.addinivalue_line("markers", f"{_MARKER}(**options): the test function is a framemc setup; explore it "
                                       "with these framemc.explore options (plus allow_inconclusive=)")


def _trace_dir(config: pytest.Config) -> Path:
    chosen = config.getoption("--framemc-trace-dir")
    if chosen:
        return Path(chosen)
    junit = getattr(config.option, "xmlpath", None)
    if junit:
        return Path(junit).resolve().parent
    return Path(str(config.rootpath)) / ".framemc" / "traces"


def _trace_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_") + ".framemc.json"


def _origin(replayable: Callable[[], Any] | None, trace: Path, item: pytest.Item) -> dict[str, Any]:
    """The trace's origin: a module-level setup ``framemc replay`` can re-import, else the pytest test.

    A setup built by a factory (a closure) cannot be imported by name, so the origin is then the test
    itself: ``framemc replay`` re-runs that test with ``--framemc-replay``, which rebuilds the setup the
    same way the test did.
    """
    import os
    from framemc.setups import UserSetup, file_origin
    code = getattr(replayable, "__code__", None)
    name = getattr(replayable, "__qualname__", "")
    if code is not None and name.isidentifier() and Path(code.co_filename).is_file():
        return file_origin(UserSetup(Path(code.co_filename), name, replayable, code.co_firstlineno), trace)
    root = Path(str(item.config.rootpath)).resolve()
    return {"kind": "pytest", "nodeid": item.nodeid,
            "rootdir": Path(os.path.relpath(root, trace.resolve().parent)).as_posix()}


def _check(item: pytest.Item, setup: Callable[[], Any], options: dict[str, Any],
           replayable: Callable[[], Any] | None) -> Any:
    """Explore ``setup``; fail ``item`` with the counterexample (or the inconclusive reason).

    ``replayable`` is the module-level function a replay can re-import (None when there is none).
    """
    import framemc
    from framemc.setups import trace_document
    allow_inconclusive = bool(options.pop("allow_inconclusive", False))
    replaying = item.config.getoption("--framemc-replay")
    if replaying:
        try:
            result = framemc.replay(setup, Path(replaying).read_text(encoding="utf-8"))
        except (OSError, framemc.UsageError) as exc:
            pytest.fail(f"framemc: cannot replay {replaying}: {exc}", pytrace=False)
        if result.violation is not None:
            pytest.fail(f"framemc: the violation of {replaying} reproduces\n{result.violation.to_text()}",
                        pytrace=False)
        print(f"framemc: {replaying}: {result.note}")
        return result
    try:
        result = framemc.explore(setup, **options)
    except framemc.UsageError as exc:
        pytest.fail(f"framemc: {exc}", pytrace=False)
    if result.status is framemc.Status.VIOLATION:
        folder = _trace_dir(item.config)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _trace_name(item.nodeid)
        path.write_text(trace_document(result.violation, _origin(replayable, path, item)), encoding="utf-8")
        item.user_properties.append(("framemc_trace", str(path)))
        pytest.fail(f"framemc found a counterexample (trace: {path})\n{result.violation.to_text()}", pytrace=False)
    if result.status is framemc.Status.INCONCLUSIVE and not allow_inconclusive:
        why = f"the {result.bound_hit.value} bound cut the search" if result.bound_hit is not None \
            else "a check could not decide: " + ", ".join(sorted({f.name for f in result.inconclusive}))
        pytest.fail(f"framemc: inconclusive after {result.executions} executions ({why}); "
                    f"pass allow_inconclusive=True to accept that", pytrace=False)
    return result


@pytest.fixture
def framemc_explore(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``check(setup, **explore_options)``: explore ``setup``, failing the test on a counterexample."""
    def check(setup: Callable[[], Any], **options: Any) -> Any:
        return _check(request.node, setup, dict(options), setup)
    return check


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a ``@pytest.mark.framemc`` test as a setup under the explorer instead of calling it once."""
    marker = pyfuncitem.get_closest_marker(_MARKER)
    if marker is None:
        return None
    if marker.args:
        raise pytest.UsageError(f"{pyfuncitem.nodeid}: @pytest.mark.framemc takes keyword options only")
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}

    def setup() -> Any:
        return pyfuncitem.obj(**kwargs)
    _check(pyfuncitem, setup, dict(marker.kwargs), None if names else pyfuncitem.obj)
    return True
