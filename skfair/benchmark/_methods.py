"""The benchmark's method registry: every mitigation, side by side.

Every method is a :class:`Method`: a name, a family (``"baseline"``,
``"skfair"`` or ``"fairlearn"``), the tasks it handles, an optional grid of one
hyper-parameter (``lam`` for the fairness losses) chosen on the validation
split, and a ``build(ctx, value)`` function returning a :class:`Model`:
an object with ``fit(X, y, S)`` and ``predict(X, S)``, so that estimators that
need the sensitive attributes at predict time (attribute-aware networks,
``ThresholdOptimizer``) and those that do not are run the same way.

All skfair methods share one network head (:func:`head_params`): an MLP with
one hidden layer over the shared features, trained with Adam. fairlearn's
methods use a ``LogisticRegression`` base on the same features, as its
documentation does; ``logreg`` is that base without constraint.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "METHODS",
    "Method",
    "MethodContext",
    "Model",
    "available_methods",
    "resolve_methods",
]

_CLASSIF = frozenset({"binary", "multiclass"})
_ALL = frozenset({"binary", "multiclass", "regression"})
_BINARY = frozenset({"binary"})


class MethodError(ValueError):
    """A user-facing problem with ``--methods``."""


@dataclass
class MethodContext:
    """What method builders need besides the hyper-parameter value.

    Attributes
    ----------
    data : BenchmarkData
    seed : int
    device : str
    head : dict
        FairNet parameters shared by every skfair head (see :func:`head_params`).
    grid_size : int or None
        fairlearn GridSearch grid size (``None``: chosen from the constraint's
        dimension, see :func:`gridsearch_grid_size`).
    baseline : Model or None
        The fitted baseline (affirmative action picks its worst subgroups).
    notes : dict
        Per-method notes filled by builders (reported), e.g. the grid size.
    shared : dict
        What several methods reuse within a run: the post-processors' base
        classifier (fitted once on the training split), OxonFair's frontier.
    peer_budget : float
        Seconds a peer's search may take before it is cut (OxonFair).
    """

    data: object
    seed: int = 0
    device: str = "cpu"
    head: dict = field(default_factory=dict)
    grid_size: int | None = None
    baseline: object = None
    notes: dict = field(default_factory=dict)
    shared: dict = field(default_factory=dict)
    peer_budget: float = 600.0

    @property
    def kind(self):
        return self.data.kind


@dataclass(frozen=True)
class Method:
    """One benchmark method.

    Attributes
    ----------
    name : str
        Name used by ``--methods``.
    family : {"baseline", "skfair", "fairlearn", "oxonfair"}
        Every family but ``baseline`` and ``skfair`` is a peer.
    description : str
    build : callable
        ``build(ctx, value) -> Model``.
    param : str or None
        The hyper-parameter tuned on validation (``"lam"``, ``"boost"``).
    grid : tuple
        Its candidate values (``quick`` runs use the first and the last
        but one only).
    kinds : frozenset
        Tasks handled: ``"binary"``, ``"multiclass"``, ``"regression"``.
    needs_images : bool
        Only for image datasets (pixel inversion).
    needs_modules : tuple of str
        Modules that must import (others may still be in progress).
    slow : bool
        Left out of ``--methods fast``.
    predict_sensitive : bool
        Reads the sensitive attributes at predict time (attribute-aware
        networks, ThresholdOptimizer): not run when the target is one of
        them, which would hand it the label.
    """

    name: str
    family: str
    description: str
    build: object
    param: str | None = None
    grid: tuple = ()
    kinds: frozenset = _CLASSIF
    needs_images: bool = False
    needs_modules: tuple = ()
    slow: bool = False
    predict_sensitive: bool = False

    def unavailable_reason(self, data, images):
        """Why the method cannot run on ``data`` (``None`` when it can)."""
        if data.kind not in self.kinds:
            return f"does not handle {data.kind} targets (handles {sorted(self.kinds)})"
        if self.needs_images and not images:
            return ("needs the features of inverted training images (image datasets with "
                    "--features pixels or backbone)")
        revealing = data.target_revealing_attributes if self.predict_sensitive else []
        if revealing:
            return (f"reads the sensitive attributes at predict time and {revealing[0]!r} "
                    f"is the target {data.task!r} or computed from it (it would be handed "
                    "the label)")
        for mod in self.needs_modules:
            try:
                importlib.import_module(mod)
            except ImportError as exc:
                return f"{mod} is not importable ({exc})"
        return None

    def values(self, quick=False):
        """Grid values to try (``[None]`` without a grid)."""
        if not self.grid:
            return [None]
        if quick and len(self.grid) > 2:
            return [self.grid[0], self.grid[-2]]
        return list(self.grid)


# ----------------------------------------------------------------------- models
class Model:
    """Adapter giving every method ``fit(X, y, S)`` and ``predict(X, S)``.

    Parameters
    ----------
    estimator : estimator
    fit_sensitive : {"keyword", "none", "labels"}
        How ``S`` reaches ``fit``: ``sensitive_features=S`` (DataFrame),
        not at all, or as 1-D intersection labels (fairlearn).
    predict_sensitive : {"none", "keyword", "labels"}
        The same for ``predict``.
    predict_kwargs : dict
        Extra ``predict`` keywords (``random_state`` of randomized fairlearn
        predictors).
    X_fit : ndarray, optional
        Features to train on instead of the given ``X`` (pixel inversion:
        the features of inverted training images, same rows).
    routing : bool
        Fit inside ``sklearn.config_context(enable_metadata_routing=True)``.
    dtype : numpy dtype, optional
        Cast the features to it (fairlearn gets float64).
    """

    def __init__(self, estimator, *, fit_sensitive="keyword", predict_sensitive="none",
                 predict_kwargs=None, X_fit=None, routing=False, dtype=None):
        self.estimator = estimator
        self.fit_sensitive = fit_sensitive
        self.predict_sensitive = predict_sensitive
        self.predict_kwargs = dict(predict_kwargs or {})
        self.X_fit = X_fit
        self.routing = routing
        self.dtype = dtype

    @staticmethod
    def _pass(mode, S):
        if mode == "none":
            return {}
        if mode == "labels":
            return {"sensitive_features": group_labels(S)}
        return {"sensitive_features": S}

    def fit(self, X, y, S):
        X = self.X_fit if self.X_fit is not None else X
        if self.dtype is not None:
            X = np.asarray(X, dtype=self.dtype)
        kwargs = self._pass(self.fit_sensitive, S)
        if self.routing:
            import sklearn

            with sklearn.config_context(enable_metadata_routing=True):
                self.estimator.fit(X, y, **kwargs)
        else:
            self.estimator.fit(X, y, **kwargs)
        return self

    def predict(self, X, S):
        kwargs = {**self._pass(self.predict_sensitive, S), **self.predict_kwargs}
        if self.dtype is not None:
            X = np.asarray(X, dtype=self.dtype)
        return np.asarray(self.estimator.predict(X, **kwargs))


def group_labels(S):
    """1-D intersection labels (``"race=White, gender=Male"``) of a DataFrame."""
    from skfair.utils import encode_sensitive_features

    enc = encode_sensitive_features(S)
    labels = np.asarray(enc.labels(), dtype=object)
    return labels[enc.codes]


def head_params(kind, n_train, *, quick=False, seed=0, device="cpu", epochs=None):
    """The FairNet parameters every skfair head shares.

    An MLP with one hidden layer of 64 units, Adam (lr 1e-3, weight decay
    1e-4), batches of 128, 30 epochs (60 under 1,500 training rows, 10 over
    20,000; 3 with ``quick``).
    """
    if epochs is None:
        epochs = 3 if quick else (60 if n_train < 1500 else 10 if n_train > 20000 else 30)
    return dict(module="mlp", hidden_sizes=(64,), max_epochs=int(epochs), lr=1e-3,
                batch_size=128, weight_decay=1e-4, device=device, random_state=seed)


def _fairnet(ctx, **kwargs):
    from skfair.estimators import FairNetClassifier, FairNetRegressor

    cls = FairNetRegressor if ctx.kind == "regression" else FairNetClassifier
    params = dict(ctx.head)
    if ctx.kind == "regression":
        params["loss"] = "l1"
    params.update(kwargs)
    return cls(**params)


# ---------------------------------------------------------------------- builders
def _baseline(ctx, value):
    return Model(_fairnet(ctx), fit_sensitive="none")


def _logreg(ctx, value):
    from sklearn.linear_model import LogisticRegression

    return Model(LogisticRegression(max_iter=1000), fit_sensitive="none")


def _resample(strategy):
    def build(ctx, value):
        import sklearn

        from skfair.pipeline import make_pipeline
        from skfair.samplers import GroupResampler

        head = _fairnet(ctx)
        with sklearn.config_context(enable_metadata_routing=True):
            # the head is trained plainly on the resampled rows
            head.set_fit_request(sensitive_features=False, sample_weight=False)
        pipe = make_pipeline(GroupResampler(strategy=strategy, random_state=ctx.seed), head)
        return Model(pipe, routing=True)
    return build


def _support(scheme):
    def build(ctx, value):
        from skfair.weighting import SupportWeighting

        return Model(_fairnet(ctx, weighting=SupportWeighting(scheme=scheme)))
    return build


def _affirmative(ctx, value):
    from skfair.weighting import AffirmativeActionWeighting, select_worst_subgroups

    data = ctx.data
    if "affirmative_action" not in ctx.notes:
        from skfair.utils import encode_sensitive_features

        base = ctx.baseline.estimator
        scoring = "neg_mean_absolute_error" if ctx.kind == "regression" else None
        # the 2 worst subgroups, never all of them (boosting every row changes nothing)
        k = min(2, encode_sensitive_features(data.S_train).n_groups - 1)
        subgroups, scores = select_worst_subgroups(
            base, data.X_val, data.y_val, sensitive_features=data.S_val, k=k,
            scoring=scoring, min_size=5, return_scores=True,
        )
        ctx.notes["affirmative_action"] = (
            f"boosted subgroups (the {k} worst of the baseline on validation): "
            + "; ".join(", ".join(f"{k}={v}" for k, v in sub.items()) for sub in subgroups)
        )
        ctx.notes["_affirmative_subgroups"] = subgroups
    subgroups = ctx.notes["_affirmative_subgroups"]
    weighting = AffirmativeActionWeighting(subgroups=subgroups, boost=value)
    return Model(_fairnet(ctx, weighting=weighting))


def _pixel_inversion(ctx, value):
    return Model(_fairnet(ctx), fit_sensitive="none", X_fit=ctx.data.X_train_inverted)


def _fair_loss(name):
    def build(ctx, value):
        return Model(_fairnet(ctx, fairness=name, lam=float(value)))
    return build


def _attribute_aware(ctx, value, fairness=None):
    from skfair.estimators import AttributeAwareClassifier, AttributeAwareRegressor

    params = dict(ctx.head)
    if fairness is not None:
        params.update(fairness=fairness, lam=float(value))
    if ctx.kind == "regression":
        est = AttributeAwareRegressor(loss="l1", **params)
    else:
        est = AttributeAwareClassifier(**params)
    return Model(est, predict_sensitive="keyword")


def _ensemble(ctx, value):
    from skfair.ensemble import ExpertEnsembleClassifier
    from skfair.weighting import SupportWeighting

    if ctx.kind == "regression":
        return Model(age_expert_ensemble(ctx))
    experts = [("plain", _fairnet(ctx), None)]
    for attr in ctx.data.sensitive_names:
        experts.append((attr, _fairnet(ctx), SupportWeighting(attributes=[attr])))
    if len(ctx.data.sensitive_names) > 1:
        experts.append(("intersection", _fairnet(ctx),
                        SupportWeighting(scheme="intersectional")))
    return Model(ExpertEnsembleClassifier(experts, cv=3, random_state=ctx.seed))


def age_expert_ensemble(ctx):
    """The ensemble of experts of the ChaLearn fair age estimation entry, for a regression.

    The benchmark's head for every expert (L1 loss, a seed of its own): a plain
    one; one per sensitive attribute, weighted on that attribute and on the age
    group (``SupportWeighting(attributes=[a], target="binned")``, the entry's
    custom loss 1b); an age expert weighted per year of age (loss 1a). A
    ``RidgeCV`` combiner on their out-of-fold predictions, weighted on the age
    groups, and each expert predicting with the mean of its 5 fold models
    (``refit=False``). Chosen on validation rows of UTKFace's face descriptors
    (``benchmarks/exp_ensemble_faces.py``).

    Returns
    -------
    ensemble : skfair.ensemble.ExpertEnsembleRegressor
    """
    from skfair.ensemble import ExpertEnsembleRegressor
    from skfair.weighting import SupportWeighting

    weightings = [("plain", None)]
    weightings += [(a, SupportWeighting(attributes=[a], target="binned"))
                   for a in ctx.data.sensitive_names]
    weightings.append(("age_years", SupportWeighting(attributes=[], target="year")))
    experts = [(name, _fairnet(ctx, random_state=100 * ctx.seed + k), w)
               for k, (name, w) in enumerate(weightings)]
    return ExpertEnsembleRegressor(
        experts, final_weighting=SupportWeighting(attributes=[], target="binned"), cv=5,
        refit=False, random_state=ctx.seed)


def _fairlearn_constraint(kind):
    from fairlearn.reductions import DemographicParity, EqualizedOdds

    return DemographicParity() if kind == "dp" else EqualizedOdds()


def _eg(kind):
    def build(ctx, value):
        from fairlearn.reductions import ExponentiatedGradient
        from sklearn.linear_model import LogisticRegression

        est = ExponentiatedGradient(LogisticRegression(max_iter=1000),
                                    constraints=_fairlearn_constraint(kind))
        return Model(est, fit_sensitive="labels", predict_kwargs={"random_state": ctx.seed},
                     dtype=np.float64)
    return build


def gridsearch_grid_size(kind, X, y, S, *, cap=400):
    """GridSearch grid size: ``2 ** d`` for a grid of true dimension ``d``,
    at least fairlearn's default 10... 20, at most ``cap``.

    fairlearn recommends at least ``2 ** d`` points; its default (10) is far
    too coarse for equalized odds on several groups (a ``2 * n_groups - 2``
    dimensional grid).

    Returns
    -------
    grid_size : int
    dim : int
        The grid's true dimension.
    """
    constraint = _fairlearn_constraint(kind)
    constraint.load_data(X, y, sensitive_features=group_labels(S))
    dim = int(constraint.pos_basis.shape[1])
    if constraint.default_objective_lambda_vec is not None:
        dim -= 1
    return int(min(max(2 ** dim, 20), cap)), dim


def _gs(kind):
    def build(ctx, value):
        from fairlearn.reductions import GridSearch
        from sklearn.linear_model import LogisticRegression

        d = ctx.data
        if ctx.grid_size is None:
            size, dim = gridsearch_grid_size(kind, d.X_train, d.y_train, d.S_train)
            how = f"auto: min(max(2**{dim}, 20), 400) for a {dim}-dimensional grid"
        else:
            size, how = int(ctx.grid_size), "--grid-size"
        ctx.notes[f"fairlearn_gs_{kind}"] = f"grid_size={size} ({how})"
        est = GridSearch(LogisticRegression(max_iter=1000),
                         constraints=_fairlearn_constraint(kind), grid_size=size)
        return Model(est, fit_sensitive="labels", dtype=np.float64)
    return build


def _logreg_base():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _logreg_on_train(ctx):
    """The post-processors' base: a LogisticRegression on the training split (float64),
    fitted once per run."""
    from ._peers import ValidationPostProcessor

    return lambda fit_rule: ValidationPostProcessor(
        _float64_factory(_logreg_base), fit_rule,
        (np.asarray(ctx.data.X_val, dtype=np.float64), ctx.data.y_val, ctx.data.S_val),
        ctx.shared, "logreg_base")


class _Float64:
    """An estimator fed float64 features (fairlearn 0.15 under pandas 3 writes float64
    scores into the input's dtype: float32 raises a TypeError)."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, **kw):
        self.estimator.fit(np.asarray(X, dtype=np.float64), y, **kw)
        self.classes_ = self.estimator.classes_
        return self

    def predict(self, X):
        return self.estimator.predict(np.asarray(X, dtype=np.float64))

    def predict_proba(self, X):
        return self.estimator.predict_proba(np.asarray(X, dtype=np.float64))


def _float64_factory(factory):
    return lambda: _Float64(factory())


def _to(kind):
    def build(ctx, value):
        from fairlearn.postprocessing import ThresholdOptimizer

        constraints = "demographic_parity" if kind == "dp" else "equalized_odds"

        def fit_rule(base, X_val, y_val, S_val):
            rule = ThresholdOptimizer(estimator=base.estimator, constraints=constraints,
                                      predict_method="predict_proba", prefit=True)
            rule.fit(X_val, y_val, sensitive_features=group_labels(S_val))
            return _LabelsRule(rule, random_state=ctx.seed)

        return _logreg_on_train(ctx)(fit_rule)
    return build


class _LabelsRule:
    """A fairlearn post-processor predicting with 1-D group labels."""

    def __init__(self, rule, random_state):
        self.rule = rule
        self.random_state = random_state

    def predict(self, X, S):
        return self.rule.predict(np.asarray(X, dtype=np.float64),
                                 sensitive_features=group_labels(S),
                                 random_state=self.random_state)


def _postprocess(constraint, base="logreg", groups="given", randomize=False):
    """skfair's FairThresholdClassifier (FairRegressionCorrector for regression) with
    ``prefit=True``: the base on the training rows, the rule on the validation rows."""
    def build(ctx, value):
        from skfair.postprocessing import FairRegressionCorrector, FairThresholdClassifier

        def fit_rule(fitted, X_val, y_val, S_val):
            est = getattr(fitted, "estimator", fitted)  # the _Float64 adapter's model
            if ctx.kind == "regression":
                rule = FairRegressionCorrector(est, tolerance=float(value), prefit=True,
                                               groups=groups, random_state=ctx.seed)
            else:
                rule = FairThresholdClassifier(est, constraint=constraint,
                                               tolerance=float(value), prefit=True,
                                               groups=groups, randomize=randomize,
                                               random_state=ctx.seed)
            if fitted is not est:
                X_val = np.asarray(X_val, dtype=np.float64)
            rule.fit(X_val, y_val, sensitive_features=S_val)
            return _SkfairRule(rule, float64=fitted is not est)

        if base == "head":
            return _head_on_train(ctx)(fit_rule)
        return _logreg_on_train(ctx)(fit_rule)
    return build


def _head_on_train(ctx):
    """The post-processors' network base: skfair's MLP head on the training split, fitted
    once per run (the baseline's configuration)."""
    from ._peers import ValidationPostProcessor

    return lambda fit_rule: ValidationPostProcessor(
        lambda: _fairnet(ctx), fit_rule, (ctx.data.X_val, ctx.data.y_val, ctx.data.S_val),
        ctx.shared, "head_base")


class _SkfairRule:
    """A skfair post-processor predicting with the sensitive attributes (DataFrame)."""

    def __init__(self, rule, float64):
        self.rule = rule
        self.float64 = float64

    def predict(self, X, S):
        if self.float64:
            X = np.asarray(X, dtype=np.float64)
        if self.rule.groups == "inferred":
            return self.rule.predict(X)
        return self.rule.predict(X, sensitive_features=S)


def _oxonfair(kind):
    def build(ctx, value):
        from ._peers import OxonFairModel

        def fit_rule(base, X_val, y_val, S_val):
            return OxonFairModel(base, (X_val, y_val, group_labels(S_val)), kind, float(value),
                                 ctx.shared, ctx.peer_budget).fit()

        return _logreg_on_train(ctx)(fit_rule)
    return build


#: lam grids of the fairness losses (the losses differ in scale: squared
#: differences of rates are small, mutual information smaller still)
LAM_GRIDS = {
    "dp_l2": (1.0, 3.0, 10.0, 30.0, 100.0),
    "eo_l2": (1.0, 3.0, 10.0, 30.0, 100.0),
    "dp_mi": (3.0, 10.0, 30.0, 100.0, 300.0),
    "eo_mi": (3.0, 10.0, 30.0, 100.0, 300.0),
    "iou": (1.0, 3.0, 10.0, 30.0, 100.0),
    "group_balanced": (0.3, 1.0, 3.0, 10.0),
    "adversarial": (0.1, 0.3, 1.0, 3.0),
    "adversarial_confusion": (0.3, 1.0, 3.0, 10.0),
    "mean_parity": (0.01, 0.03, 0.1, 0.3, 1.0),
    "mae_parity": (0.1, 0.3, 1.0, 3.0),
}

_EST = ("skfair.estimators",)

#: tolerances of skfair's post-processors (the largest allowed validation gap); for
#: regression the allowed MAE increase in years
POSTPROCESS_TOLERANCES = (0.01, 0.02, 0.03, 0.04, 0.05, 0.08, 0.12, 0.16)
REGRESSION_TOLERANCES = (0.0, 0.05, 0.1, 0.15, 0.2)

#: OxonFair's constraint values (its documentation's example uses 0.02)
OXONFAIR_TOLERANCES = (0.01, 0.02, 0.05)


def _loss_method(loss, description, kinds=_CLASSIF):
    return Method(
        f"fairnet_{loss}", "skfair", description, _fair_loss(loss), param="lam",
        grid=LAM_GRIDS[loss], kinds=kinds, needs_modules=(*_EST, "skfair.losses"),
    )


#: name -> :class:`Method`: every method ``skfair benchmark`` can run, in run order.
METHODS = {m.name: m for m in [
    Method("baseline", "baseline", "MLP head, no mitigation (the reference)", _baseline,
           kinds=_ALL, needs_modules=_EST),
    Method("logreg", "baseline", "LogisticRegression, no mitigation (fairlearn's base)",
           _logreg, kinds=_CLASSIF),
    Method("resample_mean", "skfair", "GroupResampler(strategy='mean') + MLP head",
           _resample("mean"), kinds=_ALL,
           needs_modules=(*_EST, "skfair.samplers", "skfair.pipeline")),
    Method("resample_min", "skfair", "GroupResampler(strategy='min') + MLP head",
           _resample("min"), kinds=_ALL,
           needs_modules=(*_EST, "skfair.samplers", "skfair.pipeline")),
    Method("resample_max", "skfair", "GroupResampler(strategy='max') + MLP head",
           _resample("max"), kinds=_ALL,
           needs_modules=(*_EST, "skfair.samplers", "skfair.pipeline")),
    Method("weights_marginal", "skfair", "SupportWeighting(scheme='marginal', smoothing=5)",
           _support("marginal"), kinds=_ALL, needs_modules=(*_EST, "skfair.weighting")),
    Method("weights_intersectional", "skfair",
           "SupportWeighting(scheme='intersectional', smoothing=5)",
           _support("intersectional"), kinds=_ALL, needs_modules=(*_EST, "skfair.weighting")),
    Method("affirmative_action", "skfair",
           "AffirmativeActionWeighting: boost the baseline's 2 worst validation subgroups "
           "(1 of 2)",
           _affirmative, param="boost", grid=(2.0, 5.0, 10.0), kinds=_ALL,
           needs_modules=(*_EST, "skfair.weighting")),
    Method("pixel_inversion", "skfair",
           "PixelInverter(p=0.5) on the training images (features of the inverted images)",
           _pixel_inversion, kinds=_ALL, needs_images=True,
           needs_modules=(*_EST, "skfair.transformers")),
    _loss_method("dp_l2", "FairNetClassifier(fairness='dp_l2'): demographic parity, L2"),
    _loss_method("dp_mi", "FairNetClassifier(fairness='dp_mi'): demographic parity, MI"),
    _loss_method("eo_l2", "FairNetClassifier(fairness='eo_l2'): equalized odds, L2"),
    _loss_method("eo_mi", "FairNetClassifier(fairness='eo_mi'): equalized odds, MI"),
    _loss_method("iou", "FairNetClassifier(fairness='iou'): IoU fairness"),
    _loss_method("group_balanced", "FairNet(fairness='group_balanced'): group-balanced risk",
                 kinds=_ALL),
    _loss_method("adversarial", "FairNet(fairness='adversarial'): adversarial regularizer",
                 kinds=_ALL),
    _loss_method("adversarial_confusion",
                 "FairNet(fairness='adversarial_confusion'): adversary pushed to chance",
                 kinds=_ALL),
    _loss_method("mean_parity", "FairNetRegressor(fairness='mean_parity')",
                 kinds=frozenset({"regression"})),
    _loss_method("mae_parity", "FairNetRegressor(fairness='mae_parity')",
                 kinds=frozenset({"regression"})),
    Method("attribute_aware", "skfair",
           "AttributeAware network: one-hot attributes as extra inputs (train and test)",
           _attribute_aware, kinds=_ALL, needs_modules=_EST, predict_sensitive=True),
    Method("attribute_aware_eo", "skfair",
           "AttributeAware network + equalized-odds L2 loss (group-aware in-processing)",
           lambda ctx, value: _attribute_aware(ctx, value, fairness="eo_l2"), param="lam",
           grid=LAM_GRIDS["eo_l2"], kinds=_CLASSIF, needs_modules=(*_EST, "skfair.losses"),
           predict_sensitive=True),
    Method("expert_ensemble", "skfair",
           "ExpertEnsemble (ChaLearn fair age entry): plain + one support-weighted expert per "
           "attribute (regression: + the age group, and an age expert), stacked",
           _ensemble, kinds=_ALL, needs_modules=(*_EST, "skfair.ensemble", "skfair.weighting"),
           slow=True),
    Method("postprocess_eo", "skfair",
           "FairThresholdClassifier(LogisticRegression, 'equalized_odds', prefit) on the "
           "validation rows (per-group thresholds / class offsets)",
           _postprocess("equalized_odds"), param="tolerance", grid=POSTPROCESS_TOLERANCES,
           kinds=_CLASSIF, needs_modules=("skfair.postprocessing",), predict_sensitive=True),
    Method("postprocess_dp", "skfair",
           "FairThresholdClassifier(LogisticRegression, 'demographic_parity', prefit) on the "
           "validation rows", _postprocess("demographic_parity"), param="tolerance",
           grid=POSTPROCESS_TOLERANCES, kinds=_CLASSIF,
           needs_modules=("skfair.postprocessing",), predict_sensitive=True),
    Method("postprocess_eo_randomized", "skfair",
           "FairThresholdClassifier(LogisticRegression, 'equalized_odds', randomize=True): "
           "per-group mixtures of two thresholds (rates met exactly, predictions random)",
           _postprocess("equalized_odds", randomize=True), param="tolerance",
           grid=POSTPROCESS_TOLERANCES, kinds=_BINARY,
           needs_modules=("skfair.postprocessing",), predict_sensitive=True),
    Method("postprocess_eo_inferred", "skfair",
           "FairThresholdClassifier(LogisticRegression, 'equalized_odds', groups='inferred'): "
           "a group classifier, no sensitive attribute at predict time",
           _postprocess("equalized_odds", groups="inferred"), param="tolerance",
           grid=POSTPROCESS_TOLERANCES, kinds=_CLASSIF,
           needs_modules=("skfair.postprocessing",)),
    Method("postprocess_eo_head", "skfair",
           "FairThresholdClassifier over the MLP head (baseline), 'equalized_odds', on the "
           "validation rows", _postprocess("equalized_odds", base="head"), param="tolerance",
           grid=POSTPROCESS_TOLERANCES, kinds=_CLASSIF,
           needs_modules=(*_EST, "skfair.postprocessing"), predict_sensitive=True),
    Method("postprocess_mae", "skfair",
           "FairRegressionCorrector over the MLP head (baseline): per-group affine "
           "correction and levelling offsets on the validation rows, MAE increase <= "
           "tolerance",
           _postprocess(None, base="head"), param="tolerance", grid=REGRESSION_TOLERANCES,
           kinds=frozenset({"regression"}), needs_modules=(*_EST, "skfair.postprocessing"),
           predict_sensitive=True),
    Method("fairlearn_eg_dp", "fairlearn",
           "ExponentiatedGradient(LogisticRegression, DemographicParity())", _eg("dp"),
           kinds=_BINARY),
    Method("fairlearn_eg_eo", "fairlearn",
           "ExponentiatedGradient(LogisticRegression, EqualizedOdds())", _eg("eo"),
           kinds=_BINARY),
    Method("fairlearn_gs_dp", "fairlearn",
           "GridSearch(LogisticRegression, DemographicParity())", _gs("dp"), kinds=_BINARY),
    Method("fairlearn_gs_eo", "fairlearn",
           "GridSearch(LogisticRegression, EqualizedOdds())", _gs("eo"), kinds=_BINARY),
    Method("fairlearn_to_dp", "fairlearn",
           "ThresholdOptimizer(LogisticRegression, 'demographic_parity', prefit) on the "
           "validation rows", _to("dp"), kinds=_BINARY, predict_sensitive=True),
    Method("fairlearn_to_eo", "fairlearn",
           "ThresholdOptimizer(LogisticRegression, 'equalized_odds', prefit) on the "
           "validation rows", _to("eo"), kinds=_BINARY, predict_sensitive=True),
    Method("oxonfair_eo", "oxonfair",
           "OxonFair FairPredictor(LogisticRegression): accuracy s.t. equalized odds <= "
           "tolerance, on the validation rows", _oxonfair("eo"), param="tolerance",
           grid=OXONFAIR_TOLERANCES, kinds=_BINARY, needs_modules=("oxonfair",),
           predict_sensitive=True),
    Method("oxonfair_dp", "oxonfair",
           "OxonFair FairPredictor(LogisticRegression): accuracy s.t. demographic parity <= "
           "tolerance, on the validation rows", _oxonfair("dp"), param="tolerance",
           grid=OXONFAIR_TOLERANCES, kinds=_BINARY, needs_modules=("oxonfair",),
           predict_sensitive=True),
]}


def available_methods():
    """Names of every registered method, in run order."""
    return list(METHODS)


def resolve_methods(spec):
    """Turn ``--methods`` into method names.

    Parameters
    ----------
    spec : str
        ``"all"``, ``"fast"`` (all but the slow ones), or a comma-separated
        list of names. The baseline is always added (first): the tuning rule
        and the report compare with it.

    Returns
    -------
    names : list of str

    Raises
    ------
    MethodError
        On an unknown name (one-line message listing the known ones).

    Examples
    --------
    >>> from skfair.benchmark import resolve_methods
    >>> resolve_methods("fairnet_eo_l2,logreg")
    ['baseline', 'fairnet_eo_l2', 'logreg']
    """
    spec = (spec or "all").strip()
    if spec == "all":
        names = list(METHODS)
    elif spec == "fast":
        names = [n for n, m in METHODS.items() if not m.slow]
    else:
        names = [s.strip() for s in spec.split(",") if s.strip()]
        unknown = [n for n in names if n not in METHODS]
        if unknown or not names:
            raise MethodError(
                f"unknown method(s) {unknown or [spec]}; choose 'all', 'fast' or a comma list "
                f"of: {', '.join(METHODS)}"
            )
    names = ["baseline"] + [n for n in dict.fromkeys(names) if n != "baseline"]
    return names
