"""The contenders of a fit row: skce and scikit-learn (one call for both),
PyTorch and JAX, each training the same network from the same start."""

import itertools
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import shuffle

from skce._network import Network


def common_params(w):
    params = dict(
        hidden_layer_sizes=w.hidden,
        solver=w.solver,
        max_iter=w.epochs,
        random_state=0,
        tol=0.0,
        n_iter_no_change=10**9,
    )
    if w.solver != "lbfgs":
        params["batch_size"] = w.batch_size
    if w.solver == "sgd":
        params["learning_rate_init"] = 0.01
    return params


def fit_sklearn_like(cls, w, X, y, **params):
    """The row's fit, or for "fits" and "partial" rows its ``calls`` calls."""
    params = {**common_params(w), **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if w.kind == "fits":
            for _ in range(w.calls - 1):
                cls(**params).fit(X, y)
        if w.kind != "partial":
            return cls(**params).fit(X, y)
        model, classes = cls(**params), np.unique(y)
        starts = range(0, len(y) - w.batch_size + 1, w.batch_size)
        for _, start in zip(range(w.calls), itertools.cycle(starts)):
            stop = start + w.batch_size
            model.partial_fit(X[start:stop], y[start:stop], classes=classes)
        return model


def fit_torch(w, X, y):
    """The same network, optimizer, batches and epochs in eager PyTorch."""
    import torch

    torch.manual_seed(0)
    dtype = torch.float32 if X.dtype == np.float32 else torch.float64
    sizes = [X.shape[1], *w.hidden, int(y.max()) + 1]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(n_in, n_out, dtype=dtype), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    # Start from the weights skce and scikit-learn draw, so that all three
    # train the same network and their accuracies are comparable.
    network = Network(sizes, "relu", "softmax")
    theta = network.initial_theta("glorot_uniform", X.dtype, np.random.RandomState(0))
    linear = [layer for layer in model if isinstance(layer, torch.nn.Linear)]
    with torch.no_grad():
        for layer, coef, intercept in zip(linear, *network.views(theta), strict=True):
            layer.weight.copy_(torch.from_numpy(coef.T.copy()))
            layer.bias.copy_(torch.from_numpy(intercept.copy()))
    if w.solver == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    else:
        optimizer = torch.optim.SGD(
            model.parameters(), lr=0.01, momentum=0.9, nesterov=True
        )
    weights = [layer.weight for layer in linear]
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    generator = torch.Generator().manual_seed(0)
    for _ in range(w.epochs):
        order = torch.randperm(len(y_t), generator=generator)
        for start in range(0, len(y_t), w.batch_size):
            rows = order[start : start + w.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X_t[rows]), y_t[rows])
            # sklearn's L2 term: alpha / 2 * ||W||^2 / batch size
            loss = loss + 0.5e-4 * sum((W**2).sum() for W in weights) / len(rows)
            loss.backward()
            optimizer.step()

    class Fitted:
        def score(self, X, y):
            with torch.no_grad():
                predicted = model(torch.from_numpy(X)).argmax(dim=1).numpy()
            return float((predicted == y).mean())

    return Fitted()


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def fit_jax(w, X, y):
    """The same network, start, batches and Adam in JAX, as a JAX user writes
    it: one epoch ``jax.jit``-compiled, ``lax.scan`` over its full batches,
    one more compiled step for a last, shorter batch. scikit-learn's loss
    (softmax log-loss plus ``alpha / 2 * ||W||^2`` over the batch's rows,
    ``alpha=1e-4``) and its Adam (bias-corrected step, eps 1e-8).

    Returns the fitted model, with ``compile_seconds`` (compiling the epoch
    and the step, ahead of training) and ``train_seconds`` (the rest: the
    data onto the device and the epochs).
    """
    import time

    import jax
    import jax.numpy as jnp
    from jax import lax

    if w.solver != "adam":
        raise ValueError(f"fit_jax runs Adam rows only, not {w.solver!r}")
    if X.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    n_classes = int(y.max()) + 1
    network = Network([X.shape[1], *w.hidden, n_classes], "relu", "softmax")
    # The generator draws the start, then each epoch's order, as
    # scikit-learn's (and skce's) does: the same batches in the same order.
    rng = np.random.RandomState(0)
    theta = network.initial_theta("glorot_uniform", X.dtype, rng)
    params = [
        (jnp.asarray(coef), jnp.asarray(intercept))
        for coef, intercept in zip(*network.views(theta), strict=True)
    ]
    alpha, lr, beta_1, beta_2, eps = 1e-4, 1e-3, 0.9, 0.999, 1e-8

    def loss_fn(params, X_batch, y_batch):
        h = X_batch
        for W, b in params[:-1]:
            h = jax.nn.relu(h @ W + b)
        W, b = params[-1]
        log_p = jax.nn.log_softmax(h @ W + b)
        nll = -jnp.mean(jnp.take_along_axis(log_p, y_batch[:, None], axis=1))
        l2 = sum(jnp.sum(W * W) for W, _ in params)
        return nll + 0.5 * alpha * l2 / X_batch.shape[0]

    def step(carry, batch):
        params, m, v, t = carry
        loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
        t = t + 1
        size = lr * jnp.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m = jax.tree.map(lambda m, g: beta_1 * m + (1 - beta_1) * g, m, grads)
        v = jax.tree.map(lambda v, g: beta_2 * v + (1 - beta_2) * g * g, v, grads)
        params = jax.tree.map(
            lambda p, m, v: p - size * m / (jnp.sqrt(v) + eps), params, m, v
        )
        return (params, m, v, t), loss

    n_full = len(y) // w.batch_size * w.batch_size

    def epoch(carry, X_all, y_all, order):
        rows = order[:n_full].reshape(-1, w.batch_size)
        carry, _ = lax.scan(step, carry, (X_all[rows], y_all[rows]))
        return carry

    def last_batch(carry, X_all, y_all, order):
        rows = order[n_full:]
        return step(carry, (X_all[rows], y_all[rows]))[0]

    begin = time.perf_counter()
    X_all, y_all = jnp.asarray(X), jnp.asarray(y.astype(np.int32))
    zeros = jax.tree.map(jnp.zeros_like, params)
    carry = (params, zeros, zeros, jnp.asarray(0, dtype=X.dtype))
    order = jnp.arange(len(y))
    start = time.perf_counter()
    compiled_epoch = jax.jit(epoch).lower(carry, X_all, y_all, order).compile()
    compiled_last = None
    if n_full < len(y):
        compiled_last = jax.jit(last_batch).lower(carry, X_all, y_all, order).compile()
    compile_seconds = time.perf_counter() - start

    for _ in range(w.epochs):
        order = jnp.asarray(shuffle(np.arange(len(y)), random_state=rng))
        carry = compiled_epoch(carry, X_all, y_all, order)
        if compiled_last is not None:
            carry = compiled_last(carry, X_all, y_all, order)
    params = jax.block_until_ready(carry[0])
    train_seconds = time.perf_counter() - begin - compile_seconds

    class Fitted:
        def score(self, X, y):
            h = jnp.asarray(X)
            for W, b in params[:-1]:
                h = jax.nn.relu(h @ W + b)
            W, b = params[-1]
            predicted = np.asarray(jnp.argmax(h @ W + b, axis=1))
            return float((predicted == y).mean())

    fitted = Fitted()
    fitted.compile_seconds, fitted.train_seconds = compile_seconds, train_seconds
    return fitted


def jax_available():
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True
