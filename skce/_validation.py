"""The validation set: held out for early stopping, or given by the user.

"Validation" in skce means this held-out set only; checks of
hyper-parameters live in ``_params`` and checks of kernel arguments in
``_boundary``.
"""

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from ._kernels import output_cost_and_delta


class ValidationSet:
    """Validation rows in kernel form, with their labels.

    Parameters
    ----------
    x : Inputs
        The validation features (``_boundary.kernel_input``).
    targets : Targets
        Their one-hot targets and sample weights.
    labels : ndarray
        Their labels, as ``decode`` gives them.
    decode : callable
        Maps ``predict_proba`` output to labels, as ``predict`` does.
    """

    def __init__(self, x, targets, labels, decode):
        self.x = x
        self.targets = targets
        self.labels = labels
        self.decode = decode

    def metrics(self, network, problem, theta):
        """Accuracy and weighted mean cost (no penalty) of ``theta`` here."""
        logits = network.logits(theta, self.x)
        score = accuracy_score(
            self.labels,
            self.decode(network.probabilities(logits)),
            sample_weight=self.targets.weights if self.targets.has_weight else None,
        )
        total = output_cost_and_delta(
            problem.cost_code,
            network.kernel.output,
            logits,
            self.targets,
            np.empty_like(logits),
            np.empty(logits.shape[0]),
            *problem.cost_functions,
        )
        if self.targets.has_weight:
            weight_sum = self.targets.weights.sum(dtype=np.float64)
        else:
            weight_sum = logits.shape[0]
        return float(score), float(total / weight_sum)


def holdout_split(arrays, stratify, fraction, random_state, strict):
    """Split ``arrays`` (same rows) into training and held-out parts.

    Stratified by ``stratify`` (None: not stratified), with scikit-learn's
    errors for a class with a single member. With ``strict`` False, a
    held-out part too small to hold every class is drawn unstratified
    instead of refused. Returns ``(train, held_out)``, two lists in the
    order of ``arrays``.
    """
    if stratify is not None and not strict:
        _, counts = np.unique(stratify, return_counts=True)
        n_samples = stratify.shape[0]
        n_validation = int(np.ceil(fraction * n_samples))
        if counts.min() >= 2 and not (
            counts.size <= n_validation <= n_samples - counts.size
        ):
            stratify = None
    parts = train_test_split(
        *arrays, random_state=random_state, test_size=fraction, stratify=stratify
    )
    train, held_out = parts[0::2], parts[1::2]
    if held_out[0].shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    return train, held_out
