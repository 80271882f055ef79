"""`framemc prove --emit-smt2 DIR` and the cvc5 cross-check (issue 13).

The exported files of both designs parse back with z3 and z3 answers them
as the manifest says; the theseus export holds one file per piece its
prover poses; the export is byte-identical from run to run; a planted bug
(metaslot's or any of theseus's) exports the refuting piece, sat for z3 and
for cvc5; a bad folder or selection is a one-line usage error.  The slow
test exports every obligation of every design and requires cvc5 to agree
with z3 on every file.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
import z3
from click.testing import CliRunner, Result

from framemc.cli import cli
from framemc.design import design_named
from framemc.errors import UsageError
from framemc.proofs import Verdict, run_obligations
from framemc.proofs.crosscheck import crosscheck, format_report, solve_cvc5, solve_z3
from framemc.proofs.engine import FOCUSED, LEVELS
from framemc.proofs.smt2 import MANIFEST, export_smt2, read_manifest
from framemc.model.theseus import MODEL as THESEUS


def run(*args: str) -> Result:
    """Invoke ``framemc ARGS`` through click's runner, as the console script would."""
    return CliRunner().invoke(cli, list(args), prog_name="framemc")


def one_line_error(result: Result) -> str:
    """The single ``framemc: error:`` line of a usage error (exit 2, no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("framemc: error: "), result.stderr
    assert "Traceback" not in result.output + result.stderr
    return lines[0]

#: one obligation of every kind (guard witness, init, op/INV, op/INV with order cases), all fast
KINDS = ["guard/claim", "init/S-conservation", "claim/I3-generation", "merge/S-pending-block",
         "merge/S-poisoned-never-free"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def claim_export(tmp_path_factory: pytest.TempPathFactory):
    """The export of every obligation of ``claim``, and of one obligation of every kind."""
    folder = tmp_path_factory.mktemp("claim")
    return (export_smt2(folder / "claim", ["claim"], designs=["metaslot"]),
            export_smt2(folder / "kinds", KINDS, designs=["metaslot"]))


@pytest.fixture(scope="module")
def theseus_export(tmp_path_factory: pytest.TempPathFactory):
    """The export of every theseus obligation."""
    return export_smt2(tmp_path_factory.mktemp("theseus") / "all", designs=["theseus"])


def test_every_file_parses_back_and_z3_gives_the_recorded_answer(claim_export):
    for export in claim_export:
        manifest, queries = read_manifest(export.directory)
        assert [q.file for q in queries] == [q.file for q in export.queries]
        assert manifest["z3_version"] == z3.get_version_string()
        for q in queries:
            path = export.directory / q.file
            text = path.read_text()
            assert f"; design: {q.design}, obligation: {q.obligation} " in text
            assert f"; expected: {q.expected} " in text
            assert f"(set-logic {q.logic})" in text and text.rstrip().endswith("(check-sat)\n(exit)")
            assert q.logic in ("QF_BV", "QF_UFBV")
            context = z3.Context()
            assert len(z3.parse_smt2_file(str(path), ctx=context)) > 0
            assert solve_z3(path)[0] == q.z3 == q.expected, q
        assert set(export.verdicts.values()) == {"PROVED"}
        assert [(ob["design"], ob["name"]) for ob in manifest["obligations"]] == list(export.verdicts)
        assert {q.design for q in queries} == {"metaslot"} and all(q.file.startswith("metaslot/") for q in queries)


def test_the_kinds_and_levels_are_recorded(claim_export):
    _, kinds = claim_export
    by = Counter((q.obligation.split("/")[0] if q.obligation.startswith(("guard", "init")) else q.obligation,
                  q.role) for q in kinds.queries)
    assert by[("guard", "witness")] >= 1 and by[("init", "proof")] == 1
    # the three conjuncts of claim/I3-generation are proved in one query at the weakest level
    [whole] = [q for q in kinds.queries if q.obligation == "claim/I3-generation"]
    assert (whole.piece, whole.label, whole.level) == (0, "all 3 conjuncts", 0)
    # merge preserves S-pending-block by itself: one query, every order at once, at the focused level
    [whole] = [q for q in kinds.queries if q.obligation == "merge/S-pending-block"]
    assert (whole.piece, whole.label, whole.level) == (0, "whole goal, every order", FOCUSED)
    pieces = [q for q in kinds.queries if q.obligation == "merge/S-poisoned-never-free"]
    assert [q.piece for q in pieces] == list(range(len(pieces))) and len(pieces) > 1
    assert all(q.level is not None for q in pieces)
    assert all(q.level is None for q in kinds.queries if q.obligation.startswith(("guard", "init")))
    # an order case labels its pieces: one per order 0..MAX_ORDER and one for every other value
    orders = [q.label for q in pieces]
    assert [label.rpartition("order ")[2] for label in orders] == [*map(str, range(4)), "other"]


def test_the_export_is_byte_identical_run_to_run_and_with_workers(tmp_path, claim_export):
    _, kinds = claim_export
    again = export_smt2(tmp_path / "again", KINDS)
    parallel = export_smt2(tmp_path / "parallel", KINDS, jobs=2)
    assert _tree(kinds.directory) == _tree(again.directory) == _tree(parallel.directory)


def test_a_new_export_into_an_earlier_one_replaces_its_files(tmp_path):
    folder = tmp_path / "out"
    export_smt2(folder, ["guard/claim", "claim/I3-generation"])
    (folder / "notes.txt").write_text("kept")
    export_smt2(folder, ["guard/clone"])
    files = set(_tree(folder))
    assert files == {MANIFEST, "notes.txt", "metaslot/guard/clone/000.smt2"}, files


def test_the_planted_non_cas_claim_exports_its_refuting_piece_sat_for_z3_and_cvc5(tmp_path):
    name = "claim/I3-generation"
    export = export_smt2(tmp_path / "bug", [name], variant="non-cas-claim")
    [result] = run_obligations([name], variant="non-cas-claim")
    assert result.verdict is Verdict.REFUTED
    assert export.verdicts == {("metaslot", name): "REFUTED"}
    refuting = [q for q in export.queries if q.z3 == "sat"]
    assert refuting, export.queries
    for q in refuting:
        # a proof piece needs unsat; z3 found the counterexample at the strongest level
        assert (q.role, q.expected, q.level) == ("proof", "unsat", LEVELS - 1)
        path = export.directory / q.file
        assert "; z3: sat " in path.read_text()
        assert solve_z3(path)[0] == "sat"
        assert solve_cvc5(path)[0] == "sat"
    manifest, _ = read_manifest(export.directory)
    assert [(d["name"], d["variant"]) for d in manifest["designs"]] == [("metaslot", "non-cas-claim")]
    assert manifest["obligations"] == [{"design": "metaslot", "name": name, "z3": "REFUTED",
                                        "files": [q.file for q in export.queries]}]


def test_cvc5_agrees_with_z3_on_the_claim_export(claim_export):
    export, _ = claim_export
    check = crosscheck(export.directory)
    assert check.count("agree") == len(export.queries) and not check.disagreements, format_report(check)
    assert check.exit_code == 0
    assert set(check.verdicts.values()) == {("PROVED", "PROVED")}


def test_a_cvc5_unknown_is_never_counted_as_agreement(claim_export):
    export, _ = claim_export
    # one resource unit: cvc5 gives up on everything it cannot decide at once
    check = crosscheck(export.directory, rlimit=1)
    undecided = [r for r in check.rows if r.cvc5 == "unknown"]
    assert undecided, format_report(check)
    assert all(r.status == "unknown" for r in undecided)
    assert check.count("agree") == len(check.rows) - len(undecided)
    assert check.exit_code == 3
    assert "UNDECIDED" in format_report(check)
    assert any(c != "PROVED" for _, c in check.verdicts.values())


@pytest.mark.parametrize("make", ["file", "nonempty"])
def test_a_bad_folder_is_a_one_line_error_and_nothing_is_written(tmp_path, make):
    target = tmp_path / "target"
    if make == "file":
        target.write_text("not a folder")
    else:
        target.mkdir()
        (target / "mine.txt").write_text("someone's file")
    before = _tree(tmp_path)
    line = one_line_error(run("prove", "claim", "--emit-smt2", str(target)))
    assert str(target) in line
    assert _tree(tmp_path) == before
    with pytest.raises(UsageError):
        export_smt2(target, ["claim"])


@pytest.mark.parametrize("args", [["nosuch"], ["claim", "--design", "theseus"], ["--design", "nosuch"],
                                  ["--variant", "nosuch"], ["drop", "--design", "metaslot", "--variant",
                                                           "drop-mapped-frames"]])
def test_a_bad_selection_is_a_one_line_error_and_nothing_is_written(tmp_path, args):
    one_line_error(run("prove", *args, "--emit-smt2", str(tmp_path / "out"), "-q"))
    assert not (tmp_path / "out").exists()


def test_the_cli_writes_the_selection_and_exits_0(tmp_path):
    folder = tmp_path / "cli"
    result = run("prove", "claim/I3-generation", "--variant", "non-cas-claim", "--emit-smt2", str(folder), "-q")
    assert result.exit_code == 0, result.output
    assert "REFUTED claim/I3-generation" in result.stdout
    manifest = json.loads((folder / MANIFEST).read_text())
    assert {(ob["design"], ob["name"]) for ob in manifest["obligations"]} == {("metaslot", "claim/I3-generation")}
    assert one_line_error(run("prove", "claim", "--emit-smt2", str(tmp_path / "x"), "--json", "o.json"))
    assert not (tmp_path / "x").exists()


def test_the_cli_exports_every_design_by_default_and_design_narrows_it(tmp_path):
    # guard/drop is an obligation of both designs
    result = run("prove", "guard/drop", "--emit-smt2", str(tmp_path / "both"), "-q")
    assert result.exit_code == 0, result.output
    assert "  metaslot: " in result.stdout and "  theseus: " in result.stdout
    _, queries = read_manifest(tmp_path / "both")
    assert {q.design for q in queries} == {"metaslot", "theseus"}
    assert {q.file.split("/")[0] for q in queries} == {"metaslot", "theseus"}
    assert run("prove", "guard/drop", "--design", "theseus", "--emit-smt2", str(tmp_path / "one"), "-q").exit_code == 0
    _, queries = read_manifest(tmp_path / "one")
    assert {q.design for q in queries} == {"theseus"}


def test_the_theseus_export_writes_one_file_per_piece_its_prover_poses(theseus_export):
    export = theseus_export
    posed = design_named("theseus").prover.pose(None)
    expected = [(name, index, q.piece.label, q.piece.role, q.z3) for name, queries in posed
                for index, q in enumerate(queries)]
    assert [(q.obligation, q.piece, q.label, q.role, q.z3) for q in export.queries] == expected
    every = [ob.name for ob in design_named("theseus").prover.obligations()]
    assert [name for _, name in export.verdicts] == every
    assert all(any(q.obligation == name for q in export.queries) for name in every)
    assert set(_tree(export.directory)) == {MANIFEST} | {q.file for q in export.queries}
    assert all(q.file == f"theseus/{q.obligation}/{q.piece:03d}.smt2" for q in export.queries)
    # an op/INV and an init/INV obligation: the vacuity check (sat), then the claim (unsat)
    assert [(q.role, q.expected, q.fails_as) for q in export.queries if q.obligation == "drop/T-typestate"] == [
        ("vacuity", "sat", "VACUOUS"), ("proof", "unsat", "REFUTED")]
    roles = Counter(q.role for q in export.queries if q.obligation == "guard/drop")
    assert roles["witness-check"] >= len([i for i in THESEUS.invariants if i.kind.value == "state"])
    assert roles["witness"] >= 1
    assert set(export.verdicts.values()) == {"PROVED"}


def test_z3_reading_each_theseus_file_gives_the_recorded_answer(theseus_export):
    export = theseus_export
    _, queries = read_manifest(export.directory)
    assert queries == list(export.queries)
    for q in queries:
        path = export.directory / q.file
        text = path.read_text()
        assert f"; z3: {q.z3} " in text and f"(set-logic {q.logic})" in text
        assert solve_z3(path)[0] == q.z3, q
        # every file of a proved obligation gets its answer, except witness states that do not enable the operation
        assert q.z3 == q.expected or q.role == "witness", q


@pytest.mark.parametrize("variant", sorted(THESEUS.variants))
def test_a_planted_theseus_bug_exports_a_refuting_query_sat_for_z3_and_cvc5(tmp_path, variant):
    broken = THESEUS.variants[variant]
    export = export_smt2(tmp_path / variant, [broken.replaces], variant=variant)
    manifest, _ = read_manifest(export.directory)
    assert [(d["name"], d["variant"]) for d in manifest["designs"]] == [("theseus", variant)]
    for inv in broken.breaks:
        name = f"{broken.replaces}/{inv.name}"
        assert export.verdicts[("theseus", name)] == "REFUTED"
        [claim] = [q for q in export.queries if q.obligation == name and q.role == "proof"]
        assert (claim.expected, claim.z3, claim.fails_as) == ("unsat", "sat", "REFUTED")
        path = export.directory / claim.file
        assert "; z3: sat " in path.read_text()
        assert solve_z3(path)[0] == "sat"
        assert solve_cvc5(path)[0] == "sat"
    check = crosscheck(export.directory)
    assert not check.disagreements and check.exit_code == 0, format_report(check)
    assert {c for z, c in check.verdicts.values()} == {z for z, c in check.verdicts.values()} >= {"REFUTED"}


def test_cvc5_decides_the_quantified_theseus_init_files_as_z3_does(theseus_export):
    # Init says "every frame is unknown memory" with a quantifier: cvc5 needs mbqi to answer its vacuity query sat
    init = [q for q in theseus_export.queries if q.obligation.startswith("init/")]
    assert {(q.role, q.logic) for q in init} >= {("vacuity", "ALL"), ("proof", "ALL")}
    for q in init:
        assert solve_cvc5(theseus_export.directory / q.file)[0] == q.z3 == q.expected, q


@pytest.mark.slow
def test_cvc5_agrees_with_z3_on_every_exported_query_of_every_design(tmp_path):
    started = time.perf_counter()
    export = export_smt2(tmp_path / "all", jobs=2)
    exported = time.perf_counter() - started
    check = crosscheck(export.directory, jobs=2)
    report = format_report(check)
    print(f"exported {len(export.queries)} files for {len(export.verdicts)} obligations in {exported:.0f} s\n{report}")
    assert {design for design, _ in export.verdicts} == {"metaslot", "theseus"}
    assert set(export.verdicts.values()) == {"PROVED"}, report
    assert not check.disagreements, report
    for design in ("metaslot", "theseus"):
        mine = [q for q in export.queries if q.design == design]
        assert mine and check.count("agree", design) == len(mine), report
    assert check.count("agree") == len(check.rows), report
    assert all(z == c for z, c in check.verdicts.values()), report
