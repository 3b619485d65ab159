import numpy as np
import pytest
import torch

from skfair.metrics import activation_ratio


def test_seed_003_insidebias_ratios():
    # five samples per group with mean activations 2.82, 2.65, 2.53 (Serna et al.)
    rng = np.random.default_rng(0)
    acts, groups = [], []
    for name, level in (("A", 2.82), ("B", 2.65), ("C", 2.53)):
        noise = rng.normal(size=(5, 8))
        noise -= noise.mean()
        acts.append(level + 0.1 * noise)
        groups += [name] * 5
    table = activation_ratio(np.vstack(acts), sensitive_features=groups)
    assert table["activation"].tolist() == pytest.approx([2.82, 2.65, 2.53])
    assert table["ratio"].round(2).tolist() == [1.0, 0.94, 0.90]
    assert table["n"].tolist() == [5, 5, 5]


def test_channel_max_and_torch_input():
    x = torch.zeros(4, 2, 3, 3)
    x[0, 0, 1, 1] = 4.0  # group a, sample 0: channel maxima (4, 0) -> 2
    x[1, 1, 0, 0] = 2.0  # group a, sample 1: (0, 2) -> 1
    x[2, :, 2, 2] = 1.0  # group b: (1, 1) -> 1 and (0, 0) -> 0
    table = activation_ratio(x, sensitive_features=["a", "a", "b", "b"], reduce="channel_max")
    assert table["activation"].tolist() == pytest.approx([1.5, 0.5])
    assert table["ratio"].tolist() == pytest.approx([1.0, 1 / 3])
    mean_table = activation_ratio(x, sensitive_features=["a", "a", "b", "b"])
    assert mean_table["activation"].tolist() == pytest.approx([6 / 18 / 2, 2 / 18 / 2])


def test_activation_errors():
    with pytest.raises(ValueError, match="negative"):
        activation_ratio(np.array([[-1.0], [-2.0], [1.0]]), sensitive_features=list("aab"))
    with pytest.raises(ValueError, match="NaN"):
        activation_ratio(np.array([[np.nan], [1.0]]), sensitive_features=list("ab"))
    with pytest.raises(ValueError, match="single group"):
        activation_ratio(np.ones((3, 2)), sensitive_features=list("aaa"))
    with pytest.raises(ValueError, match="reduce"):
        activation_ratio(np.ones((2, 2)), sensitive_features=list("ab"), reduce="max")
    with pytest.raises(ValueError, match="rows"):
        activation_ratio(np.ones((3, 2)), sensitive_features=list("ab"))
