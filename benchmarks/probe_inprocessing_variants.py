"""Probe: training variants of the FairNet fairness terms on real faces, lam path and rule.

Prototype options of ``FairNetClassifier`` measured here (present at this commit only):

* ``fairness_split=f``: the fairness term of every step is computed on a batch of a
  held-out fraction ``f`` of the training rows (every (group, class) cell in it), rows the
  task loss never fits (the two-dataset idea of Cotter et al. 2019); ``0``: the same second
  stream drawn from the training rows themselves;
* ``fairness_batch_size``: the size of that fairness batch (default ``batch_size``);
* ``valid_split=0.2, select_tolerance=t``: keep the epoch with the lowest validation
  equalized-odds difference among the epochs within ``t`` of the best validation accuracy;
* ``batch_sampling="group_class_balanced"``;
* ``hard``: the equalized-odds L2 term on hard decisions, straight-through gradient.

For every seed (the benchmark's 60/20/20 split of utkface-full, dlib descriptors, the
benchmark's head) each variant is fitted at every ``lam``; the benchmark's rule (within
one accuracy point of the baseline on validation, lowest validation EO) picks one lam per
seed. Prints the mean test figures of every lam and of the rule's picks.

    SKFAIR_CACHE_DIR=/work/cache OMP_NUM_THREADS=1 python \
        benchmarks/probe_inprocessing_variants.py --task gender --sensitive race \
        --variants current split+select gcb stream --seeds 0 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import os
import warnings

import numpy as np
import torch

VARIANTS = {
    "current": {},
    "split+select": {"valid_split": 0.2, "select_tolerance": 0.01},
    "split": {"valid_split": 0.2},
    "gcb": {"batch_sampling": "group_class_balanced"},
    "stream": {"fairness_split": 0.2},
    "stream-1024": {"fairness_split": 0.2, "fairness_batch_size": 1024},
    "train-1024": {"fairness_split": 0.0, "fairness_batch_size": 1024},
    "hard-train-1024": {"fairness_split": 0.0, "fairness_batch_size": 1024, "hard": True},
}


def hard_eo_loss():
    from skfair.losses import EqualizedOddsLoss
    from skfair.losses._fairness import equalized_odds_loss

    class HardEO(EqualizedOddsLoss):
        """EO-L2 of the hard decisions; the gradient of the soft ones (straight-through)."""

        def forward(self, input, y=None, groups=None, *, n_groups=None):
            p = torch.softmax(input, 1)
            hard = torch.nn.functional.one_hot(p.argmax(1), p.shape[1]).to(p.dtype)
            return equalized_odds_loss(hard + p - p.detach(), y, groups, self.kind,
                                       n_groups=self._groups_count(n_groups))

    return HardEO()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="gender")
    p.add_argument("--sensitive", default="race")
    p.add_argument("--loss", default="eo_l2")
    p.add_argument("--lams", type=float, nargs="+", default=[1, 3, 10, 30])
    p.add_argument("--variants", nargs="+", default=["current"], choices=list(VARIANTS))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--data-dir", default=os.environ.get("SKFAIR_FACES_DIR",
                                                        "/work/shared/data/utkface-full"))
    p.add_argument("--cache-dir", default=os.environ.get("SKFAIR_CACHE_DIR"))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    from skfair.benchmark import DataConfig, prepare_data
    from skfair.benchmark._methods import head_params
    from skfair.benchmark._runner import compute_metrics, select_candidate
    from skfair.estimators import FairNetClassifier

    class Cand:
        def __init__(self, lam, val, test):
            self.value, self.val, self.test = lam, val, test

    paths, picks = {}, {}
    for seed in args.seeds:
        d = prepare_data(DataConfig(dataset="utkface", data_dir=args.data_dir, task=args.task,
                                    sensitive=tuple(args.sensitive.split(",")), seed=seed,
                                    cache_dir=args.cache_dir), log=lambda s: None)
        hp = head_params(d.kind, len(d.y_train), seed=seed)

        def metrics(m, X, y, S):
            return compute_metrics(d.kind, y, m.predict(X), S)

        base = FairNetClassifier(**hp).fit(d.X_train, d.y_train)
        ref = Cand(None, metrics(base, d.X_val, d.y_val, d.S_val),
                   metrics(base, d.X_test, d.y_test, d.S_test))
        picks.setdefault("baseline", []).append((ref, ref))
        for name in args.variants:
            params = dict(VARIANTS[name])
            loss = hard_eo_loss() if params.pop("hard", False) else args.loss
            cands = []
            for lam in args.lams:
                m = FairNetClassifier(**hp, **params, fairness=loss, lam=lam)
                m.fit(d.X_train, d.y_train, sensitive_features=d.S_train)
                c = Cand(lam, metrics(m, d.X_val, d.y_val, d.S_val),
                         metrics(m, d.X_test, d.y_test, d.S_test))
                cands.append(c)
                paths.setdefault((name, lam), []).append((c, ref))
            chosen, _ = select_candidate(cands, ref.val, kind=d.kind, metric="eo_difference")
            picks.setdefault(name, []).append((chosen, ref))
        print(f"seed {seed} done", flush=True)

    def line(label, pairs):
        acc = np.mean([c.test["accuracy"] for c, _ in pairs])
        eo = np.mean([c.test["eo_difference"] for c, _ in pairs])
        dacc = np.mean([c.test["accuracy"] - r.test["accuracy"] for c, r in pairs])
        rel = np.mean([(c.test["eo_difference"] - r.test["eo_difference"])
                       / r.test["eo_difference"] for c, r in pairs])
        return (f"| {label} | {acc:.4f} | {eo:.4f} | {100 * dacc:+.2f} | {100 * rel:+.1f}% |")

    print(f"\n{args.task} vs {args.sensitive}, loss {args.loss}, seeds {args.seeds}; test "
          "means (Δ against the baseline of the same seed)\n")
    print("| variant, lam | accuracy | EO diff | Δacc pts | ΔEO % |\n|---|---|---|---|---|")
    for (name, lam), pairs in paths.items():
        print(line(f"{name}, lam={lam:g}", pairs))
    for name, pairs in picks.items():
        lams = ",".join("-" if c.value is None else f"{c.value:g}" for c, _ in pairs)
        print(line(f"**{name}, rule** ({lams})", pairs))


if __name__ == "__main__":
    main()
