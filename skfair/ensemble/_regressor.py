"""The ensemble of experts for regression (age from face embeddings, as in Dieguez &
Valverde's ChaLearn fair age estimation entry)."""

from __future__ import annotations

from sklearn.base import RegressorMixin, _fit_context, is_regressor
from sklearn.linear_model import RidgeCV
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._base import _BaseExpertEnsemble

__all__ = ["ExpertEnsembleRegressor"]


class ExpertEnsembleRegressor(RegressorMixin, _BaseExpertEnsemble):
    """Stack regression experts, each trained with its own fairness weighting.

    The ensemble of experts of Dieguez & Valverde's entry to the ChaLearn fair
    age estimation challenge: every expert sees the same features
    (e.g. face embeddings), is trained with the sample weighting aimed at one
    sensitive attribute (marginal weights on gender plus age weights, ...), and
    a dense layer combines their predictions into one. Training runs in the
    entry's stages: (1) features come from a transformer in front of the ensemble
    in a ``Pipeline`` (or are precomputed); (2) each expert is fitted on all
    rows with its weights; (3) ``final_estimator`` is fitted on the experts'
    out-of-fold predictions (each fold's expert trained on that fold's slice of
    the same weights), and optionally experts and combiner are fine-tuned
    jointly (``joint_finetune``, skorch experts only).

    Parameters
    ----------
    experts : list of (str, estimator, weighting or None)
        The named experts. ``weighting`` is an object with
        ``get_weights(sensitive_features=None, y=None)`` (see
        :mod:`skfair.weighting`) whose weights become the expert's
        ``sample_weight`` (multiplied by a routed ``sample_weight`` if any);
        None trains the expert unweighted. An estimator may be ``"drop"``.
        Parameters grid-search as ``experts__<name>__<param>`` and
        ``experts__<name>__weighting__<param>``.
    final_estimator : regressor, default=None
        The combiner. None means ``RidgeCV()``: a dense layer ``w . z + b`` over
        the experts' outputs ``z`` fitted by least squares in closed form (what
        training the entry's dense layer with a squared loss converges to), with
        a little weight decay chosen by leave-one-out because the experts'
        predictions are strongly collinear.
    cv : int, cross-validation generator or iterable, default=5
        Splitter of stage 3; it must partition the rows (every row in exactly
        one test fold). An int is a shuffled ``KFold`` seeded by
        ``random_state`` (unshuffled folds of rows stored in target order
        would each hold their own target range).
    refit : bool, default=True
        Refit every expert on all the rows for ``predict`` (scikit-learn's
        stacking). False predicts with the mean of each expert's ``cv`` fold
        models, the very models whose out-of-fold predictions the combiner was
        fitted on (k-fold bagging, as in AutoGluon's stack ensembles, Erickson
        et al. 2020): one fit fewer per expert, and the mean of several
        networks varies less than one. ``joint_finetune`` needs ``refit=True``.
    passthrough : bool, default=False
        Also give the combiner the input features (2-D ``X`` only).
    final_weighting : weighting, default=None
        Weighting of the combiner's fit (Dieguez & Valverde train their last
        stage with custom loss 1b: ``SupportWeighting(target="binned")``).
    joint_finetune : None, bool or weighting, default=None
        Stage 3 of the ensemble: after the combiner is fitted, fine-tune experts and
        combiner together (a torch module stacking the experts' networks and a
        linear combiner initialised from ``final_estimator_``) on the weighted
        task loss. Needs every expert to be a fitted-skorch network (e.g.
        :class:`skfair.estimators.FairNetRegressor`) and a linear
        ``final_estimator`` (``coef_``/``intercept_``). ``True`` fine-tunes
        unweighted, a weighting object with its weights (Dieguez & Valverde: loss 1b).
    finetune_epochs : int, default=10
        Epochs of the joint fine-tuning (Dieguez & Valverde's Experiment 4 used 10).
    finetune_lr : float, default=1e-4
        Learning rate (Adam) of the joint fine-tuning.
    finetune_batch_size : int, default=None
        Mini-batch size of the joint fine-tuning (None: the experts' own
        ``batch_size``).
    n_jobs : int, default=None
        Experts and folds fitted in parallel with joblib.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffled folds of an int ``cv`` and the joint fine-tuning
        (mini-batch order); each expert keeps its own ``random_state``.

    Attributes
    ----------
    experts_ : list of estimators
        The experts fitted on all the training rows (dropped ones excluded);
        with ``refit=False``, each the mean of its fold models.
    named_experts_ : Bunch
        The same by name.
    weightings_ : Bunch
        The fitted weighting of every expert (None when unweighted).
    final_estimator_ : estimator
        The fitted combiner.
    final_weighting_ : weighting or None
    stack_method_ : list of str
        Method of each expert feeding the combiner (``"predict"``).
    finetune_history_ : list of dict or None
        Per-epoch mean training loss of the joint fine-tuning.
    n_features_in_ : int
        Number of features the experts saw.
    feature_names_in_ : ndarray of str
        Only when the experts record them.

    Notes
    -----
    On real faces (UTKFace age from dlib face descriptors, three seeds,
    ``benchmarks/exp_ensemble_faces.py``), what beats the plain network on
    error and on bias is: a plain expert, one expert per attribute weighted
    on it and on the age group (``SupportWeighting(attributes=[a],
    target="binned")``), an age expert weighted per year
    (``SupportWeighting(attributes=[], target="year")``), each with a seed of
    its own; the default combiner weighted on the age groups
    (``final_weighting=SupportWeighting(attributes=[], target="binned")``);
    ``cv=5`` and ``refit=False``. An unweighted combiner gives back half of
    the bias cut; the joint fine-tune, trained on the rows the experts
    already fit, leaves the error within the seeds' spread and gives back
    part of the bias cut there.

    See Also
    --------
    ExpertEnsembleClassifier : the same for classification.
    sklearn.ensemble.StackingRegressor : stacking without per-expert weights.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skfair.ensemble import ExpertEnsembleRegressor
    >>> from skfair.weighting import SupportWeighting
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 4))
    >>> sex = rng.choice(["F", "M"], size=120, p=[0.2, 0.8])
    >>> y = 30 + 5 * X[:, 0] + 3 * (sex == "F")
    >>> ens = ExpertEnsembleRegressor([
    ...     ("plain", Ridge(), None),
    ...     ("sex", Ridge(), SupportWeighting()),
    ...     ("age", Ridge(), SupportWeighting(target="binned")),
    ... ], cv=3)
    >>> ens.fit(X, y, sensitive_features=sex).predict(X[:2]).shape
    (2,)
    >>> ens.set_params(experts__sex__weighting__smoothing=0).experts[1][2].smoothing
    0
    """

    _estimator_kind = "regressor"

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
        return is_regressor(estimator)

    def _default_final_estimator(self):
        return RidgeCV()

    @_fit_context(prefer_skip_nested_validation=False)  # experts are validated by their fit
    def fit(self, X, y, *, sensitive_features=None, sample_weight=None):
        """Fit the experts (stage 2) and the combiner on out-of-fold predictions (stage 3).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Whatever the experts take (features, embeddings, images).
        y : array-like of shape (n_samples,)
            Target (e.g. age).
        sensitive_features : array-like, DataFrame, dict or list of arrays, optional
            One value per row (several attributes allowed); given to every
            expert's weighting, and to the experts that take (or, with metadata
            routing, request) them.
        sample_weight : array-like of shape (n_samples,), optional
            Multiplies the weights of every expert (its weighting's) and of the
            combiner, with or without metadata routing.

        Returns
        -------
        self : object
        """
        y = column_or_1d(y, warn=True)
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        return self._fit_ensemble(X, y, y, sensitive_features, sample_weight)

    def predict(self, X, sensitive_features=None):
        """Combined prediction of the experts.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        sensitive_features : array-like, DataFrame, dict or list of arrays, optional
            Only for experts (and a combiner) that read the attributes at
            predict time (:class:`skfair.estimators.AttributeAwareRegressor`).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self._final_call("predict", X, sensitive_features)
