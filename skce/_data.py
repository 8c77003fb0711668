"""The training rows of a fit: encoded targets, weights, and the problem on them.

``InMemoryData`` holds them in this process; ``skce.dask`` has the same
interface for rows that stay on a cluster's workers. The estimator asks
either for the same things: the label binarizer and dtype, the network's
input and output widths, a held-out validation set for early stopping, and
the ``Problem`` the solvers minimize.

The class weights live here too, split in two steps (one weight per class
from the class counts, then one per sample), so that data split over
workers is weighted with the same numbers as data in memory.
"""

import numpy as np

from ._boundary import kernel_input, kernel_targets
from ._problem import Problem
from ._targets import decode
from ._threads import ShardedProblem
from ._validation import ValidationSet, holdout_split


class InMemoryData:
    """Checked training rows in this process.

    Parameters
    ----------
    binarizer : LabelBinarizer
        The fit's classes and target type.
    X : ndarray or sparse matrix of dtype float32 or float64
        The features.
    Y : ndarray of shape (n_samples, n_outputs), same dtype
        The encoded targets (``_targets.encode``).
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
        return ValidationSet(
            kernel_input(held_out[0]),
            kernel_targets(held_out[1], held_out[2] if len(held_out) > 2 else None),
            decode(binarizer, held_out[1]),
            lambda proba: decode(binarizer, proba),
        )

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
    if sample_weight is None or binarizer.y_type_.startswith("multilabel"):
        return
    require_two_classes(weighted_classes(Y, sample_weight))
