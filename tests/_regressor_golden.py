"""scikit-learn's ``MLPRegressor`` numbers, recorded for the regressor's parity.

``tests/data/regressor_golden.npz`` holds, for every case below, the
``loss_curve_`` (or ``loss_`` for L-BFGS), the parameters and the
predictions of a fit by scikit-learn's ``MLPRegressor`` (1.9.1).
``tests/test_regressor.py`` fits ``MLPCostRegressor`` on each case and
compares at ``rtol=1e-10``.

    python tests/_regressor_golden.py --write    # record anew (only on purpose)
"""

import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PATH = HERE / "data" / "regressor_golden.npz"

LOSSES = ("squared_error", "poisson")
SETTINGS = {
    "sgd": {"learning_rate_init": 0.01, "batch_size": 16, "max_iter": 8},
    "adam": {"learning_rate_init": 0.01, "batch_size": 16, "max_iter": 8},
    "lbfgs": {"max_iter": 25},
    "adam-early": {
        "learning_rate_init": 0.01,
        "max_iter": 30,
        "early_stopping": True,
        "n_iter_no_change": 3,
    },
}


def data():
    """Features, two-column targets (positive, for Poisson) and weights."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 5))
    signal = np.c_[X[:, 0] - 0.5 * X[:, 1] ** 2, np.tanh(X[:, 2]) + X[:, 3]]
    Y = signal + 0.1 * rng.normal(size=signal.shape)
    counts = rng.poisson(np.exp(0.3 * signal)).astype(float)
    weights = rng.uniform(0.2, 3.0, 80)
    return X, Y, counts, weights


def cases():
    """``(key, params, n_outputs, weighted)`` of every recorded fit."""
    for loss in LOSSES:
        for setting, params in SETTINGS.items():
            for n_outputs in (1, 2):
                for weighted in (False, True):
                    key = f"{loss}-{setting}-{n_outputs}-{int(weighted)}"
                    solver = setting.split("-")[0]
                    yield (
                        key,
                        dict(
                            params,
                            loss=loss,
                            solver=solver,
                            hidden_layer_sizes=(6, 4),
                            activation="tanh",
                            random_state=2,
                        ),
                        n_outputs,
                        weighted,
                    )


def fit(estimator_class, params, n_outputs, weighted):
    """A fitted estimator of one case, and the rows it predicts."""
    X, Y, counts, weights = data()
    targets = counts if params["loss"] == "poisson" else Y
    y = targets[:, 0] if n_outputs == 1 else targets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = estimator_class(**params).fit(
            X, y, sample_weight=weights if weighted else None
        )
    return model, X[:10]


def record(model, X):
    # scikit-learn's L-BFGS records no loss curve: its final loss then.
    lbfgs = model.solver == "lbfgs"
    return {
        "curve": np.asarray([model.loss_] if lbfgs else model.loss_curve_),
        "theta": np.concatenate(
            [a.ravel() for a in [*model.coefs_, *model.intercepts_]]
        ),
        "predict": np.asarray(model.predict(X)),
        "n_iter": np.asarray(model.n_iter_),
    }


def main():
    from sklearn.neural_network import MLPRegressor

    arrays = {}
    for key, params, n_outputs, weighted in cases():
        for name, value in record(
            *fit(MLPRegressor, params, n_outputs, weighted)
        ).items():
            arrays[f"{key}/{name}"] = value
    np.savez_compressed(PATH, **arrays)
    print(f"wrote {len(arrays)} arrays to {PATH}")


if __name__ == "__main__":
    if "--write" not in sys.argv:
        sys.exit(__doc__)
    main()
