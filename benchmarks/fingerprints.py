"""Fingerprints of fits whose numbers a change may touch: sharded and team paths.

The golden cases (``tests/test_golden.py``) hold the default paths' bits;
this prints, for fits beside them (``n_jobs`` 2 and 3, float32, sample
weights, L1 and elastic net, lbfgs and gd on shards, dropout, a wide
team), a hash of ``theta_`` and ``loss_curve_`` and the last loss. Run it
with the skce of two trees and compare the lines:

    PYTHONPATH=. python benchmarks/fingerprints.py > new.txt
    PYTHONPATH=../before python benchmarks/fingerprints.py > old.txt
    diff old.txt new.txt
"""

import hashlib
import warnings

import numpy as np

from skce import MLPCostClassifier

CASES = {
    "default": dict(),
    "adam_nj2": dict(n_jobs=2),
    "adam_nj3_f32": dict(n_jobs=3, f32=True),
    "sgd_nj2_l1": dict(n_jobs=2, solver="sgd", penalty="l1"),
    "sgd_nj2_en": dict(n_jobs=2, solver="sgd", penalty="elasticnet"),
    "adam_nj2_l2_w": dict(n_jobs=2, weighted=True),
    "lbfgs_nj2": dict(n_jobs=2, solver="lbfgs"),
    "gd_nj2_f32": dict(n_jobs=2, solver="gd", f32=True),
    "adam_nj2_drop": dict(n_jobs=2, dropout=0.2),
    "adam_team_wide": dict(hidden_layer_sizes=(600,), n_jobs=2),
}


def main():
    warnings.simplefilter("ignore")
    rng = np.random.RandomState(0)
    X = rng.rand(3000, 50)
    y = (X[:, 0] > 0.5).astype(int) + (X[:, 1] > 0.5)
    weights = rng.uniform(0.5, 2, 3000)
    for name, params in CASES.items():
        params = dict(params)
        data = X.astype(np.float32) if params.pop("f32", False) else X
        sample_weight = weights if params.pop("weighted", False) else None
        params.setdefault("hidden_layer_sizes", (64,))
        model = MLPCostClassifier(max_iter=4, random_state=0, **params)
        model.fit(data, y, sample_weight=sample_weight)
        record = model.theta_.tobytes() + np.array(model.loss_curve_).tobytes()
        digest = hashlib.md5(record).hexdigest()[:12]
        print(f"{name:16s} {digest} {model.loss_:.17g}")


if __name__ == "__main__":
    main()
