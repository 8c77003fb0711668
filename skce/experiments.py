"""Nielsen's learning-slowdown experiment, run through the public API.

One sigmoid neuron with one input (``x = 1``) is taught to output 0. Started
from a saturated, badly wrong state, the quadratic cost learns very slowly at
first, while the cross-entropy cost does not (Nielsen, *Neural Networks and
Deep Learning*, ch. 3). Used by ``examples/plot_learning_slowdown.py`` and by
``skce slowdown``.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from ._estimator import MLPCostClassifier
from .costs import COSTS

#: Nielsen's settings: start points (w, b), and the rate of each cost. The
#: rates differ on purpose: the figures compare how the speed of learning
#: changes as the neuron leaves its wrong start, not the speeds themselves,
#: and the cross-entropy's larger gradient gets a smaller rate.
STARTS = ((0.6, 0.9), (2.0, 2.0))
RATES = {"quadratic": 0.15, "cross_entropy": 0.005}

#: One rate for both costs, the quadratic cost's: the slowdown at a glance.
COMMON_RATE = 0.15

_COST_COLORS = {"quadratic": "tab:red", "cross_entropy": "tab:blue"}
_START_STYLES = {(0.6, 0.9): "--", (2.0, 2.0): "-"}


@dataclass
class SlowdownRun:
    """One run: a cost, a start and what the neuron did in each epoch."""

    cost: str
    start: tuple
    learning_rate: float
    outputs: list = field(default_factory=list)  # a = sigma(w + b) after each epoch
    costs: list = field(default_factory=list)  # the cost before each epoch's step
    initial_gradient: float = 0.0  # dC/dw at the start


def learning_slowdown(epochs=300, starts=STARTS, rates=None):
    """Train the single neuron with each cost from each start.

    Parameters
    ----------
    epochs : int, default=300
        Gradient-descent steps (one sample, so one step an epoch).
    starts : sequence of (float, float), default=((0.6, 0.9), (2.0, 2.0))
        Initial weight and bias.
    rates : dict, default=None
        Learning rate of each cost; Nielsen's ``{"quadratic": 0.15,
        "cross_entropy": 0.005}`` by default.

    Returns
    -------
    runs : list of SlowdownRun
        One run per cost and start.

    Examples
    --------
    >>> from skce.experiments import learning_slowdown
    >>> runs = learning_slowdown(epochs=100)
    >>> [(run.cost, run.start, round(run.outputs[-1], 2)) for run in runs]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('quadratic', (0.6, 0.9), 0.21), ('quadratic', (2.0, 2.0), 0.96),
     ('cross_entropy', (0.6, 0.9), 0.68), ('cross_entropy', (2.0, 2.0), 0.95)]
    """
    rates = dict(RATES if rates is None else rates)
    X, y = np.array([[1.0]]), np.array([0])
    runs = []
    for cost, rate in rates.items():
        for w, b in starts:
            neuron = MLPCostClassifier(
                hidden_layer_sizes=(),
                cost=cost,
                solver="gd",
                momentum=0.0,
                alpha=0.0,
                learning_rate_init=rate,
            )
            run = SlowdownRun(cost, (w, b), rate)
            # dC/dw = delta * x, with delta from the cost (x = 1 here).
            z = np.array([w + b])
            run.initial_gradient = float(COSTS[cost].delta(z, expit(z), [0.0])[0])
            neuron.partial_fit(
                X, y, classes=[0, 1], coefs_init=[[[w]]], intercepts_init=[[b]]
            )
            run.outputs.append(float(neuron.predict_proba(X)[0, 1]))
            for _ in range(epochs - 1):
                neuron.partial_fit(X, y)
                run.outputs.append(float(neuron.predict_proba(X)[0, 1]))
            run.costs = list(neuron.loss_curve_)
            runs.append(run)
    return runs


def slowdown_figure(nielsen, common, common_rate=COMMON_RATE):
    """The figure of the experiment: the neuron's output per epoch.

    Left, Nielsen's rates (``RATES``); right, one rate for both costs. A
    cost has one colour, a start one line style, in both panels.

    Parameters
    ----------
    nielsen, common : list of SlowdownRun
        ``learning_slowdown`` with Nielsen's rates, and with
        ``common_rate`` for both costs.
    common_rate : float, default=COMMON_RATE
        The rate of ``common``, for its title.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    rates = ", ".join(f"{cost} {rate:g}" for cost, rate in RATES.items())
    titles = (
        f"Nielsen's rates: {rates}",
        f"one rate for both costs: {common_rate:g}",
    )
    for ax, runs, title in zip(axes, (nielsen, common), titles, strict=True):
        for run in runs:
            ax.plot(
                np.arange(1, len(run.outputs) + 1),
                run.outputs,
                color=_COST_COLORS.get(run.cost),
                linestyle=_START_STYLES.get(run.start, ":"),
                label=f"{run.cost}, start (w, b) = {run.start}",
            )
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.set(title=title, xlabel="epoch (one gradient step)", ylim=(-0.03, 1.0))
    axes[0].set_ylabel("output a of the neuron (target 0)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    fig.suptitle(
        "A saturated sigmoid neuron learns slowly with the quadratic cost, "
        "not with the cross-entropy",
        fontweight="bold",
    )
    fig.text(
        0.5,
        0.875,
        "One neuron, input 1, target 0, gradient descent from (w, b) = (0.6, 0.9)"
        " or the saturated (2, 2). Left: Nielsen's rates, chosen to show how the"
        " speed changes, not the speed:\nfrom (2, 2) the quadratic cost stalls"
        " for 150 epochs before it learns, the cross-entropy learns fastest while"
        " it is most wrong. Right: at one rate the cross-entropy learns at once.",
        ha="center",
        fontsize="small",
    )
    fig.tight_layout(rect=(0, 0.1, 1, 0.86))
    return fig
