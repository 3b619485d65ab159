"""
==========================================
Bias amplification in multi-label learning
==========================================

In MS-COCO, "cooking" images show women more often than men; Zhao et al. (2017)
found that models trained on such data predict the label for women *even more*
often than the training data warrant: they amplify the bias. Their measure
compares, for every label ``o``, the share of the label's training occurrences
that fall in group ``g``, ``b_train(o, g)``, with the same share among the
predictions, ``b_pred(o, g)`` (:func:`skfair.metrics.bias_amplification`);
Wang & Russakovsky (2021) split it into directions
(:func:`skfair.metrics.directional_bias_amplification`).

Choi, Zhang & Liu ("Gender Fairness in Multi-label Classification using
Auxiliary Tasks") add an auxiliary loss that pulls ``b_pred`` towards
``b_train`` during training;
:class:`~skfair.estimators.FairNetMultiLabelClassifier` implements it
(``fairness="bias_amplification"``). The data are
:func:`skfair.datasets.make_biased_multilabel`: synthetic features with the
per-label gender skews of their Table 1 (eleven MS-COCO objects, 68.7 % men).
"""

# %%
# The data
# --------
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from skfair.datasets import make_biased_multilabel

data = make_biased_multilabel(n_samples=4000, random_state=0)
gender = data.sensitive["gender"]
labels = pd.DataFrame(data.target, columns=data.target_names)  # columns name the labels
X_train, X_test, Y_train, Y_test, g_train, g_test = train_test_split(
    data.data, labels, gender, test_size=0.3, stratify=gender, random_state=0)
print(f"{X_train.shape[0]} training rows, {Y_train.shape[1]} labels:",
      ", ".join(Y_train.columns))

# %%
# A plain network and one with the auxiliary loss
# -----------------------------------------------
# The same network (one hidden layer of 64 units), once with the per-label
# binary cross-entropy alone and once with ``lam`` times the auxiliary term
# computed on every mini-batch.
from skfair.estimators import FairNetMultiLabelClassifier

common = dict(hidden_sizes=(64,), max_epochs=20, lr=1e-3, batch_size=64,
              weight_decay=1e-4, device="cpu", random_state=0)
models = {
    "binary cross-entropy": FairNetMultiLabelClassifier(**common),
    "+ auxiliary loss": FairNetMultiLabelClassifier(fairness="bias_amplification",
                                                    lam=1.0, **common),
}
for model in models.values():
    model.fit(X_train, Y_train, sensitive_features=g_train)

# %%
# Measuring the amplification
# ---------------------------
# Zhao et al.'s score averages, over labels, how much further the predictions
# lean towards the group a label already leans to in training (positive:
# amplified). Wang & Russakovsky's directional score ``A->T`` asks how much
# the group changes the prediction of the labels, with the direction of each
# label's bias taken from the training set, as they recommend.
from skfair.metrics import bias_amplification, directional_bias_amplification

rows, tables = {}, {}
for name, model in models.items():
    Y_pred = pd.DataFrame(model.predict(X_test), columns=Y_test.columns, index=Y_test.index)
    amp, tables[name] = bias_amplification(Y_train, g_train, Y_pred, g_test,
                                           return_per_label=True)
    rows[name] = {
        "Zhao et al.": amp,
        "Wang & Russakovsky A->T": directional_bias_amplification(
            Y_test, g_test, Y_pred, g_test, direction="A->T",
            Y_train=Y_train, A_train=g_train),
        "label accuracy": np.mean(Y_pred.to_numpy() == Y_test.to_numpy()),
    }
pd.DataFrame(rows).T.round(4)

# %%
# Per label
# ---------
# :func:`skfair.plotting.plot_bias_amplification` draws each label's training
# bias towards men against its predicted bias, as Choi et al.'s figures do:
# points above the diagonal are amplified.
import matplotlib.pyplot as plt

from skfair.plotting import plot_bias_amplification

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
for ax, (name, table) in zip(axes, tables.items(), strict=True):
    plot_bias_amplification(table, group="man", ax=ax)
    ax.set_title(f"{name}\n{ax.get_title()}", fontsize=10)
fig.tight_layout()

# %%
# The plain network pushes every label further towards the gender it leans to
# in training, the strongly male-skewed ones most. The auxiliary loss
# holds each label's predicted share near its training share, for about one
# point of label accuracy. ``lam`` trades the two, and a grid search over it with a
# Pareto pick (:ref:`sphx_glr_auto_examples_plot_pareto_lambda.py`) works here
# as it does for classification.
