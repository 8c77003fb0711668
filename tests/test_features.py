"""What skce adds to MLPClassifier: warm starts that keep the optimizer,
given initial weights, class weights and a user validation set."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from _reference import reference_cost
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skce import DataMismatchWarning, MLPCostClassifier

quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
FIXED = dict(shuffle=False, tol=0.0, n_iter_no_change=10**6, random_state=0)


@pytest.mark.parametrize(
    "solver, params",
    [
        ("gd", {"learning_rate_init": 0.1}),
        ("sgd", {"learning_rate_init": 0.05, "batch_size": 64}),
        ("sgd", {"learning_rate": "invscaling", "learning_rate_init": 0.5}),
        ("adam", {"batch_size": 64}),
    ],
    ids=["gd", "sgd", "sgd-invscaling", "adam"],
)
@quiet
def test_warm_start_keeps_the_optimizer_state(digits, solver, params):
    X, y = digits
    common = dict(hidden_layer_sizes=(20,), solver=solver, **FIXED, **params)
    once = MLPCostClassifier(max_iter=20, **common).fit(X, y)
    twice = MLPCostClassifier(max_iter=10, warm_start=True, **common).fit(X, y)
    twice.fit(X, y)
    np.testing.assert_array_equal(twice.theta_, once.theta_)
    assert twice.loss_curve_ == once.loss_curve_ and twice.t_ == once.t_
    stepwise = MLPCostClassifier(**common)
    for _ in range(20):
        stepwise.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_array_equal(stepwise.theta_, once.theta_)


@pytest.mark.parametrize("solver", ["gd", "sgd", "adam"])
@pytest.mark.parametrize("seed", ["int", "RandomState"])
@quiet
def test_warm_start_continues_the_shuffling(digits, solver, seed):
    """10 + 10 warm epochs are one fit of 20, shuffled rows included."""
    X, y = digits

    def model(max_iter, **params):
        random_state = 7 if seed == "int" else np.random.RandomState(7)
        return MLPCostClassifier(
            (20,),
            solver=solver,
            batch_size=64,
            learning_rate_init=0.05,
            random_state=random_state,
            max_iter=max_iter,
            **params,
        )

    once = model(20).fit(X, y)
    twice = model(10, warm_start=True).fit(X, y)
    twice.fit(X, y)
    assert twice.theta_.tobytes() == once.theta_.tobytes()
    assert twice.loss_curve_ == once.loss_curve_ and twice.t_ == once.t_
    # The rows really were shuffled (gd takes them all at once, in order).
    in_order = model(20, shuffle=False).fit(X, y)
    assert (solver == "gd") == np.array_equal(in_order.theta_, once.theta_)


def test_given_initial_weights(digits):
    X, y = digits
    rng = np.random.RandomState(1)
    coefs = [rng.normal(size=(64, 7)), rng.normal(size=(7, 10))]
    intercepts = [rng.normal(size=7), rng.normal(size=10)]
    clf = MLPCostClassifier((7,), solver="gd", activation="tanh", alpha=0.0)
    with pytest.warns(ConvergenceWarning):
        clf.set_params(max_iter=1).fit(
            X, y, coefs_init=coefs, intercepts_init=intercepts
        )
    # The first loss is the cost of the given weights.
    hidden = np.tanh(X @ coefs[0] + intercepts[0])
    logits = hidden @ coefs[1] + intercepts[1]
    expected = reference_cost("log_loss", logits, np.eye(10)[y]).mean()
    assert clf.loss_curve_[0] == pytest.approx(expected, rel=1e-12)
    # Given weights restart a warm-started network; the given arrays stay intact.
    clf.set_params(warm_start=True, max_iter=1)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y, coefs_init=coefs, intercepts_init=intercepts)
    assert clf.loss_curve_ == [pytest.approx(expected, rel=1e-12)]
    assert not np.shares_memory(clf.coefs_[0], coefs[0])


def test_initial_weights_given_as_one_array():
    """An array of the layers' weights is taken as their list, without NumPy's
    'truth value of an array is ambiguous' on the way."""
    X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([0, 1, 1])
    params = dict(hidden_layer_sizes=(), solver="gd", max_iter=1, random_state=0)
    W = np.array([[[0.5], [-0.25]]])  # one layer: (2 inputs, 1 output)
    with pytest.warns(ConvergenceWarning):
        as_array = MLPCostClassifier(**params).fit(X, y, coefs_init=W)
    with pytest.warns(ConvergenceWarning):
        as_list = MLPCostClassifier(**params).fit(X, y, coefs_init=list(W))
    assert as_array.theta_.tobytes() == as_list.theta_.tobytes()


@pytest.mark.parametrize(
    "coefs, intercepts, match",
    [
        ([np.zeros((64, 7))], None, "coefs_init must be a list of arrays of shapes"),
        ([np.zeros((7, 64)), np.zeros((7, 10))], None, "shapes"),
        (None, [np.zeros(7), np.zeros(9)], "intercepts_init must be"),
        ([np.zeros((64, 7)), np.full((7, 10), np.nan)], None, "finite"),
    ],
)
def test_bad_initial_weights_are_refused(digits, coefs, intercepts, match):
    X, y = digits
    clf = MLPCostClassifier((7,))
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, coefs_init=coefs, intercepts_init=intercepts)
    assert not hasattr(clf, "theta_")


@pytest.mark.parametrize("solver", ["gd", "lbfgs"])
@quiet
def test_class_weight_dict_is_the_equivalent_sample_weight(digits, solver):
    X, y = digits
    class_weight = {0: 3.0, 1: 0.5, 7: 2.0}
    params = dict(hidden_layer_sizes=(10,), solver=solver, max_iter=15, random_state=0)
    weighted = MLPCostClassifier(class_weight=class_weight, **params).fit(X, y)
    sample_weight = np.array([class_weight.get(label, 1.0) for label in y])
    explicit = MLPCostClassifier(**params).fit(X, y, sample_weight=sample_weight)
    np.testing.assert_array_equal(weighted.theta_, explicit.theta_)
    both = MLPCostClassifier(class_weight=class_weight, **params)
    both.fit(X, y, sample_weight=np.full(len(y), 2.0))
    again = MLPCostClassifier(**params).fit(X, y, sample_weight=2 * sample_weight)
    np.testing.assert_array_equal(both.theta_, again.theta_)


@quiet
def test_balanced_class_weight(digits):
    X, y = digits
    y = np.where(y == 0, "zero", "other")  # 10 % against 90 %
    params = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=15, random_state=0)
    balanced = MLPCostClassifier(class_weight="balanced", **params).fit(X, y)
    explicit = MLPCostClassifier(**params).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y)
    )
    np.testing.assert_array_equal(balanced.theta_, explicit.theta_)


def test_class_weight_errors(digits, multilabel):
    X, y = digits
    with pytest.raises(ValueError, match="not supported for partial_fit"):
        MLPCostClassifier(class_weight="balanced").partial_fit(X, y, classes=range(10))
    with pytest.raises(ValueError, match="not in the data"):
        MLPCostClassifier(class_weight={42: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="multilabel"):
        MLPCostClassifier(class_weight={0: 2.0}).fit(*multilabel)
    with pytest.raises(ValueError, match="'class_weight' parameter"):
        MLPCostClassifier(class_weight="uniform").fit(X, y)


@pytest.fixture(scope="module")
def split(digits):
    X, y = digits
    return X[:200], y[:200], X[200:], y[200:]


@pytest.mark.parametrize("metric", ["score", "loss"])
@quiet
def test_user_validation_set_drives_early_stopping(split, metric):
    X, y, X_val, y_val = split
    clf = MLPCostClassifier(
        (30,),
        early_stopping=True,
        early_stopping_metric=metric,
        n_iter_no_change=5,
        learning_rate_init=0.02,
        max_iter=300,
        random_state=0,
    )
    clf.fit(X, y, X_val=X_val, y_val=y_val)
    assert clf.n_iter_ < 300
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.t_ == clf.n_iter_ * len(y)  # all of X trained, none held out
    # The restored weights are those of the best epoch for the chosen metric.
    final_loss = log_loss(y_val, clf.predict_proba(X_val), labels=clf.classes_)
    final_score = accuracy_score(y_val, clf.predict(X_val))
    if metric == "loss":
        assert final_loss == pytest.approx(min(clf.validation_loss_curve_), rel=1e-9)
        assert clf.best_validation_loss_ == min(clf.validation_loss_curve_)
    else:
        assert final_score == clf.best_validation_score_ == max(clf.validation_scores_)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@quiet
def test_validation_curves_without_early_stopping(split, solver):
    X, y, X_val, y_val = split
    weights = np.random.RandomState(0).uniform(0.5, 2, len(y_val))
    clf = MLPCostClassifier((20,), solver=solver, max_iter=15, random_state=0)
    clf.fit(X, y, X_val=X_val, y_val=y_val, sample_weight_val=weights)
    assert len(clf.validation_loss_curve_) == len(clf.loss_curve_)
    final = log_loss(y_val, clf.predict_proba(X_val), sample_weight=weights)
    assert clf.validation_loss_curve_[-1] == pytest.approx(final, rel=1e-9)
    assert clf.validation_scores_[-1] == pytest.approx(
        accuracy_score(y_val, clf.predict(X_val), sample_weight=weights)
    )


def test_validation_set_errors(split):
    X, y, X_val, y_val = split
    clf = MLPCostClassifier((5,), max_iter=2)
    with pytest.raises(ValueError, match="together"):
        clf.fit(X, y, X_val=X_val)
    with pytest.raises(ValueError, match="without X_val"):
        clf.fit(X, y, sample_weight_val=np.ones(3))
    with pytest.raises(ValueError, match="features"):
        clf.fit(X, y, X_val=X_val[:, :5], y_val=y_val)
    with pytest.raises(ValueError, match="not seen in y"):
        clf.fit(X[y < 5], y[y < 5], X_val=X_val, y_val=y_val)
    with pytest.raises(ValueError, match="'early_stopping_metric' parameter"):
        clf.set_params(early_stopping_metric="auc").fit(X, y)


def _routed_pipeline(**pipeline_params):
    clf = MLPCostClassifier((20,), max_iter=5, random_state=0)
    clf.set_fit_request(X_val=True, y_val=True)
    return Pipeline([("scale", StandardScaler()), ("mlp", clf)], **pipeline_params)


@quiet
def test_pipeline_transforms_x_val_when_told(split):
    """scikit-learn's transform_input sends X_val through the scaler."""
    X, y, X_val, y_val = split
    X = X * 16  # raw digits, 0..16: the scaler matters
    X_val = X_val * 16
    with sklearn.config_context(enable_metadata_routing=True):
        with warnings.catch_warnings():
            warnings.simplefilter("error", DataMismatchWarning)
            pipe = _routed_pipeline(transform_input=["X_val"])
            pipe.fit(X, y, X_val=X_val, y_val=y_val)
    scaler = StandardScaler().fit(X)
    by_hand = MLPCostClassifier((20,), max_iter=5, random_state=0).fit(
        scaler.transform(X), y, X_val=scaler.transform(X_val), y_val=y_val
    )
    assert pipe[-1].validation_scores_ == by_hand.validation_scores_
    assert pipe[-1].theta_.tobytes() == by_hand.theta_.tobytes()


@quiet
@pytest.mark.parametrize("sparse", [False, True])
def test_untransformed_x_val_warns(split, sparse):
    """Without transform_input, X_val reaches the model unscaled: warned."""
    X, y, X_val, y_val = split
    to_format = sp.csr_matrix if sparse else np.asarray
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.warns(DataMismatchWarning, match="transform_input=\\['X_val'\\]"):
            _routed_pipeline().fit(X * 16, y, X_val=to_format(X_val * 16), y_val=y_val)
    # Data scaled apart warns outside a Pipeline too; a held-out part does not.
    clf = MLPCostClassifier((5,), max_iter=1)
    with pytest.warns(DataMismatchWarning, match="standard deviations away"):
        clf.fit(X, y, X_val=to_format(X_val * 16), y_val=y_val)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataMismatchWarning)
        clf.fit(X, y, X_val=to_format(X_val), y_val=y_val)
        clf.fit(
            X, y, X_val=to_format(X_val[:9] * 16), y_val=y_val[:9]
        )  # too few rows to tell


@quiet
def test_progress_bar_and_lines(digits, capsys):
    X, y = digits
    MLPCostClassifier((5,), max_iter=3, verbose=2, early_stopping=True).fit(X, y)
    captured = capsys.readouterr()
    assert "3/3" in captured.err and "val_score" in captured.err  # tqdm's bar
    # scikit-learn's lines too, on stdout, one per epoch
    assert (
        captured.out.count("Iteration") == 3 and "Iteration 3, loss = " in captured.out
    )
    assert "Iteration" not in captured.err
    MLPCostClassifier((5,), max_iter=3, verbose=True, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 3, loss = " in out and "Validation score: " in out


def test_progress_without_tqdm_prints_lines(digits, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError("no tqdm here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    X, y = digits
    with pytest.warns(UserWarning, match="tqdm, which is not installed"):
        with pytest.warns(ConvergenceWarning):
            MLPCostClassifier((5,), max_iter=2, verbose=2).fit(X, y)
    assert "Iteration 2, loss = " in capsys.readouterr().out


@quiet
def test_loss_curve_display(split):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skce import LossCurveDisplay

    X, y, X_val, y_val = split
    one = MLPCostClassifier((10,), max_iter=8, random_state=0).fit(X, y)
    display = LossCurveDisplay.from_estimator(one)
    np.testing.assert_array_equal(display.line_.get_ydata(), one.loss_curve_)
    assert display.ax_.figure is display.figure_ and display.score_ax_ is None

    several = [
        MLPCostClassifier((10,), cost=cost, max_iter=8, random_state=0).fit(
            X, y, X_val=X_val, y_val=y_val
        )
        for cost in ("cross_entropy", "quadratic")
    ]
    several.append(
        make_pipeline(
            StandardScaler(),
            MLPCostClassifier((10,), solver="lbfgs", max_iter=8, early_stopping=True),
        ).fit(X, y)
    )
    _, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(several, ax=ax, labels=["ce", "q", "lb"])
    assert display.ax_ is ax and len(display.line_) == 3
    np.testing.assert_array_equal(
        display.lines_["q", "validation loss"].get_ydata(),
        several[1].validation_loss_curve_,
    )
    np.testing.assert_array_equal(
        display.lines_["ce", "validation score"].get_ydata(),
        several[0].validation_scores_,
    )
    with pytest.raises(ValueError, match="labels"):
        LossCurveDisplay.from_estimator(several, labels=["a"])
    with pytest.raises(Exception, match="not fitted"):
        LossCurveDisplay.from_estimator(MLPCostClassifier())
    plt.close("all")
