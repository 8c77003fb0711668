"""``Network``: the shape of an MLP and the layout of its parameter vector.

For each weight layer ``l`` the flat vector ``theta`` holds ``W_l``
(``layer_units[l] x layer_units[l + 1]``, row-major) followed by ``b_l``.
This module is the one place that lays it out: the views (``coefs_``,
``intercepts_``, and the weights given to ``fit``), the checks of a
``theta_`` the kernels will read, the initialization, and the offsets the
kernels read (``Net.offsets``).
"""

import functools

import numpy as np

from ._ahead import KernelUnit, PieceUnit, planned
from ._backprop import FORWARD, Net, predict_logits, workspace_size
from ._cores import Threads, thread_share
from ._epoch import NO_CALLS, Options
from ._output import (
    binary,
    logistic_outputs,
    normalized_logistic,
    probabilities,
    softmax,
)
from ._pieces import signature_of
from ._team import ALONE
from .activations import Logistic, restored

# Rows per chunk in prediction: large enough for efficient matrix products,
# small enough that the hidden activations stay in cache.
_PREDICT_CHUNK = 1024

# Multiply-adds per thread below which a prediction stays on one thread, so
# that each thread's products outweigh starting it many times over (the
# speed of the split is in docs/performance.rst, "Against the code before
# issue 20").
_PREDICT_THREAD_WORK = 20_000_000

# The named initialisations of the weight_init parameter.
WEIGHT_INITS = ("glorot_uniform", "normal_fan_in", "standard_normal")

# predict_proba keeps sigmoid outputs strictly inside (0, 1): the smallest
# positive normal float and the largest float below one, per dtype.
_PROBABILITY_BOUNDS = {
    np.dtype(dtype): (
        float(np.finfo(dtype).tiny),
        float(np.nextafter(dtype(1), dtype(0))),
    )
    for dtype in (np.float32, np.float64)
}


def parameter_offsets(layer_units):
    """Where each ``W_l`` and ``b_l`` starts in ``theta``, then its length.

    Returns int64 ``[W_0, b_0, W_1, b_1, ..., n_parameters]``.
    """
    offsets = [0]
    for n_in, n_out in zip(layer_units[:-1], layer_units[1:], strict=True):
        offsets.append(offsets[-1] + int(n_in) * int(n_out))
        offsets.append(offsets[-1] + int(n_out))
    return np.array(offsets, dtype=np.int64)


def network_for(data, cost, spec):
    """The network a fit trains: ``spec``'s hidden layers between the data's
    features and outputs, with the output units of ``cost``."""
    output = cost.output_activation
    return Network(
        [data.n_features, *spec.hidden_layer_sizes, data.n_outputs],
        spec.activation,
        output,
        normalizes(output, data.binarizer.y_type_),
    )


def normalizes(output, target_type):
    """Whether ``predict_proba`` scales the outputs to sum to one: logistic
    outputs of a multiclass target."""
    return output == "logistic" and target_type == "multiclass"


@functools.lru_cache(maxsize=256)
def fitted_network(layer_units, activation, output, normalize):
    """The ``Network`` of a fitted model, made once per shape (``layer_units``
    a tuple). Prediction of a few rows would otherwise spend more time laying
    out the network than computing it. Treat the result as read-only."""
    return Network(layer_units, activation, output, normalize)


class Network:
    """An MLP's layer sizes, hidden activation and output units.

    Parameters
    ----------
    layer_units : sequence of int
        Widths of every layer, input and output included.
    activation : Activation, str or tuple
        Activation of the hidden layers: an ``skce.activations.Activation``,
        or what a fitted model stores of one (``activations.stored``).
    output : {'softmax', 'logistic', 'identity', 'exp'}
        What the output units compute from their logits.
    normalize : bool, default=False
        Whether ``predict_proba`` scales logistic outputs to sum to one (a
        multiclass target under a logistic-output cost).
    """

    def __init__(self, layer_units, activation, output, normalize=False):
        self.layer_units = np.asarray(layer_units, dtype=np.int64)
        self.activation = restored(activation)
        self.output = output
        self.normalize = bool(normalize)
        self.offsets = parameter_offsets(self.layer_units)
        self.net = Net(self.layer_units, self.offsets, self.activation.keeps_inputs)

    @property
    def n_parameters(self):
        return int(self.offsets[-1])

    @property
    def n_outputs(self):
        return int(self.layer_units[-1])

    def options(self, dtype, cost=None, step=None, later=tuple):
        """The ``Options`` of a run of this network on arrays of ``dtype``
        (see ``_epoch.Options``): training on ``cost`` (None: predicting),
        with the optimizer's ``step`` piece (None: adding up sums)."""
        return Options(self.activation, cost, step, np.dtype(dtype), later)

    def output_piece(self, dtype):
        """The ``_ahead`` unit of the piece ``predict_proba`` (or a
        regressor's ``predict``) runs on the logits, or None: identity or
        exponential outputs need none."""
        if self.output in ("identity", "exp"):
            return None
        if self.n_outputs == 1:
            piece = binary
        elif self.output == "softmax":
            piece = softmax
        else:
            piece = normalized_logistic if self.normalize else logistic_outputs
        return PieceUnit(piece, np.dtype(dtype))

    def views(self, theta):
        """Lists ``(coefs, intercepts)`` of views into ``theta``, one per layer."""
        coefs, intercepts = [], []
        units, offsets = self.layer_units, self.offsets
        for layer in range(len(units) - 1):
            start, middle, stop = offsets[2 * layer : 2 * layer + 3]
            coefs.append(theta[start:middle].reshape(units[layer], units[layer + 1]))
            intercepts.append(theta[middle:stop])
        return coefs, intercepts

    def assign(self, theta, coefs=None, intercepts=None):
        """Copy given weights and biases (None: keep) into ``theta``'s views."""
        coef_views, intercept_views = self.views(theta)
        if coefs is not None:
            assign_layers(coef_views, coefs, "coefs_init")
        if intercepts is not None:
            assign_layers(intercept_views, intercepts, "intercepts_init")

    def check_theta(self, theta):
        """``theta``, checked so that the kernels cannot read out of bounds.

        A read-only ``theta`` (say, loaded from a memory map) comes back as
        a writeable copy: the kernels are compiled for writeable arrays only.
        """
        expected = self.n_parameters
        if (
            not isinstance(theta, np.ndarray)
            or theta.shape != (expected,)
            or theta.dtype not in (np.float32, np.float64)
            or not theta.flags.c_contiguous
        ):
            raise ValueError(
                f"theta_ must be a contiguous float32 or float64 vector of "
                f"{expected} parameters for layer sizes "
                f"{self.layer_units.tolist()}; it was replaced by an array of "
                f"shape {np.shape(theta)} and dtype {getattr(theta, 'dtype', None)}."
            )
        return theta if theta.flags.writeable else theta.copy()

    def check_continued_by(self, network, cost):
        """A ``ValueError`` unless ``network`` (of a warm start or
        ``partial_fit`` with ``cost``) is this fitted one."""
        if not np.array_equal(network.layer_units, self.layer_units):
            raise ValueError(
                "warm_start and partial_fit need the network of the previous "
                f"fit, with layer sizes {self.layer_units.tolist()}, but the data "
                f"and hidden_layer_sizes give {network.layer_units.tolist()}. Set "
                "warm_start=False to start a new network."
            )
        if network.activation != self.activation:
            raise ValueError(
                f"activation={network.activation.label} differs from the "
                f"activation {self.activation.label} of the fitted network. Set "
                "warm_start=False to start a new network."
            )
        if network.output != self.output:
            raise ValueError(
                f"The cost {cost!r} needs {network.output} outputs but the fitted "
                f"network has {self.output} outputs. Set warm_start=False to "
                "start a new network."
            )

    def weight_mask(self):
        """A boolean vector shaped like ``theta``: True on the weights ``W_l``."""
        mask = np.zeros(self.n_parameters, dtype=bool)
        for layer in range(len(self.layer_units) - 1):
            mask[self.offsets[2 * layer] : self.offsets[2 * layer + 1]] = True
        return mask

    def initial_theta(self, weight_init, dtype, random_state):
        """A new parameter vector drawn by ``weight_init`` from ``random_state``.

        Per layer the weights are drawn first, then the biases, in float64,
        then cast. 'glorot_uniform' draws as scikit-learn's MLP does:
        Glorot-uniform bounds ``sqrt(factor / (fan_in + fan_out))`` with
        factor 2 for logistic hidden units and 6 otherwise, for weights and
        biases alike; keeping its order lets a skce model start from exactly
        the weights of an ``MLPClassifier`` with the same ``random_state``.
        'normal_fan_in' is Nielsen's default (weights N(0, 1/fan_in), biases
        N(0, 1)), 'standard_normal' his "large" start (N(0, 1) for both). A
        callable ``(n_in, n_out, rng) -> (W, b)`` draws each layer itself.
        """
        theta = np.empty(self.n_parameters, dtype=dtype)
        for coef, intercept in zip(*self.views(theta), strict=True):
            coef[...], intercept[...] = self._draw_layer(
                weight_init, *coef.shape, random_state
            )
        return theta

    def _draw_layer(self, weight_init, n_in, n_out, rng):
        if weight_init == "glorot_uniform":
            factor = 2.0 if isinstance(self.activation, Logistic) else 6.0
            bound = np.sqrt(factor / (n_in + n_out))
            weights = rng.uniform(-bound, bound, (n_in, n_out))
            return weights, rng.uniform(-bound, bound, n_out)
        if weight_init == "normal_fan_in":
            weights = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out))
            return weights, rng.normal(0.0, 1.0, n_out)
        if weight_init == "standard_normal":
            weights = rng.normal(0.0, 1.0, (n_in, n_out))
            return weights, rng.normal(0.0, 1.0, n_out)
        return _checked_draw(weight_init(n_in, n_out, rng), n_in, n_out)

    def logits(self, theta, x):
        """Output logits ``(n_samples, n_outputs)`` for kernel inputs ``x``.

        Large predictions run on the cores a fit would use
        (``_cores.thread_share``), each thread on its own consecutive
        chunks of rows: every row is computed as on one thread, so the
        numbers do not depend on the number of threads.
        """
        X, csr = x
        n_samples = X.shape[0] if csr is None else csr.indptr.shape[0] - 1
        Z = np.empty((n_samples, self.n_outputs), dtype=theta.dtype)
        if n_samples == 0:
            return Z
        chunk = min(_PREDICT_CHUNK, n_samples)
        n_chunks = -(-n_samples // chunk)
        units = [int(u) for u in self.layer_units]
        per_row = sum(a * b for a, b in zip(units[:-1], units[1:], strict=True))
        n_threads = thread_share(
            min(n_chunks, n_samples * per_row // _PREDICT_THREAD_WORK)
        )
        rows = np.arange(n_samples)
        X_flat = X.reshape(-1)
        work = workspace_size(self.layer_units, chunk, self.net.keeps_inputs)
        calls, forward = self._prediction(theta, X_flat, csr, rows, work)
        if forward is None:  # collected (``_ahead.collecting``): nothing runs
            return Z

        def part(t):
            lo = t * n_chunks // n_threads * chunk
            hi = min((t + 1) * n_chunks // n_threads * chunk, n_samples)
            predict_logits(
                X_flat[lo * X.shape[1] : hi * X.shape[1]] if csr is None else X_flat,
                csr,
                rows[lo:hi],
                theta,
                self.net,
                calls,
                forward,
                chunk,
                np.empty(work, dtype=theta.dtype),
                Z[lo:hi],
                ALONE,
            )

        threads = Threads()
        try:
            threads.run([lambda t=t: part(t) for t in range(n_threads)])
        finally:
            threads.close()
        return Z

    def _prediction(self, theta, X, csr, rows, work):
        """The ``Calls`` and ``forward`` address of ``predict_logits`` for
        these arguments (``work`` the size of its scratch space), planned
        on the first prediction of a configuration (``_ahead``)."""
        options = self.options(theta.dtype)

        def resolve():
            forward = self._signatures(X, csr, rows, theta, work)[0]
            return options.calls(), FORWARD.address(forward)

        key = (predict_logits, *options.key(), csr is None, X.flags.aligned)
        units = lambda: self.prediction_units(theta.dtype, csr)  # noqa: E731
        return planned(key, units, resolve) or (None, None)

    def _signatures(self, X, csr, rows, theta, work):
        """The signatures of ``FORWARD`` and ``predict_logits`` in a
        prediction with these arguments."""
        scratch = np.empty(work, dtype=theta.dtype)
        Z = np.empty((0, self.n_outputs), dtype=theta.dtype)
        arguments = (X, csr, rows, theta, self.net, NO_CALLS)
        forward = signature_of(*arguments, scratch, None, ALONE, None)
        kernel = signature_of(*arguments, 0, 0, scratch, Z, ALONE)
        return forward, kernel

    def prediction_units(self, dtype, csr=None):
        """The ``_ahead`` units of a prediction in ``dtype`` (of CSR rows
        like ``csr``, or dense ones): its pieces, the forward pass, the
        kernel, and what turns logits into probabilities or values."""
        dtype = np.dtype(dtype)
        empty = np.empty(0, dtype=dtype)
        forward, kernel = self._signatures(
            empty, csr, np.empty(0, dtype=np.int64), empty, 0
        )
        units = [
            *(PieceUnit(piece, dtype) for piece in self.options(dtype).pieces()),
            KernelUnit(FORWARD.dispatcher, forward),
            KernelUnit(predict_logits, kernel),
        ]
        output = self.output_piece(dtype)
        if output is not None:
            Z = np.empty((0, self.n_outputs), dtype=dtype)
            units += [
                output,
                KernelUnit(probabilities, signature_of(0, Z, Z, 0.0, 0.0)),
            ]
        return units

    def values(self, logits):
        """A regressor's predicted values from the logits: the logits
        themselves, their exponential or their sigmoid, by the output units,
        one column per output."""
        if self.output == "identity":
            return logits
        if self.output == "exp":
            return np.exp(logits)
        return self._probabilities(logits, logistic_outputs, self.n_outputs)

    def probabilities(self, logits):
        """``predict_proba`` from the logits: softmax, ``[1 - a, a]`` for one
        output unit, normalized or per-label sigmoids (see ``_output``)."""
        if self.n_outputs == 1:
            return self._probabilities(logits, binary, 2)
        if self.output == "softmax":
            kind = softmax
        else:
            kind = normalized_logistic if self.normalize else logistic_outputs
        return self._probabilities(logits, kind, self.n_outputs)

    def _probabilities(self, logits, kind, n_columns):
        """The probabilities piece ``kind`` on the logits (C-contiguous,
        ``(n_samples, n_outputs)``), into a new ``(n_samples, n_columns)``
        array of their dtype."""
        logits = np.ascontiguousarray(logits)
        n_rows, n_out = logits.shape
        if n_out != self.n_outputs:
            raise ValueError("The logits do not match the network's outputs.")
        proba = np.empty((n_rows, n_columns), dtype=logits.dtype)
        lowest, highest = _PROBABILITY_BOUNDS[proba.dtype]
        probabilities(kind.address(logits.dtype), logits, proba, lowest, highest)
        return proba


def _checked_draw(drawn, n_in, n_out):
    """A user's ``weight_init(n_in, n_out, rng)`` result, or a clear error."""
    name = "The 'weight_init' callable"
    if not isinstance(drawn, tuple | list) or len(drawn) != 2:
        raise ValueError(
            f"{name} must return a pair (W, b), got {type(drawn).__name__}."
        )
    arrays = []
    for value, part, shape in zip(drawn, "Wb", [(n_in, n_out), (n_out,)], strict=True):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{name} returned {part} of dtype {array.dtype}.")
        if array.shape != shape:
            raise ValueError(
                f"{name} returned {part} of shape {array.shape} for a layer of "
                f"{n_in} inputs and {n_out} units; expected {shape}."
            )
        if not np.isfinite(array).all():
            raise ValueError(f"{name} returned {part} with NaN or infinite values.")
        arrays.append(array)
    return arrays


class LayerViews(list):
    """``coefs_`` or ``intercepts_``: a list of views into ``theta_``.

    Assigning an item (``clf.coefs_[0] = W``) copies ``W`` into the view,
    and so into ``theta_``, as scikit-learn's list of arrays takes it; a
    plain list would change only itself, silently.
    """

    def __init__(self, views, name):
        super().__init__(views)
        self.name = name

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            targets = list.__getitem__(self, index)
            assign_layers(targets, value, f"{self.name}[{index.start}:{index.stop}]")
            return
        target = list.__getitem__(self, index)
        target[...] = _checked_layer(value, target, f"{self.name}[{index}]")

    def __reduce__(self):  # pickles (and copies) as the plain list it shows
        return list, (list(self),)


def _checked_layer(value, target, name):
    """``value`` as an array for the view ``target``, or a clear error."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}.")
    if array.shape != target.shape:
        raise ValueError(
            f"{name} must have shape {target.shape}, got an array of shape "
            f"{array.shape}."
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must contain only finite values.")
    return array


def assign_layers(targets, values, name):
    """Copy ``values`` into the views ``targets`` after checking them all."""
    values = list(values)
    shapes = [target.shape for target in targets]
    if [np.shape(value) for value in values] != shapes:
        raise ValueError(
            f"{name} must be a list of arrays of shapes {shapes}, got "
            f"{[np.shape(value) for value in values]}."
        )
    arrays = [
        _checked_layer(value, target, f"{name}[{i}]")
        for i, (value, target) in enumerate(zip(values, targets, strict=True))
    ]
    for target, array in zip(targets, arrays, strict=True):
        target[...] = array
