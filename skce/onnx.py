"""Export a fitted :class:`~skce.MLPCostClassifier` or
:class:`~skce.MLPCostRegressor` to ONNX.

Importing this module registers a converter with skl2onnx, so that the usual
call converts the estimator, alone or inside a ``Pipeline``::

    import skce.onnx  # noqa: F401  (registers the converter)
    from skl2onnx import to_onnx

    onx = to_onnx(clf, X[:1].astype(np.float32), options={"zipmap": False})

The graph has two outputs, ``label`` and ``probabilities``, equal to
``predict`` and ``predict_proba`` (to float rounding) for every cost and
activation and for binary, multiclass and multilabel targets: softmax outputs
for the log-likelihood cost; sigmoid outputs otherwise, scaled to sum to one
for a multiclass target, as in ``predict_proba``. A regressor's graph has
one output, ``variable`` (``n_samples x n_outputs``, as skl2onnx gives every
regressor), equal to ``predict``: the logits, their exponential for the
Poisson cost, or their sigmoid. The graph computes in float32 for float32
input and in float64 for float64 input.

skl2onnx and onnxruntime come with the ``onnx`` extra:
``pip install "skce[onnx]"``.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

try:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import Int64TensorType, guess_proto_type
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto
except ImportError as error:  # pragma: no cover - depends on the install
    raise ImportError(
        "skce.onnx needs skl2onnx (and onnxruntime to run the models): "
        'pip install "skce[onnx]"'
    ) from error

from ._estimator import MLPCostClassifier
from ._regressor import MLPCostRegressor
from .activations import restored

__all__ = ["ALIAS", "REGRESSOR_ALIAS"]

#: The names under which skl2onnx knows the estimators.
ALIAS = "SkceMLPCostClassifier"
REGRESSOR_ALIAS = "SkceMLPCostRegressor"

# ONNX operators of scikit-learn's hidden activations ("identity" needs
# none); the others are composed of plain operators, as onnxruntime has no
# float64 LeakyRelu, Elu or Softplus and ONNX's Gelu needs opset 20.
_HIDDEN_OPS = {"logistic": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
# Softmax takes its axis per row (not "flatten to 2-D") from this opset on.
_MIN_OPSET = 13


def _is_multilabel(model):
    return model._label_binarizer.y_type_.startswith("multilabel")


def _shapes(operator):
    """skl2onnx's classifier shapes; a multilabel label is a matrix."""
    model = operator.raw_operator
    check_is_fitted(model)  # skce's first look at the model: a clear error
    calculate_linear_classifier_output_shapes(operator)
    if _is_multilabel(model):
        n_rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].set_type(Int64TensorType([n_rows, model.n_outputs_]))


class _Graph:
    """Names and adds nodes and constants, in float32 or float64 throughout."""

    def __init__(self, scope, container, double):
        self.scope, self.container = scope, container
        tensor = onnx_proto.TensorProto
        self.dtype = tensor.DOUBLE if double else tensor.FLOAT
        self.float_type = np.float64 if double else np.float32

    def scalar(self, value):
        return self.constant(np.asarray(value, self.float_type))

    def constant(self, value, shape=None, dtype=None):
        name = self.scope.get_unique_variable_name("const")
        value = np.asarray(value)
        shape = list(value.shape) if shape is None else shape
        self.container.add_initializer(
            name, dtype or self.dtype, shape, value.ravel().tolist()
        )
        return name

    def node(self, op, inputs, output=None, **attrs):
        output = output or self.scope.get_unique_variable_name(op.lower())
        self.container.add_node(
            op,
            inputs,
            output,
            name=self.scope.get_unique_operator_name(op),
            **attrs,
        )
        return output


def _logits(graph, model, input_name):
    """The forward pass up to the output logits."""

    def affine(a, W, b):
        W, b = W.astype(graph.float_type), b.astype(graph.float_type)
        z = graph.node("MatMul", [a, graph.constant(W)])
        return graph.node("Add", [z, graph.constant(b, [1, len(b)])])

    layers = list(zip(model.coefs_, model.intercepts_, strict=True))
    activation = _exported_activation(model)
    a = graph.node("Cast", [input_name], to=graph.dtype)
    for W, b in layers[:-1]:
        a = _activate(graph, activation, affine(a, W, b))
    return affine(a, *layers[-1])


def _exported_activation(model):
    """The model's hidden activation, or a ``ValueError`` for a user's,
    whose compiled functions ONNX cannot run."""
    activation = restored(model._activation)
    if not activation.builtin:
        raise ValueError(
            f"The activation {activation!r} is a user's own: ONNX export "
            "knows the built-in activations only (skce.activations.ACTIVATIONS). "
            "Save the model with pickle or skops instead."
        )
    return activation


def _activate(graph, activation, z):
    """The nodes of ``activation`` on ``z``, computed as the kernels do."""
    name = activation.name
    if name == "identity":
        return z
    if name in _HIDDEN_OPS:
        return graph.node(_HIDDEN_OPS[name], [z])
    zero = graph.scalar(0.0)
    if name == "leaky_relu":  # max(z, 0) + s min(z, 0): z or s z, exactly
        below = graph.node("Min", [z, zero])
        slope = graph.scalar(float(activation.parameter))
        return graph.node(
            "Add", [graph.node("Max", [z, zero]), graph.node("Mul", [slope, below])]
        )
    if name == "elu":  # z where z > 0, else exp(z) - 1
        below = graph.node("Exp", [graph.node("Min", [z, zero])])
        below = graph.node("Sub", [below, graph.scalar(1.0)])
        return graph.node("Where", [graph.node("Greater", [z, zero]), z, below])
    if name == "softplus":  # max(z, 0) + log(1 + exp(-|z|)), without overflow
        tail = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
        tail = graph.node("Log", [graph.node("Add", [graph.scalar(1.0), tail])])
        return graph.node("Add", [graph.node("Max", [z, zero]), tail])
    # gelu: z sigmoid(2 sqrt(2 / pi) (z + 0.044715 z^3)), the kernels' form of
    # 0.5 z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3))).
    cube = graph.node("Mul", [graph.node("Mul", [z, z]), z])
    inner = graph.node("Add", [z, graph.node("Mul", [graph.scalar(0.044715), cube])])
    scaled = graph.node("Mul", [graph.scalar(2.0 * np.sqrt(2.0 / np.pi)), inner])
    return graph.node("Mul", [z, graph.node("Sigmoid", [scaled])])


def _probabilities(graph, model, z, output):
    """``predict_proba`` from the logits ``z``, into ``output``."""
    if model.out_activation_ == "softmax":
        return graph.node("Softmax", [z], output, axis=1)
    if model._label_binarizer.y_type_ == "multiclass" and model.n_outputs_ > 1:
        # Sigmoids scaled to sum to one: a softmax of log(sigmoid(z)), where
        # log(sigmoid(z)) = min(z, 0) - log(1 + exp(-|z|)) does not underflow.
        zero, one = graph.scalar(0), graph.scalar(1)
        tail = graph.node("Exp", [graph.node("Neg", [graph.node("Abs", [z])])])
        log_one_plus = graph.node("Log", [graph.node("Add", [one, tail])])
        log_sigmoid = graph.node("Sub", [graph.node("Min", [z, zero]), log_one_plus])
        return graph.node("Softmax", [log_sigmoid], output, axis=1)
    # Sigmoids kept inside (0, 1), exactly as predict_proba keeps them.
    float_type = graph.float_type
    lowest = graph.scalar(np.finfo(float_type).tiny)
    highest = graph.scalar(np.nextafter(float_type(1), float_type(0)))
    a = graph.node("Clip", [graph.node("Sigmoid", [z]), lowest, highest])
    if model.n_outputs_ > 1:  # multilabel: one probability per label
        return graph.node("Identity", [a], output)
    one_minus_a = graph.node("Sub", [graph.scalar(1), a])
    return graph.node("Concat", [one_minus_a, a], output, axis=1)


def _labels(graph, model, proba, output, classes):
    """``predict`` from the probabilities, as the label binarizer decides it."""
    if _is_multilabel(model):
        above = graph.node("Greater", [proba, graph.scalar(0.5)])
        return graph.node("Cast", [above], output, to=onnx_proto.TensorProto.INT64)
    if classes.dtype.kind in "iubf":
        # ONNX classifiers give int64 or string labels (skl2onnx's shapes).
        # Exact: fit refuses non-integer float labels as a continuous target.
        values = classes.astype(np.int64)
        class_type = onnx_proto.TensorProto.INT64
    else:
        values = np.array([str(c).encode("utf-8") for c in classes])
        class_type = onnx_proto.TensorProto.STRING
    table = graph.constant(values, dtype=class_type)
    # ArgMax keeps the first of equal values: p = 0.5 gives the first class,
    # as the binarizer's "p > 0.5" does.
    index = graph.node("ArgMax", [proba], axis=1, keepdims=0)
    return graph.node("Gather", [table, index], output, axis=0)


def _graph(scope, operator, container):
    if container.target_opset is not None and container.target_opset < _MIN_OPSET:
        raise RuntimeError(
            f"skce's ONNX converter needs target_opset >= {_MIN_OPSET}, got "
            f"{container.target_opset}."
        )
    double = guess_proto_type(operator.inputs[0].type) == onnx_proto.TensorProto.DOUBLE
    return _Graph(scope, container, double)


def _convert(scope, operator, container):
    model = operator.raw_operator
    graph = _graph(scope, operator, container)
    z = _logits(graph, model, operator.inputs[0].full_name)
    proba = _probabilities(graph, model, z, operator.outputs[1].full_name)
    classes = np.asarray(get_label_classes(scope, model))
    _labels(graph, model, proba, operator.outputs[0].full_name, classes)


def _regressor_shapes(operator):
    check_is_fitted(operator.raw_operator)
    calculate_linear_regressor_output_shapes(operator)


# A regressor's output units, from the logits (predict's ``Network.values``).
_VALUE_OPS = {"identity": "Identity", "exp": "Exp", "logistic": "Sigmoid"}


def _convert_regressor(scope, operator, container):
    model = operator.raw_operator
    graph = _graph(scope, operator, container)
    z = _logits(graph, model, operator.inputs[0].full_name)
    op = _VALUE_OPS[model.out_activation_]
    graph.node(op, [z], operator.outputs[0].full_name)


update_registered_converter(
    MLPCostRegressor, REGRESSOR_ALIAS, _regressor_shapes, _convert_regressor
)
update_registered_converter(
    MLPCostClassifier,
    ALIAS,
    _shapes,
    _convert,
    options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
)
