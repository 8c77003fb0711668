"""Short fits over a fixed matrix of options, recorded to catch any change.

``tests/data/golden.npz`` holds, for every case below, the ``theta_``,
``loss_curve_``, ``predict_proba`` (on a few rows) and counters of a fit made
by the code of commit a1b8371, before the solver layer was redesigned (issue
11). ``tests/test_golden.py`` refits every case with today's code and compares.
Only the public API is used, so the same cases run on any version.

    python tests/_golden.py --write    # record anew (only on purpose)
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from skce import MLPCostClassifier

HERE = Path(__file__).resolve().parent
PATH = HERE / "data" / "golden.npz"

COSTS = ("log_loss", "cross_entropy", "quadratic")
SOLVERS = ("gd", "sgd", "adam", "lbfgs")
STEP = {"gd": 0.2, "sgd": 0.05, "adam": 0.01, "lbfgs": 0.001}


def _data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 8))
    X[rng.uniform(size=X.shape) < 0.3] = 0.0  # some zeros for the sparse cases
    y = (X[:, 0] + X[:, 1] ** 2 - X[:, 2] > 0.5).astype(int) + (X[:, 3] > 0.8)
    weights = rng.uniform(0.2, 3.0, size=60)
    Y_multilabel = np.c_[X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 4] > 0.3]
    return X, y, weights, Y_multilabel.astype(int)


def _model(solver, **params):
    base = dict(
        hidden_layer_sizes=(6,),
        solver=solver,
        learning_rate_init=STEP[solver],
        max_iter=5,
        batch_size=16,
        random_state=3,
    )
    base.update(params)
    return MLPCostClassifier(**base)


def _fit(solver, X, y, fit_kwargs=None, **params):
    return _model(solver, **params).fit(X, y, **(fit_kwargs or {}))


def _cases():
    """name -> a function that returns a fitted model."""
    X, y, weights, Y_multilabel = _data()
    cases = {}
    for cost in COSTS:
        for solver in SOLVERS:
            for activation in ("relu", "logistic"):
                for dtype in ("float64", "float32"):
                    for form in ("dense", "sparse"):
                        Xc = X.astype(dtype)
                        Xc = sp.csr_matrix(Xc) if form == "sparse" else Xc
                        name = f"{cost}-{solver}-{activation}-{dtype}-{form}"
                        cases[name] = lambda s=solver, c=cost, a=activation, Xc=Xc: (
                            _fit(s, Xc, y, cost=c, activation=a)
                        )
    for solver in ("gd", "sgd", "adam"):
        cases[f"early-stopping-{solver}"] = lambda s=solver: _fit(
            s, X, y, early_stopping=True, n_iter_no_change=2, max_iter=12
        )
        cases[f"early-stopping-loss-{solver}"] = lambda s=solver: _fit(
            s,
            X,
            y,
            early_stopping=True,
            early_stopping_metric="loss",
            validation_fraction=0.2,
            max_iter=8,
        )
    for solver in SOLVERS:
        cases[f"sample-weight-{solver}"] = lambda s=solver: _fit(
            s, X, y, {"sample_weight": weights}
        )
        cases[f"class-weight-{solver}"] = lambda s=solver: _fit(
            s, X, y, class_weight={0: 2.0, 2: 0.5}
        )
        cases[f"user-validation-{solver}"] = lambda s=solver: _fit(
            s, X[:40], y[:40], {"X_val": X[40:], "y_val": y[40:]}
        )
        cases[f"binary-{solver}"] = lambda s=solver: _fit(
            s, X, np.where(y > 0, "yes", "no"), cost="quadratic"
        )
        cases[f"multilabel-{solver}"] = lambda s=solver: _fit(
            s, X, Y_multilabel, cost="cross_entropy"
        )
        cases[f"two-hidden-tanh-{solver}"] = lambda s=solver: _fit(
            s, X, y, hidden_layer_sizes=(5, 4), activation="tanh"
        )
        cases[f"no-hidden-identity-{solver}"] = lambda s=solver: _fit(
            s, X, y, hidden_layer_sizes=(), activation="identity"
        )
    cases["balanced-lbfgs"] = lambda: _fit("lbfgs", X, y, class_weight="balanced")
    cases["sgd-invscaling"] = lambda: _fit(
        "sgd", X, y, learning_rate="invscaling", learning_rate_init=0.5
    )
    cases["sgd-adaptive"] = lambda: _fit(
        "sgd", X, y, learning_rate="adaptive", tol=0.5, n_iter_no_change=1, max_iter=9
    )
    cases["sgd-plain-momentum"] = lambda: _fit("sgd", X, y, nesterovs_momentum=False)
    cases["gd-no-momentum"] = lambda: _fit("gd", X, y, momentum=0.0)
    cases["adam-stops-on-tol"] = lambda: _fit(
        "adam", X, y, tol=0.05, n_iter_no_change=2, max_iter=40
    )

    def warm(solver, shuffle):
        model = _model(solver, warm_start=True, shuffle=shuffle, max_iter=3)
        model.fit(X, y)
        return model.fit(X, y)

    def partial(solver):
        model = _model(solver)
        for start in (0, 20, 40):
            model.partial_fit(X[start : start + 20], y[start : start + 20], range(3))
        return model

    for solver in SOLVERS:
        # With shuffle=True, issue 11 changes the warm start on purpose: it
        # continues the shuffling, so only shuffle=False is recorded.
        cases[f"warm-start-{solver}"] = lambda s=solver: warm(s, False)
    for solver in ("gd", "sgd", "adam"):
        cases[f"partial-fit-{solver}"] = lambda s=solver: partial(s)

    def custom(solver):
        from test_custom_costs import MyQuadratic

        return _fit(solver, X, y, cost=MyQuadratic())

    for solver in SOLVERS:
        cases[f"custom-cost-{solver}"] = lambda s=solver: custom(s)
    return cases


CASES = _cases()


def record(name):
    """The arrays to compare for one case."""
    X, *_ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CASES[name]()
    rows = X[:8].astype(model.theta_.dtype)
    counters = [model.n_iter_, model.t_ if hasattr(model, "t_") else -1]
    result = {
        "theta": model.theta_,
        "loss_curve": np.asarray(model.loss_curve_, dtype=np.float64),
        "proba": model.predict_proba(rows),
        "counters": np.asarray(counters, dtype=np.int64),
    }
    if getattr(model, "validation_scores_", None) is not None:
        result["validation"] = np.asarray(
            [model.validation_scores_, model.validation_loss_curve_], dtype=np.float64
        )
    return result


def write():
    arrays = {}
    for name in CASES:
        for key, value in record(name).items():
            arrays[f"{name}/{key}"] = value
    PATH.parent.mkdir(exist_ok=True)
    np.savez_compressed(PATH, **arrays)
    print(f"wrote {len(CASES)} cases to {PATH}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    if sys.argv[1:] == ["--write"]:
        write()
