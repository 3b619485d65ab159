"""A synthetic multi-label dataset whose labels co-occur with gender (Choi et al.).

Choi, Zhang & Liu ("Gender Fairness in Multi-label Classification using
Auxiliary Tasks") train a multi-label classifier on MS-COCO image embeddings; about
half of its eleven object labels are strongly male-skewed and the others
balanced (Table 1), and an unconstrained classifier *amplifies* that skew.
:func:`make_biased_multilabel` reproduces the situation with no download.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["COCO_GENDER_BIAS", "make_biased_multilabel"]

#: Choi et al., Table 1: share of each label's training occurrences that are
#: ``man`` (``bias(o, man)``), in the table's order. Overall 68.70 % man.
COCO_GENDER_BIAS = {
    "truck": 0.8000,
    "motorcycle": 0.8588,
    "tie": 0.8874,
    "backpack": 0.7630,
    "sports ball": 0.7282,
    "handbag": 0.4864,
    "fork": 0.4908,
    "knife": 0.5312,
    "spoon": 0.5277,
    "cell phone": 0.5859,
    "teddy bear": 0.4243,
}

#: Share of ``man`` rows in Choi et al.'s training set (Table 1, "Overall").
COCO_OVERALL_MAN = 0.687

DESCR_TEMPLATE = """\
.. _biased_multilabel_dataset:

Biased multi-label data (synthetic, after Choi et al.)
-----------------------------------------------------

{n_samples} rows, {n_labels} binary labels, {n_features} continuous features and
one sensitive attribute ``gender`` (``man`` / ``woman``).

Generative process (all draws from ``random_state``):

1. ``gender``: exactly ``round(man_fraction * n)`` = {n_man} rows are ``man``
   (``man_fraction = {man_fraction}``), the rest ``woman``, in random order.
2. Labels: label ``k`` occurs in a fraction ``label_frequency[k]`` of the rows,
   and a share ``skew[k]`` of its occurrences are ``man`` (``bias(k, man)`` of
   Zhao et al. 2017). So ``P(y_k = 1 | man) = f_k s_k / m`` and
   ``P(y_k = 1 | woman) = f_k (1 - s_k) / (1 - m)`` (``m = man_fraction``);
   labels are independent given gender. Per-label counts are exact in
   expectation, not forced.
3. Features: a latent vector ``z`` with one coordinate per label,
   ``s_g * (2 y_k - 1)``, and one for gender, ``group_signal * (2 [man] - 1)``,
   is embedded by a random orthonormal map into ``n_features`` dimensions,
   plus isotropic Gaussian noise of standard deviation ``noise``. ``s_g`` is
   the label evidence of the row's gender, ``label_signal = (s_man, s_woman)
   = {label_signal}``.

Why a classifier amplifies the skew: gender is easy to read
(``group_signal = {group_signal}``, noise {noise}) and the evidence for each
label is weak, so a classifier uses gender as a prior; thresholding the
posterior at 0.5 then predicts each label even more often for the gender in
which it is more frequent *per person*. With ``s_man > s_woman`` the labels are
also harder to see in rows of women, so their recall is lower for women and
predicted occurrences shift towards men for every label (Choi et al. saw such a
shift even on their balanced labels). Note that with the prior effect alone
(``s_man = s_woman``) a label whose skew lies between 0.5 and ``man_fraction``
is *per person* more frequent among women; its predictions move towards women
and Zhao et al.'s measure, which looks at the gender holding the majority of
the label's occurrences (men), reports a negative amplification for it.

Label skews (share of ``man`` among each label's occurrences):
{skews}

The defaults mirror Choi et al.'s Table 1 (eleven MS-COCO objects, 68.7 % man):
five labels strongly male-skewed (0.73-0.89), six close to balanced.

Layout: ``data`` float64 ``(n, n_features)``, ``target`` int64 indicator
matrix ``(n, n_labels)``, ``sensitive`` a DataFrame with the categorical column
``gender``, ``frame`` all of them as one DataFrame.
"""


def _default_skew(n_labels):
    """Table 1's biases for 11 labels; otherwise half at 0.8 and half at 0.5."""
    if n_labels == len(COCO_GENDER_BIAS):
        return np.array(list(COCO_GENDER_BIAS.values())), list(COCO_GENDER_BIAS)
    n_skewed = n_labels // 2 if n_labels > 1 else 1
    skew = np.r_[np.full(n_skewed, 0.8), np.full(n_labels - n_skewed, 0.5)]
    return skew, [f"label_{k}" for k in range(n_labels)]


def _per_label(value, n_labels, name):
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n_labels, float(arr))
    if arr.shape != (n_labels,):
        raise ValueError(
            f"{name} must be a float or an array of length n_labels={n_labels}, "
            f"got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"{name} values must lie in [0, 1], got {arr.tolist()}.")
    return arr


@validate_params(
    {
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "n_labels": [Interval(Integral, 1, None, closed="left")],
        "skew": ["array-like", Interval(Real, 0, 1, closed="both"), None],
        "man_fraction": [Interval(Real, 0, 1, closed="neither")],
        "label_frequency": ["array-like", Interval(Real, 0, 1, closed="both")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "label_signal": ["array-like", Interval(Real, 0, None, closed="left")],
        "group_signal": [Interval(Real, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_biased_multilabel(
    n_samples=2000,
    n_labels=11,
    *,
    skew=None,
    man_fraction=COCO_OVERALL_MAN,
    label_frequency=0.3,
    n_features=32,
    label_signal=(1.2, 0.3),
    group_signal=2.0,
    noise=1.0,
    random_state=None,
):
    """Multi-label data with a per-label gender skew that classifiers amplify.

    A synthetic stand-in for Choi et al.'s MS-COCO embeddings: each label ``k``
    co-occurs with ``man`` in a share ``skew[k]`` of its occurrences, gender is
    easy to read from the features and the evidence for each label is weak,
    so an unconstrained classifier uses gender as a prior and its predictions
    are more skewed than the training labels (bias amplification, Zhao et al.
    2017). The generative process is in the returned ``DESCR``.

    Parameters
    ----------
    n_samples : int >= 2, default=2000
        Number of rows.
    n_labels : int >= 1, default=11
        Number of binary labels.
    skew : float, array-like of shape (n_labels,) or None, default=None
        Share of ``man`` among the occurrences of each label (``bias(k,
        man)``). ``None``: Choi et al.'s Table 1 values when ``n_labels=11``
        (:data:`COCO_GENDER_BIAS`, five labels strongly male-skewed, six about
        balanced), otherwise the first ``n_labels // 2`` labels at 0.8 and
        the rest at 0.5.
    man_fraction : float in (0, 1), default=0.687
        Share of ``man`` rows (Choi et al.: 68.7 %).
    label_frequency : float or array-like of shape (n_labels,), default=0.3
        Share of rows carrying each label.
    n_features : int >= 1, default=32
        Number of features. When smaller than ``n_labels + 1`` the latent
        signals are projected (not orthogonally) and overlap.
    label_signal : float >= 0 or pair (man, woman), default=(1.2, 0.3)
        Half the distance between a label's positive and negative rows along
        its direction; small means weak evidence. A pair gives the evidence
        in rows of men and of women (labels harder to see for women).
    group_signal : float >= 0, default=2.0
        Half the distance between ``man`` and ``woman`` rows along the
        gender direction.
    noise : float > 0, default=1.0
        Standard deviation of the isotropic Gaussian feature noise.
    random_state : int, RandomState instance or None, default=None
        Seed of every draw; the same seed gives the same data.

    Returns
    -------
    dataset : Bunch
        data : ndarray of shape (n_samples, n_features), float64
            The features.
        target : ndarray of shape (n_samples, n_labels), int64
            Label indicator matrix.
        sensitive : DataFrame
            One categorical column ``gender`` with values ``man``/``woman``.
        frame : DataFrame
            Features ``x0, x1, ...``, one column per label and ``gender``.
        feature_names, target_names : list of str
            Column names; label names are Table 1's objects by default.
        skew, label_frequency, man_fraction : ndarray or float
            The generating parameters.
        conditional_rates : DataFrame
            ``P(y_k = 1 | gender)`` used to draw the labels.
        DESCR : str
            Description of the generative process.

    Raises
    ------
    ValueError
        When a requested combination is impossible, e.g. a label so frequent
        and so skewed that ``P(y_k = 1 | man)`` would exceed 1.

    See Also
    --------
    skfair.metrics.bias_amplification : Zhao et al.'s mean bias amplification.

    Examples
    --------
    >>> from skfair.datasets import make_biased_multilabel
    >>> ds = make_biased_multilabel(n_samples=1000, random_state=0)
    >>> ds.data.shape, ds.target.shape
    ((1000, 32), (1000, 11))
    >>> ds.target_names[:3]
    ['truck', 'motorcycle', 'tie']
    >>> round(float((ds.sensitive["gender"] == "man").mean()), 3)
    0.687
    """
    rng = np.random.default_rng(check_random_state(random_state).randint(2**32 - 1))
    if skew is None:
        skew_arr, names = _default_skew(n_labels)
    else:
        skew_arr = _per_label(skew, n_labels, "skew")
        names = (
            list(COCO_GENDER_BIAS)
            if n_labels == len(COCO_GENDER_BIAS)
            and np.allclose(skew_arr, list(COCO_GENDER_BIAS.values()))
            else [f"label_{k}" for k in range(n_labels)]
        )
    freq = _per_label(label_frequency, n_labels, "label_frequency")
    signal = np.asarray(label_signal, dtype=float)
    if signal.ndim == 0:
        signal = np.repeat(signal, 2)
    if signal.shape != (2,) or not np.all(np.isfinite(signal)) or np.any(signal < 0):
        raise ValueError(
            "label_signal must be a float >= 0 or a pair (man, woman) of floats >= 0, "
            f"got {label_signal!r}."
        )
    m = float(man_fraction)
    p_man = freq * skew_arr / m
    p_woman = freq * (1.0 - skew_arr) / (1.0 - m)
    bad = np.flatnonzero((p_man > 1) | (p_woman > 1))
    if bad.size:
        raise ValueError(
            "label_frequency, skew and man_fraction are incompatible for label(s) "
            f"{[names[k] for k in bad]}: P(label | gender) would exceed 1 "
            f"(P(label|man)={p_man[bad].round(3).tolist()}, "
            f"P(label|woman)={p_woman[bad].round(3).tolist()}). Lower label_frequency."
        )

    n_man = int(round(m * n_samples))
    is_man = rng.permutation(n_samples) < n_man
    rates = np.where(is_man[:, None], p_man[None, :], p_woman[None, :])
    target = (rng.random((n_samples, n_labels)) < rates).astype(np.int64)

    row_signal = np.where(is_man, signal[0], signal[1])[:, None]
    latent = np.column_stack(
        [row_signal * (2.0 * target - 1.0), group_signal * (2.0 * is_man - 1.0)]
    )
    n_latent = latent.shape[1]
    gauss = rng.standard_normal((max(n_features, n_latent), max(n_features, n_latent)))
    q, _ = np.linalg.qr(gauss)
    mixing = q[:n_latent, :n_features]  # orthonormal rows when n_features >= n_latent
    data = latent @ mixing + noise * rng.standard_normal((n_samples, n_features))

    gender = pd.Categorical(np.where(is_man, "man", "woman"), categories=["man", "woman"])
    sensitive = pd.DataFrame({"gender": gender})
    feature_names = [f"x{j}" for j in range(n_features)]
    frame = pd.concat(
        [
            pd.DataFrame(data, columns=feature_names),
            pd.DataFrame(target, columns=names),
            sensitive,
        ],
        axis=1,
    )
    conditional = pd.DataFrame(
        {"man": p_man, "woman": p_woman}, index=pd.Index(names, name="label")
    )
    descr = DESCR_TEMPLATE.format(
        n_samples=n_samples, n_labels=n_labels, n_features=n_features, n_man=n_man,
        man_fraction=m, group_signal=group_signal, label_signal=tuple(signal.tolist()),
        noise=noise,
        skews="\n".join(f"  {n}: {s:.4f}" for n, s in zip(names, skew_arr, strict=True)),
    )
    return Bunch(
        data=data,
        target=target,
        sensitive=sensitive,
        frame=frame,
        feature_names=feature_names,
        target_names=names,
        skew=skew_arr,
        label_frequency=freq,
        man_fraction=m,
        conditional_rates=conditional,
        DESCR=descr,
    )
