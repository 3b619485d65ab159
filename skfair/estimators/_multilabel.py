"""``FairNetMultiLabelClassifier``: multi-label network with the bias-amplification loss.

Choi, Zhang & Liu ("Gender Fairness in Multi-label Classification using
Auxiliary Tasks") train a multi-label classifier (sigmoid outputs, cross-entropy)
with the auxiliary task ``sum_k |E_{p(x)}[1(h_k(x), g)] - b_train(k, g)|``
that aligns the predicted label-gender co-occurrence with the training
set's. The expectation is over the distribution of the inputs: either the
training mini-batch itself (``expectation="batch"``) or samples of a
descriptive (energy-based) model of the inputs drawn with Langevin dynamics
(``expectation="descriptive"``, Choi et al., section 3.3), whose gender is given
by a group classifier.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import type_of_target

from ._base import FairNetBase
from ._docs import fill_doc

__all__ = ["FairNetMultiLabelClassifier"]


def _is_bias_amplification(loss):
    from skfair.losses import BiasAmplificationLoss

    return isinstance(loss, BiasAmplificationLoss)


_MULTILABEL_CONSTRAINTS = {
    **FairNetBase._parameter_constraints,
    "expectation": [StrOptions({"batch", "descriptive"})],
    "indicator": [StrOptions({"straight_through", "soft"})],
    "descriptive_model": [HasMethods(["fit", "sample"]), None],
    "descriptive_sampling": [StrOptions({"offline", "online"})],
    "n_descriptive_samples": [Interval(Integral, 1, None, closed="left")],
    "descriptive_steps": [Interval(Integral, 0, None, closed="left"), None],
    "descriptive_reweight": ["boolean"],
    "group_estimator": [HasMethods(["fit", "predict_proba"]), None],
    "threshold": [Interval(Real, 0, 1, closed="neither")],
    "aligned_labels": ["array-like", None],
}


@fill_doc
class FairNetMultiLabelClassifier(ClassifierMixin, FairNetBase):
    """Multi-label network trained with ``BCE + lam * bias-amplification loss``.

    A scikit-learn multi-label classifier (``y`` is a 0/1 indicator matrix)
    whose ``fit`` trains a skorch network with one sigmoid output per label
    and the per-row binary cross-entropy summed over labels (Choi et al.,
    section 4.2). With ``fairness="bias_amplification"`` the auxiliary loss
    of Choi et al. (:func:`skfair.losses.bias_amplification_loss`) is added:

    ``L = BCE + lam * sum_k sum_g |E[1(h_k(x), g)] - b_train(k, g)|``

    where ``b_train`` is the label-group co-occurrence of the training labels
    (``fairness_params={"kind": "ratio"}``, the default, is Zhao et al.'s
    ratio ``c(k, g) / sum_g' c(k, g')``; ``"joint"`` is Choi et al.'s literal
    rate ``c(k, g) / n``), computed once in ``fit`` and exposed as
    ``b_train_``.

    ``1(h_k(x), g)``, "label ``k`` predicted and group ``g``", is made
    differentiable by ``indicator``: ``"straight_through"`` (default) uses the
    thresholded prediction ``1[p_k(x) > 0.5]`` in the forward pass and the
    sigmoid's gradient in the backward pass, so the loss sees exactly the
    predicted co-occurrence that bias amplification measures; ``"soft"`` uses
    the probability ``p_k(x)``. (On a calibrated network the soft
    co-occurrence already matches the training one while the thresholded
    predictions amplify the skew, so the soft version has little effect: on
    :func:`~skfair.datasets.make_biased_multilabel` it leaves Zhao et al.'s
    amplification about unchanged where the straight-through one removes
    most of it.)

    The expectation ``E`` runs over ``expectation``:

    * ``"batch"``: the training mini-batch, its own groups;
    * ``"descriptive"``: samples ``x~`` of a
      :class:`~skfair.generative.DescriptiveModel` fitted on the training
      features (``X`` flattened), as Choi et al. do, with their group given by
      the soft probabilities of ``group_estimator`` (fitted on ``X`` and the
      training groups) and importance weights that restore the training
      set's group shares (``descriptive_reweight``). Samples
      come from a pool of ``n_descriptive_samples`` drawn once before
      training (``descriptive_sampling="offline"``, what Choi et al. did; the
      whole pool enters every step) or from ``n_descriptive_samples`` fresh
      chains started from the model's reference distribution at every
      training step (``"online"``, ``descriptive_steps`` Langevin steps each;
      much slower). Both models are fitted on the training rows (without a
      ``valid_split`` part).

    Parameters
    ----------
%(common_params)s
    expectation : {"batch", "descriptive"}, default="batch"
        Where the expectation of the bias-amplification loss is taken. This
        and the other bias-amplification parameters below are ignored with
        any other ``fairness`` loss (computed on the batch by the base class).
    indicator : {"straight_through", "soft"}, default="straight_through"
        Differentiable stand-in for the predicted-label indicator.
    descriptive_model : DescriptiveModel or None, default=None
        Unfitted model of the features (cloned at fit); ``None`` uses
        ``DescriptiveModel(random_state=...)`` with its defaults. Nested
        parameters are grid-searchable (``descriptive_model__max_iter``).
    descriptive_sampling : {"offline", "online"}, default="offline"
        A pool drawn once, or fresh chains at every training step.
    n_descriptive_samples : int, default=4096
        Pool size (offline) or chains per step (online). Larger pools
        estimate the expectation better (``benchmarks/bench_bias_amplification.py``
        on UTKFace: 42 % less amplification with 1,024 samples, 64 % with
        4,096) at the cost of a forward and backward pass over the pool at
        every step.
    descriptive_steps : int or None, default=None
        Langevin steps per draw; ``None`` uses the model's ``sample_steps``.
    descriptive_reweight : bool, default=True
        Importance-weight the samples so that their group shares (mean soft
        assignment) equal the training set's: sample ``i`` gets the weight
        ``r_i = sum_g s_ig w_g`` with ``w_g = P_train(g) / mean_i s_ig`` and
        the soft groups ``s_ig w_g / r_i``. The co-occurrence ratio depends on
        the group composition of the rows it is computed on, and a descriptive
        model rarely reproduces the group shares exactly (on
        ``make_biased_multilabel``, 72.6 % men in the samples against 68.7 %
        in the data), which otherwise biases the target. ``False`` is Choi
        et al.'s plain average.
    group_estimator : classifier with predict_proba or None, default=None
        Gives the group of descriptive samples (cloned, fitted on ``X`` and
        the group codes); ``None``: standardisation + logistic regression.
    threshold : float in (0, 1), default=0.5
        Probability above which a label is predicted (``predict``, and the
        straight-through indicator).
    aligned_labels : array-like of int or bool, or None, default=None
        Labels (column indices, or a boolean mask over the columns of ``y``)
        whose co-occurrence the auxiliary loss aligns; ``None``: all. Leave
        out a label that *is* the sensitive attribute (Choi et al. predict the
        gender as one of their labels): its co-occurrence with the group is 1
        or 0 by definition.

    Attributes
    ----------
    classes_ : ndarray of shape (n_labels,)
        Label indices ``0 .. n_labels - 1``.
    n_outputs_ : int
        Number of labels.
    b_train_ : ndarray of shape (n_labels, n_groups) or None
        Training co-occurrence target of the bias-amplification loss (None
        without it).
    descriptive_model_ : DescriptiveModel or None
        The fitted descriptive model (``expectation="descriptive"``).
    group_estimator_ : estimator or None
        The fitted group classifier (``expectation="descriptive"``).
    descriptive_samples_ : ndarray of shape (n_descriptive_samples, n_features) or None
        The offline pool (flattened features), float32.
    descriptive_groups_ : ndarray of shape (n_descriptive_samples, n_groups) or None
        Soft group assignment of the pool (after reweighting).
    descriptive_weights_ : ndarray of shape (n_descriptive_samples,) or None
        Importance weights of the pool (ones without reweighting).
%(common_attributes)s

    See Also
    --------
    skfair.losses.bias_amplification_loss : the auxiliary loss.
    skfair.generative.DescriptiveModel : the energy-based model of the inputs.
    skfair.metrics.bias_amplification : Zhao et al.'s measure.

    Notes
    -----
    ``score`` is scikit-learn's multi-label accuracy (exact match of all
    labels of a row); per-label accuracy is ``(clf.predict(X) == Y).mean()``.

    Examples
    --------
    >>> from skfair.datasets import make_biased_multilabel
    >>> from skfair.estimators import FairNetMultiLabelClassifier
    >>> ds = make_biased_multilabel(n_samples=400, n_labels=4, random_state=0)
    >>> clf = FairNetMultiLabelClassifier(
    ...     fairness="bias_amplification", lam=1.0, hidden_sizes=(16,), max_epochs=5,
    ...     device="cpu", random_state=0)
    >>> clf.fit(ds.data, ds.target, sensitive_features=ds.sensitive).predict(ds.data).shape
    (400, 4)
    >>> clf.b_train_.shape
    (4, 2)
    """

    _task = "multilabel"
    _parameter_constraints = _MULTILABEL_CONSTRAINTS

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
        expectation="batch",
        indicator="straight_through",
        descriptive_model=None,
        descriptive_sampling="offline",
        n_descriptive_samples=4096,
        descriptive_steps=None,
        descriptive_reweight=True,
        group_estimator=None,
        threshold=0.5,
        aligned_labels=None,
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
        self.expectation = expectation
        self.indicator = indicator
        self.descriptive_model = descriptive_model
        self.descriptive_sampling = descriptive_sampling
        self.n_descriptive_samples = n_descriptive_samples
        self.descriptive_steps = descriptive_steps
        self.descriptive_reweight = descriptive_reweight
        self.group_estimator = group_estimator
        self.threshold = threshold
        self.aligned_labels = aligned_labels

    # ------------------------------------------------------------- targets
    def _prepare_y(self, y):
        y = np.asarray(y)
        kind = type_of_target(y)
        if kind in ("continuous", "continuous-multioutput", "unknown"):
            raise ValueError(
                f"Unknown label type: {kind!r}. FairNetMultiLabelClassifier expects y as a "
                "0/1 label indicator matrix of shape (n_samples, n_labels)."
            )
        if y.ndim != 2:
            raise ValueError(
                "Only binary classification is supported per label: FairNetMultiLabelClassifier "
                "expects y as a 0/1 indicator matrix of shape "
                f"(n_samples, n_labels); got an array of shape {y.shape} (type_of_target "
                f"{kind!r}). For one label use y.reshape(-1, 1); for single-label classes use "
                "FairNetClassifier."
            )
        if y.dtype == bool:
            y = y.astype(np.int64)
        values = np.unique(y)
        if not (np.issubdtype(y.dtype, np.number) and np.isin(values, (0, 1)).all()):
            raise ValueError(
                "Only binary classification is supported per label: y must be a 0/1 label "
                f"indicator matrix (multilabel-indicator); got values {values[:10].tolist()} "
                f"(type_of_target {kind!r})."
            )
        self.n_outputs_ = y.shape[1]
        self.classes_ = np.arange(self.n_outputs_)
        self._aligned = self._check_aligned_labels(self.n_outputs_)
        return y.astype(np.float32), self.n_outputs_

    def _check_aligned_labels(self, n_labels):
        """Column indices of the labels the auxiliary loss aligns."""
        if self.aligned_labels is None:
            return np.arange(n_labels)
        sel = np.asarray(self.aligned_labels)
        if sel.dtype == bool:
            if sel.shape != (n_labels,):
                raise ValueError(
                    f"aligned_labels as a boolean mask must have length n_labels={n_labels}, "
                    f"got shape {sel.shape}."
                )
            sel = np.flatnonzero(sel)
        elif sel.ndim != 1 or not np.issubdtype(sel.dtype, np.integer):
            raise ValueError(
                "aligned_labels must be None, label indices (ints) or a boolean mask; "
                f"got {self.aligned_labels!r}."
            )
        if sel.size == 0 or sel.min() < 0 or sel.max() >= n_labels:
            raise ValueError(
                f"aligned_labels must select at least one of the {n_labels} labels with "
                f"indices in [0, {n_labels}); got {self.aligned_labels!r}."
            )
        return np.unique(sel)

    def get_task_loss(self, outputs, y_true):
        """Per-row binary cross-entropy summed over the labels, shape ``(B,)``."""
        y_true = y_true.to(outputs.dtype)
        return F.binary_cross_entropy_with_logits(outputs, y_true, reduction="none").sum(1)

    def _output_probs(self, outputs):
        return torch.sigmoid(outputs)

    # --------------------------------------------------- fit-time machinery
    def _uses_aux_loss(self):
        """Whether ``fairness`` is the bias-amplification loss (and ``lam > 0``)."""
        fairness = self.fairness
        if isinstance(fairness, str):
            named = fairness.strip().lower() == "bias_amplification"
        else:
            named = _is_bias_amplification(fairness)
        return named and self.lam > 0

    def _build_body(self, X, n_outputs, n_extra, *, groups=None):
        """Build the network; with ``expectation="descriptive"`` also fit the
        descriptive model and the group classifier on the training rows ``X``,
        ``groups`` and draw the offline pool."""
        body = super()._build_body(X, n_outputs, n_extra)
        self._fit_body = body  # transient: the network the descriptive term runs
        self._fit_x_shape = X.shape[1:]
        self.descriptive_model_ = self.group_estimator_ = None
        self.descriptive_samples_ = self.descriptive_groups_ = None
        self.descriptive_weights_ = None
        if self.expectation == "descriptive" and self._uses_aux_loss():
            self._fit_descriptive(X, groups)
        return body

    def _fit_descriptive(self, X, codes):
        from skfair.generative import DescriptiveModel

        n_groups = self.n_groups_
        if n_groups < 2:
            raise ValueError(
                "expectation='descriptive' needs at least 2 sensitive groups to train the "
                f"group classifier; the training data has {n_groups}."
            )
        rng = check_random_state(self.random_state)
        flat = X.reshape(len(X), -1).astype(np.float64)
        if X.dtype == np.uint8:  # the units the network trains on (infer scales to [0, 1])
            flat /= 255.0
        model = (DescriptiveModel() if self.descriptive_model is None
                 else clone(self.descriptive_model))
        if "random_state" in model.get_params() and model.get_params()["random_state"] is None:
            model.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
        self.descriptive_model_ = model.fit(flat)
        group_est = (make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
                     if self.group_estimator is None else clone(self.group_estimator))
        self.group_estimator_ = group_est.fit(flat, codes)
        self._sample_rng = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        self._group_share = np.bincount(codes, minlength=n_groups) / len(codes)
        self._online_cache = None
        if self.descriptive_sampling == "offline":
            (self.descriptive_samples_, self.descriptive_groups_,
             self.descriptive_weights_) = self._draw_descriptive(self.n_descriptive_samples)

    def _draw_descriptive(self, n):
        """``n`` Langevin samples (float32, flattened), their soft groups and
        their importance weights (ones unless ``descriptive_reweight``)."""
        seed = int(self._sample_rng.integers(np.iinfo(np.int32).max))
        samples = self.descriptive_model_.sample(
            n, n_steps=self.descriptive_steps, random_state=seed
        )
        proba = self.group_estimator_.predict_proba(samples)
        classes = np.asarray(self.group_estimator_.classes_, dtype=np.int64)
        soft = np.zeros((len(samples), self.n_groups_), dtype=np.float64)
        soft[:, classes] = proba
        weights = np.ones(len(samples))
        if self.descriptive_reweight:
            pool_share = soft.mean(axis=0)
            ratio = np.divide(self._group_share, pool_share, out=np.zeros_like(pool_share),
                              where=pool_share > 0)
            weighted = soft * ratio
            weights = weighted.sum(axis=1)
            soft = np.divide(weighted, weights[:, None], out=np.zeros_like(weighted),
                             where=weights[:, None] > 0)
        return samples.astype(np.float32), soft.astype(np.float32), weights.astype(np.float32)

    def _descriptive_batch(self, device, dtype):
        """Samples, soft groups and weights for one step, as tensors on ``device``.

        numpy, scikit-learn and the Langevin sampler stay out of a compiled
        training step: under ``torch.compile`` the draw runs through
        ``torch.compiler.disable``, applied here rather than as a decorator
        because that function imports ``torch._dynamo`` (seconds), which an
        eager fit, and ``import skfair.estimators``, do not need.
        """
        if torch.compiler.is_compiling():
            return torch.compiler.disable(self._draw_batch)(device, dtype)
        return self._draw_batch(device, dtype)

    def _draw_batch(self, device, dtype):
        if self.descriptive_sampling == "offline":
            cache = getattr(self, "_pool_cache", None)
            if cache is None or cache[0].device != torch.device(device):
                cache = tuple(torch.as_tensor(a, device=device) for a in (
                    self.descriptive_samples_, self.descriptive_groups_,
                    self.descriptive_weights_))
                self._pool_cache = cache
        elif torch.is_grad_enabled() or self._online_cache is None:
            cache = tuple(torch.as_tensor(a, device=device)
                          for a in self._draw_descriptive(self.n_descriptive_samples))
            self._online_cache = cache
        else:  # validation pass (no gradient): reuse the last draw
            cache = self._online_cache
        return tuple(a.to(dtype) for a in cache)

    def _indicator(self, outputs):
        probs = torch.sigmoid(outputs)
        if self.indicator == "soft":
            return probs
        cut = float(np.log(self.threshold / (1.0 - self.threshold)))
        hard = (outputs > cut).to(probs.dtype)
        return hard + probs - probs.detach()

    def get_fairness_term(self, outputs, y_true, groups, *, term, embedding=None,
                          per_sample_loss=None, sample_weight=None):
        """The bias-amplification loss of the batch or of descriptive samples.

        Other fairness losses (any loss object that is not a
        :class:`~skfair.losses.BiasAmplificationLoss`) are computed by the
        base class on the batch.
        """
        loss = getattr(term, "loss", None)
        if not _is_bias_amplification(loss):
            return super().get_fairness_term(
                outputs, y_true, groups, term=term, embedding=embedding,
                per_sample_loss=per_sample_loss, sample_weight=sample_weight,
            )
        from skfair.losses import bias_amplification_loss

        cols = getattr(self, "_aligned", None)
        if cols is None:
            cols = self._check_aligned_labels(self.n_outputs_)
        if self.expectation == "batch":
            probs, grp = self._indicator(outputs), groups
        else:
            xs, grp, weights = self._descriptive_batch(outputs.device, outputs.dtype)
            out = self._fit_body(xs.reshape((len(xs), *self._fit_x_shape)))
            out = out[0] if isinstance(out, tuple | list) else out
            # importance weights enter numerator and denominator of the ratio
            probs = self._indicator(out) * weights[:, None]
        if len(cols) < probs.shape[1]:
            index = torch.as_tensor(cols, device=probs.device)
            probs, b_train = probs[:, index], loss.b_train_[index]
        else:
            b_train = loss.b_train_
        return bias_amplification_loss(
            probs, grp, b_train, n_groups=self.n_groups_, kind=loss.kind
        )

    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Train the network (and, for the descriptive expectation, its helpers).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, C, H, W)
            Features, embeddings or images.
        y : array-like or sparse matrix of shape (n_samples, n_labels)
            0/1 label indicator matrix.
        sensitive_features : array-like, list of arrays or DataFrame, optional
            Sensitive attributes (several columns mean intersectional groups);
            required with ``fairness`` and ``lam > 0``. Routed by metadata
            routing.
        sample_weight : array-like of shape (n_samples,), optional
            Row weights of the cross-entropy.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if sp.issparse(y):  # MultiLabelBinarizer(sparse_output=True): the labels are few
            y = y.toarray()
        try:
            super().fit(X, y, sensitive_features=sensitive_features,
                        sample_weight=sample_weight)
        finally:
            for name in ("_fit_body", "_fit_x_shape", "_pool_cache",
                         "_online_cache", "_sample_rng", "_group_share", "_aligned"):
                self.__dict__.pop(name, None)
        term = self.net_.module_.fairness
        loss = getattr(term, "loss", None)
        b_train = getattr(loss, "b_train_", None)
        self.b_train_ = None if b_train is None else b_train.detach().cpu().numpy()
        return self

    # ---------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Probability of every label.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Features or images.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_labels)
            Independent sigmoid probabilities (rows need not sum to 1).
        """
        logits = self._forward_outputs(X).astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logits))

    def predict(self, X):
        """Predicted label indicator matrix.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Features or images.

        Returns
        -------
        Y_pred : ndarray of shape (n_samples, n_labels), int64
            ``1`` where the probability exceeds ``threshold``.
        """
        return (self.predict_proba(X) > self.threshold).astype(np.int64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.classifier_tags.multi_label = True
        tags.classifier_tags.multi_class = False  # every label is binary
        return tags
