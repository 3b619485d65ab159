"""An imbalanced-learn Pipeline whose routed metadata follow the resampled rows."""

from __future__ import annotations

import numpy as np
from imblearn import pipeline as _imb
from sklearn.base import clone
from sklearn.pipeline import _name_estimators
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.validation import _num_samples, check_memory

from ..utils._rows import row_layout, take_rows

__all__ = ["Pipeline", "align_metadata", "make_pipeline"]


def _is_per_row(value, n_rows):
    return row_layout(value, n_rows) is not None


def align_metadata(metadata, sample_indices, n_samples):
    """Re-index the per-row entries of ``metadata`` with a sampler's ``sample_indices_``.

    Parameters
    ----------
    metadata : dict
        ``{name: value}``; a value is per-row when it is array-like with
        ``n_samples`` rows (scikit-learn's rule for splitting metadata in
        cross-validation), or a dict / list / tuple of such arrays (several
        sensitive attributes), re-indexed column by column. Other values
        (scalars, column names) pass unchanged.
    sample_indices : array-like of int
        Rows drawn by the sampler, in output order.
    n_samples : int
        Number of rows before resampling.

    Returns
    -------
    aligned : dict

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.pipeline import align_metadata
    >>> align_metadata({"sensitive_features": np.array(["a", "b", "c"]), "k": 5},
    ...                np.array([2, 2, 0]), 3)
    {'sensitive_features': array(['c', 'c', 'a'], dtype='<U1'), 'k': 5}
    """
    indices = np.asarray(sample_indices)
    return {k: take_rows(v, indices, n_samples) for k, v in metadata.items()}


class Pipeline(_imb.Pipeline):
    """imbalanced-learn's ``Pipeline``, with routed metadata kept aligned with the rows.

    imbalanced-learn hands the steps after a sampler the metadata of the
    *original* rows (its issue #457), so a ``sample_weight`` or
    ``sensitive_features`` routed to the final estimator no longer matches the
    resampled ``X``. This Pipeline re-indexes, after every sampler, each per-row
    metadata (array-like with one entry per row, the rule scikit-learn uses to
    split metadata in cross-validation) routed to a *later* step with the
    sampler's ``sample_indices_``. It does so for metadata routing and for the
    legacy ``step__param`` keywords alike, inside ``GridSearchCV`` too.

    A sampler without ``sample_indices_`` that changes the number of rows (e.g.
    SMOTE, which invents rows) raises a ``ValueError`` when per-row metadata is
    routed to a later step, since no value exists for synthetic rows. At
    ``predict``/``score`` time samplers are skipped, as in imbalanced-learn.

    Parameters
    ----------
    steps : list of (str, estimator)
        As in :class:`imblearn.pipeline.Pipeline`.
    transform_input : list of str, optional
        As in scikit-learn; not supported together with a sampler that
        changes the rows.
    memory : str or joblib.Memory, optional
    verbose : bool, default=False

    See Also
    --------
    make_pipeline, align_metadata, skfair.samplers.GroupResampler

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfair.pipeline import Pipeline
    >>> from skfair.samplers import GroupResampler
    >>> from skfair.weighting import SupportWeighting, WeightedEstimator
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 2)); y = (X[:, 0] > 0).astype(int)
    >>> S = np.repeat(["a", "b"], [45, 15])
    >>> pipe = Pipeline([("resample", GroupResampler("max", random_state=0)),
    ...                  ("clf", WeightedEstimator(LogisticRegression(), SupportWeighting()))])
    >>> _ = pipe.fit(X, y, resample__sensitive_features=S, clf__sensitive_features=S)
    >>> pipe[-1].sample_weight_.shape      # aligned with the 2 x 45 resampled rows
    (90,)
    """

    # A copy of imbalanced-learn 0.14's ``Pipeline._fit`` loop with one addition:
    # after each sampler, ``_align_later_steps`` re-indexes the metadata of the
    # steps after it. Every ``fit*`` method of the parent goes through ``_fit``
    # and then reads ``routed_params[final step]``, so this one hook is enough.
    def _fit(self, X, y=None, routed_params=None, raw_params=None):
        self.steps = list(self.steps)
        self._validate_steps()
        memory = check_memory(self.memory)

        fit_transform_one_cached = memory.cache(_imb._fit_transform_one)
        fit_resample_one_cached = memory.cache(_imb._fit_resample_one)

        for step_idx, name, transformer in self._iter(
            with_final=False, filter_passthrough=False, filter_resample=False
        ):
            if transformer is None or transformer == "passthrough":
                with _imb._print_elapsed_time("Pipeline", self._log_message(step_idx)):
                    continue

            if hasattr(memory, "location") and memory.location is None:
                cloned_transformer = transformer
            else:
                cloned_transformer = clone(transformer)

            step_params = self._get_metadata_for_step(
                step_idx=step_idx, step_params=routed_params[name], all_params=raw_params,
            )
            if hasattr(cloned_transformer, "transform") or hasattr(
                cloned_transformer, "fit_transform"
            ):
                X, fitted_transformer = fit_transform_one_cached(
                    cloned_transformer, X, y, weight=None, message_clsname="Pipeline",
                    message=self._log_message(step_idx), params=step_params,
                )
            elif hasattr(cloned_transformer, "fit_resample"):
                n_before = _num_samples(X)
                X, y, fitted_transformer = fit_resample_one_cached(
                    cloned_transformer, X, y, message_clsname="Pipeline",
                    message=self._log_message(step_idx), params=routed_params[name],
                )
                self._align_later_steps(
                    routed_params, step_idx, name, fitted_transformer, n_before,
                    _num_samples(X),
                )
            self.steps[step_idx] = (name, fitted_transformer)
        return X, y

    def _check_method_params(self, method, props, **kwargs):
        routed = super()._check_method_params(method, props, **kwargs)
        if not _routing_enabled():
            # legacy ``step__param`` keywords: imbalanced-learn only fills the "fit"
            # entry, so a sampler never receives them; hand them to fit_resample too.
            for name, step in self.steps:
                if hasattr(step, "fit_resample") and name in routed:
                    routed[name]["fit_resample"] = dict(routed[name]["fit"])
        return routed

    def _align_later_steps(self, routed_params, step_idx, name, sampler, n_before, n_after):
        """Re-index, in place, the per-row metadata routed to the steps after ``name``."""
        if not isinstance(routed_params, dict):
            return  # scikit-learn's empty routing (no metadata passed): nothing to align
        indices = getattr(sampler, "sample_indices_", None)
        for later, _ in self.steps[step_idx + 1:]:
            if later not in routed_params:
                continue
            step_params = routed_params[later]
            for method, params in step_params.items():
                per_row = [k for k, v in params.items() if _is_per_row(v, n_before)]
                if not per_row:
                    continue
                if indices is None:
                    if n_after == n_before:
                        continue
                    raise ValueError(
                        f"Step {name!r} ({type(sampler).__name__}) changed the number of rows "
                        f"from {n_before} to {n_after} but has no sample_indices_, so the "
                        f"per-row metadata {per_row} routed to step {later!r}.{method} cannot "
                        "be re-aligned with the resampled rows. Use a sampler that exposes "
                        "sample_indices_ (e.g. skfair.samplers.GroupResampler, "
                        "RandomUnderSampler, RandomOverSampler) or stop routing that metadata "
                        "to the steps after it."
                    )
                if self.transform_input is not None:
                    raise ValueError(
                        "transform_input is not supported together with a sampler that "
                        f"changes the rows (step {name!r})."
                    )
                if not isinstance(params, dict):
                    continue
                params.update(align_metadata(
                    {k: params[k] for k in per_row}, indices, n_before
                ))


def make_pipeline(*steps, memory=None, transform_input=None, verbose=False):
    """Build a :class:`Pipeline` naming steps after their classes.

    Parameters
    ----------
    *steps : estimators, samplers or transformers
    memory : str or joblib.Memory, optional
    transform_input : list of str, optional
    verbose : bool, default=False

    Returns
    -------
    pipeline : Pipeline

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfair.pipeline import make_pipeline
    >>> from skfair.samplers import GroupResampler
    >>> make_pipeline(GroupResampler(), LogisticRegression()).steps[0][0]
    'groupresampler'
    """
    return Pipeline(
        _name_estimators(steps), memory=memory, transform_input=transform_input,
        verbose=verbose,
    )
