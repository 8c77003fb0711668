r"""The hidden activations an :class:`~skce.MLPCostClassifier` or an
:class:`~skce.MLPCostRegressor` can use.

``activation=`` takes one of these names, or an instance of a class here
(for leaky ReLU, ``LeakyReLU(negative_slope)`` is what
``activation="leaky_relu", negative_slope=...`` gives):

================ ======================================= ===============================
``activation=``  :math:`f(z)`                            :math:`f'(z)`
================ ======================================= ===============================
``"identity"``   :math:`z`                               :math:`1`
``"logistic"``   :math:`1 / (1 + e^{-z})`                :math:`a (1 - a)`
``"tanh"``       :math:`\tanh z`                         :math:`1 - a^2`
``"relu"``       :math:`\max(z, 0)`                      :math:`[a > 0]`
``"leaky_relu"`` :math:`\max(z, 0) + s \min(z, 0)`       :math:`[a>0] + s [a \le 0]`
``"elu"``        :math:`\max(z, 0) + e^{\min(z, 0)} - 1` :math:`[a>0] + (a+1)[a \le 0]`
``"softplus"``   :math:`\ln(1 + e^z)`                    :math:`1 - e^{-a}`
``"gelu"``       :math:`\tfrac12 z (1 + \tanh u(z))`     of :math:`z`, see :class:`GELU`
================ ======================================= ===============================

with :math:`a = f(z)`, :math:`s` the slope (``negative_slope``, 0.01
by default). The first four are scikit-learn's. Each derivative is written
from the output :math:`a` where the output fixes it, which spares keeping
the pre-activations :math:`z`; GELU is not monotonic, so its derivative is
computed from :math:`z`, which the kernels then keep (one more matrix the
size of the hidden layers' outputs per batch). ``"gelu"`` is GELU's tanh
form (Hendrycks and Gimpel's approximation; ``approximate="tanh"`` in
PyTorch, the default of ``jax.nn.gelu``), not the exact :math:`z\Phi(z)`.

Your own activation
-------------------

Subclass :class:`Activation`, name it, and give ``fn`` and ``derivative``
as Numba-jitted static methods of *one number*: ``fn(z)`` the output
:math:`a`, ``derivative(z, a)`` :math:`f'(z)` (given both, use whichever
is exact)::

    import numpy as np
    from numba import njit
    from skce.activations import Activation

    class Swish(Activation):
        \"\"\"z * sigmoid(z) (SiLU).\"\"\"

        name = "swish"

        @staticmethod
        @njit
        def fn(z):
            return z / (1.0 + np.exp(-z))

        @staticmethod
        @njit
        def derivative(z, a):
            s = 1.0 / (1.0 + np.exp(-z))
            return s + a * (1.0 - s)

    MLPCostClassifier(activation=Swish()).fit(X, y)

The fit checks that both are jitted and give a finite number at a few
points, and then compiles them into the kernels (once per process: a
function given at run time cannot be cached on disk). It does not check
that ``derivative`` is ``fn``'s derivative: :meth:`Activation.gradient_error`
compares the two by finite differences through the compiled pieces, which
is worth one line in your tests: a wrong derivative trains on a wrong
gradient without a word. An exception in either, during the fit, makes
the outputs NaN, and the fit stops with the error of a diverged one.
"""

import functools
import math

import numpy as np
from numba.extending import is_jitted

from ._activations import PIECES, custom_pieces
from ._pieces import pointer

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "Activation",
    "Identity",
    "LeakyReLU",
    "Logistic",
    "ReLU",
    "Softplus",
    "Tanh",
]

# Where a user's functions are tried when a fit starts.
_TRIAL_POINTS = (-3.0, -0.5, 0.0, 0.5, 3.0)


class Activation:
    """Base class of the hidden activations.

    The built-in activations name pieces the kernels compute inline. A
    user's sets ``name`` and defines ``fn(z)`` and ``derivative(z, a)`` as
    Numba-jitted static methods of one number; see the module
    documentation for an example. Every activation, called on an array,
    gives :math:`f(z)` and its :meth:`slope` :math:`f'(z)`, computed by the
    compiled pieces the kernels call.

    Attributes
    ----------
    name : str
        A short name (for built-in activations, the string users pass as
        ``activation=``).
    parameter : float
        The built-in activation's one parameter, passed to the kernels (0
        if none).
    """

    name = None
    parameter = 0.0

    @property
    def builtin(self):
        """Whether the kernels compute this activation inline."""
        return type(self) in _BUILTIN_TYPES

    def pieces(self):
        """The compiled ``Pieces`` of this activation: built-in ones, or
        ones made of a user's ``fn`` and ``derivative``."""
        if self.builtin:
            return PIECES[self.name]
        return _custom_pieces(type(self))

    def check(self):
        """Raise a ``TypeError`` unless this activation follows the protocol:
        a user's ``fn`` and ``derivative`` are jitted and give finite numbers
        at a few points (what they raise there is raised here)."""
        if self.builtin:
            return self
        if not isinstance(self.name, str):
            raise TypeError(
                f"{type(self).__name__}.name must be a str, got {self.name!r}."
            )
        for method, arguments in (("fn", "z"), ("derivative", "z, a")):
            function = getattr(type(self), method, None)
            if function is None or not is_jitted(function):
                raise TypeError(
                    f"{type(self).__name__}.{method} must be a Numba-jitted "
                    f"static method of one number, {method}({arguments}): write "
                    f"@staticmethod over @numba.njit above it. Got {function!r}."
                )
        fn, derivative = type(self).fn, type(self).derivative
        for z in _TRIAL_POINTS:
            a = fn(z)
            for method, value in (("fn", a), ("derivative", derivative(z, a))):
                if not _is_finite_number(value):
                    raise TypeError(
                        f"{type(self).__name__}.{method} must return a finite "
                        f"number, got {value!r} at z={z}."
                    )
        return self

    @property
    def keeps_inputs(self):
        """Whether the kernels keep the pre-activations for the derivative."""
        return self.pieces().keeps_inputs

    def __call__(self, z):
        """:math:`f(z)`, by the kernels' own piece.

        Parameters
        ----------
        z : array-like
            Pre-activations (float64).

        Returns
        -------
        a : ndarray of the shape of ``z``
        """
        return self._run(z)[0]

    def slope(self, z):
        """:math:`f'(z)`, by the kernels' own pieces.

        Parameters
        ----------
        z : array-like
            Pre-activations (float64).

        Returns
        -------
        slope : ndarray of the shape of ``z``
        """
        return self._run(z)[1]

    def gradient_error(self, z=None, step=1e-6):
        """The largest gap between ``derivative`` and a central finite
        difference of ``fn``, relative to ``max(1, |f'(z)|)``: near 1e-8 for a
        correct derivative, of the order of the derivative for a wrong one.

        Parameters
        ----------
        z : array-like, default=None
            Where to compare (default: 201 points in [-5, 5], avoiding 0,
            where ReLU-like functions have a kink).
        step : float, default=1e-6
            The finite difference's half step.

        Returns
        -------
        error : float
        """
        if z is None:
            z = np.linspace(-5.0, 5.0, 201) + 0.0123
        z = np.ascontiguousarray(z, dtype=np.float64).ravel()
        numeric = (self(z + step) - self(z - step)) / (2.0 * step)
        analytic = self.slope(z)
        return float(
            np.max(np.abs(numeric - analytic) / np.maximum(1.0, abs(analytic)))
        )

    def _run(self, z):
        """``(f(z), f'(z))`` through the pieces, on one row."""
        self.check()
        z = np.ascontiguousarray(z, dtype=np.float64)
        pieces = self.pieces()
        shape = z.shape
        flat = z.reshape(1, -1)
        n = flat.shape[1]
        outputs = flat.copy()
        inputs = np.empty_like(outputs)
        bias = np.zeros(n)
        errors = np.ones_like(outputs)
        parameter = float(self.parameter)
        pieces.forward.function(np.float64)(
            1, n, n, pointer(outputs), pointer(bias), pointer(inputs), parameter
        )
        pieces.derivative.function(np.float64)(
            1, n, n, pointer(outputs), pointer(inputs), pointer(errors), 0.0, parameter
        )
        return outputs.reshape(shape), errors.reshape(shape)

    @property
    def label(self):
        """How messages name it: the quoted name of a built-in activation
        without parameter (what ``activation=`` takes), else the repr."""
        if self.builtin and not isinstance(self, LeakyReLU):
            return repr(self.name)
        return repr(self)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other) and self.parameter == other.parameter

    def __hash__(self):
        return hash((type(self), self.parameter))


class Identity(Activation):
    """:math:`f(z) = z`: ``activation="identity"``."""

    name = "identity"


class Logistic(Activation):
    """:math:`f(z) = 1 / (1 + e^{-z})`: ``activation="logistic"``."""

    name = "logistic"


class Tanh(Activation):
    """:math:`f(z) = \\tanh z`: ``activation="tanh"``."""

    name = "tanh"


class ReLU(Activation):
    """:math:`f(z) = \\max(z, 0)`: ``activation="relu"``."""

    name = "relu"


class LeakyReLU(Activation):
    """:math:`f(z) = z` where :math:`z > 0`, :math:`s z` elsewhere:
    ``activation="leaky_relu"``.

    A unit whose inputs are all negative still passes a gradient of ``s``,
    so it can recover where a ReLU unit would stay dead.

    Parameters
    ----------
    negative_slope : float, default=0.01
        The slope :math:`s` below zero (the estimators' ``negative_slope``),
        at least 0; 0 is a ReLU.
    """

    name = "leaky_relu"

    def __init__(self, negative_slope=0.01):
        self.parameter = negative_slope

    @property
    def negative_slope(self):
        return self.parameter

    def check(self):
        """Also refuse a slope that is not a number >= 0 (a negative slope
        would make the output's sign differ from the input's, and the
        derivative is read from the output's sign)."""
        if not (_is_finite_number(self.parameter) and self.parameter >= 0):
            raise ValueError(
                f"The leaky ReLU's negative_slope must be a finite number >= 0, "
                f"got {self.parameter!r}."
            )
        return self

    def __repr__(self):
        return f"LeakyReLU({self.parameter!r})"


class ELU(Activation):
    """:math:`f(z) = z` where :math:`z > 0`, :math:`e^z - 1` elsewhere:
    ``activation="elu"`` (Clevert et al., 2015, with :math:`\\alpha = 1`).

    Negative outputs down to -1 pull the mean output towards zero, and
    the gradient below zero, :math:`e^z = a + 1`, never vanishes at once.
    """

    name = "elu"


class Softplus(Activation):
    """:math:`f(z) = \\ln(1 + e^z)`: ``activation="softplus"``, a smooth
    ReLU whose derivative is the logistic function."""

    name = "softplus"


class GELU(Activation):
    """GELU in its tanh form: ``activation="gelu"``.

    :math:`f(z) = \\tfrac12 z (1 + \\tanh(\\sqrt{2/\\pi}(z + 0.044715
    z^3)))` (Hendrycks and Gimpel, 2016), the approximation of
    :math:`z \\Phi(z)` that BERT and GPT-2 used; it differs from the exact
    form by less than 1e-3. Its derivative is computed from the
    pre-activations, which the kernels keep for it.
    """

    name = "gelu"


_BUILTIN_TYPES = (Identity, Logistic, Tanh, ReLU, LeakyReLU, ELU, Softplus, GELU)

#: The built-in activations by the name users pass as ``activation=``.
ACTIVATIONS = {kind.name: kind for kind in _BUILTIN_TYPES}


def activation_of(value, negative_slope=0.01):
    """The ``Activation`` of an ``activation`` parameter: a name (leaky ReLU
    with ``negative_slope``) or an instance, which is returned."""
    if isinstance(value, Activation):
        return value
    if value == "leaky_relu":
        return LeakyReLU(negative_slope)
    return ACTIVATIONS[value]()


def stored(activation):
    """How a fitted model stores its activation: the name of a built-in
    one without parameter (as before leaky ReLU), ``(name, parameter)`` of
    one with, a user's instance itself."""
    if not activation.builtin:
        return activation
    if isinstance(activation, LeakyReLU):
        return (activation.name, float(activation.parameter))
    return activation.name


def restored(value):
    """The ``Activation`` a fitted model stored (``stored``)."""
    if isinstance(value, Activation):
        return value
    if isinstance(value, tuple):
        name, parameter = value
        return activation_of(name, parameter)
    return activation_of(value)


def _is_finite_number(value):
    return (
        isinstance(value, int | float | np.floating | np.integer)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(value)
    )


@functools.cache
def _custom_pieces(activation_class):
    """The pieces of a user's activation class, made once per process."""
    return custom_pieces(activation_class.fn, activation_class.derivative)
