"""
=====================================================
Choosing the fairness strength on the Pareto front
=====================================================

Every in-processing method has a knob: ``lam`` weighs the fairness term
against the task loss (``loss = task + lam * fairness``, Hänel et al. 2022),
and no single value is right for every dataset. A grid search that scores
accuracy *and* a fairness metric on held-out folds traces the trade-off;
:func:`skfair.metrics.pareto_front` keeps the candidates no other candidate
beats on both, and :func:`skfair.metrics.pareto_refit` picks one of them as
``GridSearchCV``'s ``refit``.

The data are the biased coloured digits of
:ref:`sphx_glr_auto_examples_plot_colored_digits_shortcut.py` (colour agrees
with the digit's parity in 90 % of the training rows), and the search uses only
the training rows, as it would in practice.
"""

# %%
# A multi-metric search over ``lam``
# ----------------------------------
# ``make_fairness_scorer`` turns a fairness metric into a scorer that asks for
# ``sensitive_features`` through scikit-learn's metadata routing; the network
# asks for them too. Differences are negated, as scikit-learn's ``neg_*``
# scorers are, so that greater is better for every score.
import sklearn
from sklearn.model_selection import GridSearchCV

from skfair.datasets import make_colored_digits
from skfair.estimators import FairNetClassifier
from skfair.metrics import make_fairness_scorer, pareto_front, pareto_refit

data = make_colored_digits(
    n_samples=2000, bias=0.9, n_colors=2, image_size=16, split="both", random_state=0
)
train, test = data["train"], data["test"]
y_train, y_test = train.target % 2, test.target % 2

search = GridSearchCV(
    FairNetClassifier(fairness="dp_l2", hidden_sizes=(32,), max_epochs=15, device="cpu",
                      random_state=0),
    {"lam": [0.0, 0.3, 1.0, 3.0, 10.0, 30.0]},
    scoring={"accuracy": "accuracy",
             "eo": make_fairness_scorer("equalized_odds_difference")},
    refit=pareto_refit(["accuracy", "eo"]),
    cv=3,
)
with sklearn.config_context(enable_metadata_routing=True):
    search.fit(train.data, y_train, sensitive_features=train.sensitive["color"])

# %%
# The front
# ---------
# Each row is a value of ``lam`` that no other value beats on both
# cross-validated accuracy and (negated) equalized-odds difference.
front = pareto_front(search.cv_results_, ["accuracy", "eo"])
front[["param_lam", "mean_test_accuracy", "mean_test_eo"]]

# %%
# ``plot_pareto_front`` draws every candidate and the front; ``"-eo"`` plots
# the difference itself rather than its negation.
from skfair.plotting import plot_pareto_front

ax = plot_pareto_front(search.cv_results_, "-eo", "accuracy", annotate="lam",
                       xlabel="EO difference (cross-validated)",
                       ylabel="accuracy (cross-validated)")

# %%
# The pick
# --------
# ``pareto_refit`` chose the front point closest to the ideal corner (each
# score scaled to [0, 1] over the front) and refitted it on all the training
# rows. ``select="accuracy"`` with ``constraints={"eo": -0.1}`` would instead
# take the most accurate point whose EO difference is at most 0.1.
from skfair.metrics import equalized_odds_difference

print("chosen:", search.best_params_)
for lam in (0.0, search.best_params_["lam"]):
    model = sklearn.clone(search.estimator).set_params(lam=lam)
    model.fit(train.data, y_train, sensitive_features=train.sensitive["color"])
    pred = model.predict(test.data)
    eo = equalized_odds_difference(y_test, pred, sensitive_features=test.sensitive["color"])
    print(f"lam={lam:<5} test accuracy {(pred == y_test).mean():.3f}, EO difference {eo:.3f}")

# %%
# On the training folds accuracy falls as ``lam`` grows, since the colour
# shortcut pays there; on the test split, where colour is independent of the
# label, the chosen model is both more accurate and fairer than ``lam=0``.
# Cross-validation on biased data sees the shortcut only through the rows whose
# colour disagrees with the label (10 % here): with fewer such rows its
# fairness estimates get noisier, and a validation set drawn the way the model
# will be used is worth more than any rule.
