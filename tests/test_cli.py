"""The skce command line."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skce import _cli
from skce._cli import main


def test_compare_on_digits(tmp_path, capsys, monkeypatch):
    figures = []
    draw = _cli.compare_figure
    monkeypatch.setattr(
        _cli, "compare_figure", lambda *args: figures.append(draw(*args)) or figures[0]
    )
    status = main(
        [
            "compare",
            "--costs",
            "quadratic",
            "cross_entropy",
            "--solvers",
            "lbfgs",
            "adam",
            "--cv",
            "2",
            "--max-iter",
            "30",
            "--out",
            str(tmp_path),
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0
    rows = [line.split() for line in out.splitlines() if line[:4].strip().isdigit()]
    assert [row[0] for row in rows] == ["1", "2", "3", "4"]
    accuracies = [float(row[3]) for row in rows]
    assert accuracies == sorted(accuracies, reverse=True) and min(accuracies) > 0.8
    assert "[4/4] cross_entropy + adam" in err or "[4/4] quadratic + adam" in err
    assert (tmp_path / "compare.png").stat().st_size > 0
    # One loss panel per cost (their scales differ), then the accuracies.
    panels = [ax for ax in figures[0].axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels[:2]] == [
        "cost = 'quadratic'",
        "cost = 'cross_entropy'",
    ]
    assert panels[2].get_title().startswith("cross-validated accuracy")
    # A solver has one colour in every panel, and the solvers differ.
    for ax in panels[:2]:
        colors = {line.get_label(): line.get_color() for line in ax.get_lines()}
        assert colors == {"lbfgs": "tab:red", "adam": "tab:green"}
    spreads = panels[2].containers  # one errorbar per solver, a point per cost
    assert [c.get_label() for c in spreads] == ["lbfgs", "adam"]
    assert all(len(c.lines[0].get_xdata()) == 2 for c in spreads)
    # Each fold of a pair has a place of its own, so equal scores stay visible.
    for dots in panels[2].collections:
        x = dots.get_offsets()[:, 0]
        if len(x) == 2:  # the folds of one pair (errorbars add other artists)
            assert x[0] != x[1]
    # The legend of the accuracies sits outside their panel.
    legend = panels[2].get_legend()
    figures[0].canvas.draw()
    legend_box = legend.get_window_extent()
    assert legend_box.x0 >= panels[2].get_window_extent().x1
    # The figure says what it shows.
    title = figures[0]._suptitle.get_text()
    assert "every cost and solver" in title
    subtitle = " ".join(text.get_text() for text in figures[0].texts)
    for words in ("the digits", "1797 rows", "StandardScaler", "30 epochs", "2-fold"):
        assert words in subtitle, words


def test_compare_trains_the_activation_it_is_given(tmp_path, capsys, monkeypatch):
    models = []
    draw = _cli.compare_figure
    monkeypatch.setattr(
        _cli, "compare_figure", lambda *args: models.append(args[0]) or draw(*args)
    )
    args = ["compare", "--costs", "cross_entropy", "--solvers", "lbfgs", "--cv", "2"]
    args += ["--max-iter", "20", "--hidden", "8", "--out", str(tmp_path)]
    assert main([*args, "--activation", "leaky_relu", "--negative-slope", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "8 leaky_relu (slope 0.2) hidden units" in out
    (model,) = models[0].values()
    assert (model.activation, model.negative_slope) == ("leaky_relu", 0.2)
    assert model._activation == ("leaky_relu", 0.2)

    assert main([*args, "--activation", "gelu"]) == 0
    assert "8 gelu hidden units" in capsys.readouterr().out
    assert list(models[1].values())[0]._activation == "gelu"

    for wrong in (["--activation", "swish"], ["--negative-slope", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*args, *wrong])
        assert exit_info.value.code == 2
        assert wrong[0] in capsys.readouterr().err


def test_compare_gives_the_same_table_for_any_n_jobs(digits_csv, tmp_path, capsys):
    """--n-jobs runs the fits side by side; each fit is the one it is alone,
    so only the fit times may differ."""
    tables = []
    for n_jobs in ("1", "2"):
        status = main(
            [
                "compare",
                "--csv",
                str(digits_csv),
                "--target",
                "digit",
                "--solvers",
                "lbfgs",
                "adam",
                "gd",
                "--cv",
                "3",
                "--max-iter",
                "20",
                "--n-jobs",
                n_jobs,
                "--out",
                str(tmp_path / n_jobs),
            ]
        )
        assert status == 0
        out = capsys.readouterr().out
        rows = [line.split() for line in out.splitlines() if line[:4].strip().isdigit()]
        assert len(rows) == 9
        tables.append([row[:-1] for row in rows])  # all but the fit time
    assert tables[0] == tables[1]


@pytest.fixture
def digits_csv(tmp_path):
    X, y = load_digits(return_X_y=True)
    path = tmp_path / "digits.csv"
    header = ",".join([f"pixel{i}" for i in range(64)] + ["digit"])
    rows = [
        ",".join(map(str, [*x, label]))
        for x, label in zip(X[:300], y[:300], strict=True)
    ]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_compare_on_a_csv_file(digits_csv, tmp_path, capsys):
    status = main(
        [
            "compare",
            "--csv",
            str(digits_csv),
            "--target",
            "digit",
            "--costs",
            "log_loss",
            "--solvers",
            "lbfgs",
            "--cv",
            "3",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert status == 0
    assert "log_loss       lbfgs" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--csv", "/no/such/file.csv", "--target", "y"],
            "cannot read /no/such/file.csv",
        ),
        (["--csv", "{csv}", "--target", "label"], "has no column 'label'"),
        (["--csv", "{bad}", "--target", "digit"], "non-numeric feature value"),
        (["--csv", "{csv}"], "--csv needs --target COLUMN"),
        (["--cv", "1"], "--cv must be at least 2"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    digits_csv, tmp_path, capsys, args, message
):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,digit\n1,x,0\n2,3,1\n")
    args = [a.format(csv=digits_csv, bad=bad) for a in args]
    assert main(["compare", *args, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("skce: error: ") and message in err[-1]
    assert not any("Traceback" in line for line in err)


def test_unknown_option_is_status_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--costs", "hinge"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'hinge'" in capsys.readouterr().err


def test_slowdown(tmp_path, capsys):
    assert main(["slowdown", "--epochs", "40", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    # cost, rate, (w, b), a at start, dC/dw at start, a at the end
    gradient = {
        (line.split()[0], line.split()[2]): float(line.split()[-2])
        for line in lines
        if line.startswith(("quadratic", "cross"))
    }
    assert gradient["cross_entropy", "(2.0,"] > 50 * gradient["quadratic", "(2.0,"]
    assert (tmp_path / "learning_slowdown.png").exists()


def test_help_of_every_command():
    for args in ([], ["compare"], ["slowdown"]):
        result = subprocess.run(
            [sys.executable, "-m", "skce", *args, "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "usage: skce" in result.stdout
    assert (
        "--target COLUMN"
        in subprocess.run(
            [sys.executable, "-m", "skce", "compare", "--help"],
            capture_output=True,
            text=True,
        ).stdout
    )


def test_csv_loader_reads_labels_as_strings(digits_csv):
    from skce._cli import load_csv

    X, y = load_csv(digits_csv, "digit")
    assert X.shape == (300, 64) and y.dtype.kind == "U"
    np.testing.assert_array_equal(y[:3], ["0", "1", "2"])


def _regression_csv(path, n=300):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n, 3))
    y = np.abs(X[:, 0] + 0.5 * X[:, 1] ** 2 + 0.2 * rng.normal(size=n))
    rows = ["a,b,c,y"] + [
        ",".join(f"{v:.6f}" for v in (*x, t)) for x, t in zip(X, y, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_compare_infers_and_prints_a_regression(tmp_path, capsys, monkeypatch):
    figures = []
    draw = _cli.compare_figure
    monkeypatch.setattr(
        _cli, "compare_figure", lambda *args: figures.append(draw(*args)) or figures[0]
    )
    path = _regression_csv(tmp_path / "values.csv")
    status = main(
        ["compare", "--csv", str(path), "--target", "y", "--solvers", "lbfgs"]
        + ["--cv", "2", "--max-iter", "50", "--hidden", "8", "--out", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "task: regression (inferred from 'y'" in out
    rows = [line.split() for line in out.splitlines() if line[:4].strip().isdigit()]
    assert sorted(row[1] for row in rows) == sorted(_cli.TASKS["regression"].costs)
    scores = [float(row[3]) for row in rows]
    assert scores == sorted(scores, reverse=True) and max(scores) > 0.5
    assert "ranked by R²" in out
    panels = [ax for ax in figures[0].axes if ax.get_visible()]
    assert panels[-1].get_title().startswith("cross-validated R²")


def test_compare_task_flag_overrides_the_inference(tmp_path, capsys):
    path = _regression_csv(tmp_path / "values.csv")
    status = main(
        ["compare", "--csv", str(path), "--target", "y", "--task", "classification"]
    )
    assert status == 2
    assert "skce: error:" in capsys.readouterr().err
    status = main(
        ["compare", "--task", "regression", "--costs", "quadratic", "--cv", "2"]
    )
    assert status == 2
    assert "not regression costs" in capsys.readouterr().err


def test_compare_refuses_labels_for_a_regression(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    path.write_text("a,label\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(20)))
    status = main(
        ["compare", "--csv", str(path), "--target", "label"] + ["--task", "regression"]
    )
    assert status == 2
    assert "needs numeric targets" in capsys.readouterr().err


def test_infer_task():
    assert _cli.infer_task(np.array(["1.5", "2.25", "0.1"])) == "regression"
    assert _cli.infer_task(np.array(["1", "2", "1"])) == "classification"
    assert _cli.infer_task(np.array(["cat", "dog"])) == "classification"
