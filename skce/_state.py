"""What a solver is told (``SolverConfig``) and what it returns (``TrainingState``).

A solver is a function ``(problem, network, config, state, progress) ->
TrainingState``. It never sees the estimator: the estimator builds the
config from its hyper-parameters, hands over the state of the previous fit
(or a fresh one), and copies the returned state onto itself in one place.
``TrainingState.fitted_attributes`` and ``TrainingState.from_fitted`` are the
one mapping between the two.
"""

import threading
from dataclasses import dataclass, field, fields
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

_EMPTY = np.empty(0)


_reusable = threading.local()


def random_stream(random_state):
    """``check_random_state(random_state)``, faster for an int.

    Building a ``RandomState`` costs about 0.3 ms (it first seeds itself from
    the operating system), more than a small ``partial_fit``; reseeding one
    kept per thread costs microseconds and gives the same stream. A fit
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


@dataclass(frozen=True)
class SolverConfig:
    """The hyper-parameters a solver reads; their meaning is the estimator's."""

    solver: str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    batch_size: object
    shuffle: bool
    tol: float
    momentum: float
    nesterovs_momentum: bool
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: object
    max_fun: int
    early_stopping: bool
    early_stopping_metric: str

    @classmethod
    def from_params(cls, params):
        """The config of an estimator's ``get_params()``."""
        return cls(**{f.name: params[f.name] for f in fields(cls)})


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
    # The random stream: a RandomState while fitting, its get_state() tuple
    # when stored. ``split_state`` is the stream where the first validation
    # split of early stopping drew from (None: no split yet);
    # ``row_order`` the running permutation of the rows (shuffle=True).
    random_state: object = None
    split_state: tuple | None = None
    row_order: np.ndarray | None = None
    # Dropout: the seed of the masks, drawn from the stream by the first
    # fit with dropout, and the epochs trained with it so far; together
    # they key each epoch's masks (``_kernels.Dropout``).
    dropout_seed: int | None = None
    dropout_epoch: int = 0

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

    def fitted_attributes(self):
        """The estimator's fitted attributes that hold this state."""
        values = vars(self).copy()
        public = {name: values.pop(key) for key, name in self.PUBLIC.items()}
        if isinstance(values["random_state"], np.random.RandomState):
            values["random_state"] = values["random_state"].get_state()
        return {**public, self.PRIVATE: values}

    @classmethod
    def from_fitted(cls, attributes):
        """A state to continue from, copied from the fitted attributes.

        Arrays and lists are copies, so a solver may change them in place
        and the estimator keeps its state if the fit fails. The random
        stream stays in its stored form (see ``restored_stream``).
        """
        values = {key: attributes[name] for key, name in cls.PUBLIC.items()}
        values.update(attributes[cls.PRIVATE])
        for key, value in values.items():
            if isinstance(value, np.ndarray | list):
                values[key] = value.copy()
        return cls(**values)
