"""The benchmark's workloads: what each row fits, on which data, and its
targets."""

from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.datasets import load_digits, make_classification


@dataclass
class Workload:
    """One benchmark row: what to fit (or predict) and its target ratios."""

    id: str
    data: str
    hidden: tuple
    solver: str
    batch_size: int = 200
    epochs: int = 1
    dtype: str = "float64"
    # "fit"; "fits" (``calls`` fits in a row); "partial" (``calls``
    # partial_fit calls of ``batch_size`` rows); "predict" (throughput) or
    # "latency" (one row)
    kind: str = "fit"
    model_of: str = ""  # for predict/latency rows: the fit row whose model is used
    target: float | None = 1.0  # skce / sklearn (None: sklearn not run)
    torch_target: float | None = None  # skce / torch
    peak_target: float | None = None  # share of the matrix-product peak
    n_jobs: int | None = None  # skce's; a row with n_jobs > 1 also times n_jobs=1
    target_vs_n_jobs_1: float | None = None  # skce(n_jobs) / skce(n_jobs=1)
    roofline: bool = False  # time the fit's matrix products alone too
    calls: int = 1
    params: dict = field(default_factory=dict)
    task: str = "classification"  # or "regression": MLPCostRegressor on
    # ``regression_target`` of the same rows, against MLPRegressor


FULL = [
    Workload(
        "W1",
        "digits",
        (100,),
        "adam",
        200,
        100,
        target=0.30,
        torch_target=0.30,
        roofline=True,
    ),
    Workload("W1j2", "digits", (100,), "adam", 200, 100, target=0.20, n_jobs=2),
    Workload("W2", "digits", (100,), "sgd", 10, 10, target=0.10, torch_target=0.30),
    Workload(
        "W3",
        "synthetic-100",
        (64, 64),
        "adam",
        200,
        10,
        target=0.30,
        torch_target=0.30,
        roofline=True,
    ),
    Workload("W3j2", "synthetic-100", (64, 64), "adam", 200, 10, target=0.20, n_jobs=2),
    Workload(
        "W4",
        "synthetic-784",
        (512,),
        "adam",
        200,
        3,
        target=0.80,
        peak_target=0.85,
        roofline=True,
    ),
    Workload(
        "W4f",
        "synthetic-784",
        (512,),
        "adam",
        200,
        3,
        dtype="float32",
        target=0.70,
        peak_target=0.80,
    ),
    Workload("W5", "digits", (100,), "lbfgs", epochs=200, target=0.50),
    Workload("W5s", "digits", (64,), "lbfgs", epochs=200, target=0.50),
    Workload("W5b", "synthetic-100", (64, 64), "lbfgs", epochs=50, target=0.50),
    Workload("W5j2", "digits", (100,), "lbfgs", epochs=200, target=0.50, n_jobs=2),
    Workload(
        "W5L",
        "synthetic-50",
        (64,),
        "lbfgs",
        epochs=30,
        target=None,
        n_jobs=2,
        target_vs_n_jobs_1=1 / 1.7,
    ),
    Workload(
        "W6", "predict-784", (512,), "adam", kind="predict", model_of="W4", target=0.80
    ),
    Workload(
        "W7", "digits", (100,), "adam", kind="latency", model_of="W1", target=0.50
    ),
    Workload(
        "W8", "digits", (100,), "adam", 200, 5, kind="fits", calls=200, target=0.30
    ),
    Workload(
        "W9", "digits", (100,), "adam", 50, kind="partial", calls=1000, target=0.30
    ),
]


def as_regression(workload):
    """The regressor's row on a classifier row's shape (one output unit),
    against MLPRegressor: R1 is W1's shape, and so on. Only scikit-learn is
    its contender, and its products are not timed apart."""
    return replace(
        workload,
        id="R" + workload.id[1:],
        task="regression",
        torch_target=None,
        roofline=False,
    )


# After the last fit row of the classifier: its rows on the regressor.
_LAST_FIT = next(i for i, w in enumerate(FULL) if w.id == "W5L")
FULL[_LAST_FIT + 1 : _LAST_FIT + 1] = [
    as_regression(w) for w in FULL if w.id in ("W1", "W3", "W5")
]

SIZES = {
    "full": {
        "synthetic-50": 100_000,
        "synthetic-100": 20_000,
        "synthetic-784": 20_000,
        "predict-784": 200_000,
    },
    "quick": {
        "synthetic-50": 2_000,
        "synthetic-100": 1_000,
        "synthetic-784": 600,
        "predict-784": 2_000,
    },
}


def quick_version(workload):
    """The same row, shrunk to run in well under a second."""
    epochs = {"W1": 3, "W1j2": 3, "W2": 1, "W5": 10, "W5j2": 10, "W8": 2}
    epochs.update(R1=3, R5=10)
    calls = {"W8": 5, "W9": 40}
    return Workload(
        **{
            **workload.__dict__,
            "epochs": epochs.get(workload.id, 1),
            "calls": calls.get(workload.id, 1),
        }
    )


def regression_target(X):
    """A continuous target of the rows ``X``: a fixed smooth function of a
    random projection, plus noise, standardized."""
    rng = np.random.RandomState(0)
    projection = X @ rng.normal(size=(X.shape[1], 2)) / np.sqrt(X.shape[1])
    y = np.sin(projection[:, 0]) + projection[:, 1] ** 2
    y = y + 0.1 * rng.normal(size=len(y))
    return ((y - y.mean()) / y.std()).astype(X.dtype)


def load(name, sizes, dtype):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return (X / 16.0).astype(dtype), y
    if name == "predict-784":
        # W4's training data repeated: its model is then scored on its own data.
        X, y = load("synthetic-784", sizes, dtype)
        rows = np.resize(np.arange(len(y)), sizes[name])
        return X[rows], y[rows]
    n_features = int(name.rsplit("-", 1)[1])
    n_classes = 5 if n_features == 100 else 10
    X, y = make_classification(
        n_samples=sizes[name],
        n_features=n_features,
        n_informative=n_features // 2,
        n_classes=n_classes,
        random_state=0,
    )
    return X.astype(dtype), y
