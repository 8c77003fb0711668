"""skce: scikit-learn MLP estimators with a selectable cost and solver.

Their forward pass, backpropagation and optimizer steps are compiled with
Numba; see :class:`MLPCostClassifier`, :class:`MLPCostRegressor` and
:mod:`skce.costs`.

Architecture
------------

One job per module. A fit is a sequence of steps, and each step has one
owner; the estimator only calls them in order. The classifier and the
regressor share every step (``_estimator.MLPCostBase``); they differ in
their targets (labels, or ``_inputs.Values``), output units and costs:

====================  ===================================================
step                  module
====================  ===================================================
hyper-parameters      ``_params``: checked and resolved once into a
                      ``FitSpec`` (with the solver's ``SolverConfig``)
training rows         ``_data`` (``training_data``, ``InMemoryData``,
                      class weights), through ``_inputs``
network               ``_network``: ``Network``, the one layout of the
                      flat parameter vector ``theta_``, its views and
                      checks, initialization, logits to probabilities
state                 ``_state``: ``TrainingState``, new or continued,
                      stored and upgraded; the fit's random stream
validation set        ``_data`` (``validation_set``: given to ``fit`` or
                      held out), through the same ``_inputs`` path
problem               ``_problem`` (``Problem``, ``Objective``),
                      ``_shards`` (``n_jobs``), ``_cluster`` (Dask)
solve                 ``_solvers``: ``fit_first_order`` (gd, sgd, adam),
                      ``fit_lbfgs``; stopping rules
fitted attributes     ``_estimator`` (``_set_fitted``, the one writer;
                      the list is ``FITTED_ATTRIBUTES``); the regressor's
                      parameters and predictions are in ``_regressor``
====================  ===================================================

Beneath them:

- ``_inputs``: user arrays and labels to kernel arrays and back; every
  array passes it before a kernel sees it.
- ``_kernels`` (forward pass, costs, backpropagation) and ``_epoch``
  (optimizer steps, the epoch kernel): the compiled code, on NumPy, Numba
  and skce's own single-threaded BLAS (``_blas``).
- ``_team``: the threads that run one kernel call together, and the
  compiled barrier they meet at; ``_cores``: the cores a fit is given,
  shared among the fits running at once, and a fit's helper threads.
- ``_compiled``: the decorators of compiled code (``kernel``, ``helper``)
  and the one way it declares an external function.
- ``_profile``: the cycle counter in the kernels and the phase profile.
- ``_codes``: the integer codes that select options inside the kernels;
  ``_warmup``: compiling ahead of time; ``_progress``: verbose output and
  warnings; ``_display``: ``LossCurveDisplay``; ``_cli``: the ``skce``
  command.
- ``costs``, ``experiments``, ``onnx``, ``dask``: public modules (cost
  objects, Nielsen's single-neuron experiment, the ONNX converter, and
  ``DaskMLPCostClassifier``, whose one step of its own is its training
  rows).

Words with one meaning each: a *shard* is one of the ``n_jobs`` parts of
a batch's rows; a *column block* a team thread's share of a matrix
product; a *chunk* the cache-sized rows of a full-batch sum; a
*partition* the rows on one Dask worker.
"""

import importlib

__version__ = "0.1.0"

# The public names and the modules that define them, imported on first use
# (PEP 562): a process that compiles kernels for another (``_ahead``)
# imports skce's compiled modules without scikit-learn.
_PUBLIC = {
    "DataMismatchWarning": "._data",
    "InvalidParameterError": "._params",
    "LossCurveDisplay": "._display",
    "MLPCostClassifier": "._estimator",
    "MLPCostRegressor": "._regressor",
    "warmup": "._warmup",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
