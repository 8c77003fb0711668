"""The ``skce`` command line: ``skce compare``, ``skce slowdown``, ``skce warmup``."""

import argparse
import csv
import os
import sys
import time
import warnings

import numpy as np

from ._codes import SOLVERS
from ._warmup import DTYPES, warmup
from .costs import COSTS

# Starting learning rates that suit each solver on standardized data: full
# batch gradient descent takes one step an epoch and needs a larger one.
LEARNING_RATES = {"gd": 0.5, "sgd": 0.05, "adam": 0.005, "lbfgs": 0.001}


class DataError(Exception):
    """Bad input data, reported as one line and exit status 2."""


def load_csv(path, target):
    """Features and labels from a CSV file with a header row."""
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror}") from None
    if len(rows) < 2:
        raise DataError(f"{path} has no data rows under its header")
    header, rows = rows[0], [row for row in rows[1:] if row]
    if target not in header:
        raise DataError(f"{path} has no column {target!r}; its columns are {header}")
    column = header.index(target)
    try:
        X = np.array(
            [[float(v) for i, v in enumerate(row) if i != column] for row in rows]
        )
    except ValueError as error:
        raise DataError(f"{path}: non-numeric feature value ({error})") from None
    if X.ndim != 2 or X.shape[1] == 0:
        raise DataError(f"{path} has no feature columns besides {target!r}")
    return X, np.array([row[column] for row in rows])


def compare(args):
    """Cross-validate every cost x solver and print a ranked table.

    Every fit (each pair's folds, then its fit on all rows for the figure)
    is one task of one joblib pool of ``--n-jobs`` threads: skce's fits
    share the cores they are given (``_cores``), so the pool keeps every
    core busy without oversubscribing it, and each fit is the one it would
    be alone, so the table and figure do not depend on ``--n-jobs``.
    """
    from joblib import Parallel, delayed
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ._estimator import MLPCostClassifier

    if args.csv:
        if not args.target:
            raise DataError("--csv needs --target COLUMN")
        X, y = load_csv(args.csv, args.target)
    else:
        X, y = load_digits(return_X_y=True)
    pairs = [(cost, solver) for cost in args.costs for solver in args.solvers]
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state)
    try:
        folds = list(cv.split(X, y))
    except ValueError as error:
        raise DataError(str(error).splitlines()[-1]) from None
    templates = {
        (cost, solver): make_pipeline(
            StandardScaler(),
            MLPCostClassifier(
                (args.hidden,),
                cost=cost,
                solver=solver,
                max_iter=args.max_iter,
                learning_rate_init=LEARNING_RATES[solver],
                random_state=args.random_state,
            ),
        )
        for cost, solver in pairs
    }
    # The longest fits first (L-BFGS and full-batch GD on all rows), so that
    # no core is left with a long fit at the end.
    tasks = [(pair, None) for pair in pairs] + [
        (pair, fold) for pair in pairs for fold in range(len(folds))
    ]
    remaining = {pair: len(folds) + 1 for pair in pairs}
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        outcomes = Parallel(
            n_jobs=args.n_jobs, prefer="threads", return_as="generator"
        )(
            delayed(_compare_fit)(templates[pair], X, y, folds, fold)
            for pair, fold in tasks
        )
        for (pair, fold), outcome in zip(tasks, outcomes, strict=True):
            if isinstance(outcome, ValueError):
                raise DataError(str(outcome).splitlines()[-1])
            results[pair, fold] = outcome
            remaining[pair] -= 1
            if remaining[pair] == 0:
                done = sum(count == 0 for count in remaining.values())
                print(
                    f"[{done}/{len(pairs)}] {pair[0]} + {pair[1]} done",
                    file=sys.stderr,
                    flush=True,
                )
    rows, models = [], {}
    for pair in pairs:
        models[pair] = results[pair, None]
        scores = np.array([results[pair, fold] for fold in range(len(folds))])
        rows.append((*pair, scores[:, 0], scores[:, 1], scores[:, 2]))
    rows.sort(key=rank_key)
    data = f"{args.csv} ({args.target})" if args.csv else "the digits"
    print(
        f"{data}: {X.shape[0]} rows, {X.shape[1]} features; {args.cv}-fold "
        "cross-validation (mean ± std over the folds); ranked by accuracy, ties "
        "by log-loss; fit: mean seconds per fold's fit"
    )
    print(
        f"{'rank':>4}  {'cost':<14} {'solver':<6} {'accuracy':>17} {'log-loss':>17} "
        f"{'fit':>9}"
    )
    for rank, (cost, solver, accuracy, loss, seconds) in enumerate(rows, start=1):
        print(
            f"{rank:>4}  {cost:<14} {solver:<6} {accuracy.mean():>8.4f} ± "
            f"{accuracy.std():.4f} {loss.mean():>8.4f} ± {loss.std():.4f} "
            f"{seconds.mean():>8.2f}s"
        )
    subtitle = (
        f"{data}, {X.shape[0]} rows: StandardScaler + one hidden layer of "
        f"{args.hidden} units, at most {args.max_iter} epochs. Loss curves: one "
        f"fit on all rows per cost and solver; accuracy: {args.cv}-fold "
        "stratified cross-validation."
    )
    save_compare_figure(models, rows, args.out, subtitle)


def rank_key(row):
    """``compare``'s order: the higher mean accuracy first, and of equal
    accuracies the lower mean log-loss. Equal means the same to 10 decimals:
    the same fold scores added in another order may differ in the last bit."""
    _, _, accuracy, loss, _ = row
    return -round(float(accuracy.mean()), 10), float(loss.mean())


def _compare_fit(template, X, y, folds, fold):
    """A fit of ``compare``: on all rows (``fold`` None), the fitted model;
    else ``(accuracy, log-loss, fit seconds)`` on that fold, as
    ``cross_validate`` scores it. A ``ValueError`` is returned, to be
    reported as bad data by the caller."""
    from sklearn.base import clone
    from sklearn.metrics import get_scorer

    model = clone(template)
    try:
        if fold is None:
            return model.fit(X, y)
        train, test = folds[fold]
        start = time.perf_counter()
        model.fit(X[train], y[train])
        seconds = time.perf_counter() - start
        accuracy = get_scorer("accuracy")(model, X[test], y[test])
        loss = -get_scorer("neg_log_loss")(model, X[test], y[test])
    except ValueError as error:
        return error
    return accuracy, loss, seconds


# One colour per solver, the same in every panel (matplotlib's tab10).
SOLVER_COLORS = dict(
    zip(SOLVERS, ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=True)
)


def compare_figure(models, rows, subtitle=""):
    """The figure of ``skce compare``: one loss panel per cost, and accuracy.

    The costs are on different scales (a quadratic cost is not a
    log-likelihood), so each has its own panel; a solver has one colour in
    all of them. The last panel shows each pair's cross-validated accuracy:
    the mean, its spread (one standard deviation) and each fold.

    Parameters
    ----------
    models : dict
        ``(cost, solver) -> fitted pipeline`` (its last step a
        ``MLPCostClassifier``).
    rows : list of tuple
        ``(cost, solver, fold accuracies, ...)`` as ``compare`` ranks them.
    subtitle : str, default=""
        What was fitted on which data, under the title.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    costs = list(dict.fromkeys(cost for cost, _ in models))
    solvers = list(dict.fromkeys(solver for _, solver in models))
    n_rows = -(-(len(costs) + 1) // 2)  # two panels a row, the last accuracy
    fig, axes = plt.subplots(n_rows, 2, figsize=(11, 3.6 * n_rows + 0.8), squeeze=False)
    axes = axes.ravel()
    for ax, cost in zip(axes, costs, strict=False):
        for solver in solvers:
            curve = models[cost, solver][-1].loss_curve_
            ax.plot(
                np.arange(1, len(curve) + 1),
                curve,
                color=SOLVER_COLORS[solver],
                label=solver,
            )
        ax.set(
            title=f"cost = {cost!r}",
            xlabel="epoch (lbfgs: iteration)",
            ylabel="training cost",
            yscale="log",
        )
        ax.legend(title="solver", fontsize="small")
    ax = axes[len(costs)]
    accuracy = {(cost, solver): folds for cost, solver, folds, *_ in rows}
    width = 0.8 / len(solvers)
    for k, solver in enumerate(solvers):
        x = np.arange(len(costs)) + (k - (len(solvers) - 1) / 2) * width
        folds = [accuracy[cost, solver] for cost in costs]
        color = SOLVER_COLORS[solver]
        ax.errorbar(
            x,
            [f.mean() for f in folds],
            yerr=[f.std() for f in folds],
            fmt="o",
            color=color,
            capsize=3,
            label=solver,
        )
        for xi, f in zip(x, folds, strict=True):
            # Each fold a little apart, so that equal scores do not hide
            # each other.
            offsets = np.linspace(0.1, 0.4, len(f)) * width
            ax.scatter(xi + offsets, f, s=8, color=color, alpha=0.5)
    ax.set_xticks(np.arange(len(costs)), costs)
    ax.set(
        title="cross-validated accuracy (mean ± std; dots: folds)",
        ylabel="accuracy",
    )
    ax.legend(
        title="solver",
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
    )
    for extra in axes[len(costs) + 1 :]:
        extra.set_visible(False)
    fig.suptitle(
        "skce compare: the training cost of every cost and solver, and their accuracy",
        fontweight="bold",
    )
    top = 1 - 0.9 / fig.get_figheight()
    if subtitle:
        fig.text(0.5, top + 0.01, subtitle, ha="center", fontsize="small", wrap=True)
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


def save_compare_figure(models, rows, folder, subtitle=""):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "skce: matplotlib is not installed; no figure (pip install matplotlib)",
            file=sys.stderr,
        )
        return
    os.makedirs(folder, exist_ok=True)
    fig = compare_figure(models, rows, subtitle)
    path = os.path.join(folder, "compare.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path}")


def slowdown(args):
    """Run Nielsen's single-neuron experiment, print it and plot it."""
    from .experiments import COMMON_RATE, learning_slowdown, slowdown_figure

    nielsen = learning_slowdown(epochs=args.epochs)
    common = learning_slowdown(
        epochs=args.epochs,
        rates=dict.fromkeys(("quadratic", "cross_entropy"), COMMON_RATE),
    )
    after = f"a after {args.epochs} epochs"
    print(
        f"{'cost':<14} {'rate':>6} {'start (w, b)':<12} {'a at start':>10} "
        f"{'dC/dw at start':>15} {after:>{len(after)}}"
    )
    for run in nielsen + common:
        w, b = run.start
        print(
            f"{run.cost:<14} {run.learning_rate:>6g} {str(run.start):<12} "
            f"{1 / (1 + np.exp(-(w + b))):>10.4f} {run.initial_gradient:>15.5f} "
            f"{run.outputs[-1]:>{len(after)}.4f}"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("skce: matplotlib is not installed; no figure", file=sys.stderr)
        return
    os.makedirs(args.out, exist_ok=True)
    fig = slowdown_figure(nielsen, common)
    path = os.path.join(args.out, "learning_slowdown.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path}")


def parser():
    main = argparse.ArgumentParser(
        prog="skce",
        description="skce: an MLP classifier with a selectable cost and solver.",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmp = commands.add_parser(
        "compare",
        help="cross-validate every cost x solver",
        description="Cross-validate every cost x solver (standardized inputs, one "
        "hidden layer) on the bundled digits data or on a CSV file, print a "
        "table ranked by accuracy, and save a figure (loss curves per cost, "
        "accuracies).",
    )
    cmp.add_argument("--csv", metavar="PATH", help="a CSV file with a header row")
    cmp.add_argument("--target", metavar="COLUMN", help="the label column of --csv")
    cmp.add_argument(
        "--costs",
        nargs="+",
        choices=list(COSTS),
        default=list(COSTS),
        help="costs to compare (default: all)",
    )
    cmp.add_argument(
        "--solvers",
        nargs="+",
        choices=SOLVERS,
        default=list(SOLVERS),
        help="solvers to compare (default: all)",
    )
    cmp.add_argument("--cv", type=int, default=5, help="cross-validation folds (5)")
    cmp.add_argument("--hidden", type=int, default=64, help="hidden units (64)")
    cmp.add_argument("--max-iter", type=int, default=200, help="epochs at most (200)")
    cmp.add_argument("--random-state", type=int, default=0, help="seed (0)")
    cmp.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="fits run at once, in threads (-1: one per core; default -1)",
    )
    _figures(cmp, compare, "skce-compare")
    slow = commands.add_parser(
        "slowdown",
        help="Nielsen's learning-slowdown experiment",
        description="Train one sigmoid neuron (input 1, target 0) by gradient "
        "descent from (w, b) = (0.6, 0.9) and from the saturated (2, 2), with the "
        "quadratic and the cross-entropy cost, print the gradients at the start "
        "and the outputs at the end, and save a figure. First with Nielsen's "
        "rates, 0.15 for the quadratic cost and 0.005 for the cross-entropy "
        "(his point is how the speed changes as the neuron leaves a wrong start, "
        "not the speed itself), then with 0.15 for both.",
    )
    slow.add_argument("--epochs", type=int, default=300, help="epochs (default: 300)")
    _figures(slow, slowdown, "skce-slowdown")
    warm = commands.add_parser(
        "warmup",
        help="compile the kernels ahead of time",
        description="Compile and cache every kernel a fit can run, for the given "
        "precisions, so that the first fit does not compile (for a deployment "
        "image or a CI cache).",
    )
    warm.add_argument(
        "--dtype",
        nargs="+",
        choices=list(DTYPES),
        default=["float64"],
        help="precisions of X to compile for (float64)",
    )
    warm.add_argument("--sparse", action="store_true", help="also sparse X")
    warm.set_defaults(run=run_warmup)
    return main


def _figures(command, run, out):
    """``command`` runs ``run(args)`` and saves its figures in ``--out``."""
    command.add_argument("--out", default=out, help=f"figure folder (default: {out})")
    command.set_defaults(run=run)


def run_warmup(args):
    seconds = warmup(args.dtype, sparse=args.sparse)
    print(f"compiled for {' and '.join(args.dtype)} in {seconds:.1f}s")


def main(argv=None):
    args = parser().parse_args(argv)
    if getattr(args, "cv", 2) < 2:
        print("skce: error: --cv must be at least 2", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        args.run(args)
    except DataError as error:
        print(f"skce: error: {error}", file=sys.stderr)
        return 2
    print(f"done in {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return 0
