"""skce: a scikit-learn MLP classifier with a selectable cost and solver.

Its forward pass, backpropagation and optimizer steps are compiled with
Numba; see :class:`MLPCostClassifier` and :mod:`skce.costs`.

Architecture
------------

One job per module; a fit flows from the top of this list to the bottom and
back up as a ``TrainingState``.

- ``_estimator``: ``MLPCostClassifier``. Checks the input, builds the
  network, problem, config and state, calls a solver, and is the one writer
  of the fitted attributes (``_set_fitted``; the list is
  ``FITTED_ATTRIBUTES``).
- ``_params``: checks of the hyper-parameters (``check_params``).
- ``_data``: the training rows of a fit (``InMemoryData``: encoded targets,
  class and sample weights) and the problem built on them.
- ``_validation``: the validation set, held out for early stopping or given
  by the user, and its metrics.
- ``_network``: ``Network``, the layer sizes and the one layout of the flat
  parameter vector ``theta_``; initialization; logits to probabilities.
- ``_state``: ``SolverConfig`` (what a solver reads) and ``TrainingState``
  (what it returns and the next fit continues from).
- ``_solvers``: ``fit_first_order`` (gd, sgd, adam) and ``fit_lbfgs``,
  functions of (problem, network, config, state); stopping rules.
- ``_problem``: the seams between solvers and data. ``Problem.sums`` gives
  unnormalised sums over the rows, ``Objective`` the full-batch loss and
  gradient from them, ``Problem.run_epoch`` one epoch of mini-batch steps.
- ``_boundary``: the checks and conversions every array passes before a
  kernel sees it.
- ``_kernels`` (forward pass, costs, backpropagation) and ``_updates``
  (optimizer steps, the epoch loop): the compiled code, on NumPy, Numba and
  skce's own BLAS (``_blas``).
- ``_threads`` (``ShardedProblem``: ``n_jobs`` row blocks on threads) and
  ``_atomics`` (the compiled barrier that threads meet at); ``_cores``
  (the cores a fit is given, shared among the fits running at once, and a
  fit's helper threads); ``_cluster`` (``ClusterProblem``: partitions on
  the workers of a Dask cluster, exact sums and local SGD).
- ``_targets``: labels to one-hot rows and back; ``_warmup``: compiling
  ahead of time.
- ``_codes``: the integer codes that select options inside the kernels.
- ``_blas``: skce's own single-threaded OpenBLAS, which the kernels call;
  ``_progress``: verbose output and warnings; ``_display``:
  ``LossCurveDisplay``; ``_cli``: the ``skce`` command.
- ``costs``, ``experiments``, ``onnx``, ``dask``: public modules (cost
  objects, Nielsen's single-neuron experiment, the ONNX converter,
  ``DaskMLPCostClassifier``).
"""

from ._display import LossCurveDisplay
from ._estimator import MLPCostClassifier
from ._params import InvalidParameterError
from ._validation import DataMismatchWarning
from ._warmup import warmup

__version__ = "0.1.0"

__all__ = [
    "DataMismatchWarning",
    "InvalidParameterError",
    "LossCurveDisplay",
    "MLPCostClassifier",
    "__version__",
    "warmup",
]
