"""Integer codes that select activations, costs, outputs and solvers in kernels.

Kernels take these small integers instead of functions, so each kernel is
compiled once per dtype whatever options the user picks, and the compiled
code can be cached on disk (a kernel that takes a function argument cannot).
Each dict maps the name a user passes to its code; its keys are the one list
of that option's values.
"""

ACT_IDENTITY = 0
ACT_LOGISTIC = 1
ACT_TANH = 2
ACT_RELU = 3

ACTIVATION_CODES = {
    "identity": ACT_IDENTITY,
    "logistic": ACT_LOGISTIC,
    "tanh": ACT_TANH,
    "relu": ACT_RELU,
}

# What the output units compute from their logits: class probabilities for
# a classifier, the predicted values (the logits themselves, or their
# exponential for a Poisson cost) for a regressor.
OUTPUT_SOFTMAX = 0
OUTPUT_LOGISTIC = 1
OUTPUT_IDENTITY = 2
OUTPUT_EXP = 3

OUTPUT_CODES = {
    "softmax": OUTPUT_SOFTMAX,
    "logistic": OUTPUT_LOGISTIC,
    "identity": OUTPUT_IDENTITY,
    "exp": OUTPUT_EXP,
}

# The built-in costs; a user's cost is COST_CUSTOM, computed by its own
# jitted functions on the outputs its output activation gives.
COST_LOG_LIKELIHOOD = 0
COST_CROSS_ENTROPY = 1
COST_QUADRATIC = 2
COST_CUSTOM = 3
# The regressor's built-in costs. A cost with a parameter (the Huber
# threshold, the quantile) passes it beside its code (``_kernels.CostCode``).
COST_SQUARED_ERROR = 4
COST_POISSON = 5
COST_ABSOLUTE_ERROR = 6
COST_HUBER = 7
COST_QUANTILE = 8

SOLVER_GD = 0
SOLVER_SGD = 1
SOLVER_ADAM = 2
SOLVER_LBFGS = 3

SOLVER_CODES = {
    "gd": SOLVER_GD,
    "sgd": SOLVER_SGD,
    "adam": SOLVER_ADAM,
    "lbfgs": SOLVER_LBFGS,
}
SOLVERS = tuple(SOLVER_CODES)
