"""The proof obligations: all PROVED, guards satisfiable, broken variants REFUTED, UNKNOWN never a pass."""

import subprocess
import sys

import pytest

from framemc.errors import UsageError
from framemc.model import INVARIANTS, VARIANTS
from framemc.proofs import Verdict, exit_code, format_table, main, obligations, run_obligations

ALL = obligations()


@pytest.mark.parametrize("name", [ob.name for ob in ALL])
def test_obligation_is_proved(name):
    (result,) = run_obligations([name])
    assert result.verdict is Verdict.PROVED, result.counterexample or result.reason


def test_every_operation_has_a_guard_obligation_and_every_pair_is_listed():
    names = {ob.name for ob in ALL}
    ops = {ob.op for ob in ALL} - {"init"}
    assert all(f"guard/{op}" in names for op in ops)
    assert len([ob for ob in ALL if ob.op == "claim"]) == 1 + len(INVARIANTS)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_broken_variant_is_refuted_with_a_diff(variant):
    v = VARIANTS[variant]
    results = run_obligations([f"{v.replaces}/{inv.name}" for inv in v.breaks], variant=variant)
    refuted = [r for r in results if r.verdict is Verdict.REFUTED]
    assert refuted, [r.verdict for r in results]
    assert "where the invariant fails" in refuted[0].counterexample
    assert "  ->  " in refuted[0].counterexample
    assert "REFUTED" in format_table(results)


def test_a_timeout_is_unknown_and_fails():
    results = run_obligations(["buddy_free/S-buddies-merged"], timeout_ms=1)
    assert results[0].verdict is Verdict.UNKNOWN
    assert exit_code(results) == 1
    assert "not a proof" in format_table(results)


def test_main_exit_codes(capsys):
    assert main(argv=["claim/I3-generation"]) == 0
    assert main(argv=["--variant", "non-cas-claim", "claim/I3-generation"]) == 1
    assert "REFUTED claim/I3-generation" in capsys.readouterr().out
    assert main(argv=["no-such-obligation"]) == 2


def test_bad_selection_and_variant_are_usage_errors():
    with pytest.raises(UsageError, match="no obligation matches"):
        run_obligations(["nope"])
    with pytest.raises(UsageError, match="unknown variant"):
        run_obligations(["claim"], variant="nope")


def test_parallel_run_matches_sequential_order():
    names = ["claim/I3-generation", "zero/I1-no-metadata-in-payload", "guard/clone"]
    assert [r.name for r in run_obligations(names, jobs=2)] == names


@pytest.mark.parametrize("argv, code", [
    (["-m", "framemc.proofs.page_tables"], 0),
    (["-m", "framemc.proofs", "--variant", "publish-before-zero", "publish/I4-page-table-zeroed"], 1),
])
def test_python_m_entry_points(argv, code):
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stdout + done.stderr
    assert "obligations:" in done.stdout


def test_a_counterexample_names_fields_in_words_and_values_as_a_kernel_engineer_reads_them():
    from framemc.model.render import FIELD_LABELS, render_value
    from framemc.model.state import FRAME_FIELDS, NO_HEAD
    from framemc.snapshot import REFCOUNT_MAX, REFCOUNT_UNIQUE, REFCOUNT_UNUSED
    (result,) = run_obligations(["claim/I3-generation"], variant="non-cas-claim")
    assert result.verdict is Verdict.REFUTED
    rows = [line.split()[0] for line in result.counterexample.splitlines() if line.startswith("    ")]
    assert "payload" in rows and "pz" not in rows and "hord" not in rows and "ccpu" not in rows
    assert {FIELD_LABELS[name] for name, _ in FRAME_FIELDS} >= {"payload zeroed", "free block here", "cached on CPU"}
    # sentinels by name, 64-bit numbers in hex, small ones in decimal
    assert render_value("rc", REFCOUNT_UNUSED) == "UNUSED" and render_value("rc", REFCOUNT_UNIQUE) == "UNIQUE"
    assert render_value("rc", REFCOUNT_MAX) == "MAX" and render_value("hord", NO_HEAD) == "-"
    assert render_value("pool", 7358881792197148871) == "0x66200000400040c7"
    assert render_value("frame", 2**64 - 2) == "0xfffffffffffffffe" and render_value("gen", 3) == "3"


#: each strengthening of issue 13 and the broken operation that only it refutes
STRENGTHENINGS = {
    "claim-without-bump": "I3-generation-epoch",
    "cache-steal": "S-cache-owner-steps",
    "cache-phantom-cpu": "S-cache-owner",
    "lost-update-drop": "I3-live-handles",
    "retire-live-poisoned": "I3-refcount-sentinels",
    "poison-fills-payload": "I1-no-metadata-in-payload",
}


@pytest.mark.parametrize("variant", sorted(STRENGTHENINGS))
def test_each_strengthening_is_the_only_invariant_refuting_its_broken_operation(variant):
    op = VARIANTS[variant].replaces
    results = run_obligations([op], variant=variant)
    failed = {r.name.split("/", 1)[1]: r.verdict for r in results if r.verdict is not Verdict.PROVED}
    assert failed == {STRENGTHENINGS[variant]: Verdict.REFUTED}
