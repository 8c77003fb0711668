"""``DaskMLPCostClassifier`` and ``DaskMLPCostRegressor``: one model trained
across a Dask cluster.

Needs the ``dask`` extra (``pip install "skce[dask]"``). The training rows
stay on the workers; see :doc:`/scaling` ("One model across a cluster")
for when to use it rather than ``n_jobs`` or ``dask_ml``'s ``Incremental``.
"""

import inspect
import math

import dask
import dask.array as da
import numpy as np
import pandas as pd
import scipy.sparse as sp
from distributed import default_client

from . import _cluster
from ._data import check_class_weight, class_weights, require_two_classes
from ._estimator import MLPCostClassifier
from ._inputs import (
    Values,
    check_same_classes,
    check_two_classes,
    fit_binarizer,
    fit_values,
)
from ._regressor import MLPCostRegressor

__all__ = ["DaskMLPCostClassifier", "DaskMLPCostRegressor"]


class _OnCluster:
    """What both Dask estimators share: the client, cloning and pickling
    without it, ``to_local``, the training rows on the workers (all but
    their targets, ``_cluster_targets``) and prediction by partition."""

    #: The in-memory estimator this one trains as.
    _local_class = None

    # -- the client ---------------------------------------------------------

    @property
    def client_(self):
        """The Dask client of this model: ``client`` or the default one."""
        if self.client is not None:
            client = self.client
        else:
            try:
                client = default_client()
            except ValueError:
                raise ValueError(
                    "No Dask client: pass one as client=..., or start one "
                    "(distributed.Client) before fitting."
                ) from None
        if client.status in ("closed", "closing"):
            raise ValueError(
                "The Dask client is closed: pass an open client as client=... "
                "or start one (distributed.Client) before fitting."
            )
        return client

    def __sklearn_clone__(self):
        # The client is a handle to shared resources, not state: the clone
        # gets the same client, never a copy of it.
        client, self.client = self.client, None
        try:
            twin = super().__sklearn_clone__()
        finally:
            self.client = client
        twin.client = client
        return twin

    def __getstate__(self):
        # A client holds sockets and threads: it is never saved.
        return {**super().__getstate__(), "client": None}

    def to_local(self):
        """This model as the plain in-memory estimator.

        Same parameters (but ``client`` and ``sync_every``) and fitted
        attributes, copied; for use without Dask, ONNX export and the like.
        """
        params = self.get_params(deep=False)
        del params["client"], params["sync_every"]
        local = self._local_class(**params)
        for name in self._fitted_attributes:
            if name in vars(self):
                value = vars(self)[name]
                local.__dict__[name] = value.copy() if hasattr(value, "copy") else value
        return local

    @property
    def partial_fit(self):
        name = self._local_class.__name__
        raise AttributeError(
            f"{type(self).__name__} has no partial_fit: stream the blocks of a "
            f"dask array through dask_ml.wrappers.Incremental({name}())."
        )

    # -- fit ----------------------------------------------------------------

    def _training_data(self, X, y, sample_weight, spec, binarizer):
        """The rows of ``X`` and ``y`` (and ``sample_weight``) where they are,
        prepared once on the workers that hold them."""
        _check_sync_every(self.sync_every, type(self).__name__)
        client = self.client_
        names = getattr(X, "columns", None)
        X, y, sample_weight = _aligned_collections(X, y, sample_weight, client, self)
        if spec.continuing:
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is "
                    f"expecting {self.n_features_in_} features as input."
                )
        else:
            self.n_features_in_ = X.shape[1]
            self.__dict__.pop("feature_names_in_", None)
            if names is not None and all(isinstance(name, str) for name in names):
                self.feature_names_in_ = np.asarray(names, dtype=object)
        binarizer, per_class = self._cluster_targets(y, spec)
        if spec.continuing:
            dtype = self.theta_.dtype
        else:
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        partitions, summaries = _cluster.persist_partitions(
            client, _partitions(X, y, sample_weight), binarizer, dtype, per_class
        )
        return _DistributedData(
            client, binarizer, dtype, X.shape[1], partitions, summaries, self
        )

    # -- predict ------------------------------------------------------------

    def _by_partition(self, X):
        """A dask collection as a dask array, and the plain model that
        predicts its partitions (which carry no column names: they are checked
        here, once)."""
        names = getattr(X, "columns", None)
        local = self.to_local()
        expected = vars(self).get("feature_names_in_")
        if names is not None and expected is not None:
            if list(names) != list(expected):
                raise ValueError(
                    "The feature names should match those that were passed "
                    f"during fit: got {list(names)}, fitted with {list(expected)}."
                )
        local.__dict__.pop("feature_names_in_", None)
        return _as_dask_array(X, "X"), local


class DaskMLPCostClassifier(_OnCluster, MLPCostClassifier):
    """``MLPCostClassifier`` trained on data that stay on a Dask cluster.

    Takes every parameter of :class:`~skce.MLPCostClassifier` with the same
    meaning, plus ``client`` and ``sync_every``. ``X`` and ``y`` (and
    ``sample_weight``) are dask arrays or dataframes, or NumPy arrays,
    which are split into one partition per worker. Each partition is
    prepared once on the worker that holds it and stays there; only the
    parameters travel.

    - 'lbfgs' and 'gd' are exact: the full-batch loss and gradient are sums
      over rows, computed per partition on the workers and added on the
      client in partition order. The fit is the in-memory fit that adds the
      same partitions in the same order, bit for bit, and agrees with a
      plain ``MLPCostClassifier.fit`` to rounding.
    - 'sgd' and 'adam' run local SGD: each partition takes mini-batch
      steps on its own rows from its own copy of the parameters (and
      optimizer vectors), and the copies are reset to their average,
      weighted by row counts, ``1 / sync_every`` times per epoch. So that
      the hyper-parameters of an in-memory fit give the same quality, each
      partition's batches are its share of ``batch_size`` (it takes the
      in-memory number of steps per epoch), and Adam's step size is
      multiplied by the square root of the ratio of the batch sizes. With
      one partition this is the in-memory fit, bit for bit; with several it
      is an approximation, measured at most 0.6 points of test accuracy
      below the in-memory fit (see :ref:`the measured table <local-sgd>`).

    Parameters
    ----------
    hidden_layer_sizes, activation, **params
        As for :class:`~skce.MLPCostClassifier`. ``n_jobs`` is not used.

    client : distributed.Client, default=None
        The client of the cluster to train on; None: the default client at
        fit time (``distributed.default_client()``). Not saved with the
        model.

    sync_every : int or float, default=0.25
        Epochs of local SGD ('sgd', 'adam') between two averages of the
        partitions' copies. A fraction splits each epoch into
        ``round(1 / sync_every)`` rounds of whole mini-batches, averaged
        after each: the default averages four times per epoch. Larger
        values average less often (less traffic) and drift further from
        the in-memory fit. Values of 1 and more must be whole numbers.

    Attributes
    ----------
    client_ : distributed.Client
        The client used to fit (``client``, or the default client).

    Other attributes are those of :class:`~skce.MLPCostClassifier`.

    Notes
    -----
    Early stopping needs a validation set given to ``fit`` (``X_val`` and
    ``y_val``, dask or NumPy, gathered on the client): holding out a random
    fraction of distributed rows would move rows between workers.
    ``partial_fit`` is not offered; stream blocks through
    ``dask_ml.wrappers.Incremental(MLPCostClassifier(...))`` instead.
    Multilabel and sparse input are not supported.

    References
    ----------
    Stich, Sebastian U. "Local SGD converges fast and communicates little."
    ICLR 2019.

    Lin, Tao, Sebastian U. Stich, Kumar Kshitij Patel, and Martin Jaggi.
    "Don't use large mini-batches, use local SGD." ICLR 2020.

    Woodworth, Blake, et al. "Is local SGD better than minibatch SGD?" ICML
    2020.

    Examples
    --------
    >>> from dask.distributed import Client, LocalCluster
    >>> import dask.array as da
    >>> from sklearn.datasets import load_digits
    >>> from skce.dask import DaskMLPCostClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = da.from_array(X / 16.0, chunks=600), da.from_array(y, chunks=600)
    >>> cluster = LocalCluster(n_workers=2, processes=False, dashboard_address=":0")
    >>> with cluster, Client(cluster):
    ...     clf = DaskMLPCostClassifier((20,), solver="lbfgs", tol=1e-3,
    ...                                 random_state=0).fit(X, y)
    ...     proba = clf.predict_proba(X[:5]).compute()
    >>> proba.shape
    (5, 10)
    >>> type(clf.to_local()).__name__
    'MLPCostClassifier'
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        client=None,
        sync_every=0.25,
        **params,
    ):
        super().__init__(hidden_layer_sizes, activation, **params)
        self.client = client
        self.sync_every = sync_every

    _local_class = MLPCostClassifier

    def _cluster_targets(self, y, spec):
        """The label binarizer of the distributed labels, and the weight of
        each class (None: no class weights)."""
        labels, counts = dask.compute(*da.unique(y, return_counts=True))
        if spec.continuing:
            check_same_classes(labels, self.classes_)
            binarizer = self._label_binarizer
        else:
            binarizer, _ = fit_binarizer(labels)
            check_two_classes(binarizer.classes_, self)
        per_class = None
        if spec.class_weight is not None:
            check_class_weight(spec.class_weight, binarizer, spec.incremental)
            present = np.searchsorted(binarizer.classes_, labels)
            per_class = class_weights(
                spec.class_weight, binarizer.classes_, present, counts
            )
        return binarizer, per_class

    # -- predict ------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities; a dask array for dask input (lazily)."""
        if not _is_dask(X):
            return super().predict_proba(X)
        X, local = self._by_partition(X)
        sample = local.predict_proba(np.zeros((1, X.shape[1]), dtype=X.dtype))
        return X.map_blocks(
            _proba_partition,
            local,
            dtype=sample.dtype,
            chunks=(X.chunks[0], (sample.shape[1],)),
        )

    def predict(self, X):
        """Predicted labels; a dask array for dask input (lazily)."""
        if not _is_dask(X):
            return super().predict(X)
        X, local = self._by_partition(X)
        return X.map_blocks(
            _predict_partition,
            local,
            dtype=self.classes_.dtype,
            drop_axis=1,
        )

    def predict_log_proba(self, X):
        """Logarithms of ``predict_proba``; a dask array for dask input."""
        if not _is_dask(X):
            return super().predict_log_proba(X)
        return da.log(self.predict_proba(X))


class DaskMLPCostRegressor(_OnCluster, MLPCostRegressor):
    """``MLPCostRegressor`` trained on data that stay on a Dask cluster.

    Takes every parameter of :class:`~skce.MLPCostRegressor` with the same
    meaning, plus ``client`` and ``sync_every``, and trains as
    :class:`DaskMLPCostClassifier` does: 'lbfgs' and 'gd' exactly (the sums
    over rows are computed per partition and added in partition order),
    'sgd' and 'adam' by local SGD with the in-memory hyper-parameters. ``y``
    may have several columns.

    Parameters
    ----------
    loss, hidden_layer_sizes, activation, **params
        As for :class:`~skce.MLPCostRegressor`. ``n_jobs`` is not used.

    client : distributed.Client, default=None
        The client of the cluster to train on; None: the default client at
        fit time. Not saved with the model.

    sync_every : int or float, default=0.25
        Epochs of local SGD between two averages of the partitions' copies,
        as for :class:`DaskMLPCostClassifier`.

    Attributes
    ----------
    client_ : distributed.Client
        The client used to fit (``client``, or the default client).

    Other attributes are those of :class:`~skce.MLPCostRegressor`.

    Notes
    -----
    Early stopping needs a validation set given to ``fit`` (``X_val`` and
    ``y_val``). ``partial_fit`` is not offered, and sparse input is not
    supported.

    Examples
    --------
    >>> from dask.distributed import Client, LocalCluster
    >>> import dask.array as da
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import scale
    >>> from skce.dask import DaskMLPCostRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X, y = da.from_array(scale(X), chunks=250), da.from_array(y, chunks=250)
    >>> cluster = LocalCluster(n_workers=2, processes=False, dashboard_address=":0")
    >>> with cluster, Client(cluster):
    ...     reg = DaskMLPCostRegressor("huber", (), huber_threshold=30.0,
    ...                                solver="lbfgs", max_iter=1000).fit(X, y)
    ...     predicted = reg.predict(X[:5]).compute()
    >>> predicted.shape
    (5,)
    >>> type(reg.to_local()).__name__
    'MLPCostRegressor'
    """

    _local_class = MLPCostRegressor

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        client=None,
        sync_every=0.25,
        **params,
    ):
        super().__init__(loss, hidden_layer_sizes, activation, **params)
        self.client = client
        self.sync_every = sync_every

    def _cluster_targets(self, y, spec):
        """The ``Values`` of the distributed targets; no class weights."""
        if y.dtype.kind not in "biuf":
            raise ValueError(
                f"{type(self).__name__} predicts numbers, but y has dtype "
                f"{y.dtype}: use DaskMLPCostClassifier to predict classes."
            )
        return fit_values(self, y, spec), None

    def predict(self, X):
        """Predicted values; a dask array for dask input (lazily)."""
        if not _is_dask(X):
            return super().predict(X)
        X, local = self._by_partition(X)
        if self.n_outputs_ == 1:
            return X.map_blocks(
                _predict_partition, local, dtype=self.theta_.dtype, drop_axis=1
            )
        return X.map_blocks(
            _predict_partition,
            local,
            dtype=self.theta_.dtype,
            chunks=(X.chunks[0], (self.n_outputs_,)),
        )


# The parameters are those of the in-memory estimator plus two: scikit-learn
# reads them from the signature, and one list of them (the parent's) is kept.
for _estimator, _parent in (
    (DaskMLPCostClassifier, MLPCostClassifier),
    (DaskMLPCostRegressor, MLPCostRegressor),
):
    _signature = inspect.signature(_parent.__init__)
    _estimator.__init__.__signature__ = _signature.replace(
        parameters=[
            *_signature.parameters.values(),
            inspect.Parameter("client", inspect.Parameter.KEYWORD_ONLY, default=None),
            inspect.Parameter(
                "sync_every", inspect.Parameter.KEYWORD_ONLY, default=0.25
            ),
        ]
    )


class _DistributedData:
    """The training rows of a Dask estimator's fit (see ``_data``)."""

    def __init__(
        self, client, binarizer, dtype, n_features, partitions, summaries, est
    ):
        self.client = client
        self.binarizer = binarizer
        self.dtype = np.dtype(dtype)
        self.n_features = n_features
        self.partitions = partitions
        self.summaries = summaries
        self.sync_every = est.sync_every
        if not any(total > 0 for _, total, _ in summaries):
            raise ValueError(
                "Sample weights must contain at least one non-zero number."
            )
        if isinstance(binarizer, Values):
            self.n_outputs = binarizer.n_outputs
        else:
            classes = len(binarizer.classes_)
            self.n_outputs = 1 if classes == 2 else classes
            require_two_classes(np.logical_or.reduce([s[2] for s in summaries]))

    def hold_out(self, fraction, random_state):
        raise ValueError(
            "early_stopping=True needs a validation set with the Dask "
            "estimators: pass X_val and y_val to fit. Holding out "
            "a random fraction of distributed rows would move rows between "
            "workers."
        )

    def gather(self, arrays):
        """The validation rows, brought to the client (as pandas or NumPy)."""
        return dask.compute(*arrays)

    def check_like(self, X_val):
        """Nothing: the training rows are not here to compare ``X_val`` with."""

    def problem(self, cost, penalty, dropout_rates, n_shards):
        return _cluster.ClusterProblem(
            self.client,
            self.partitions,
            self.summaries,
            cost,
            penalty,
            dropout_rates,
            self.sync_every,
        )


def _check_sync_every(value, owner):
    number = isinstance(value, (int, float, np.integer, np.floating))
    if (
        not number
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= 0
        or (value >= 1 and value != int(value))
    ):
        raise ValueError(
            f"The 'sync_every' parameter of {owner} must be a whole number of "
            "epochs >= 1 or a fraction of an epoch in (0, 1) (0.25: four "
            f"averages per epoch). Got {value!r} instead."
        )


def _is_dask(value):
    return hasattr(value, "__dask_graph__")


def _as_dask_array(value, name, lengths=True):
    """A dask array of a dask array or dataframe, with known chunk sizes."""
    if isinstance(value, da.Array):
        array = value
    elif hasattr(value, "to_dask_array"):
        if value.ndim == 2:  # a dataframe, not a series
            bad = [
                str(column)
                for column, dtype in value.dtypes.items()
                if not pd.api.types.is_numeric_dtype(dtype)
            ]
            if bad:
                raise ValueError(
                    f"{name} has non-numeric columns {bad}: encode them (for "
                    "example with dask_ml.preprocessing) before fitting."
                )
        # Extension dtypes (pandas strings, nullable ints) become plain NumPy
        # ones here, where dask would warn that it converts them.
        if value.ndim == 2:
            if not all(isinstance(dtype, np.dtype) for dtype in value.dtypes):
                value = value.astype(np.float64)
        elif not isinstance(value.dtype, np.dtype):
            value = value.astype(object)
        array = value.to_dask_array(lengths=lengths)
    else:
        raise TypeError(f"{name} must be a dask array or dataframe, got {type(value)}.")
    if any(math.isnan(size) for sizes in array.chunks for size in sizes):
        raise ValueError(
            f"{name} has partitions of unknown size (NaN in its chunks): call "
            f"{name}.compute_chunk_sizes() first, or pass a dask dataframe."
        )
    if array.ndim == 2 and len(array.chunks[1]) > 1:
        array = array.rechunk({1: -1})
    return array


def _aligned_collections(X, y, sample_weight, client, owner):
    """X, y and the weights as dask arrays with the same row partitions; ``y``
    of several columns for a regressor only."""
    name = type(owner).__name__
    if sp.issparse(X) or (
        isinstance(X, da.Array) and not isinstance(X._meta, np.ndarray)
    ):
        raise TypeError(f"{name} does not support sparse input.")
    if not _is_dask(X):
        X = np.asarray(X)
        n_workers = max(len(client.scheduler_info()["workers"]), 1)
        rows = max(math.ceil(X.shape[0] / n_workers), 1)
        X = da.from_array(X, chunks=(rows, -1))
    X = _as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got {X.ndim} dimension(s).")
    partitions = X.chunks[0]

    def aligned_like_X(value, name):
        if value is None:
            return None
        if not _is_dask(value):
            value = np.asarray(value)
            if value.shape[0] != X.shape[0]:
                raise ValueError(
                    f"{name} has {value.shape[0]} rows, X has {X.shape[0]}."
                )
            return da.from_array(value, chunks=(partitions,) + value.shape[1:])
        value = _as_dask_array(value, name)
        if value.chunks[0] != partitions:
            raise ValueError(
                f"The partitions of {name} do not line up with those of X: rows "
                f"per partition {value.chunks[0]} against {partitions}. Rechunk "
                f"{name} to X's chunks ({name}.rechunk(X.chunks[0]))."
            )
        return value

    y = aligned_like_X(y, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    regressor = isinstance(owner, MLPCostRegressor)
    if y.ndim != 1 and not (regressor and y.ndim == 2):
        raise ValueError(
            f"{name} supports single-label targets only: y must be "
            f"1-dimensional, got shape {y.shape}."
        )
    sample_weight = aligned_like_X(sample_weight, "sample_weight")
    empty = [i for i, size in enumerate(partitions) if size == 0]
    if empty:
        raise ValueError(
            f"X has empty partitions {empty}: every partition needs rows. "
            "Repartition the data (for dataframes, df.repartition(...))."
        )
    return X, y, sample_weight


def _partitions(X, y, sample_weight):
    """``(X, y, weight, first_row)`` delayed, one per partition."""
    xs = X.to_delayed().ravel()
    ys = y.to_delayed().ravel()
    ws = sample_weight.to_delayed().ravel() if sample_weight is not None else None
    starts = np.cumsum([0, *X.chunks[0]])
    return [
        (xs[i], ys[i], None if ws is None else ws[i], int(starts[i]))
        for i in range(len(xs))
    ]


def _proba_partition(part, model):
    return model.predict_proba(part)


def _predict_partition(part, model):
    return model.predict(part)
