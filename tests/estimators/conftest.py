"""Small synthetic data shared by the estimator tests."""

import numpy as np
import pytest

#: tiny, fast, deterministic network settings for the tests
FAST = dict(hidden_sizes=(16,), max_epochs=15, lr=0.02, batch_size=64, device="cpu",
            random_state=0)


@pytest.fixture
def fast():
    return dict(FAST)


@pytest.fixture
def biased_data():
    """Binary task where group 1 has a clean signal and group 0 a noisy one.

    An unconstrained model has a higher true-positive rate in group 1 (an
    equalized-odds gap); ``x1`` lets it see the group.
    """
    rng = np.random.RandomState(0)
    n = 400
    s = rng.randint(0, 2, size=n)
    y = rng.randint(0, 2, size=n)
    noise = np.where(s == 1, 0.3, 1.5)
    x0 = (2 * y - 1) + noise * rng.normal(size=n)
    X = np.column_stack([x0, s + 0.1 * rng.normal(size=n), rng.normal(size=n)])
    return X.astype(np.float32), y, s
