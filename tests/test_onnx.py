"""ONNX export: onnxruntime's outputs equal ``predict`` and ``predict_proba``."""

import numpy as np
import onnxruntime as ort
import pytest
from _user_activation import Swish
from skl2onnx import to_onnx
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_custom_costs import MyQuadratic

import skce.onnx  # noqa: F401  (registers the converter)
from skce import MLPCostClassifier, MLPCostRegressor
from skce.activations import ACTIVATIONS
from skce.costs import COSTS

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _run(model, X, **options):
    onx = to_onnx(model, X[:1], options={"zipmap": False, **options})
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def _targets(digits, multilabel):
    X, y = digits
    Xm, Ym = multilabel
    X, Xm = X.astype(np.float32), Xm.astype(np.float32)
    return {
        "multiclass": (X, y),
        "binary": (X, np.array(["even", "odd"])[y % 2]),
        "multilabel": (Xm, Ym),
    }


@pytest.mark.parametrize("target", ["multiclass", "binary", "multilabel"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("cost", list(COSTS))
@quiet
def test_onnxruntime_agrees_with_predict(digits, multilabel, cost, activation, target):
    X, y = _targets(digits, multilabel)[target]
    clf = MLPCostClassifier(
        (12, 8),
        cost=cost,
        activation=activation,
        negative_slope=0.2,  # the leaky ReLU's, to see it reach the graph
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    assert clf.theta_.dtype == np.float32
    labels, proba = _run(clf, X)
    np.testing.assert_array_equal(labels, clf.predict(X))
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "params",
    [dict(dropout=[0.5, 0.2], penalty="l1", alpha=1e-2), dict(penalty=None)],
    ids=["dropout-l1", "no-penalty"],
)
@quiet
def test_regularized_models_export_what_predict_computes(digits, params):
    """Training-time regularizers leave no trace in the graph: it computes
    the whole network, as predict does."""
    X, y = digits
    X = X.astype(np.float32)
    clf = MLPCostClassifier((12, 8), max_iter=30, random_state=0, **params).fit(X, y)
    labels, proba = _run(clf, X)
    np.testing.assert_array_equal(labels, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-5)


@pytest.mark.parametrize("cost", list(COSTS))
@quiet
def test_saturated_outputs_stay_finite_and_agree(digits, cost):
    """Inputs x1e4 push every sigmoid to 0 or 1: no NaN, the same clipping."""
    X, y = digits
    X = X.astype(np.float32)
    clf = MLPCostClassifier((10,), cost=cost, max_iter=10, random_state=0).fit(X, y)
    X_big = X * 1e4
    labels, proba = _run(clf, X_big)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba, clf.predict_proba(X_big), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(labels, clf.predict(X_big))


@quiet
def test_float64_input_gives_a_float64_graph(digits):
    X, y = digits
    clf = MLPCostClassifier((10,), cost="cross_entropy", max_iter=20, random_state=0)
    clf.fit(X, y)
    labels, proba = _run(clf, X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(labels, clf.predict(X))


@quiet
def test_pipeline_with_a_scaler_converts(digits):
    X, y = digits
    X = X.astype(np.float32)
    pipe = make_pipeline(
        StandardScaler(), MLPCostClassifier((10,), max_iter=20, random_state=0)
    ).fit(X, y)
    labels, proba = _run(pipe, X)
    np.testing.assert_array_equal(labels, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)


@pytest.mark.parametrize(
    "y_of",
    [
        lambda y: y * 10 - 5,  # integers, not 0..n-1
        lambda y: (y % 3).astype(np.float64),  # float labels
        lambda y: y % 2 == 0,  # booleans
    ],
    ids=["int", "float", "bool"],
)
@quiet
def test_label_types(digits, y_of):
    X, y = digits
    X = X.astype(np.float32)
    y = y_of(y)
    clf = MLPCostClassifier((10,), max_iter=20, random_state=0).fit(X, y)
    labels, _ = _run(clf, X)
    np.testing.assert_array_equal(labels, clf.predict(X))


@quiet
def test_no_hidden_layer_and_a_custom_cost(digits):
    X, y = digits
    X = X.astype(np.float32)
    for clf in (
        MLPCostClassifier((), max_iter=20, random_state=0),
        MLPCostClassifier((10,), cost=MyQuadratic(), max_iter=20, random_state=0),
    ):
        clf.fit(X, y)
        labels, proba = _run(clf, X)
        np.testing.assert_array_equal(labels, clf.predict(X))
        np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)


@quiet
def test_zipmap_and_nocl_options(digits):
    X, y = digits
    X = X.astype(np.float32)
    clf = MLPCostClassifier((10,), max_iter=20, random_state=0).fit(X, y * 10)
    onx = to_onnx(clf, X[:1])  # skl2onnx's default: a list of {class: p}
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, maps = session.run(None, {session.get_inputs()[0].name: X[:3]})
    np.testing.assert_array_equal(labels, clf.predict(X[:3]))
    assert sorted(maps[0]) == list(clf.classes_)
    assert maps[0][10] == pytest.approx(clf.predict_proba(X[:1])[0, 1], abs=1e-5)
    labels, _ = _run(clf, X, nocl=True)  # class indices instead of classes
    np.testing.assert_array_equal(labels, clf.predict(X) // 10)


def test_an_unfitted_model_is_refused_as_such():
    # (With the default zipmap=True, skl2onnx's own parser asks for classes_
    # first and raises its RuntimeError before skce's converter is reached.)
    with pytest.raises(NotFittedError):
        to_onnx(
            MLPCostClassifier(),
            np.zeros((1, 3), dtype=np.float32),
            options={"zipmap": False},
        )


@quiet
def test_an_old_opset_is_refused_by_name(digits):
    X, y = digits
    clf = MLPCostClassifier((5,), max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(RuntimeError, match="target_opset >= 13"):
        to_onnx(clf, X[:1].astype(np.float32), target_opset=12)


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "loss", ["squared_error", "poisson", "absolute_error", "huber", "quantile"]
)
@quiet
def test_the_regressor_exports_its_predictions(loss, dtype, n_outputs):
    from skce import MLPCostRegressor

    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5)).astype(dtype)
    Y = np.c_[np.exp(0.3 * X[:, 0]), np.abs(X[:, 1])][:, :n_outputs]
    y = Y if n_outputs > 1 else Y[:, 0]
    reg = MLPCostRegressor(loss, (12, 8), activation="tanh", max_iter=30).fit(X, y)
    onx = to_onnx(reg, X[:1])
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (values,) = session.run(None, {session.get_inputs()[0].name: X})
    assert values.dtype == dtype and values.shape == (200, n_outputs)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        values, reg.predict(X).reshape(200, -1), rtol=tolerance, atol=tolerance
    )


@quiet
def test_a_regressor_in_a_pipeline_exports():
    from skce import MLPCostRegressor

    rng = np.random.RandomState(1)
    X = rng.normal(loc=5, scale=3, size=(100, 4)).astype(np.float32)
    pipe = make_pipeline(StandardScaler(), MLPCostRegressor("huber", max_iter=20))
    pipe.fit(X, X[:, 0] * 2)
    onx = to_onnx(pipe, X[:1])
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (values,) = session.run(None, {session.get_inputs()[0].name: X})
    np.testing.assert_allclose(values[:, 0], pipe.predict(X), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@quiet
def test_every_activation_exports_in_float64(activation):
    """The regressor's values in float64 agree to float64 rounding under
    every activation (the classifier's probabilities hide small gaps)."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) + np.sin(X[:, 0])
    reg = MLPCostRegressor(
        hidden_layer_sizes=(12, 8),
        activation=activation,
        negative_slope=0.3,
        max_iter=50,
        random_state=0,
    ).fit(X, y)
    onx = to_onnx(reg, X[:1])
    session = ort.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (values,) = session.run(None, {session.get_inputs()[0].name: X})
    assert values.dtype == np.float64
    np.testing.assert_allclose(values.ravel(), reg.predict(X), rtol=1e-12, atol=1e-12)


@quiet
def test_a_users_activation_is_refused_by_name(digits):
    X, y = digits
    clf = MLPCostClassifier((8,), activation=Swish(), max_iter=5).fit(X[:200], y[:200])
    with pytest.raises(ValueError, match="Swish.*user's own.*pickle or skops"):
        _run(clf, X[:5].astype(np.float32))
