"""Draw the gallery thumbnails of the examples that make no figure.

Run from this folder after changing one: ``python thumbnails.py``. Each
example names its thumbnail with ``# sphinx_gallery_thumbnail_path``.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

SIZE = (4, 3)


def box(ax, x, y, w, h, text, color):
    ax.add_patch(
        FancyBboxPatch(
            (x, y), w, h, boxstyle="round,pad=0.02", fc=color, ec="0.3", lw=1
        )
    )
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=10)


def arrow(ax, start, end):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14))


def canvas():
    fig, ax = plt.subplots(figsize=SIZE)
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.axis("off")
    return fig, ax


def quickstart():
    """The digits the example learns, with their labels."""
    images, labels = load_digits(return_X_y=True)
    fig, axes = plt.subplots(2, 4, figsize=SIZE)
    for ax, image, label in zip(axes.ravel(), images, labels, strict=False):
        ax.imshow(image.reshape(8, 8), cmap="gray_r")
        ax.set_title(f"digit {label}", fontsize=9)
        ax.axis("off")
    return fig


def dask_grid_search():
    fig, ax = canvas()
    box(ax, 0.3, 0.75, 0.4, 0.15, "GridSearchCV\ncost x solver", "#cfe2f3")
    for k, x in enumerate((0.05, 0.55)):
        box(ax, x, 0.1, 0.4, 0.35, f"Dask worker {k + 1}\nfits", "#d9ead3")
        arrow(ax, (0.5, 0.73), (x + 0.2, 0.47))
    return fig


def deploy_onnx_skops():
    fig, ax = canvas()
    box(ax, 0.25, 0.72, 0.5, 0.18, "Pipeline\n(scaler, MLPCostClassifier)", "#cfe2f3")
    box(ax, 0.02, 0.1, 0.44, 0.25, "model.onnx\nonnxruntime", "#fce5cd")
    box(ax, 0.54, 0.1, 0.44, 0.25, "model.skops\nno code on load", "#d9ead3")
    arrow(ax, (0.4, 0.7), (0.24, 0.37))
    arrow(ax, (0.6, 0.7), (0.76, 0.37))
    return fig


def out_of_core_incremental():
    fig, ax = canvas()
    for k in range(5):
        box(ax, 0.05, 0.08 + 0.17 * k, 0.3, 0.12, f"block {5 - k}", "#cfe2f3")
    box(ax, 0.6, 0.35, 0.35, 0.25, "partial_fit", "#d9ead3")
    arrow(ax, (0.37, 0.48), (0.58, 0.48))
    return fig


if __name__ == "__main__":
    drawings = (
        quickstart,
        dask_grid_search,
        deploy_onnx_skops,
        out_of_core_incremental,
    )
    for draw in drawings:
        figure = draw()
        figure.tight_layout()
        figure.savefig(f"thumbnail_{draw.__name__}.png", dpi=100)
        plt.close(figure)
