"""
Why the cross-entropy learns faster than the quadratic cost
===========================================================

Nielsen's experiment (ch. 3): a single sigmoid neuron with input 1 must learn
to output 0. It starts from (w, b) = (0.6, 0.9), output 0.82, or from the
saturated (2, 2), output 0.98, and takes 300 steps of gradient descent with
the quadratic cost (rate 0.15) or the cross-entropy cost (rate 0.005), then
with one rate, 0.15, for both. Nielsen's rates differ on purpose: his point
is how the speed of learning changes as the neuron leaves a wrong start, not
the speed itself.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")

from skce.experiments import COMMON_RATE, learning_slowdown, slowdown_figure

EPOCHS = 60 if os.environ.get("SKCE_EXAMPLES_QUICK") else 300
FIGURES = os.environ.get("SKCE_FIGURES", ".")

runs = learning_slowdown(epochs=EPOCHS)

# %%
# The gradient at the start
# -------------------------
# With a = sigma(z) and target y = 0, the quadratic cost has
# dC/dw = (a - y) sigma'(z) x, the cross-entropy dC/dw = (a - y) x. At the
# saturated start sigma'(z) = a (1 - a) is tiny, and so is the quadratic
# cost's gradient: the neuron barely moves, however wrong it is.
print(f"{'cost':<14} {'start':<11} {'dC/dw at start':>15}")
for run in runs:
    print(f"{run.cost:<14} {str(run.start):<11} {run.initial_gradient:>15.5f}")
by_key = {(run.cost, run.start): run for run in runs}
for start in ((0.6, 0.9), (2.0, 2.0)):
    ratio = (
        by_key["cross_entropy", start].initial_gradient
        / by_key["quadratic", start].initial_gradient
    )
    print(f"start {start}: cross-entropy / quadratic gradient = {ratio:.1f}")

# %%
# Output per epoch
# ----------------
# From (2, 2) the quadratic cost sits on a plateau before it learns; the
# cross-entropy learns from the first step, fastest while it is most wrong.
# At Nielsen's rates it ends higher after 300 epochs, its rate being 30 times
# smaller; at one rate for both (right) it learns at once from both starts.
common = learning_slowdown(
    epochs=EPOCHS, rates={"quadratic": COMMON_RATE, "cross_entropy": COMMON_RATE}
)
fig = slowdown_figure(runs, common)
path = os.path.join(FIGURES, "learning_slowdown.png")
fig.savefig(path)
print(f"saved {os.path.relpath(path)}")
