"""Class labels and the target rows the kernels train on.

The estimator keeps a fitted ``LabelBinarizer`` (``_label_binarizer``), as
scikit-learn's MLP does, and decodes predictions with it. Fitting it and
encoding with it goes through ``type_of_target`` several times, about 2 ms
a fit whatever the data size; for the common case, a 1-D NumPy array of
numbers, booleans or strings, this module does the same with ``np.unique``
and ``np.searchsorted`` and fills in the same binarizer.
"""

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, unique_labels


def _plain_labels(y):
    """Whether ``y`` takes the fast path: a 1-D array of discrete labels."""
    if type(y) is not np.ndarray or y.ndim != 1 or y.dtype.kind not in "iubfU":
        return False
    if y.dtype.kind == "f" and not np.array_equal(y, y.astype(np.int64)):
        return False  # continuous (or non-finite): scikit-learn's error says so
    return True


def present_classes(y):
    """The sorted classes in ``y``, which must be a classification target."""
    if _plain_labels(y):
        return np.unique(y)
    check_classification_targets(y)
    return unique_labels(y)


def _unique(y):
    """``np.unique(y, return_inverse=True)``; for small non-negative ints by
    counting instead of sorting, a tenth of the time."""
    if (
        y.dtype.kind in "iu"
        and y.shape[0]
        and 0 <= y.min()
        and y.max() < 4 * y.shape[0]
    ):
        present = np.bincount(y) > 0
        rank = np.cumsum(present) - 1
        return np.flatnonzero(present).astype(y.dtype), rank[y]
    return np.unique(y, return_inverse=True)


def fit_binarizer(y):
    """A fitted ``LabelBinarizer`` for the classification target ``y``, and
    the index of each label in its ``classes_`` (None if not computed)."""
    if not _plain_labels(y):
        check_classification_targets(y)
        return LabelBinarizer().fit(y), None
    binarizer = LabelBinarizer()
    binarizer.classes_, index = _unique(y)
    binarizer.y_type_ = "binary" if binarizer.classes_.shape[0] <= 2 else "multiclass"
    binarizer.sparse_input_ = False
    return binarizer, index


def encode(binarizer, y, dtype, index=None):
    """The target rows of ``y`` (one-hot, one column for two classes), as a
    C-contiguous ``dtype`` array; ``binarizer.transform(y)``, faster.
    ``index``, if given, is where each label is in ``binarizer.classes_``."""
    classes = binarizer.classes_
    if binarizer.y_type_ in ("binary", "multiclass") and _plain_labels(y):
        if index is None:
            index = np.searchsorted(classes, y)
            if not np.all(index < classes.shape[0]) or not np.array_equal(
                classes[index], y
            ):
                index = None  # unseen labels: the binarizer's own rules
        if index is not None:
            if classes.shape[0] == 2:
                return (index == 1).astype(dtype).reshape(-1, 1)
            Y = np.zeros((y.shape[0], classes.shape[0]), dtype=dtype)
            Y[np.arange(y.shape[0]), index] = 1
            return Y
    return np.ascontiguousarray(binarizer.transform(y), dtype=dtype)


def decode(binarizer, proba):
    """Labels from probabilities (or target rows), as ``predict`` gives them."""
    if proba.shape[1] == 2 and binarizer.y_type_ == "binary":
        proba = proba[:, 1]
    return binarizer.inverse_transform(proba)
