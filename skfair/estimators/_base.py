"""``FairNetBase``: the scikit-learn estimator behind every fair network.

Design
------
The public estimators are plain :class:`sklearn.base.BaseEstimator`
subclasses, *not* ``skorch.NeuralNet`` subclasses. ``fit`` validates the
input, encodes the sensitive groups, computes the row weights, builds the
network and trains a private :class:`~skfair.estimators._net.FairNeuralNet`
(a ``skorch.NeuralNet``), stored as ``net_``. This keeps the scikit-learn
contract simple: ``get_params`` lists exactly the constructor parameters
(nested ``weighting__smoothing`` works because ``weighting`` is an
estimator), ``clone`` never copies a trained network, the estimator checks
apply unchanged, and metadata routing (``sensitive_features``,
``sample_weight``) is scikit-learn's own. skorch still does what it is good
at: the training loop, callbacks (early stopping), the epoch table
(``verbose``), devices and pickling.

How data travels
----------------
Features, group codes, row weights and (attribute-aware) extra inputs travel
together in a :class:`skorch.helper.SliceDict` with the keys ``"X"``,
``"groups"``, ``"sample_weight"`` and ``"extra"``, so mini-batching,
shuffling, group-balanced sampling and the validation split keep them
aligned. The network only sees ``"X"`` (and ``"extra"``); the loss reads the
rest (see :mod:`skfair.estimators._net`).

The loss of a batch is ``mean_i(w_i * task_i) + lam * fairness`` where
``task_i`` is :meth:`FairNetBase.get_task_loss` (per row) and ``fairness``
:meth:`FairNetBase.get_fairness_term`.

Subclass hooks
--------------
A concrete estimator (classifier, regressor, multi-label classifier) sets
``_task`` and overrides:

``_prepare_y(y)``
    Validate the target, set the target's fitted attributes (``classes_``,
    ...) and return ``(y_net, n_outputs)``: the array the network is trained
    against and the number of output units.
``_scale_y(y_net, train_rows)``
    The target as the network sees it, with statistics fitted on the training
    rows (the regressor standardises it); identity by default.
``get_task_loss(outputs, y_true)``
    Per-row task loss, shape ``(B,)`` (no reduction).
``_class_sample_weight(y)``
    Extra row weights from the target (class weights); ``None`` by default.
``_stratify_labels(y_net)``
    Labels to stratify the validation split on, beside the groups.
``_split_sensitive(X, sensitive_features, reset)`` and ``_extra_inputs``
    Attribute-aware estimators read sensitive columns from ``X`` and feed
    them to the network.
"""

from __future__ import annotations

import copy
import functools
import inspect
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping, GradientNormClipping
from skorch.helper import SliceDict, predefined_split
from torch import nn

from skfair.utils import encode_sensitive_features
from skfair.utils._rows import take_rows
from skfair.utils._sensitive import _is_sensitive_columns_spec
from skfair.weighting._base import needs_fit, prepare_weighting

from ._cnn import SmallCNN
from ._fairness import make_fairness_term, needs_embedding
from ._mlp import MLP
from ._net import (
    AcceleratedFairNeuralNet,
    FairModule,
    FairNeuralNet,
    SliceDataset,
    _as_input,
    collate_batch,
)
from ._torchvision import TorchvisionBackbone

__all__ = ["FairNetBase", "resolve_device"]

_OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


@functools.lru_cache(maxsize=8)
def _fused_adam_supported(device):
    """Whether this torch has a fused Adam kernel for ``device`` (CUDA; CPU since 2.4)."""
    try:
        param = torch.zeros(1, device=device, requires_grad=True)
        torch.optim.Adam([param], fused=True)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


def resolve_device(device):
    """Turn ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...) into a
    torch device string; ``"cuda"`` without CUDA raises ``ValueError``."""
    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this machine; "
            "use device='auto' (CUDA when present, else CPU) or device='cpu'."
        )
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' was requested but MPS is not available.")
    try:
        torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda', "
            "'cuda:<index>' or 'mps'."
        ) from exc
    return device


def _silent(*args, **kwargs):
    """A sink that prints nothing (early-stopping messages when not verbose)."""


def _seed_from(random_state):
    if random_state is None:
        return None
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class FairNetBase(BaseEstimator):
    """Base class of the fairness-aware skorch estimators (not for direct use).

    See the module docstring for the design and the subclass hooks. The
    parameters are documented on the public estimators, e.g.
    :class:`~skfair.estimators.FairNetClassifier`.
    """

    #: "classification", "regression" or "multilabel" (set by subclasses).
    _task = None

    # ``fit`` uses the groups whenever they are given (the fairness term, a weighting,
    # group-balanced batches, the group-stratified validation split), so it requests them:
    # ``Pipeline`` and ``GridSearchCV`` route ``sensitive_features`` with no
    # ``set_fit_request``. Requested is not required: without them, ``fit`` trains as long
    # as nothing needs the groups. ``sample_weight`` keeps scikit-learn's default (set
    # ``set_fit_request(sample_weight=True)`` to route it), as every scikit-learn consumer.
    __metadata_request__fit = {"sensitive_features": True}

    _parameter_constraints: dict = {
        "module": [str, type, nn.Module],
        "hidden_sizes": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "module_params": [dict, None],
        "fairness": [str, HasMethods(["forward"]), None],
        "lam": [Interval(Real, 0, None, closed="left")],
        "fairness_params": [dict, None],
        "weighting": [HasMethods(["get_weights"]), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), type],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "compile": ["boolean", dict],
        "batch_sampling": [StrOptions({"random", "group_balanced", "group_class_balanced"})],
        "valid_split": [Interval(Real, 0, 1, closed="neither"), None],
        "early_stopping": [Interval(Integral, 1, None, closed="left"), None],
        "augmentation": [callable, None],
        "device": [str, torch.device],
        "accelerator": [HasMethods(["prepare", "backward"]), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
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
        self.module = module
        self.hidden_sizes = hidden_sizes
        self.dropout = dropout
        self.module_params = module_params
        self.fairness = fairness
        self.lam = lam
        self.fairness_params = fairness_params
        self.weighting = weighting
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.max_grad_norm = max_grad_norm
        self.compile = compile
        self.batch_sampling = batch_sampling
        self.valid_split = valid_split
        self.early_stopping = early_stopping
        self.augmentation = augmentation
        self.device = device
        self.accelerator = accelerator
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ hooks
    def _prepare_y(self, y):
        """Validate ``y``, set target attributes; return ``(y_net, n_outputs)``."""
        raise NotImplementedError

    def _scale_y(self, y_net, train_rows):
        """``y_net`` as the network is trained against, with any statistic of it
        (the regressor's standardisation) fitted on ``train_rows`` (all rows
        when None)."""
        return y_net

    def get_task_loss(self, outputs, y_true):
        """Per-row task loss of shape ``(B,)`` for network ``outputs``."""
        raise NotImplementedError

    def _class_sample_weight(self, y):
        """Row weights derived from the target (e.g. class weights)."""
        return None

    def _stratify_labels(self, y_net):
        """Labels to stratify the validation split on, beside the groups."""
        return None

    def _split_sensitive(self, X, sensitive_features, *, reset):
        """Return ``(X, sensitive_features)``; attribute-aware estimators read
        sensitive columns from ``X`` here."""
        self._refuse_column_names(sensitive_features)
        return X, sensitive_features

    #: how to read the attributes from X's columns instead (the error below)
    _columns_hint = "The AttributeAware estimators read named columns from X."

    def _refuse_column_names(self, sensitive_features):
        """A column name (or :class:`~skfair.utils.SensitiveColumns`) as
        ``sensitive_features`` is refused before ``X`` is validated, whose
        string column would otherwise fail with numpy's message."""
        if _is_sensitive_columns_spec(sensitive_features):
            raise ValueError(
                f"sensitive_features={sensitive_features!r} names columns of X; "
                f"{type(self).__name__} takes the sensitive features' values (one per row), "
                "e.g. X[name], with the column dropped from X if the network must not see "
                f"it. {self._columns_hint}"
            )

    def _extra_inputs(self, sensitive_features, n_samples, *, reset):
        """Extra float32 network inputs per row (attribute-aware), or None."""
        return None

    def get_fairness_term(self, outputs, y_true, groups, *, term, embedding=None,
                          per_sample_loss=None, sample_weight=None):
        """Value of the fairness term for one batch.

        Parameters
        ----------
        outputs : Tensor of shape (B, n_outputs)
            Raw network outputs (logits).
        y_true : Tensor
            Targets as the network sees them.
        groups : Tensor of shape (B,), int64
            Group codes.
        term : nn.Module
            The fairness term built at fit (``net_.module_.fairness``).
        embedding, per_sample_loss, sample_weight : Tensor, optional
            Passed on in the context.

        Returns
        -------
        Tensor of shape ()
        """
        ctx = {
            "logits": outputs,
            "y": y_true,
            "groups": groups,
            "n_groups": self.n_groups_,
            "per_sample_loss": per_sample_loss,
            "embedding": embedding,
            "sample_weight": sample_weight,
        }
        return term(ctx)

    # ------------------------------------------------------------- validation
    def _validate_X(self, X, *, reset, y="no_validation"):
        """Validate features (2-D tables or n-D image arrays); uint8 images stay uint8."""
        keep_uint8 = getattr(X, "dtype", None) == np.uint8 and getattr(X, "ndim", 2) > 2
        dtype = None if keep_uint8 else np.float32
        kwargs = {"allow_nd": True, "dtype": dtype, "reset": reset}
        try:
            if isinstance(y, str) and y == "no_validation":
                X = validate_data(self, X, **kwargs)
                return X if X.flags.writeable else X.copy()
            X, y = validate_data(self, X, y, multi_output=True, y_numeric=False, **kwargs)
        except ValueError as exc:
            # object, string and categorical columns of a DataFrame
            text = [c for c, kind in getattr(X, "dtypes", {}).items()
                    if str(kind) == "category" or getattr(kind, "kind", "O") in ("O", "S", "U")]
            if not text:
                raise
            raise ValueError(
                f"X has non-numeric column(s) {text}; {type(self).__name__} takes numeric "
                "features. Encode or drop them; a sensitive attribute goes in "
                "sensitive_features= (its values) or, for the AttributeAware estimators, "
                "sensitive_columns."
            ) from exc
        return (X if X.flags.writeable else X.copy()), y

    def _encode_groups(self, sensitive_features, n_samples):
        """Encode the sensitive features at fit; set the group attributes.

        Returns int64 codes (zeros when ``sensitive_features`` is None).
        """
        if sensitive_features is None:
            self.n_groups_ = 1
            self.sensitive_groups_ = None
            return np.zeros(n_samples, dtype=np.int64)
        enc = encode_sensitive_features(sensitive_features, n_samples=n_samples)
        self.n_groups_ = int(enc.n_groups)
        self.sensitive_groups_ = enc.groups
        return enc.codes.astype(np.int64)

    def _weighting_input(self, X_given, X):
        """The ``X`` a weighting fitted at fit (affirmative action's baseline, this
        estimator without weighting and fairness term) is fitted and scored on:
        the validated features; the attribute-aware estimators reading their
        attributes from columns give ``X`` as it came, columns included."""
        return X

    def _row_weights(self, y, sensitive_features, sample_weight, X, split=None):
        """Product of ``sample_weight``, the weighting object's and the class
        weights, normalised to mean 1 (float32).

        With a validation ``split`` ``(train, valid)``, the weighting is fitted,
        and every weight computed and normalised, on the training rows alone;
        the validation rows get theirs from their own rows, so nothing of them
        reaches training."""
        n = len(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
        self.weighting_ = None
        if split is None:
            return self._subset_weights(y, sensitive_features, sample_weight, X)
        train, valid = split
        w = np.empty(n, dtype=np.float32)
        for rows in (train, valid):
            sub = functools.partial(take_rows, indices=rows, n_rows=n)
            w[rows] = self._subset_weights(
                sub(y), sub(sensitive_features), sub(sample_weight),
                # only a weighting fitted here reads X (a copy of the rows)
                take_rows(X, rows, n) if self.weighting_ is None and needs_fit(self.weighting)
                else X,
                n_rows=len(rows),
            )
        return w

    def _subset_weights(self, y, sensitive_features, sample_weight, X, n_rows=None):
        """Row weights of one set of rows; prepares ``weighting_`` on the first."""
        n = len(y) if n_rows is None else n_rows
        w = np.ones(n, dtype=np.float64)
        if sample_weight is not None:
            w *= sample_weight
        if self.weighting is not None:
            if self.weighting_ is None:
                # fitted here if it must be (affirmative action picking its subgroups,
                # against this estimator without weighting and fairness term as the
                # baseline); one given fitted keeps its state
                self.weighting_ = prepare_weighting(
                    self.weighting, X, y, sensitive_features=sensitive_features,
                    baseline=clone(self).set_params(weighting=None, fairness=None))
                if self.weighting_ is self.weighting:
                    self.weighting_ = copy.deepcopy(self.weighting)
            ww = np.asarray(
                self.weighting_.get_weights(sensitive_features=sensitive_features, y=y),
                dtype=np.float64,
            )
            if ww.shape != (n,) or not np.all(np.isfinite(ww)) or (ww < 0).any():
                raise ValueError(
                    f"weighting={self.weighting!r} returned weights of shape {ww.shape}; "
                    f"expected {n} finite non-negative values."
                )
            w *= ww
        cw = self._class_sample_weight(y)
        if cw is not None:
            w *= cw
        total = w.sum()
        if not total > 0:
            raise ValueError(
                "the row weights (sample_weight x weighting x class_weight) sum to zero; "
                "at least one row needs a positive weight."
            )
        return (w * (n / total)).astype(np.float32)

    # ----------------------------------------------------------------- builds
    def _build_body(self, X, n_outputs, n_extra, *, groups=None):
        """Instantiate the network from ``module`` (see the estimator docs).

        ``X`` and ``groups`` (int codes) are the training rows, for subclasses
        that fit helpers of the network on them."""
        module, params = self.module, dict(self.module_params or {})
        n_features = int(np.prod(X.shape[1:]))
        if isinstance(module, nn.Module):
            return copy.deepcopy(module)
        if isinstance(module, type):
            if not issubclass(module, nn.Module):
                raise TypeError(f"module={module!r} is a class but not a torch nn.Module.")
            available = {
                "n_features": n_features, "n_outputs": n_outputs, "n_extra": n_extra,
                "in_channels": X.shape[1] if X.ndim > 2 else None,
                "hidden_sizes": tuple(self.hidden_sizes), "dropout": self.dropout,
            }
            accepted = inspect.signature(module).parameters
            kwargs = {k: v for k, v in available.items() if k in accepted and v is not None}
            if n_extra and "n_extra" not in accepted:
                raise ValueError(
                    f"module={module.__name__} must accept n_extra (and forward(X, extra)) "
                    "to receive the attribute-aware inputs."
                )
            kwargs.update(params)
            return module(**kwargs)
        name = module.lower()
        if name == "mlp":
            return MLP(n_features, n_outputs, hidden_sizes=tuple(self.hidden_sizes),
                       dropout=self.dropout, n_extra=n_extra, **params)
        if X.ndim < 3:
            raise ValueError(
                f"module={module!r} is an image network and needs images of shape "
                f"(n, C, H, W); got X of shape {X.shape}. Use module='mlp' for tables."
            )
        in_channels = X.shape[1] if X.ndim == 4 else 1
        if X.ndim == 4 and X.shape[3] in (1, 3, 4) and X.shape[1] not in (1, 3, 4):
            raise ValueError(
                f"module={module!r} takes channels-first images (n, C, H, W); X of shape "
                f"{X.shape} looks channels-last (n, H, W, C). Pass X.transpose(0, 3, 1, 2)."
            )
        if name == "cnn":
            return SmallCNN(in_channels, n_outputs, dropout=self.dropout, n_extra=n_extra,
                            **params)
        return TorchvisionBackbone(module, n_outputs, dropout=self.dropout, n_extra=n_extra,
                                   in_channels=in_channels, **params)

    @staticmethod
    def _embedding_dim(body, X, extra):
        dim = getattr(body, "embedding_dim", None)
        if dim is not None:
            return int(dim)
        was_training = body.training
        body.eval()
        with torch.no_grad():
            x = _as_input(torch.as_tensor(X[:2]))  # uint8 images in [0, 1], as in infer
            out = body(x) if extra is None else body(x, extra=torch.as_tensor(extra[:2]))
        body.train(was_training)
        if isinstance(out, tuple | list) and len(out) > 1:
            return int(np.prod(out[1].shape[1:]))
        return None

    def _train_valid_indices(self, y_net, groups, seed):
        """Group- (and label-) stratified validation split, or None."""
        if self.valid_split is None:
            return None
        split = self._stratified_split(y_net, groups, seed)
        unseen = np.setdiff1d(np.unique(groups), np.unique(groups[split[0]]))
        if unseen.size:
            warnings.warn(
                f"valid_split: {unseen.size} sensitive group(s) ("
                f"{int(np.isin(groups, unseen).sum())} row(s)) fall entirely in the "
                "validation part; training never sees them. Give every group at least 2 "
                "rows, or lower valid_split.",
                UserWarning,
            )
        return split

    def _stratified_split(self, y_net, groups, seed):
        """``(train, valid)`` indices: stratified on (group, class) cells, else groups,
        else classes, else a plain random split (with a warning)."""
        n = len(groups)
        labels = self._stratify_labels(y_net)
        candidates = []
        if labels is not None:
            candidates.append(groups * (int(labels.max()) + 1) + labels)
        candidates += [groups, labels]
        for strata in candidates:
            if strata is None:
                continue
            _, counts = np.unique(strata, return_counts=True)
            if counts.min() < 2:
                continue
            try:
                splitter = StratifiedShuffleSplit(
                    n_splits=1, test_size=self.valid_split, random_state=seed
                )
                return next(splitter.split(np.zeros(n), strata))
            except ValueError:  # more strata than validation rows, etc.
                continue
        warnings.warn(
            "valid_split: could not stratify the validation split on groups (a group or "
            "group x class cell has fewer than 2 rows or the split is too small); using a "
            "plain random split."
        )
        splitter = ShuffleSplit(n_splits=1, test_size=self.valid_split, random_state=seed)
        try:
            return next(splitter.split(np.zeros(n)))
        except ValueError as exc:
            raise ValueError(
                f"valid_split={self.valid_split!r} cannot split {n} rows into a training "
                f"and a validation part: {exc}"
            ) from exc

    def _optimizer_kwargs(self):
        opt = self.optimizer
        cls = _OPTIMIZERS[opt] if isinstance(opt, str) else opt
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            raise TypeError(f"optimizer must be one of {sorted(_OPTIMIZERS)} or a "
                            f"torch.optim.Optimizer subclass, got {opt!r}.")
        kwargs = {"optimizer": cls}
        if self.weight_decay:
            kwargs["optimizer__weight_decay"] = self.weight_decay
        if cls is torch.optim.SGD:
            kwargs["optimizer__momentum"] = 0.9
        if isinstance(opt, str) and cls in (torch.optim.Adam, torch.optim.AdamW) and (
                _fused_adam_supported(self.device_)):
            # one fused kernel for every parameter: the same update, a fraction of the
            # per-parameter dispatches of the default implementation (a CPU step of the
            # MLP head was ~13% faster)
            kwargs["optimizer__fused"] = True
        return kwargs

    def _resolve_device(self):
        """The torch device of training: ``device``, or the accelerator's."""
        if self.accelerator is None:
            return resolve_device(self.device)
        if self.compile:
            raise ValueError(
                "compile and accelerator cannot be combined: with Hugging Face Accelerate, "
                "compile through the accelerator (Accelerator(dynamo_backend='inductor'))."
            )
        if self.device != "auto":
            raise ValueError(
                f"device={self.device!r} with an accelerator: the accelerator places the "
                "network and the batches (on accelerator.device); leave device='auto'."
            )
        return str(self.accelerator.device)

    def _step_compile(self):
        """``torch.compile`` keyword arguments of the training step, or None (eager)."""
        if not isinstance(self.compile, dict):
            return {} if self.compile else None
        kwargs = dict(self.compile)
        try:
            inspect.signature(torch.compile).bind(None, **kwargs)
        except TypeError as exc:
            raise ValueError(
                f"compile={self.compile!r} must hold keyword arguments of torch.compile "
                f"(e.g. mode, backend, dynamic, fullgraph): {exc}."
            ) from None
        return kwargs

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Features, embeddings or images (``uint8`` images are scaled to
            [0, 1] on the device).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sensitive_features : array-like, list of arrays or DataFrame, optional
            Sensitive attributes (several columns mean intersectional
            groups). Required when ``fairness`` is set and ``lam > 0``, and
            by most ``weighting`` objects. Routed by metadata routing.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights, multiplied with those of ``weighting`` and
            ``class_weight``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X_given = X
        X, sensitive_features = self._split_sensitive(X, sensitive_features, reset=True)
        X, y = self._validate_X(X, reset=True, y=y)
        n = X.shape[0]
        if (self.fairness is not None and self.lam > 0 and sensitive_features is None):
            raise ValueError(
                f"fairness={self.fairness!r} with lam={self.lam} needs the sensitive groups: "
                "pass sensitive_features= to fit (or to the fit of the Pipeline / search "
                "around it, with metadata routing enabled), or set lam=0 / fairness=None."
            )
        y_orig = y
        y_net, n_outputs = self._prepare_y(y)
        if self.batch_sampling == "group_class_balanced" and self._stratify_labels(y_net) is None:
            raise ValueError(
                "batch_sampling='group_class_balanced' needs class labels; this estimator "
                "predicts no classes. Use 'group_balanced'."
            )
        groups = self._encode_groups(sensitive_features, n)
        self.device_ = self._resolve_device()
        seed = _seed_from(self.random_state)
        split = self._train_valid_indices(y_net, groups, seed)
        # statistics fitted on the target and the weights see the training rows only
        y_net = self._scale_y(y_net, None if split is None else split[0])
        weights = self._row_weights(y_orig, sensitive_features, sample_weight,
                                    self._weighting_input(X_given, X), split)
        extra = self._extra_inputs(sensitive_features, n, reset=True)

        data = SliceDict(X=X, groups=groups, sample_weight=weights)
        if extra is not None:
            data["extra"] = extra
        train_split = None
        groups_train = groups
        if split is not None:
            tr, va = split
            train_split = predefined_split(SliceDataset(data[va], y_net[va]))
            data, y_net, groups_train = data[tr], y_net[tr], groups[tr]
        callbacks = []
        if self.max_grad_norm is not None:
            # clip the global gradient norm (the network, and an adversary head) per step
            callbacks.append(("gradient_clipping",
                              GradientNormClipping(gradient_clip_value=self.max_grad_norm)))
        if self.early_stopping is not None:
            monitor = "valid_loss" if split is not None else "train_loss"
            callbacks.append(("early_stopping", EarlyStopping(
                monitor=monitor, patience=self.early_stopping, load_best=True,
                sink=print if self.verbose else _silent,
            )))

        cuda = self.device_.startswith("cuda")
        fork_devices = [torch.device(self.device_).index or 0] if cuda else []
        with torch.random.fork_rng(devices=fork_devices, enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            n_extra = 0 if extra is None else extra.shape[1]
            # built from the training rows only (a valid_split part stays unseen)
            body = self._build_body(data["X"], n_outputs, n_extra, groups=groups_train)
            term = make_fairness_term(
                self.fairness, task=self._task, n_groups=self.n_groups_,
                embedding_dim=(self._embedding_dim(body, data["X"], data.get("extra"))
                               if needs_embedding(self.fairness) else None),
                params=self.fairness_params, y_train=y_net, groups_train=groups_train,
                n_outputs=n_outputs,
            )
            if term is None and self.fairness_params:
                warnings.warn(
                    f"fairness_params={self.fairness_params!r} is ignored: fairness=None "
                    "trains without a fairness term.",
                    UserWarning,
                )
            if term is not None and self.lam > 0 and self.n_groups_ < 2:
                warnings.warn(  # (an adversary raised instead, when the term was built)
                    f"fairness={self.fairness!r} with lam={self.lam}: the training data hold "
                    "a single sensitive group, so the fairness term has nothing to compare "
                    "and does not change training.",
                    UserWarning,
                )
            net_cls, net_kwargs = FairNeuralNet, {"device": self.device_}
            if self.accelerator is not None:  # skorch's AccelerateMixin places everything
                net_cls = AcceleratedFairNeuralNet
                net_kwargs = {
                    "accelerator": self.accelerator,
                    "device": None if self.accelerator.device_placement else self.device_,
                    # the epoch table from the main process only, and only when verbose
                    "callbacks__print_log__sink": (self.accelerator.print if self.verbose
                                                   else _silent),
                }
            net = net_cls(
                FairModule(body, term),
                criterion=nn.Identity,  # unused: get_loss composes the loss
                owner=self,
                batch_sampling=self.batch_sampling,
                augmentation=(clone(self.augmentation)
                              if hasattr(self.augmentation, "get_params")
                              else self.augmentation),
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                train_split=train_split,
                dataset=SliceDataset,
                iterator_train__shuffle=True,
                iterator_train__collate_fn=collate_batch,
                iterator_valid__collate_fn=collate_batch,
                callbacks=callbacks,
                verbose=int(self.verbose),
                **net_kwargs,
                step_compile=self._step_compile(),
                **self._optimizer_kwargs(),
            )
            net.fit(data, y_net)
        net.train_split = None  # do not keep the validation data in the fitted model
        if self.accelerator is not None:
            # trained (device=None: the accelerator placed everything); the fitted net
            # names its device, so that unpickling it needs no fallback
            net.device = self.device_
        self.net_ = net
        self.n_epochs_ = len(net.history)
        return self

    # ---------------------------------------------------------------- predict
    def _forward_outputs(self, X, sensitive_features=None):
        """Raw network outputs (float32 numpy) for ``X``."""
        check_is_fitted(self, "net_")
        X, sensitive_features = self._split_sensitive(X, sensitive_features, reset=False)
        X = self._validate_X(X, reset=False)
        extra = self._extra_inputs(sensitive_features, X.shape[0], reset=False)
        data = SliceDict(X=X)
        if extra is not None:
            data["extra"] = extra
        # the data loader draws a base seed from torch's global generator: keep it untouched
        with torch.random.fork_rng(devices=[]):
            outs = [yp[0] for yp in self.net_.forward_iter(data, training=False)]
        return torch.cat(outs).numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
