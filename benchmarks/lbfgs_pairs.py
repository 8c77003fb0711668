"""Two L-BFGS fits in two threads against the same two one after the other.

    python benchmarks/lbfgs_pairs.py [--rounds 5] [--with adam]

On the two shapes of issue 36: the digits with (64,) for 60 iterations,
and 6000 x 120 with (256,) for 20. Each round times the two fits in turn,
then in two threads, each after a pause; the figure is the ratio of the
two times (in turn / in threads), its median over the rounds and their
spread, the median seconds of each, and whether the threaded models equal
the serial ones bit for bit.
``--with adam`` makes the second fit of each pair an adam fit.
"""

import argparse
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.datasets import load_digits, make_classification

from skce import MLPCostClassifier


def shapes():
    X, y = load_digits(return_X_y=True)
    yield (
        "digits (64,), 60 iterations",
        X / 16.0,
        y,
        dict(hidden_layer_sizes=(64,), max_iter=60),
    )
    X, y = make_classification(6000, 120, n_informative=60, n_classes=5, random_state=0)
    yield (
        "6000 x 120 (256,), 20 iterations",
        X,
        y,
        dict(hidden_layer_sizes=(256,), max_iter=20),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--with", dest="other", default="lbfgs")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    solvers = ("lbfgs", args.other)
    for name, X, y, params in shapes():

        def fit(i, X=X, y=y, params=params):
            model = MLPCostClassifier(solver=solvers[i], random_state=i, **params)
            return model.fit(X, y).theta_

        fit(0), fit(1)  # compiled and warm
        ratios, same, turns, sides = [], True, [], []
        for _ in range(args.rounds):
            time.sleep(1.0)
            start = time.perf_counter()
            serial = [fit(0), fit(1)]
            in_turn = time.perf_counter() - start
            time.sleep(1.0)
            start = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                threaded = list(pool.map(fit, (0, 1)))
            side_by_side = time.perf_counter() - start
            ratios.append(in_turn / side_by_side)
            turns.append(in_turn)
            sides.append(side_by_side)
            pairs = zip(serial, threaded, strict=True)
            same &= all(a.tobytes() == b.tobytes() for a, b in pairs)
        print(
            f"{name}, lbfgs + {args.other}: {np.median(ratios):.2f} "
            f"[{min(ratios):.2f}-{max(ratios):.2f}] (in turn {np.median(turns):.3f} s, "
            f"side by side {np.median(sides):.3f} s), same bits: {same}"
        )


if __name__ == "__main__":
    main()
