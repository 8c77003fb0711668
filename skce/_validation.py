"""The validation set: held out for early stopping, or given by the user.

"Validation" in skce means this held-out set only; checks of
hyper-parameters live in ``_params`` and checks of kernel arguments in
``_boundary``.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from ._kernels import output_cost_and_delta
from ._progress import warn


class ValidationSet:
    """Validation rows in kernel form, with their labels.

    Parameters
    ----------
    x : Inputs
        The validation features (``_boundary.kernel_input``).
    targets : Targets
        Their one-hot targets and sample weights.
    labels : ndarray
        Their labels, as ``decode`` gives them.
    decode : callable
        Maps ``predict_proba`` output to labels, as ``predict`` does.
    """

    def __init__(self, x, targets, labels, decode):
        self.x = x
        self.targets = targets
        self.labels = labels
        self.decode = decode

    def metrics(self, network, problem, theta):
        """Accuracy and weighted mean cost (no penalty) of ``theta`` here."""
        logits = network.logits(theta, self.x)
        score = accuracy_score(
            self.labels,
            self.decode(network.probabilities(logits)),
            sample_weight=self.targets.weights if self.targets.has_weight else None,
        )
        total = output_cost_and_delta(
            problem.cost_code,
            network.kernel.output,
            logits,
            self.targets,
            np.empty_like(logits),
            np.empty(logits.shape[0]),
            *problem.cost_functions,
        )
        if self.targets.has_weight:
            weight_sum = self.targets.weights.sum(dtype=np.float64)
        else:
            weight_sum = logits.shape[0]
        return float(score), float(total / weight_sum)


def holdout_split(arrays, stratify, fraction, random_state, strict):
    """Split ``arrays`` (same rows) into training and held-out parts.

    Stratified by ``stratify`` (None: not stratified), with scikit-learn's
    errors for a class with a single member. With ``strict`` False, a
    held-out part too small to hold every class is drawn unstratified
    instead of refused. Returns ``(train, held_out)``, two lists in the
    order of ``arrays``.
    """
    if stratify is not None and not strict:
        _, counts = np.unique(stratify, return_counts=True)
        n_samples = stratify.shape[0]
        n_validation = int(np.ceil(fraction * n_samples))
        if counts.min() >= 2 and not (
            counts.size <= n_validation <= n_samples - counts.size
        ):
            stratify = None
    parts = train_test_split(
        *arrays, random_state=random_state, test_size=fraction, stratify=stratify
    )
    train, held_out = parts[0::2], parts[1::2]
    if held_out[0].shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return train, held_out


class DataMismatchWarning(UserWarning):
    """``X_val`` given to ``fit`` does not look like the training data.

    Most often the estimator is the last step of a ``Pipeline`` that did not
    transform ``X_val``: pass ``Pipeline(..., transform_input=["X_val"])``.
    """


# How far the user's X_val may sit from the training rows before fit warns:
# the median over columns of the mean's shift in training standard
# deviations, and of the ratio of the standard deviations. Measured with
# StandardScaler fitted on the training rows and X_val left raw: digits
# 5.6 and 5.3, iris 3.6 and 1.6, wine 2.4 and 2.2, breast cancer 0.2 and
# 28 (MinMaxScaler: farther still); a held-out part of the same data, of 8
# rows or more: at most 0.26 and 1.25. Fewer rows than MIN_ROWS are too
# few to tell.
MAX_SHIFT = 1.0
MIN_ROWS = 10
MAX_SCALE_RATIO = 3.0


def warn_if_unlike(X, X_val):
    """Warn with ``DataMismatchWarning`` when ``X_val`` is unlike ``X``."""
    if X_val.shape[0] < MIN_ROWS:
        return
    shift, ratio = column_mismatch(X, X_val)
    if shift > MAX_SHIFT or ratio > MAX_SCALE_RATIO:
        warn(
            "X_val does not look like the training data: the median column mean "
            f"is {shift:.3g} training standard deviations away, and the median "
            f"ratio of the standard deviations is {ratio:.3g}. If the estimator "
            "is the last step of a Pipeline, X_val has not been through the "
            "Pipeline's transformers: pass Pipeline(..., "
            "transform_input=['X_val']).",
            DataMismatchWarning,
        )


def column_mismatch(X, X_val):
    """Median shift and scale ratio of ``X_val``'s columns against ``X``'s.

    Returns ``(shift, ratio)``: the median over the columns that vary in
    ``X`` of ``|mean(X_val) - mean(X)| / std(X)`` and of the larger of
    ``std(X_val) / std(X)`` and its inverse (``inf`` when ``X_val`` is
    constant there); ``(0.0, 1.0)`` when no column varies.
    """
    mean, std = _column_moments(X)
    mean_val, std_val = _column_moments(X_val)
    varies = std > 0
    if not varies.any():
        return 0.0, 1.0
    shift = np.abs(mean_val[varies] - mean[varies]) / std[varies]
    with np.errstate(divide="ignore"):
        ratio = std_val[varies] / std[varies]
        ratio = np.maximum(ratio, 1 / ratio)
    return float(np.median(shift)), float(np.median(ratio))


def _column_moments(X):
    if sp.issparse(X):
        mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        square = np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel()
        return mean, np.sqrt(np.maximum(square - mean**2, 0.0))
    return X.mean(axis=0, dtype=np.float64), X.std(axis=0, dtype=np.float64)
