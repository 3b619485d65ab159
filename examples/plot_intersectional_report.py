"""
====================================================
Intersectional group report and per-subgroup heatmap
====================================================

A model can serve every race and every gender about equally *on average* and
still fail one intersection of them: the groups an average over one attribute
hides. :func:`skfair.metrics.group_report` computes any metric overall, per
attribute and per intersection in one tidy table, and
:func:`skfair.plotting.plot_group_heatmap` draws it the way Venkatesh et al.
("Frowning upon Bias") tabulate expression-recognition accuracy: rows race,
columns age group, one panel per gender.

The population below is synthetic, so that we know where the bias is: the
features are noisier for older women of one group (``C``), as when a
training set holds few faces like theirs.
"""

# %%
# Data and a model
# ----------------
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skfair.metrics import age_groups

rng = np.random.default_rng(0)
n = 10000
people = pd.DataFrame({
    "race": rng.choice(["A", "B", "C"], size=n, p=[0.6, 0.25, 0.15]),
    "gender": rng.choice(["female", "male"], size=n),
    "age_group": age_groups(rng.uniform(5, 80, size=n)),
})
hard = ((people["race"] == "C") & (people["gender"] == "female")
        & people["age_group"].isin(["40-60", ">=60"])).to_numpy()
latent = rng.normal(size=n)
y = (latent > 0).astype(int)
noise = np.where(hard, 3.0, 0.3)
X = np.column_stack([latent + noise * rng.normal(size=n), rng.normal(size=(n, 3))])

X_train, X_test, y_train, y_test, S_train, S_test = train_test_split(
    X, y, people, test_size=0.5, random_state=0)
pred = LogisticRegression().fit(X_train, y_train).predict(X_test)

# %%
# One table, three levels
# -----------------------
# ``level`` says which rows are the overall figure, which the marginal groups
# of one attribute, and which the intersections (``n`` rows each).
from skfair.metrics import group_report

report = group_report(y_test, pred, sensitive_features=S_test,
                      metrics=["accuracy", "true_positive_rate", "selection_rate"])
report[report["level"] != "intersection"]

# %%
# Per attribute the gaps look moderate: group ``C`` trails by a few points, the
# genders and the age groups by less. The intersections show where the gap
# comes from: women of group ``C`` over 40 are classified barely better than
# by a coin.
report[report["level"] == "intersection"].sort_values("accuracy").head(5)

# %%
# A heatmap of every intersection
# -------------------------------
# Each cell gives its accuracy and its number of test rows; cells with fewer
# than ``min_n`` rows are faded and hatched, since their value is mostly noise.
from skfair.plotting import plot_group_heatmap

fig = plot_group_heatmap(y_test, pred, sensitive_features=S_test, rows="race",
                         columns="age_group", panels="gender", min_n=30)

# %%
# Summaries of the spread
# -----------------------
# Single numbers that a search can optimise: the spread of error rates over
# the intersections (Serna et al. 2022) and the equalized-odds difference (the
# largest gap in true- or false-positive rate between two intersections).
from skfair.metrics import equalized_odds_difference, group_error_spread

spread = group_error_spread(y_test, pred, sensitive_features=S_test)
print(f"error rate over the intersections: mean {spread.mean:.3f}, std {spread.std:.3f}")
print("EO difference over intersections:",
      round(equalized_odds_difference(y_test, pred, sensitive_features=S_test), 3))
print("EO difference over race alone:   ",
      round(equalized_odds_difference(y_test, pred, sensitive_features=S_test["race"]), 3))
