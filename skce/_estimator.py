"""``MLPCostClassifier`` and what it shares with ``MLPCostRegressor``: the
public estimators only sequence a fit.

A fit is a sequence of steps, each owned by one module: the
hyper-parameters, resolved once (``_params``); the training rows
(``_data``, through ``_inputs``); the network (``_network``); the state,
new or continued (``_state``); the validation set (``_data``); the problem
(``_problem``, ``_shards``); the solve (``_solvers``). The estimator then
copies the returned state onto itself in one place (``_set_fitted``): it is
the only writer of its fitted attributes, and writes them only when a fit
succeeds. ``MLPCostBase`` holds all of that; the classifier and the
regressor (``_regressor``) add their parameters, their targets (labels or
values: ``_training_data``, ``_target_attributes``) and their predictions.
"""

import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._ahead import standby
from ._data import training_data, validation_set
from ._epoch import run_epoch
from ._inputs import checked_input, decode, partial_fit_binarizer
from ._network import (
    LayerViews,
    assign_layers,
    fitted_network,
    network_for,
    normalizes,
)
from ._params import resolve
from ._pieces import has_cached
from ._solvers import solve
from ._state import TrainingState, continued_state, new_state, upgrade_state

# validate_data sets these two when a fit starts; every other fitted
# attribute is set by _set_fitted when it ends.
_INPUT_ATTRIBUTES = ("n_features_in_", "feature_names_in_")

#: Every fitted attribute of both estimators, public and private.
#: ``feature_names_in_`` exists only for input with string column names;
#: ``coefs_`` and ``intercepts_`` are views into ``theta_``, not stored.
NETWORK_ATTRIBUTES = (
    *_INPUT_ATTRIBUTES,
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "_layer_units",
    "_activation",
    *TrainingState.PUBLIC.values(),
    TrainingState.PRIVATE,
)
#: Every fitted attribute of the classifier: the network's and its classes.
FITTED_ATTRIBUTES = (*NETWORK_ATTRIBUTES, "classes_", "_label_binarizer")

#: Where skce's documentation is published; an estimator's HTML display (in
#: a notebook) links to its page in the API reference there.
DOCS_URL = "https://skce.readthedocs.io/en/latest/"


class MLPCostBase(BaseEstimator):
    """What the classifier and the regressor share: the parameter vector and
    its views, the fit's sequence of steps, and the one writer of the
    fitted attributes. Not an estimator by itself."""

    # scikit-learn's HTML display links estimators of the package named by
    # _doc_link_module to the page the template gives: skce's API reference
    # (the public module, skce or skce.dask, and the class name).
    _doc_link_module = "skce"
    _doc_link_template = DOCS_URL + "generated/{estimator_module}.{estimator_name}.html"

    # -- the parameter vector and its views ---------------------------------

    @property
    def coefs_(self):
        """Weight matrices, views into ``theta_`` (assignable, also by item)."""
        return LayerViews(self._network().views(self.theta_)[0], "coefs_")

    @coefs_.setter
    def coefs_(self, values):
        check_is_fitted(self)
        assign_layers(self._network().views(self.theta_)[0], values, "coefs_")

    @property
    def intercepts_(self):
        """Bias vectors, views into ``theta_`` (assignable, also by item)."""
        return LayerViews(self._network().views(self.theta_)[1], "intercepts_")

    @intercepts_.setter
    def intercepts_(self, values):
        check_is_fitted(self)
        assign_layers(self._network().views(self.theta_)[1], values, "intercepts_")

    def _network(self):
        """The fitted network (the activation it was trained with)."""
        return fitted_network(
            tuple(self._layer_units.tolist()),
            self._activation,
            self.out_activation_,
            self._normalizes(),
        )

    def _normalizes(self):
        """Whether ``predict_proba`` scales the outputs to sum to one."""
        return False

    # -- fitting -------------------------------------------------------------

    def _partial_fit_available(self):
        if self.solver == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for the solvers 'gd', 'sgd' and "
                f"'adam', not for {self.solver!r}."
            )
        return True

    def _fit(
        self,
        X,
        y,
        sample_weight,
        incremental,
        binarizer=None,
        init=(None, None),
        validation=(None, None, None),
    ):
        """Fit, or leave every fitted attribute as it was if anything raises.

        Whatever stops a fit (bad input, divergence, KeyboardInterrupt), the
        fitted state of before the call stays: nothing is written before the
        fit succeeds, except the two attributes ``validate_data`` sets, which
        are put back.
        """
        saved = {
            name: vars(self)[name] for name in _INPUT_ATTRIBUTES if name in vars(self)
        }
        try:
            values = self._train(
                X, y, sample_weight, incremental, binarizer, init, validation
            )
        except BaseException:
            for name in _INPUT_ATTRIBUTES:
                self.__dict__.pop(name, None)
            self.__dict__.update(saved)
            raise
        self._set_fitted(*values)
        return self

    def _set_fitted(self, values, continued):
        """The one place where fitted attributes are written.

        A continued fit copies its parameters into the existing ``theta_``,
        so that arrays taken from ``coefs_`` before it stay live, as
        scikit-learn's do.
        """
        expected = set(self._fitted_attributes) - set(_INPUT_ATTRIBUTES)
        if set(values) != expected:  # pragma: no cover - a programming error
            raise AssertionError(f"fitted {sorted(values)} != {sorted(expected)}")
        theta, old = values["theta_"], vars(self).get("theta_")
        if (
            continued
            and isinstance(old, np.ndarray)
            and old.flags.writeable
            and old.shape == theta.shape
            and old.dtype == theta.dtype
        ):
            np.copyto(old, theta)
            values["theta_"] = old
        self.__dict__.update(values)

    def _train(self, X, y, sample_weight, incremental, binarizer, init, validation):
        """Everything a fit does but writing the result, step by step.

        ``init`` are the given ``(coefs_init, intercepts_init)``. Returns the
        fitted attributes, and whether the fit continued the previous one.
        """
        spec = resolve(self, incremental, any(v is not None for v in init))
        data = self._training_data(X, y, sample_weight, spec, binarizer)
        cost = spec.cost.for_target(data.binarizer.y_type_)
        network = network_for(data, cost, spec)
        if spec.continuing:
            state = continued_state(self, network, spec)
        else:
            state = new_state(network, spec, data.dtype, *init)
        validation = validation_set(self, data, spec, state, validation)
        problem = data.problem(cost, spec.penalty, spec.dropout_rates, spec.n_shards)
        state = solve(problem, network, spec, state, validation)
        fitted = state.fitted_attributes(network)
        fitted.update(self._target_attributes(data.binarizer))
        return fitted, spec.continuing

    def __setstate__(self, state):
        super().__setstate__(upgrade_state(state))
        # Parameters added since the model was saved take their defaults.
        for name, parameter in inspect.signature(
            type(self).__init__
        ).parameters.items():
            if name != "self" and name not in vars(self):
                setattr(self, name, parameter.default)


class MLPCostClassifier(ClassifierMixin, MLPCostBase):
    """Multi-layer perceptron classifier with a selectable cost and solver.

    A drop-in superset of :class:`sklearn.neural_network.MLPClassifier`: the
    same parameters with the same defaults and meaning, the same fitted
    attributes, and with ``cost="log_loss"`` the same numbers for the same
    ``random_state``. It adds the ``cost`` parameter (the log-likelihood of a
    softmax, or Nielsen's cross-entropy and quadratic costs on logistic
    outputs) and a full-batch gradient-descent solver ``"gd"``, and runs its
    forward pass, backpropagation and optimizer steps in compiled Numba
    kernels, a whole epoch per call.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer. An
        empty tuple gives a network without hidden layers: one layer of
        output neurons on the inputs.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', \
'elu', 'softplus', 'gelu'} or Activation, default='relu'
        Activation function of the hidden layers (see
        :mod:`skce.activations`), or an instance of your own subclass of
        :class:`skce.activations.Activation`. The first four are
        scikit-learn's; 'leaky_relu' has the slope ``negative_slope`` below
        zero; 'elu' is :math:`e^z - 1` below zero; 'softplus' is
        :math:`\\ln(1 + e^z)`; 'gelu' is GELU in its tanh form.

    cost : {'log_loss', 'cross_entropy', 'quadratic'} or Cost, default='log_loss'
        The cost to minimize, which also fixes the output activation (see
        :mod:`skce.costs` and the Notes), or an instance of your own subclass
        of :class:`skce.costs.Cost`:

        - 'log_loss': softmax outputs with the log-likelihood cost for a
          multiclass target, logistic outputs with the binary cross-entropy
          for binary and multilabel targets; scikit-learn's objective.
        - 'cross_entropy': logistic outputs, cross-entropy cost.
        - 'quadratic': logistic outputs, quadratic cost.
        - a :class:`~skce.costs.Cost` with Numba-jitted ``fn(a, y)`` and
          ``delta(z, a, y)``, as in :mod:`skce.costs`.

    solver : {'gd', 'sgd', 'adam', 'lbfgs'}, default='adam'
        The solver for weight optimization.

        - 'gd': full-batch gradient descent, one update per epoch, with the
          learning-rate schedules and (Nesterov) momentum of 'sgd'; with
          ``momentum=0`` it is plain gradient descent.
        - 'sgd': mini-batch stochastic gradient descent.
        - 'adam': the stochastic optimizer of Kingma and Ba, with bias
          correction.
        - 'lbfgs': the quasi-Newton L-BFGS-B method of scipy on the full
          batch.

    alpha : float, default=0.0001
        Strength of the penalty on the weights (biases are never penalized),
        divided by the sum of the sample weights when added to the loss.

    penalty : {'l2', 'l1', 'elasticnet'} or None, default='l2'
        The penalty on the weights, as in
        :class:`~sklearn.linear_model.SGDClassifier`: 'l2' adds
        :math:`\\frac{\\alpha}{2}\\sum_l \\|W_l\\|^2` (scikit-learn's MLP),
        'l1' :math:`\\alpha \\sum_l \\|W_l\\|_1`, 'elasticnet'
        ``l1_ratio`` of the L1 term and ``1 - l1_ratio`` of the L2 term, None
        nothing. 'gd', 'sgd' and 'adam' follow the L1 term's subgradient
        (``sign(w)``, 0 at 0, as Nielsen does); 'lbfgs' splits each weight
        into a positive and a negative part with bounds, which solves the
        non-smooth problem exactly and sets weights exactly to 0. See the
        user guide's "Regularization".

    l1_ratio : float, default=0.15
        The share of the L1 term in the 'elasticnet' penalty, in [0, 1]
        (0: 'l2', 1: 'l1'). Only used with ``penalty='elasticnet'``.

    dropout : float or sequence of float, default=0.0
        Dropout rate of the hidden units during training, in [0, 1): one
        rate for every hidden layer, or one per hidden layer. Each epoch
        every hidden unit of every training row is dropped with that
        probability and the kept ones are scaled by ``1 / (1 - rate)``
        (inverted dropout), so prediction, which never drops, needs no
        rescaling. The masks are drawn from a counter-based generator keyed
        by ``random_state``, the epoch, the row and the unit: a fit is
        deterministic for an int ``random_state`` and the same for every
        ``n_jobs``. Used by 'gd', 'sgd' and 'adam'; refused with 'lbfgs',
        whose line search needs a deterministic objective.

    batch_size : int or 'auto', default='auto'
        Size of the mini-batches of 'sgd' and 'adam'; 'auto' means
        ``min(200, n_samples)``. Not used by 'gd' and 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning-rate schedule of 'sgd' and 'gd'.

        - 'constant': ``learning_rate_init`` throughout.
        - 'invscaling': ``learning_rate_init / pow(t, power_t)`` after an
          epoch, with ``t`` the number of samples seen.
        - 'adaptive': kept constant while the training loss (or the
          validation score, with early stopping) improves; divided by 5
          each time it fails to improve by ``tol`` for ``n_iter_no_change``
          epochs, and training stops when it falls below 1e-6.

    learning_rate_init : float, default=0.001
        The initial learning rate. Used by 'gd', 'sgd' and 'adam'.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule. Used by 'gd' and 'sgd'.

    max_iter : int, default=200
        Maximum number of epochs for 'gd', 'sgd' and 'adam' (each sample is
        seen once an epoch), and of iterations for 'lbfgs'.

    shuffle : bool, default=True
        Whether to shuffle the samples each epoch. Used by 'sgd' and 'adam'.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization, the validation split of early
        stopping and the shuffling. Pass an int for reproducible results.

    tol : float, default=1e-4
        Tolerance of the optimization: training stops (or, with 'adaptive',
        the learning rate drops) when the loss or validation score does not
        improve by at least ``tol`` for ``n_iter_no_change`` consecutive
        epochs. For 'lbfgs', the projected-gradient tolerance.

    verbose : bool or int, default=False
        Whether to print the loss (and validation score) every epoch.

    warm_start : bool, default=False
        Whether to start from the solution of the previous call to fit. The
        optimizer's state (Adam's moments and step count, the momentum
        velocity, the learning rate), the stopping records and the shuffling
        of the rows carry over too; scikit-learn restarts the optimizer and
        the shuffling instead. With 'gd', 'sgd' and 'adam', two warm-started
        fits of 10 epochs on the same data therefore give the fit of 20 bit
        for bit, with or without ``shuffle`` and for an int or a
        ``RandomState`` ``random_state``, as long as neither fit stops before
        ``max_iter`` and ``early_stopping`` is off (it restores the best
        epoch's weights at the end of each fit). The shuffling continues
        from a fit made with ``warm_start=True``; after ``partial_fit`` or a
        fit without it, it starts anew from ``random_state``. Early stopping holds out
        the same rows in every warm-started fit. L-BFGS restarts its
        curvature memory.

    momentum : float, default=0.9
        Momentum of the updates, in [0, 1]. Used by 'gd' and 'sgd'.

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum. Used by 'gd' and 'sgd' when
        ``momentum > 0``.

    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the data (stratified
        by class) and stop when the validation accuracy fails to improve by
        ``tol`` for ``n_iter_no_change`` epochs; the weights of the best
        epoch are restored. Used by 'gd', 'sgd' and 'adam'.

    early_stopping_metric : {'score', 'loss'}, default='score'
        What early stopping watches on the validation set: the accuracy
        ('score', scikit-learn's behaviour) or the validation cost ('loss').
        The weights of the best epoch for that metric are restored.

    validation_fraction : float, default=0.1
        Proportion of training data held out for early stopping, in (0, 1).

    beta_1 : float, default=0.9
        Decay rate of the first-moment estimates of 'adam', in [0, 1).

    beta_2 : float, default=0.999
        Decay rate of the second-moment estimates of 'adam', in [0, 1).

    epsilon : float, default=1e-8
        Numerical-stability constant of 'adam'.

    n_iter_no_change : int, default=10
        Number of epochs without an improvement of ``tol`` before stopping.
        Used by 'gd', 'sgd' and 'adam'.

    max_fun : int, default=15000
        Maximum number of loss evaluations of 'lbfgs'.

    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, multiplied into the sample weights, as in
        :class:`~sklearn.linear_model.SGDClassifier`: a dict ``{class:
        weight}`` (missing classes weigh 1), or 'balanced' for
        ``n_samples / (n_classes * np.bincount(y))``. 'balanced' is refused
        by ``partial_fit`` and class weights by multilabel targets.

    negative_slope : float, default=0.01
        The slope of 'leaky_relu' below zero, at least 0 (0 is a ReLU). Used
        only with ``activation='leaky_relu'`` (a ``LeakyReLU`` object passed
        as ``activation`` has its own); the name is PyTorch's.

    weight_init : {'glorot_uniform', 'normal_fan_in', 'standard_normal'} or \
callable, default='glorot_uniform'
        How a new network's weights and biases are drawn from
        ``random_state``, layer by layer (weights, then biases).
        'glorot_uniform' is scikit-learn's: uniform within
        ``sqrt(f / (n_in + n_out))`` of 0, with ``f = 2`` for logistic
        hidden units and 6 otherwise, for weights and biases.
        'normal_fan_in' is Nielsen's default: weights N(0, 1/n_in), biases
        N(0, 1). 'standard_normal' is his "large" initialization, N(0, 1)
        for both. A callable
        ``(n_in, n_out, rng) -> (W, b)`` is called once per layer with the
        ``numpy.random.RandomState`` of the fit and must return arrays of
        shapes ``(n_in, n_out)`` and ``(n_out,)``. ``coefs_init`` and
        ``intercepts_init`` given to ``fit`` take precedence.

    n_jobs : int, default=None
        Number of row shards one fit is split into, each computed on its
        own core (scikit-learn's meaning: None is 1, -1 all the cores this
        process may use, -2 all but one). Every mini-batch (the full batch
        for 'gd' and 'lbfgs') is cut into ``n_jobs`` shards of consecutive
        rows whose gradients are added in a fixed order: the model depends
        on ``n_jobs`` but not on the machine, run or number of threads, and
        agrees with ``n_jobs=1`` to rounding. Batches too small to gain
        from splitting are not split, nor are mini-batches whose matrix
        products are large enough to be cut into ``n_jobs`` column blocks
        or more, which the threads share instead (faster, and the model of
        ``n_jobs=1``). The threads are fewer when the
        process may use fewer cores, or when ``OMP_NUM_THREADS`` or
        ``NUMBA_NUM_THREADS`` say so (as joblib and Dask set them in their
        workers); the result stays the same. See :doc:`/scaling`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    theta_ : ndarray of shape (n_parameters,)
        All weights and biases in one contiguous vector, float32 or float64
        like the training data: per layer the weights (row-major), then the
        biases. ``coefs_`` and ``intercepts_`` are views into it.

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
        Validation accuracy of each epoch (or L-BFGS iteration) when there is
        a validation set (early stopping, or ``X_val`` given to fit), else
        None.

    validation_loss_curve_ : list of float or None
        Validation cost (weighted mean, without the penalty) of each epoch or
        iteration when there is a validation set, else None.

    best_validation_score_ : float or None
        Best validation accuracy when there is a validation set, else None.

    best_validation_loss_ : float or None
        Lowest validation cost when there is a validation set, else None.

    t_ : int
        Number of training samples seen by the stochastic solvers.

    n_iter_ : int
        Number of epochs (or L-BFGS iterations) run by the last fit.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : {'softmax', 'logistic'}
        Activation of the output layer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The estimator this one extends.
    skce.costs : The cost objects behind ``cost``.

    Notes
    -----
    The objective is the weighted mean of the per-sample cost plus the
    penalty divided by the sum of the sample weights, with the default
    penalty :math:`\\frac{\\alpha}{2}\\sum_l \\|W_l\\|^2` as in
    scikit-learn. :mod:`skce.costs` tabulates the costs, their output units
    and their output errors :math:`\\delta = \\partial C / \\partial z`: with
    logistic outputs, the quadratic cost's error carries the factor
    :math:`\\sigma'(z)` that slows a saturated neuron, and the
    cross-entropy's does not.

    All costs are computed from the logits :math:`z`, so they stay finite
    however saturated the outputs. ``predict_proba`` gives the softmax
    outputs, ``[1 - a, a]`` for a binary target, the logistic outputs scaled
    to sum to one for a multiclass target under a logistic-output cost, and
    the per-label logistic outputs for a multilabel target.

    References
    ----------
    Nielsen, Michael A. "Neural Networks and Deep Learning", chapter 3,
    Determination Press, 2015.

    Kingma, Diederik, and Jimmy Ba. "Adam: A method for stochastic
    optimization." arXiv:1412.6980, 2014.

    Liu, Dong C., and Jorge Nocedal. "On the limited memory BFGS method for
    large scale optimization." Mathematical Programming 45 (1989): 503-528.

    Glorot, Xavier, and Yoshua Bengio. "Understanding the difficulty of
    training deep feedforward neural networks." AISTATS, 2010.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skce import MLPCostClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> clf = MLPCostClassifier(cost="cross_entropy", learning_rate_init=0.01,
    ...                         random_state=0).fit(X[:1500], y[:1500])
    >>> clf.predict(X[1500:1505])
    array([1, 7, 4, 6, 3])
    >>> clf.score(X[1500:], y[1500:])
    0.91...
    """

    _fitted_attributes = FITTED_ATTRIBUTES

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        cost="log_loss",
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
        class_weight=None,
        negative_slope=0.01,
        weight_init="glorot_uniform",
        n_jobs=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.cost = cost
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
        self.class_weight = class_weight
        self.negative_slope = negative_slope
        self.weight_init = weight_init
        self.n_jobs = n_jobs

    def _normalizes(self):
        return normalizes(self.out_activation_, self._label_binarizer.y_type_)

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
            Class labels, or a label indicator matrix (multilabel).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; the cost is their weighted mean.

        coefs_init : list of array-like, default=None
            Initial weight matrices, one per layer, shaped like ``coefs_``:
            ``(n_units[i], n_units[i + 1])``. Given initial weights start a
            new network even with ``warm_start=True``; the random state is
            drawn from as without them, so the mini-batches are the same.

        intercepts_init : list of array-like, default=None
            Initial bias vectors, one per layer, shaped like ``intercepts_``.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            A validation set, used instead of holding out
            ``validation_fraction`` of ``X`` for early stopping. With or
            without early stopping, the validation accuracy and cost of each
            epoch are recorded in ``validation_scores_`` and
            ``validation_loss_curve_``.

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of the validation set; required with ``X_val``.

        sample_weight_val : array-like of shape (n_val,), default=None
            Sample weights of the validation set.

        Returns
        -------
        self : object
            The fitted estimator.

        Examples
        --------
        A single sigmoid neuron (no hidden layer) trained by plain gradient
        descent from given weights, as in Nielsen's chapter 3:

        >>> import numpy as np
        >>> from skce import MLPCostClassifier
        >>> X, y = np.array([[0.0], [1.0]]), np.array([0, 1])
        >>> neuron = MLPCostClassifier(hidden_layer_sizes=(), cost="cross_entropy",
        ...                            solver="gd", momentum=0.0, alpha=0.0,
        ...                            learning_rate_init=0.5, max_iter=500)
        >>> neuron = neuron.fit(X, y, coefs_init=[[[2.0]]], intercepts_init=[[2.0]])
        >>> print(round(neuron.loss_curve_[0], 4))  # the cost of the given weights
        1.0725
        >>> neuron.predict(X)
        array([0, 1])
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
        self,
        X,
        y,
        classes=None,
        sample_weight=None,
        *,
        coefs_init=None,
        intercepts_init=None,
    ):
        """Update the model with one epoch over the given data.

        The optimizer's state carries over from call to call, as in
        scikit-learn; so does its choice of shuffling: each call shuffles
        the given rows with a random state made anew from ``random_state``
        (an int gives every call the same order).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.

        classes : array-like of shape (n_classes,), default=None
            All classes across the calls to partial_fit, e.g.
            ``np.unique(y_all)``. Required on the first call (except for a
            multilabel indicator target), ignored afterwards; ``y`` need not
            contain every class.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        coefs_init, intercepts_init : list of array-like, default=None
            Initial weights and biases for the call that starts the network
            (the first call), as in :meth:`fit`; refused afterwards.

        Returns
        -------
        self : object
            The updated estimator.
        """
        binarizer = partial_fit_binarizer(
            self, y, classes, coefs_init is not None or intercepts_init is not None
        )
        return self._fit(
            X, y, sample_weight, True, binarizer, (coefs_init, intercepts_init)
        )

    def _training_data(self, X, y, sample_weight, spec, binarizer):
        """The training rows of a fit: the one step a subclass that keeps
        its rows elsewhere (``skce.dask``) replaces."""
        return training_data(self, X, y, sample_weight, spec, binarizer)

    def _target_attributes(self, binarizer):
        """The fitted attributes of the targets: the classes."""
        return {"classes_": binarizer.classes_, "_label_binarizer": binarizer}

    # -- prediction ----------------------------------------------------------

    def predict(self, X):
        """Predict the classes of X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted classes (an indicator matrix for multilabel).
        """
        proba = self.predict_proba(X)
        return decode(self._label_binarizer, proba)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``; rows sum
            to one except for multilabel targets, where each column is the
            probability of its label.
        """
        if not hasattr(self, "theta_"):
            check_is_fitted(self)  # raises NotFittedError
        x = checked_input(self, X, self.theta_.dtype)
        network = self._network()
        theta = network.check_theta(self.theta_).astype(x.X.dtype, copy=False)
        return network.probabilities(network.logits(theta, x))

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, exactly: a probability that underflows
            to zero gives ``-inf``, as scikit-learn's estimator checks require.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


# A fit in a fresh environment compiles its kernels in two processes
# (``_ahead``): with nothing cached yet, the second starts now, while the
# caller imports and loads its data.
if not has_cached(run_epoch):
    standby()
