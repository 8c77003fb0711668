"""Python drivers of the solvers: the epoch loop and L-BFGS.

Python loops only over epochs (or L-BFGS iterations); each epoch is one call
of the compiled ``run_epoch``. Stopping rules, learning-rate schedules,
``loss_curve_``, verbose output and warnings follow scikit-learn's
``BaseMultilayerPerceptron._fit_stochastic`` and ``_fit_lbfgs``.
"""

import functools
import threading
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from threadpoolctl import ThreadpoolController

from ._codes import SOLVER_ADAM, SOLVER_CODES, SOLVER_GD
from ._kernels import loss_and_grad, output_cost_and_delta, workspace_size
from ._progress import Progress
from ._updates import run_epoch
from ._validation import kernel_input

# Below this many multiply-adds per matrix product, a second BLAS thread costs
# more in hand-offs than it gains; measured on digits-sized layers (64-100-10,
# batches of 200: 1.3 M) and beside W4's 200 x 784 x 512 (80 M), which does
# gain from two threads.
_SMALL_PRODUCT = 4_000_000


@functools.cache
def _blas_controller():
    # Built on first use, not at import: it scans the loaded libraries.
    return ThreadpoolController()


def blas_threads(layer_units, n_rows):
    """A context that keeps BLAS single-threaded while the products are small.

    Besides the hand-off cost, idle BLAS threads of *other* libraries (such
    as NumPy's, after a scikit-learn fit) keep spinning for a while and take
    the second core; with one thread skce does not wait for them.
    """
    pairs = zip(layer_units[:-1], layer_units[1:], strict=True)
    largest = max(int(n_in) * int(n_out) for n_in, n_out in pairs)
    if largest * n_rows >= _SMALL_PRODUCT:
        return nullcontext()
    return _single_threaded_blas()


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextmanager
def _single_threaded_blas():
    # threadpoolctl's limits are process-wide. Fits running in several threads
    # share one limit: the first sets it, the last one out restores it, so
    # that one fit finishing never hands BLAS threads back under another.
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = _blas_controller().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


class Problem:
    """What every solver needs to know about one fit: data, network and cost.

    ``cost`` is a ``skce.costs.Cost``; the kernels get its ``kernel_code``
    and, for a user's cost, its two jitted functions (``cost_functions``).
    """

    def __init__(self, X, Y, sample_weight, layer_units, act, cost, alpha):
        self.X = X  # validated X, dense or CSR (kept for the validation split)
        self.data = kernel_input(X)
        self.Y = Y
        self.sample_weight = sample_weight
        self.layer_units = layer_units
        self.act = act
        self.cost_object = cost
        self.cost = cost.kernel_code
        self.cost_functions = cost.kernel_functions()
        self.alpha = float(alpha)

    def subset(self, X, Y, sample_weight):
        return Problem(
            X, Y, sample_weight, self.layer_units, self.act, self.cost_object,
            self.alpha,
        )  # fmt: skip

    def weight_args(self):
        """The kernels' ``(sample_weight, has_weight)`` pair."""
        if self.sample_weight is None:
            return np.empty(0, dtype=self.Y.dtype), False
        return self.sample_weight, True


def fit_lbfgs(est, problem, validation=None):
    """Minimize the full-batch objective with scipy's L-BFGS-B, in place.

    ``theta_`` is handed to scipy as it is (no packing); each evaluation runs
    one compiled forward and backward pass over all samples.
    """
    theta = est.theta_
    n_samples = problem.data.n_samples
    rows = np.arange(n_samples)
    grad = np.empty_like(theta)
    work = np.empty(workspace_size(problem.layer_units, n_samples), dtype=theta.dtype)
    weights, has_weight = problem.weight_args()

    def loss_grad(x):
        theta[:] = x
        loss = loss_and_grad(
            problem.data.dense,
            problem.data.data,
            problem.data.indices,
            problem.data.indptr,
            rows,
            problem.data.is_sparse,
            problem.Y,
            weights,
            has_weight,
            theta,
            problem.layer_units,
            problem.act,
            problem.cost,
            problem.alpha,
            grad,
            work,
            *problem.cost_functions,
        )
        return loss, grad.astype(np.float64)

    curve = []
    if validation is not None:
        est.validation_scores_, est.validation_loss_curve_ = [], []
        est.best_validation_score_, est.best_validation_loss_ = -np.inf, np.inf

    progress = Progress(est.verbose, est.max_iter, unit="iteration")

    def record(intermediate_result):
        curve.append(float(intermediate_result.fun))
        progress.loss(len(curve), curve[-1])
        if validation is not None:
            x = intermediate_result.x.astype(theta.dtype)
            record_validation(est, validation, x, progress)
        progress.end_epoch()

    try:
        with blas_threads(problem.layer_units, n_samples):
            result = scipy.optimize.minimize(
                loss_grad,
                theta.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                callback=record,
                options={
                    "maxfun": est.max_fun,
                    "maxiter": est.max_iter,
                    "gtol": est.tol,
                },
            )
    finally:
        progress.close()
    if not np.isfinite(result.fun) or not np.isfinite(result.x).all():
        raise ValueError(
            f"L-BFGS diverged: the loss became {result.fun}. Scale the input data "
            "or increase alpha. The estimator is left as it was before this fit."
        )
    theta[:] = result.x
    est.n_iter_ = min(int(result.nit), est.max_iter)
    est.loss_ = float(result.fun)
    est.loss_curve_ = curve
    if result.status != 0:
        warnings.warn(
            f"lbfgs failed to converge after {est.n_iter_} iteration(s) "
            f"(status={result.status}):\n{result.message}\n\n"
            f"Increase the number of iterations (max_iter={est.max_iter}) or the "
            f"number of function evaluations (max_fun={est.max_fun}), or scale "
            "the data as shown in https://scikit-learn.org/stable/modules/"
            "preprocessing.html",
            ConvergenceWarning,
            stacklevel=5,
        )


def fit_stochastic(est, problem, random_state, incremental, validation=None):
    """Run the epoch loop of ``gd``, ``sgd`` or ``adam``, in place.

    ``validation`` is a user-given validation set (a ``Problem`` with
    ``labels``); without one, early stopping holds out part of ``problem``.
    """
    solver = SOLVER_CODES[est.solver]
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    state = _optimizer_state(est)

    train = problem
    if est.early_stopping and validation is None:
        train, validation = _validation_split(est, problem, random_state)
    _tracking_state(est, validation is not None)

    n_samples = train.data.n_samples
    if solver == SOLVER_GD:
        batch_size = n_samples
    elif est.batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if est.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is "
                "going to be clipped",
                stacklevel=5,
            )
        batch_size = int(np.clip(est.batch_size, 1, n_samples))

    progress = Progress(est.verbose, 1 if incremental else est.max_iter)
    try:
        with blas_threads(train.layer_units, batch_size):
            _epoch_loop(
                est, train, validation, state, solver, batch_size, random_state,
                incremental, progress,
            )  # fmt: skip
    finally:
        progress.close()
    if est.early_stopping:
        est.theta_[:] = est._best_theta


def _epoch_loop(
    est, train, validation, state, solver, batch_size, random_state, incremental,
    progress,
):  # fmt: skip
    n_samples = train.data.n_samples
    shuffled = est.shuffle and solver != SOLVER_GD
    weights, has_weight = train.weight_args()
    order = np.arange(n_samples)
    est.n_iter_ = 0
    for _ in range(est.max_iter):
        if shuffled:
            # Permute the running permutation with the draws that
            # sklearn.utils.shuffle makes (a shuffled arange, then a take),
            # so both libraries see the same batches for a random state;
            # calling it directly costs a quarter of a millisecond an epoch.
            permutation = np.arange(n_samples)
            random_state.shuffle(permutation)
            order = order[permutation]
        loss, state["step"] = run_epoch(
            *train.data.kernel_args(),
            train.Y,
            weights,
            has_weight,
            order,
            not shuffled,
            batch_size,
            est.theta_,
            train.layer_units,
            train.act,
            train.cost,
            train.alpha,
            solver,
            state["learning_rate"],
            float(est.momentum),
            bool(est.nesterovs_momentum),
            float(est.beta_1),
            float(est.beta_2),
            float(est.epsilon),
            state["velocity"],
            state["m"],
            state["v"],
            state["step"],
            *train.cost_functions,
        )
        if not np.isfinite(loss):
            raise ValueError(
                f"Training diverged in epoch {est.n_iter_ + 1}: the loss became "
                f"{loss}. Use a smaller learning_rate_init (it is "
                f"{est.learning_rate_init}) or scale the input data. The "
                "estimator is left as it was before this fit."
            )
        est.n_iter_ += 1
        est.loss_ = float(loss)
        est.t_ += n_samples
        est.loss_curve_.append(est.loss_)
        progress.loss(est.n_iter_, est.loss_)
        _update_no_improvement_count(est, validation, progress)
        progress.end_epoch()

        if solver != SOLVER_ADAM and est.learning_rate == "invscaling":
            state["learning_rate"] = (
                est.learning_rate_init / (est.t_ + 1) ** est.power_t
            )

        if est._no_improvement_count > est.n_iter_no_change:
            what = "Training loss"
            if est.early_stopping:
                what = f"Validation {est.early_stopping_metric}"
            message = (
                f"{what} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if _should_stop(est, state, message, solver, progress):
                break
            est._no_improvement_count = 0

        if incremental:
            break
        if est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=6,
            )


def _optimizer_state(est):
    """The solver's state vectors, kept across warm starts and ``partial_fit``.

    Adam's moments and step counter, the momentum velocity and the current
    learning rate carry over, so that two warm-started fits of 10 epochs make
    the same steps as one fit of 20 (scikit-learn restarts the optimizer on
    every warm-started fit). A new network (``_initialize``) starts afresh. A
    state that belongs to another solver, size or dtype is replaced: the
    kernels index these vectors with theta's indices and must never see a
    shorter one. A changed ``learning_rate_init`` restarts the rate.
    """
    state = getattr(est, "_optimizer", None)
    size = est.theta_.shape[0]
    if (
        state is None
        or state["solver"] != est.solver
        or state["size"] != size
        or state["dtype"] != est.theta_.dtype.name
    ):
        adam = est.solver == "adam"
        dtype = est.theta_.dtype
        state = {
            "solver": est.solver,
            "size": size,
            # A name, not a numpy.dtype: skops files then hold only trusted types.
            "dtype": dtype.name,
            "learning_rate_init": float(est.learning_rate_init),
            "learning_rate": float(est.learning_rate_init),
            "velocity": np.zeros(0 if adam else size, dtype=dtype),
            "m": np.zeros(size if adam else 0, dtype=dtype),
            "v": np.zeros(size if adam else 0, dtype=dtype),
            "step": 0,
        }
        est._optimizer = state
    elif state["learning_rate_init"] != est.learning_rate_init:
        state["learning_rate_init"] = float(est.learning_rate_init)
        state["learning_rate"] = float(est.learning_rate_init)
    return state


def _tracking_state(est, has_validation):
    """Create the stopping-rule records on a first fit (or after L-BFGS)."""
    if not hasattr(est, "_no_improvement_count"):
        est._no_improvement_count = 0
        if not isinstance(getattr(est, "loss_curve_", None), list):
            est.loss_curve_ = []
        est.best_loss_ = None if est.early_stopping else np.inf
        est.validation_scores_ = est.validation_loss_curve_ = None
        est.best_validation_score_ = est.best_validation_loss_ = None
    if has_validation and est.validation_scores_ is None:
        est.validation_scores_, est.validation_loss_curve_ = [], []
        est.best_validation_score_, est.best_validation_loss_ = -np.inf, np.inf


def _validation_split(est, problem, random_state):
    """Hold out ``validation_fraction`` of the samples, stratified by class.

    scikit-learn stratifies only binary targets (its test of ``n_outputs_ ==
    1`` also excludes multiclass targets, against its own comment); skce
    stratifies every single-label target where each class has two members.
    """
    labels = est._label_binarizer.inverse_transform(problem.Y)
    stratify = None
    if est._label_binarizer.y_type_ != "multilabel-indicator":
        _, counts = np.unique(labels, return_counts=True)
        n_validation = int(np.ceil(est.validation_fraction * labels.shape[0]))
        if (
            counts.min() >= 2
            and counts.size <= n_validation <= labels.shape[0] - counts.size
        ):
            stratify = labels
    arrays = [problem.X, problem.Y]
    if problem.sample_weight is not None:
        arrays.append(problem.sample_weight)
    parts = train_test_split(
        *arrays,
        random_state=random_state,
        test_size=est.validation_fraction,
        stratify=stratify,
    )
    X_train, X_val, Y_train, Y_val = parts[:4]
    w_train, w_val = parts[4:] if len(parts) > 4 else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    validation = problem.subset(X_val, Y_val, w_val)
    validation.labels = est._label_binarizer.inverse_transform(Y_val)
    return problem.subset(X_train, np.ascontiguousarray(Y_train), w_train), validation


def validation_metrics(est, validation, theta):
    """Accuracy and mean cost (no L2 term) of ``theta`` on a validation set."""
    logits = est._output_logits(validation.data, theta)
    predicted = est._labels_from_logits(logits)
    score = accuracy_score(
        validation.labels, predicted, sample_weight=validation.sample_weight
    )
    weights, has_weight = validation.weight_args()
    row_cost = np.empty(logits.shape[0])
    total = output_cost_and_delta(
        validation.cost, logits, validation.Y, weights, has_weight,
        np.empty_like(logits), row_cost, *validation.cost_functions,
    )  # fmt: skip
    weight_sum = weights.sum(dtype=np.float64) if has_weight else logits.shape[0]
    return float(score), float(total / weight_sum)


def record_validation(est, validation, theta, progress):
    """Record this epoch's validation score and loss.

    Returns ``(improved, best)``: whether the metric early stopping watches
    improved by ``tol``, and whether it is the best so far.
    """
    score, loss = validation_metrics(est, validation, theta)
    est.validation_scores_.append(score)
    est.validation_loss_curve_.append(loss)
    progress.validation(score, loss)
    if est.early_stopping_metric == "loss":
        improved = loss < est.best_validation_loss_ - est.tol
        best = loss < est.best_validation_loss_
    else:
        improved = score >= est.best_validation_score_ + est.tol
        best = score > est.best_validation_score_
    est.best_validation_score_ = max(est.best_validation_score_, score)
    est.best_validation_loss_ = min(est.best_validation_loss_, loss)
    return improved, best


def _update_no_improvement_count(est, validation, progress):
    improved = best = False
    if validation is not None:
        improved, best = record_validation(est, validation, est.theta_, progress)
    if est.early_stopping:
        if best:
            est._best_theta = est.theta_.copy()
    else:
        if est.best_loss_ is None:  # the previous fit stopped early
            est.best_loss_ = np.inf
        improved = est.loss_curve_[-1] <= est.best_loss_ - est.tol
        est.best_loss_ = min(est.best_loss_, est.loss_curve_[-1])
    est._no_improvement_count = 0 if improved else est._no_improvement_count + 1


def _should_stop(est, state, message, solver, progress):
    """scikit-learn's ``trigger_stopping``: 'adaptive' divides the rate by 5."""
    if solver == SOLVER_ADAM or est.learning_rate != "adaptive":
        progress.note(message + " Stopping.")
        return True
    if state["learning_rate"] <= 1e-6:
        progress.note(message + " Learning rate too small. Stopping.")
        return True
    state["learning_rate"] /= 5.0
    progress.note(message + f" Setting learning rate to {state['learning_rate']:f}")
    return False
