"""GroupBalancedBatchSampler: every group in every batch, proportions, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skfair.estimators import GroupBalancedBatchSampler


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6),
    extra=st.integers(0, 20),
    balance=st.sampled_from(["proportional", "equal"]),
    seed=st.integers(0, 1000),
)
def test_every_batch_holds_every_group(sizes, extra, balance, seed):
    groups = np.repeat(np.arange(len(sizes)), sizes)
    batch_size = len(sizes) + extra
    sampler = GroupBalancedBatchSampler(groups, batch_size, balance=balance, random_state=seed)
    batches = list(sampler)
    assert len(batches) == len(sampler) == -(-len(groups) // batch_size)
    for batch in batches:
        assert len(batch) == batch_size
        assert set(groups[batch]) == set(range(len(sizes)))
        assert min(batch) >= 0 and max(batch) < len(groups)


def test_proportional_keeps_the_distribution_and_covers_the_epoch():
    groups = np.array([0] * 900 + [1] * 90 + [2] * 10)
    sampler = GroupBalancedBatchSampler(groups, 50, random_state=0)
    idx = np.concatenate(list(sampler))
    shares = np.bincount(groups[idx], minlength=3) / len(idx)
    # the minority of 1% gets its guaranteed row per batch (2%), the rest is close to the data
    assert shares[2] == pytest.approx(0.02, abs=0.005)
    assert shares[0] == pytest.approx(0.89, abs=0.02)
    # each group's stream is a permutation: no more draws than rows never repeat a row
    drawn = idx[groups[idx] == 0]
    assert len(drawn) <= 900 and len(np.unique(drawn)) == len(drawn)


def test_equal_balance_gives_equal_counts():
    groups = np.array([0] * 90 + [1] * 10)
    batches = list(GroupBalancedBatchSampler(groups, 10, balance="equal", random_state=1))
    counts = np.array([np.bincount(groups[b], minlength=2) for b in batches])
    assert (counts == 5).all()


def test_deterministic_with_random_state_and_epochs_differ():
    groups = np.arange(30) % 3
    a = GroupBalancedBatchSampler(groups, 6, random_state=3)
    b = GroupBalancedBatchSampler(groups, 6, random_state=3)
    first_a, first_b = list(a), list(b)
    assert first_a == first_b
    assert list(a) != first_a  # a new epoch draws new batches


def test_errors():
    with pytest.raises(ValueError, match="batch_size=2 is smaller than the number of groups"):
        GroupBalancedBatchSampler(np.arange(3), 2)
    with pytest.raises(ValueError, match="balance"):
        GroupBalancedBatchSampler(np.zeros(4), 2, balance="bad")
    with pytest.raises(ValueError, match="non-empty 1-D"):
        GroupBalancedBatchSampler(np.zeros((2, 2)), 2)
