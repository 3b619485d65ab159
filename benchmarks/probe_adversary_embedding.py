"""Does the adversary remove the sensitive attribute from the embedding?

A probe behind the main job's adversarial rows (``skfair benchmark``: coloured digits,
parity task, colour the sensitive attribute, training split biased 0.95, validation and
test unbiased; the benchmark's MLP head of 64 hidden units on the 16x16 RGB pixels). For
``FairNetClassifier(fairness="adversarial")`` (gradient reversal) and
``fairness="adversarial_confusion"`` (the confusion game) at each ``lam`` it prints, on
the unbiased test split:

- accuracy, equal-opportunity and demographic-parity differences;
- ``probe``: the test accuracy of a logistic regression fitted on the network's hidden
  layer (the adversary's input) of the training rows to predict the colour: how much of
  the colour the embedding still carries (0.5 is chance, the two colours being balanced).

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/probe_adversary_embedding.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/probe_adversary_embedding.py --lams 1 3

About 2 s per fit on one CPU core.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from skfair.benchmark import compute_metrics
from skfair.benchmark._data import DataConfig, prepare_data
from skfair.benchmark._methods import head_params
from skfair.estimators import FairNetClassifier


def hidden_layer(clf, X):
    """The network's embedding (its last hidden layer) of the rows ``X``."""
    with torch.no_grad():
        return clf.net_.module_.body(torch.as_tensor(X))[1].numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lams", nargs="*", type=float, default=[0.3, 1.0, 3.0, 10.0, 30.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    data = prepare_data(DataConfig(seed=args.seed), log=lambda *a, **k: None)
    head = head_params(data.kind, len(data.y_train), seed=args.seed)
    colour_train = data.S_train["color"].to_numpy()
    colour_test = data.S_test["color"].to_numpy()
    print(f"{data.dataset}: {data.description}")
    print(f"{'fairness':<24}{'lam':>6}{'acc':>8}{'EO diff':>9}{'DP diff':>9}{'probe':>8}"
          f"{'fit_s':>7}")
    runs = [(None, 0.0)] + [(kind, lam) for kind in ("adversarial", "adversarial_confusion")
                            for lam in args.lams]
    for fairness, lam in runs:
        t = time.perf_counter()
        clf = FairNetClassifier(**{**head, "fairness": fairness, "lam": lam, "verbose": 0})
        clf.fit(data.X_train, data.y_train, sensitive_features=colour_train)
        fit_s = time.perf_counter() - t
        m = compute_metrics(data.kind, data.y_test, clf.predict(data.X_test), data.S_test)
        probe = LogisticRegression(max_iter=3000).fit(hidden_layer(clf, data.X_train),
                                                      colour_train)
        probe_acc = np.mean(probe.predict(hidden_layer(clf, data.X_test)) == colour_test)
        print(f"{str(fairness):<24}{lam:>6g}{m['accuracy']:>8.3f}{m['eo_difference']:>9.3f}"
              f"{m['dp_difference']:>9.3f}{probe_acc:>8.3f}{fit_s:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
