"""
Deploying a model: ONNX and skops
=================================

Two ways to take a fitted ``MLPCostClassifier`` to a server.

* **ONNX**: ``import skce.onnx`` registers a converter with skl2onnx. The
  model, here inside a ``Pipeline`` with its scaler, becomes an ONNX graph
  that onnxruntime runs with neither skce, scikit-learn nor Numba.
* **skops**: a file format that, unlike pickle, runs no code on loading. It
  lists the types a file needs; a skce model needs only skce's own estimator
  class to be trusted, as the file holds nothing but arrays and plain values.
"""

# sphinx_gallery_thumbnail_path = "_static/thumbnail_deploy_onnx_skops.png"

import os
import tempfile
import warnings

import numpy as np
import onnxruntime as ort
import skops.io as sio
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skce.onnx  # noqa: F401  (registers the converter with skl2onnx)
from skce import MLPCostClassifier

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)  # a float32 model: the ONNX graph computes in float32
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
model = make_pipeline(
    StandardScaler(),
    MLPCostClassifier((64,), cost="cross_entropy", max_iter=60, random_state=0),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    model.fit(X_train, y_train)
print(f"test accuracy: {model.score(X_test, y_test):.3f}")

# %%
# ONNX: the graph's outputs are the labels and the probabilities.
onx = to_onnx(model, X_train[:1], options={"zipmap": False})
session = ort.InferenceSession(
    onx.SerializeToString(), providers=["CPUExecutionProvider"]
)
labels, proba = session.run(None, {session.get_inputs()[0].name: X_test})
same_labels = np.array_equal(labels, model.predict(X_test))
print("onnxruntime labels equal predict:", same_labels)
print(
    "largest probability difference: "
    f"{np.abs(proba - model.predict_proba(X_test)).max():.1e}"
)

# %%
# skops: only skce's own type needs trusting; anything else is refused.
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "model.skops")
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    print("types to trust:", untrusted)
    loaded = sio.load(path, trusted=untrusted)
same = np.array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
print("reloaded model predicts the same:", same)
assert untrusted == ["skce._estimator.MLPCostClassifier"] and same
