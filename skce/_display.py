"""``LossCurveDisplay``: training and validation curves, after scikit-learn's
Display convention (``from_estimator``, ``plot``, ``figure_``, ``ax_``)."""

from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted


class LossCurveDisplay:
    """Loss (and validation) curves of one or several fitted estimators.

    Build it with :meth:`from_estimator`. Each estimator's training loss is a
    solid line; its validation cost, when it had a validation set, a dashed
    line of the same colour; its validation accuracy a dotted line on a
    second y axis on the right.

    Parameters
    ----------
    loss_curves : list of list of float
        ``loss_curve_`` of each estimator.
    validation_loss_curves : list of (list of float or None)
        ``validation_loss_curve_`` of each estimator.
    validation_scores : list of (list of float or None)
        ``validation_scores_`` of each estimator.
    labels : list of str
        A legend label for each estimator.

    Attributes
    ----------
    line_ : matplotlib Line2D or list of Line2D
        The training-loss line; a list of them for several estimators.
    lines_ : dict
        Every line, keyed by ``(label, kind)`` with kind ``"loss"``,
        ``"validation loss"`` or ``"validation score"``.
    ax_ : matplotlib Axes
        The axes with the losses.
    score_ax_ : matplotlib Axes or None
        The right-hand axes with the validation scores, if any.
    figure_ : matplotlib Figure
        The figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skce import LossCurveDisplay, MLPCostClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> fits = [MLPCostClassifier(cost=cost, max_iter=300, early_stopping=True,
    ...                           random_state=0).fit(X / 16, y)
    ...         for cost in ("cross_entropy", "quadratic")]
    >>> display = LossCurveDisplay.from_estimator(fits)
    >>> len(display.line_), sorted(kind for _, kind in display.lines_)[:2]
    (2, ['loss', 'loss'])
    """

    def __init__(
        self, *, loss_curves, validation_loss_curves, validation_scores, labels
    ):
        self.loss_curves = loss_curves
        self.validation_loss_curves = validation_loss_curves
        self.validation_scores = validation_scores
        self.labels = labels

    @classmethod
    def from_estimator(cls, estimator, *, labels=None, ax=None, **kwargs):
        """Plot the curves of a fitted estimator, or of a list of them.

        Parameters
        ----------
        estimator : MLPCostClassifier, Pipeline ending in one, or a list
            The fitted estimator(s).
        labels : list of str, default=None
            Legend labels; by default each estimator's cost and solver.
        ax : matplotlib Axes, default=None
            Where to plot; a new figure by default.
        **kwargs : dict
            Passed to :meth:`plot`.

        Returns
        -------
        display : LossCurveDisplay
        """
        estimators = (
            list(estimator) if isinstance(estimator, list | tuple) else [estimator]
        )
        estimators = [e[-1] if isinstance(e, Pipeline) else e for e in estimators]
        for each in estimators:
            check_is_fitted(each, "loss_curve_")
        if labels is None:
            labels = [f"{_cost_name(e.cost)}, {e.solver}" for e in estimators]
        if len(labels) != len(estimators):
            raise ValueError(
                f"Got {len(labels)} labels for {len(estimators)} estimators."
            )
        display = cls(
            loss_curves=[list(e.loss_curve_) for e in estimators],
            validation_loss_curves=[
                getattr(e, "validation_loss_curve_", None) for e in estimators
            ],
            validation_scores=[
                getattr(e, "validation_scores_", None) for e in estimators
            ],
            labels=list(labels),
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, show_validation=True, log_scale=False):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to plot; a new figure by default.
        show_validation : bool, default=True
            Whether to draw the validation cost and accuracy.
        log_scale : bool, default=False
            Whether the loss axis is logarithmic.

        Returns
        -------
        self : LossCurveDisplay
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError(
                "LossCurveDisplay needs matplotlib: pip install matplotlib"
            ) from error
        if ax is None:
            _, ax = plt.subplots()
        self.lines_, score_ax = {}, None
        curves = zip(
            self.labels,
            self.loss_curves,
            self.validation_loss_curves,
            self.validation_scores,
            strict=True,
        )
        for label, loss, val_loss, val_score in curves:
            epochs = range(1, len(loss) + 1)
            (line,) = ax.plot(epochs, loss, label=f"{label}: loss")
            self.lines_[label, "loss"] = line
            if not show_validation:
                continue
            for kind, curve, style in (
                ("validation loss", val_loss, "--"),
                ("validation score", val_score, ":"),
            ):
                if not curve:
                    continue
                if kind == "validation score":
                    score_ax = score_ax or ax.twinx()
                target = ax if kind == "validation loss" else score_ax
                self.lines_[label, kind] = target.plot(
                    range(1, len(curve) + 1),
                    curve,
                    linestyle=style,
                    color=line.get_color(),
                    label=f"{label}: {kind}",
                )[0]
        ax.set_xlabel("epoch (L-BFGS: iteration)")
        ax.set_ylabel("loss")
        if log_scale:
            ax.set_yscale("log")
        handles = [line for line in self.lines_.values()]
        ax.legend(
            handles=handles, labels=[h.get_label() for h in handles], fontsize="small"
        )
        if score_ax is not None:
            score_ax.set_ylabel("validation accuracy")
        losses = [self.lines_[label, "loss"] for label in self.labels]
        self.line_ = losses[0] if len(losses) == 1 else losses
        self.ax_, self.score_ax_, self.figure_ = ax, score_ax, ax.figure
        return self


def _cost_name(cost):
    return cost if isinstance(cost, str) else (cost.name or type(cost).__name__)
