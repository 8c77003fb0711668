"""``MLPCostClassifier``: the public estimator; orchestration only.

The numerical work lives in ``_kernels`` and ``_updates`` (compiled) and in
``_solvers`` (the loops around them); this module validates input, keeps the
fitted state and follows scikit-learn's estimator contract.
"""

import copy
import inspect

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._codes import ACTIVATION_CODES, COST_CROSS_ENTROPY, COST_LOG_LIKELIHOOD
from ._kernels import predict_logits, probabilities
from ._layout import glorot_init, layer_views, n_parameters
from ._params import resolve_cost, validate_params
from ._solvers import Problem, fit_lbfgs, fit_stochastic
from ._validation import check_sample_weight, kernel_input

# Rows per chunk in prediction: large enough for efficient matrix products,
# small enough that the hidden activations stay in cache.
_PREDICT_CHUNK = 1024

# Plain float arrays up to this many values are checked inline at predict
# time (see _checked_input); larger ones go through validate_data.
_FAST_PATH_SIZE = 10_000

# predict_proba keeps sigmoid outputs strictly inside (0, 1): the smallest
# positive normal float and the largest float below one, per dtype.
_PROBABILITY_BOUNDS = {
    np.dtype(dtype): (
        float(np.finfo(dtype).tiny),
        float(np.nextafter(dtype(1), dtype(0))),
    )
    for dtype in (np.float32, np.float64)
}


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
        Strength of the L2 regularization term, divided by the sum of the
        sample weights when added to the loss.

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
        velocity, the learning rate) carries over too, so two warm-started
        fits of 10 epochs equal one of 20; scikit-learn restarts the
        optimizer instead. L-BFGS restarts its curvature memory.

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
        The loss (mean cost plus L2 term) after the last epoch or iteration.

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
        Validation cost (weighted mean, without the L2 term) of each epoch or
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
    The objective is the weighted mean of the per-sample cost plus
    :math:`\\frac{\\alpha}{2}\\sum_l \\|W_l\\|^2` divided by the sum of the
    sample weights, as in scikit-learn. The costs and their output errors
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

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        cost="log_loss",
        solver="adam",
        alpha=0.0001,
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
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.cost = cost
        self.solver = solver
        self.alpha = alpha
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

    # -- the parameter vector and its views ---------------------------------

    @property
    def coefs_(self):
        """Weight matrices, views into ``theta_`` (assignable)."""
        return layer_views(self.theta_, self._layer_units)[0]

    @coefs_.setter
    def coefs_(self, values):
        self._assign_layers(values, 0, "coefs_")

    @property
    def intercepts_(self):
        """Bias vectors, views into ``theta_`` (assignable)."""
        return layer_views(self.theta_, self._layer_units)[1]

    @intercepts_.setter
    def intercepts_(self, values):
        self._assign_layers(values, 1, "intercepts_")

    def _assign_layers(self, values, which, name):
        check_is_fitted(self)
        targets = layer_views(self.theta_, self._layer_units)[which]
        values = list(values)
        shapes = [target.shape for target in targets]
        if [np.shape(value) for value in values] != shapes:
            raise ValueError(
                f"{name} must be a list of arrays of shapes {shapes}, got "
                f"{[np.shape(value) for value in values]}."
            )
        arrays = [np.asarray(value, dtype=self.theta_.dtype) for value in values]
        if not all(np.isfinite(array).all() for array in arrays):
            raise ValueError(f"{name} must contain only finite values.")
        for target, array in zip(targets, arrays, strict=True):
            target[...] = array

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
        >>> round(neuron.loss_curve_[0], 4)  # the cost of the given weights
        1.0725
        >>> neuron.predict(X)
        array([0, 1])
        """
        validation = (X_val, y_val, sample_weight_val)
        return self._fit_atomically(
            X, y, sample_weight, incremental=False, coefs_init=coefs_init,
            intercepts_init=intercepts_init, validation=validation,
        )  # fmt: skip

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
            binarizer = LabelBinarizer().fit(y if multilabel else classes)
            self._check_two_classes(binarizer.classes_)
        elif classes is not None and not np.array_equal(
            np.unique(classes), self.classes_
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on the first call to "
                f"partial_fit, which was {self.classes_!r}."
            )
        return self._fit_atomically(
            X,
            y,
            sample_weight,
            incremental=True,
            binarizer=binarizer,
            coefs_init=coefs_init,
            intercepts_init=intercepts_init,
        )

    def _fit_atomically(self, *args, **kwargs):
        """``_fit``, undone if it raises: a failed fit changes nothing.

        Whatever stops a fit (bad input, divergence, KeyboardInterrupt), the
        fitted state of before the call comes back, bit for bit: a failed
        warm-started fit or ``partial_fit`` loses nothing already learned.
        """
        saved = {
            name: copy.deepcopy(value)
            for name, value in vars(self).items()
            if name not in _PARAMETER_NAMES
        }
        try:
            return self._fit(*args, **kwargs)
        except BaseException:
            for name in [name for name in vars(self) if name not in _PARAMETER_NAMES]:
                del self.__dict__[name]
            self.__dict__.update(saved)
            raise

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
        hidden_layer_sizes = validate_params(self)
        given_weights = coefs_init is not None or intercepts_init is not None
        first_pass = (
            not hasattr(self, "theta_")
            or (not self.warm_start and not incremental)
            or given_weights
        )
        X, Y = self._validate_input(X, y, incremental, first_pass, binarizer)
        if not first_pass:
            X = X.astype(self.theta_.dtype, copy=False)
            Y = Y.astype(self.theta_.dtype, copy=False)
        sample_weight = self._with_class_weight(
            check_sample_weight(sample_weight, X.shape[0], X.dtype), Y, incremental
        )
        if not incremental:
            self._check_weighted_classes(Y, sample_weight)

        cost = resolve_cost(self.cost).for_target(self._label_binarizer.y_type_)
        layer_units = np.array(
            [X.shape[1], *hidden_layer_sizes, Y.shape[1]], dtype=np.int64
        )
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, cost, X.dtype, random_state)
            if coefs_init is not None:
                self._assign_layers(coefs_init, 0, "coefs_init")
            if intercepts_init is not None:
                self._assign_layers(intercepts_init, 1, "intercepts_init")
        else:
            self._check_continuable(layer_units, cost)

        problem = Problem(
            X,
            Y,
            sample_weight,
            layer_units,
            ACTIVATION_CODES[self.activation],
            cost,
            self.alpha,
        )
        validation = self._validation_problem(problem, *validation)
        if self.solver == "lbfgs":
            fit_lbfgs(self, problem, validation)
        else:
            fit_stochastic(self, problem, random_state, incremental, validation)

        if not np.isfinite(self.theta_).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may "
                "contain large values and need to be preprocessed, or the "
                "learning rate (learning_rate_init) may be too large. The "
                "estimator is left as it was before this fit."
            )
        return self

    def _validate_input(self, X, y, incremental, reset, binarizer):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        check_classification_targets(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if binarizer is not None:  # first partial_fit: classes given there
            self._label_binarizer = binarizer
            self.classes_ = binarizer.classes_
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self._check_two_classes(self._label_binarizer.classes_)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        f"classes as in the previous call to fit. Previously got "
                        f"{self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
            self.classes_ = self._label_binarizer.classes_
        Y = np.ascontiguousarray(self._label_binarizer.transform(y), dtype=X.dtype)
        return X, Y

    def _with_class_weight(self, sample_weight, Y, incremental):
        """``sample_weight`` times the weight of each sample's class."""
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("class_weight is not supported for multilabel targets.")
        if incremental and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported for partial_fit: the "
                "class frequencies of one batch are not those of the data. Pass "
                "a dict of class weights instead."
            )
        labels = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.intp)
        present = np.unique(labels)
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has classes {sorted(unknown, key=str)} that are "
                    f"not in the data; the classes are {self.classes_.tolist()}."
                )
        weights = compute_class_weight(
            self.class_weight, classes=present, y=labels
        ) if self.class_weight == "balanced" else np.array(
            [self.class_weight.get(label, 1.0) for label in self.classes_[present]]
        )  # fmt: skip
        per_class = np.ones(len(self.classes_))
        per_class[present] = weights
        if not np.all(np.isfinite(per_class)) or np.any(per_class < 0):
            raise ValueError("class_weight values must be finite and non-negative.")
        per_sample = per_class[labels].astype(Y.dtype)
        if sample_weight is None:
            return np.ascontiguousarray(per_sample)
        return np.ascontiguousarray(sample_weight * per_sample)

    def _validation_problem(self, problem, X_val, y_val, sample_weight_val):
        """The user's validation set as a ``Problem``, or None."""
        if X_val is None and y_val is None:
            if sample_weight_val is not None:
                raise ValueError("sample_weight_val is given without X_val and y_val.")
            return None
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together.")
        X_val, y_val = validate_data(
            self, X_val, y_val, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=self.theta_.dtype, reset=False,
        )  # fmt: skip
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val)
        unseen = np.setdiff1d(unique_labels(y_val), self.classes_)
        if self._label_binarizer.y_type_ != "multilabel-indicator" and len(unseen):
            raise ValueError(f"y_val has classes not seen in y: {unseen.tolist()}.")
        Y_val = np.ascontiguousarray(
            self._label_binarizer.transform(y_val), dtype=self.theta_.dtype
        )
        if Y_val.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y_val has {Y_val.shape[1]} outputs, y has {self.n_outputs_}."
            )
        weights = check_sample_weight(sample_weight_val, X_val.shape[0], Y_val.dtype)
        weights = self._with_class_weight(weights, Y_val, incremental=False)
        validation = problem.subset(X_val, Y_val, weights)
        validation.labels = self._label_binarizer.inverse_transform(Y_val)
        return validation

    def _check_two_classes(self, classes):
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contain only one class: {classes[0]!r}."
            )

    def _check_weighted_classes(self, Y, sample_weight):
        """A fit whose positive weights all fall on one class learns nothing."""
        if sample_weight is None or self._label_binarizer.y_type_.startswith(
            "multilabel"
        ):
            return
        weighted = Y[sample_weight > 0]
        if Y.shape[1] == 1:
            n_classes = len(np.unique(weighted[:, 0]))
        else:
            n_classes = int((weighted.sum(axis=0) > 0).sum())
        if n_classes < 2:
            raise ValueError(
                "Only one class has samples with non-zero sample_weight; a "
                "classifier needs at least 2 classes to learn from."
            )

    def _initialize(self, layer_units, cost, dtype, random_state):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = int(layer_units[-1])
        self.n_layers_ = len(layer_units)
        self.out_activation_ = cost.output_activation
        self._layer_units = layer_units
        # Prediction and later partial fits use the activation the network
        # was trained with, not one set afterwards with set_params.
        self._activation = self.activation
        self.theta_ = glorot_init(layer_units, self.activation, dtype, random_state)
        self._best_theta = self.theta_.copy()
        for name in ("_optimizer", "_no_improvement_count", "loss_curve_"):
            self.__dict__.pop(name, None)

    def _check_theta(self):
        """``theta_``, checked so that the kernels cannot read out of bounds.

        A read-only ``theta_`` (say, loaded from a memory map) comes back as a
        writeable copy: the kernels are compiled for writeable arrays only.
        """
        theta = self.theta_
        expected = n_parameters(self._layer_units)
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

    def _check_continuable(self, layer_units, cost):
        self.theta_ = self._check_theta()
        if not np.array_equal(layer_units, self._layer_units):
            raise ValueError(
                "warm_start and partial_fit need the network of the previous fit, "
                f"with layer sizes {self._layer_units.tolist()}, but the data and "
                f"hidden_layer_sizes give {layer_units.tolist()}. Set "
                "warm_start=False to start a new network."
            )
        if self.activation != self._activation:
            raise ValueError(
                f"activation={self.activation!r} differs from the activation "
                f"{self._activation!r} of the fitted network. Set warm_start=False "
                "to start a new network."
            )
        if cost.output_activation != self.out_activation_:
            raise ValueError(
                f"cost={self.cost!r} needs {cost.output_activation} outputs but the "
                f"fitted network has {self.out_activation_} outputs. Set "
                "warm_start=False to start a new network."
            )

    # -- prediction ----------------------------------------------------------

    def _output_logits(self, data, theta=None):
        """Output logits of the fitted network, or of ``theta`` (same layout)."""
        return predict_logits(
            *data.kernel_args(),
            self._check_theta() if theta is None else theta,
            self._layer_units,
            ACTIVATION_CODES[self._activation],
            _PREDICT_CHUNK,
        )

    def _probabilities(self, data):
        return self._probabilities_from_logits(self._output_logits(data))

    def _probabilities_from_logits(self, logits):
        n_columns = 2 if self.n_outputs_ == 1 else self.n_outputs_
        proba = np.empty((logits.shape[0], n_columns), dtype=logits.dtype)
        softmax = self.out_activation_ == "softmax"
        normalize = self._label_binarizer.y_type_ == "multiclass" and not softmax
        code = COST_LOG_LIKELIHOOD if softmax else COST_CROSS_ENTROPY
        probabilities(code, normalize, logits, proba, *_PROBABILITY_BOUNDS[proba.dtype])
        return proba

    def _predict_from_input(self, data):
        return self._labels_from_logits(self._output_logits(data))

    def _labels_from_logits(self, logits):
        proba = self._probabilities_from_logits(logits)
        if self.n_outputs_ == 1:
            proba = proba[:, 1]
        return self._label_binarizer.inverse_transform(proba)

    def _checked_input(self, X):
        if not hasattr(self, "theta_"):
            check_is_fitted(self)  # raises NotFittedError
        if (
            type(X) is np.ndarray
            and X.size <= _FAST_PATH_SIZE
            and X.ndim == 2
            and X.shape[0] >= 1
            and X.shape[1] == self.n_features_in_
            and X.dtype == self.theta_.dtype
            and not hasattr(self, "feature_names_in_")
            and np.isfinite(X).all()
        ):
            # The checks validate_data would make, without its ~80 us of
            # overhead, which dominates the prediction of a few rows.
            return kernel_input(X)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            dtype=self.theta_.dtype,
            reset=False,
        )
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
        return self._predict_from_input(self._checked_input(X))

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
        return self._probabilities(self._checked_input(X))

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


_PARAMETER_NAMES = frozenset(inspect.signature(MLPCostClassifier.__init__).parameters)
