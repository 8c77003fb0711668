"""Per-epoch reports of a fit, and warnings that point at the user's code.

``verbose=True`` (or 1) prints scikit-learn's lines, ``Iteration n, loss =
...`` and ``Validation score: ...``. ``verbose >= 2`` draws a tqdm progress
bar with the epoch, the loss and the validation score; tqdm is optional, and
without it the lines are printed instead.
"""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message, category=UserWarning):
    """``warnings.warn`` attributed to the first caller outside skce.

    A fixed ``stacklevel`` breaks whenever a frame is added between the
    public method and the warning; counting skce's own frames does not.
    """
    level, frame = 2, sys._getframe(1)  # level 2 is warn's caller
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level += 1
        frame = frame.f_back
    warnings.warn(message, category, stacklevel=level)


class Progress:
    """Reports one fit's epochs (or L-BFGS iterations) as ``verbose`` asks."""

    def __init__(self, verbose, total, unit="epoch"):
        self.lines = bool(verbose)
        self.bar = None
        self.postfix = {}
        if verbose is True or verbose < 2:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            warn(
                "verbose >= 2 draws a progress bar with tqdm, which is not "
                "installed (pip install tqdm); printing a line an epoch instead."
            )
            return
        self.lines = False
        self.bar = tqdm(total=total, unit=unit, desc="skce", dynamic_ncols=True)

    def loss(self, n_iter, loss):
        if self.lines:
            print(f"Iteration {n_iter}, loss = {loss:.8f}")
        self.postfix = {"loss": f"{loss:.5g}"}

    def validation(self, score, loss):
        if self.lines:
            print(f"Validation score: {score:f}")
        self.postfix.update(val_score=f"{score:.4f}", val_loss=f"{loss:.5g}")

    def end_epoch(self):
        if self.bar is not None:
            self.bar.set_postfix(self.postfix, refresh=False)
            self.bar.update()

    def note(self, text):
        if self.bar is not None:
            self.bar.write(text)
        elif self.lines:
            print(text)

    def close(self):
        if self.bar is not None:
            self.bar.close()
