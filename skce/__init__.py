"""skce: scikit-learn MLP estimators with a selectable cost and solver.

Their forward pass, backpropagation and optimizer steps are compiled with
Numba; see :class:`MLPCostClassifier`, :class:`MLPCostRegressor`,
:mod:`skce.costs` and :mod:`skce.activations`.

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

Beneath them, the compiled code, in which a fit compiles only what it
runs (docs/performance.rst, "The first fit"):

- ``_pieces``: a fit's options as *pieces*, small C-callable functions
  the kernels call by address, compiled per dtype when first run; and
  ``Deferred`` parts, compiled helpers called by address, each compiled
  once and only for a run that reaches it.
- ``_activations`` (the hidden layers' pieces and dropout), ``_output``
  (each cost's value and error, and the probabilities), ``_optimizer``
  (the optimizers' steps): the pieces.
- ``_product`` (matrix products on skce's own single-threaded BLAS,
  ``_blas``), ``_backprop`` (the forward and backward passes, the
  gradient's end, prediction) and ``_epoch`` (the epoch kernel, which every
  solver runs, and its parts).
- ``_ahead``: what a run reaches, compiled before it runs, in a helper
  process at once when the cache is cold; ``_warmup``: all of it ahead of
  time.
- ``_team``: the threads that run one kernel call together, and the
  compiled barrier they meet at; ``_cores``: the cores a fit is given,
  shared among the fits running at once, and a fit's helper threads.
- ``_compiled``: the decorators of compiled code (``kernel``, ``helper``)
  and the one way it declares an external function.
- ``_profile``: the cycle counter in the kernels and the phase profile.
- ``_codes``: the integer codes of costs, outputs and solvers; ``_progress``:
  verbose output and warnings; ``_display``: ``LossCurveDisplay``;
  ``_cli``: the ``skce`` command.
- ``costs``, ``activations``, ``experiments``, ``onnx``, ``dask``: public
  modules (cost objects, hidden activation objects, Nielsen's
  single-neuron experiment, the ONNX converter, and
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
