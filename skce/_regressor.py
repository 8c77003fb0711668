"""``MLPCostRegressor``: the regression half of the drop-in.

It shares every step of a fit with the classifier (``MLPCostBase``); it
differs in its targets (values: ``_inputs.Values``), its output units
(identity, or the exponential for a Poisson cost) and its costs (the
``loss`` parameter, scikit-learn's name). Its docstring takes the
descriptions of the parameters the two share from the classifier's, so that
each is written once.
"""

import re

from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._data import InMemoryData
from ._estimator import NETWORK_ATTRIBUTES, MLPCostBase, MLPCostClassifier
from ._inputs import Values, checked_input, training_rows

#: Every fitted attribute of the regressor: the network's alone.
REGRESSOR_FITTED_ATTRIBUTES = NETWORK_ATTRIBUTES


def _classifier_parameters(*names):
    """The classifier's numpydoc entries of the parameters ``names``."""
    text = MLPCostClassifier.__doc__
    entries = []
    for name in names:
        match = re.search(
            rf"^    {name} : .*?(?=^    \w+ : |^    Attributes$)", text, re.M | re.S
        )
        entries.append(match.group(0).rstrip() + "\n\n")
    return "".join(entries).rstrip("\n")


_SHARED_HEAD = _classifier_parameters("hidden_layer_sizes", "activation")
_SHARED_SOLVER = _classifier_parameters(
    "solver",
    "alpha",
    "penalty",
    "l1_ratio",
    "dropout",
    "batch_size",
    "learning_rate",
    "learning_rate_init",
    "power_t",
    "max_iter",
    "shuffle",
    "random_state",
    "tol",
    "verbose",
    "warm_start",
    "momentum",
    "nesterovs_momentum",
)
_SHARED_TAIL = _classifier_parameters(
    "beta_1",
    "beta_2",
    "epsilon",
    "n_iter_no_change",
    "max_fun",
)
_SHARED_LAST = _classifier_parameters("negative_slope", "weight_init", "n_jobs")


class MLPCostRegressor(RegressorMixin, MLPCostBase):
    __doc__ = f"""Multi-layer perceptron regressor with a selectable cost and solver.

    A drop-in superset of :class:`sklearn.neural_network.MLPRegressor`: the
    same parameters, in the same positions, with the same defaults and
    meaning, the same fitted attributes, and with ``loss='squared_error'``
    or ``'poisson'`` the same numbers for the same ``random_state``. It adds
    the robust and quantile costs ('absolute_error', 'huber', 'quantile') and
    a user's :class:`~skce.costs.Cost`, and everything
    :class:`~skce.MLPCostClassifier` adds: the 'gd' solver, the L1 and
    elastic-net penalties, dropout, ``weight_init``, ``n_jobs`` and a
    validation set of your own.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson', 'absolute_error', 'huber', \
'quantile'}} or Cost, default='squared_error'
        The cost to minimize, which also fixes the output activation (see
        :mod:`skce.costs`). It keeps scikit-learn's name and position; the
        regressor has no ``cost`` parameter, since two parameters for one
        choice could be set to disagree (in ``set_params`` or a grid).

        - 'squared_error': identity outputs, half the squared error;
          scikit-learn's default.
        - 'poisson': exponential outputs, half the Poisson deviance, as in
          scikit-learn; the targets must not be negative.
        - 'absolute_error': identity outputs, the absolute error (median
          regression), robust to outliers in ``y``.
        - 'huber': identity outputs, quadratic within ``huber_threshold`` of
          the target and linear beyond, robust to outliers.
        - 'quantile': identity outputs, the pinball loss at ``quantile``:
          the network predicts that quantile of ``y``.
        - a :class:`~skce.costs.Cost` with Numba-jitted ``fn(a, y)`` and
          ``delta(z, a, y)``, as in :mod:`skce.costs`, with 'identity',
          'exp' or 'logistic' outputs.

{_SHARED_HEAD}

{_SHARED_SOLVER}

    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the data and stop
        when the validation R² fails to improve by ``tol`` for
        ``n_iter_no_change`` epochs; the weights of the best epoch are
        restored. Used by 'gd', 'sgd' and 'adam'.

    early_stopping_metric : {{'score', 'loss'}}, default='score'
        What early stopping watches on the validation set: the R² ('score',
        scikit-learn's behaviour) or the validation cost ('loss'), which
        is the one to watch for the robust and quantile costs.

    validation_fraction : float, default=0.1
        Proportion of training data held out for early stopping, in (0, 1).

{_SHARED_TAIL}

    quantile : float, default=0.5
        The quantile the 'quantile' cost predicts, in (0, 1). Used only with
        ``loss='quantile'``; the name is that of
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor`.

    huber_threshold : float, default=1.0
        Where the 'huber' cost turns from quadratic to linear, in the units
        of ``y``, positive. Used only with ``loss='huber'``. Not called
        ``epsilon`` as in :class:`~sklearn.linear_model.HuberRegressor`:
        that name is Adam's here, as in scikit-learn's MLP.

{_SHARED_LAST}

    Attributes
    ----------
    theta_ : ndarray of shape (n_parameters,)
        All weights and biases in one contiguous vector, float32 or float64
        like the training data; ``coefs_`` and ``intercepts_`` are views
        into it.

    coefs_ : list of ndarray of shape (n_units[i], n_units[i + 1])
        Weight matrices; the ith matrix maps layer i to layer i + 1.

    intercepts_ : list of ndarray of shape (n_units[i + 1],)
        Bias vectors; the ith vector belongs to layer i + 1.

    loss_ : float
        The loss (mean cost plus penalty) after the last epoch or iteration.

    best_loss_ : float or None
        Minimum of ``loss_curve_`` ('gd', 'sgd' and 'adam'); None with early
        stopping.

    loss_curve_ : list of float
        The loss of each epoch ('gd', 'sgd', 'adam') or iteration ('lbfgs').

    validation_scores_ : list of float or None
        Validation R² of each epoch (or L-BFGS iteration) when there is a
        validation set, else None.

    validation_loss_curve_ : list of float or None
        Validation cost of each epoch or iteration when there is a
        validation set, else None.

    best_validation_score_ : float or None
        Best validation R² when there is a validation set, else None.

    best_validation_loss_ : float or None
        Lowest validation cost when there is a validation set, else None.

    t_ : int
        Number of training samples seen by the stochastic solvers.

    n_iter_ : int
        Number of epochs (or L-BFGS iterations) run by the last fit.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of outputs.

    out_activation_ : {{'identity', 'exp', 'logistic'}}
        Activation of the output layer: 'exp' for the Poisson cost.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The estimator this one extends.
    MLPCostClassifier : The classifier it shares its fit with.
    skce.costs : The cost objects behind ``loss``.

    Notes
    -----
    The objective is the weighted mean of the per-sample cost plus the
    penalty divided by the sum of the sample weights. With several outputs,
    scikit-learn's squared error is a mean over the outputs while its
    gradient is not divided by their number; skce keeps that, so that its
    numbers stay scikit-learn's. The other costs are consistent means.

    With no hidden layer the network is a linear model: 'squared_error' is
    :class:`~sklearn.linear_model.Ridge` with ``alpha_ridge = alpha``,
    'poisson' is :class:`~sklearn.linear_model.PoissonRegressor` with
    ``alpha_poisson = alpha / n_samples`` and 'quantile' is
    :class:`~sklearn.linear_model.QuantileRegressor` with
    ``alpha_quantile = alpha / n_samples`` and ``penalty='l1'`` (see the
    user guide).

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skce import MLPCostRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> reg = MLPCostRegressor("huber", hidden_layer_sizes=(), huber_threshold=30.0,
    ...                        solver="lbfgs", max_iter=1000).fit(X[:350], y[:350])
    >>> reg.predict(X[350:353]).round(1)
    array([249.3,  86.2,  52.5])
    >>> round(reg.score(X[350:], y[350:]), 2)
    0.55
    """

    _fitted_attributes = REGRESSOR_FITTED_ATTRIBUTES

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        penalty="l2",
        l1_ratio=0.15,
        dropout=0.0,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        early_stopping_metric="score",
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        quantile=0.5,
        huber_threshold=1.0,
        negative_slope=0.01,
        weight_init="glorot_uniform",
        n_jobs=None,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.dropout = dropout
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.early_stopping_metric = early_stopping_metric
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.quantile = quantile
        self.huber_threshold = huber_threshold
        self.negative_slope = negative_slope
        self.weight_init = weight_init
        self.n_jobs = n_jobs

    # -- fitting -------------------------------------------------------------

    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        coefs_init=None,
        intercepts_init=None,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the model to the data matrix X and the targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (numbers).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; the cost is their weighted mean.

        coefs_init : list of array-like, default=None
            Initial weight matrices, one per layer, shaped like ``coefs_``,
            as in :meth:`MLPCostClassifier.fit`.

        intercepts_init : list of array-like, default=None
            Initial bias vectors, one per layer, shaped like ``intercepts_``.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            A validation set, used instead of holding out
            ``validation_fraction`` of ``X`` for early stopping; its R² and
            cost are recorded every epoch.

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of the validation set; required with ``X_val``.

        sample_weight_val : array-like of shape (n_val,), default=None
            Sample weights of the validation set.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(
            X,
            y,
            sample_weight,
            incremental=False,
            init=(coefs_init, intercepts_init),
            validation=(X_val, y_val, sample_weight_val),
        )

    @available_if(MLPCostBase._partial_fit_available)
    def partial_fit(
        self, X, y, sample_weight=None, *, coefs_init=None, intercepts_init=None
    ):
        """Update the model with one epoch over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        coefs_init, intercepts_init : list of array-like, default=None
            Initial weights and biases for the first call, as in :meth:`fit`;
            refused afterwards.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if hasattr(self, "theta_") and (
            coefs_init is not None or intercepts_init is not None
        ):
            raise ValueError(
                "coefs_init and intercepts_init start a network: partial_fit "
                "takes them on its first call only."
            )
        return self._fit(X, y, sample_weight, True, None, (coefs_init, intercepts_init))

    def _training_data(self, X, y, sample_weight, spec, binarizer):
        """The checked training values of a fit in memory."""
        return InMemoryData(
            *training_rows(self, X, y, sample_weight, spec, regression=True)
        )

    def _target_attributes(self, values):
        """A regressor keeps nothing of its targets but their number."""
        return {}

    # -- prediction ----------------------------------------------------------

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values: 1-D for one output, as scikit-learn's.
        """
        if not hasattr(self, "theta_"):
            check_is_fitted(self)  # raises NotFittedError
        x = checked_input(self, X, self.theta_.dtype)
        network = self._network()
        theta = network.check_theta(self.theta_).astype(x.X.dtype, copy=False)
        return Values.inverse_transform(network.values(network.logits(theta, x)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # scikit-learn's estimator checks then give a Poisson fit targets
        # it takes, as they do PoissonRegressor.
        tags.target_tags.positive_only = self.loss == "poisson" or (
            getattr(self.loss, "output_activation", None) == "exp"
        )
        return tags
