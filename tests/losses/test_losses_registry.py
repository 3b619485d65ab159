"""The nn.Module wrappers and the registry contract used by the estimators."""

import pickle

import pytest
import torch
from sklearn.base import clone

from skfair.losses import (
    FAIRNESS_LOSSES,
    AdversarialHead,
    AdversarialLoss,
    BiasAmplificationLoss,
    DemographicParityLoss,
    EqualizedOddsLoss,
    bias_amplification_loss,
    demographic_parity_loss,
    equalized_odds_loss,
    get_fairness_loss,
    iou_fairness_loss,
)

EXPECTED = {
    "dp_l2": ("penalty", "classification", False),
    "dp_mi": ("penalty", "classification", False),
    "eo_l2": ("penalty", "classification", True),
    "eo_mi": ("penalty", "classification", True),
    "iou": ("penalty", "classification", True),
    "iou_pairwise": ("penalty", "classification", True),
    "group_balanced": ("reweight", "any", False),
    "adversarial": ("adversarial", "any", False),
    "adversarial_confusion": ("adversarial", "any", False),
    "bias_amplification": ("penalty", "multilabel", False),
    "mean_parity": ("penalty", "regression", False),
    "mae_parity": ("penalty", "regression", True),
}


def test_registry_names_and_attributes():
    assert set(FAIRNESS_LOSSES) == set(EXPECTED)
    for name, (role, task, requires_y) in EXPECTED.items():
        loss = get_fairness_loss(name, n_groups=3)
        assert (loss.role, loss.task, bool(loss.requires_y)) == (role, task, requires_y)
        assert loss.n_groups == 3
        assert loss.requires_embedding == name.startswith("adversarial")
        assert loss.requires_fit == (name == "bias_amplification")
    assert get_fairness_loss("EO_MI").kind == "mi"
    assert get_fairness_loss("adversarial").kind == "reversal"
    assert get_fairness_loss("adversarial_confusion").kind == "confusion"
    assert get_fairness_loss(None) is None


def test_registry_copies_objects_and_rejects_unknowns():
    obj = DemographicParityLoss(kind="mi")
    got = get_fairness_loss(obj, n_groups=2)
    assert got is not obj and got.kind == "mi" and got.n_groups == 2 and obj.n_groups is None
    with pytest.raises(ValueError, match="Unknown fairness loss"):
        get_fairness_loss("dp_l3")
    with pytest.raises(TypeError, match="role"):
        get_fairness_loss(lambda logits, y, groups: logits.sum())
    with pytest.raises(ValueError, match="Invalid parameter"):
        get_fairness_loss("dp_l2", pairwise=True)


def test_classification_wrappers_equal_functions_on_softmax():
    torch.manual_seed(0)
    logits = torch.randn(20, 3)
    y = torch.randint(0, 3, (20,))
    g = torch.randint(0, 2, (20,))
    p = torch.softmax(logits, 1)
    cases = {
        "dp_l2": demographic_parity_loss(p, g),
        "dp_mi": demographic_parity_loss(p, g, kind="mi"),
        "eo_l2": equalized_odds_loss(p, y, g),
        "eo_mi": equalized_odds_loss(p, y, g, kind="mi"),
        "iou": iou_fairness_loss(p, y, g),
        "iou_pairwise": iou_fairness_loss(p, y, g, pairwise=True),
    }
    for name, want in cases.items():
        loss = get_fairness_loss(name, n_groups=2)
        assert loss(logits, y, g).item() == pytest.approx(want.item(), rel=1e-5), name
        probs_in = get_fairness_loss(name, n_groups=2, from_logits=False)
        assert probs_in(p, y, g).item() == pytest.approx(want.item(), rel=1e-5), name


def test_binary_single_logit_and_half_precision():
    logit = torch.randn(10, 1)
    g = torch.tensor([0, 1] * 5)
    two = torch.cat([torch.zeros(10, 1), logit], 1)
    loss = DemographicParityLoss()
    assert loss(logit, None, g).item() == pytest.approx(loss(two, None, g).item(), rel=1e-5)
    assert loss(logit[:, 0], None, g).item() == pytest.approx(loss(two, None, g).item(), rel=1e-5)
    assert loss(two.half(), None, g).dtype == torch.float32


def test_modules_need_what_they_declare():
    logits = torch.randn(4, 2)
    g = torch.tensor([0, 1, 0, 1])
    with pytest.raises(ValueError, match="y is None"):
        EqualizedOddsLoss()(logits, None, g)
    with pytest.raises(ValueError, match="groups is None"):
        DemographicParityLoss()(logits, None, None)
    with pytest.raises(RuntimeError, match="fit"):
        BiasAmplificationLoss()(logits, None, g)


def test_bias_amplification_module_fit_and_device_buffer():
    Y = torch.tensor([[1, 0], [1, 1], [0, 1], [0, 1]])
    g = torch.tensor([0, 0, 1, 1])
    loss = BiasAmplificationLoss().fit(Y, g, n_groups=2)
    assert "b_train_" in dict(loss.named_buffers())
    logits = torch.full((4, 2), 20.0)  # sigmoid ~ 1: predicts every label everywhere
    # b_pred = (0.5, 0.5) for both labels vs (1, 0) and (1/3, 2/3)
    assert loss(logits, None, g).item() == pytest.approx(0.5 + 0.5 + 1 / 6 + 1 / 6, rel=1e-5)
    pre = BiasAmplificationLoss(b_train=loss.b_train_.numpy())
    assert pre.fit(None, None).b_train_.tolist() == loss.b_train_.tolist()


def test_adversarial_module_builds_head_and_uniform_call():
    loss = get_fairness_loss("adversarial", hidden=(8,), strength=0.5)
    head = loss.make_head(in_features=6, n_groups=3)
    assert isinstance(head, AdversarialHead) and head.strength == 0.5
    value = loss(head(torch.randn(5, 6)), None, torch.tensor([0, 1, 2, 0, 1]), n_groups=3)
    assert value.ndim == 0 and value.item() > 0
    with pytest.raises(ValueError, match="n_groups"):
        AdversarialLoss().make_head(6)


def test_group_balanced_module_takes_per_sample_losses_and_weights():
    loss = get_fairness_loss("group_balanced")
    per = torch.tensor([1.0, 1.0, 4.0])
    g = torch.tensor([0, 0, 1])
    assert loss(per, None, g).item() == pytest.approx(2.5)
    w = torch.tensor([1.0, 0.0, 1.0])
    assert loss(per, None, g, sample_weight=w).item() == pytest.approx(2.5)


def test_get_set_params_clone_and_pickle():
    loss = get_fairness_loss("eo_mi", n_groups=4)
    assert loss.get_params() == {"from_logits": True, "kind": "mi", "n_groups": 4}
    loss.set_params(kind="l2")
    cloned = clone(loss)
    assert cloned is not loss and cloned.get_params() == loss.get_params()
    restored = pickle.loads(pickle.dumps(get_fairness_loss("adversarial")))
    assert restored.role == "adversarial"


@pytest.mark.parametrize("name", ["dp_l2", "dp_mi", "eo_l2", "eo_mi", "iou", "iou_pairwise"])
def test_wrapper_gradient_through_softmax(name):
    """The wrappers apply the softmax: same value and gradient as softmax + function."""
    torch.manual_seed(1)
    logits = torch.randn(12, 3, dtype=torch.float64, requires_grad=True)
    y = torch.randint(0, 3, (12,))
    g = torch.tensor([0, 1, 3] * 4)  # group 2 absent
    loss = get_fairness_loss(name, n_groups=4)
    assert torch.autograd.gradcheck(lambda z: loss(z, y, g), (logits,))
    got = torch.autograd.grad(loss(logits, y, g), logits)[0]
    kind = {"l2": "l2", "mi": "mi"}.get(name[-2:])
    probs = torch.softmax(logits, 1)
    if name.startswith("dp"):
        want = demographic_parity_loss(probs, g, kind, n_groups=4)
    elif name.startswith("eo"):
        want = equalized_odds_loss(probs, y, g, kind, n_groups=4)
    else:
        want = iou_fairness_loss(probs, y, g, pairwise=name == "iou_pairwise", n_groups=4)
    torch.testing.assert_close(got, torch.autograd.grad(want, logits)[0])


@pytest.mark.parametrize("kind", ["ratio", "joint"])
def test_bias_amplification_wrapper_gradient_through_sigmoid(kind):
    torch.manual_seed(2)
    Y = (torch.rand(30, 3) < 0.5).long()
    Y[0] = 1
    g = torch.randint(0, 2, (30,))
    loss = BiasAmplificationLoss(kind=kind).fit(Y, g, n_groups=2).double()
    logits = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    gb = torch.tensor([0, 1] * 5)
    assert torch.autograd.gradcheck(lambda z: loss(z, None, gb), (logits,))
    want = torch.autograd.grad(bias_amplification_loss(torch.sigmoid(logits), gb,
                                                       loss.b_train_, kind=kind), logits)[0]
    got = torch.autograd.grad(loss(logits, None, gb), logits)[0]
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize("bad, name", [
    *[("groups", name) for name in ("dp_l2", "eo_mi", "iou", "group_balanced", "mean_parity",
                                    "mae_parity")],
    *[("y", name) for name in ("eo_l2", "iou")],
])
@pytest.mark.parametrize("too_high", [False, True])
def test_codes_out_of_range_name_their_argument(bad, name, too_high):
    gen = torch.Generator().manual_seed(6)
    loss = get_fairness_loss(name, n_groups=3)
    y, groups = torch.randint(0, 4, (12,), generator=gen), torch.randint(0, 3, (12,),
                                                                          generator=gen)
    codes, n = (groups, 3) if bad == "groups" else (y, 4)
    codes[7] = n if too_high else -1
    x = torch.randn(12, 4, generator=gen)
    if loss.role == "reweight" or loss.task == "regression":
        x, y = x[:, 0], y.float()
    with pytest.raises(ValueError, match=rf"{bad} must hold codes in \[0, {n}\)"):
        loss(x, y, groups)


def test_numpy_integer_n_groups_is_accepted():
    import numpy as np

    logits, y = torch.randn(8, 3), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    groups = torch.tensor([0, 1, 2, 0, 1, 2, 2, 2])
    for name in ("dp_l2", "eo_mi", "iou"):
        torch.testing.assert_close(get_fairness_loss(name, n_groups=np.int32(3))(logits, y, groups),
                                   get_fairness_loss(name, n_groups=3)(logits, y, groups))
