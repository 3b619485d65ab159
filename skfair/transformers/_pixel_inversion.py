"""Pixel inversion (Venkatesh et al., "Frowning upon Bias"): ``1 - x`` or ``255 - x``."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["PixelInverter"]


class PixelInverter(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Invert images, each with probability ``p``.

    uint8 images become ``255 - x`` and float images (values in ``[0, 1]``)
    become ``1 - x``; the dtype is kept. Any array whose first axis indexes the
    images works: ``(n, H, W, C)``, ``(n, C, H, W)``, or flattened ``(n, d)``.

    Parameters
    ----------
    p : float in [0, 1], default=1.0
        Probability that an image is inverted (drawn independently per image).
    apply_on : {"always", "fit"}, default="always"
        ``"always"``: ``transform`` and ``fit_transform`` both invert, so in a
        ``Pipeline`` training and test images are inverted alike.
        ``"fit"``: only ``fit_transform`` inverts; ``transform`` returns the
        images unchanged. In a ``Pipeline`` (which calls ``fit_transform``
        while fitting and ``transform`` while predicting or scoring) this is
        train-time augmentation. As for scikit-learn's ``TargetEncoder``,
        ``fit_transform(X)`` then differs from ``fit(X).transform(X)`` on purpose.
    random_state : int, RandomState instance or None, default=None
        Seeds the per-image draws. With an int, every call draws the same
        images for the same number of rows.

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` at fit (scikit-learn's definition for n-d arrays: the
        height of ``(n, H, W, C)`` images); ``transform`` requires the same.

    See Also
    --------
    Augmentation : per-batch augmentation (including random inversion) for
        networks trained end to end.
    read_images : decode image files into an array first.

    Notes
    -----
    The two setups of Venkatesh et al.'s "Frowning upon Bias", in a ``Pipeline``:

    * inversion at both train and test time (``p=1``, the default)::

          make_pipeline(PixelInverter(), EmbeddingExtractor(...), LogisticRegression())

    * random inversion with ``p=0.5`` at training time only::

          make_pipeline(PixelInverter(p=0.5, apply_on="fit", random_state=0),
                        EmbeddingExtractor(...), LogisticRegression())

      Each ``fit`` draws once which training images are inverted. For a network
      trained end to end, ``Augmentation(invert=0.5)`` instead redraws for every
      batch of every epoch (torchvision's ``RandomInvert`` in a training
      transform, which is what Venkatesh et al. did).

    Image paths must be decoded first (e.g. ``FunctionTransformer(read_images,
    kw_args={"size": 224})`` before this step).

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.transformers import PixelInverter
    >>> X = np.array([[[0, 10], [200, 255]]], dtype=np.uint8)
    >>> PixelInverter().fit_transform(X)
    array([[[255, 245],
            [ 55,   0]]], dtype=uint8)
    >>> train_only = PixelInverter(apply_on="fit").fit(X)
    >>> int(train_only.transform(X)[0, 0, 0])
    0
    """

    _parameter_constraints: dict = {
        "p": [Interval(Real, 0, 1, closed="both")],
        "apply_on": [StrOptions({"always", "fit"})],
        "random_state": ["random_state"],
    }

    def __init__(self, p=1.0, *, apply_on="always", random_state=None):
        self.p = p
        self.apply_on = apply_on
        self.random_state = random_state

    def _check_images(self, X, *, reset):
        if isinstance(X, (list, tuple)) and X and isinstance(X[0], str):
            raise TypeError(
                "PixelInverter needs image arrays, got file paths; decode them first, e.g. "
                "with skfair.transformers.read_images."
            )
        X = validate_data(self, X, reset=reset, allow_nd=True, dtype=None)
        if X.dtype.kind in "OUS":
            raise TypeError(
                "PixelInverter needs image arrays (uint8 or float), got an array of "
                f"{X.dtype}; decode file paths first with skfair.transformers.read_images."
            )
        if X.dtype != np.uint8 and X.dtype.kind != "f":
            raise TypeError(
                f"PixelInverter inverts uint8 (0-255) or float (0-1) images; got dtype {X.dtype}."
            )
        if X.dtype.kind == "f" and X.size:
            lo, hi = float(X.min()), float(X.max())
            if lo < -1e-6 or hi > 1 + 1e-6:
                negative = "Negative values in data: " if lo < 0 else ""
                raise ValueError(
                    f"{negative}PixelInverter: float images must hold values in [0, 1]; got "
                    f"min={lo}, max={hi}. Scale them (X / 255) or pass uint8 images."
                )
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate ``X`` (nothing is learned).

        Parameters
        ----------
        X : ndarray of uint8 or float, shape (n_samples, ...)
            Images.
        y : ignored

        Returns
        -------
        self : PixelInverter
        """
        self._flat_input = self._check_images(X, reset=True).ndim == 2
        return self

    def get_feature_names_out(self, input_features=None):
        """The input's feature names (one output column per input column).

        Defined for 2-D input (flattened images, ``n_samples x n_pixels``); image
        arrays have no columns to name.

        Parameters
        ----------
        input_features : array-like of str, optional

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        if not self._flat_input:
            raise ValueError(
                "PixelInverter was fitted on image arrays (more than 2 dimensions), which "
                "have no feature names; fit it on 2-D (n_samples, n_pixels) input to name "
                "its output columns."
            )
        return super().get_feature_names_out(input_features)

    def transform(self, X):
        """Invert each image with probability ``p`` (unless ``apply_on="fit"``).

        Parameters
        ----------
        X : ndarray of uint8 or float, shape (n_samples, ...)
            Images.

        Returns
        -------
        X_new : ndarray, same shape and dtype as ``X``
        """
        check_is_fitted(self)
        X = self._check_images(X, reset=False)
        if self.apply_on == "fit":
            return X
        return self._invert(X)

    def fit_transform(self, X, y=None):
        """Fit, then invert each image with probability ``p`` (for either ``apply_on``).

        Parameters
        ----------
        X : ndarray of uint8 or float, shape (n_samples, ...)
            Images.
        y : ignored

        Returns
        -------
        X_new : ndarray, same shape and dtype as ``X``
        """
        self.fit(X)
        return self._invert(self._check_images(X, reset=False))

    def _invert(self, X):
        n = X.shape[0]
        if self.p >= 1:
            mask = np.ones(n, dtype=bool)
        elif self.p <= 0:
            mask = np.zeros(n, dtype=bool)
        else:
            mask = check_random_state(self.random_state).random_sample(n) < self.p
        out = np.array(X, copy=True)
        top = 255 if X.dtype == np.uint8 else 1
        out[mask] = top - out[mask]
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = True
        tags.non_deterministic = self.random_state is None and 0 < self.p < 1
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
