"""Bad inputs, each a call that must fail cleanly; run in a child process.

Every case is ``(method, expected_message_regex, call)`` where ``call`` takes
nothing and performs the bad call. Kept in a module of its own so that the
spawned child process can import it.
"""

import numpy as np
import scipy.sparse as sp

from skce import MLPCostClassifier

RNG = np.random.RandomState(0)
X = RNG.normal(size=(30, 4))
Y = np.arange(30) % 3


def _fitted():
    return MLPCostClassifier((5,), solver="lbfgs", max_iter=5).fit(X, Y)


def _partial():
    return MLPCostClassifier((5,), solver="sgd").partial_fit(X, Y, classes=[0, 1, 2])


def _with(value, row=3, column=1):
    bad = X.copy()
    bad[row, column] = value
    return bad


def _fit(X_=X, y=Y, **fit_kwargs):
    return lambda: MLPCostClassifier((5,), max_iter=2).fit(X_, y, **fit_kwargs)


def _params(**params):
    return lambda: MLPCostClassifier(**params).fit(X, Y)


CASES = {
    # fit: the feature matrix
    "fit-nan-X": ("fit", "NaN", _fit(_with(np.nan))),
    "fit-inf-X": ("fit", "infinity", _fit(_with(np.inf))),
    "fit-neg-inf-X": ("fit", "infinity", _fit(_with(-np.inf))),
    "fit-complex-X": ("fit", "[Cc]omplex", _fit(X + 1j)),
    "fit-string-X": ("fit", "convert|string", _fit(np.full((30, 4), "a"))),
    "fit-object-X": (
        "fit",
        "float|convert",
        _fit(np.array([[1.0, {}]] * 30, dtype=object)),
    ),
    "fit-empty-X": ("fit", "0 sample", _fit(np.empty((0, 4)), np.empty(0))),
    "fit-zero-features": ("fit", "0 feature", _fit(np.empty((30, 0)))),
    "fit-1d-X": ("fit", "Expected 2D array", _fit(X[:, 0])),
    "fit-3d-X": ("fit", "dim 3", _fit(X.reshape(30, 2, 2))),
    "fit-sparse-nan": ("fit", "NaN", _fit(sp.csr_matrix(_with(np.nan)))),
    "fit-sparse-inf": ("fit", "infinity", _fit(sp.csc_matrix(_with(np.inf)))),
    # fit: the targets
    "fit-length-mismatch": ("fit", "inconsistent numbers of samples", _fit(y=Y[:-1])),
    "fit-one-class": ("fit", "class", _fit(y=np.zeros(30))),
    "fit-continuous-y": ("fit", "Unknown label type", _fit(y=RNG.normal(size=30))),
    "fit-nan-y": ("fit", "NaN", _fit(y=np.where(Y == 0, np.nan, Y))),
    "fit-3d-y": ("fit", "y", _fit(y=np.zeros((30, 2, 2)))),
    # fit: sample weights
    "fit-negative-weight": ("fit", "negative", _fit(sample_weight=-np.ones(30))),
    "fit-nan-weight": ("fit", "NaN", _fit(sample_weight=np.full(30, np.nan))),
    "fit-zero-weights": ("fit", "zero", _fit(sample_weight=np.zeros(30))),
    "fit-short-weights": (
        "fit",
        r"sample_weight\.shape",
        _fit(sample_weight=np.ones(29)),
    ),
    "fit-2d-weights": (
        "fit",
        r"sample_weight\.shape",
        _fit(sample_weight=np.ones((30, 1))),
    ),
    "fit-string-weights": ("fit", "sample_weight", _fit(sample_weight=["a"] * 30)),
    "fit-one-weighted-class": (
        "fit",
        "class",
        _fit(sample_weight=(Y == 0).astype(float)),
    ),
    # fit: initial weights and validation set
    "fit-coefs-init-count": (
        "fit",
        "coefs_init must be",
        _fit(coefs_init=[np.zeros((4, 5))]),
    ),
    "fit-coefs-init-shape": (
        "fit",
        "coefs_init must be",
        _fit(coefs_init=[np.zeros((5, 4)), np.zeros((5, 3))]),
    ),
    "fit-coefs-init-nan": (
        "fit",
        "finite",
        _fit(coefs_init=[np.full((4, 5), np.nan), np.zeros((5, 3))]),
    ),
    "fit-intercepts-init-shape": (
        "fit",
        "intercepts_init must be",
        _fit(intercepts_init=[np.zeros(5), np.zeros(2)]),
    ),
    "fit-x-val-alone": ("fit", "together", _fit(X_val=X)),
    "fit-x-val-features": ("fit", "features", _fit(X_val=X[:, :2], y_val=Y)),
    # partial_fit
    "partial-no-classes": (
        "partial_fit",
        "classes must be passed",
        lambda: MLPCostClassifier().partial_fit(X, Y),
    ),
    "partial-one-class": (
        "partial_fit",
        "class",
        lambda: MLPCostClassifier().partial_fit(X, Y, classes=[0]),
    ),
    "partial-unseen-class": (
        "partial_fit",
        "not in `self.classes_`",
        lambda: _partial().partial_fit(X, np.where(Y == 2, 7, Y)),
    ),
    "partial-other-classes": (
        "partial_fit",
        "not the same",
        lambda: _partial().partial_fit(X, Y, classes=[0, 1, 2, 3]),
    ),
    "partial-wrong-features": (
        "partial_fit",
        "features",
        lambda: _partial().partial_fit(X[:, :3], Y),
    ),
    "partial-nan-X": (
        "partial_fit",
        "NaN",
        lambda: _partial().partial_fit(_with(np.nan), Y),
    ),
    "partial-early-stopping": (
        "partial_fit",
        "early_stopping",
        lambda: MLPCostClassifier(early_stopping=True).partial_fit(
            X, Y, classes=[0, 1, 2]
        ),
    ),
    # predicting
    "predict-unfitted": (
        "predict",
        "not fitted",
        lambda: MLPCostClassifier().predict(X),
    ),
    "proba-unfitted": (
        "predict_proba",
        "not fitted",
        lambda: MLPCostClassifier().predict_proba(X),
    ),
    "log-proba-unfitted": (
        "predict_log_proba",
        "not fitted",
        lambda: MLPCostClassifier().predict_log_proba(X),
    ),
    "score-unfitted": ("score", "not fitted", lambda: MLPCostClassifier().score(X, Y)),
    "predict-wrong-features": (
        "predict",
        "features",
        lambda: _fitted().predict(X[:, :3]),
    ),
    "proba-wrong-features": (
        "predict_proba",
        "features",
        lambda: _fitted().predict_proba(np.ones((2000, 7))),
    ),
    "predict-nan": ("predict", "NaN", lambda: _fitted().predict(_with(np.nan))),
    "proba-inf": (
        "predict_proba",
        "infinity",
        lambda: _fitted().predict_proba(_with(np.inf)),
    ),
    "log-proba-nan-sparse": (
        "predict_log_proba",
        "NaN",
        lambda: _fitted().predict_log_proba(sp.csr_matrix(_with(np.nan))),
    ),
    "predict-1d": ("predict", "2D", lambda: _fitted().predict(X[0])),
    "predict-empty": (
        "predict",
        "0 sample",
        lambda: _fitted().predict(np.empty((0, 4))),
    ),
    "predict-string": (
        "predict",
        "convert|string",
        lambda: _fitted().predict(np.full((3, 4), "x")),
    ),
    "score-length-mismatch": (
        "score",
        "inconsistent numbers of samples",
        lambda: _fitted().score(X, Y[:-2]),
    ),
    "predict-replaced-theta": (
        "predict",
        "theta_ must be",
        lambda: setattr(m := _fitted(), "theta_", m.theta_[:-3].copy()) or m.predict(X),
    ),
    # hyper-parameters out of range
    "param-alpha": ("fit", "'alpha'", _params(alpha=-1.0)),
    "param-hidden-zero": (
        "fit",
        "'hidden_layer_sizes'",
        _params(hidden_layer_sizes=(0,)),
    ),
    "param-hidden-negative": (
        "fit",
        "'hidden_layer_sizes'",
        _params(hidden_layer_sizes=(-5,)),
    ),
    "param-hidden-float": (
        "fit",
        "'hidden_layer_sizes'",
        _params(hidden_layer_sizes=(2.5,)),
    ),
    "param-batch-zero": ("fit", "'batch_size'", _params(batch_size=0)),
    "param-lr-zero": ("fit", "'learning_rate_init'", _params(learning_rate_init=0.0)),
    "param-lr-negative": (
        "fit",
        "'learning_rate_init'",
        _params(learning_rate_init=-0.1),
    ),
    "param-lr-nan": ("fit", "'learning_rate_init'", _params(learning_rate_init=np.nan)),
    "param-max-iter": ("fit", "'max_iter'", _params(max_iter=0)),
    "param-beta-1": ("fit", "'beta_1'", _params(beta_1=1.0)),
    "param-beta-2": ("fit", "'beta_2'", _params(beta_2=1.0)),
    "param-validation-0": (
        "fit",
        "'validation_fraction'",
        _params(validation_fraction=0.0),
    ),
    "param-validation-1": (
        "fit",
        "'validation_fraction'",
        _params(validation_fraction=1.0),
    ),
    "param-cost": ("fit", "'cost'", _params(cost="hinge")),
    "param-solver": ("fit", "'solver'", _params(solver="newton")),
    "param-activation": ("fit", "'activation'", _params(activation="softmax")),
    "param-learning-rate": ("fit", "'learning_rate'", _params(learning_rate="cyclic")),
    "param-momentum": ("fit", "'momentum'", _params(momentum=1.5)),
    "param-epsilon": ("fit", "'epsilon'", _params(epsilon=0.0)),
    "param-tol": ("fit", "'tol'", _params(tol=-1.0)),
    "param-n-iter-no-change": (
        "fit",
        "'n_iter_no_change'",
        _params(n_iter_no_change=0),
    ),
    "param-max-fun": ("fit", "'max_fun'", _params(max_fun=0)),
}


def run(name):
    """Perform case ``name``; return (exception type, message, allowed type)."""
    from sklearn.exceptions import NotFittedError

    try:
        CASES[name][2]()
    except (ValueError, TypeError, NotFittedError) as error:
        return type(error).__name__, str(error), True
    except Exception as error:  # noqa: BLE001 - reported, and the test fails
        return type(error).__name__, str(error), False
    return None, "no error was raised", False
