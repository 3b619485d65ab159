"""Fairness losses against a colour shortcut on the biased coloured digits.

Run: ``.venv/bin/python benchmarks/exp_colored_digits.py`` (every loss, seed 0; about
2 minutes on one CPU core), ``... --seeds 0 1 2 --losses none eo_l2`` (the acceptance
check on three seeds, with their mean), ``... --features pixels`` or
``... --features cnn`` (a CNN trained end to end on the pixels; about 20 s per fit on one
CPU core: about 2.5 minutes per seed for ``--losses none eo_l2``, 11 for every loss);
``--valid unbiased`` or ``--valid both`` for the unbiased-validation protocol.

Setup
-----
``make_colored_digits(bias=0.95)``: in the training split 95% of every
digit carries its label's colour (10 colours), in the test split colour is
independent of the label. Colour is the sensitive attribute given to the
fairness losses. A model that uses colour as a shortcut has, on the unbiased
test split, a high recall for digits drawn in their label's colour and a low
recall otherwise, and -- because colours are not equally confusable -- summed
recalls ``S_k`` that differ between colours.

Features
--------
``embedding`` (default): a fixed two-part representation standing in for the
embedding of a pretrained backbone, which encodes both shape and colour: the
colour-invariant stroke intensity map (max over RGB, scaled to a maximum of 1
per image, 16x16 = 256 values) and
the mean stroke colour (3 values). The shape is learnable from every row
whatever its colour; colour is a 3-feature shortcut.
``pixels``: the raw RGB pixels (768 values). An MLP then has to learn every
digit's shape separately per colour channel, from the 5% of rows in a
non-label colour; expect low accuracy for every model.
``cnn``: the raw RGB images ``(n, 3, 16, 16)`` and ``FairNetClassifier(module="cnn")``
(``SmallCNN`` with three conv blocks of 32, 64, 128 channels, trained from scratch, no
hand-made feature), Adam with ``lr=3e-3``, 15 epochs,
``batch_sampling="group_class_balanced"`` so that every (class, colour) cell is in every
batch for every loss and for ``lam=0`` alike (the conflicting cells have about 3 rows
each in the fit part, so this also shows them far more often than random batches do). A
reference row ``none (random batches)`` gives the same CNN at ``lam=0`` with plain
shuffled batches, and a row ``(colour-blind)`` the same CNN at ``lam=0`` on the
one-channel stroke map (max over RGB, scaled to 1 per image), i.e. what a CNN that
cannot see colour reaches on this test split.

Protocol
--------
1. The training split is split 75/25 (stratified on label x aligned) into
   fit and validation parts; the test split is only used for the report.
2. For every loss, every ``lam`` of its grid is trained on the fit part (the
   ``lam=0`` model, row ``none``, is always trained first: it is the reference of
   the selection rule). ``--features cnn`` grids have four values per loss
   (``GRIDS_CNN``), the other features five or four (``GRIDS``).
3. ``lam`` is chosen on validation data by the acceptance criterion's own form:
   among the grid values whose validation accuracy is at most ``ACC_TOLERANCE =
   0.02`` below the ``lam=0`` model's, the one with the largest validation ``F``
   (ties to the smaller ``lam``; if none qualifies, the largest validation
   accuracy). What "validation accuracy" and "validation ``F``" are depends on
   ``--valid``:

   ``biased`` (default): the validation part of the biased training split. Most
   (colour, class) cells are empty or hold one or two rows there, so ``F_colour``
   cannot be estimated; the rule uses ``F`` over the two groups that the
   shortcut separates, "colour matches the label's colour" (aligned) / "does
   not" (conflicting), each of which holds every class (column ``F_bv``), and
   the accuracy that the model would have with colour independent of the label,
   estimated by reweighting: the mean over classes of ``0.1 * recall on aligned
   rows + 0.9 * recall on conflicting rows`` (column ``acc_bv``).
   ``unbiased``: an explicit, stronger assumption used in the debiasing
   literature: a validation set in which colour is independent of the label,
   of the same size as the biased validation part, drawn with
   ``make_colored_digits(bias=0.1, random_state=10000 + seed)`` from the
   training split's source digits only (no source digit of the test split);
   the rule uses its accuracy and ``F_colour`` (columns ``acc_uv``, ``F_uv``).
   The models are the same (trained on the same fit part); only the choice of
   ``lam`` differs. ``both`` reports both protocols from one run, separately.

   Column ``wgr_bv`` gives the earlier rule's score for reference (worst-group
   balanced recall over aligned / conflicting on the biased validation part,
   the largest chosen); it is not used. Why it was replaced: it scores only an
   accuracy-like quantity of the worse group, whereas the acceptance asks for
   the largest ``F`` at an accuracy cost of at most 2 points; the rule above
   estimates both parts of that criterion with what the validation data allow.
4. Reported on the unbiased test split: accuracy; ``F_colour``, Xu et
   al.'s equal-opportunity ``F = min_k S_k / max_k S_k`` over the 10
   colours (the acceptance metric); ``F_align`` the same over the two
   aligned / conflicting groups. A reference row gives the figures of a
   colour-blind model (stroke features only, ``embedding`` features): the
   ``F_colour`` that the test split's finite size allows a model that cannot
   use colour at all.

Changes to the ``--features cnn`` protocol, each applied to ``lam=0`` and every loss
alike (the earlier version's per-``lam`` test figures had been seen, e.g. that ``lam=1``
beat the chosen 0.3 on seed 0, so these are not blind choices; the reasons are given):

- ``GRIDS_CNN``: four values per loss instead of three (eo_l2: 0.3, 1, 3, 10 instead of
  0.3, 1, 3), the same budget for every loss.
- The selection rule of step 3 replaced the worst-group balanced recall (for every
  feature kind): that rule scores only an accuracy-like quantity, the acceptance asks
  for the largest ``F`` at a cost of at most 2 accuracy points. ``--valid`` added.
- Columns ``tl_end`` / ``tl_min``: the last-epoch and the lowest per-epoch training
  loss of every fit, and ``--lr``. Unchanged defaults (``lr=3e-3``, 15 epochs), but note:
  with a fairness term the CNN's training loss is often non-monotone with late spikes
  (seed 0, eo_l2, ``lam=1``: 0.33 at epoch 14, 3.48 at epoch 15, the model that is
  kept), so one fit's test figures depend on where a spike lands (the same fit gave
  test accuracy 0.72 or 0.42 across a floating-point-level change of the loss
  implementation). ``--lr 1e-3 --epochs 30`` was tried for every model alike (training
  losses monotone at 1e-3 over 15 epochs but still falling); spikes remained (4 of 12
  penalised fits over seeds 0-2 ended at more than 1.5 times their lowest training
  loss) and EO-L2 still missed the target on seeds 0 and 2 and on the mean, so the
  cheaper default was kept.

Measured (one CPU core, skfair at commit e7a7a20, the fused task + penalty loss;
``--features cnn --seeds 0 1 2 --losses none eo_l2 --valid both``): with either
validation protocol EO-L2 misses the ``F_colour`` target on seeds 0 and 2 (no value of
the grid reaches it there, whatever the rule), so the acceptance is not met on pixels.
The colour-blind CNN's ``F_colour`` (0.89-0.96) shows how little room the halfway target
leaves when the ``lam=0`` model's ``F_colour`` is already 0.75-0.78 (seed 2).

``--max-grad-norm 1.0`` (``FairNetClassifier(max_grad_norm=1.0)`` for every model,
``lam=0`` included; skfair commit 54fdcc7, ``--features cnn --seeds 0 1 2 --losses none
eo_l2 --valid both``, 425 s) removes the large spikes (7 of the 12 penalised fits end at
their lowest training loss to two decimals, the worst ends 1.39 times above it, lam 0.3
seed 1) and makes EO-L2's pick steadier (biased validation:
lam 1, 3, 1; unbiased: 3 on every seed), but not the acceptance on ``F_colour``:
3-seed mean at lam=0 0.625 / 0.686 (acc / F_colour); EO-L2 biased pick 0.776 / 0.762,
unbiased pick 0.758 / 0.786, against a target of 0.843, no seed passing. On ``F_align``
(aligned / conflicting) EO-L2 passes on every seed with the unbiased pick (0.868 against
0.803 on the mean) and on seeds 0 and 1 with the biased one. What holds ``F_colour``
back is per-colour generalisation, not the shortcut: with EO-L2 (seed 0, lam 3) the
CNN fits every conflicting training row (training accuracy 1.00) and its summed test
recall ranges from 7.35 (green) to 9.20 (white, the colour drawn in all three channels),
F = 0.80, where the batch term, computed on training rows that are already fitted,
has nothing left to equalise. The same command at commit 232143e (after the projection
core and the fused Adam, which change training at rounding level): biased pick 0.792 /
0.731, unbiased pick 0.769 / 0.807 (seed 1 passes): the per-seed verdicts move with
rounding.
``--test-samples N`` draws a larger unbiased test split from the same test pool of
source digits (less sampling noise in ``F_colour``); ``--batch-sampling`` sets the
batch sampler of every model.

``--early-stopping PATIENCE`` trains every model (``lam=0`` included) with
``valid_split=0.1`` and early stopping on the validation loss, keeping the best
epoch (against the training-loss spikes that the fairness terms cause at
``lr=3e-3``; it stops most CNN fits after a few epochs, so it is off by default).

``--augment MIN_SCALE`` (``--features cnn``) trains every model, ``lam=0`` and the
references included, with random resized crops keeping ``MIN_SCALE`` to 1 of the image area
(:class:`skfair.transformers.Augmentation` with ``hflip=0``, no brightness or contrast
jitter: geometric only, the colour shortcut stays intact), applied by the estimator to
every training batch. Why: the diagnosis above, a CNN that fits every conflicting training
row leaves the batch term nothing to equalise; with crops it cannot memorise them as
easily (seed 3: EO-L2's fits end at training losses of 0.97-1.96 over the grid with crops,
0.37-1.53 without; ``lam=0`` at 0.26 and 0.10). It was chosen after
the runs above had missed the target, and ``0.7`` was the first and only value tried.
Measured (one CPU core per run, skfair 3255f80, ``--features cnn --seeds 0 1 2 --losses
none eo_l2 --valid both --max-grad-norm 1.0 --augment 0.7``, 426 s; seeds 3 4 likewise,
279 s, run after seeds 0-2 as a check on seeds not seen before):

=====  ===============  ======  ===============  ===============  ==========
seed   lam=0 acc / F    target  EO-L2 biased     EO-L2 unbiased   colour-
                                pick (lam)       pick (lam)       blind CNN
=====  ===============  ======  ===============  ===============  ==========
0      0.538 / 0.403    0.702   0.822 / 0.876    0.848 / 0.836    0.912 /
                                (3)              (1)              0.913
1      0.598 / 0.610    0.805   0.776 / 0.848    0.753 / 0.835    0.898 /
                                (0.3)            (1)              0.933
2      0.676 / 0.667    0.833   0.874 / 0.840    0.874 / 0.840    0.903 /
                                (1)              (1)              0.922
3      0.572 / 0.555    0.778   0.843 / 0.829    0.843 / 0.829    0.918 /
                                (0.3)            (0.3)            0.899
4      0.546 / 0.395    0.698   0.786 / 0.824    0.786 / 0.824    0.898 /
                                (0.3)            (0.3)            0.936
mean   0.586 / 0.526    0.763   0.820 / 0.843    0.821 / 0.833
=====  ===============  ======  ===============  ===============  ==========

EO-L2 passes on every seed with either validation protocol, with higher accuracy than
``lam=0``. Read it with its caveat: the crops also make the ``lam=0`` CNN lean harder on
colour (``F_colour`` 0.526 against 0.70 without them: seeds 0-2 0.687 at 232143e, seeds 3-4
0.718 at 3255f80), which lowers the target. EO-L2's own figures rise too: without crops,
5-seed means 0.768 / 0.758 (biased pick) and 0.781 / 0.815 (unbiased pick), no seed of 3-4
passing (targets 0.838 and 0.879; EO-L2 0.794 on seed 3 with either pick, 0.804 / 0.863 on
seed 4 with the biased / unbiased pick). Against the
no-crop ``lam=0`` model's target (0.850 on the 5-seed mean) EO-L2 with crops falls just
short (0.843 / 0.833).

Every loss with crops, seeds 0, 1, 2 (``--features cnn --seeds S --valid both
--max-grad-norm 1.0 --augment 0.7``, one run per seed, about 635 s each, 3255f80), 3-seed
mean acc / ``F_colour`` of the biased-validation pick, then of the unbiased one (``lam=0``
0.604 / 0.560, target 0.780): DP-L2 0.771 / 0.814, 0.779 / 0.825; DP-MI 0.802 / 0.809,
0.771 / 0.844; EO-L2 0.824 / 0.855, 0.825 / 0.837; EO-MI 0.869 / 0.861, 0.859 / 0.864;
IoU 0.702 / 0.701 (both); group-balanced 0.624 / 0.590, 0.626 / 0.725; adversarial 0.616 /
0.625, 0.595 / 0.612; colour-blind CNN 0.904 / 0.923. DP-L2, DP-MI, EO-L2 and EO-MI
reach the target on the 3-seed mean with either pick; IoU, group-balanced and adversarial
do not (per seed: the closing note of issue 6).

Acceptance (issue 6): EO-L2 with the tuned ``lam`` reaches ``F_colour`` at
least halfway from the ``lam=0`` model's to 1, at a cost of at most 2
accuracy points (``acc >= acc_0 - 0.02``).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from skfair.datasets import make_colored_digits
from skfair.estimators import FairNetClassifier
from skfair.transformers import Augmentation

try:
    from skfair.metrics import equal_opportunity_score
except ImportError:  # pragma: no cover - metrics not built yet
    equal_opportunity_score = None

GRIDS = {
    "none": [0.0],
    "dp_l2": [1, 3, 10, 30, 100],
    "dp_mi": [1, 3, 10, 30],
    "eo_l2": [1, 3, 10, 30, 100],
    "eo_mi": [1, 3, 10, 30],
    "iou": [1, 3, 10, 30, 100],
    "group_balanced": [0.3, 1, 3, 10],
    "adversarial": [0.03, 0.1, 0.3, 1],
    "adversarial_confusion": [0.03, 0.1, 0.3, 1],
}

# ``--features cnn``: a fit costs ~20-40 s on one core, so four values per loss (the same
# budget for every loss), from where the term is small next to the cross-entropy to where
# it dominates it
GRIDS_CNN = {
    "none": [0.0],
    "dp_l2": [0.3, 1, 3, 10],
    "dp_mi": [0.3, 1, 3, 10],
    "eo_l2": [0.3, 1, 3, 10],
    "eo_mi": [0.3, 1, 3, 10],
    "iou": [1, 3, 10, 30],
    "group_balanced": [0.3, 1, 3, 10],
    "adversarial": [0.03, 0.1, 0.3, 1],
    "adversarial_confusion": [0.03, 0.1, 0.3, 1],
}

# ``lam`` selection: the largest validation F among the values whose validation accuracy
# is at most this far below the ``lam=0`` model's (the acceptance criterion's own form)
ACC_TOLERANCE = 0.02


def equal_opportunity(y, pred, groups):
    """Xu et al.'s F (skfair.metrics when available, else the same formula)."""
    if equal_opportunity_score is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return equal_opportunity_score(y, pred, sensitive_features=groups)
    classes = [c for c in np.unique(y) if all(((y == c) & (groups == g)).any()
                                              for g in np.unique(groups))]
    S = [sum(np.mean(pred[(y == c) & (groups == g)] == c) for c in classes)
         for g in np.unique(groups)]
    return min(S) / max(S) if max(S) > 0 else 1.0


def worst_group_balanced_recall(y, pred, groups):
    """min over groups of the mean per-class recall (classes present in the group)."""
    out = []
    for g in np.unique(groups):
        m = groups == g
        out.append(np.mean([np.mean(pred[m & (y == c)] == c) for c in np.unique(y[m])]))
    return min(out)


def reweighted_accuracy(y, pred, aligned, n_colours):
    """Accuracy that the model would have if colour were independent of the label.

    Every class's recall on its aligned rows gets weight ``1 / n_colours`` and its
    recall on its conflicting rows the rest (the share of each in an unbiased split);
    the mean is over the classes. Computable on biased data (an importance-weighted
    estimate of the unbiased accuracy from the biased validation part).
    """
    w = 1.0 / n_colours
    out = []
    for c in np.unique(y):
        m = y == c
        ra = np.mean(pred[m & (aligned == "aligned")] == c)
        rc = np.mean(pred[m & (aligned == "conflicting")] == c)
        out.append(w * ra + (1 - w) * rc)
    return float(np.mean(out))


def select(cands, ref):
    """The tuned row: the largest validation ``F`` among the rows whose validation
    accuracy is at least ``ref``'s (the ``lam=0`` model's) minus ``ACC_TOLERANCE``,
    ties to the smaller ``lam`` (rows come in grid order); the largest validation
    accuracy when none qualifies. ``cands`` are ``(val_acc, val_F, row)``."""
    ok = [c for c in cands if c[0] >= ref[0] - ACC_TOLERANCE - 1e-12]
    best = None
    for c in ok or cands:
        key = c[1] if ok else c[0]
        if best is None or key > best[0] + 1e-12:
            best = (key, c[2])
    return best[1]


def unbiased_validation(train, seed, n, n_colours):
    """``n`` images with colour independent of the label, drawn from the training
    split's source digits only (none of the test split's), with fresh shifts, colours
    and noise: a draw of ``make_colored_digits`` with ``bias=1/n_colours`` and another
    ``random_state``, kept where its source digit is in ``train``'s pool."""
    pool = np.unique(train.frame["source_index"].to_numpy())
    extra = make_colored_digits(bias=1.0 / n_colours, split="train", image_size=16,
                                n_samples=4 * n, random_state=10_000 + seed)
    keep = np.flatnonzero(np.isin(extra.frame["source_index"].to_numpy(), pool))
    keep = np.random.default_rng(seed).choice(keep, size=n, replace=False)
    return extra, keep


def stroke_map(images):
    """Colour-invariant ``(n, 1, H, W)`` stroke intensity: max over RGB, max 1 per image."""
    stroke = images.max(axis=1, keepdims=True)
    return (stroke / stroke.max(axis=(2, 3), keepdims=True)).astype(np.float32)


def features(split, kind):
    if kind == "pixels":
        return split.data
    if kind == "cnn":
        return split.images
    im = split.images
    stroke = im.max(axis=1).reshape(len(im), -1)
    stroke = stroke / stroke.max(axis=1, keepdims=True)  # colours differ in brightness
    rgb = im.reshape(len(im), 3, -1)
    w = stroke[:, None, :]
    colour = (rgb * w).sum(-1) / np.maximum(w.sum(-1), 1e-6)
    return np.hstack([stroke, colour]).astype(np.float32)


def run_seed(args, seed):
    """The whole protocol for one seed; returns the tuned row of every loss."""
    data = make_colored_digits(bias=0.95, split="both", image_size=16,
                               n_samples=args.n_samples, random_state=seed)
    train, test = data["train"], data["test"]
    if args.test_samples:
        # a larger test split from the same test pool of source digits (the pools depend on
        # random_state only): more rendered copies, so less sampling noise in F_colour
        test = make_colored_digits(bias=0.95, split="test", image_size=16,
                                   n_samples=int(round(args.test_samples / 0.3)),
                                   random_state=seed)
        assert np.isin(test.frame["source_index"], data["test"].frame["source_index"]).all()
    label_colour = data["label_colors"]
    X, y = features(train, args.features), np.asarray(train.target)
    colour = train.sensitive["color"].astype(str).to_numpy()
    X_te, y_te = features(test, args.features), np.asarray(test.target)
    colour_te = test.sensitive["color"].astype(str).to_numpy()

    def aligned(labels, colours):
        return np.where(colours == np.array([label_colour[v] for v in labels]),
                        "aligned", "conflicting")

    idx_fit, idx_val = train_test_split(
        np.arange(len(y)), test_size=0.25, random_state=seed,
        stratify=np.char.add(aligned(y, colour), y.astype(str)),
    )
    n_colours = len(data["color_names"])
    protocols = ["biased", "unbiased"] if args.valid == "both" else [args.valid]
    if "unbiased" in protocols:
        extra, keep = unbiased_validation(train, seed, len(idx_val), n_colours)
        X_uv = features(extra, args.features)[keep]
        y_uv = np.asarray(extra.target)[keep]
        colour_uv = extra.sensitive["color"].astype(str).to_numpy()[keep]
    print(f"\n=== seed {seed}: features={args.features}  X_fit {X[idx_fit].shape}  "
          f"val {len(idx_val)}  test {X_te.shape}; colour-label agreement train "
          f"{np.mean(aligned(y, colour) == 'aligned'):.3f}, "
          f"test {np.mean(aligned(y_te, colour_te) == 'aligned'):.3f}"
          + (f", unbiased val {np.mean(aligned(y_uv, colour_uv) == 'aligned'):.3f}"
             if "unbiased" in protocols else ""))

    if args.features == "cnn":
        base_kw = dict(module="cnn", module_params=dict(channels=(32, 64, 128)),
                       batch_sampling="group_class_balanced", max_epochs=args.epochs or 15,
                       lr=args.lr or 3e-3, batch_size=256, device="cpu", random_state=seed)
        grids = GRIDS_CNN
    else:
        base_kw = dict(hidden_sizes=(128,), max_epochs=args.epochs or 30, lr=args.lr or 1e-3,
                       batch_size=256, device="cpu", random_state=seed)
        grids = GRIDS
    if args.batch_sampling:
        base_kw["batch_sampling"] = args.batch_sampling
    if args.max_grad_norm:
        base_kw["max_grad_norm"] = args.max_grad_norm
    if args.augment:
        if args.features != "cnn":
            raise SystemExit("--augment needs --features cnn (it transforms images)")
        # geometric only (random resized crops, no flip: digits are not mirror-symmetric);
        # colour is left untouched, so the shortcut stays available to every model
        base_kw["augmentation"] = Augmentation(
            hflip=0.0, crop_scale=(args.augment, 1.0), brightness=0, contrast=0,
            random_state=seed)
    if args.early_stopping:
        # every model alike: a group-stratified 10% of the fit part is held out inside the
        # estimator and the epoch with the lowest validation loss is kept
        base_kw.update(valid_split=0.1, early_stopping=args.early_stopping)
    # validation figures per protocol: (accuracy estimate, F estimate)
    val_fns = {
        "biased": lambda p: (
            reweighted_accuracy(y[idx_val], p, aligned(y[idx_val], colour[idx_val]),
                                n_colours),
            equal_opportunity(y[idx_val], p, aligned(y[idx_val], colour[idx_val]))),
        "unbiased": lambda p: (np.mean(p == y_uv), equal_opportunity(y_uv, p, colour_uv)),
    }
    rows = {proto: [] for proto in protocols}
    ref = {}
    head = "".join(f"{'acc_' + p[0] + 'v':>8}{'F_' + p[0] + 'v':>7}" for p in protocols)
    print(f"{'loss':<15}{'lam':>7}{'wgr_bv':>8}{head}{'acc':>8}{'F_colour':>10}"
          f"{'F_align':>9}{'tl_end':>7}{'tl_min':>7}{'fit_s':>7}")
    losses = ["none", *(loss for loss in args.losses if loss != "none")]
    for loss in losses:
        cands = {proto: [] for proto in protocols}
        for lam in grids[loss]:
            t = time.perf_counter()
            clf = FairNetClassifier(fairness=None if loss == "none" else loss, lam=lam,
                                    **base_kw)
            clf.fit(X[idx_fit], y[idx_fit], sensitive_features=colour[idx_fit])
            fit_s = time.perf_counter() - t
            pv = clf.predict(X[idx_val])
            wgr = worst_group_balanced_recall(y[idx_val], pv,
                                              aligned(y[idx_val], colour[idx_val]))
            pt = clf.predict(X_te)
            row = dict(loss=loss, lam=lam, acc=np.mean(pt == y_te),
                       F_colour=equal_opportunity(y_te, pt, colour_te),
                       F_align=equal_opportunity(y_te, pt, aligned(y_te, colour_te)))
            line = ""
            for proto in protocols:
                va, vf = val_fns[proto](pv if proto == "biased" else clf.predict(X_uv))
                cands[proto].append((va, vf, row))
                line += f"{va:>8.3f}{vf:>7.3f}"
            tl = [h["train_loss"] for h in clf.net_.history]
            print(f"{loss:<15}{lam:>7g}{wgr:>8.3f}{line}{row['acc']:>8.3f}"
                  f"{row['F_colour']:>10.3f}{row['F_align']:>9.3f}{tl[-1]:>7.2f}"
                  f"{min(tl):>7.2f}{fit_s:>7.1f}", flush=True)
        for proto in protocols:
            if loss == "none":
                ref[proto] = cands[proto][0]
            rows[proto].append(select(cands[proto], ref[proto]))
    extra_rows = []
    if args.features == "cnn":
        # reference: the same CNN at lam=0 with plain shuffled batches
        plain = FairNetClassifier(**{**base_kw, "batch_sampling": "random"})
        pp = plain.fit(X[idx_fit], y[idx_fit]).predict(X_te)
        extra_rows.append(dict(loss="none (random batches)", lam=0,
                               acc=np.mean(pp == y_te),
                               F_colour=equal_opportunity(y_te, pp, colour_te),
                               F_align=equal_opportunity(y_te, pp, aligned(y_te, colour_te))))
        # reference: a colour-blind CNN (the stroke map, max over RGB scaled to 1 per
        # image, as one channel; same sampling and epochs as lam=0): the F_colour this
        # test split allows a CNN that cannot see colour at all
        blind = FairNetClassifier(**base_kw).fit(stroke_map(X[idx_fit]), y[idx_fit],
                                                 sensitive_features=colour[idx_fit])
        pb = blind.predict(stroke_map(X_te))
        extra_rows.append(dict(loss="(colour-blind)", lam=0, acc=np.mean(pb == y_te),
                               F_colour=equal_opportunity(y_te, pb, colour_te),
                               F_align=equal_opportunity(y_te, pb, aligned(y_te, colour_te))))
    if args.features == "embedding":
        # reference: a colour-blind model (stroke features only): the F this test split
        # allows a model that cannot see colour at all
        blind = FairNetClassifier(**base_kw).fit(X[idx_fit, :-3], y[idx_fit])
        pb = blind.predict(X_te[:, :-3])
        extra_rows.append(dict(loss="(colour-blind)", lam=0, acc=np.mean(pb == y_te),
                               F_colour=equal_opportunity(y_te, pb, colour_te),
                               F_align=equal_opportunity(y_te, pb, aligned(y_te, colour_te))))
    return {proto: r + extra_rows for proto, r in rows.items()}


def _acceptance(rows, label):
    base = next((r for r in rows if r["loss"] == "none"), None)
    eo = next((r for r in rows if r["loss"] == "eo_l2"), None)
    if base is None or eo is None:
        return
    for key in ("F_colour", "F_align"):
        target = (base[key] + 1) / 2
        ok = eo[key] >= target and eo["acc"] >= base["acc"] - 0.02
        print(f"{label} acceptance on {key}: EO-L2 {eo[key]:.3f} vs halfway target "
              f"{target:.3f}, acc {eo['acc']:.3f} vs lam=0 {base['acc']:.3f} -> "
              f"{'PASS' if ok else 'FAIL'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--features", choices=["embedding", "pixels", "cnn"], default="embedding")
    parser.add_argument("--n-samples", type=int, default=10000)
    parser.add_argument("--test-samples", type=int, default=None,
                        help="size of the unbiased test split (default: 30%% of "
                        "--n-samples); drawn from the same test pool of source digits")
    parser.add_argument("--epochs", type=int, default=None,
                        help="default 30 (MLP features), 15 (cnn)")
    parser.add_argument("--lr", type=float, default=None,
                        help="Adam's learning rate; default 1e-3 (MLP features), 3e-3 (cnn)")
    parser.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                        help="train every model with valid_split=0.1 and early stopping "
                        "(patience in epochs), keeping the epoch of lowest validation loss")
    parser.add_argument("--batch-sampling", default=None,
                        choices=["random", "group_balanced", "group_class_balanced"],
                        help="FairNetClassifier's batch_sampling for every model (lam=0 "
                        "included); default random (MLP features), group_class_balanced (cnn)")
    parser.add_argument("--max-grad-norm", type=float, default=None,
                        help="FairNetClassifier's max_grad_norm (gradient-norm clipping) "
                        "for every model, lam=0 included; default none")
    parser.add_argument("--augment", type=float, default=None, metavar="MIN_SCALE",
                        help="(cnn) train every model, lam=0 included, with random resized "
                        "crops keeping MIN_SCALE to 1 of the image area (no flip, no "
                        "colour change); default none")
    parser.add_argument("--losses", nargs="*", default=list(GRIDS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--valid", choices=["biased", "unbiased", "both"], default="biased",
                        help="validation data for choosing lam (see the docstring)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    results = {seed: run_seed(args, seed) for seed in args.seeds}
    for proto in next(iter(results.values())):
        per_seed = {seed: res[proto] for seed, res in results.items()}
        print(f"\n[{proto} validation] tuned lam per loss (chosen on the {proto} "
              "validation data; figures on the unbiased test split)")
        for seed, rows in per_seed.items():
            print(f"seed {seed}:")
            print(f"  {'loss':<23}{'lam':>7}{'acc':>8}{'F_colour':>10}{'F_align':>9}")
            for r in rows:
                print(f"  {r['loss']:<23}{r['lam']:>7g}{r['acc']:>8.3f}{r['F_colour']:>10.3f}"
                      f"{r['F_align']:>9.3f}")
            _acceptance(rows, f"  seed {seed}")
        if len(per_seed) > 1:
            names = [r["loss"] for r in next(iter(per_seed.values()))]
            mean = [
                {"loss": name, **{k: float(np.mean([r[k] for rows in per_seed.values()
                                                    for r in rows if r["loss"] == name]))
                                  for k in ("acc", "F_colour", "F_align")}}
                for name in names
            ]
            print(f"mean over seeds {list(per_seed)}:")
            print(f"  {'loss':<23}{'acc':>8}{'F_colour':>10}{'F_align':>9}")
            for r in mean:
                print(f"  {r['loss']:<23}{r['acc']:>8.3f}{r['F_colour']:>10.3f}"
                      f"{r['F_align']:>9.3f}")
            _acceptance(mean, "  mean")
    print(f"total {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
