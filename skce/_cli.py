"""The ``skce`` command line: ``skce compare``, ``skce slowdown``, ``skce warmup``."""

import argparse
import csv
import os
import sys
import time
import warnings
from typing import NamedTuple

import numpy as np

from ._codes import SOLVERS
from ._warmup import DTYPES, warmup
from .activations import ACTIVATIONS
from .costs import COSTS, REGRESSION_COSTS


class Task(NamedTuple):
    """What ``compare`` compares for a kind of target: the costs, the two
    scores of a fold (scikit-learn scorer names, the first ranks) and the
    starting learning rates that suit each solver on standardized data."""

    costs: tuple
    scorers: tuple
    score_names: tuple
    learning_rates: dict


# Full-batch gradient descent takes one step an epoch and needs a larger
# rate; the regression targets are scaled to unit variance, and the
# exponential outputs of the Poisson cost take the smaller rates.
TASKS = {
    "classification": Task(
        tuple(COSTS),
        ("accuracy", "neg_log_loss"),
        ("accuracy", "log-loss"),
        {"gd": 0.5, "sgd": 0.05, "adam": 0.005, "lbfgs": 0.001},
    ),
    "regression": Task(
        tuple(REGRESSION_COSTS),
        ("r2", "neg_mean_absolute_error"),
        ("R²", "MAE"),
        {"gd": 0.05, "sgd": 0.01, "adam": 0.005, "lbfgs": 0.001},
    ),
}


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


def infer_task(y):
    """``"regression"`` for a target column of numbers that are not class
    labels (scikit-learn's ``type_of_target`` says continuous), else
    ``"classification"``."""
    from sklearn.utils.multiclass import type_of_target

    try:
        values = y.astype(np.float64)
    except ValueError:
        return "classification"
    if type_of_target(values).startswith("continuous"):
        return "regression"
    return "classification"


def compare_data(args):
    """``(X, y, task, description)`` of ``compare``: the CSV file, or the
    bundled digits (classification) or diabetes (regression) data."""
    from sklearn.datasets import load_diabetes, load_digits

    if args.csv:
        if not args.target:
            raise DataError("--csv needs --target COLUMN")
        X, y = load_csv(args.csv, args.target)
        data = f"{args.csv} ({args.target})"
        task = args.task
        if task is None:
            task = infer_task(y)
            print(f"task: {task} (inferred from {args.target!r}; --task to choose)")
    elif args.task == "regression":
        X, y = load_diabetes(return_X_y=True)
        task, data = "regression", "the diabetes data"
    else:
        X, y = load_digits(return_X_y=True)
        task, data = "classification", "the digits"
    if task == "regression":
        try:
            y = y.astype(np.float64)
        except ValueError:
            raise DataError(
                f"--task regression needs numeric targets; {args.target!r} has "
                "values that are not numbers"
            ) from None
    return X, y, task, data


def compare(args):
    """Cross-validate every cost x solver and print a ranked table.

    Every fit (each pair's folds, then its fit on all rows for the figure)
    is one task of one joblib pool of ``--n-jobs`` threads: skce's fits
    share the cores they are given (``_cores``), so the pool keeps every
    core busy without oversubscribing it, and each fit is the one it would
    be alone, so the table and figure do not depend on ``--n-jobs``.
    """
    from joblib import Parallel, delayed
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ._estimator import MLPCostClassifier
    from ._regressor import MLPCostRegressor

    X, y, task_name, data = compare_data(args)
    task = TASKS[task_name]
    costs = args.costs or list(task.costs)
    wrong = [cost for cost in costs if cost not in task.costs]
    if wrong:
        raise DataError(
            f"{wrong} are not {task_name} costs; choose among {list(task.costs)}"
        )
    pairs = [(cost, solver) for cost in costs for solver in args.solvers]
    splitter = StratifiedKFold if task_name == "classification" else KFold
    cv = splitter(args.cv, shuffle=True, random_state=args.random_state)
    try:
        folds = list(cv.split(X, y))
    except ValueError as error:
        raise DataError(str(error).splitlines()[-1]) from None

    def template(cost, solver):
        params = dict(
            hidden_layer_sizes=(args.hidden,),
            activation=args.activation,
            negative_slope=args.negative_slope,
            solver=solver,
            max_iter=args.max_iter,
            learning_rate_init=task.learning_rates[solver],
            random_state=args.random_state,
        )
        if task_name == "classification":
            return make_pipeline(
                StandardScaler(), MLPCostClassifier(cost=cost, **params)
            )
        # Targets scaled to unit variance, not centred: Poisson's stay >= 0.
        return TransformedTargetRegressor(
            make_pipeline(StandardScaler(), MLPCostRegressor(cost, **params)),
            transformer=StandardScaler(with_mean=False),
        )

    templates = {pair: template(*pair) for pair in pairs}
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
            delayed(_compare_fit)(templates[pair], X, y, folds, fold, task.scorers)
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
        fitted = results[pair, None]
        models[pair] = getattr(fitted, "regressor_", fitted)[-1]
        scores = np.array([results[pair, fold] for fold in range(len(folds))])
        rows.append((*pair, scores[:, 0], scores[:, 1], scores[:, 2]))
    rows.sort(key=rank_key)
    first, second = task.score_names
    activation = args.activation
    if activation == "leaky_relu":
        activation += f" (slope {args.negative_slope:g})"
    print(
        f"{data}: {X.shape[0]} rows, {X.shape[1]} features; {args.hidden} "
        f"{activation} hidden units; {args.cv}-fold "
        f"cross-validation (mean ± std over the folds); ranked by {first}, ties "
        f"by {second}; fit: mean seconds per fold's fit"
    )
    print(
        f"{'rank':>4}  {'cost':<14} {'solver':<6} {first:>17} {second:>17} {'fit':>9}"
    )
    for rank, (cost, solver, score, loss, seconds) in enumerate(rows, start=1):
        print(
            f"{rank:>4}  {cost:<14} {solver:<6} {score.mean():>8.4f} ± "
            f"{score.std():.4f} {loss.mean():>8.4f} ± {loss.std():.4f} "
            f"{seconds.mean():>8.2f}s"
        )
    folding = "stratified " if task_name == "classification" else ""
    subtitle = (
        f"{data}, {X.shape[0]} rows: StandardScaler + one hidden layer of "
        f"{args.hidden} {activation} units, at most {args.max_iter} epochs. Loss "
        "curves: one "
        f"fit on all rows per cost and solver; {first}: {args.cv}-fold "
        f"{folding}cross-validation."
    )
    save_compare_figure(models, rows, args.out, subtitle, first)


def rank_key(row):
    """``compare``'s order: the higher mean score (accuracy, R²) first, and
    of equal scores the lower mean loss (log-loss, MAE). Equal means the
    same to 10 decimals: the same fold scores added in another order may
    differ in the last bit."""
    _, _, score, loss, _ = row
    return -round(float(score.mean()), 10), float(loss.mean())


def _compare_fit(template, X, y, folds, fold, scorers):
    """A fit of ``compare``: on all rows (``fold`` None), the fitted model;
    else ``(score, loss, fit seconds)`` on that fold, by the two scorers
    (the second negated), as ``cross_validate`` scores them. A
    ``ValueError`` is returned, to be reported as bad data by the caller."""
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
        score = get_scorer(scorers[0])(model, X[test], y[test])
        loss = -get_scorer(scorers[1])(model, X[test], y[test])
    except ValueError as error:
        return error
    return score, loss, seconds


# One colour per solver, the same in every panel (matplotlib's tab10).
SOLVER_COLORS = dict(
    zip(SOLVERS, ("tab:blue", "tab:orange", "tab:green", "tab:red"), strict=True)
)


def compare_figure(models, rows, subtitle="", score="accuracy"):
    """The figure of ``skce compare``: one loss panel per cost, and the score.

    The costs are on different scales (a quadratic cost is not a
    log-likelihood), so each has its own panel; a solver has one colour in
    all of them. The last panel shows each pair's cross-validated score:
    the mean, its spread (one standard deviation) and each fold.

    Parameters
    ----------
    models : dict
        ``(cost, solver) -> fitted estimator`` (an ``MLPCostClassifier`` or
        ``MLPCostRegressor``).
    rows : list of tuple
        ``(cost, solver, fold scores, ...)`` as ``compare`` ranks them.
    subtitle : str, default=""
        What was fitted on which data, under the title.
    score : str, default="accuracy"
        The name of the score in ``rows``.

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
            curve = models[cost, solver].loss_curve_
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
    scores = {(cost, solver): folds for cost, solver, folds, *_ in rows}
    width = 0.8 / len(solvers)
    for k, solver in enumerate(solvers):
        x = np.arange(len(costs)) + (k - (len(solvers) - 1) / 2) * width
        folds = [scores[cost, solver] for cost in costs]
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
    ax.set(title=f"cross-validated {score} (mean ± std; dots: folds)", ylabel=score)
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
        f"skce compare: the training cost of every cost and solver, and their {score}",
        fontweight="bold",
    )
    top = 1 - 0.9 / fig.get_figheight()
    if subtitle:
        fig.text(0.5, top + 0.01, subtitle, ha="center", fontsize="small", wrap=True)
    fig.tight_layout(rect=(0, 0, 1, top))
    return fig


def save_compare_figure(models, rows, folder, subtitle="", score="accuracy"):
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
    fig = compare_figure(models, rows, subtitle, score)
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


def _non_negative(text):
    """An argparse type: a float >= 0."""
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def parser():
    main = argparse.ArgumentParser(
        prog="skce",
        description="skce: MLP estimators with a selectable cost and solver.",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmp = commands.add_parser(
        "compare",
        help="cross-validate every cost x solver",
        description="Cross-validate every cost x solver (standardized inputs, one "
        "hidden layer) on bundled data (the digits; the diabetes data with "
        "--task regression) or on a CSV file, print a table ranked by accuracy "
        "(R² for regression), and save a figure (loss curves per cost, scores). "
        "A CSV target of numbers that are not class labels is a regression, "
        "unless --task says otherwise.",
    )
    cmp.add_argument("--csv", metavar="PATH", help="a CSV file with a header row")
    cmp.add_argument("--target", metavar="COLUMN", help="the target column of --csv")
    cmp.add_argument(
        "--task",
        choices=list(TASKS),
        default=None,
        help="classification (MLPCostClassifier) or regression (MLPCostRegressor); "
        "default: inferred from --target, else classification",
    )
    cmp.add_argument(
        "--costs",
        nargs="+",
        choices=list(COSTS) + list(REGRESSION_COSTS),
        default=None,
        help="costs to compare (default: all of the task's)",
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
    cmp.add_argument(
        "--activation",
        choices=list(ACTIVATIONS),
        default="relu",
        help="activation of the hidden units (relu)",
    )
    cmp.add_argument(
        "--negative-slope",
        type=_non_negative,
        default=0.01,
        help="slope of leaky_relu below zero (0.01)",
    )
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
