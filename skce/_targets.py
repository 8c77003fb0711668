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


def fit_binarizer(y):
    """A fitted ``LabelBinarizer`` for the classification target ``y``."""
    if not _plain_labels(y):
        check_classification_targets(y)
        return LabelBinarizer().fit(y)
    binarizer = LabelBinarizer()
    binarizer.classes_ = np.unique(y)
    binarizer.y_type_ = "binary" if binarizer.classes_.shape[0] <= 2 else "multiclass"
    binarizer.sparse_input_ = False
    return binarizer


def encode(binarizer, y, dtype):
    """The target rows of ``y`` (one-hot, one column for two classes), as a
    C-contiguous ``dtype`` array; ``binarizer.transform(y)``, faster."""
    classes = binarizer.classes_
    if binarizer.y_type_ in ("binary", "multiclass") and _plain_labels(y):
        index = np.searchsorted(classes, y)
        if np.all(index < classes.shape[0]) and np.array_equal(classes[index], y):
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
