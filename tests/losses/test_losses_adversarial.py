"""Gradient reversal and the adversarial sensitive regularizer (Serna et al.)."""

import math
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skfair.losses import (
    AdversarialHead,
    AdversarialLoss,
    GradientReversal,
    adversarial_loss,
    confusion_loss,
    grad_reverse,
)


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


# -- the confusion game: the adversary on its cross-entropy, the embedding towards chance --


def test_confusion_loss_values():
    # at chance: log G; one row [4, 0]: log(1 + e^4) - 2, by hand
    assert confusion_loss(torch.zeros(5, 3)).item() == pytest.approx(math.log(3))
    assert confusion_loss(torch.tensor([[4.0, 0.0]])).item() == pytest.approx(
        math.log1p(math.exp(4.0)) - 2.0)
    # shifting a row's logits changes nothing; the minimum is at equal logits
    logits = torch.randn(6, 4, dtype=torch.float64)
    torch.testing.assert_close(confusion_loss(logits + 3.0), confusion_loss(logits))
    assert confusion_loss(logits).item() > math.log(4)
    # the mean of the rows' cross-entropies to the uniform distribution
    per_row = -(F.log_softmax(logits, 1)).mean(1)
    assert confusion_loss(logits).item() == pytest.approx(per_row.mean().item())
    # invariant to row order; weighted mean with weights
    perm = torch.randperm(6)
    torch.testing.assert_close(confusion_loss(logits[perm]), confusion_loss(logits))
    w = torch.tensor([2.0, 0.0, 1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    assert confusion_loss(logits, sample_weight=w).item() == pytest.approx(
        float((w * per_row).sum() / w.sum()))
    # all-zero weights: 0, not NaN
    assert confusion_loss(logits, sample_weight=torch.zeros(6, dtype=torch.float64)).item() == 0


def test_confusion_loss_checks_its_input():
    with pytest.raises(ValueError, match=r"adversary_logits must be a non-empty"):
        confusion_loss(torch.zeros(4))
    with pytest.raises(ValueError, match=r"n_groups >= 2"):
        confusion_loss(torch.zeros(4, 1))
    with pytest.raises(ValueError, match=r"non-empty"):
        confusion_loss(torch.zeros(0, 2))
    with pytest.raises(TypeError, match="floating"):
        confusion_loss(torch.zeros(4, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="non-negative"):
        confusion_loss(torch.zeros(2, 2), sample_weight=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(2,\)"):
        confusion_loss(torch.zeros(2, 2), sample_weight=torch.ones(3))


@pytest.mark.parametrize("hidden", [(), (5,)])
def test_confusion_logits_train_the_adversary_and_the_embedding_apart(hidden):
    torch.manual_seed(0)
    head = AdversarialHead(4, n_groups=3, hidden=hidden, strength=0.5)
    emb = torch.randn(7, 4, requires_grad=True)
    own, fixed = head.confusion_logits(emb)
    torch.testing.assert_close(own, fixed)
    torch.testing.assert_close(own, head.net(emb))  # no reversal in the values either
    # own: the adversary's parameters only; fixed: the embedding only
    own.sum().backward()
    assert emb.grad is None and all(p.grad is not None for p in head.parameters())
    head.zero_grad(set_to_none=True)
    (g,) = torch.autograd.grad(fixed.sum(), emb)
    (want,) = torch.autograd.grad(head.net(emb).sum(), emb)
    torch.testing.assert_close(g, want)  # not reversed
    assert fixed.grad_fn is not None and all(p.grad is None for p in head.parameters())


@pytest.mark.parametrize("weighted", [False, True])
def test_adversary_term_of_either_kind(weighted):
    torch.manual_seed(0)
    groups = torch.randint(0, 3, (8,))
    w = torch.rand(8) if weighted else None
    reversal = AdversarialLoss(hidden=(5,), strength=0.7)
    head = reversal.make_head(4, 3)
    emb = torch.randn(8, 4, requires_grad=True)
    # reversal: the loss on the head's output
    torch.testing.assert_close(reversal.adversary_term(head, emb, None, groups, sample_weight=w),
                               reversal(head(emb), None, groups, sample_weight=w))
    # confusion: CE for the adversary, strength * confusion for the embedding
    confusion = AdversarialLoss(hidden=(5,), strength=0.7, kind="confusion")
    term = confusion.adversary_term(head, emb, None, groups, sample_weight=w)
    got = torch.autograd.grad(term, [emb, *head.parameters()])
    plain = head.net
    ce = adversarial_loss(plain(emb), groups, sample_weight=w)
    conf = confusion_loss(plain(emb), sample_weight=w)
    torch.testing.assert_close(term, ce + 0.7 * conf)
    want_emb = torch.autograd.grad(0.7 * conf, emb)
    want_head = torch.autograd.grad(adversarial_loss(plain(emb), groups, sample_weight=w),
                                    list(head.parameters()))
    for g, want in zip(got, want_emb + want_head, strict=True):
        torch.testing.assert_close(g, want)


def test_adversarial_loss_kind_is_checked_and_needs_a_head_that_splits():
    loss = AdversarialLoss(kind="confused")
    with pytest.raises(ValueError, match=r"kind must be one of \('reversal', 'confusion'\)"):
        loss.make_head(4, 2)
    head = AdversarialLoss().make_head(4, 2)
    with pytest.raises(ValueError, match="kind must be one of"):
        loss.adversary_term(head, torch.randn(3, 4), None, torch.tensor([0, 1, 0]))
    with pytest.raises(TypeError, match="needs an adversary with confusion_logits"):
        AdversarialLoss(kind="confusion").adversary_term(
            nn.Linear(4, 2), torch.randn(3, 4), None, torch.tensor([0, 1, 0]))
    assert AdversarialLoss(kind="confusion").get_params()["kind"] == "confusion"


@pytest.mark.parametrize("kind", ["reversal", "confusion"])
def test_against_a_fixed_adversary_reversal_inverts_it_and_confusion_makes_it_guess(kind):
    """The two games' pull on the embedding, with the adversary held fixed: the reversal
    maximises its cross-entropy, an unbounded aim met by making it confidently wrong while
    the groups stay decodable from the embedding (a fresh adversary reads them); the
    confusion term is met when the adversary predicts every group with probability 1/2."""
    torch.manual_seed(0)
    n = 128
    groups = torch.arange(n) % 2
    x = torch.stack([groups.float() * 2 - 1, torch.randn(n)], 1)
    encoder = nn.Linear(2, 2)
    loss = AdversarialLoss(hidden=(), kind=kind)
    head = loss.make_head(2, 2)
    with torch.no_grad():
        head.net[0].weight.copy_(torch.tensor([[2.0, 0.0], [-2.0, 0.0]]))
        head.net[0].bias.zero_()
    opt = torch.optim.Adam(encoder.parameters(), lr=0.05)  # the encoder only
    for _ in range(300):
        opt.zero_grad()
        loss.adversary_term(head, encoder(x), None, groups).backward()
        opt.step()
    with torch.no_grad():
        emb = encoder(x)
        logits = head.net(emb)
    if kind == "reversal":
        assert F.cross_entropy(logits, groups).item() > 3.0  # log 2 = 0.69 at chance
        assert _probe_accuracy(emb, groups) > 0.95
    else:
        p = torch.softmax(logits, 1)
        torch.testing.assert_close(p, torch.full_like(p, 0.5), atol=0.02, rtol=0)


def _probe_accuracy(emb, groups):
    """Accuracy of a fresh linear read-out of the groups from a fixed embedding (least
    squares on the +-1 codes: exact where the groups are linearly separable)."""
    design = torch.cat([emb.double(), torch.ones(len(emb), 1, dtype=torch.float64)], 1)
    target = (groups.double() * 2 - 1).unsqueeze(1)
    coef = torch.linalg.lstsq(design, target).solution
    return ((design @ coef).squeeze(1) > 0).eq(groups.bool()).double().mean().item()
