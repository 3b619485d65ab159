"""``FairNetClassifier``: a fairness-aware neural classifier."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch.nn.functional as F
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._base import FairNetBase
from ._docs import fill_doc

__all__ = ["FairNetClassifier"]


class _ClassifierMixin:
    """Target handling, task loss and predictions shared by the classifiers."""

    _task = "classification"

    def _prepare_y(self, y):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class ({self.classes_.tolist()[0]!r}); a classifier needs at "
                "least 2 classes to learn from."
            )
        return codes.astype(np.int64), len(self.classes_)

    def _class_sample_weight(self, y):
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, dict):
            bad = {k: v for k, v in self.class_weight.items()
                   if isinstance(v, bool) or not isinstance(v, Real)
                   or not 0 <= v < float("inf")}
            if bad:
                raise ValueError(
                    f"class_weight must map classes to finite non-negative numbers; got {bad}."
                )
        return compute_sample_weight(self.class_weight, column_or_1d(y))

    def _stratify_labels(self, y_net):
        return y_net

    def get_task_loss(self, outputs, y_true):
        """Per-row cross-entropy (class weights enter through the row weights)."""
        return F.cross_entropy(outputs, y_true.long(), reduction="none")

    def _proba(self, X, sensitive_features=None):
        logits = self._forward_outputs(X, sensitive_features).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)


_CLASSIFIER_CONSTRAINTS = {
    **FairNetBase._parameter_constraints,
    "class_weight": [StrOptions({"balanced"}), dict, None],
}


@fill_doc
class FairNetClassifier(_ClassifierMixin, ClassifierMixin, FairNetBase):
    """Neural classifier trained with ``cross-entropy + lam * fairness``.

    A scikit-learn classifier whose ``fit`` trains a skorch network (see
    :mod:`skfair.estimators._base` for the design). The task loss is the
    per-row cross-entropy weighted by ``sample_weight``, the ``weighting``
    object's weights and ``class_weight``; the fairness term is computed on
    every mini-batch from the softmax probabilities, the targets and the
    sensitive group codes (or the embedding, for the adversary).

    Parameters
    ----------
%(common_params)s
    class_weight : "balanced", dict or None, default=None
        Class weights of the cross-entropy (seed 001): ``"balanced"`` gives
        class ``c`` the weight ``n / (n_classes * n_c)``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
%(common_attributes)s

    See Also
    --------
    AttributeAwareClassifier : the network also sees the sensitive attributes.
    FairNetRegressor : the regression counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.estimators import FairNetClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype(int)
    >>> s = rng.randint(0, 2, size=200)
    >>> clf = FairNetClassifier(fairness="eo_l2", lam=0.5, hidden_sizes=(16,),
    ...                         max_epochs=20, lr=0.01, device="cpu", random_state=0)
    >>> clf.fit(X, y, sensitive_features=s).score(X, y) > 0.9
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = _CLASSIFIER_CONSTRAINTS

    def __init__(
        self,
        *,
        module="mlp",
        hidden_sizes=(100,),
        dropout=0.0,
        module_params=None,
        fairness=None,
        lam=1.0,
        fairness_params=None,
        weighting=None,
        class_weight=None,
        max_epochs=30,
        lr=1e-3,
        batch_size=128,
        optimizer="adam",
        weight_decay=0.0,
        max_grad_norm=None,
        compile=False,
        batch_sampling="random",
        valid_split=None,
        early_stopping=None,
        augmentation=None,
        device="auto",
        accelerator=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            module=module, hidden_sizes=hidden_sizes, dropout=dropout,
            module_params=module_params, fairness=fairness, lam=lam,
            fairness_params=fairness_params, weighting=weighting, max_epochs=max_epochs,
            lr=lr, batch_size=batch_size, optimizer=optimizer, weight_decay=weight_decay,
            max_grad_norm=max_grad_norm, compile=compile,
            batch_sampling=batch_sampling, valid_split=valid_split,
            early_stopping=early_stopping, augmentation=augmentation, device=device,
            accelerator=accelerator,
            random_state=random_state, verbose=verbose,
        )
        self.class_weight = class_weight

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Features or images.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._proba(X)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Features or images.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self._proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
