"""What a fit compiles: only what it runs, each unit once, and the parts of
the epoch kernel at the types the kernel passes them."""

import itertools
import os
import subprocess
import sys

import pytest

from skce._ahead import Group, Helper, KernelUnit, _claim

# Runs in a fresh process with an empty cache, on one core so that every
# unit compiles in that process; prints what each step compiled.
STEPS = r"""
import sys, warnings
import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits
from skce import MLPCostClassifier, MLPCostRegressor
from skce import _ahead, _backprop, _epoch, _network, _output

compiled = []
for kind in (_ahead.PieceUnit, _ahead.KernelUnit):
    def record(unit, original=kind.compile):
        original(unit)
        compiled.append(repr(unit))
    kind.compile = record
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
X = X[:600] / 16.0
y = y[:600]
steps = [
    ("default", MLPCostClassifier((20,), max_iter=3, random_state=0), X),
    ("again", MLPCostClassifier((30,), max_iter=3, random_state=1), X),
    ("cross_entropy", MLPCostClassifier((20,), cost="cross_entropy", max_iter=2), X),
    ("lbfgs", MLPCostClassifier((20,), solver="lbfgs", max_iter=3), X),
    ("lbfgs n_jobs", MLPCostClassifier((300,), solver="lbfgs", max_iter=3,
                                       n_jobs=2), X),
    ("n_jobs", MLPCostClassifier((300,), max_iter=2, n_jobs=2, random_state=0), X),
    ("gd", MLPCostClassifier((20,), solver="gd", max_iter=3), X),
    ("csr", MLPCostClassifier((20,), max_iter=2), sp.csr_matrix(X)),
    ("float32", MLPCostClassifier((20,), max_iter=2), X.astype(np.float32)),
    ("dropout", MLPCostClassifier((20,), dropout=0.2, max_iter=2), X),
    ("regressor", MLPCostRegressor(hidden_layer_sizes=(20,), max_iter=2), X),
]
for name, model, data in steps:
    del compiled[:]
    model.fit(data, y if name != "regressor" else y / 9.0)
    model.predict(data[:7])
    print(name + ":", " ".join(sorted(compiled)))
deferred = [getattr(_backprop, name) for name in ("FORWARD", "BACKWARD")]
deferred += [getattr(_epoch, name) for name in (
    "GATHER_ROWS", "PENALTY_SUMS", "UPDATE_RANGE_PART", "STEP_SHARDS", "ACCUMULATE")]
for part in deferred:
    print("mismatch:", part.dispatcher.__name__, len(part.asked() - part.typed))
"""


@pytest.fixture(scope="module")
def compiled_steps(tmp_path_factory):
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", STEPS],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    steps, mismatches = {}, {}
    for line in result.stdout.splitlines():
        name, _, rest = line.partition(": ")
        if name == "mismatch":
            part, count = rest.split()
            mismatches[part] = int(count)
        else:
            steps[name.rstrip(":")] = rest.split()
    return steps, mismatches


def test_every_part_is_asked_for_at_the_types_the_kernel_passes(compiled_steps):
    _, mismatches = compiled_steps
    assert set(mismatches) == {
        "forward",
        "backward",
        "gather",
        "penalty_sums",
        "update",
        "step_shards",
        "accumulate",
    }
    assert all(count == 0 for count in mismatches.values()), mismatches


def test_a_first_fit_compiles_what_it_runs_and_no_more(compiled_steps):
    steps, _ = compiled_steps
    default = set(steps["default"])
    assert {"run_epoch", "forward", "backward", "predict_logits"} <= default
    assert {"relu[float64]", "log_likelihood[float64]", "adam[float64]"} <= default
    # Not reached by an adam fit on one thread: other options, the shards'
    # step, the full batch's solvers.
    assert not default & {
        "step_shards",
        "accumulate",
        "finish_gradient",
        "momentum[float64]",
        "cross_entropy[float64]",
        "tanh[float64]",
    }
    assert steps["again"] == []  # another network of the same kind


def test_each_further_option_compiles_only_what_it_adds(compiled_steps):
    steps, _ = compiled_steps
    # n_jobs: the shards' step (after L-BFGS's shards, which add up their
    # chunks), not a second epoch kernel.
    assert "accumulate" in steps["lbfgs n_jobs"]
    assert steps["n_jobs"] == ["step_shards"]
    assert set(steps["cross_entropy"]) <= {
        "cross_entropy[float64]",
        "normalized_logistic[float64]",
    }
    assert "finish_gradient" in steps["lbfgs"]
    assert "run_epoch" not in steps["lbfgs"]  # the full batch runs the same
    # gd runs the full batch L-BFGS compiled; its step piece compiles on its
    # first use, outside the plan of a run that was planned already.
    assert steps["gd"] == []
    # Another input form or precision: the kernel and its passes again.
    assert "run_epoch" in steps["csr"] and "relu[float64]" not in steps["csr"]
    assert "relu[float32]" in steps["float32"]
    assert "run_epoch" in steps["dropout"]  # dropout is its own kernel
    assert "squared_error[float64]" in steps["regressor"]


SHARED = r"""
import warnings
from sklearn.datasets import load_digits
from skce import MLPCostClassifier
from skce import _ahead

outcomes = []
for kind in (_ahead.PieceUnit, _ahead.KernelUnit):
    def record(unit, original=kind.compile):
        loaded = _ahead.cache_counts()[0]
        original(unit)
        outcomes.append(_ahead.cache_counts()[0] > loaded)
    kind.compile = record
warnings.simplefilter("ignore")
X, y = load_digits(return_X_y=True)
MLPCostClassifier((20,), max_iter=2).fit(X / 16, y)
print(sum(outcomes), len(outcomes) - sum(outcomes), len(_ahead._started))
"""


def test_a_cold_first_fit_shares_its_units_with_a_helper_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", SHARED], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    loaded, compiled, helpers = map(int, result.stdout.split())
    # The helper compiled some units (this process loaded them from the
    # cache), this process the others; none twice.
    assert helpers == 1 and loaded > 0 and compiled > 0


def test_a_claim_is_one_processs(tmp_path):
    assert _claim(tmp_path, "unit")
    assert not _claim(tmp_path, "unit")
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from skce._ahead import _claim; print(_claim({str(tmp_path)!r}, 'unit'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert other.stdout.strip() == "False"


def test_a_helper_serves_batch_after_batch_and_ends_with_its_caller(tmp_path):
    helper = Helper()
    try:
        for batch in range(2):
            helper.submit(str(tmp_path), [(f"none{batch}", ("group", None, None, []))])
            helper.wait()
            assert helper.alive()
        assert sorted(os.listdir(tmp_path)) == ["none0", "none1"]  # claimed there
    finally:
        helper.close()  # as when this process ends: its input closes
    assert helper.process.returncode == 0


def _a_part():
    """Stands for a compiled function."""


class _Dispatcher:
    """Stands for a Numba dispatcher: a name and the Python function."""

    __name__ = "part"
    py_func = _a_part


def test_a_group_is_one_unit_of_its_parts():
    first, second = KernelUnit(_Dispatcher, (1,)), KernelUnit(_Dispatcher, (2,))
    group = Group([first, second])
    assert group.seconds == first.seconds + second.seconds
    assert group == Group([first, second])
    assert hash(group) == hash(Group([first, second]))
    assert group.task() == ("group", None, None, [first.task(), second.task()])


def test_a_configuration_key_fixes_the_units_it_reaches(monkeypatch):
    """``_epoch.run`` keeps the parts' addresses per configuration key: two
    runs with one key must reach the same units, or the second would call
    a part by an address never compiled for it (a fit without shuffling,
    then one with, did). Listed, not compiled: nothing runs here."""
    import numpy as np
    import scipy.sparse as sp

    from skce import _ahead, _epoch
    from skce._backprop import Penalty
    from skce._codes import SOLVER_ADAM, SOLVER_SGD
    from skce._inputs import kernel_input, kernel_targets
    from skce._network import Network
    from skce._optimizer import Moments, Optimizer
    from skce._problem import Problem
    from skce._shards import ShardedProblem
    from skce.costs import COSTS

    reached = {}
    original = _epoch.planned

    def record(key, units, resolve):
        reached.setdefault(key, set()).add(tuple(map(repr, units())))
        return original(key, units, resolve)

    monkeypatch.setattr(_epoch, "planned", record)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 8))
    Y = np.eye(3)[rng.randint(0, 3, 300)]
    network = Network([8, 256, 3], "relu", "softmax")
    theta = network.initial_theta("glorot_uniform", np.float64, rng)
    n = theta.shape[0]
    with _ahead.collecting():
        for data in (X, sp.csr_matrix(X)):
            x = kernel_input(data)
            for weights in (None, rng.uniform(0.5, 1.5, 300)):
                targets = kernel_targets(Y, weights)
                problems = [
                    Problem(x, targets, COSTS["log_loss"], Penalty(1e-4, 0.0)),
                    ShardedProblem(
                        x, targets, COSTS["log_loss"], Penalty(1e-4, 0.0), None, 2
                    ),
                ]
                for problem, solver, order, size in itertools.product(
                    problems,
                    (SOLVER_ADAM, SOLVER_SGD),
                    (None, rng.permutation(300)),
                    (50, 300),
                ):
                    moments = Moments(*(np.zeros(k) for k in (n, n, n)))
                    optimizer = Optimizer(solver, 1e-3, 0.9, True, 0.9, 0.999, 1e-8)
                    step = (network, theta, optimizer, moments, 0, order, size)
                    problem.run_epoch(*step)
                for problem in problems:
                    problem.sums(network, theta, np.empty(n), np.empty(n))
    assert len(reached) > 8
    assert {key: len(lists) for key, lists in reached.items() if len(lists) > 1} == {}
