"""Local SGD on a cluster against the in-memory fit: test accuracy.

For 'sgd' and 'adam', 2, 5 and 16 partitions, 10, 30 and 100 epochs,
scikit-learn's default ``learning_rate_init`` and a tuned one, and two data
sets (3 and 20 classes), this fits ``DaskMLPCostClassifier`` on a
``LocalCluster`` of two workers and ``MLPCostClassifier`` in memory with the
same parameters, and prints the difference of their test accuracies in
points (the table of docs/scaling.rst, "local-sgd")::

    python benchmarks/local_sgd_quality.py --out new.json
    python benchmarks/local_sgd_quality.py --table new.json --before old.json

``--before`` puts a second run's differences in brackets: run this script
with another version of skce first (``PYTHONPATH=<its checkout>``). Quality
only: the workers are threads, to keep the 72 cells to minutes; the time of
local SGD on worker processes is in ``bench.py --dask``.
"""

import argparse
import itertools
import json
import warnings

import dask.array as da
import numpy as np
from clusters import two_workers
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

SOLVERS = ("sgd", "adam")
PARTS = (2, 5, 16)
EPOCHS = (10, 30, 100)
RATES = {
    "default": {"sgd": 0.001, "adam": 0.001},
    "tuned": {"sgd": 0.01, "adam": 0.003},
}


def dataset(name):
    """30 000 training and 10 000 test rows, standardised."""
    if name == "3 classes":
        X, y = make_classification(
            40_000, 12, n_informative=8, n_redundant=2, n_classes=3, random_state=0
        )
        hidden = (24,)
    else:
        X, y = make_classification(
            40_000,
            40,
            n_informative=24,
            n_redundant=4,
            n_classes=20,
            n_clusters_per_class=1,
            random_state=1,
        )
        hidden = (64,)
    X = StandardScaler().fit_transform(X)
    return X[:30_000], y[:30_000], X[30_000:], y[30_000:], hidden


def measure():
    from skce import MLPCostClassifier
    from skce.dask import DaskMLPCostClassifier

    cells = []
    with two_workers(processes=False), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name in ("3 classes", "20 classes"):
            X, y, X_test, y_test, hidden = dataset(name)
            for solver, parts, epochs, rate in itertools.product(
                SOLVERS, PARTS, EPOCHS, RATES
            ):
                params = dict(
                    hidden_layer_sizes=hidden,
                    solver=solver,
                    learning_rate_init=RATES[rate][solver],
                    max_iter=epochs,
                    random_state=0,
                )
                plain = MLPCostClassifier(**params).fit(X, y)
                rows = -(-len(X) // parts)
                Xd = da.from_array(X, chunks=(rows, -1))
                yd = da.from_array(y, chunks=rows)
                fitted = DaskMLPCostClassifier(**params).fit(Xd, yd)
                cell = dict(
                    data=name,
                    solver=solver,
                    parts=parts,
                    epochs=epochs,
                    rate=rate,
                    in_memory=plain.score(X_test, y_test),
                    cluster=fitted.score(X_test, y_test),
                )
                cells.append(cell)
                print(_line(cell), flush=True)
    return cells


def _line(cell):
    points = 100 * (cell["cluster"] - cell["in_memory"])
    return (
        f"{cell['data']:<10} {cell['solver']:<4} {cell['parts']:>2} partitions "
        f"{cell['epochs']:>3} epochs {cell['rate']:<7} in memory "
        f"{cell['in_memory']:.4f} cluster {cell['cluster']:.4f} ({points:+.2f})"
    )


def _key(cell):
    return cell["data"], cell["solver"], cell["parts"], cell["epochs"], cell["rate"]


def table(cells, before=None):
    """An rst table: a row per data set, solver and partition count, a
    column per epoch count and rate; cluster minus in-memory accuracy in
    points, ``before``'s in brackets."""
    diff = {_key(c): 100 * (c["cluster"] - c["in_memory"]) for c in cells}
    old = {_key(c): 100 * (c["cluster"] - c["in_memory"]) for c in before or []}
    columns = [(e, r) for e in EPOCHS for r in RATES]
    header = ["data", "solver", "parts"] + [f"{e} ep., {r}" for e, r in columns]
    rows = []
    for name, solver, parts in itertools.product(
        ("3 classes", "20 classes"), SOLVERS, PARTS
    ):
        row = [name, solver, str(parts)]
        for epochs, rate in columns:
            key = (name, solver, parts, epochs, rate)
            text = _points(diff[key]) if key in diff else "-"
            if key in old:
                text += f" ({_points(old[key])})"
            row.append(text)
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append(rule)
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
    ]
    lines.append(rule)
    return "\n".join(line.rstrip() for line in lines)


def _points(value):
    text = f"{value:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the cells as JSON here")
    parser.add_argument("--table", help="print the table of a saved run")
    parser.add_argument("--before", help="a saved run to show in brackets")
    args = parser.parse_args()
    if args.table:
        with open(args.table) as f:
            cells = json.load(f)
    else:
        cells = measure()
        if args.out:
            with open(args.out, "w") as f:
                json.dump(cells, f, indent=1)
    before = None
    if args.before:
        with open(args.before) as f:
            before = json.load(f)
    print(table(cells, before))
    worst = min(100 * (c["cluster"] - c["in_memory"]) for c in cells)
    spread = np.ptp([100 * (c["cluster"] - c["in_memory"]) for c in cells])
    print(f"cells: {len(cells)}, worst {worst:+.2f} points, spread {spread:.2f}")


if __name__ == "__main__":
    main()
