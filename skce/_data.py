"""The rows a fit learns from and is checked on: training and validation data.

``InMemoryData`` holds the training rows in this process; ``skce.dask`` has
the same interface for rows that stay on a cluster's workers. The estimator
asks either for the same things: the label binarizer and dtype, the
network's input and output widths, the validation set (given to ``fit``,
or held out for early stopping) and the ``Problem`` the solvers minimize.

Training and validation rows take one path: ``_inputs`` checks and encodes
them, and the class weights multiply the sample weights of both. The class
weights are split in two steps (one weight per class from the class counts,
then one per sample), so that data split over workers is weighted with the
same numbers as data in memory.

"Validation" in skce means the validation set only; checks of
hyper-parameters live in ``_params`` and checks of arrays in ``_inputs``.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from ._inputs import (
    Values,
    decode,
    kernel_input,
    kernel_targets,
    training_rows,
    validation_rows,
    weight_sum,
)
from ._problem import Problem
from ._progress import warn
from ._shards import ShardedProblem


def training_data(estimator, X, y, sample_weight, spec, binarizer=None):
    """The checked, encoded and weighted training rows of a fit in memory."""
    binarizer, X, Y, weights = training_rows(
        estimator, X, y, sample_weight, spec, binarizer
    )
    weights = with_class_weight(
        spec.class_weight, weights, Y, binarizer, spec.incremental
    )
    if not spec.incremental:
        check_weighted_classes(Y, weights, binarizer)
    return InMemoryData(binarizer, X, Y, weights)


def validation_set(estimator, data, spec, state, given):
    """The validation set of a fit, or None.

    The rows ``given`` to ``fit`` (``X_val, y_val, sample_weight_val``) take
    the training rows' path: checked and encoded by ``_inputs``, weighted
    by their classes here. Without them, early stopping holds out a part
    of the training rows, drawn with the state's split stream.
    """
    binarizer = data.binarizer
    rows = validation_rows(
        estimator, binarizer, data.dtype, data.n_outputs, *data.gather(given)
    )
    if rows is None:
        if spec.holds_out:
            return data.hold_out(spec.validation_fraction, state.split_stream())
        return None
    X_val, Y_val, weights = rows
    spec.cost.check_targets(Y_val)
    data.check_like(X_val)
    weights = with_class_weight(spec.class_weight, weights, Y_val, binarizer, False)
    return ValidationSet.of(binarizer, X_val, Y_val, weights)


class InMemoryData:
    """Checked training rows in this process.

    Parameters
    ----------
    binarizer : LabelBinarizer
        The fit's classes and target type.
    X : ndarray or sparse matrix of dtype float32 or float64
        The features.
    Y : ndarray of shape (n_samples, n_outputs), same dtype
        The encoded targets (``_inputs.encode``).
    sample_weight : ndarray or None
        Sample weights, class weights included.
    """

    def __init__(self, binarizer, X, Y, sample_weight):
        self.binarizer = binarizer
        self.dtype = X.dtype
        self.X = X
        self.Y = Y
        self.sample_weight = sample_weight
        self.n_features = X.shape[1]
        self.n_outputs = Y.shape[1]

    def hold_out(self, fraction, random_state):
        """Move ``fraction`` of the rows into a returned ``ValidationSet``.

        scikit-learn stratifies a binary target on its indicator column, and
        so does skce, with the same errors (a class of one member names the
        class 'True' or 'False' there); skce also stratifies a multiclass
        target, on its labels, and draws a held-out part too small for every
        class unstratified.
        """
        binarizer = self.binarizer
        stratify, binary = None, binarizer.y_type_ == "binary"
        if binary:
            stratify = self.Y.astype(bool)
        elif binarizer.y_type_ == "multiclass":
            stratify = binarizer.classes_[self.Y.argmax(axis=1)]
        arrays = [self.X, self.Y]
        if self.sample_weight is not None:
            arrays.append(self.sample_weight)
        kept, held_out = holdout_split(arrays, stratify, fraction, random_state, binary)
        self.X, self.Y = kept[0], kept[1]
        self.sample_weight = kept[2] if len(kept) > 2 else None
        weights = held_out[2] if len(held_out) > 2 else None
        return ValidationSet.of(binarizer, held_out[0], held_out[1], weights)

    def gather(self, arrays):
        """``arrays`` in this process: they are already."""
        return arrays

    def check_like(self, X_val):
        """Warn with ``DataMismatchWarning`` when ``X_val`` is unlike ``X``."""
        warn_if_unlike(self.X, X_val)

    def problem(self, cost, penalty, dropout_rates, n_shards):
        """The ``Problem`` on these rows, split into ``n_shards`` on threads."""
        inputs = (
            kernel_input(self.X),
            kernel_targets(self.Y, self.sample_weight),
            cost,
            penalty,
            dropout_rates,
        )
        return ShardedProblem(*inputs, n_shards) if n_shards > 1 else Problem(*inputs)


def class_weights(class_weight, classes, present, counts):
    """One weight per class of ``classes`` from ``class_weight``.

    ``present`` are the indices of the classes in the data and ``counts``
    their numbers of samples. 'balanced' is scikit-learn's
    ``compute_class_weight`` (``n / (n_present * count)``, computed as it
    computes it), a dict gives each class its weight (1 if missing).
    """
    if class_weight == "balanced":
        counts = np.asarray(counts, dtype=np.float64)
        weights = counts.sum() / (present.shape[0] * counts)
    else:
        unknown = set(class_weight) - set(classes.tolist())
        if unknown:
            raise ValueError(
                f"class_weight has classes {sorted(unknown, key=str)} that are "
                f"not in the data; the classes are {classes.tolist()}."
            )
        weights = np.array([class_weight.get(label, 1.0) for label in classes[present]])
    per_class = np.ones(len(classes))
    per_class[present] = weights
    if not np.all(np.isfinite(per_class)) or np.any(per_class < 0):
        raise ValueError("class_weight values must be finite and non-negative.")
    return per_class


def labels_of(Y):
    """Each row's class index, from encoded single-label targets."""
    return Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.intp)


def weighted_samples(per_class, Y, sample_weight):
    """``sample_weight`` (None: ones) times the weight of each row's class."""
    per_sample = per_class[labels_of(Y)].astype(Y.dtype)
    if sample_weight is None:
        return np.ascontiguousarray(per_sample)
    return np.ascontiguousarray(sample_weight * per_sample)


def check_class_weight(class_weight, binarizer, incremental):
    """Errors for class weights a target or ``partial_fit`` cannot take."""
    if binarizer.y_type_.startswith("multilabel"):
        raise ValueError("class_weight is not supported for multilabel targets.")
    if incremental and class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' is not supported for partial_fit: the "
            "class frequencies of one batch are not those of the data. Pass "
            "a dict of class weights instead."
        )


def with_class_weight(class_weight, sample_weight, Y, binarizer, incremental):
    """``sample_weight`` times the weight of each sample's class."""
    if class_weight is None:
        return sample_weight
    check_class_weight(class_weight, binarizer, incremental)
    present, counts = np.unique(labels_of(Y), return_counts=True)
    per_class = class_weights(class_weight, binarizer.classes_, present, counts)
    return weighted_samples(per_class, Y, sample_weight)


def weighted_classes(Y, sample_weight):
    """Which classes have a row of positive weight (two entries for a
    binary target's one column), from encoded single-label targets."""
    positive = Y if sample_weight is None else Y[sample_weight > 0]
    if Y.shape[1] == 1:
        return np.array([(positive[:, 0] == 0).any(), (positive[:, 0] == 1).any()])
    return positive.sum(axis=0) > 0


def require_two_classes(seen):
    """A fit whose positive weights all fall on one class learns nothing."""
    if np.count_nonzero(seen) < 2:
        raise ValueError(
            "Only one class has samples with non-zero sample_weight; a "
            "classifier needs at least 2 classes to learn from."
        )


def check_weighted_classes(Y, sample_weight, binarizer):
    """``require_two_classes`` of the rows in memory."""
    if sample_weight is None or binarizer.y_type_.startswith(
        ("multilabel", "continuous")
    ):
        return
    require_two_classes(weighted_classes(Y, sample_weight))


class ValidationSet:
    """Validation rows in kernel form, with their labels.

    Parameters
    ----------
    x : Inputs
        The validation features (``_inputs.kernel_input``).
    targets : Targets
        Their encoded targets and sample weights.
    labels : ndarray
        Their labels (or values), as ``decode`` gives them.
    decode : callable
        Maps the network's outputs to labels (values), as ``predict`` does.
    regression : bool, default=False
        Whether the targets are a regressor's values: the outputs are then
        ``Network.values`` and the score the R², else ``predict_proba`` and
        the accuracy, as the estimators' ``score`` methods.
    """

    def __init__(self, x, targets, labels, decode, regression=False):
        self.x = x
        self.targets = targets
        self.labels = labels
        self.decode = decode
        self.regression = regression

    @classmethod
    def of(cls, binarizer, X, Y, sample_weight):
        """The validation set of checked rows ``X``, their encoded targets
        ``Y`` and weights (None: none), decoded with ``binarizer``."""
        return cls(
            kernel_input(X),
            kernel_targets(Y, sample_weight),
            decode(binarizer, Y),
            lambda outputs: decode(binarizer, outputs),
            isinstance(binarizer, Values),
        )

    def metrics(self, network, problem, theta):
        """Score and weighted mean cost (no penalty) of ``theta`` here."""
        logits = network.logits(theta, self.x)
        if self.regression:
            predicted, score = self.decode(network.values(logits)), r2_score
        else:
            predicted = self.decode(network.probabilities(logits))
            score = accuracy_score
        if predicted.dtype.kind == "f" and not np.isfinite(predicted).all():
            score = np.nan  # diverged, as scikit-learn's regressor scores it
        else:
            score = score(
                self.labels,
                predicted,
                sample_weight=self.targets.weights if self.targets.has_weight else None,
            )
        targets = self.targets
        total = problem.cost.sums(
            logits,
            targets.Y,
            targets.weights if targets.has_weight else None,
            np.empty_like(logits),
            np.empty(logits.shape[0]),
        )
        return float(score), float(total / weight_sum(self.targets))


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
# deviations, and of the ratio of the standard deviations. The user guide
# ("A validation set of your own") gives what they were measured on.
# Fewer rows than MIN_ROWS are too few to tell.
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
