"""Gradient reversal and the adversarial sensitive regularizer (seed 003)."""

import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skfair.losses import AdversarialHead, GradientReversal, adversarial_loss, grad_reverse


@pytest.mark.parametrize("strength", [0.0, 0.3, 1.0, 5.0])
def test_gradient_reversal_is_identity_forward_and_scales_gradient(strength):
    x = torch.randn(5, 3, requires_grad=True)
    upstream = torch.randn(5, 3)
    out = GradientReversal(strength)(x)
    torch.testing.assert_close(out, x)
    out.backward(upstream)
    torch.testing.assert_close(x.grad, -strength * upstream)


def test_grad_reverse_rejects_negative_strength():
    with pytest.raises(ValueError, match="strength"):
        grad_reverse(torch.ones(2), strength=-1)
    with pytest.raises(ValueError, match="strength"):
        GradientReversal(strength="big")


def test_single_backward_gives_both_players_their_gradients():
    """task + CE(head(GRL_lam(emb))) == the min-max game's gradients."""
    torch.manual_seed(0)
    lam = 0.7
    encoder = nn.Linear(6, 4)
    head = AdversarialHead(4, n_groups=3, hidden=5, strength=lam)
    x = torch.randn(16, 6)
    groups = torch.randint(0, 3, (16,))
    target = torch.randn(16, 4)

    emb = encoder(x)
    task = F.mse_loss(emb, target)
    total = task + adversarial_loss(head(emb), groups)
    total.backward()
    got_encoder = encoder.weight.grad.clone()
    got_adversary = [p.grad.clone() for p in head.parameters()]

    # the same gradients computed separately, without a reversal layer
    encoder.zero_grad()
    head.zero_grad()
    emb = encoder(x)
    ce = F.cross_entropy(head.net(emb), groups)
    g_task = torch.autograd.grad(F.mse_loss(emb, target), encoder.weight, retain_graph=True)[0]
    g_ce_enc = torch.autograd.grad(ce, encoder.weight, retain_graph=True)[0]
    g_ce_adv = torch.autograd.grad(ce, list(head.parameters()))
    torch.testing.assert_close(got_encoder, g_task - lam * g_ce_enc)
    for got, want in zip(got_adversary, g_ce_adv, strict=True):
        torch.testing.assert_close(got, want)


def test_head_shapes_strength_setter_and_pickle():
    head = AdversarialHead(8, n_groups=4, hidden=(16, 8), dropout=0.1)
    assert head(torch.randn(3, 8)).shape == (3, 4)
    head.strength = 2.5
    assert head.reversal.strength == 2.5
    linear = AdversarialHead(8, n_groups=2, hidden=())
    assert sum(isinstance(m, nn.Linear) for m in linear.modules()) == 1
    clone = pickle.loads(pickle.dumps(head))
    assert clone.strength == 2.5
    with pytest.raises(ValueError, match="n_groups"):
        AdversarialHead(8, n_groups=1)
    with pytest.raises(ValueError, match="hidden"):
        AdversarialHead(8, n_groups=2, hidden=(0,))


def test_adversarial_loss_values():
    logits = torch.randn(6, 3)
    groups = torch.tensor([0, 1, 2, 2, 1, 0])
    assert adversarial_loss(logits, groups).item() == pytest.approx(
        F.cross_entropy(logits, groups).item()
    )
    soft = F.one_hot(groups, 3).float()
    assert adversarial_loss(logits, soft).item() == pytest.approx(
        F.cross_entropy(logits, groups).item(), rel=1e-6
    )
    w = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert adversarial_loss(logits, groups, sample_weight=w).item() == pytest.approx(
        F.cross_entropy(logits[:1], groups[:1]).item(), rel=1e-6
    )
    with pytest.raises(ValueError, match="n_groups"):
        adversarial_loss(logits, groups, n_groups=4)
    with pytest.raises(TypeError, match="int64"):
        adversarial_loss(logits, groups.float())


def test_adversarial_loss_checks_weights_and_codes():
    """A (B, 1) or length-1 weight broadcast to the sum over rows; a group coded -100 was
    dropped as cross-entropy's ignore_index."""
    logits = torch.zeros(4, 2)
    groups = torch.tensor([0, 1, 1, 0])
    for sw in (torch.ones(4, 1), torch.ones(1)):
        with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
            adversarial_loss(logits, groups, sample_weight=sw)
    for code in (-100, 2):
        with pytest.raises(ValueError, match=r"groups must hold codes in \[0, 2\)"):
            adversarial_loss(logits, torch.tensor([0, 1, 1, code]))


@pytest.mark.parametrize("strength", [float("nan"), float("inf")])
def test_grad_reverse_rejects_non_finite_strength(strength):
    with pytest.raises(ValueError, match="finite non-negative"):
        grad_reverse(torch.ones(2, requires_grad=True), strength=strength)


def test_adversarial_loss_check_input_false_skips_the_value_checks_only():
    """The estimators check the codes and the weights at fit; every step skips that."""
    logits = torch.zeros(4, 2)
    groups = torch.tensor([0, 1, 1, 0])
    sw = torch.tensor([1.0, -1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        adversarial_loss(logits, groups, sample_weight=sw)
    # weighted mean of log 2 with weights summing to 2
    value = adversarial_loss(logits, groups, sample_weight=sw, check_input=False)
    assert value.item() == pytest.approx(float(torch.log(torch.tensor(2.0))))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
        adversarial_loss(logits, groups, sample_weight=torch.ones(3), check_input=False)
    with pytest.raises(TypeError, match="int64"):
        adversarial_loss(logits, groups.float(), check_input=False)


@pytest.mark.parametrize("hidden", [(), (5,)])
@pytest.mark.parametrize("strength", [0.0, 0.7])
def test_head_fuses_the_reversal_into_its_first_layer_with_the_same_gradients(hidden,
                                                                            strength):
    """In eager mode the head computes the reversal and its first layer in one node; its
    values and every gradient equal the reversal layer followed by the network."""
    torch.manual_seed(1)
    head = AdversarialHead(4, n_groups=3, hidden=hidden, strength=strength)
    emb = torch.randn(9, 4, requires_grad=True)
    groups = torch.randint(0, 3, (9,))
    out = head(emb)
    assert "ReversedLinear" in str(_node_names(out))
    got = torch.autograd.grad(adversarial_loss(out, groups), [emb, *head.parameters()])
    want = torch.autograd.grad(adversarial_loss(head.net(head.reversal(emb)), groups),
                               [emb, *head.parameters()])
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)


def test_head_with_hooks_on_its_first_layer_runs_the_layer_itself():
    head = AdversarialHead(4, n_groups=2, hidden=())
    seen = []
    head.net[0].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    out = head(torch.randn(3, 4, requires_grad=True))
    assert seen == [torch.Size([3, 2])]
    assert "ReversedLinear" not in str(_node_names(out))


def _node_names(out):
    """Names of the autograd nodes from out back to the first layer (first inputs)."""
    node, names = out.grad_fn, []
    while node is not None:
        names.append(type(node).__name__)
        nexts = [n for n, _ in node.next_functions if n is not None
                 and type(n).__name__ != "AccumulateGrad"]
        node = nexts[0] if nexts else None
    return names
