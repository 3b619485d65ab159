"""Attribute-aware networks (Xu et al. 2020): the sensitive attributes are
network inputs."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin

from skfair.utils import SensitiveColumns, encode_sensitive_features, split_sensitive_from_X

from ._base import FairNetBase
from ._classifier import _CLASSIFIER_CONSTRAINTS, _ClassifierMixin
from ._docs import fill_doc
from ._regressor import FairNetRegressor, _RegressorMixin

__all__ = ["AttributeAwareClassifier", "AttributeAwareRegressor"]

_SENSITIVE_DOC = """\
    sensitive_columns : str, SensitiveColumns or None, default=None
        Columns (or index levels) of a DataFrame ``X`` holding the sensitive
        attributes; they are removed from the features and fed to the
        network. This is how predictions work inside scikit-learn scoring,
        which cannot route metadata to ``predict``. When None, pass
        ``sensitive_features=`` to ``fit`` and to ``predict``."""


class _AttributeAwareMixin:
    """Read the attributes (from ``X`` or ``sensitive_features``) and one-hot
    encode them as the network's ``extra`` inputs."""

    # the attributes are network inputs: fit, predict and score take them, so all of
    # them request ``sensitive_features`` (``fit``'s request comes from FairNetBase)
    __metadata_request__predict = {"sensitive_features": True}
    __metadata_request__predict_proba = {"sensitive_features": True}
    __metadata_request__score = {"sensitive_features": True}

    def get_metadata_routing(self):
        """Metadata requests: ``sensitive_features`` for ``fit``, ``predict``,
        ``predict_proba`` and ``score``, except with ``sensitive_columns``.

        With ``sensitive_columns`` the attributes come from columns of ``X``,
        and a ``sensitive_features`` passed as well is refused; so a routed
        one (meant for a sampler or a scorer beside this estimator) is
        declined rather than requested.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRequest
        """
        routing = super().get_metadata_routing()  # a copy: safe to change
        if self.sensitive_columns is not None:
            for method in ("fit", "predict", "predict_proba", "score"):
                requests = getattr(routing, method)
                if "sensitive_features" in requests.requests:
                    requests.add_request(param="sensitive_features", alias=False)
        return routing

    _columns_hint = "To read them from X's columns, set sensitive_columns instead."

    def _split_sensitive(self, X, sensitive_features, *, reset):
        if self.sensitive_columns is None:
            self._refuse_column_names(sensitive_features)
            return X, sensitive_features
        if sensitive_features is not None:
            raise ValueError(
                f"sensitive_columns={self.sensitive_columns!r} already names the sensitive "
                "attributes inside X; do not also pass sensitive_features."
            )
        X_rest, S = split_sensitive_from_X(X, self.sensitive_columns, param="sensitive_columns")
        return X_rest, S

    def _weighting_input(self, X_given, X):
        # the default baseline of a weighting fitted here is this estimator: with
        # sensitive_columns it reads the attributes from X's columns, so it gets them;
        # without, affirmative action passes them as sensitive_features= (its predict
        # takes them, see skfair.weighting._attribute_input)
        return X if self.sensitive_columns is None else X_given

    def _extra_inputs(self, sensitive_features, n_samples, *, reset):
        if reset:
            if sensitive_features is None:
                self.attribute_categories_ = None
                self.attribute_names_ = None
                return None
            enc = encode_sensitive_features(sensitive_features, n_samples=n_samples)
            self.attribute_categories_ = list(enc.categories)
            self.attribute_names_ = list(enc.names)
        else:
            if self.attribute_categories_ is None:
                if sensitive_features is not None:
                    raise ValueError(
                        "this model was fitted without sensitive attributes, so its "
                        "network has no attribute inputs; do not pass sensitive_features."
                    )
                return None
            if sensitive_features is None:
                raise ValueError(
                    f"{type(self).__name__} was fitted with the sensitive attributes "
                    f"{self.attribute_names_} as network inputs; pass sensitive_features= "
                    "to predict (or set sensitive_columns to read them from X)."
                )
            enc = encode_sensitive_features(
                sensitive_features, n_samples=n_samples,
                categories=dict(zip(self.attribute_names_, self.attribute_categories_,
                                    strict=True)),
            )
            if list(enc.names) != self.attribute_names_:
                raise ValueError(
                    f"sensitive_features has the attributes {enc.names}, but the model was "
                    f"fitted with {self.attribute_names_}."
                )
        blocks = [
            np.eye(len(cats), dtype=np.float32)[enc.attribute_codes[:, j]]
            for j, cats in enumerate(self.attribute_categories_)
        ]
        return np.concatenate(blocks, axis=1)



@fill_doc
class AttributeAwareClassifier(_AttributeAwareMixin, _ClassifierMixin, ClassifierMixin,
                               FairNetBase):
    """Classifier whose network also receives the one-hot sensitive attributes.

    The attribute-aware model of Xu et al. (2020): every sensitive
    attribute is one-hot encoded (categories fixed at fit) and concatenated
    with the features (``"mlp"``) or with the image embedding before the head
    (``"cnn"``, torchvision backbones). Predicting needs the attributes too:
    from the ``sensitive_columns`` of ``X`` or from ``sensitive_features=``.
    The fairness terms, weighting and class weights of
    :class:`FairNetClassifier` are available as well.

    Parameters
    ----------
%(common_params)s
    class_weight : "balanced", dict or None, default=None
        Class weights of the cross-entropy.
%(sensitive_doc)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    attribute_names_ : list of str or None
        Sensitive attributes fed to the network (None: fitted without).
    attribute_categories_ : list of pandas.Index or None
        Their categories (one one-hot column each).
%(common_attributes)s

    See Also
    --------
    FairNetClassifier : the same without attribute inputs.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skfair.estimators import AttributeAwareClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame({"x0": rng.normal(size=200), "x1": rng.normal(size=200),
    ...                   "sex": rng.choice(["F", "M"], size=200)})
    >>> y = ((X["x0"] > 0) ^ (X["sex"] == "F")).astype(int)
    >>> clf = AttributeAwareClassifier(sensitive_columns="sex", hidden_sizes=(16,),
    ...                                max_epochs=40, lr=0.01, device="cpu",
    ...                                random_state=0).fit(X, y)
    >>> clf.attribute_names_, clf.score(X, y) > 0.9
    (['sex'], True)
    """

    _parameter_constraints = {
        **_CLASSIFIER_CONSTRAINTS,
        "sensitive_columns": [str, SensitiveColumns, None],
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
        class_weight=None,
        sensitive_columns=None,
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
        self.sensitive_columns = sensitive_columns

    def predict_proba(self, X, sensitive_features=None):
        """Class probabilities.

        Parameters
        ----------
        X : array-like or DataFrame
            Features (with the ``sensitive_columns`` when set).
        sensitive_features : array-like or DataFrame, optional
            The attributes, when not read from ``X``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._proba(X, sensitive_features)

    def predict(self, X, sensitive_features=None):
        """Most probable class (see :meth:`predict_proba` for the parameters).

        Parameters
        ----------
        X : array-like or DataFrame
            Features (with the ``sensitive_columns`` when set).
        sensitive_features : array-like or DataFrame, optional
            The attributes, when not read from ``X``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self._proba(X, sensitive_features)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None, sensitive_features=None):
        """Accuracy of the predictions.

        Parameters
        ----------
        X : array-like or DataFrame
            Features.
        y : array-like
            True labels.
        sample_weight : array-like, optional
            Row weights.
        sensitive_features : array-like or DataFrame, optional
            The attributes, when not read from ``X``.

        Returns
        -------
        score : float
        """
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X, sensitive_features), sample_weight=sample_weight)


@fill_doc
class AttributeAwareRegressor(_AttributeAwareMixin, _RegressorMixin, RegressorMixin,
                              FairNetBase):
    """Regressor whose network also receives the one-hot sensitive attributes.

    The regression counterpart of :class:`AttributeAwareClassifier` (see it
    for how the attributes are read and encoded), with the task losses of
    :class:`FairNetRegressor`.

    Parameters
    ----------
%(common_params)s
    loss : {"mse", "l1", "mae", "huber"}, default="mse"
        Task loss per row.
%(sensitive_doc)s

    Attributes
    ----------
    n_outputs_ : int
        Number of regression targets.
    attribute_names_ : list of str or None
        Sensitive attributes fed to the network.
    attribute_categories_ : list of pandas.Index or None
        Their categories.
%(common_attributes)s

    See Also
    --------
    FairNetRegressor : the same without attribute inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.estimators import AttributeAwareRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 2)).astype("float32")
    >>> s = rng.choice(["a", "b"], size=200)
    >>> y = X[:, 0] + 3 * (s == "a")
    >>> reg = AttributeAwareRegressor(hidden_sizes=(16,), max_epochs=40, lr=0.01,
    ...                               device="cpu", random_state=0)
    >>> reg.fit(X, y, sensitive_features=s).score(X, y, sensitive_features=s) > 0.9
    True
    """

    _parameter_constraints = {
        **FairNetRegressor._parameter_constraints,
        "sensitive_columns": [str, SensitiveColumns, None],
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
        sensitive_columns=None,
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
        self.sensitive_columns = sensitive_columns

    def predict(self, X, sensitive_features=None):
        """Predicted values.

        Parameters
        ----------
        X : array-like or DataFrame
            Features (with the ``sensitive_columns`` when set).
        sensitive_features : array-like or DataFrame, optional
            The attributes, when not read from ``X``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return self._predict_values(X, sensitive_features)

    def score(self, X, y, sample_weight=None, sensitive_features=None):
        """R^2 of the predictions (see ``RegressorMixin.score``).

        Parameters
        ----------
        X : array-like or DataFrame
            Features.
        y : array-like
            True values.
        sample_weight : array-like, optional
            Row weights.
        sensitive_features : array-like or DataFrame, optional
            The attributes, when not read from ``X``.

        Returns
        -------
        score : float
        """
        from sklearn.metrics import r2_score

        return r2_score(y, self.predict(X, sensitive_features), sample_weight=sample_weight)


for _cls in (AttributeAwareClassifier, AttributeAwareRegressor):
    _cls.__doc__ = _cls.__doc__.replace("%(sensitive_doc)s", _SENSITIVE_DOC)
