"""``FairNetRegressor``: a fairness-aware neural regressor (e.g. age)."""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F
from sklearn.base import RegressorMixin
from sklearn.utils._param_validation import StrOptions

from ._base import FairNetBase
from ._docs import fill_doc

__all__ = ["FairNetRegressor"]

_LOSSES = {"mse", "l1", "mae", "huber"}


class _RegressorMixin:
    """Target handling, task loss and predictions shared by the regressors."""

    _task = "regression"

    def _prepare_y(self, y):
        y = np.asarray(y, dtype=np.float64)
        self._y_was_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        self.n_outputs_ = y2.shape[1]
        return y2, self.n_outputs_

    def _scale_y(self, y_net, train_rows):
        # standardised with the training rows' statistics (a valid_split part unseen)
        fit_on = y_net if train_rows is None else y_net[train_rows]
        with np.errstate(over="ignore", invalid="ignore"):
            self.y_mean_ = fit_on.mean(axis=0)
            scale = fit_on.std(axis=0)
        if not (np.isfinite(self.y_mean_).all() and np.isfinite(scale).all()):
            raise ValueError(
                f"y is too large to standardise: its mean or variance overflows float64 "
                f"(largest |y| = {np.abs(fit_on).max():.3g}), so predictions would be inf. "
                "Rescale the target (e.g. divide it by a power of ten) and undo that on the "
                "predictions."
            )
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        return ((y_net - self.y_mean_) / self.y_scale_).astype(np.float32)

    def get_task_loss(self, outputs, y_true):
        """Per-row loss on the standardised target, averaged over outputs."""
        y_true = y_true.to(outputs.dtype).reshape(outputs.shape)
        if self.loss == "mse":
            per = (outputs - y_true) ** 2
        elif self.loss == "huber":
            per = F.smooth_l1_loss(outputs, y_true, reduction="none")
        else:  # "l1" / "mae"
            per = (outputs - y_true).abs()
        return per.mean(dim=1)

    def _predict_values(self, X, sensitive_features=None):
        out = self._forward_outputs(X, sensitive_features).astype(np.float64)
        out = out * self.y_scale_ + self.y_mean_
        return out[:, 0] if self._y_was_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


@fill_doc
class FairNetRegressor(_RegressorMixin, RegressorMixin, FairNetBase):
    """Neural regressor trained with ``task loss + lam * fairness`` (e.g. age).

    The target is standardised internally (mean 0, std 1 per output; undone
    at predict), so learning rates and ``lam`` do not depend on its unit.
    Fairness terms for regression: ``"group_balanced"`` (group-balanced MAE /
    MSE), ``"mean_parity"`` (a demographic-parity penalty on the group mean
    predictions), ``"adversarial"``, ``"adversarial_confusion"`` or a callable.

    Parameters
    ----------
%(common_params)s
    loss : {"mse", "l1", "mae", "huber"}, default="mse"
        Task loss per row (``"l1"`` and ``"mae"`` are the same).

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation, fitted on the training rows (a
        ``valid_split`` part left out).
%(common_attributes)s

    See Also
    --------
    FairNetClassifier : the classification counterpart.
    AttributeAwareRegressor : the network also sees the sensitive attributes.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.estimators import FairNetRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3)).astype("float32")
    >>> age = 40 + 10 * X[:, 0] + rng.normal(size=200)
    >>> reg = FairNetRegressor(loss="l1", hidden_sizes=(16,), max_epochs=30, lr=0.01,
    ...                        device="cpu", random_state=0).fit(X, age)
    >>> reg.score(X, age) > 0.9
    True
    """

    _parameter_constraints = {
        **FairNetBase._parameter_constraints,
        "loss": [StrOptions(_LOSSES)],
    }

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
        loss="mse",
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
        self.loss = loss

    def predict(self, X):
        """Predicted values.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Features or images.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return self._predict_values(X)
