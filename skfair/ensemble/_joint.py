"""Joint fine-tuning of skorch experts and a linear combiner (the ensemble's stage 3).

After stage 2 (experts fitted separately) and the combiner's fit on out-of-fold
predictions, the ChaLearn fair age estimation entry of Dieguez & Valverde "adds
the final layer and trains everything together" with its custom loss 1b. Here
the experts' fitted torch networks and a linear layer initialised from the fitted
combiner are stacked in one :class:`JointExpertModule`; it is trained for
``finetune_epochs`` epochs on the weighted task loss (Adam, fused where torch has
the kernel, as the experts are trained) with skfair's own training loop
(:class:`skfair.estimators._net.FairNeuralNet`, the loop every ``FairNet*``
estimator uses), and the tuned weights are written back: the experts' networks
are shared (tuned in place) and the combiner's ``coef_``/``intercept_`` are
replaced, so ``predict`` of the ensemble is the jointly trained model.

Scope: experts must be fitted :class:`skfair.estimators.FairNetRegressor` /
:class:`skfair.estimators.FairNetClassifier` networks (not the attribute-aware
ones, whose networks need the sensitive attributes at predict time), and the
combiner a linear model (``coef_``, ``intercept_``: the default ``RidgeCV`` /
``LogisticRegression``, ``Ridge``, ``LinearRegression``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state
from torch import nn

__all__ = ["JointExpertModule", "joint_finetune"]


class JointExpertModule(nn.Module):
    """Experts' networks side by side, then a linear combiner.

    Parameters
    ----------
    bodies : list of nn.Module
        The experts' networks (shared, not copied); each maps ``X`` to its
        output (or to a tuple whose first item is the output).
    combiner : nn.Linear
        Over the stacked expert features (and the flattened ``X`` when
        ``passthrough``).
    task : {"regression", "classification"}
        Regression: an expert's feature is its prediction in target units,
        ``out * scale + mean``; classification: its class probabilities (the
        first column dropped for a binary target, as the stacking does).
    scales, means : sequence of float, optional
        Per-expert target standardisation (regression).
    y_mean, y_scale : float, default=0.0, 1.0
        The combined prediction is returned standardised by these, so the
        experts' task loss (defined on a standardised target) applies.
    passthrough : bool, default=False
    n_classes : int, default=2

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from skfair.ensemble._joint import JointExpertModule
    >>> m = JointExpertModule([nn.Linear(3, 1), nn.Linear(3, 1)], nn.Linear(2, 1),
    ...                       task="regression", scales=[1, 1], means=[0, 0])
    >>> tuple(m(torch.zeros(4, 3))[0].shape)
    (4, 1)
    """

    fairness = None  # the training loop's fairness term: none here

    def __init__(self, bodies, combiner, *, task, scales=None, means=None, y_mean=0.0,
                 y_scale=1.0, passthrough=False, n_classes=2):
        super().__init__()
        self.bodies = nn.ModuleList(bodies)
        self.combiner = combiner
        self.task = task
        self.passthrough = passthrough
        self.n_classes = n_classes
        k = len(bodies)
        self.register_buffer("scales", torch.as_tensor(
            np.ones(k) if scales is None else np.asarray(scales, dtype=np.float32)).float())
        self.register_buffer("means", torch.as_tensor(
            np.zeros(k) if means is None else np.asarray(means, dtype=np.float32)).float())
        self.y_mean = float(y_mean)
        self.y_scale = float(y_scale)

    def expert_features(self, X):
        """What the combiner sees: the experts' predictions (and ``X``)."""
        feats = []
        for k, body in enumerate(self.bodies):
            out = body(X)
            if isinstance(out, tuple | list):
                out = out[0]
            if self.task == "regression":
                feats.append(out[:, :1] * self.scales[k] + self.means[k])
            else:
                p = torch.softmax(out, dim=1)
                feats.append(p[:, 1:] if self.n_classes == 2 else p)
        if self.passthrough:
            feats.append(X.reshape(X.shape[0], -1).to(feats[0].dtype))
        return torch.cat(feats, dim=1)

    def forward(self, X, extra=None):
        z = self.combiner(self.expert_features(X))
        if self.task == "regression":
            return ((z - self.y_mean) / self.y_scale,)
        if z.shape[1] == 1:  # binary logistic regression: one logit for class 1
            z = torch.cat([torch.zeros_like(z), z], dim=1)
        return (z,)


class _Loss:
    """The owner the training loop asks for the per-row task loss (no fairness term)."""

    lam = 0.0

    def __init__(self, fn):
        self.get_task_loss = fn


def _cross_entropy(outputs, y_true):
    return F.cross_entropy(outputs, y_true.long(), reduction="none")


def _check_finetunable(ensemble):
    from ..estimators import FairNetBase

    bad = [name for name, est in ensemble.named_experts_.items()
           if not isinstance(est, FairNetBase) or not hasattr(est, "net_")]
    if bad:
        raise ValueError(
            f"joint_finetune needs every expert to be a skorch network of skfair.estimators "
            f"(FairNetRegressor / FairNetClassifier); experts {bad} are not. Use "
            "joint_finetune=None for other experts."
        )
    aware = [name for name, est in ensemble.named_experts_.items()
             if type(est)._extra_inputs is not FairNetBase._extra_inputs]
    if aware:
        raise ValueError(
            f"joint_finetune does not support attribute-aware experts {aware}: their "
            "networks need the sensitive attributes at predict time."
        )
    final = ensemble.final_estimator_
    if not (hasattr(final, "coef_") and hasattr(final, "intercept_")):
        raise ValueError(
            "joint_finetune needs a linear final_estimator with coef_ and intercept_ (the "
            f"default, Ridge, LinearRegression, LogisticRegression); got "
            f"{type(final).__name__}."
        )


def _combiner_from(final, n_in, device):
    coef = np.atleast_2d(np.asarray(final.coef_, dtype=np.float32))
    if coef.shape[1] != n_in:
        raise ValueError(
            f"final_estimator coef_ has shape {np.shape(final.coef_)}; expected {n_in} "
            "input features for the joint fine-tuning."
        )
    intercept = np.atleast_1d(np.asarray(final.intercept_, dtype=np.float32))
    layer = nn.Linear(n_in, coef.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(coef))
        layer.bias.copy_(torch.as_tensor(np.resize(intercept, coef.shape[0])))
    return layer.to(device)


def _write_back(final, layer):
    weight = layer.weight.detach().cpu().numpy().astype(np.float64)
    bias = layer.bias.detach().cpu().numpy().astype(np.float64)
    if np.ndim(final.coef_) == 1:
        final.coef_ = weight[0]
        final.intercept_ = float(bias[0]) if np.ndim(final.intercept_) == 0 else bias
    else:
        final.coef_ = weight
        final.intercept_ = bias


def joint_finetune(ensemble, X, y, sample_weight, sensitive_features=None):
    """Fine-tune the fitted experts and combiner of ``ensemble`` together, in place.

    Parameters
    ----------
    ensemble : ExpertEnsembleRegressor or ExpertEnsembleClassifier
        Fitted through stage 3 (experts and combiner).
    X : array-like
        Training inputs (as the experts take them).
    y : ndarray of shape (n_samples,)
        Training target (encoded labels for a classifier).
    sample_weight : ndarray of shape (n_samples,) or None
        Row weights of the task loss (normalised to mean 1 here).
    sensitive_features : ignored
        Kept for symmetry (the weights already carry them).

    Returns
    -------
    history : list of dict
        ``{"epoch", "train_loss"}`` per epoch.
    """
    from skorch.helper import SliceDict

    from ..estimators._base import _fused_adam_supported
    from ..estimators._net import FairNeuralNet, SliceDataset, collate_batch

    _check_finetunable(ensemble)
    experts = list(ensemble.experts_)
    first = experts[0]
    Xn = first._validate_X(X, reset=False)  # exactly what the experts' networks see
    n = Xn.shape[0]
    regression = not hasattr(ensemble, "classes_")
    device = first.device_
    bodies = [e.net_.module_.body for e in experts]

    if regression:
        y = np.asarray(y, dtype=np.float64)
        y_mean, y_scale = float(y.mean()), float(y.std()) or 1.0
        y_net = ((y - y_mean) / y_scale).astype(np.float32).reshape(-1, 1)
        module_kw = dict(
            task="regression", y_mean=y_mean, y_scale=y_scale,
            scales=[float(np.ravel(e.y_scale_)[0]) for e in experts],
            means=[float(np.ravel(e.y_mean_)[0]) for e in experts],
        )
        loss_fn = first.get_task_loss  # L1 / MSE / Huber of the experts, standardised
    else:
        n_classes = len(ensemble.classes_)
        for name, e in ensemble.named_experts_.items():
            if len(e.classes_) != n_classes:
                raise ValueError(f"expert {name!r} was fitted on {len(e.classes_)} classes, "
                                 f"the ensemble has {n_classes}.")
        y_net = np.asarray(y, dtype=np.int64)
        module_kw = dict(task="classification", n_classes=n_classes)
        loss_fn = _cross_entropy

    n_in = sum(ensemble._n_feature_outs) + (
        int(np.prod(Xn.shape[1:])) if ensemble.passthrough else 0)
    combiner = _combiner_from(ensemble.final_estimator_, n_in, device)
    module = JointExpertModule(bodies, combiner, passthrough=ensemble.passthrough,
                               **module_kw).to(device)

    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if not w.sum() > 0:
        raise ValueError("joint_finetune: the row weights sum to zero.")
    w = (w * (n / w.sum())).astype(np.float32)
    data = SliceDict(X=Xn, groups=np.zeros(n, dtype=np.int64), sample_weight=w)

    augmentation = next((e.augmentation for e in experts
                         if getattr(e, "augmentation", None) is not None), None)
    batch_size = ensemble.finetune_batch_size or int(getattr(first, "batch_size", 128))
    seed = int(check_random_state(ensemble.random_state).randint(np.iinfo(np.int32).max))
    net = FairNeuralNet(
        module,
        criterion=nn.Identity,  # unused: get_loss composes the weighted task loss
        owner=_Loss(loss_fn),
        augmentation=augmentation,
        lr=ensemble.finetune_lr,
        max_epochs=ensemble.finetune_epochs,
        batch_size=batch_size,
        train_split=None,
        dataset=SliceDataset,
        iterator_train__shuffle=True,
        iterator_train__collate_fn=collate_batch,
        iterator_valid__collate_fn=collate_batch,
        optimizer=torch.optim.Adam,
        # the experts' own optimizer: Adam with one fused kernel where torch has it
        **({"optimizer__fused": True} if _fused_adam_supported(device) else {}),
        device=device,
        verbose=0,
    )
    cuda = str(device).startswith("cuda")
    devices = [torch.device(device).index or 0] if cuda else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        net.fit(data, y_net)
    module.eval()
    _write_back(ensemble.final_estimator_, module.combiner)
    return [{"epoch": int(h["epoch"]), "train_loss": float(h["train_loss"])}
            for h in net.history]
