"""Per-epoch reports of a fit, and warnings that point at the user's code.

Any true ``verbose`` prints scikit-learn's lines to stdout, ``Iteration n,
loss = ...`` and ``Validation score: ...``, exactly as scikit-learn prints
them. ``verbose >= 2`` also draws a tqdm progress bar on stderr with the
epoch, the loss and the validation score, and writes the lines through
tqdm so that they stay readable; tqdm is optional, and without it there
are only the lines.
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
                "installed (pip install tqdm); printing the lines only."
            )
            return
        self.bar = tqdm(
            total=total, unit=unit, desc="skce", dynamic_ncols=True, file=sys.stderr
        )

    def _print(self, text):
        if not self.lines:
            return
        if self.bar is None:
            print(text)
        else:  # clears the bar, prints the line, redraws the bar
            self.bar.write(text, file=sys.stdout)

    def loss(self, n_iter, loss):
        self._print(f"Iteration {n_iter}, loss = {loss:.8f}")
        self.postfix = {"loss": f"{loss:.5g}"}

    def validation(self, score, loss):
        self._print(f"Validation score: {score:f}")
        self.postfix.update(val_score=f"{score:.4f}", val_loss=f"{loss:.5g}")

    def end_epoch(self):
        if self.bar is not None:
            self.bar.set_postfix(self.postfix, refresh=False)
            self.bar.update()

    def note(self, text):
        self._print(text)

    def close(self):
        if self.bar is not None:
            self.bar.close()
