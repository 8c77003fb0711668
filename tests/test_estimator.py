"""Public behaviour of MLPCostClassifier, through its public API only."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skce import InvalidParameterError, MLPCostClassifier
from skce.costs import COSTS

COST_NAMES = list(COSTS)
SOLVERS = ["gd", "sgd", "adam", "lbfgs"]
quiet = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted(digits):
    """One fitted model per cost, reused by several assertions."""
    X, y = digits
    with warnings.catch_warnings():
        # 200 epochs are enough to learn, not always to meet tol.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {
            cost: MLPCostClassifier(
                hidden_layer_sizes=(30,),
                cost=cost,
                learning_rate_init=0.01,
                random_state=0,
            ).fit(X, y)
            for cost in COST_NAMES
        }


@pytest.mark.parametrize("cost", COST_NAMES)
def test_learns_digits_with_every_cost(fitted, digits, cost):
    X, y = digits
    assert fitted[cost].score(X, y) > 0.95
    assert fitted[cost].loss_curve_[-1] < fitted[cost].loss_curve_[0] / 2


@pytest.mark.parametrize("cost", COST_NAMES)
def test_output_activation_and_probabilities(fitted, digits, cost):
    X, _ = digits
    clf = fitted[cost]
    assert clf.out_activation_ == COSTS[cost].output_activation
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


@pytest.mark.parametrize("cost", COST_NAMES)
@pytest.mark.parametrize("solver", SOLVERS)
@quiet
def test_binary_target_has_one_output_unit(digits, cost, solver):
    X, y = digits
    labels = np.where(y % 2 == 0, "even", "odd")
    clf = MLPCostClassifier(
        hidden_layer_sizes=(8,),
        cost=cost,
        solver=solver,
        max_iter=30,
        learning_rate_init=0.05 if solver in ("gd", "sgd") else 0.01,
        random_state=0,
    ).fit(X, labels)
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert clf.coefs_[-1].shape == (8, 1)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    predicted = clf.predict(X)
    assert set(predicted) <= {"even", "odd"}
    np.testing.assert_array_equal(
        predicted, clf.classes_[(proba[:, 1] > 0.5).astype(int)]
    )
    assert clf.score(X, labels) > 0.7


@pytest.mark.parametrize("cost", COST_NAMES)
@quiet
def test_multilabel_target(multilabel, cost):
    X, Y = multilabel
    clf = MLPCostClassifier(
        hidden_layer_sizes=(20,),
        cost=cost,
        solver="lbfgs",
        max_iter=400,
        random_state=0,
    ).fit(X, Y)
    assert clf.n_outputs_ == 4 and clf.out_activation_ == "logistic"
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and ((proba > 0) & (proba < 1)).all()
    np.testing.assert_array_equal(clf.predict(X), (proba > 0.5).astype(int))
    assert (clf.predict(X) == Y).mean() > 0.8  # sklearn: 0.85 on this noisy set


def test_parameters_live_in_one_vector(fitted):
    clf = fitted["log_loss"]
    assert clf.theta_.flags.c_contiguous and clf.theta_.ndim == 1
    shapes = [c.shape for c in clf.coefs_] + [b.shape for b in clf.intercepts_]
    assert shapes == [(64, 30), (30, 10), (30,), (10,)]
    assert clf.theta_.size == sum(np.prod(s) for s in shapes)
    for array in clf.coefs_ + clf.intercepts_:
        assert np.shares_memory(array, clf.theta_)
    assert clf.n_layers_ == 3


def test_assigning_coefs_writes_into_theta(digits):
    X, y = digits
    clf = MLPCostClassifier(hidden_layer_sizes=(), solver="lbfgs", max_iter=5)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    clf.coefs_ = [np.zeros((64, 10))]
    clf.intercepts_ = [np.arange(10.0)]
    assert np.all(clf.theta_[: 64 * 10] == 0)
    np.testing.assert_array_equal(clf.predict(X), np.full(len(X), 9))
    with pytest.raises(ValueError, match="shapes"):
        clf.coefs_ = [np.zeros((10, 64))]
    with pytest.raises(ValueError, match="finite"):
        clf.intercepts_ = [np.full(10, np.nan)]


def test_weight_surgery_by_item_in_place_and_whole(digits):
    """clf.coefs_[i] = W edits the model, as in scikit-learn (issue 13)."""
    X, y = digits
    clf = MLPCostClassifier((8,), solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    rng = np.random.RandomState(0)
    W = rng.normal(size=(8, 10))
    clf.coefs_[1] = W  # item assignment
    np.testing.assert_array_equal(clf.coefs_[1], W)
    clf.intercepts_[1] = np.arange(10)
    np.testing.assert_array_equal(clf.theta_[-10:], np.arange(10))
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    expected = np.argmax(hidden @ W + np.arange(10), axis=1)
    np.testing.assert_array_equal(clf.predict(X), expected)
    clf.coefs_[0][:, 0] = 0.0  # in place
    assert not clf.theta_[: 64 * 8].reshape(64, 8)[:, 0].any()
    clf.coefs_ = [np.zeros((64, 8)), W]  # the whole list
    assert not clf.theta_[: 64 * 8].any()
    clf.coefs_[0:2] = [np.ones((64, 8)), W]  # a slice of it
    assert clf.theta_[: 64 * 8].all()
    before = clf.theta_.copy()
    with pytest.raises(ValueError, match=r"coefs_\[1\] must have shape \(8, 10\)"):
        clf.coefs_[1] = W.T
    with pytest.raises(TypeError, match=r"intercepts_\[0\] must hold real numbers"):
        clf.intercepts_[0] = np.full(8, "a")
    with pytest.raises(ValueError, match="finite"):
        clf.coefs_[-1] = np.full((8, 10), np.inf)
    np.testing.assert_array_equal(clf.theta_, before)  # a refused edit changes nothing
    assert type(pickle.loads(pickle.dumps(clf.coefs_))) is list


def test_scikit_learns_worked_example_through_weight_surgery():
    """scikit-learn's test_fit, with the weights set by item assignment.

    scikit-learn builds its model by hand from private attributes; here a
    first partial_fit makes the network, the weights are replaced item by
    item, and one more partial_fit takes the one SGD step worked out there.
    """
    X = np.array([[0.6, 0.8, 0.7]])
    y = np.array([0])
    mlp = MLPCostClassifier(
        solver="sgd",
        learning_rate_init=0.1,
        alpha=0.1,
        activation="logistic",
        random_state=1,
        hidden_layer_sizes=2,
        momentum=0,
    )
    mlp.partial_fit(X, y, classes=[0, 1])
    mlp.coefs_[0] = np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]])
    mlp.coefs_[1] = np.array([[0.1], [0.2]])
    mlp.intercepts_[0] = np.array([0.1, 0.1])
    mlp.intercepts_[1] = np.array([1.0])
    mlp.partial_fit(X, y)
    np.testing.assert_almost_equal(
        mlp.coefs_[0],
        np.array([[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]]),
        decimal=3,
    )
    np.testing.assert_almost_equal(
        mlp.coefs_[1], np.array([[0.04706], [0.154089]]), decimal=3
    )
    np.testing.assert_almost_equal(
        mlp.intercepts_[0], np.array([0.098333, 0.09626]), decimal=3
    )
    np.testing.assert_almost_equal(mlp.intercepts_[1], np.array([0.9235]), decimal=3)
    np.testing.assert_almost_equal(mlp.predict_proba(X)[0, 1], 0.739, decimal=3)


def test_a_replaced_theta_is_refused_before_any_kernel(fitted, digits):
    X, y = digits
    clf = pickle.loads(pickle.dumps(fitted["log_loss"]))
    for bad in (clf.theta_[:-1].copy(), clf.theta_.astype(np.int64), clf.theta_[::2]):
        clf.theta_ = bad
        with pytest.raises(ValueError, match="theta_ must be"):
            clf.predict(X)
        with pytest.raises(ValueError, match="theta_ must be"):
            clf.set_params(warm_start=True).fit(X, y)
    clf = pickle.loads(pickle.dumps(fitted["log_loss"]))
    clf.theta_.flags.writeable = False
    np.testing.assert_array_equal(
        clf.predict_proba(X), fitted["log_loss"].predict_proba(X)
    )


def test_no_hidden_layer(digits):
    X, y = digits
    clf = MLPCostClassifier(
        hidden_layer_sizes=(), solver="lbfgs", max_iter=300, random_state=0
    ).fit(X, y)
    assert clf.n_layers_ == 2 and len(clf.coefs_) == 1
    assert clf.coefs_[0].shape == (64, 10)
    assert clf.score(X, y) > 0.95


@pytest.mark.parametrize("solver", SOLVERS)
@quiet
def test_float32_stays_float32(digits, solver):
    X, y = digits
    clf = MLPCostClassifier(
        hidden_layer_sizes=(10,), solver=solver, max_iter=5, random_state=0
    ).fit(X.astype(np.float32), y)
    assert clf.theta_.dtype == np.float32
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32
    # scikit-learn's rule: float64 or integer input is predicted in float64.
    assert clf.predict_proba(X).dtype == np.float64
    assert clf.predict_proba((X * 16).astype(int)).dtype == np.float64
    assert clf.predict_proba(sp.csr_matrix(X)).dtype == np.float64
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.predict_proba(X.astype(np.float32)), rtol=1e-5
    )


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("early_stopping", [False, True])
@quiet
def test_losses_are_numpy_floats_as_in_scikit_learn(digits, solver, early_stopping):
    X, y = digits
    clf = MLPCostClassifier(
        hidden_layer_sizes=(10,),
        solver=solver,
        max_iter=3,
        early_stopping=early_stopping,
        random_state=0,
    ).fit(X, y)
    assert type(clf.loss_) is np.float64
    assert all(type(loss) is np.float64 for loss in clf.loss_curve_)
    if clf.best_loss_ is not None:
        assert type(clf.best_loss_) is np.float64


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@quiet
def test_sparse_input_gives_the_dense_model(digits, solver, fmt):
    X, y = digits
    params = dict(
        hidden_layer_sizes=(10,),
        solver=solver,
        max_iter=5,
        random_state=0,
        learning_rate_init=0.01,
    )
    dense = MLPCostClassifier(**params).fit(X, y)
    sparse = MLPCostClassifier(**params).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(sparse.theta_, dense.theta_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_array(X)), dense.predict_proba(X), atol=1e-12
    )


@pytest.mark.parametrize("solver", ["gd", "lbfgs"])
@pytest.mark.parametrize("cost", COST_NAMES)
@quiet
def test_weight_two_is_a_duplicated_row(digits, solver, cost):
    X, y = digits
    X, y = X[:100], y[:100]
    weights = np.ones(len(y))
    weights[:20] = 2.0
    X_dup, y_dup = np.vstack([X, X[:20]]), np.concatenate([y, y[:20]])
    params = dict(
        hidden_layer_sizes=(10,),
        solver=solver,
        cost=cost,
        max_iter=20,
        learning_rate_init=0.1,
        random_state=0,
    )
    weighted = MLPCostClassifier(**params).fit(X, y, sample_weight=weights)
    duplicated = MLPCostClassifier(**params).fit(X_dup, y_dup)
    np.testing.assert_allclose(
        weighted.theta_, duplicated.theta_, rtol=1e-7, atol=1e-10
    )
    assert weighted.loss_ == pytest.approx(duplicated.loss_, rel=1e-9)


def test_zero_weight_is_a_removed_row(digits):
    X, y = digits
    weights = np.ones(len(y))
    weights[::3] = 0.0
    params = dict(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning):
        weighted = MLPCostClassifier(**params).fit(X, y, sample_weight=weights)
    with pytest.warns(ConvergenceWarning):
        removed = MLPCostClassifier(**params).fit(X[weights > 0], y[weights > 0])
    np.testing.assert_allclose(weighted.theta_, removed.theta_, rtol=1e-7, atol=1e-10)


@quiet
def test_early_stopping_keeps_the_best_epoch(digits):
    X, y = digits
    clf = MLPCostClassifier(
        hidden_layer_sizes=(20,),
        early_stopping=True,
        n_iter_no_change=3,
        max_iter=300,
        learning_rate_init=0.01,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 300
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def test_early_stopping_split_is_stratified(digits):
    X, y = digits
    # 10 classes, 10 % held out: a stratified split sees every class.
    clf = MLPCostClassifier(
        hidden_layer_sizes=(5,),
        early_stopping=True,
        validation_fraction=0.1,
        max_iter=3,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    assert len(clf.validation_scores_) == 3


def test_convergence_warning_and_verbose(digits, capsys):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\)"):
        MLPCostClassifier(max_iter=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out


def test_adaptive_learning_rate_divides_by_five(digits, capsys):
    X, y = digits
    clf = MLPCostClassifier(
        solver="sgd",
        learning_rate="adaptive",
        tol=10.0,
        n_iter_no_change=1,
        max_iter=10,
        verbose=True,
    )
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(10\\)"):
        clf.fit(X, y)
    assert "Setting learning rate to 0.000200" in capsys.readouterr().out


def test_partial_fit(digits):
    X, y = digits
    clf = MLPCostClassifier(
        hidden_layer_sizes=(20,), solver="sgd", random_state=0, learning_rate_init=0.1
    )
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    classes = np.unique(y)
    for _ in range(20):
        clf.partial_fit(X[y < 5], y[y < 5], classes=classes)
        clf.partial_fit(X[y >= 5], y[y >= 5])
    np.testing.assert_array_equal(clf.classes_, classes)
    assert clf.score(X, y) > 0.8
    assert clf.t_ == 20 * len(y) and len(clf.loss_curve_) == 40
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X[:3], np.array([0, 1, 42]))
    with pytest.raises(ValueError, match="early_stopping"):
        clf.set_params(early_stopping=True).partial_fit(X, y)


def test_partial_fit_is_hidden_for_lbfgs():
    assert not hasattr(MLPCostClassifier(solver="lbfgs"), "partial_fit")
    for solver in ("gd", "sgd", "adam"):
        assert hasattr(MLPCostClassifier(solver=solver), "partial_fit")


@quiet
def test_warm_start_continues_and_checks_the_network(digits):
    X, y = digits
    clf = MLPCostClassifier(
        hidden_layer_sizes=(10,), max_iter=3, warm_start=True, random_state=0
    ).fit(X, y)
    first = clf.loss_
    clf.fit(X, y)
    assert clf.loss_ < first and len(clf.loss_curve_) == 6
    with pytest.raises(ValueError, match="layer sizes"):
        clf.set_params(hidden_layer_sizes=(11,)).fit(X, y)
    with pytest.raises(ValueError, match="activation"):
        clf.set_params(hidden_layer_sizes=(10,), activation="tanh").fit(X, y)
    with pytest.raises(ValueError, match="logistic outputs"):
        clf.set_params(activation="relu", cost="quadratic").fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.set_params(cost="log_loss").fit(X[y < 5], y[y < 5])


def test_one_class_is_an_error(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="class"):
        MLPCostClassifier().fit(X, np.zeros(len(X)))
    weights = np.r_[np.ones(150), np.zeros(150)]
    with pytest.raises(ValueError, match="class"):
        MLPCostClassifier().fit(
            X, np.r_[np.zeros(150), np.ones(150)], sample_weight=weights
        )


def test_unfitted_errors():
    clf = MLPCostClassifier()
    for method in (clf.predict, clf.predict_proba, clf.predict_log_proba):
        with pytest.raises(NotFittedError):
            method(np.zeros((2, 3)))
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "intercepts_")


@pytest.mark.parametrize(
    "params, name",
    [
        ({"cost": "hinge"}, "cost"),
        ({"solver": "newton"}, "solver"),
        ({"activation": "softmax"}, "activation"),
        ({"learning_rate": "cyclic"}, "learning_rate"),
        ({"alpha": -1.0}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": (10, 2.5)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": -3}, "hidden_layer_sizes"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate_init": 0.0}, "learning_rate_init"),
        ({"learning_rate_init": float("nan")}, "learning_rate_init"),
        ({"max_iter": 0}, "max_iter"),
        ({"momentum": 1.5}, "momentum"),
        ({"beta_1": 1.0}, "beta_1"),
        ({"beta_2": 1.0}, "beta_2"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
        ({"max_fun": 0}, "max_fun"),
        ({"tol": -1e-3}, "tol"),
        ({"power_t": -0.5}, "power_t"),
        ({"shuffle": "yes"}, "shuffle"),
        ({"verbose": -1}, "verbose"),
        ({"random_state": "seed"}, "random_state"),
        ({"max_iter": 10.0}, "max_iter"),
    ],
)
def test_invalid_parameters_name_the_parameter(digits, params, name):
    X, y = digits
    clf = MLPCostClassifier(**params)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        clf.fit(X, y)
    assert not hasattr(clf, "theta_")


def test_n_iter_no_change_accepts_inf(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning):
        clf = MLPCostClassifier(n_iter_no_change=np.inf, max_iter=3).fit(X, y)
    assert clf.n_iter_ == 3


@quiet
def test_pickle_round_trip_keeps_views(fitted, digits):
    X, _ = digits
    clf = pickle.loads(pickle.dumps(fitted["quadratic"]))
    np.testing.assert_array_equal(
        clf.predict_proba(X), fitted["quadratic"].predict_proba(X)
    )
    assert np.shares_memory(clf.coefs_[0], clf.theta_)


@quiet
def test_grid_search_over_cost_and_solver_in_a_pipeline(digits):
    X, y = digits
    pipeline = make_pipeline(
        StandardScaler(),
        MLPCostClassifier(
            hidden_layer_sizes=(16,),
            max_iter=30,
            learning_rate_init=0.01,
            random_state=0,
        ),
    )
    grid = GridSearchCV(
        pipeline,
        {"mlpcostclassifier__cost": COST_NAMES, "mlpcostclassifier__solver": SOLVERS},
        cv=3,
        n_jobs=2,
    ).fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert len(scores) == 12 and np.isfinite(scores).all()
    assert grid.best_score_ > 0.85
    assert grid.predict(X[:5]).shape == (5,)


@pytest.mark.parametrize("rows", [1, 5, 400])
def test_small_and_large_inputs_are_checked_alike(fitted, digits, rows):
    """A few rows take a lean validation path; its answers and errors match."""
    X, _ = digits
    clf = fitted["log_loss"]
    X = np.vstack([X] * 2)[:rows]
    expected = clf.predict_proba(sp.csr_matrix(X))  # always the full path
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X.tolist()), expected, rtol=1e-12)
    np.testing.assert_allclose(
        clf.predict_proba(X.astype(np.float32)), expected, rtol=1e-6
    )
    bad = X.copy()
    bad[-1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(bad)
    bad[-1, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        clf.predict_proba(bad)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :10])
    with pytest.raises(ValueError):
        clf.predict(X[0])


@pytest.mark.parametrize("solver", SOLVERS)
def test_warnings_point_at_the_callers_line(digits, solver):
    X, y = digits
    clf = MLPCostClassifier((5,), solver=solver, max_iter=1)
    with pytest.warns(ConvergenceWarning) as record:
        clf.fit(X, y)
    assert [w.filename for w in record] == [__file__]
    if solver not in ("sgd", "adam"):  # gd and lbfgs take no batch size
        return
    clf.set_params(batch_size=10**6)
    for call in (
        lambda: clf.fit(X, y),
        lambda: clf.partial_fit(X, y),
        lambda: clf.set_params(warm_start=True).fit(X, y),
    ):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            call()
        assert any("clipped" in str(w.message) for w in record)
        assert {w.filename for w in record} == {__file__}
