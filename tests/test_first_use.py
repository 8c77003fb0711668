"""What a new user meets first: the README's example, the messages, the
notebook display and the command line's tables and figures."""

import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from sklearn.utils._param_validation import (
    InvalidParameterError as SklearnInvalidParameterError,
)

from skce import InvalidParameterError, MLPCostClassifier
from skce._cli import main, parser, rank_key
from skce.experiments import COMMON_RATE, RATES, learning_slowdown, slowdown_figure

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]


def _readme_example():
    """The Usage section's Python code and the output it says it prints."""
    usage = (ROOT / "README.md").read_text().split("## Usage", 1)[1]
    code = re.search(r"```python\n(.+?)```", usage, re.S).group(1)
    shown = re.search(r"prints.*?```\n(.+?)```", usage, re.S).group(1)
    return code, shown


def test_readme_example_prints_what_the_readme_shows_every_run_and_no_warning():
    code, shown = _readme_example()
    outputs = [
        subprocess.run(
            [sys.executable, "-W", "error", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    for run in outputs:
        assert run.stdout == shown
        assert run.stderr == ""


def test_one_class_is_named_as_the_user_wrote_it():
    X = np.random.RandomState(0).normal(size=(6, 2))
    with pytest.raises(ValueError, match=r"only one class: 'cat'\.$"):
        MLPCostClassifier().fit(X, np.array(["cat"] * 6))


def test_bad_parameters_raise_scikit_learns_exception():
    with pytest.raises(SklearnInvalidParameterError, match="alpha") as caught:
        MLPCostClassifier(alpha=-1.0).fit([[0.0], [1.0]], [0, 1])
    assert isinstance(caught.value, InvalidParameterError)
    assert isinstance(caught.value, ValueError | TypeError)


def test_notebook_display_links_to_skces_api_page():
    html = MLPCostClassifier()._repr_html_()
    assert 'href="https://skce.readthedocs.io/en/latest/generated/' in html
    assert "skce.MLPCostClassifier.html" in html
    assert 'href="https://scikit-learn.org' not in html


def _row(cost, accuracies, losses):
    return (cost, "adam", np.array(accuracies), np.array(losses), np.ones(3))


def test_compare_ranks_equal_accuracies_by_log_loss():
    # Equal means whose float sums differ in the last bit, as the folds of
    # two pairs do.
    first = _row("a", [0.1, 0.2, 0.3], [0.5, 0.5, 0.5])
    second = _row("b", [0.3, 0.2, 0.1], [0.2, 0.2, 0.2])
    better = _row("c", [0.9, 0.9, 0.9], [9.0, 9.0, 9.0])
    assert first[2].mean() != second[2].mean()
    ranked = sorted([first, second, better], key=rank_key)
    assert [row[0] for row in ranked] == ["c", "b", "a"]


def test_compare_says_what_its_columns_are(tmp_path, capsys):
    code = main(
        [
            "compare",
            "--costs",
            "log_loss",
            "--solvers",
            "lbfgs",
            "adam",
            "--cv",
            "2",
            "--max-iter",
            "5",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "2-fold cross-validation" in out
    assert "ties by log-loss" in out
    assert "mean seconds per fold" in out
    assert (tmp_path / "compare.png").is_file()


@pytest.mark.parametrize(
    "command, folder", [("compare", "skce-compare"), ("slowdown", "skce-slowdown")]
)
def test_help_gives_the_default_folder(command, folder):
    text = parser()._subparsers._group_actions[0].choices[command].format_help()
    assert f"default: {folder}" in text


def test_slowdown_states_the_rates_and_shows_the_slowdown(tmp_path, capsys):
    assert main(["slowdown", "--epochs", "100", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "a after 100 epochs" in out
    for rate in (*RATES.values(), COMMON_RATE):
        assert f" {rate:g} " in out
    assert (tmp_path / "learning_slowdown.png").is_file()


def test_at_one_rate_the_saturated_neuron_learns_faster_with_the_cross_entropy():
    rates = dict.fromkeys(("quadratic", "cross_entropy"), COMMON_RATE)
    runs = {(run.cost, run.start): run for run in learning_slowdown(100, rates=rates)}
    saturated = (2.0, 2.0)
    assert runs["cross_entropy", saturated].outputs[-1] < 0.1
    assert runs["quadratic", saturated].outputs[-1] > 0.9  # still on its plateau


def test_slowdown_figure_titles_both_panels_and_has_one_legend():
    nielsen = learning_slowdown(20)
    rates = dict.fromkeys(("quadratic", "cross_entropy"), COMMON_RATE)
    fig = slowdown_figure(nielsen, learning_slowdown(20, rates=rates))
    titles = [ax.get_title() for ax in fig.axes]
    assert "Nielsen's rates" in titles[0] and "0.005" in titles[0]
    assert "one rate" in titles[1]
    assert fig._suptitle is not None and "quadratic" in fig._suptitle.get_text()
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 4


WARMUP_ONE_PRECISION = """
import numpy as np
import skce
from skce._ahead import cache_counts
skce.warmup(["float32"])
_, before = cache_counts()
X = np.random.RandomState(0).normal(size=(30, 4))
y = np.arange(30) % 3
model = skce.MLPCostClassifier((5,), max_iter=2).fit(X.astype(np.float32), y)
model.predict_proba(X)
_, after = cache_counts()
print(before == after)
"""


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warmup_of_float32_covers_a_float32_models_float64_predictions():
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", WARMUP_ONE_PRECISION],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    assert result.stdout.split()[-1] == "True"
