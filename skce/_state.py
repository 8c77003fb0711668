"""``TrainingState``: what a fit starts from, what a solver returns, what is stored.

A fit starts a new state (``new_state``: initial weights drawn from the
random stream) or continues the fitted one (``continued_state``); a solver
changes it in place; the estimator stores it (``fitted_attributes``) and
reads it back (``from_fitted``), which are the one mapping between the
two. Models pickled by skce 0.1.0 are upgraded here (``upgrade_state``).

The random stream of a fit lives here from start to end: the initial
weights, the split of early stopping, the dropout seed and the shuffling
draw from it in that order, and only a warm start keeps it.
"""

import threading
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from .activations import stored

_EMPTY = np.empty(0)


_reusable = threading.local()


def random_stream(random_state):
    """``check_random_state(random_state)``, faster for an int.

    Building a ``RandomState`` first seeds it from the operating system,
    which costs more than a small ``partial_fit``; reseeding one kept per
    thread gives the same stream for a fraction of that. A fit
    uses the stream only while it runs (what it keeps is ``get_state()``).
    """
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        stream = getattr(_reusable, "stream", None)
        if stream is None:
            stream = _reusable.stream = np.random.RandomState()
        stream.seed(random_state)
        return stream
    return check_random_state(random_state)


def restored_stream(stored):
    """A new ``RandomState`` in the ``get_state()`` state ``stored``."""
    stream = np.random.RandomState()
    stream.set_state(stored)
    return stream


@dataclass
class TrainingState:
    """Everything a fit leaves behind that the next fit continues from.

    The parameter vector, the optimizer's vectors and step count, the
    learning rate, the curves and stopping records, the best parameters of
    early stopping and the random stream of the shuffling. Its stored form
    (``fitted_attributes``) is plain data: arrays, numbers, strings, lists,
    tuples and dicts, so that pickle and skops files need no skce type but
    the estimator.
    """

    theta: np.ndarray
    # The optimizer: which solver the vectors belong to (None: none yet).
    solver: str | None = None
    velocity: np.ndarray = field(default_factory=lambda: _EMPTY)
    m: np.ndarray = field(default_factory=lambda: _EMPTY)
    v: np.ndarray = field(default_factory=lambda: _EMPTY)
    step: int = 0
    learning_rate: float = 0.0
    learning_rate_init: float = 0.0
    # The record of training.
    n_iter: int = 0
    t: int = 0
    loss: float | None = None
    loss_curve: list = field(default_factory=list)
    # Stopping rules (None: no first-order fit has run since the network
    # was made, so the next one starts its records afresh).
    best_loss: float | None = None
    no_improvement_count: int | None = None
    best_theta: np.ndarray | None = None
    validation_scores: list | None = None
    validation_loss_curve: list | None = None
    best_validation_score: float | None = None
    best_validation_loss: float | None = None
    # The random stream of the fit (a RandomState), stored as its
    # get_state() tuple under the name "random_state". ``split_state`` is
    # the stream where the first validation split of early stopping drew
    # from (None: no split yet); ``row_order`` the running permutation of
    # the rows (shuffle=True).
    stream: np.random.RandomState | None = None
    split_state: tuple | None = None
    row_order: np.ndarray | None = None
    # Dropout: the seed of the masks, drawn from the stream by the first
    # fit with dropout, and the epochs trained with it so far; together
    # they key each epoch's masks (``_activations.Dropout``).
    dropout_seed: int | None = None
    dropout_epoch: int = 0

    def split_stream(self):
        """The stream the validation split of early stopping draws from.

        The first split draws from the fit's stream, as scikit-learn's
        does; its starting point is kept, so that every warm-started fit
        holds out the same rows.
        """
        if self.split_state is None:
            self.split_state = self.stream.get_state()
            return self.stream
        return restored_stream(self.split_state)

    def start_dropout(self):
        """Draw the seed of the dropout masks, once per network."""
        if self.dropout_seed is None:
            self.dropout_seed = int(self.stream.randint(2**63, dtype=np.int64))

    def shuffled(self, order):
        """``order`` permuted by the next shuffle of the stream.

        The draws are those of ``sklearn.utils.shuffle`` (a shuffled arange,
        then a take), so both libraries see the same batches for a random
        state; calling it directly costs more than a small epoch.
        """
        permutation = np.arange(order.shape[0])
        self.stream.shuffle(permutation)
        return order[permutation]

    def end(self, keeps_stream):
        """Leave the stream behind unless the next fit continues it."""
        if not keeps_stream:
            self.stream = self.row_order = None

    # Fields shown as public fitted attributes, under the estimator's names.
    PUBLIC = {
        "theta": "theta_",
        "loss": "loss_",
        "loss_curve": "loss_curve_",
        "best_loss": "best_loss_",
        "validation_scores": "validation_scores_",
        "validation_loss_curve": "validation_loss_curve_",
        "best_validation_score": "best_validation_score_",
        "best_validation_loss": "best_validation_loss_",
        "t": "t_",
        "n_iter": "n_iter_",
    }
    # The rest are stored together in one private attribute.
    PRIVATE = "_training_state"

    def fitted_attributes(self, network):
        """The estimator's fitted attributes after a fit of ``network`` that
        ended in this state, but those of the targets (the classes)."""
        values = vars(self).copy()
        public = {name: values.pop(key) for key, name in self.PUBLIC.items()}
        stream = values.pop("stream")
        values["random_state"] = None if stream is None else stream.get_state()
        return {
            "n_layers_": len(network.layer_units),
            "n_outputs_": network.n_outputs,
            "out_activation_": network.output,
            "_layer_units": network.layer_units,
            "_activation": stored(network.activation),
            **public,
            self.PRIVATE: values,
        }

    @classmethod
    def from_fitted(cls, attributes, random_state, restart):
        """A state to continue from, copied from the fitted attributes.

        Arrays and lists are copies, so a solver may change them in place
        and the estimator keeps its state if the fit fails. The stream
        continues the stored one, or starts anew from ``random_state`` (the
        parameter) with ``restart`` or when none was stored.
        """
        values = {key: attributes[name] for key, name in cls.PUBLIC.items()}
        values.update(attributes[cls.PRIVATE])
        stored = values.pop("random_state")
        for key, value in values.items():
            if isinstance(value, np.ndarray | list):
                values[key] = value.copy()
        state = cls(**values)
        if restart or stored is None:
            state.stream = random_stream(random_state)
            state.row_order = None
        else:
            state.stream = restored_stream(stored)
        return state


def new_state(network, spec, dtype, coefs_init=None, intercepts_init=None):
    """The state of a new network: weights drawn from ``spec.random_state``
    by ``spec.weight_init``, or given."""
    stream = random_stream(spec.random_state)
    theta = network.initial_theta(spec.weight_init, dtype, stream)
    network.assign(theta, coefs_init, intercepts_init)
    return TrainingState(theta=theta, best_theta=theta.copy(), stream=stream)


def continued_state(estimator, network, spec):
    """The state of the previous fit, to continue from (copies).

    The network must be the fitted one. ``partial_fit`` draws its shuffling
    from ``random_state`` anew on each call, as scikit-learn does (an int
    gives the same order each call); so does a warm start after
    ``partial_fit`` or a fit without ``warm_start``, or of a model saved by
    skce 0.1.0.
    """
    fitted = estimator._network()
    fitted.check_theta(estimator.theta_)
    fitted.check_continued_by(network, spec.cost)
    return TrainingState.from_fitted(
        vars(estimator), spec.random_state, restart=spec.incremental
    )


def upgrade_state(state):
    """The fitted state of a model pickled by skce 0.1.0, in today's form.

    Version 0.1.0 kept the optimizer in ``_optimizer``, the stopping records
    in ``_no_improvement_count`` and ``_best_theta``, and set no
    ``best_loss_`` or validation records after L-BFGS.
    """
    if "theta_" not in state or TrainingState.PRIVATE in state:
        return state
    state = dict(state)
    optimizer = state.pop("_optimizer", None) or {}
    private = {
        "solver": optimizer.get("solver"),
        "velocity": optimizer.get("velocity", np.empty(0)),
        "m": optimizer.get("m", np.empty(0)),
        "v": optimizer.get("v", np.empty(0)),
        "step": optimizer.get("step", 0),
        "learning_rate": optimizer.get("learning_rate", 0.0),
        "learning_rate_init": optimizer.get("learning_rate_init", 0.0),
        "no_improvement_count": state.pop("_no_improvement_count", None),
        "best_theta": state.pop("_best_theta", None),
        "random_state": None,
        "split_state": None,
        "row_order": None,
    }
    state[TrainingState.PRIVATE] = private
    for name in TrainingState.PUBLIC.values():
        state.setdefault(name, None)
    return state
