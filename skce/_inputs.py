"""User arrays and labels to kernel arrays, and back.

The kernels trust their arguments (Numba does no bounds checks), so every
shape, dtype, contiguity and index range is settled here first: features
(``kernel_input``), target rows and sample weights (``kernel_targets``),
and the labels, encoded with the fit's ``LabelBinarizer`` and decoded from
predictions. ``checked_rows`` and ``checked_labels`` are the estimator's
checks of a fit's ``X`` and ``y``; ``checked_input`` those of a
prediction's ``X``.

The estimator keeps a fitted ``LabelBinarizer`` (``_label_binarizer``), as
scikit-learn's MLP does. Fitting one and encoding with it goes through
``type_of_target`` several times, a fixed cost of every fit; for the common
case, a 1-D NumPy array of numbers, booleans or strings, this module does
the same with ``np.unique`` and ``np.searchsorted`` and fills in the same
binarizer.
"""

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d, validate_data

from ._backprop import CSR, Targets


class Inputs(NamedTuple):
    """A feature matrix in kernel form: the ``X, csr`` pair of ``_backprop``.

    ``csr`` is None for dense input; for sparse input ``X`` is an empty
    ``(0, n_features)`` placeholder.
    """

    X: np.ndarray
    csr: CSR | None

    def flat(self):
        """``(X, csr)`` as the kernels take them: ``X`` flattened (a view),
        row after row."""
        return self.X.reshape(-1), self.csr

    @property
    def n_samples(self):
        return self.X.shape[0] if self.csr is None else self.csr.indptr.shape[0] - 1


def writeable(array, dtype=None):
    """``array`` as a C-contiguous, writeable array of ``dtype``.

    Read-only arrays (memory maps, pandas columns) are copied: the kernels
    are compiled for writeable arrays only, and a read-only argument would
    compile every kernel a second time.
    """
    array = np.ascontiguousarray(array, dtype=dtype)
    return array if array.flags.writeable else array.copy()


def kernel_input(X):
    """Convert an already checked float32/float64 matrix for the kernels.

    Dense input becomes C-contiguous and writeable. Sparse input becomes CSR
    with int64 indices whose ranges are checked.
    """
    if not sp.issparse(X):
        return Inputs(writeable(X), None)

    X = sp.csr_matrix(X)
    n_samples, n_features = X.shape
    data = writeable(X.data)
    indices = writeable(X.indices, dtype=np.int64)
    indptr = writeable(X.indptr, dtype=np.int64)
    if (
        indptr.shape[0] != n_samples + 1
        or indptr[0] != 0
        or indptr[-1] != indices.shape[0]
        or data.shape[0] != indices.shape[0]
        or np.any(np.diff(indptr) < 0)
        or (indices.shape[0] and (indices.min() < 0 or indices.max() >= n_features))
    ):
        raise ValueError(
            "The sparse matrix X is malformed: its index arrays do not match its "
            f"shape {X.shape}. Rebuild it with scipy.sparse.csr_array(...)."
        )
    placeholder = np.empty((0, n_features), dtype=data.dtype)
    return Inputs(placeholder, CSR(data, indices, indptr))


def kernel_targets(Y, sample_weight):
    """A ``Targets`` tuple of one-hot rows and optional weights (same dtype)."""
    Y = writeable(Y)
    if sample_weight is None:
        return Targets(Y, np.empty(0, dtype=Y.dtype), False)
    return Targets(Y, writeable(sample_weight, dtype=Y.dtype), True)


def weight_sum(targets):
    """The sum of the sample weights of ``targets`` (a ``Targets``), or their
    number of rows if unweighted, as a float."""
    if targets.has_weight:
        return float(targets.weights.sum(dtype=np.float64))
    return float(targets.Y.shape[0])


def check_sample_weight(sample_weight, n_samples, dtype, all_rows=True):
    """Checked sample weights as a contiguous array of ``dtype``, or None.

    Raises a ``ValueError`` for weights of the wrong shape, non-finite or
    negative weights, and weights that are all zero (unless ``all_rows`` is
    False: these are some of the training rows).
    """
    if sample_weight is None:
        return None
    if np.isscalar(sample_weight):
        sample_weight = np.full(n_samples, sample_weight)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"sample_weight must be numeric: {error}") from None
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight.shape == {weights.shape}, expected ({n_samples},)."
        )
    if not np.isfinite(weights).all():
        raise ValueError("sample_weight contains NaN or infinity.")
    if (weights < 0).any():
        raise ValueError("sample_weight must not contain negative weights.")
    if all_rows and not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return writeable(weights, dtype=dtype)


def all_finite(X):
    """Whether a float array has no NaN or infinity.

    Its sum is finite exactly when it has none, unless finite values
    overflow the sum; only then does the elementwise test run (the trick of
    scikit-learn's ``_assert_all_finite``, without a temporary array).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = X.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(X).all())


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
    if binarizer.y_type_ in ("binary", "multiclass") and _plain_labels(y):
        classes = binarizer.classes_
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


# Plain float arrays up to this many values are checked inline at predict
# time (see checked_input); larger ones go through validate_data.
_FAST_PATH_SIZE = 10_000


def refuse_collections(owner, **arrays):
    """A ``TypeError`` for a dask collection given to an in-memory fit."""
    for name, value in arrays.items():
        if hasattr(value, "__dask_graph__"):
            raise TypeError(
                f"{type(owner).__name__} trains in memory, and {name} is a "
                f"dask collection ({type(value).__name__}): it would be "
                "pulled into this process whole. Use "
                "skce.dask.DaskMLPCostClassifier to train on the cluster "
                "where the data live, or call .compute() to train here."
            )


def checked_rows(estimator, X, y, reset, dtype=None, numeric=False):
    """``validate_data`` of a fit's ``X`` and ``y``, with a lean path.

    Training rows (``dtype`` None) keep float32 or float64; a C- or
    F-ordered float array and a 1-D array of labels get the checks
    ``validate_data`` would make, without its overhead, which is most of a
    ``partial_fit`` on a few rows. Validation rows are converted to the
    training rows' ``dtype``. A column vector ``y`` becomes 1-D, with
    scikit-learn's warning for training rows. A regressor's ``y`` is
    ``numeric``: float64 values (``refuse_labels``).
    """
    if numeric:
        refuse_labels(estimator, y)
    if (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in (np.float32, np.float64)
        and X.shape[0] >= 1
        and X.shape[1] >= 1
        and type(y) is np.ndarray
        and y.shape == (X.shape[0],)
        and (y.dtype == np.float64 if numeric else y.dtype.kind in "iubU")
        and (reset or _known_columns(estimator, X))
        and dtype is None
        and all_finite(X)
        and (not numeric or all_finite(y))
    ):
        if reset:
            estimator.n_features_in_ = X.shape[1]
            estimator.__dict__.pop("feature_names_in_", None)
        return X, y
    X, y = validate_data(
        estimator,
        X,
        y,
        accept_sparse=["csr", "csc"],
        multi_output=True,
        y_numeric=numeric,
        dtype=(np.float64, np.float32) if dtype is None else dtype,
        reset=reset,
    )
    if numeric:
        y = y.astype(np.float64, copy=False)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=dtype is None)
    return X, y


def refuse_labels(estimator, y):
    """A ``ValueError`` for class labels (strings, objects that are not
    numbers) given to a regressor as its ``y``."""
    if sp.issparse(y):
        return
    values = np.asarray(y)
    if values.dtype.kind in "USO":
        try:
            values.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{type(estimator).__name__} predicts numbers, but y holds class "
                "labels (strings or other objects): use MLPCostClassifier to "
                "predict classes."
            ) from None


def _known_columns(estimator, X):
    return X.shape[1] == estimator.n_features_in_ and "feature_names_in_" not in vars(
        estimator
    )


def checked_input(estimator, X, dtype):
    """A prediction's ``X`` in kernel form, in the precision of the model.

    scikit-learn's rule: the output is float32 only when both the model
    (``dtype``) and ``X`` are; any other input (float64, integers, lists)
    is predicted in float64, with the weights upcast.
    """
    single = dtype == np.float32
    if (
        type(X) is np.ndarray
        and X.size <= _FAST_PATH_SIZE
        and X.ndim == 2
        and X.shape[0] >= 1
        and X.dtype == dtype
        and _known_columns(estimator, X)
        and all_finite(X)
    ):
        # The checks validate_data would make, without its fixed overhead,
        # which dominates the prediction of a few rows.
        return kernel_input(X)
    X = validate_data(
        estimator,
        X,
        accept_sparse=["csr", "csc"],
        dtype=("numeric" if single else np.float64),
        reset=False,
    )
    if X.dtype != np.float64 and not (single and X.dtype == np.float32):
        X = X.astype(np.float64)
    return kernel_input(X)


def check_two_classes(classes, owner):
    """A classifier learns from at least 2 classes."""
    if len(classes) < 2:
        # The label as the user wrote it ('cat', 3), not NumPy's repr of its
        # scalar (np.str_('cat')).
        label = getattr(classes[0], "item", lambda: classes[0])()
        raise ValueError(
            f"{type(owner).__name__} needs samples of at least 2 classes in "
            f"the data, but the data contain only one class: {label!r}."
        )


def check_same_classes(classes, fitted):
    """A warm start's ``y`` has exactly the classes of the previous fit."""
    if set(np.asarray(classes).tolist()) != set(fitted.tolist()):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in "
            f"the previous call to fit. Previously got {fitted}, `y` has "
            f"{classes}"
        )


def fit_labels(estimator, y, spec, binarizer=None):
    """The label binarizer of this fit, checking ``y`` against it, and the
    index of each label in its classes when that came for free.

    ``binarizer`` is given by the first ``partial_fit`` (from ``classes``).
    """
    if binarizer is not None:
        return binarizer, None
    if not spec.continuing:
        binarizer, index = fit_binarizer(y)
        check_two_classes(binarizer.classes_, estimator)
        return binarizer, index
    classes = present_classes(y)
    fitted = estimator.classes_
    if not spec.incremental:
        check_same_classes(classes, fitted)
    elif not set(classes.tolist()) <= set(fitted.tolist()):
        raise ValueError(
            f"`y` has classes not in `self.classes_`. `self.classes_` has "
            f"{fitted}. 'y' has {classes}."
        )
    return estimator._label_binarizer, None


def partial_fit_binarizer(estimator, y, classes, given_weights):
    """The binarizer of the first ``partial_fit`` (None on later calls),
    from ``classes`` (or a multilabel ``y``); checks later calls' ``classes``."""
    if hasattr(estimator, "theta_") and given_weights:
        raise ValueError(
            "coefs_init and intercepts_init start a network: partial_fit takes "
            "them on its first call only."
        )
    if hasattr(estimator, "classes_"):
        if classes is not None and not np.array_equal(
            np.unique(classes), estimator.classes_
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on the first call to "
                f"partial_fit, which was {estimator.classes_!r}."
            )
        return None
    multilabel = type_of_target(y).startswith("multilabel")
    if classes is None and not multilabel:
        raise ValueError("classes must be passed on the first call to partial_fit.")
    binarizer, _ = fit_binarizer(y if multilabel else np.asarray(classes))
    check_two_classes(binarizer.classes_, estimator)
    return binarizer


class Values:
    """A regressor's targets: the counterpart of the classifier's label
    binarizer, with the parts of its interface a fit uses. The target rows
    are the values themselves, one column per output.

    Parameters
    ----------
    n_outputs : int
        The number of target columns.
    """

    def __init__(self, n_outputs):
        self.n_outputs = n_outputs
        self.y_type_ = "continuous" if n_outputs == 1 else "continuous-multioutput"

    def transform(self, y):
        """The target rows ``(n_samples, n_outputs)`` of ``y``."""
        y = np.asarray(y)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    @staticmethod
    def inverse_transform(outputs):
        """Predictions from output rows: 1-D for one output, as scikit-learn's
        ``MLPRegressor`` predicts (also for a ``y`` of one column)."""
        return outputs.ravel() if outputs.shape[1] == 1 else outputs


def fit_values(estimator, y, spec):
    """The ``Values`` of a regressor's fit, checking that a continued fit
    has the previous fit's number of outputs."""
    values = Values(1 if y.ndim == 1 else y.shape[1])
    if spec.continuing and values.n_outputs != estimator.n_outputs_:
        raise ValueError(
            f"y has {values.n_outputs} output(s), but the fitted model has "
            f"{estimator.n_outputs_}: a warm start and partial_fit continue a "
            "network with the same outputs."
        )
    spec.cost.check_targets(y)
    return values


def check_seen_classes(binarizer, y_val):
    """A classifier's validation labels are classes of its training rows."""
    unseen = np.setdiff1d(present_classes(y_val), binarizer.classes_)
    if binarizer.y_type_ != "multilabel-indicator" and len(unseen):
        raise ValueError(f"y_val has classes not seen in y: {unseen.tolist()}.")


def training_rows(
    estimator, X, y, sample_weight, spec, binarizer=None, regression=False
):
    """A fit's rows, checked: ``(binarizer, X, Y, sample_weight)``.

    ``X`` in the fit's precision (the fitted model's when continuing), the
    label binarizer (``fit_labels``) or, for a ``regression``, the
    ``Values`` (``fit_values``), the encoded targets ``Y`` and the sample
    weights (None: none), not yet multiplied by class weights.
    """
    refuse_collections(estimator, X=X, y=y, sample_weight=sample_weight)
    X, y = checked_rows(estimator, X, y, reset=not spec.continuing, numeric=regression)
    if regression:
        binarizer, index = fit_values(estimator, y, spec), None
    else:
        binarizer, index = fit_labels(estimator, y, spec, binarizer)
    dtype = estimator.theta_.dtype if spec.continuing else X.dtype
    X = X.astype(dtype, copy=False)
    Y = encode(binarizer, y, dtype, index)
    return binarizer, X, Y, check_sample_weight(sample_weight, X.shape[0], dtype)


def validation_rows(estimator, binarizer, dtype, n_outputs, X_val, y_val, weights):
    """The rows given to ``fit`` for validation, checked as training rows are:
    ``(X_val, Y_val, sample_weight_val)``, or None when none are given."""
    if X_val is None and y_val is None:
        if weights is not None:
            raise ValueError("sample_weight_val is given without X_val and y_val.")
        return None
    if X_val is None or y_val is None:
        raise ValueError("X_val and y_val must be given together.")
    regression = isinstance(binarizer, Values)
    X_val, y_val = checked_rows(estimator, X_val, y_val, False, dtype, regression)
    if not regression:
        check_seen_classes(binarizer, y_val)
    Y_val = encode(binarizer, y_val, dtype)
    if Y_val.shape[1] != n_outputs:
        raise ValueError(f"y_val has {Y_val.shape[1]} outputs, y has {n_outputs}.")
    return X_val, Y_val, check_sample_weight(weights, X_val.shape[0], dtype)
