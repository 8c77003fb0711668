"""Models saved by skce 0.1.0 as of commit a1b8371, before issue 11 changed
the private fitted state; ``tests/test_persistence.py`` loads them.

    python tests/_legacy_models.py --write    # only with the old code
"""

import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import skops.io as sio
from _golden import _data

from skce import MLPCostClassifier

DATA = Path(__file__).resolve().parent / "data"
PICKLES = DATA / "legacy-0.1.0-models.pkl"
SKOPS = DATA / "legacy-0.1.0-adam.skops"
PROBA = DATA / "legacy-0.1.0-proba.npz"

# name -> (parameters, how the model was trained)
MODELS = {
    "adam-warm": (dict(solver="adam", warm_start=True, shuffle=False), "fit"),
    "sgd-early-stopping": (dict(solver="sgd", early_stopping=True), "fit"),
    "lbfgs-float32": (dict(solver="lbfgs"), "fit-float32"),
    "gd-class-weight-binary": (dict(solver="gd", class_weight="balanced"), "binary"),
    "sgd-partial-multilabel": (dict(solver="sgd"), "partial-multilabel"),
}


def params(name):
    return dict(
        hidden_layer_sizes=(6,),
        max_iter=3,
        random_state=0,
        learning_rate_init=0.01,
        **MODELS[name][0],
    )


def train(name):
    X, y, _, Y_multilabel = _data()
    model = MLPCostClassifier(**params(name))
    how = MODELS[name][1]
    if how == "fit":
        return model.fit(X, y)
    if how == "fit-float32":
        return model.fit(X.astype(np.float32), y)
    if how == "binary":
        return model.fit(X, np.where(y > 0, "yes", "no"))
    for start in (0, 30):
        model.partial_fit(X[start : start + 30], Y_multilabel[start : start + 30])
    return model


def write():
    X = _data()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {name: train(name) for name in MODELS}
    PICKLES.write_bytes(pickle.dumps(models))
    sio.dump(models["adam-warm"], SKOPS)
    np.savez(PROBA, **{name: m.predict_proba(X) for name, m in models.items()})


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
