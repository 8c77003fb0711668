"""``MLPCostClassifier``: the public estimator; orchestration only.

``fit`` and ``partial_fit`` check the input, build the network, the training
problem and the solver's config and state, call a solver (``_solvers``) and
copy the state it returns onto the estimator in one place
(``_set_fitted``). The estimator is the only writer of its fitted
attributes, and it writes them only when a fit succeeds.
"""

import functools
import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._boundary import all_finite, check_sample_weight, kernel_input, kernel_targets
from ._data import InMemoryData, check_weighted_classes, with_class_weight
from ._network import Network, fitted_network
from ._params import check_params, penalty_strengths, resolve_cost
from ._progress import Progress
from ._solvers import solver_function
from ._state import SolverConfig, TrainingState, random_stream, restored_stream
from ._targets import decode, encode, fit_binarizer, present_classes
from ._threads import n_shards
from ._validation import ValidationSet, warn_if_unlike

# Plain float arrays up to this many values are checked inline at predict
# time (see _checked_input); larger ones go through validate_data.
_FAST_PATH_SIZE = 10_000

# validate_data sets these two when a fit starts; every other fitted
# attribute is set by _set_fitted when it ends.
_INPUT_ATTRIBUTES = ("n_features_in_", "feature_names_in_")

#: Every fitted attribute, public and private. ``feature_names_in_`` exists
#: only for input with string column names; ``coefs_`` and ``intercepts_``
#: are views into ``theta_``, not stored.
FITTED_ATTRIBUTES = (
    *_INPUT_ATTRIBUTES,
    "classes_",
    "_label_binarizer",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "_layer_units",
    "_activation",
    *TrainingState.PUBLIC.values(),
    TrainingState.PRIVATE,
)

#: Where skce's documentation is published; an estimator's HTML display (in
#: a notebook) links to its page in the API reference there.
DOCS_URL = "https://skce.readthedocs.io/en/latest/"


class MLPCostClassifier(ClassifierMixin, BaseEstimator):
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

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation function of the hidden layers.

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
        for 'gd' and 'lbfgs') is cut into ``n_jobs`` blocks of consecutive
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
    scikit-learn. The costs and their output errors
    :math:`\\delta = \\partial C / \\partial z`:

    =================== ======== ================================ ================
    ``cost=``           output   cost of one sample               output error δ
    =================== ======== ================================ ================
    ``"log_loss"``      softmax  −Σ y ln a                        a − y
    ``"cross_entropy"`` logistic −Σ [y ln a + (1 − y) ln(1 − a)]  a − y
    ``"quadratic"``     logistic ½ Σ (a − y)²                     (a − y) σ′(z)
    =================== ======== ================================ ================

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

    # scikit-learn's HTML display links estimators of the package named by
    # _doc_link_module to the page the template gives: skce's API reference
    # (the public module, skce or skce.dask, and the class name).
    _doc_link_module = "skce"
    _doc_link_template = DOCS_URL + "generated/{estimator_module}.{estimator_name}.html"

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
        self.weight_init = weight_init
        self.n_jobs = n_jobs

    # -- the parameter vector and its views ---------------------------------

    @property
    def coefs_(self):
        """Weight matrices, views into ``theta_`` (assignable, also by item)."""
        return LayerViews(self._network().views(self.theta_)[0], "coefs_")

    @coefs_.setter
    def coefs_(self, values):
        check_is_fitted(self)
        _assign_layers(self._network().views(self.theta_)[0], values, "coefs_")

    @property
    def intercepts_(self):
        """Bias vectors, views into ``theta_`` (assignable, also by item)."""
        return LayerViews(self._network().views(self.theta_)[1], "intercepts_")

    @intercepts_.setter
    def intercepts_(self, values):
        check_is_fitted(self)
        _assign_layers(self._network().views(self.theta_)[1], values, "intercepts_")

    def _network(self):
        """The fitted network (the activation it was trained with)."""
        normalize = (
            self.out_activation_ == "logistic"
            and self._label_binarizer.y_type_ == "multiclass"
        )
        return fitted_network(
            tuple(self._layer_units.tolist()),
            self._activation,
            self.out_activation_,
            normalize,
        )

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
            coefs_init=coefs_init,
            intercepts_init=intercepts_init,
            validation=(X_val, y_val, sample_weight_val),
        )

    def _partial_fit_available(self):
        if self.solver == "lbfgs":
            raise AttributeError(
                "partial_fit is only available for the solvers 'gd', 'sgd' and "
                f"'adam', not for {self.solver!r}."
            )
        return True

    @available_if(_partial_fit_available)
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
        binarizer = None
        if hasattr(self, "theta_") and (
            coefs_init is not None or intercepts_init is not None
        ):
            raise ValueError(
                "coefs_init and intercepts_init start a network: partial_fit takes "
                "them on its first call only."
            )
        if not hasattr(self, "classes_"):
            multilabel = type_of_target(y).startswith("multilabel")
            if classes is None and not multilabel:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit."
                )
            binarizer, _ = fit_binarizer(y if multilabel else np.asarray(classes))
            _check_two_classes(binarizer.classes_, self)
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on the first call to "
                f"partial_fit, which was {self.classes_!r}."
            )
        return self._fit(
            X,
            y,
            sample_weight,
            incremental=True,
            binarizer=binarizer,
            coefs_init=coefs_init,
            intercepts_init=intercepts_init,
        )

    def _fit(
        self,
        X,
        y,
        sample_weight,
        incremental,
        binarizer=None,
        coefs_init=None,
        intercepts_init=None,
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
                X,
                y,
                sample_weight,
                incremental,
                binarizer,
                coefs_init,
                intercepts_init,
                validation,
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
        expected = set(FITTED_ATTRIBUTES) - set(_INPUT_ATTRIBUTES)
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

    def _train(
        self,
        X,
        y,
        sample_weight,
        incremental,
        binarizer,
        coefs_init,
        intercepts_init,
        validation,
    ):
        """Everything a fit does but writing the result.

        Returns the fitted attributes, and whether the fit continued the
        previous one.
        """
        params = {name: getattr(self, name) for name in _parameter_names(type(self))}
        hidden_layer_sizes, dropout_rates = check_params(params, type(self).__name__)
        config = SolverConfig.from_params(params)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        given_weights = coefs_init is not None or intercepts_init is not None
        continuing = (
            hasattr(self, "theta_")
            and (self.warm_start or incremental)
            and not given_weights
        )
        data = self._training_data(
            X, y, sample_weight, binarizer, continuing, incremental
        )
        binarizer, dtype = data.binarizer, data.dtype

        cost = resolve_cost(self.cost).for_target(binarizer.y_type_)
        layer_units = [data.n_features, *hidden_layer_sizes, data.n_outputs]
        normalize = (
            cost.output_activation == "logistic" and binarizer.y_type_ == "multiclass"
        )
        network = Network(
            layer_units, self.activation, cost.output_activation, normalize
        )
        if continuing:
            state = self._continued_state(network, incremental)
        else:
            random_state = random_stream(self.random_state)
            theta = network.initial_theta(self.weight_init, dtype, random_state)
            coefs, intercepts = network.views(theta)
            if coefs_init is not None:
                _assign_layers(coefs, coefs_init, "coefs_init")
            if intercepts_init is not None:
                _assign_layers(intercepts, intercepts_init, "intercepts_init")
            state = TrainingState(
                theta=theta,
                best_theta=theta.copy(),
                random_state=random_state,
            )

        validation_set = self._validation_set(
            binarizer, network.n_outputs, dtype, data.X, *validation
        )
        if self.early_stopping and validation_set is None and self.solver != "lbfgs":
            if state.split_state is None:
                # The first split draws from the fit's stream, as
                # scikit-learn's does; its starting point is kept, so that
                # every warm-started fit holds out the same rows.
                state.split_state = state.random_state.get_state()
                split_random = state.random_state
            else:
                split_random = restored_stream(state.split_state)
            validation_set = data.hold_out(self.validation_fraction, split_random)
        problem = data.problem(
            cost,
            penalty_strengths(self.penalty, self.alpha, self.l1_ratio),
            dropout_rates,
            n_shards(self.n_jobs),
        )
        solve = solver_function(self.solver)
        progress = Progress(
            self.verbose,
            1 if incremental else self.max_iter,
            unit="iteration" if self.solver == "lbfgs" else "epoch",
        )
        try:
            state = solve(
                problem, network, config, state, progress, validation_set, incremental
            )
        finally:
            progress.close()
            problem.close()
        if incremental or not self.warm_start:
            # Only a warm start continues the stream (see _continued_state),
            # and saving it costs a tenth of a millisecond.
            state.random_state = state.row_order = None
        if not np.isfinite(state.theta).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed, or the "
                "learning rate (learning_rate_init) may be too large. The "
                "estimator is left as it was before this fit."
            )
        values = {
            "classes_": binarizer.classes_,
            "_label_binarizer": binarizer,
            "n_layers_": len(layer_units),
            "n_outputs_": network.n_outputs,
            "out_activation_": network.output,
            "_layer_units": network.layer_units,
            "_activation": network.activation,
            **state.fitted_attributes(),
        }
        return values, continuing

    def _training_data(self, X, y, sample_weight, binarizer, continuing, incremental):
        """The checked, encoded and weighted training rows (``_data``)."""
        for name, value in (("X", X), ("y", y), ("sample_weight", sample_weight)):
            if hasattr(value, "__dask_graph__"):
                raise TypeError(
                    f"{type(self).__name__} trains in memory, and {name} is a "
                    f"dask collection ({type(value).__name__}): it would be "
                    "pulled into this process whole. Use "
                    "skce.dask.DaskMLPCostClassifier to train on the cluster "
                    "where the data live, or call .compute() to train here."
                )
        X, y = self._checked_training_data(X, y, reset=not continuing)
        binarizer, index = self._binarizer_for(y, binarizer, continuing, incremental)
        dtype = self.theta_.dtype if continuing else X.dtype
        X = X.astype(dtype, copy=False)
        Y = encode(binarizer, y, dtype, index)
        sample_weight = with_class_weight(
            self.class_weight,
            check_sample_weight(sample_weight, X.shape[0], dtype),
            Y,
            binarizer,
            incremental,
        )
        if not incremental:
            check_weighted_classes(Y, sample_weight, binarizer)
        return InMemoryData(binarizer, X, Y, sample_weight)

    def _checked_training_data(self, X, y, reset):
        """``validate_data`` for fit and partial_fit, with a lean path.

        A C- or F-ordered float array and a 1-D array of labels get the
        checks ``validate_data`` would make, without its quarter of a
        millisecond of overhead: it is most of a ``partial_fit`` on a few
        rows. Anything else goes through ``validate_data``.
        """
        if (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float32, np.float64)
            and X.shape[0] >= 1
            and X.shape[1] >= 1
            and type(y) is np.ndarray
            and y.shape == (X.shape[0],)
            and y.dtype.kind in "iubU"
            and (
                reset
                or (
                    X.shape[1] == self.n_features_in_
                    and "feature_names_in_" not in vars(self)
                )
            )
            and all_finite(X)
        ):
            if reset:
                self.n_features_in_ = X.shape[1]
                self.__dict__.pop("feature_names_in_", None)
            return X, y
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _binarizer_for(self, y, binarizer, continuing, incremental):
        """The label binarizer of this fit, checking ``y`` against it, and the
        index of each label in its classes when that came for free."""
        if binarizer is not None:  # first partial_fit: classes given there
            return binarizer, None
        if not continuing:
            binarizer, index = fit_binarizer(y)
            _check_two_classes(binarizer.classes_, self)
            return binarizer, index
        classes = present_classes(y)
        if not incremental:
            if set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same "
                    f"classes as in the previous call to fit. Previously got "
                    f"{self.classes_}, `y` has {classes}"
                )
        elif not set(classes.tolist()) <= set(self.classes_.tolist()):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {classes}."
            )
        return self._label_binarizer, None

    def _continued_state(self, network, incremental):
        """The state of the previous fit, to continue from (copies)."""
        self._check_theta(self._network())
        if not np.array_equal(network.layer_units, self._layer_units):
            raise ValueError(
                "warm_start and partial_fit need the network of the previous fit, "
                f"with layer sizes {self._layer_units.tolist()}, but the data and "
                f"hidden_layer_sizes give {network.layer_units.tolist()}. Set "
                "warm_start=False to start a new network."
            )
        if network.activation != self._activation:
            raise ValueError(
                f"activation={network.activation!r} differs from the activation "
                f"{self._activation!r} of the fitted network. Set warm_start=False "
                "to start a new network."
            )
        if network.output != self.out_activation_:
            raise ValueError(
                f"cost={self.cost!r} needs {network.output} outputs but the "
                f"fitted network has {self.out_activation_} outputs. Set "
                "warm_start=False to start a new network."
            )
        state = TrainingState.from_fitted(vars(self))
        if incremental or state.random_state is None:
            # partial_fit draws its shuffling from random_state anew on each
            # call, as scikit-learn does (an int gives the same order each
            # call); so does a warm start after partial_fit or a fit without
            # warm_start, or of a model saved by skce 0.1.0.
            state.random_state = random_stream(self.random_state)
            state.row_order = None
        else:
            state.random_state = restored_stream(state.random_state)
        return state

    def _validation_set(
        self, binarizer, n_outputs, dtype, X, X_val, y_val, sample_weight_val
    ):
        """The user's validation set as a ``ValidationSet``, or None.

        Warns when ``X_val``'s columns sit far from ``X``'s: a ``Pipeline``
        passes ``X_val`` to its last step untransformed unless told
        otherwise, and the validation scores (and early stopping) would then
        be computed on unscaled data, silently.
        """
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val is given without X_val and y_val.")
            return None
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together.")
        X_val, y_val = validate_data(
            self,
            X_val,
            y_val,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=dtype,
            reset=False,
        )
        if X is not None:  # None: the training rows are not in this process
            warn_if_unlike(X, X_val)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val)
        unseen = np.setdiff1d(present_classes(y_val), binarizer.classes_)
        if binarizer.y_type_ != "multilabel-indicator" and len(unseen):
            raise ValueError(f"y_val has classes not seen in y: {unseen.tolist()}.")
        Y_val = encode(binarizer, y_val, dtype)
        if Y_val.shape[1] != n_outputs:
            raise ValueError(f"y_val has {Y_val.shape[1]} outputs, y has {n_outputs}.")
        weights = check_sample_weight(sample_weight_val, X_val.shape[0], dtype)
        weights = with_class_weight(
            self.class_weight, weights, Y_val, binarizer, incremental=False
        )
        return ValidationSet(
            kernel_input(X_val),
            kernel_targets(Y_val, weights),
            decode(binarizer, Y_val),
            lambda proba: decode(binarizer, proba),
        )

    def _check_theta(self, network):
        """``theta_``, checked so that the kernels cannot read out of bounds.

        A read-only ``theta_`` (say, loaded from a memory map) comes back as a
        writeable copy: the kernels are compiled for writeable arrays only.
        """
        theta = self.theta_
        expected = network.n_parameters
        if (
            not isinstance(theta, np.ndarray)
            or theta.shape != (expected,)
            or theta.dtype not in (np.float32, np.float64)
            or not theta.flags.c_contiguous
        ):
            raise ValueError(
                f"theta_ must be a contiguous float32 or float64 vector of "
                f"{expected} parameters for layer sizes "
                f"{self._layer_units.tolist()}; it was replaced by an array of "
                f"shape {np.shape(theta)} and dtype {getattr(theta, 'dtype', None)}."
            )
        return theta if theta.flags.writeable else theta.copy()

    # -- prediction ----------------------------------------------------------

    def _checked_input(self, X):
        """``X`` in kernel form, in the precision of the prediction.

        scikit-learn's rule: the output is float32 only when both the model
        and ``X`` are; any other input (float64, integers, lists) is
        predicted in float64, with the weights upcast.
        """
        if not hasattr(self, "theta_"):
            check_is_fitted(self)  # raises NotFittedError
        single = self.theta_.dtype == np.float32
        if (
            type(X) is np.ndarray
            and X.size <= _FAST_PATH_SIZE
            and X.ndim == 2
            and X.shape[0] >= 1
            and X.shape[1] == self.n_features_in_
            and X.dtype == self.theta_.dtype
            and not hasattr(self, "feature_names_in_")
            and all_finite(X)
        ):
            # The checks validate_data would make, without its ~80 us of
            # overhead, which dominates the prediction of a few rows.
            return kernel_input(X)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=("numeric" if single else np.float64),
            reset=False,
        )
        if X.dtype != np.float64 and not (single and X.dtype == np.float32):
            X = X.astype(np.float64)
        return kernel_input(X)

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
        x = self._checked_input(X)
        network = self._network()
        theta = self._check_theta(network).astype(x.X.dtype, copy=False)
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

    def __setstate__(self, state):
        super().__setstate__(_upgrade_state(state))
        # Parameters added since the model was saved take their defaults.
        for name, parameter in inspect.signature(
            type(self).__init__
        ).parameters.items():
            if name != "self" and name not in vars(self):
                setattr(self, name, parameter.default)


class LayerViews(list):
    """``coefs_`` or ``intercepts_``: a list of views into ``theta_``.

    Assigning an item (``clf.coefs_[0] = W``) copies ``W`` into the view,
    and so into ``theta_``, as scikit-learn's list of arrays takes it; a
    plain list would change only itself, silently.
    """

    def __init__(self, views, name):
        super().__init__(views)
        self.name = name

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            targets = list.__getitem__(self, index)
            _assign_layers(targets, value, f"{self.name}[{index.start}:{index.stop}]")
            return
        target = list.__getitem__(self, index)
        target[...] = _checked_layer(value, target, f"{self.name}[{index}]")

    def __reduce__(self):  # pickles (and copies) as the plain list it shows
        return list, (list(self),)


def _checked_layer(value, target, name):
    """``value`` as an array for the view ``target``, or a clear error."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}.")
    if array.shape != target.shape:
        raise ValueError(
            f"{name} must have shape {target.shape}, got an array of shape "
            f"{array.shape}."
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must contain only finite values.")
    return array


def _assign_layers(targets, values, name):
    """Copy ``values`` into the views ``targets`` after checking them all."""
    values = list(values)
    shapes = [target.shape for target in targets]
    if [np.shape(value) for value in values] != shapes:
        raise ValueError(
            f"{name} must be a list of arrays of shapes {shapes}, got "
            f"{[np.shape(value) for value in values]}."
        )
    arrays = [
        _checked_layer(value, target, f"{name}[{i}]")
        for i, (value, target) in enumerate(zip(values, targets, strict=True))
    ]
    for target, array in zip(targets, arrays, strict=True):
        target[...] = array


def _check_two_classes(classes, estimator):
    if len(classes) < 2:
        # The label as the user wrote it ('cat', 3), not NumPy's repr of its
        # scalar (np.str_('cat')).
        label = getattr(classes[0], "item", lambda: classes[0])()
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in "
            f"the data, but the data contain only one class: {label!r}."
        )


def _upgrade_state(state):
    """The fitted state of a model pickled by skce 0.1.0, in today's form.

    Version 0.1.0 kept the optimizer in ``_optimizer``, the stopping records
    in ``_no_improvement_count`` and ``_best_theta``, and set no
    ``best_loss_`` or validation records after L-BFGS.
    """
    if "theta_" not in state or TrainingState.PRIVATE in state:
        return state
    state = dict(state)
    optimizer = state.pop("_optimizer", None) or {}
    private = {
        "solver": optimizer.get("solver"),
        "velocity": optimizer.get("velocity", np.empty(0)),
        "m": optimizer.get("m", np.empty(0)),
        "v": optimizer.get("v", np.empty(0)),
        "step": optimizer.get("step", 0),
        "learning_rate": optimizer.get("learning_rate", 0.0),
        "learning_rate_init": optimizer.get("learning_rate_init", 0.0),
        "no_improvement_count": state.pop("_no_improvement_count", None),
        "best_theta": state.pop("_best_theta", None),
        "random_state": None,
        "split_state": None,
        "row_order": None,
    }
    state[TrainingState.PRIVATE] = private
    for name in TrainingState.PUBLIC.values():
        state.setdefault(name, None)
    return state


@functools.cache
def _parameter_names(cls):
    """``cls._get_param_names()``, which inspects the signature every call."""
    return tuple(cls._get_param_names())
