"""FairNetClassifier: loss composition, weights, fairness terms, training options."""

import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from sklearn.utils.class_weight import compute_sample_weight

from skfair.estimators import FairNetClassifier
from skfair.losses import AdversarialLoss, FairnessLoss, equalized_odds_loss
from skfair.weighting import SupportWeighting, support_weights


def test_fit_predict_contract(fast):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "pos", "neg")
    clf = FairNetClassifier(**fast).fit(X, y)
    assert list(clf.classes_) == ["neg", "pos"]
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert clf.n_features_in_ == 3 and clf.n_groups_ == 1 and clf.sensitive_groups_ is None
    assert clf.score(X, y) > 0.9
    assert clf.n_epochs_ == fast["max_epochs"] and clf.device_ == "cpu"


def test_batch_loss_is_weighted_cross_entropy_plus_lam_eo(biased_data, fast):
    X, y, s = biased_data
    w = np.linspace(0.5, 2.0, len(y))
    clf = FairNetClassifier(fairness="eo_l2", lam=0.7, **{**fast, "max_epochs": 1})
    clf.fit(X, y, sensitive_features=s, sample_weight=w)
    net = clf.net_
    rows = slice(0, 50)
    w_norm = (w / w.mean()).astype(np.float32)[rows]
    batch = {
        "X": torch.as_tensor(X[rows]),
        "groups": torch.as_tensor(s[rows], dtype=torch.int64),
        "sample_weight": torch.as_tensor(w_norm),
    }
    yb = torch.as_tensor(y[rows])
    with torch.no_grad():
        y_pred = net.infer(batch)
        loss = net.get_loss(y_pred, yb, X=batch)
        logits = y_pred[0]
        ce = F.cross_entropy(logits, yb, reduction="none")
        expected = (torch.as_tensor(w_norm) * ce).mean() + 0.7 * equalized_odds_loss(
            torch.softmax(logits, 1), yb, batch["groups"], kind="l2", n_groups=2
        )
    torch.testing.assert_close(loss, expected)


def test_row_weights_multiply_sample_weight_weighting_and_class_weight(biased_data, fast):
    X, y, s = biased_data
    sw = np.random.RandomState(1).uniform(0.5, 2, size=len(y))
    clf = FairNetClassifier(weighting=SupportWeighting(smoothing=3), class_weight="balanced",
                            **fast)
    clf._prepare_y(y)
    got = clf._row_weights(y, s, sw, X)
    expected = sw * support_weights(s, smoothing=3) * compute_sample_weight("balanced", y)
    np.testing.assert_allclose(got, expected / expected.mean(), rtol=1e-6)
    assert isinstance(clf.weighting_, SupportWeighting) and clf.weighting_ is not clf.weighting


def test_sample_weight_scale_does_not_matter(biased_data, fast):
    X, y, s = biased_data
    a = FairNetClassifier(**fast).fit(X, y).predict_proba(X)
    b = FairNetClassifier(**fast).fit(X, y, sample_weight=np.full(len(y), 3.0)).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_class_weight_balanced_raises_minority_recall(fast):
    rng = np.random.RandomState(0)
    n = 400
    y = (rng.uniform(size=n) < 0.1).astype(int)
    X = (y[:, None] * 0.8 + rng.normal(size=(n, 2))).astype(np.float32)
    plain = FairNetClassifier(**fast).fit(X, y).predict(X)
    balanced = FairNetClassifier(class_weight="balanced", **fast).fit(X, y).predict(X)
    assert np.mean(balanced[y == 1] == 1) > np.mean(plain[y == 1] == 1) + 0.2


def test_fairness_needs_sensitive_features(biased_data, fast):
    X, y, _ = biased_data
    with pytest.raises(ValueError, match="needs the sensitive groups: pass sensitive_features"):
        FairNetClassifier(fairness="dp_l2", lam=1.0, **fast).fit(X, y)
    FairNetClassifier(fairness="dp_l2", lam=0.0, **fast).fit(X, y)  # lam=0: no term


def test_lam_zero_equals_no_fairness(biased_data, fast):
    X, y, s = biased_data
    a = FairNetClassifier(**fast).fit(X, y, sensitive_features=s).predict_proba(X)
    b = FairNetClassifier(fairness="eo_l2", lam=0.0, **fast).fit(
        X, y, sensitive_features=s).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_eo_l2_equalises_the_soft_true_positive_rates(biased_data, fast):
    """EO-L2 compares mean predicted probabilities per (class, group) cell: a
    large lam makes the mean probability of the positive class among positives
    (the soft TPR) nearly equal across groups."""
    X, y, s = biased_data
    kw = {**fast, "max_epochs": 30}

    def soft_gap(clf):
        p1 = clf.predict_proba(X)[:, 1]
        return abs(p1[(y == 1) & (s == 0)].mean() - p1[(y == 1) & (s == 1)].mean())

    base = FairNetClassifier(**kw).fit(X, y, sensitive_features=s)
    fair = FairNetClassifier(fairness="eo_l2", lam=20.0, **kw).fit(X, y, sensitive_features=s)
    assert soft_gap(base) > 0.2
    assert soft_gap(fair) < soft_gap(base) / 5
    assert fair.score(X, y) > 0.8


@pytest.mark.parametrize(
    "name",
    ["dp_l2", "dp_mi", "eo_l2", "eo_mi", "iou", "iou_pairwise", "group_balanced",
     "adversarial", "adversarial_confusion"],
)
def test_every_classification_loss_trains(name, biased_data, fast):
    X, y, s = biased_data
    clf = FairNetClassifier(fairness=name, lam=1.0, **{**fast, "max_epochs": 3})
    clf.fit(X, y, sensitive_features=s)
    losses = clf.net_.history[:, "train_loss"]
    assert len(losses) == 3 and np.all(np.isfinite(losses))
    assert clf.predict_proba(X).shape == (len(y), 2)


def test_adversary_is_inside_the_network_and_trained(biased_data, fast):
    X, y, s = biased_data
    clf = FairNetClassifier(fairness="adversarial", lam=1.0,
                            fairness_params={"hidden": (8,)}, **{**fast, "max_epochs": 1})
    torch.manual_seed(0)
    clf.fit(X, y, sensitive_features=s)
    head = clf.net_.module_.fairness.head
    params = {id(p) for p in head.parameters()}
    optimised = {id(p) for g in clf.net_.optimizer_.param_groups for p in g["params"]}
    assert params <= optimised
    assert head.net[0].weight.grad is not None and head.net[0].weight.grad.abs().sum() > 0


def _first_batch(X, y, s, sample_weight):
    """The estimator's batch dict of the first ``len(sample_weight)`` rows, and their y."""
    rows = slice(0, len(sample_weight))
    batch = {"X": torch.as_tensor(X[rows]), "groups": torch.as_tensor(s[rows]),
             "sample_weight": sample_weight}
    return batch, torch.as_tensor(y[rows])


def test_adversarial_gradients_are_reversed_for_the_network_only(biased_data, fast):
    """One batch: the adversary descends lam * CE, the network gets
    grad(task) - lam * grad(CE) through the gradient-reversal layer."""
    X, y, s = biased_data
    lam = 0.8
    clf = FairNetClassifier(fairness="adversarial", lam=lam, fairness_params={"hidden": (4,)},
                            **{**fast, "max_epochs": 1})
    clf.fit(X, y, sensitive_features=s)
    net, module = clf.net_, clf.net_.module_
    batch, yb = _first_batch(X, y, s, torch.ones(40))

    module.zero_grad()
    net.get_loss(net.infer(batch), yb, X=batch).backward()
    got_body = [p.grad.clone() for p in module.body.parameters()]
    got_head = [p.grad.clone() for p in module.fairness.head.parameters()]

    module.zero_grad()
    logits, emb = module.body(batch["X"])
    task = F.cross_entropy(logits, yb)
    adv = F.cross_entropy(module.fairness.head.net(emb), batch["groups"])  # no reversal
    body_params = list(module.body.parameters())
    g_task = torch.autograd.grad(task, body_params, retain_graph=True)
    g_adv = torch.autograd.grad(adv, body_params + list(module.fairness.head.parameters()),
                                allow_unused=True, materialize_grads=True)
    n_body = len(body_params)
    for got, gt, ga in zip(got_body, g_task, g_adv[:n_body], strict=True):
        torch.testing.assert_close(got, gt - lam * ga)
    for got, ga in zip(got_head, g_adv[n_body:], strict=True):
        torch.testing.assert_close(got, lam * ga)


def test_confusion_trains_the_network_towards_chance_and_the_adversary_on_groups(
        biased_data, fast):
    """One batch of fairness="adversarial_confusion": the adversary descends lam * CE on
    the groups, the network lam * strength * the confusion term (no reversal)."""
    X, y, s = biased_data
    lam, strength = 0.8, 0.6
    clf = FairNetClassifier(fairness="adversarial_confusion", lam=lam,
                            fairness_params={"hidden": (4,), "strength": strength},
                            **{**fast, "max_epochs": 1})
    clf.fit(X, y, sensitive_features=s)
    net, module = clf.net_, clf.net_.module_
    batch, yb = _first_batch(X, y, s, torch.ones(40))

    module.zero_grad()
    net.get_loss(net.infer(batch), yb, X=batch).backward()
    got_body = [p.grad.clone() for p in module.body.parameters()]
    adversary = module.fairness.head.net
    got_head = [p.grad.clone() for p in adversary.parameters()]

    module.zero_grad()
    logits, emb = module.body(batch["X"])
    body_params, head_params = list(module.body.parameters()), list(adversary.parameters())
    a = adversary(emb)
    confusion = (torch.logsumexp(a, 1) - a.mean(1)).mean()
    g_body = torch.autograd.grad(F.cross_entropy(logits, yb) + lam * strength * confusion,
                                 body_params, retain_graph=True)
    g_head = torch.autograd.grad(lam * F.cross_entropy(a, batch["groups"]), head_params)
    for got, want in zip(got_body + got_head, g_body + g_head, strict=True):
        torch.testing.assert_close(got, want)
    # get_fairness_term gives the adversary's term
    term = module.fairness
    w = torch.linspace(0.5, 1.5, 40)
    with torch.no_grad():
        hooks = clf.get_fairness_term(logits, yb, batch["groups"], term=term, embedding=emb,
                                      sample_weight=w)
        direct = term.loss.adversary_term(term.head, emb, None, batch["groups"],
                                          n_groups=clf.n_groups_, sample_weight=w)
    torch.testing.assert_close(hooks, direct)
    assert hooks > direct.new_tensor(strength * math.log(2))  # CE + strength * confusion


class _CheckRecordingAdversary(AdversarialLoss):
    """The adversarial loss, recording the check_input of every call."""

    def __init__(self, hidden=(4,), strength=1.0, dropout=0.0, *, n_groups=None):
        super().__init__(hidden, strength, dropout, n_groups=n_groups)
        self.calls = []

    def forward(self, *args, check_input=True, **kwargs):
        self.calls.append(check_input)
        return super().forward(*args, check_input=check_input, **kwargs)


class _UserAdversary(AdversarialLoss):
    """A user's adversarial loss whose forward takes no check_input."""

    def forward(self, input, y=None, groups=None, *, n_groups=None, sample_weight=None):
        return F.cross_entropy(input, groups)


def test_adversarial_steps_skip_the_checks_made_at_fit(biased_data, fast):
    """The estimator checks groups and weights once, at fit; every training step calls the
    adversarial loss with check_input=False, and a loss without that keyword still trains."""
    X, y, s = biased_data
    clf = FairNetClassifier(fairness=_CheckRecordingAdversary(), lam=0.5,
                            **{**fast, "max_epochs": 1}).fit(X, y, sensitive_features=s)
    calls = clf.net_.module_.fairness.loss.calls
    assert calls and set(calls) == {False}
    user = FairNetClassifier(fairness=_UserAdversary(hidden=(4,)), lam=0.5,
                             **{**fast, "max_epochs": 1}).fit(X, y, sensitive_features=s)
    assert np.isfinite(user.net_.history[-1, "train_loss"])


class _RecordingLoss(FairnessLoss):
    """A penalty that records the groups present in every training batch."""

    role, task, requires_y = "penalty", "any", False

    def __init__(self, *, n_groups=None):
        super().__init__(n_groups=n_groups)
        self.seen = []

    def forward(self, input, y=None, groups=None, *, n_groups=None):
        self.seen.append((len(groups), len(torch.unique(groups))))
        return input.sum() * 0.0


@pytest.mark.parametrize("batch_sampling", ["random", "group_balanced"])
def test_group_balanced_batches_hold_every_group(batch_sampling, fast):
    rng = np.random.RandomState(0)
    n = 300
    s = np.where(rng.uniform(size=n) < 0.03, 2, rng.randint(0, 2, size=n))
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = rng.randint(0, 2, size=n)
    clf = FairNetClassifier(fairness=_RecordingLoss(), lam=1.0, batch_sampling=batch_sampling,
                            **{**fast, "batch_size": 16, "max_epochs": 2})
    clf.fit(X, y, sensitive_features=s)
    seen = clf.net_.module_.fairness.loss.seen
    assert len(seen) == 2 * -(-n // 16)
    complete = [k == 3 for _, k in seen]
    if batch_sampling == "group_balanced":
        assert all(complete)
    else:  # a 3% group is missing from many random batches of 16
        assert not all(complete)


def test_valid_split_is_group_stratified_and_logged(biased_data, fast):
    X, y, s = biased_data
    clf = FairNetClassifier(valid_split=0.25, **fast)
    train, valid = clf._train_valid_indices(y, s, seed=0)
    assert len(valid) == 100 and len(np.intersect1d(train, valid)) == 0
    cells = s * 2 + y
    for c in range(4):  # every group x class cell keeps its share (+- one row)
        assert abs(np.sum(cells[valid] == c) - 0.25 * np.sum(cells == c)) <= 1
    clf.fit(X, y, sensitive_features=s)
    assert np.all(np.isfinite(clf.net_.history[:, "valid_loss"]))
    assert clf.net_.train_split is None  # the validation data is not kept


def test_early_stopping_stops_when_the_loss_stalls(biased_data, fast):
    X, y, s = biased_data
    clf = FairNetClassifier(early_stopping=2, valid_split=0.2,
                            **{**fast, "lr": 1e-9, "max_epochs": 20})
    clf.fit(X, y, sensitive_features=s)
    assert clf.n_epochs_ == 3  # the first epoch sets the best score, then 2 without progress


def test_verbose_prints_the_epoch_table(biased_data, fast, capsys):
    X, y, _ = biased_data
    FairNetClassifier(verbose=1, **{**fast, "max_epochs": 2}).fit(X, y)
    out = capsys.readouterr().out
    assert "epoch" in out and "train_loss" in out
    FairNetClassifier(verbose=0, **{**fast, "max_epochs": 2}).fit(X, y)
    assert capsys.readouterr().out == ""


def test_random_state_reproducible_and_global_rng_untouched(biased_data, fast):
    X, y, _ = biased_data
    state = torch.get_rng_state()
    a = FairNetClassifier(**{**fast, "dropout": 0.3}).fit(X, y).predict_proba(X)
    assert torch.equal(torch.get_rng_state(), state)
    b = FairNetClassifier(**{**fast, "dropout": 0.3}).fit(X, y).predict_proba(X)
    c = FairNetClassifier(**{**fast, "dropout": 0.3, "random_state": 1}).fit(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c.predict_proba(X))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_clear_error(biased_data, fast):
    X, y, _ = biased_data
    with pytest.raises(ValueError, match="CUDA is not available"):
        FairNetClassifier(**{**fast, "device": "cuda"}).fit(X, y)
    assert FairNetClassifier(**{**fast, "device": "auto"}).fit(X, y).device_ == "cpu"


def test_pickle_clone_and_nested_params(biased_data, fast):
    X, y, s = biased_data
    clf = FairNetClassifier(fairness="adversarial", weighting=SupportWeighting(), **fast)
    clf.set_params(weighting__smoothing=2, lam=0.5)
    assert clf.get_params()["weighting__smoothing"] == 2
    clf.fit(X, y, sensitive_features=s)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    fresh = clone(clf)
    assert not hasattr(fresh, "net_") and fresh.weighting.smoothing == 2


def test_unknown_fairness_name_and_wrong_task(biased_data, fast):
    X, y, s = biased_data
    with pytest.raises(ValueError, match="Unknown fairness loss 'nope'"):
        FairNetClassifier(fairness="nope", **fast).fit(X, y, sensitive_features=s)
    with pytest.raises(ValueError, match="is a loss for regression"):
        FairNetClassifier(fairness="mean_parity", **fast).fit(X, y, sensitive_features=s)


def test_custom_module_class_and_plain_tensor_output(biased_data, fast):
    X, y, s = biased_data

    class Linear(torch.nn.Module):
        def __init__(self, n_features, n_outputs):
            super().__init__()
            self.lin = torch.nn.Linear(n_features, n_outputs)

        def forward(self, X):
            return self.lin(X)

    clf = FairNetClassifier(module=Linear, fairness="dp_l2", **fast).fit(
        X, y, sensitive_features=s)
    assert isinstance(clf.net_.module_.body, Linear) and clf.score(X, y) > 0.7
    with pytest.raises(ValueError, match=r"return \(output, embedding\)"):
        FairNetClassifier(module=Linear, fairness="adversarial", **fast).fit(
            X, y, sensitive_features=s)


@pytest.mark.parametrize("module", ["mlp", "custom"])
@pytest.mark.parametrize("augment", [None, "identity"])
def test_uint8_images_are_scaled_alike_in_training_and_prediction(fast, module, augment):
    """Every module sees uint8 images as float [0, 1], with or without an augmentation
    (which needs float input) and at predict time."""
    rng = np.random.RandomState(0)
    n = 64
    y = rng.randint(0, 2, size=n)
    images = rng.randint(0, 120, size=(n, 1, 6, 6)).astype(np.uint8)
    images[y == 1, :, :3] += 100
    seen = []

    class Flat(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(36, 2)

        def forward(self, X):
            seen.append(float(X.max()))
            return self.lin(X.reshape(len(X), -1))

    clf = FairNetClassifier(module="mlp" if module == "mlp" else Flat,
                            augmentation=None if augment is None else (lambda b: b),
                            **{**fast, "max_epochs": 2}).fit(images, y)
    np.testing.assert_allclose(clf.predict_proba(images),
                               clf.predict_proba(images.astype(np.float32) / 255), rtol=1e-5)
    if module == "custom":
        assert seen and max(seen) <= 1.0  # training, validation and prediction batches


def test_clear_errors_for_channels_last_images_a_bad_device_and_small_batches(fast):
    rng = np.random.RandomState(0)
    images = rng.uniform(size=(24, 8, 8, 3)).astype(np.float32)
    y = np.arange(24) % 2
    with pytest.raises(ValueError, match=r"looks channels-last .*transpose\(0, 3, 1, 2\)"):
        FairNetClassifier(module="cnn", **fast).fit(images, y)
    X = rng.normal(size=(24, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="device='gpu' is not a torch device"):
        FairNetClassifier(**{**fast, "device": "gpu"}).fit(X, y)
    s = np.arange(24) % 3
    with pytest.raises(ValueError, match=r"smaller than the 6 \(group, class\) cells"):
        FairNetClassifier(batch_sampling="group_class_balanced",
                          **{**fast, "batch_size": 4}).fit(X, y, sensitive_features=s)
    with pytest.raises(ValueError, match="names columns of X; FairNetClassifier takes"):
        FairNetClassifier(**fast).fit(pd.DataFrame(X, columns=list("abc")), y,
                                      sensitive_features="a")


def test_image_modules_and_augmentation_only_at_training(fast):
    rng = np.random.RandomState(0)
    n = 48
    y = rng.randint(0, 2, size=n)
    images = (rng.uniform(size=(n, 3, 16, 16)) * 80).astype(np.uint8)
    images[y == 1, 0] += 120  # class 1 is redder

    calls = []

    def augment(batch):
        calls.append((batch.dtype, batch.device.type, tuple(batch.shape[1:])))
        return batch.flip(-1)

    clf = FairNetClassifier(module="cnn", module_params={"channels": (4,), "embedding_dim": 8},
                            augmentation=augment, **{**fast, "batch_size": 16,
                                                     "max_epochs": 3})
    clf.fit(images, y)
    # uint8 images reach the augmentation as float [0, 1] on the device
    assert len(calls) == 3 * 3 and calls[0] == (torch.float32, "cpu", (3, 16, 16))
    clf.predict(images)
    assert len(calls) == 9  # never at predict time
    assert clf.n_features_in_ == 3

    from skfair.transformers import Augmentation

    res = FairNetClassifier(module="resnet18", augmentation=Augmentation(random_state=0),
                            **{**fast, "batch_size": 16, "max_epochs": 1})
    res.fit(images, y)
    assert res.predict_proba(images).shape == (n, 2)
    assert res.get_params()["augmentation__random_state"] == 0
    with pytest.raises(ValueError, match="image network and needs images"):
        FairNetClassifier(module="cnn", **fast).fit(images.reshape(n, -1), y)


def test_a_penalty_on_probabilities_is_refused(biased_data, fast):
    """The estimator hands its penalty the logits: from_logits=False would read them as
    probabilities, with no error."""
    from skfair.losses import EqualizedOddsLoss

    X, y, s = biased_data
    for fairness, params in [("dp_l2", {"from_logits": False}),
                             (EqualizedOddsLoss(from_logits=False), None)]:
        with pytest.raises(ValueError, match="from_logits=False"):
            FairNetClassifier(fairness=fairness, fairness_params=params, **fast).fit(
                X, y, sensitive_features=s)


@pytest.mark.parametrize("class_weight", [{0: -1.0, 1: 3.0}, {0: float("nan"), 1: 1.0},
                                          {0: "2", 1: 1.0}])
def test_bad_class_weight_values_are_a_clear_error(biased_data, fast, class_weight):
    X, y, _ = biased_data
    with pytest.raises(ValueError, match="class_weight must map classes to finite"):
        FairNetClassifier(class_weight=class_weight, **fast).fit(X, y)


def test_a_single_class_is_a_clear_error(biased_data, fast):
    X, _, s = biased_data
    for fairness in (None, "dp_l2"):
        with pytest.raises(ValueError, match="y has only one class"):
            FairNetClassifier(fairness=fairness, **fast).fit(
                X, np.zeros(len(X)), sensitive_features=s)


@pytest.mark.parametrize("hidden_sizes", [(0,), (-3,), (8.5,), (8, True)])
def test_bad_hidden_sizes_are_a_clear_error(biased_data, fast, hidden_sizes):
    X, y, _ = biased_data
    with pytest.raises(ValueError, match="hidden_sizes must be a sequence of positive ints"):
        FairNetClassifier(**{**fast, "hidden_sizes": hidden_sizes}).fit(X, y)


def test_a_single_group_warns_that_the_term_does_nothing(biased_data, fast):
    X, y, _ = biased_data
    one = np.zeros(len(X))
    for fairness in ("dp_l2", "group_balanced"):
        with pytest.warns(UserWarning, match="single sensitive group"):
            FairNetClassifier(fairness=fairness, **fast).fit(X, y, sensitive_features=one)
    with pytest.raises(ValueError, match="at least 2 sensitive groups"):  # the adversary
        FairNetClassifier(fairness="adversarial", **fast).fit(X, y, sensitive_features=one)


def test_fairness_params_without_a_fairness_term_warn(biased_data, fast):
    X, y, s = biased_data
    with pytest.warns(UserWarning, match=r"fairness_params=\{'hidden': \(4,\)\} is ignored"):
        FairNetClassifier(fairness_params={"hidden": (4,)}, **{**fast, "max_epochs": 1}).fit(
            X, y, sensitive_features=s)
    with warnings.catch_warnings():  # with a fairness term, or with empty params: silent
        warnings.simplefilter("error")
        FairNetClassifier(fairness="adversarial", fairness_params={"hidden": (4,)},
                          **{**fast, "max_epochs": 1}).fit(X, y, sensitive_features=s)
        FairNetClassifier(fairness_params={}, **{**fast, "max_epochs": 1}).fit(
            X, y, sensitive_features=s)


def test_valid_split_warns_when_a_group_misses_training(biased_data, fast):
    """A one-row group cannot be stratified; if its row lands in the validation part,
    training never sees the group: a warning counts it."""
    X, y, s = biased_data
    s = s.copy()
    s[5] = 9
    clf = FairNetClassifier(valid_split=0.25, **fast)
    seeds = {}
    for seed in range(8):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            train, _ = clf._train_valid_indices(y, s, seed)
        seeds[seed] = (5 in train, [str(w.message) for w in caught
                                    if "fall entirely in the validation" in str(w.message)])
    assert any(not seen for seen, _ in seeds.values())  # the case happens
    for seen, messages in seeds.values():
        assert messages == ([] if seen else [
            "valid_split: 1 sensitive group(s) (1 row(s)) fall entirely in the validation "
            "part; training never sees them. Give every group at least 2 rows, or lower "
            "valid_split."])
    # 40 one-row groups: no stratification, and 0.99 of 40 rows leaves none to train on
    with pytest.warns(UserWarning, match="could not stratify"), \
            pytest.raises(ValueError, match="valid_split=0.99 cannot split 40 rows"):
        FairNetClassifier(valid_split=0.99, **fast)._train_valid_indices(
            y[:40], np.arange(40), 0)
