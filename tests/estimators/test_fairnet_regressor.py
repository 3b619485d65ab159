"""FairNetRegressor: target scaling, task losses, regression fairness terms."""

import numpy as np
import pytest
import torch

from skfair.estimators import FairNetRegressor


@pytest.fixture
def ages():
    rng = np.random.RandomState(0)
    n = 300
    s = rng.randint(0, 2, size=n)
    X = np.column_stack([rng.normal(size=n), s]).astype(np.float32)
    age = 40 + 12 * X[:, 0] + 8 * s + rng.normal(size=n)
    return X, age, s


def test_predictions_are_on_the_target_scale(ages, fast):
    X, age, _ = ages
    reg = FairNetRegressor(**{**fast, "max_epochs": 30}).fit(X, age)
    assert reg.score(X, age) > 0.9
    assert reg.predict(X).shape == age.shape
    np.testing.assert_allclose(reg.y_mean_, [age.mean()])
    np.testing.assert_allclose(reg.y_scale_, [age.std()])


@pytest.mark.parametrize("loss", ["mse", "l1", "mae", "huber"])
def test_task_loss_per_row(loss, fast):
    reg = FairNetRegressor(loss=loss, **fast)
    out = torch.tensor([[0.0], [2.0], [-0.5]])
    y = torch.tensor([[1.0], [0.0], [-0.5]])
    diff = torch.tensor([1.0, 2.0, 0.0])
    expected = {"mse": diff**2, "l1": diff, "mae": diff,
                "huber": torch.tensor([0.5, 1.5, 0.0])}[loss]
    torch.testing.assert_close(reg.get_task_loss(out, y), expected)


def test_mean_parity_closes_the_gap_between_group_means(ages, fast):
    X, age, s = ages
    kw = {**fast, "max_epochs": 30}
    base = FairNetRegressor(**kw).fit(X, age, sensitive_features=s).predict(X)
    fair = FairNetRegressor(fairness="mean_parity", lam=10.0, **kw).fit(
        X, age, sensitive_features=s).predict(X)

    def gap(pred):
        return abs(pred[s == 1].mean() - pred[s == 0].mean())

    assert gap(base) > 6
    assert gap(fair) < gap(base) / 4


@pytest.mark.parametrize("name", ["group_balanced", "adversarial", "mae_parity"])
def test_other_regression_terms_train(name, ages, fast):
    X, age, s = ages
    reg = FairNetRegressor(fairness=name, lam=1.0, loss="l1", **{**fast, "max_epochs": 3})
    reg.fit(X, age, sensitive_features=s)
    assert np.all(np.isfinite(reg.net_.history[:, "train_loss"]))


def test_classification_only_losses_are_rejected(ages, fast):
    X, age, s = ages
    with pytest.raises(ValueError, match="is a loss for classification"):
        FairNetRegressor(fairness="eo_l2", **fast).fit(X, age, sensitive_features=s)
    with pytest.raises(ValueError, match="group_class_balanced' needs class labels"):
        FairNetRegressor(batch_sampling="group_class_balanced", **fast).fit(X, age)


def test_multi_output(ages, fast):
    X, age, _ = ages
    Y = np.column_stack([age, -2 * age])
    reg = FairNetRegressor(**{**fast, "max_epochs": 30}).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == (len(age), 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.9


@pytest.mark.parametrize("fairness", ["mean_parity", "mae_parity"])
def test_one_prediction_penalties_reject_several_outputs(ages, fast, fairness):
    X, age, groups = ages
    Y = np.column_stack([age, -2 * age])
    with pytest.raises(ValueError, match=f"fairness='{fairness}' .* y has 2 outputs"):
        FairNetRegressor(fairness=fairness, **fast).fit(X, Y, sensitive_features=groups)
    # the terms that take several outputs train
    FairNetRegressor(fairness="group_balanced", **{**fast, "max_epochs": 1}).fit(
        X, Y, sensitive_features=groups)


@pytest.mark.parametrize("scale", [1e200, -1e300])
def test_targets_too_large_to_standardise_are_refused(scale):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 2)).astype(np.float32)
    y = scale * (1 + rng.uniform(size=40))
    with pytest.raises(ValueError, match="y is too large to standardise"):
        FairNetRegressor(hidden_sizes=(4,), max_epochs=1, device="cpu").fit(X, y)
    # large but standardisable targets train and predict finite values
    reg = FairNetRegressor(hidden_sizes=(4,), max_epochs=1, device="cpu").fit(X, y / scale * 1e30)
    assert np.isfinite(reg.predict(X)).all()
