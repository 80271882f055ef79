"""The proofs' bounds: MAX_ORDER is the one bound and can be changed; the CPU count is symbolic."""

import z3
from click.testing import CliRunner

from framemc.cli import cli
from framemc.model.ops import initial_state
from framemc.model.state import MAX_CPUS, ModelConfig, small
from framemc.proofs import Verdict, run_obligations
from framemc.proofs.engine import rlimit_for


def test_prove_takes_another_max_order():
    done = CliRunner().invoke(cli, ["prove", "-q", "--max-order", "5", "claim/I3-generation-epoch", "drop/I3-live-handles"])
    assert done.exit_code == 0, done.output


def test_a_max_order_out_of_range_is_a_usage_error():
    for bad in ("-1", "31"):
        done = CliRunner().invoke(cli, ["prove", "--max-order", bad, "claim"])
        assert done.exit_code == 2 and "max_order must be" in done.output, done.output


def test_a_broken_operation_is_refuted_at_a_higher_max_order_too():
    (result,) = run_obligations(["cache_alloc/S-cache-owner-steps"], variant="cache-steal", cfg=ModelConfig(5))
    assert result.verdict is Verdict.REFUTED


def test_resource_limits_grow_with_the_order_and_not_below_it():
    name = "buddy_free/S-buddies-merged"
    assert rlimit_for(name, cfg=ModelConfig(2)) == rlimit_for(name) == rlimit_for(name, cfg=ModelConfig(3))
    assert rlimit_for(name, cfg=ModelConfig(11)) == round(rlimit_for(name) * 3 ** 4)


def test_the_cpu_count_is_symbolic_from_one_to_max_cpus():
    s, condition = initial_state(ModelConfig(), "init")
    for n, possible in ((0, False), (1, True), (4, True), (64, True), (MAX_CPUS, True), (MAX_CPUS + 1, False)):
        solver = z3.Solver()
        solver.add(condition, s.ncpus == small(n))
        assert (solver.check() == z3.sat) is possible, n
