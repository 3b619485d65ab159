"""Shared machinery of the ensemble of experts (Dieguez & Valverde, Figures 1-2).

The ensemble is a stacking meta-estimator whose base estimators ("experts")
each carry their own fairness weighting. Training follows the three stages of
Dieguez & Valverde's ChaLearn fair age estimation entry:

1. features: a transformer in front of the ensemble in a ``Pipeline`` (e.g.
   :class:`skfair.transformers.EmbeddingExtractor`), or precomputed ``X``;
2. experts: each expert is fitted separately on the whole training set with
   ``sample_weight`` computed by its weighting from the routed
   ``sensitive_features`` (and ``y``);
3. combiner: ``final_estimator`` is fitted on the experts' out-of-fold
   predictions, every fold's expert being trained on that fold's slice of the
   same weights (an int ``cv`` draws *shuffled* folds: rows stored in target
   order, as UTKFace's age-first file names sort them, would otherwise give
   folds with disjoint target ranges and out-of-fold predictions that are
   extrapolations); optionally, when every expert is a skorch network, experts and
   combiner are then fine-tuned jointly with a chosen weighting.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sparse
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    TransformerMixin,
    clone,
    is_classifier,
)
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, _safe_indexing, check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_feature_names_in,
    _check_sample_weight,
    _num_samples,
    check_is_fitted,
)

from ..utils import check_sensitive_features
from ..utils._signature import takes_keyword
from ..weighting._base import prepare_weighting

__all__ = ["_BaseExpertEnsemble"]

_EXPERTS_PREFIX = "experts__"


def _slice_params(params, indices, n_samples):
    """Rows ``indices`` of every row-aligned fit parameter (weights, sensitive features)."""
    out = {}
    for key, value in params.items():
        if value is None or isinstance(value, str | bytes) or np.isscalar(value):
            out[key] = value
            continue
        try:
            aligned = _num_samples(value) == n_samples
        except TypeError:
            aligned = False
        out[key] = _safe_indexing(value, indices) if aligned else value
    return out


def _last_step(estimator):
    """``(estimator that fits the parameters, key prefix)``: a ``Pipeline``'s last step
    (``"<step>__"``, nested pipelines followed) when metadata routing is off, as a
    pipeline then takes fit parameters only in the ``<step>__<param>`` form."""
    prefix = ""
    while (not _routing_enabled() and isinstance(estimator, Pipeline)
           and estimator.steps[-1][1] not in (None, "passthrough")):
        name, estimator = estimator.steps[-1]
        prefix += f"{name}__"
    return estimator, prefix


def _fit_one(estimator, X, y, params, *, name):
    target, prefix = _last_step(estimator)
    what = "final_estimator" if name == "final_estimator" else f"expert {name!r}"
    source = ("final_weighting or the ensemble's sample_weight" if name == "final_estimator"
              else "its weighting or the ensemble's sample_weight")
    try:
        return estimator.fit(X, y, **{prefix + k: v for k, v in params.items()})
    except TypeError as exc:
        if "sample_weight" in params and "sample_weight" in str(exc):
            raise TypeError(
                f"{what} ({type(target).__name__}) was given sample_weight (from {source}) "
                "but its fit does not accept it; use an estimator whose fit takes "
                "sample_weight or drop the weighting."
            ) from exc
        raise


def _predict_params(method, sensitive_features):
    """``{"sensitive_features": ...}`` for a method that takes them (attribute-aware
    experts read the attributes at predict time), else ``{}``."""
    if sensitive_features is not None and takes_keyword(method, "sensitive_features"):
        return {"sensitive_features": sensitive_features}
    return {}


def _fit_predict_fold(estimator, X, y, train, test, params, method, name, sensitive_features):
    """Fit a clone on ``train`` (params sliced to those rows), predict ``test``."""
    n = _num_samples(X)
    est = clone(estimator)
    _fit_one(
        est, _safe_indexing(X, train), _safe_indexing(y, train),
        _slice_params(params, train, n), name=name,
    )
    fn = getattr(est, method)
    S_test = None if sensitive_features is None else _safe_indexing(sensitive_features, test)
    return est, fn(_safe_indexing(X, test), **_predict_params(fn, S_test))


def _align_columns(estimator, pred, n_classes):
    """A fold model's class columns in the order of all ``n_classes`` (encoded) classes.

    A fold whose training rows miss a class yields fewer probability columns; the
    missing class gets probability 0 (as ``cross_val_predict`` does).
    """
    fold_classes = np.asarray(getattr(estimator, "classes_", np.arange(n_classes)))
    if pred.ndim == 1 or len(fold_classes) == n_classes:
        return pred
    if not hasattr(estimator, "predict_proba") or pred.shape[1] != len(fold_classes):
        raise ValueError(
            f"a cross-validation fold holds only classes {list(fold_classes)} of "
            f"{n_classes}; use fewer folds (cv) so every class is in every training fold."
        )
    full = np.zeros((len(pred), n_classes), dtype=np.float64)
    full[:, fold_classes.astype(int)] = pred
    return full


class _FoldAverage(BaseEstimator):
    """One expert as the mean of its cross-validation fold models (``refit=False``).

    ``predict`` (a regressor), ``predict_proba`` and ``decision_function`` average
    the fold models' outputs; a classifier's ``predict`` is the class of highest
    mean probability (mean decision), or the most frequent vote.

    Parameters
    ----------
    estimators : list of fitted estimators
        The fold models.
    n_classes : int or None
        Number of (encoded) classes of a classifier; None for a regressor.
    """

    def __init__(self, estimators, n_classes=None):
        self.estimators = estimators
        self.n_classes = n_classes

    def __sklearn_is_fitted__(self):
        return True

    @property
    def n_features_in_(self):
        return self.estimators[0].n_features_in_

    @property
    def feature_names_in_(self):
        return self.estimators[0].feature_names_in_

    @property
    def classes_(self):
        if self.n_classes is None:
            raise AttributeError("a regressor has no classes_")
        return np.arange(self.n_classes)

    def _mean(self, method, X, sensitive_features):
        outs = []
        for est in self.estimators:
            fn = getattr(est, method)
            out = np.asarray(fn(X, **_predict_params(fn, sensitive_features)), dtype=np.float64)
            if self.n_classes is not None:
                out = _align_columns(est, out, self.n_classes)
            outs.append(out)
        return np.mean(outs, axis=0)

    def _has(method):
        return lambda self: hasattr(self.estimators[0], method)

    def predict(self, X, sensitive_features=None):
        """Mean prediction (regressor) or class of the mean scores / the vote (classifier)."""
        if self.n_classes is None:
            return self._mean("predict", X, sensitive_features)
        for method in ("predict_proba", "decision_function"):
            if hasattr(self.estimators[0], method):
                scores = self._mean(method, X, sensitive_features)
                if scores.ndim == 1:
                    return (scores > (0.5 if method == "predict_proba" else 0.0)).astype(int)
                return np.argmax(scores, axis=1)
        votes = np.stack([np.asarray(e.predict(X, **_predict_params(e.predict,
                                                                    sensitive_features)))
                          for e in self.estimators]).astype(int)
        counts = np.apply_along_axis(np.bincount, 0, votes, minlength=self.n_classes)
        return np.argmax(counts, axis=0)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X, sensitive_features=None):
        """Mean class probabilities of the fold models."""
        return self._mean("predict_proba", X, sensitive_features)

    @available_if(_has("decision_function"))
    def decision_function(self, X, sensitive_features=None):
        """Mean decision function of the fold models."""
        return self._mean("decision_function", X, sensitive_features)


def _indexable(X):
    """``X`` in a form that row indexing (``_safe_indexing``) supports."""
    if sparse.issparse(X):
        return X if X.format in ("csr", "csc") else X.tocsr()
    if X is None or hasattr(X, "iloc") or hasattr(X, "__getitem__"):
        return X
    return np.asarray(X)


class _BaseExpertEnsemble(TransformerMixin, MetaEstimatorMixin, BaseEstimator,
                          metaclass=ABCMeta):
    """Base class of :class:`ExpertEnsembleRegressor` / :class:`ExpertEnsembleClassifier`."""

    # the ensemble consumes ``sensitive_features`` itself (to weight its experts), so
    # it asks for them by default. ``sample_weight`` is its own too: it multiplies every
    # expert's and the combiner's weights, with or without metadata routing (as
    # scikit-learn's bagging estimators use theirs), so its request follows
    # scikit-learn's default (``set_fit_request(sample_weight=True)`` to route it here).
    __metadata_request__fit = {"sensitive_features": True}

    _parameter_constraints: dict = {
        "experts": [list],
        "final_estimator": [None, HasMethods("fit")],
        "cv": ["cv_object"],
        "refit": ["boolean"],
        "passthrough": ["boolean"],
        "final_weighting": [None, HasMethods("get_weights")],
        "joint_finetune": [None, "boolean", HasMethods("get_weights")],
        "finetune_epochs": [Interval(Integral, 1, None, closed="left")],
        "finetune_lr": [Interval(Real, 0, None, closed="neither")],
        "finetune_batch_size": [None, Interval(Integral, 1, None, closed="left")],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
    }

    @abstractmethod
    def __init__(self, experts, final_estimator=None, *, cv=5, refit=True, passthrough=False,
                 final_weighting=None, joint_finetune=None, finetune_epochs=10,
                 finetune_lr=1e-4, finetune_batch_size=None, n_jobs=None,
                 random_state=None):
        self.experts = experts
        self.final_estimator = final_estimator
        self.cv = cv
        self.refit = refit
        self.passthrough = passthrough
        self.final_weighting = final_weighting
        self.joint_finetune = joint_finetune
        self.finetune_epochs = finetune_epochs
        self.finetune_lr = finetune_lr
        self.finetune_batch_size = finetune_batch_size
        self.n_jobs = n_jobs
        self.random_state = random_state

    # ------------------------------------------------------------------ params
    def _expert_items(self):
        """``[(name, estimator, weighting)]``; raises on a malformed ``experts``."""
        experts = self.experts
        if not isinstance(experts, list | tuple) or len(experts) == 0:
            raise ValueError(
                "experts must be a non-empty list of (name, estimator, weighting) tuples, "
                f"got {experts!r}."
            )
        items = []
        for item in experts:
            if not (isinstance(item, tuple | list) and len(item) in (2, 3)
                    and isinstance(item[0], str)):
                raise ValueError(
                    "experts must be a list of (name, estimator, weighting) tuples (weighting "
                    f"may be None); got the entry {item!r}."
                )
            name, est = item[0], item[1]
            weighting = item[2] if len(item) == 3 else None
            items.append((name, est, weighting))
        return items

    @staticmethod
    def _has_own_weighting(estimator):
        return hasattr(estimator, "get_params") and "weighting" in estimator.get_params(
            deep=False
        )

    def _weighting_slot(self, estimator, weighting):
        """Where ``experts__<name>__weighting`` points: ``"tuple"`` or ``"estimator"``.

        The key means the tuple's weighting, except when that is None and the
        expert itself has a ``weighting`` parameter (a ``FairNet*`` network, a
        ``WeightedEstimator``): then it reaches the expert's own. Setting both
        is refused at ``fit``.
        """
        if weighting is None and estimator != "drop" and self._has_own_weighting(estimator):
            return "estimator"
        return "tuple"

    def get_params(self, deep=True):
        """Parameters of the ensemble and, when ``deep``, of every expert.

        An expert ``name`` exposes ``experts__<name>`` (its estimator),
        ``experts__<name>__<param>`` (the estimator's parameters),
        ``experts__<name>__weighting`` and ``experts__<name>__weighting__<param>``
        (its weighting), so that a grid search reaches all of them.

        Parameters
        ----------
        deep : bool, default=True
            Whether to include the experts' and the final estimator's parameters.

        Returns
        -------
        params : dict
        """
        out = super().get_params(deep=deep)
        if not deep:
            return out
        try:
            items = self._expert_items()
        except (TypeError, ValueError):
            return out
        for name, est, weighting in items:
            prefix = f"{_EXPERTS_PREFIX}{name}"
            out[prefix] = est
            if hasattr(est, "get_params"):
                for key, value in est.get_params(deep=True).items():
                    out[f"{prefix}__{key}"] = value
            if self._weighting_slot(est, weighting) == "tuple":
                for key in [k for k in out if k.startswith(f"{prefix}__weighting__")]:
                    del out[key]  # the tuple's weighting shadows the estimator's own
                out[f"{prefix}__weighting"] = weighting
                if hasattr(weighting, "get_params"):
                    for key, value in weighting.get_params(deep=True).items():
                        out[f"{prefix}__weighting__{key}"] = value
        return out

    def set_params(self, **params):
        """Set parameters of the ensemble, of an expert or of an expert's weighting.

        Parameters
        ----------
        **params : dict
            ``experts=``, ``final_estimator__alpha=``, ``experts__<name>=<estimator>``
            (replace an expert, ``"drop"`` removes it), ``experts__<name>__<param>=``,
            ``experts__<name>__weighting=<weighting or None>``,
            ``experts__<name>__weighting__<param>=``.

        Returns
        -------
        self : object
        """
        if "experts" in params:
            self.experts = params.pop("experts")
        expert_params = {k: params.pop(k) for k in list(params) if k.startswith(_EXPERTS_PREFIX)}
        if expert_params:
            items = self._expert_items()
            names = [n for n, _, _ in items]
            new = {n: [e, w] for n, e, w in items}
            nested = {}
            for key, value in expert_params.items():
                name, _, rest = key[len(_EXPERTS_PREFIX):].partition("__")
                if name not in new:
                    raise ValueError(
                        f"Invalid parameter {key!r} for {type(self).__name__}: there is no "
                        f"expert named {name!r}; the experts are {names}."
                    )
                if not rest:  # replace the estimator
                    new[name][0] = value
                elif rest == "weighting" and self._weighting_slot(*new[name]) == "tuple":
                    new[name][1] = value
                else:
                    nested.setdefault(name, {})[rest] = value
            for name, sub in nested.items():
                est, weighting = new[name]
                est_sub = {}
                for rest, value in sub.items():
                    head, _, tail = rest.partition("__")
                    if head == "weighting" and self._weighting_slot(est, weighting) == "tuple":
                        if weighting is None or not hasattr(weighting, "set_params"):
                            raise ValueError(
                                f"Invalid parameter {_EXPERTS_PREFIX}{name}__{rest!r}: expert "
                                f"{name!r} has no weighting to set {tail!r} on."
                            )
                        weighting.set_params(**{tail: value})
                    else:
                        est_sub[rest] = value
                if est_sub:
                    if not hasattr(est, "set_params"):
                        raise ValueError(
                            f"expert {name!r} is {est!r}; it has no parameter to set "
                            f"({sorted(est_sub)})."
                        )
                    est.set_params(**est_sub)
            self.experts = [(n, new[n][0], new[n][1]) for n in names]
        if params:
            super().set_params(**params)
        return self

    # -------------------------------------------------------------- validation
    def _validate_experts(self):
        items = self._expert_items()
        names = [n for n, _, _ in items]
        if len(set(names)) != len(names):
            raise ValueError(f"expert names must be unique, got {names}.")
        own = set(self.get_params(deep=False))
        bad = [n for n in names if "__" in n or n in own or n == ""]
        if bad:
            raise ValueError(
                f"expert names {bad} are invalid: a name must be non-empty, contain no '__' "
                f"and not be a parameter of the ensemble ({sorted(own)})."
            )
        kept = [(n, e, w) for n, e, w in items if not (isinstance(e, str) and e == "drop")]
        if not kept:
            raise ValueError("every expert is 'drop'; at least one expert is required.")
        for name, est, weighting in kept:
            if not hasattr(est, "fit"):
                raise TypeError(
                    f"expert {name!r} must be an estimator with fit (or 'drop'), got {est!r}."
                )
            if not self._check_expert_type(est):
                raise ValueError(
                    f"expert {name!r} ({type(est).__name__}) should be a "
                    f"{self._estimator_kind}."
                )
            if weighting is not None and not hasattr(weighting, "get_weights"):
                raise TypeError(
                    f"the weighting of expert {name!r} must have get_weights(sensitive_features,"
                    f" y) (e.g. skfair.weighting.SupportWeighting) or be None; got "
                    f"{weighting!r}."
                )
            if weighting is not None and self._has_own_weighting(est) and (
                est.get_params(deep=False)["weighting"] is not None
            ):
                raise ValueError(
                    f"expert {name!r} has a weighting twice: in its tuple and as its own "
                    "`weighting` parameter; keep one (set the other to None)."
                )
        return kept

    @abstractmethod
    def _check_expert_type(self, estimator):
        """Whether ``estimator`` is a regressor / classifier as the ensemble needs."""

    @property
    def named_experts(self):
        """The experts' (unfitted) estimators by name (a :class:`~sklearn.utils.Bunch`)."""
        return Bunch(**{n: e for n, e, _ in self._expert_items()})

    # ------------------------------------------------------------------ routing
    def get_metadata_routing(self):
        """Metadata routing of the ensemble.

        The ensemble itself requests ``sensitive_features`` for ``fit`` (its
        experts' weightings need them), and hands them on to the experts and
        the final estimator that request them. ``sample_weight`` is the
        ensemble's own: it reaches every expert and the final estimator.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        router = MetadataRouter(owner=self).add_self_request(self)
        try:
            items = self._expert_items()
        except (TypeError, ValueError):
            items = []
        for name, est, _ in items:
            if isinstance(est, str) and est == "drop":
                continue
            router.add(**{name: est},
                       method_mapping=MethodMapping().add(caller="fit", callee="fit"))
        final = getattr(self, "final_estimator_", None)
        if final is None:
            final = self.final_estimator if self.final_estimator is not None else (
                self._default_final_estimator()
            )
        router.add(
            final_estimator=final,
            method_mapping=MethodMapping()
            .add(caller="fit", callee="fit")
            .add(caller="predict", callee="predict"),
        )
        return router

    def _route_fit_params(self, experts, final, sensitive_features, sample_weight):
        """Fit parameters of every expert (by name) and of the combiner, before the
        weightings multiply in."""
        # sensitive_features: with routing, to those that request them; without, to
        # those whose fit takes them. sample_weight (the ensemble's own) reaches every
        # expert and the combiner either way, as in scikit-learn's stacking without
        # routing and its bagging with or without.
        if _routing_enabled():
            given = {} if sensitive_features is None else {
                "sensitive_features": sensitive_features}
            routed = process_routing(self, "fit", **given)
            per_expert = {name: dict(routed[name]["fit"]) for name in experts}
            final_params = dict(routed["final_estimator"]["fit"])
        else:
            def params_for(est):
                takes = takes_keyword(_last_step(est)[0].fit, "sensitive_features")
                return ({"sensitive_features": sensitive_features}
                        if sensitive_features is not None and takes else {})

            per_expert = {name: params_for(est) for name, est in experts.items()}
            final_params = params_for(final)
        if sample_weight is not None:
            for params in (*per_expert.values(), final_params):
                params["sample_weight"] = sample_weight
        return per_expert, final_params

    # --------------------------------------------------------------------- fit
    @abstractmethod
    def _default_final_estimator(self):
        """The combiner used when ``final_estimator=None``."""

    def _compute_weights(self, weighting, X, y, sensitive_features, where, baseline=None):
        """``(weighting_, weights)``; a weighting that must be fitted first (affirmative
        action picking its subgroups) is cloned and fitted on the training rows, with
        ``baseline`` (the expert) as its default baseline, as ``WeightedEstimator`` does."""
        if weighting is None:
            return None, None
        try:
            w = prepare_weighting(weighting, X, y, sensitive_features=sensitive_features,
                                  baseline=baseline)
            weights = np.asarray(
                w.get_weights(sensitive_features=sensitive_features, y=y), dtype=np.float64
            )
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{where}: {exc}") from exc
        n = _num_samples(X)
        if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError(
                f"{where}: {type(w).__name__}.get_weights returned weights of shape "
                f"{weights.shape} (finite and >= 0 expected, one per row of X: {n})."
            )
        return w, weights

    @staticmethod
    def _combine(params, weights):
        if weights is None:
            return params
        params = dict(params)
        base = params.get("sample_weight")
        params["sample_weight"] = weights if base is None else (
            np.asarray(base, dtype=np.float64) * weights
        )
        return params

    def _check_sensitive(self, sensitive_features, X):
        if sensitive_features is None:
            return None
        # validated (NaN, length) once here; handed on as a tidy DataFrame that every
        # skfair component reads and that slices per fold.
        return check_sensitive_features(sensitive_features, n_samples=_num_samples(X), X=X)

    def _fit_ensemble(self, X, y, y_weighting, sensitive_features, sample_weight):
        self.__dict__.pop("feature_names_in_", None)  # set again below from this X only
        X = _indexable(X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
        kept = self._validate_experts()
        names = [n for n, _, _ in kept]
        finetune = self.joint_finetune is not None and self.joint_finetune is not False
        if finetune and not self.refit:
            raise ValueError(
                "joint_finetune tunes each expert's one network: it needs refit=True (with "
                "refit=False every expert is the mean of its cv fold models)."
            )
        S = self._check_sensitive(sensitive_features, X)
        if self.passthrough and (not hasattr(X, "shape") or len(X.shape) != 2):
            raise ValueError(
                "passthrough=True stacks X beside the experts' predictions, so X must be a "
                f"2-D array or DataFrame; got {type(X).__name__} of shape "
                f"{getattr(X, 'shape', None)}."
            )
        self.final_estimator_ = clone(
            self.final_estimator if self.final_estimator is not None
            else self._default_final_estimator()
        )
        per_expert, final_params = self._route_fit_params(
            {n: e for n, e, _ in kept}, self.final_estimator_, S, sample_weight
        )

        # stage 2: every expert on all the rows, with its own weights
        self.weightings_ = Bunch()
        expert_params = {}
        for name, est, weighting in kept:
            w_fitted, weights = self._compute_weights(
                weighting, X, y_weighting, S, where=f"weighting of expert {name!r}",
                baseline=est,
            )
            self.weightings_[name] = w_fitted
            expert_params[name] = self._combine(per_expert[name], weights)

        if self.refit:
            experts = Parallel(n_jobs=self.n_jobs)(
                delayed(_fit_one)(clone(est), X, y, expert_params[name], name=name)
                for name, est, _ in kept
            )
            self.stack_method_ = [self._stack_method(n, e) for n, e in zip(
                names, experts, strict=True)]
        else:
            self.stack_method_ = [self._stack_method(n, e) for n, e, _ in kept]

        # stage 3: the combiner on out-of-fold predictions; each fold's expert is
        # trained on that fold's slice of the very same weights and metadata.
        splits = list(self._splitter(y).split(X, y))  # drawn once: the same for every expert
        self._check_splits(splits, _num_samples(X))
        jobs = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_predict_fold)(est, X, y, train, test, expert_params[name], meth, name,
                                       S)
            for (name, est, _), meth in zip(kept, self.stack_method_, strict=True)
            for train, test in splits
        )
        predictions, fold_models = [], []
        for i, _ in enumerate(kept):
            fold_jobs = jobs[i * len(splits):(i + 1) * len(splits)]
            predictions.append(self._gather_oof(splits, fold_jobs, _num_samples(X)))
            fold_models.append([est for est, _ in fold_jobs])
        X_meta = self._concatenate_predictions(X, predictions)
        if not self.refit:  # each expert is the mean of the fold models the combiner saw
            n_classes = len(self.classes_) if is_classifier(self) else None
            experts = [_FoldAverage(models, n_classes=n_classes) for models in fold_models]
        self.experts_ = experts
        self.named_experts_ = Bunch(**dict(zip(names, self.experts_, strict=True)))
        for est in self.experts_:
            if hasattr(est, "feature_names_in_"):
                self.feature_names_in_ = est.feature_names_in_

        self.final_weighting_, final_w = self._compute_weights(
            self.final_weighting, X, y_weighting, S, where="final_weighting"
        )
        _fit_one(self.final_estimator_, X_meta, y, self._combine(final_params, final_w),
                 name="final_estimator")

        self.finetune_history_ = None
        if finetune:
            from ._joint import joint_finetune

            if self.joint_finetune is True:
                ft_w = None
            else:
                _, ft_w = self._compute_weights(
                    self.joint_finetune, X, y_weighting, S, where="joint_finetune"
                )
            if sample_weight is not None:
                sw = np.asarray(sample_weight, dtype=np.float64)
                ft_w = sw if ft_w is None else sw * ft_w
            self.finetune_history_ = joint_finetune(self, X, y, ft_w, S)
        return self

    def _splitter(self, y):
        """Stage 3's splitter: an int ``cv`` (or None, 5) is a shuffled K-fold
        (stratified for a classifier with class labels) seeded by ``random_state``.

        scikit-learn's stacking estimators take an int ``cv`` as unshuffled
        folds; on rows stored in target order (UTKFace's files, named
        ``<age>_...``) every fold then holds its own target range, each fold's
        expert predicts ages it never saw, and the combiner learns from those
        extrapolations (``benchmarks/exp_ensemble_faces.py`` prints the
        out-of-fold error of either folds).
        """
        cv = 5 if self.cv is None else self.cv
        if not isinstance(cv, Integral):
            return check_cv(cv, y=y, classifier=is_classifier(self))
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if is_classifier(self) and type_of_target(y) in ("binary", "multiclass"):
            return StratifiedKFold(cv, shuffle=True, random_state=seed)
        return KFold(cv, shuffle=True, random_state=seed)

    @staticmethod
    def _check_splits(splits, n):
        seen = np.zeros(n, dtype=np.int64)
        for _, test in splits:
            seen[test] += 1
        if not (seen == 1).all():
            raise ValueError(
                "cv must be a partition: every row in exactly one test fold, so that each "
                "row gets one out-of-fold prediction; got a splitter leaving "
                f"{int((seen == 0).sum())} rows out and repeating {int((seen > 1).sum())}."
            )

    def _gather_oof(self, splits, fold_jobs, n):
        first = self._align_fold(fold_jobs[0][0], np.asarray(fold_jobs[0][1]))
        out = np.empty((n, *first.shape[1:]), dtype=np.float64)
        for (_, test), (est, pred) in zip(splits, fold_jobs, strict=True):
            out[test] = self._align_fold(est, np.asarray(pred))
        return out

    def _align_fold(self, estimator, pred):
        return pred

    def _stack_method(self, name, estimator):
        return "predict"

    def _concatenate_predictions(self, X, predictions):
        X_meta = []
        for pred in predictions:
            pred = np.asarray(pred, dtype=np.float64)
            X_meta.append(pred.reshape(len(pred), -1))
        X_meta = self._drop_redundant(X_meta)
        self._n_feature_outs = [p.shape[1] for p in X_meta]
        if self.passthrough:
            if sparse.issparse(X):
                return sparse.hstack([*X_meta, X], format="csr")
            X_meta.append(np.asarray(X, dtype=np.float64))
        return np.hstack(X_meta)

    def _drop_redundant(self, X_meta):
        return X_meta

    # ---------------------------------------------------------------- predict
    def _expert_predictions(self, X, sensitive_features=None):
        check_is_fitted(self)
        S = self._check_sensitive(sensitive_features, X)
        out = []
        for est, meth in zip(self.experts_, self.stack_method_, strict=True):
            fn = getattr(est, meth)
            out.append(np.asarray(fn(X, **_predict_params(fn, S))))
        return out

    def transform(self, X, sensitive_features=None):
        """The experts' predictions side by side (and ``X`` when ``passthrough``).

        Parameters
        ----------
        X : array-like
            Input of the experts.
        sensitive_features : array-like, DataFrame, dict or list of arrays, optional
            Handed to the experts whose prediction method takes them
            (attribute-aware networks); the others ignore them.

        Returns
        -------
        X_meta : ndarray of shape (n_samples, n_meta_features)
            What the final estimator sees.
        """
        return self._concatenate_predictions(
            X, self._expert_predictions(X, sensitive_features))

    def _final_call(self, method, X, sensitive_features=None):
        """``final_estimator_.<method>`` on :meth:`transform`, the sensitive features
        handed on when that method takes them."""
        fn = getattr(self.final_estimator_, method)
        S = self._check_sensitive(sensitive_features, X)
        return fn(self.transform(X, S), **_predict_params(fn, S))

    @property
    def n_features_in_(self):
        """Number of features seen during fit (as the experts saw them)."""
        try:
            check_is_fitted(self)
        except NotFittedError as exc:
            raise AttributeError(
                f"{type(self).__name__} object has no attribute 'n_features_in_'"
            ) from exc
        return self.experts_[0].n_features_in_

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of :meth:`transform`.

        Parameters
        ----------
        input_features : array-like of str, optional
            Only used with ``passthrough=True``.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self, "experts_")
        input_features = _check_feature_names_in(
            self, input_features, generate_names=self.passthrough
        )
        prefix = type(self).__name__.lower()
        names = []
        for name, width in zip(self.named_experts_, self._n_feature_outs, strict=True):
            if width == 1:
                names.append(f"{prefix}_{name}")
            else:
                names.extend(f"{prefix}_{name}{i}" for i in range(width))
        if self.passthrough:
            return np.concatenate([np.asarray(names, dtype=object), input_features])
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            ests = [e for _, e, _ in self._expert_items() if not (
                isinstance(e, str) and e == "drop")]
            tags.input_tags.allow_nan = all(get_tags(e).input_tags.allow_nan for e in ests)
            tags.input_tags.sparse = all(get_tags(e).input_tags.sparse for e in ests)
        except Exception:  # noqa: BLE001 - malformed experts fail at fit, not here
            pass
        return tags

