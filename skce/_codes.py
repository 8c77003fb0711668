"""Integer codes that select activations, costs and solvers inside the kernels.

Kernels take these small integers instead of functions, so each kernel is
compiled once per dtype whatever options the user picks, and the compiled
code can be cached on disk (a kernel that takes a function argument cannot).
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

# A kernel cost code fixes the output activation too: the log-likelihood goes
# with softmax outputs, the other two with logistic (sigmoid) outputs.
COST_LOG_LIKELIHOOD = 0
COST_CROSS_ENTROPY = 1
COST_QUADRATIC = 2

SOLVER_GD = 0
SOLVER_SGD = 1
SOLVER_ADAM = 2

SOLVER_CODES = {"gd": SOLVER_GD, "sgd": SOLVER_SGD, "adam": SOLVER_ADAM}
