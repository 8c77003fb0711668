"""Sphinx configuration of the skce documentation (builds offline)."""

import os

import skce

project = "skce"
author = "the skce developers"
copyright = "2026, the skce developers"
release = version = skce.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax's files copied into the build, so that the formulas render
    # read from disk without a network connection.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
templates_path = ["_templates"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Cross-references to scikit-learn and NumPy would need intersphinx, which
# fetches inventories from the network; the build stays offline.
numpydoc_xref_param_type = False
nitpicky = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/(plot_|grid_search|quickstart|dask_|out_of_core|deploy_)",
    "download_all_examples": False,
    "remove_config_comments": True,
}
# The gallery runs every example in full and saves its figures here;
# tests/test_examples.py runs them with SKCE_EXAMPLES_QUICK=1, smaller.
os.environ.setdefault("SKCE_FIGURES", os.path.join(os.path.dirname(__file__), "_build"))
os.makedirs(os.environ["SKCE_FIGURES"], exist_ok=True)

html_theme = "pydata_sphinx_theme"
html_title = "skce"
html_theme_options = {"navigation_with_keys": False, "show_prev_next": False}
exclude_patterns = ["_build"]
