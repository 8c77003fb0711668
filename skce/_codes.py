"""Integer codes that name costs, outputs and solvers.

The kernels take no codes: a fit's options reach them as pieces
(``_pieces``), which Python picks by these codes (costs, optimizers) or
by the names users pass (activations: ``_activations.PIECES``). Each
dict maps the name a user passes to its code; its keys are the one list of
that option's values.
"""

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

# The built-in costs, each a piece of ``_output``; a user's cost has none
# (its piece is made of its own jitted functions). A cost with a parameter
# (the Huber threshold, the quantile) passes it beside its piece
# (``_backprop.Calls``).
COST_LOG_LIKELIHOOD = 0
COST_CROSS_ENTROPY = 1
COST_QUADRATIC = 2
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
