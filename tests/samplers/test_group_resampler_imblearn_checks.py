"""imbalanced-learn's sampler checks for GroupResampler.

The checks call ``fit_resample(X, y)`` without ``sensitive_features``, which
GroupResampler rejects on purpose (resampling by nothing would silently turn
into class balancing). They are run on a test-only subclass that uses the class
labels as the single sensitive attribute when none is given, so that every
check exercises GroupResampler's own code on classification data. Checks that
do not apply are expected failures, with the reason.
"""

import numpy as np
import pytest
from imblearn.utils.estimator_checks import estimator_checks_generator

from skfair.samplers import GroupResampler


class _LabelGroupResampler(GroupResampler):
    """Test double: ``sensitive_features`` default to the class labels."""

    def fit_resample(self, X, y=None, *, sensitive_features=None):
        if sensitive_features is None:
            labels = np.asarray(y)
            if labels.ndim == 2:  # column vector or one-vs-all (one-hot) rows
                labels = labels.ravel() if labels.shape[1] == 1 else labels.argmax(axis=1)
            sensitive_features = labels
        return super().fit_resample(X, y, sensitive_features=sensitive_features)


EXPECTED = {
    "check_target_type": (
        "continuous and multi-output targets are accepted on purpose: the ChaLearn entry resamples "
        "age regression data, Choi et al. multi-label data"
    ),
    "check_samplers_one_label": (
        "a single group is a valid input (nothing to balance, R rows are returned); "
        "the groups are sensitive attributes, not classes"
    ),
}


def _check_id(obj):
    if isinstance(obj, GroupResampler):
        return f"GroupResampler(stratify_target={obj.stratify_target})"
    func = getattr(obj, "func", obj)
    return getattr(func, "__name__", str(func))


# a list, not imbalanced-learn's parametrize_with_checks (which hands pytest a generator)
CHECKS = [
    check
    for stratify in (False, True)
    for check in estimator_checks_generator(
        _LabelGroupResampler(stratify_target=stratify, random_state=0),
        # stratifying needs class labels, so a continuous target raises, as the check wants
        expected_failed_checks={k: v for k, v in EXPECTED.items()
                                if not (stratify and k == "check_target_type")},
        mark="xfail",
    )
]


@pytest.mark.parametrize(("estimator", "check"), CHECKS, ids=_check_id)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)
