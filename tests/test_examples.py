"""Every example runs (smaller settings via SKCE_EXAMPLES_QUICK) and saves."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _ports import dashboard_port_taken

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_there_are_examples():
    assert {path.name for path in EXAMPLES} >= {
        "plot_learning_slowdown.py",
        "quickstart.py",
    }


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(script, tmp_path):
    env = dict(
        os.environ,
        SKCE_EXAMPLES_QUICK="1",
        SKCE_FIGURES=str(tmp_path),
        MPLBACKEND="Agg",
    )
    # 8787 held as a user's running Dask holds it: an example's cluster
    # takes a free port instead, without a warning.
    with dashboard_port_taken():
        result = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert "already in use" not in result.stderr, result.stderr
    if script.name.startswith("plot_"):
        assert list(tmp_path.glob("*.png")), "a plot_ example must save a figure"
    # Paths are printed relative to the working folder: the rendered gallery
    # must not show the folders of the machine that built the docs.
    assert str(tmp_path) not in result.stdout


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_example_has_a_figure_or_a_thumbnail(script):
    """The gallery shows a figure or a drawn thumbnail, never the placeholder."""
    text = script.read_text()
    if "savefig" in text:
        return
    marker = "# sphinx_gallery_thumbnail_path = "
    assert marker in text, f"{script.name} makes no figure and names no thumbnail"
    path = text.split(marker, 1)[1].splitlines()[0].strip('"')
    assert (script.parents[1] / "docs" / path).is_file()
