"""Saved models: pickle, joblib and skops, loaded in a fresh process.

The loading process gets an empty Numba cache, as a new server would: a saved
model must carry no compiled code and no Numba objects, only arrays and
plain values.
"""

import json
import os
import pickle
import subprocess
import sys
import zipfile

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import skops.io as sio
from _user_activation import Swish
from sklearn.base import clone
from test_custom_costs import MyQuadratic
from test_reliability import fitted_state

from skce import MLPCostClassifier
from skce._estimator import FITTED_ATTRIBUTES

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SKCE_TYPES = ["skce._estimator.MLPCostClassifier"]

_LOAD_AND_PREDICT = """
import pickle, sys
import joblib, numpy as np, scipy.sparse as sp, skops.io
path, kind = sys.argv[1], sys.argv[2]
if kind == "joblib":
    clf = joblib.load(path)
elif kind == "pickle":
    clf = pickle.load(open(path, "rb"))
else:  # only skce's own type is trusted; anything else in the file is refused
    clf = skops.io.load(path, trusted=sys.argv[5].split(","))
X = np.load(sys.argv[3])
P = [clf.predict_proba(X), clf.predict_proba(sp.csr_matrix(X))]
np.save(sys.argv[4], np.stack(P))
"""


def _save(clf, path, kind):
    if kind == "joblib":
        joblib.dump(clf, path)
    elif kind == "pickle":
        path.write_bytes(pickle.dumps(clf))
    else:
        sio.dump(clf, path)


@quiet
def test_round_trip_in_a_fresh_process_with_an_empty_cache(tmp_path, digits):
    """Each format loads in a process of its own with an empty kernel cache;
    the three run at once, as they compile for tens of seconds each."""
    X, y = digits
    clf = MLPCostClassifier((20,), cost="quadratic", max_iter=20, random_state=0)
    clf.fit(sp.csr_matrix(X), y)
    np.save(tmp_path / "X.npy", X)
    loads = {}
    for kind in ("pickle", "joblib", "skops"):
        path = tmp_path / f"model.{kind}"
        _save(clf, path, kind)
        cache = tmp_path / f"empty-cache-{kind}"
        args = [str(path), kind, str(tmp_path / "X.npy"), str(tmp_path / f"{kind}.npy")]
        loads[kind] = subprocess.Popen(
            [sys.executable, "-c", _LOAD_AND_PREDICT, *args, ",".join(SKCE_TYPES)],
            env={**os.environ, "NUMBA_CACHE_DIR": str(cache)},
            stderr=subprocess.PIPE,
            text=True,
        )
    for kind, load in loads.items():
        _, err = load.communicate(timeout=600)
        assert load.returncode == 0, f"{kind}: {err}"
        assert list((tmp_path / f"empty-cache-{kind}").rglob("*.nbi"))  # compiled
        P = np.load(tmp_path / f"{kind}.npy")
        np.testing.assert_array_equal(P[0], clf.predict_proba(X), err_msg=kind)
        # The sparse path sums in another order: equal to rounding, not bit
        # for bit.
        np.testing.assert_allclose(
            P[1], clf.predict_proba(X), rtol=1e-12, atol=1e-15, err_msg=kind
        )


def _modules_in(schema):
    """Every ``__module__`` a skops schema names, at any depth."""
    if isinstance(schema, dict):
        found = {schema["__module__"]} if "__module__" in schema else set()
        for value in schema.values():
            found |= _modules_in(value)
        return found
    if isinstance(schema, list):
        return set().union(*map(_modules_in, schema)) if schema else set()
    return set()


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", early_stopping=True),
        dict(solver="sgd", cost="cross_entropy", momentum=0.9),
        dict(solver="lbfgs", cost="quadratic", activation="tanh"),
        dict(solver="gd", class_weight="balanced"),
        # The dropout seed and epoch come along: the masks continue.
        dict(solver="sgd", dropout=0.3, penalty="elasticnet", alpha=1e-3),
        dict(solver="lbfgs", penalty="l1", alpha=1e-2),
        # The activations beyond scikit-learn's, the leaky ReLU's slope and
        # GELU's kept inputs (under dropout) among them.
        dict(solver="adam", activation="leaky_relu", negative_slope=0.2),
        dict(solver="sgd", activation="gelu", dropout=0.2),
        dict(solver="lbfgs", activation="elu"),
        dict(solver="gd", activation="softplus"),
    ],
    ids=[
        "adam-early-stopping",
        "sgd-momentum",
        "lbfgs",
        "gd-class-weight",
        "sgd-dropout-elasticnet",
        "lbfgs-l1",
        "adam-leaky-relu",
        "sgd-gelu-dropout",
        "lbfgs-elu",
        "gd-softplus",
    ],
)
@pytest.mark.parametrize("float32", [False, True], ids=["float64", "float32"])
@quiet
def test_skops_file_holds_only_skce_and_safe_types(tmp_path, digits, params, float32):
    X, y = digits
    X = X.astype(np.float32) if float32 else X
    clf = MLPCostClassifier((15,), max_iter=6, random_state=0, **params).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)

    assert sio.get_untrusted_types(file=path) == SKCE_TYPES
    with zipfile.ZipFile(path) as archive:
        modules = _modules_in(json.loads(archive.read("schema.json")))
    assert not {
        m
        for m in modules
        if m.split(".")[0] not in ("builtins", "numpy", "sklearn", "skce")
    }

    loaded = sio.load(path, trusted=SKCE_TYPES)
    # Every fitted attribute, public and private, came back bit for bit.
    assert set(FITTED_ATTRIBUTES) >= set(fitted_state(clf)) == set(fitted_state(loaded))
    assert fitted_state(loaded) == fitted_state(clf)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.theta_.dtype == clf.theta_.dtype
    assert np.shares_memory(loaded.coefs_[0], loaded.theta_)
    # The optimizer and stopping state came along: a warm start continues alike.
    for model in (loaded, clf):
        model.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert loaded.theta_.tobytes() == clf.theta_.tobytes()


@quiet
def test_skops_refuses_a_file_with_an_untrusted_type(tmp_path, digits):
    X, y = digits
    clf = MLPCostClassifier((5,), max_iter=2, random_state=0).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)  # nothing trusted: skce's type must be named


@quiet
def test_skops_with_a_custom_cost_asks_to_trust_that_cost_too(tmp_path, digits):
    X, y = digits
    clf = MLPCostClassifier((8,), cost=MyQuadratic(), max_iter=4, random_state=0)
    clf.fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    user_type = f"{MyQuadratic.__module__}.MyQuadratic"
    untrusted = sio.get_untrusted_types(file=path)
    assert sorted(untrusted) == sorted([*SKCE_TYPES, user_type])
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path, trusted=SKCE_TYPES)
    loaded = sio.load(path, trusted=[*SKCE_TYPES, user_type])
    assert isinstance(loaded.cost, MyQuadratic)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@quiet
def test_a_users_activation_saves_and_continues(tmp_path, digits):
    """pickle and skops (which asks to trust the user's class) bring back a
    model with a user's activation; a warm start continues it alike."""
    X, y = digits
    clf = MLPCostClassifier((8,), activation=Swish(), max_iter=4, random_state=0)
    clf.fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(clf, path)
    user_type = f"{Swish.__module__}.Swish"
    assert sorted(sio.get_untrusted_types(file=path)) == sorted(
        [*SKCE_TYPES, user_type]
    )
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path, trusted=SKCE_TYPES)
    models = [
        clf,
        sio.load(path, trusted=[*SKCE_TYPES, user_type]),
        pickle.loads(pickle.dumps(clf)),
    ]
    for model in models[1:]:
        assert model._activation == Swish()
        np.testing.assert_array_equal(model.predict_proba(X), clf.predict_proba(X))
    for model in models:
        model.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert models[1].theta_.tobytes() == clf.theta_.tobytes()
    assert models[2].theta_.tobytes() == clf.theta_.tobytes()


@quiet
def test_pickled_before_fit_still_works(digits):
    X, y = digits
    clf = pickle.loads(
        pickle.dumps(MLPCostClassifier((10,), max_iter=5, random_state=0))
    )
    fresh = MLPCostClassifier((10,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.fit(X, y).theta_, fresh.theta_)
    assert clone(clf).get_params() == fresh.get_params()


@quiet
def test_models_saved_by_skce_0_1_0_load_predict_and_continue():
    """Pickles and a skops file written before the fitted state was redesigned."""
    from _golden import _data
    from _legacy_models import MODELS, PICKLES, PROBA, SKOPS, params

    X, y, _, _ = _data()
    models = pickle.loads(PICKLES.read_bytes())
    assert set(models) == set(MODELS)
    with np.load(PROBA) as expected:
        for name, model in models.items():
            # In the model's precision: 0.1.0 predicted float32 for float64
            # input; scikit-learn's rule, followed since, gives float64.
            x = X.astype(model.theta_.dtype)
            np.testing.assert_array_equal(model.predict_proba(x), expected[name])
        loaded = sio.load(SKOPS, trusted=SKCE_TYPES)
        np.testing.assert_array_equal(loaded.predict_proba(X), expected["adam-warm"])
    # The optimizer state came along: 3 + 3 warm epochs equal 6 in one fit.
    for model in (models["adam-warm"], loaded):
        model.fit(X, y)
        fresh = MLPCostClassifier(**{**params("adam-warm"), "max_iter": 6}).fit(X, y)
        assert model.theta_.tobytes() == fresh.theta_.tobytes()
        assert model.loss_curve_ == fresh.loss_curve_
    for name in ("sgd-early-stopping", "gd-class-weight-binary", "lbfgs-float32"):
        model = models[name].set_params(warm_start=True)
        epochs = len(model.loss_curve_)
        model.fit(X, np.where(y > 0, "yes", "no") if "binary" in name else y)
        assert len(model.loss_curve_) == (3 if "lbfgs" in name else epochs + 3)
    multilabel = models["sgd-partial-multilabel"]
    multilabel.partial_fit(X[:10], _data()[3][:10])
    assert multilabel.t_ == 70


@pytest.mark.parametrize(
    "params",
    [
        dict(loss="squared_error", solver="adam", early_stopping=True),
        dict(loss="poisson", solver="lbfgs"),
        dict(loss="quantile", quantile=0.2, solver="sgd"),
        dict(loss="huber", huber_threshold=0.5, solver="gd", dropout=0.2),
    ],
    ids=["squared-error", "poisson", "quantile", "huber"],
)
@quiet
def test_a_regressor_skops_file_holds_only_skce_and_safe_types(tmp_path, params):
    from skce import MLPCostRegressor

    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4))
    y = np.exp(0.5 * X[:, 0])
    reg = MLPCostRegressor(hidden_layer_sizes=(9,), max_iter=6, random_state=0)
    reg.set_params(**params).fit(X, y)
    path = tmp_path / "model.skops"
    sio.dump(reg, path)
    types = ["skce._regressor.MLPCostRegressor"]
    assert sio.get_untrusted_types(file=path) == types
    loaded = sio.load(path, trusted=types)
    assert fitted_state(loaded) == fitted_state(reg)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))
    if params["solver"] != "lbfgs":
        for model in (loaded, reg):
            model.set_params(warm_start=True, max_iter=3).fit(X, y)
        assert loaded.theta_.tobytes() == reg.theta_.tobytes()
