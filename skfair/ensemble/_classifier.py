"""The ensemble of experts for classification."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context, is_classifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import _align_columns, _BaseExpertEnsemble

__all__ = ["ExpertEnsembleClassifier"]


def _final_has(method):
    def check(self):
        final = getattr(self, "final_estimator_", None)
        if final is None:
            final = self.final_estimator if self.final_estimator is not None else (
                self._default_final_estimator()
            )
        return hasattr(final, method)

    return check


class ExpertEnsembleClassifier(ClassifierMixin, _BaseExpertEnsemble):
    """Stack classification experts, each trained with its own fairness weighting.

    The classification counterpart of :class:`ExpertEnsembleRegressor` (the
    ensemble of experts of Dieguez & Valverde applied to a categorical target,
    e.g. an age bin or an expression): each expert is trained with the weighting aimed at one
    sensitive attribute, and a dense softmax layer combines their class
    probabilities.

    Parameters
    ----------
    experts : list of (str, estimator, weighting or None)
        The named classifiers and their weightings (see
        :class:`ExpertEnsembleRegressor`). Each expert feeds the combiner with
        ``predict_proba`` when it has one (the first column dropped for a binary
        target), else ``decision_function``, else ``predict``.
    final_estimator : classifier, default=None
        The combiner. None means ``LogisticRegression()``: a dense layer with a
        softmax trained with cross-entropy, exactly Dieguez & Valverde's combining layer
        for a categorical target (L2-regularised, fitted to convergence).
    cv : int, cross-validation generator or iterable, default=5
        Splitter of stage 3 (a shuffled ``StratifiedKFold`` seeded by
        ``random_state`` for an int); it must partition the rows.
    refit : bool, default=True
        Refit every expert on all the rows; False: each expert is the mean of
        its ``cv`` fold models (their probabilities averaged; see
        :class:`ExpertEnsembleRegressor`).
    passthrough : bool, default=False
        Also give the combiner the input features (2-D ``X`` only).
    final_weighting : weighting, default=None
        Weighting of the combiner's fit.
    joint_finetune : None, bool or weighting, default=None
        Joint fine-tuning of skorch experts and a linear combiner on the weighted
        cross-entropy (see :class:`ExpertEnsembleRegressor`).
    finetune_epochs : int, default=10
    finetune_lr : float, default=1e-4
    finetune_batch_size : int, default=None
    n_jobs : int, default=None
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffled folds of an int ``cv`` and the joint fine-tuning.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    experts_ : list of estimators
    named_experts_ : Bunch
    weightings_ : Bunch
    final_estimator_ : estimator
    final_weighting_ : weighting or None
    stack_method_ : list of str
    finetune_history_ : list of dict or None
    n_features_in_ : int

    See Also
    --------
    ExpertEnsembleRegressor : the same for regression.
    sklearn.ensemble.StackingClassifier : stacking without per-expert weights.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfair.ensemble import ExpertEnsembleClassifier
    >>> from skfair.weighting import SupportWeighting
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(150, 3))
    >>> race = rng.choice(["a", "b"], size=150, p=[0.85, 0.15])
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = ExpertEnsembleClassifier([
    ...     ("plain", LogisticRegression(), None),
    ...     ("race", LogisticRegression(), SupportWeighting()),
    ... ], cv=3).fit(X, y, sensitive_features=race)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _estimator_kind = "classifier"

    def __init__(self, experts, final_estimator=None, *, cv=5, refit=True, passthrough=False,
                 final_weighting=None, joint_finetune=None, finetune_epochs=10,
                 finetune_lr=1e-4, finetune_batch_size=None, n_jobs=None,
                 random_state=None):
        super().__init__(
            experts, final_estimator, cv=cv, refit=refit, passthrough=passthrough,
            final_weighting=final_weighting, joint_finetune=joint_finetune,
            finetune_epochs=finetune_epochs, finetune_lr=finetune_lr,
            finetune_batch_size=finetune_batch_size, n_jobs=n_jobs,
            random_state=random_state,
        )

    def _check_expert_type(self, estimator):
        return is_classifier(estimator)

    def _default_final_estimator(self):
        return LogisticRegression()

    @_fit_context(prefer_skip_nested_validation=False)  # experts are validated by their fit
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the experts (stage 2) and the combiner on out-of-fold predictions (stage 3).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Whatever the experts take.
        y : array-like of shape (n_samples,)
            Class labels (binary or multiclass).
        sensitive_features : array-like, DataFrame, dict or list of arrays, optional
            Given to every expert's weighting, and to the experts that take
            (or, with routing, request) them.
        sample_weight : array-like of shape (n_samples,), optional
            Multiplies the weights of every expert (its weighting's) and of the
            combiner, with or without metadata routing.

        Returns
        -------
        self : object
        """
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets; got a "
                f"{kind!r} y."
            )
        y = column_or_1d(y, warn=True)
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        y_enc = self._label_encoder.transform(y)
        # experts learn the encoded labels; weightings see the labels as given
        return self._fit_ensemble(X, y_enc, y, sensitive_features, sample_weight)

    # the combiner's features -------------------------------------------------
    def _stack_method(self, name, estimator):
        for method in ("predict_proba", "decision_function", "predict"):
            if hasattr(estimator, method):
                return method
        raise ValueError(f"expert {name!r} has no predict_proba, decision_function or predict.")

    def _align_fold(self, estimator, pred):
        """Columns of a fold's probabilities in the order of all classes (a missing
        class gets probability 0, as ``cross_val_predict`` does)."""
        return _align_columns(estimator, pred, len(self.classes_))

    def _drop_redundant(self, X_meta):
        if len(self.classes_) != 2:
            return X_meta
        out = []
        for pred, method in zip(X_meta, self.stack_method_, strict=True):
            # p(class 0) = 1 - p(class 1): the two columns are collinear
            out.append(pred[:, 1:] if method == "predict_proba" and pred.shape[1] == 2 else pred)
        return out

    # outputs -----------------------------------------------------------------
    def predict(self, X, sensitive_features=None):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        sensitive_features : array-like, DataFrame, dict or list of arrays, optional
            Only for experts (and a combiner) that read the attributes at
            predict time (:class:`skfair.estimators.AttributeAwareClassifier`).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        pred = self._final_call("predict", X, sensitive_features)
        return self._label_encoder.inverse_transform(np.asarray(pred).astype(int))

    @available_if(_final_has("predict_proba"))
    def predict_proba(self, X, sensitive_features=None):
        """Class probabilities of the combiner.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        sensitive_features : array-like, DataFrame, dict or list of arrays, optional
            Only for experts (and a combiner) that read the attributes at
            predict time (:class:`skfair.estimators.AttributeAwareClassifier`).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._final_call("predict_proba", X, sensitive_features)

    @available_if(_final_has("decision_function"))
    def decision_function(self, X, sensitive_features=None):
        """Decision function of the combiner.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        sensitive_features : array-like, DataFrame, dict or list of arrays, optional
            Only for experts (and a combiner) that read the attributes at
            predict time (:class:`skfair.estimators.AttributeAwareClassifier`).

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._final_call("decision_function", X, sensitive_features)
