"""The solvers: functions of (problem, network, config, state) -> state; ``solve``.

Python loops only over epochs (or L-BFGS iterations); each epoch is one
compiled call. Stopping rules, learning-rate schedules, the curves, verbose
output and warnings follow scikit-learn's
``BaseMultilayerPerceptron._fit_stochastic`` and ``_fit_lbfgs``.

A solver receives a ``TrainingState`` that it may change in place (the
estimator hands over copies) and returns it; it never sees the estimator.
"""

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ._ahead import PieceUnit
from ._codes import SOLVER_ADAM, SOLVER_CODES, SOLVER_GD, SOLVER_LBFGS
from ._optimizer import Moments, Optimizer, momentum, optimizer_step
from ._problem import Objective
from ._progress import Progress, warn
from ._scipy_blas import one_thread

#: scikit-learn's sentence for a diverged fit, which every divergence error
#: starts with, so that code matching scikit-learn's message matches skce's.
DIVERGED = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)


def fit_lbfgs(
    problem, network, config, state, progress, validation=None, incremental=False
):
    """Minimize the full-batch objective with scipy's L-BFGS-B.

    ``state.theta`` is handed to scipy as it is (no packing); each
    evaluation runs one compiled forward and backward pass over all rows.
    L-BFGS keeps no memory between fits: a warm start restarts its
    curvature estimate from the current weights. There is no ``partial_fit``
    (``incremental``) with L-BFGS.
    """
    if incremental:
        raise ValueError("L-BFGS has no incremental (partial_fit) mode.")
    theta = state.theta
    if problem.penalty.l1 == 0.0:
        variables = _Unchanged(theta, problem)
    else:
        variables = _SplitWeights(theta, network.weight_mask(), problem)
    objective = Objective(problem, network, variables.penalty)
    grad = np.empty_like(theta)
    problem.later = _later(network, theta.dtype, problem.x.csr, objective)

    def loss_grad(x):
        variables.to_theta(x, theta)
        loss = objective(theta, grad)
        return variables.loss_grad(loss, grad, x)

    curve = []
    if validation is not None:
        _start_validation_records(state)

    def record(intermediate_result):
        curve.append(np.float64(intermediate_result.fun))
        progress.loss(len(curve), curve[-1])
        if validation is not None:
            x = np.empty_like(theta)
            variables.to_theta(intermediate_result.x, x)
            _record_validation(state, validation, network, problem, x, config, progress)
        progress.end_epoch()

    with problem.running(), one_thread():
        result = scipy.optimize.minimize(
            loss_grad,
            variables.start,
            method="L-BFGS-B",
            jac=True,
            bounds=variables.bounds,
            callback=record,
            options={
                "maxfun": config.max_fun,
                "maxiter": config.max_iter,
                "gtol": config.tol,
            },
        )
    if not np.isfinite(result.fun) or not np.isfinite(result.x).all():
        raise ValueError(
            f"{DIVERGED} L-BFGS diverged: the loss became {result.fun}. Scale the "
            "input data or increase alpha. The estimator is left as it was "
            "before this fit."
        )
    variables.to_theta(result.x, theta)
    state.n_iter = min(int(result.nit), config.max_iter)
    state.loss = np.float64(result.fun)
    state.loss_curve = curve
    if result.status != 0:
        warn(
            f"lbfgs failed to converge after {state.n_iter} iteration(s) "
            f"(status={result.status}):\n{result.message}\n\n"
            f"Increase the number of iterations (max_iter={config.max_iter}) or "
            f"the number of function evaluations (max_fun={config.max_fun}), or "
            "scale the data as shown in https://scikit-learn.org/stable/modules/"
            "preprocessing.html",
            ConvergenceWarning,
        )
    return state


class _Unchanged:
    """L-BFGS's variables are the parameters themselves (no L1 term)."""

    bounds = None

    def __init__(self, theta, problem):
        self.start = theta.astype(np.float64)
        self.penalty = problem.penalty

    def to_theta(self, x, theta):
        theta[:] = x

    def loss_grad(self, loss, grad, x):
        return loss, grad.astype(np.float64)


class _SplitWeights:
    """L-BFGS-B's variables for an L1 term: each weight split as ``w = u - v``.

    With bounds ``u, v >= 0``, ``|w|`` is ``u + v`` wherever one of the two
    is 0, as it is at any minimum (lowering both by the smaller lowers the
    objective): the non-smooth problem becomes a smooth one with bounds,
    which L-BFGS-B solves as it is, and a weight whose two parts both end at
    their bound is exactly 0. The variables are ``theta`` with ``u`` in
    place of the weights, followed by ``v``; the biases are free. The
    kernels compute the smooth part (cost and L2 term) on ``w``.
    """

    def __init__(self, theta, weight_mask, problem):
        self.mask = weight_mask
        self.n = theta.shape[0]
        self.penalty = type(problem.penalty)(problem.penalty.l2, 0.0)
        self.l1 = problem.penalty.l1 / problem.weight_sum()  # as finish_gradient
        w = theta[weight_mask].astype(np.float64)
        u = theta.astype(np.float64)
        u[weight_mask] = np.maximum(w, 0.0)
        self.start = np.concatenate([u, np.maximum(-w, 0.0)])
        self.bounds = [(0.0, None) if is_w else (None, None) for is_w in weight_mask]
        self.bounds += [(0.0, None)] * w.shape[0]

    def to_theta(self, x, theta):
        theta[:] = x[: self.n]
        theta[self.mask] -= x[self.n :]

    def loss_grad(self, loss, grad, x):
        """The split objective and its gradient from the smooth part's."""
        gradient = np.empty_like(x)
        gradient[: self.n] = grad
        g_w = gradient[: self.n][self.mask]
        gradient[: self.n][self.mask] = g_w + self.l1
        gradient[self.n :] = self.l1 - g_w
        return loss + self.l1 * x[self.n :].sum() + self.l1 * x[: self.n][
            self.mask
        ].sum(), gradient


def fit_first_order(
    problem, network, config, state, progress, validation=None, incremental=False
):
    """The epoch loop of ``gd``, ``sgd`` and ``adam``.

    ``gd`` takes one step an epoch along the full-batch gradient of
    ``Objective``; ``sgd`` and ``adam`` run ``problem.run_epoch``, one step
    per mini-batch. With ``incremental`` (``partial_fit``) it runs one epoch.
    The rows are shuffled with ``state.stream`` each epoch, continuing
    ``state.row_order`` when it has one of the right length.
    """
    solver = SOLVER_CODES[config.solver]
    _prepare_optimizer(state, config)
    _start_records(state, config)
    if validation is not None and state.validation_scores is None:
        _start_validation_records(state)

    n_samples = problem.n_samples
    if solver == SOLVER_GD:
        batch_size = n_samples
    elif config.batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if config.batch_size > n_samples:
            warn(
                "Got `batch_size` less than 1 or larger than sample size. It is "
                "going to be clipped"
            )
        batch_size = min(max(int(config.batch_size), 1), n_samples)

    dtype = state.theta.dtype
    if solver == SOLVER_GD:
        objective = Objective(problem, network)
        grad = np.empty_like(state.theta)
        problem.later = _later(network, dtype, problem.x.csr, objective, momentum)
    else:
        problem.later = _later(network, dtype, problem.x.csr)
    shuffled = config.shuffle and solver != SOLVER_GD
    order = None
    if shuffled:
        order = state.row_order
        if order is None or order.shape[0] != n_samples:
            order = np.arange(n_samples)
    moments = Moments(state.velocity, state.m, state.v)
    if problem.dropout_rates is not None:
        state.start_dropout()

    state.n_iter = 0
    with problem.running():
        for _ in range(config.max_iter):
            optimizer = _optimizer(state, config, solver)
            if shuffled:
                order = state.shuffled(order)
            dropout = problem.dropout(state.dropout_seed, state.dropout_epoch)
            if dropout is not None:
                state.dropout_epoch += 1
            if solver == SOLVER_GD:
                # The mean of the batch losses weighted by their sizes, as for
                # the mini-batch solvers: here one batch of all rows.
                loss = objective(state.theta, grad, dropout) * n_samples / n_samples
                if np.isfinite(loss):
                    state.step = optimizer_step(
                        optimizer, state.theta, grad, moments, state.step
                    )
            else:
                loss, state.step = problem.run_epoch(
                    network,
                    state.theta,
                    optimizer,
                    moments,
                    state.step,
                    order,
                    batch_size,
                    dropout,
                )
            if not np.isfinite(loss):
                if config.early_stopping and state.validation_scores:
                    # scikit-learn keeps the best epoch's weights here too.
                    warn(
                        f"Training diverged in epoch {state.n_iter + 1}: the loss "
                        f"became {loss}. Stopping, with the weights of the best "
                        "epoch on the validation set. Use a smaller "
                        f"learning_rate_init (it is {config.learning_rate_init}) "
                        "or scale the input data.",
                        ConvergenceWarning,
                    )
                    break
                raise ValueError(
                    f"{DIVERGED} Training diverged in epoch {state.n_iter + 1}: "
                    f"the loss became {loss}. Use a smaller learning_rate_init (it is "
                    f"{config.learning_rate_init}) or scale the input data. The "
                    "estimator is left as it was before this fit."
                )
            state.n_iter += 1
            state.loss = np.float64(loss)
            state.t += n_samples
            state.loss_curve.append(state.loss)
            progress.loss(state.n_iter, state.loss)
            _count_no_improvement(state, validation, network, problem, config, progress)
            progress.end_epoch()

            if solver != SOLVER_ADAM and config.learning_rate == "invscaling":
                state.learning_rate = (
                    config.learning_rate_init / (state.t + 1) ** config.power_t
                )

            if state.no_improvement_count > config.n_iter_no_change:
                what = "Training loss"
                if config.early_stopping:
                    what = f"Validation {config.early_stopping_metric}"
                message = (
                    f"{what} did not improve more than tol={config.tol:f} for "
                    f"{config.n_iter_no_change} consecutive epochs."
                )
                if _should_stop(state, config, solver, message, progress):
                    break
                state.no_improvement_count = 0

            if incremental:
                break
            if state.n_iter == config.max_iter:
                warn(
                    f"Stochastic Optimizer: Maximum iterations ({config.max_iter}) "
                    "reached and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                )
    state.row_order = order if shuffled else None
    if config.early_stopping:
        state.theta[:] = state.best_theta
    return state


def solve(problem, network, spec, state, validation):
    """Run the solver of ``spec`` on ``problem`` from ``state``; returns the
    state, checked, with the random stream left behind unless kept. The
    problem's threads and the verbose output are closed whatever happens."""
    config = spec.config
    lbfgs = SOLVER_CODES[config.solver] == SOLVER_LBFGS
    progress = Progress(
        config.verbose,
        1 if spec.incremental else config.max_iter,
        unit="iteration" if lbfgs else "epoch",
    )
    solver = fit_lbfgs if lbfgs else fit_first_order
    try:
        state = solver(
            problem, network, config, state, progress, validation, spec.incremental
        )
    finally:
        progress.close()
        problem.close()
    state.end(spec.keeps_stream)
    if not np.isfinite(state.theta).all():
        raise ValueError(
            f"{DIVERGED} The learning rate (learning_rate_init="
            f"{config.learning_rate_init}) may also be too large. The estimator "
            "is left as it was before this fit."
        )
    return state


def _later(network, dtype, csr, objective=None, step=None):
    """A function giving what a fit runs after its first run, compiled with
    it (``_ahead``): ``objective``'s ``finish_gradient`` and the ``step``
    piece (for the full-batch solvers), and the fit's predictions (the
    validation set's, the user's; of CSR rows like ``csr``, or dense ones).
    Its units are made only when the first run needs them, and it holds
    nothing of the problem, which holds it."""
    finish = None if objective is None else objective.finish_unit(dtype)

    def later():
        units = [] if finish is None else [finish]
        if step is not None:
            units.append(PieceUnit(step, dtype))
        return [*units, *network.prediction_units(dtype, csr)]

    return later


def _optimizer(state, config, solver):
    return Optimizer(
        solver=solver,
        learning_rate=state.learning_rate,
        momentum=float(config.momentum),
        nesterov=bool(config.nesterovs_momentum),
        beta_1=float(config.beta_1),
        beta_2=float(config.beta_2),
        epsilon=float(config.epsilon),
    )


def _prepare_optimizer(state, config):
    """The optimizer's vectors, kept across warm starts and ``partial_fit``.

    Adam's moments and step counter, the momentum velocity and the current
    learning rate carry over, so that two warm-started fits of 10 epochs make
    the same steps as one fit of 20 (scikit-learn restarts the optimizer on
    every warm-started fit). Vectors that belong to another solver, size or
    dtype are replaced: the kernels index them with theta's indices and must
    never see a shorter one. A changed ``learning_rate_init`` restarts the
    rate.
    """
    theta = state.theta
    size = theta.shape[0] if config.solver == "adam" else 0
    vectors = (state.velocity, state.m, state.v)
    expected = (theta.shape[0] - size, size, size)
    if state.solver != config.solver or any(
        vector.shape != (length,) or vector.dtype != theta.dtype
        for vector, length in zip(vectors, expected, strict=True)
    ):
        state.solver = config.solver
        state.velocity, state.m, state.v = (
            np.zeros(length, dtype=theta.dtype) for length in expected
        )
        state.step = 0
        state.learning_rate_init = float(config.learning_rate_init)
        state.learning_rate = float(config.learning_rate_init)
    elif state.learning_rate_init != config.learning_rate_init:
        state.learning_rate_init = float(config.learning_rate_init)
        state.learning_rate = float(config.learning_rate_init)


def _start_records(state, config):
    """Stopping records, made on the first first-order fit of a network."""
    if state.no_improvement_count is None:
        state.no_improvement_count = 0
        state.best_loss = None if config.early_stopping else np.inf
        state.validation_scores = state.validation_loss_curve = None
        state.best_validation_score = state.best_validation_loss = None


def _start_validation_records(state):
    state.validation_scores, state.validation_loss_curve = [], []
    state.best_validation_score, state.best_validation_loss = -np.inf, np.inf


def _record_validation(state, validation, network, problem, theta, config, progress):
    """Record this epoch's validation score and loss.

    Returns ``(improved, best)``: whether the metric early stopping watches
    improved by ``tol``, and whether it is the best so far.
    """
    score, loss = validation.metrics(network, problem, theta)
    state.validation_scores.append(score)
    state.validation_loss_curve.append(loss)
    progress.validation(score, loss)
    if config.early_stopping_metric == "loss":
        improved = loss < state.best_validation_loss - config.tol
        best = loss < state.best_validation_loss
    else:
        improved = score >= state.best_validation_score + config.tol
        best = score > state.best_validation_score
    state.best_validation_score = max(state.best_validation_score, score)
    state.best_validation_loss = min(state.best_validation_loss, loss)
    return improved, best


def _count_no_improvement(state, validation, network, problem, config, progress):
    improved = best = False
    if validation is not None:
        improved, best = _record_validation(
            state, validation, network, problem, state.theta, config, progress
        )
    if config.early_stopping:
        if best:
            state.best_theta = state.theta.copy()
    else:
        if state.best_loss is None:  # the previous fit stopped early
            state.best_loss = np.inf
        improved = state.loss_curve[-1] <= state.best_loss - config.tol
        state.best_loss = min(state.best_loss, state.loss_curve[-1])
    state.no_improvement_count = 0 if improved else state.no_improvement_count + 1


def _should_stop(state, config, solver, message, progress):
    """scikit-learn's ``trigger_stopping``: 'adaptive' divides the rate by 5."""
    if solver == SOLVER_ADAM or config.learning_rate != "adaptive":
        progress.note(message + " Stopping.")
        return True
    if state.learning_rate <= 1e-6:
        progress.note(message + " Learning rate too small. Stopping.")
        return True
    state.learning_rate /= 5.0
    progress.note(message + f" Setting learning rate to {state.learning_rate:f}")
    return False
