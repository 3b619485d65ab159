"""The benchmark's pieces: selection rule, metrics, method registry, data preparation."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from skfair.benchmark import (
    METHODS,
    DataConfig,
    compute_metrics,
    prepare_data,
    resolve_methods,
    run_benchmark,
    select_candidate,
)
from skfair.benchmark._data import DataError
from skfair.benchmark._methods import MethodError, gridsearch_grid_size, group_labels


def _c(acc, eo, name=""):
    return SimpleNamespace(val={"accuracy": acc, "eo_difference": eo}, method=name)


# ------------------------------------------------------------------ selection rule
def test_selection_prefers_fairest_within_tolerance():
    cands = [_c(0.90, 0.30, "a"), _c(0.892, 0.10, "b"), _c(0.889, 0.01, "c")]
    chosen, ok = select_candidate(cands, {"accuracy": 0.90}, kind="binary",
                                  metric="eo_difference", tolerance=0.01)
    # c is 1.1 points below the baseline: excluded; b is the fairest of the rest
    assert chosen.method == "b" and ok


def test_selection_boundary_is_inclusive():
    cands = [_c(0.89, 0.05, "edge"), _c(0.95, 0.2, "acc")]
    chosen, ok = select_candidate(cands, {"accuracy": 0.90}, kind="binary",
                                  metric="eo_difference", tolerance=0.01)
    assert chosen.method == "edge" and ok


def test_selection_falls_back_to_most_accurate():
    cands = [_c(0.70, 0.01, "fair"), _c(0.80, 0.2, "accurate")]
    chosen, ok = select_candidate(cands, {"accuracy": 0.90}, kind="binary",
                                  metric="eo_difference")
    assert chosen.method == "accurate" and not ok


def test_selection_ties_go_to_more_accurate_and_nan_is_last():
    cands = [_c(0.90, 0.1, "lo"), _c(0.91, 0.1, "hi"), _c(0.95, float("nan"), "nan")]
    chosen, _ = select_candidate(cands, {"accuracy": 0.90}, kind="binary",
                                 metric="eo_difference")
    assert chosen.method == "hi"


def test_selection_regression_uses_relative_mae():
    cands = [SimpleNamespace(val={"mae": 5.04, "mae_bias": 0.5}, method="a"),
             SimpleNamespace(val={"mae": 5.06, "mae_bias": 0.1}, method="b")]
    chosen, ok = select_candidate(cands, {"mae": 5.0}, kind="regression", metric="mae_bias",
                                  tolerance=0.01)
    assert chosen.method == "a" and ok  # b is 1.2% worse: excluded


# ------------------------------------------------------------------------ metrics
def test_compute_metrics_hand_computed():
    y = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    p = np.array([1, 1, 0, 0, 1, 0, 1, 0])
    S = pd.DataFrame({"g": list("aaaabbbb")})
    m = compute_metrics("binary", y, p, S)
    assert m["accuracy"] == pytest.approx(6 / 8)
    # group a: TPR 1, FPR 0; group b: TPR 0.5, FPR 0.5
    assert m["eo_difference"] == pytest.approx(0.5)
    # selection rates 0.5 and 0.5
    assert m["dp_difference"] == pytest.approx(0.0)
    assert m["error_spread"] == pytest.approx(0.25)  # errors 0 and 0.5, population std
    assert m["worst_group_accuracy"] == pytest.approx(0.5)
    assert m["balanced_accuracy"] == pytest.approx(0.75)


def test_compute_metrics_regression():
    y = np.array([10.0, 30.0, 50.0, 70.0])
    p = np.array([12.0, 30.0, 45.0, 70.0])
    S = pd.DataFrame({"g": list("abab")})
    m = compute_metrics("regression", y, p, S)
    assert m["mae"] == pytest.approx(7 / 4)
    # group a: errors 2, 5 -> 3.5; group b: 0, 0 -> 0
    assert m["mae_bias"] == pytest.approx(3.5)
    assert m["worst_group_mae"] == pytest.approx(3.5)


def test_compute_metrics_regression_chalearn_bias_per_attribute():
    from skfair.metrics import chalearn_bias

    y = np.array([10.0, 30.0, 50.0, 70.0, 15.0, 35.0, 55.0, 75.0])
    p = y + np.array([1.0, -2.0, 3.0, -9.0, 2.0, 1.0, -5.0, 4.0])
    S = pd.DataFrame({"race": list("aabbaabb")})
    attrs = pd.DataFrame({"race": list("aabbaabb"), "gender": list("mfmfmfmf")})
    m = compute_metrics("regression", y, p, S, attributes=attrs)
    # gender alone: MAE m = (1 + 3 + 2 + 5) / 4 = 2.75, f = (2 + 9 + 1 + 4) / 4 = 4 -> 1.25
    assert m["mae_bias_gender"] == pytest.approx(1.25)
    # race alone: a = (1 + 2 + 2 + 1) / 4 = 1.5, b = (3 + 9 + 5 + 4) / 4 = 5.25 -> 3.75
    assert m["mae_bias_race"] == pytest.approx(3.75)
    # the age groups of the true age: <20 1.5, 20-40 1.5, 40-60 4, >=60 6.5
    assert m["mae_bias_age"] == pytest.approx(
        mae_bias_pairs([1.5, 1.5, 4.0, 6.5]))
    expected = chalearn_bias(y, p, sensitive_features=attrs)
    assert m["mae_bias_mean"] == pytest.approx(expected["mean"])
    assert m["mae_bias_mean"] == pytest.approx(np.mean([1.25, 3.75, m["mae_bias_age"]]))
    # mae_bias stays over the sensitive groups S; without attributes, S is scored
    assert m["mae_bias"] == pytest.approx(3.75)
    plain = compute_metrics("regression", y, p, S)
    assert "mae_bias_gender" not in plain
    assert plain["mae_bias_mean"] == pytest.approx(np.mean([3.75, m["mae_bias_age"]]))
    # an attribute holding one group is NaN, named in the notes, and left out of the mean
    notes = []
    one = compute_metrics("regression", y, p, S, notes=notes,
                          attributes=attrs.assign(site="x"))
    assert np.isnan(one["mae_bias_site"])
    assert any(n.startswith("mae_bias_site undefined") for n in notes)
    assert one["mae_bias_mean"] == pytest.approx(m["mae_bias_mean"])


def mae_bias_pairs(maes):
    import itertools

    return np.mean([abs(a - b) for a, b in itertools.combinations(maes, 2)])


def test_run_benchmark_regression_reports_the_bias_of_every_attribute():
    """The ChaLearn bias of every attribute the data know (not only --sensitive), its mean,
    on test and validation rows; the attribute computed from the target is the true age
    groups' score."""
    from skfair.benchmark import BenchmarkData

    rng = np.random.default_rng(0)

    def part(n):
        age = rng.uniform(1, 80, n)
        X = np.column_stack([age / 40 + rng.normal(0, 0.3, n), rng.normal(size=n)])
        attrs = pd.DataFrame({"race": rng.choice(["a", "b"], n),
                              "gender": rng.choice(["f", "m"], n),
                              "age_group": ["x"] * n})
        return X.astype(np.float32), age, attrs

    (Xtr, ytr, Atr), (Xva, yva, Ava), (Xte, yte, Ate) = part(120), part(60), part(60)
    data = BenchmarkData(dataset="utkface", task="age", kind="regression", X_train=Xtr,
                         X_val=Xva, X_test=Xte, y_train=ytr, y_val=yva, y_test=yte,
                         S_train=Atr[["race"]], S_val=Ava[["race"]], S_test=Ate[["race"]],
                         attributes_test=Ate, attributes_val=Ava)
    res = run_benchmark(data, ["baseline"], quick=True, log=lambda s: None)
    row = res.results.iloc[0]
    for prefix in ("", "val_"):
        for col in ("mae_bias_race", "mae_bias_gender", "mae_bias_age", "mae_bias_mean"):
            assert np.isfinite(row[prefix + col])
        assert prefix + "mae_bias_age_group" not in row.index
    assert row["mae_bias_race"] == pytest.approx(row["mae_bias"])  # S is race alone
    assert row["mae_bias_mean"] == pytest.approx(
        np.mean([row["mae_bias_race"], row["mae_bias_gender"], row["mae_bias_age"]]))


def test_expert_ensemble_for_age_is_the_chalearn_entry_configuration():
    from skfair.benchmark import BenchmarkData, MethodContext
    from skfair.benchmark._methods import head_params

    rng = np.random.default_rng(0)
    n = 150
    age = rng.uniform(1, 80, n)
    X = np.column_stack([age / 40 + rng.normal(0, 0.3, n), rng.normal(size=n)]).astype(
        np.float32)
    S = pd.DataFrame({"race": rng.choice(["a", "b"], n), "gender": rng.choice(["f", "m"], n)})
    data = BenchmarkData(dataset="utkface", task="age", kind="regression", X_train=X,
                         X_val=X, X_test=X, y_train=age, y_val=age, y_test=age, S_train=S,
                         S_val=S, S_test=S)
    ctx = MethodContext(data=data, seed=2, head=head_params("regression", n, quick=True))
    model = METHODS["expert_ensemble"].build(ctx, None)
    ens = model.estimator
    assert [name for name, _, _ in ens.experts] == ["plain", "race", "gender", "age_years"]
    weightings = dict((name, w) for name, _, w in ens.experts)
    assert weightings["plain"] is None
    assert (weightings["race"].attributes, weightings["race"].target) == (["race"], "binned")
    assert (weightings["age_years"].attributes, weightings["age_years"].target) == ([], "year")
    assert len({est.random_state for _, est, _ in ens.experts}) == 4  # one seed each
    assert all(est.loss == "l1" for _, est, _ in ens.experts)
    assert (ens.final_weighting.attributes, ens.final_weighting.target) == ([], "binned")
    assert (ens.refit, ens.cv, ens.random_state) == (False, 5, 2)
    model.fit(X, age, S)
    assert model.predict(X, S).shape == (n,)
    assert len(ens.named_experts_["race"].estimators) == 5  # the mean of its fold models


def test_compute_metrics_collects_undefined_group_notes():
    y = np.array([1, 0, 1, 0, 1, 1])
    p = np.array([1, 0, 0, 0, 1, 0])
    S = pd.DataFrame({"g": list("aabbcc")})  # c has no negatives: no FPR there
    notes = []
    m = compute_metrics("binary", y, p, S, notes=notes)
    assert any("'c'" in n for n in notes)
    # TPR a=1, b=0, c=0.5 -> 1; FPR a=b=0
    assert m["eo_difference"] == pytest.approx(1.0)


def test_compute_metrics_undefined_metric_is_nan_with_a_note():
    y = np.array([1, 1, 0, 0])
    p = np.array([1, 0, 0, 0])
    S = pd.DataFrame({"g": ["a", "a", "b", "b"]})  # no group has both classes
    notes = []
    m = compute_metrics("binary", y, p, S, notes=notes)
    assert np.isnan(m["eo_difference"])
    assert any(n.startswith("eo_difference undefined") for n in notes)
    assert m["accuracy"] == pytest.approx(0.75)


# ----------------------------------------------------------------------- registry
def test_resolve_methods():
    assert resolve_methods("all") == list(METHODS)
    fast = resolve_methods("fast")
    assert "expert_ensemble" not in fast and fast[0] == "baseline"
    assert resolve_methods("logreg, fairnet_iou,logreg") == ["baseline", "logreg", "fairnet_iou"]
    with pytest.raises(MethodError, match="unknown method"):
        resolve_methods("fairnet_nope")


def test_registry_covers_the_issue():
    names = set(METHODS)
    for needed in ("baseline", "resample_mean", "resample_min", "resample_max",
                   "weights_marginal", "weights_intersectional", "affirmative_action",
                   "pixel_inversion", "fairnet_dp_l2", "fairnet_dp_mi", "fairnet_eo_l2",
                   "fairnet_eo_mi", "fairnet_iou", "fairnet_group_balanced",
                   "fairnet_adversarial", "fairnet_adversarial_confusion",
                   "attribute_aware", "fairlearn_eg_dp",
                   "fairlearn_eg_eo", "fairlearn_gs_dp", "fairlearn_gs_eo",
                   "fairlearn_to_dp", "fairlearn_to_eo"):
        assert needed in names, needed
    for name, m in METHODS.items():
        if name.startswith("fairnet_"):
            assert m.param == "lam" and len(m.grid) >= 4


def test_gridsearch_grid_size_follows_dimension():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = rng.integers(0, 2, size=200)
    S2 = pd.DataFrame({"g": rng.choice(list("ab"), size=200)})
    S5 = pd.DataFrame({"g": rng.choice(list("abcde"), size=200)})
    size, dim = gridsearch_grid_size("eo", X, y, S5)
    assert dim >= 8 and size == min(2 ** dim, 400)
    size2, dim2 = gridsearch_grid_size("dp", X, y, S2)
    assert size2 == 20 and dim2 < dim


def test_vectorised_gap_matches_skfair_metrics():
    from skfair.benchmark._stats import bootstrap_intervals, gap_statistic, noise_floor
    from skfair.metrics import equalized_odds_difference, mae_bias_score

    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, 500)
    onehot = np.eye(4)[codes]
    for kind, k in (("binary", 2), ("multiclass", 3)):
        y = rng.integers(0, k, 500)
        p = np.where(rng.random(500) < 0.7 + 0.05 * codes, y, rng.integers(0, k, 500))
        ours = gap_statistic(kind, y, p, onehot, np.ones((1, 500)))[0]
        assert ours == pytest.approx(equalized_odds_difference(y, p, sensitive_features=codes))
    yr = rng.normal(40, 10, 500)
    pr = yr + rng.normal(0, 1 + codes, 500)
    ours = gap_statistic("regression", yr, pr, onehot, np.ones((1, 500)))[0]
    assert ours == pytest.approx(mae_bias_score(yr, pr, sensitive_features=codes))
    # intervals cover the point estimate; shuffled labels show a smaller gap than real ones
    ci = bootstrap_intervals("regression", yr, {"m": pr}, codes, n_boot=100)
    assert ci.loc["m", "gap_low"] <= ours <= ci.loc["m", "gap_high"]
    floor = noise_floor("regression", yr, pr, codes, n_perm=100)
    assert floor["observed"] == pytest.approx(ours) and floor["q95"] < ours


def test_group_labels_intersections():
    S = pd.DataFrame({"race": ["a", "b", "a"], "sex": ["F", "F", "M"]})
    assert list(group_labels(S)) == ["race=a, sex=F", "race=b, sex=F", "race=a, sex=M"]


# --------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def digits():
    return prepare_data(DataConfig(quick=True, n_samples=300), log=lambda s: None)


def test_colored_digits_split(digits):
    from skfair.datasets import make_colored_digits

    d = digits
    n = len(d.y_train) + len(d.y_val) + len(d.y_test)
    assert n == 300
    assert d.kind == "binary" and set(np.unique(d.y_train)) == {0, 1}
    # features standardised on train
    assert np.allclose(d.X_train.mean(axis=0), 0, atol=1e-4)
    # train is biased (colour = parity colour), validation and test are not
    both = make_colored_digits(n_samples=300, bias=0.95, n_colors=2, image_size=8,
                               split="both", test_size=0.5, random_state=0)
    colors = both.test.color_names

    def agreement(y, S):
        return float(np.mean(np.asarray(colors, dtype=object)[y] == S["color"].to_numpy()))

    assert agreement(d.y_train, d.S_train) > 0.9
    assert agreement(d.y_val, d.S_val) < 0.8 and agreement(d.y_test, d.S_test) < 0.8
    assert d.X_train_inverted.shape == d.X_train.shape
    assert not np.allclose(d.X_train_inverted, d.X_train)


def test_backbone_features_are_cached(tmp_path):
    cfg = DataConfig(quick=True, n_samples=120, features="backbone", backbone_epochs=1,
                     cache_dir=str(tmp_path))
    first = prepare_data(cfg, log=lambda s: None)
    assert first.info["cache"].startswith("written")
    assert first.X_train.shape[1] == 128 and "training split only" in first.provenance
    second = prepare_data(cfg, log=lambda s: None)
    assert second.info["cache"].startswith("hit")
    np.testing.assert_array_equal(first.X_test, second.X_test)


def test_bad_task_and_attribute():
    with pytest.raises(DataError, match="unknown task"):
        prepare_data(DataConfig(task="gender"), log=lambda s: None)
    with pytest.raises(DataError, match="unknown sensitive"):
        prepare_data(DataConfig(sensitive=("race",)), log=lambda s: None)
    with pytest.raises(DataError, match="unknown dataset"):
        prepare_data(DataConfig(dataset="mnist"), log=lambda s: None)


def test_run_benchmark_multiclass_skips_binary_only(digits):
    d = prepare_data(DataConfig(quick=True, n_samples=300, task="digit"), log=lambda s: None)
    assert d.kind == "multiclass"
    res = run_benchmark(d, ["baseline", "fairnet_eo_l2", "fairlearn_eg_eo"], quick=True,
                        log=lambda s: None)
    assert "fairlearn_eg_eo" in res.skipped and "binary" in res.skipped["fairlearn_eg_eo"]
    row = res.results.set_index("method").loc["fairnet_eo_l2"]
    assert row["status"] == "ok" and row["value"] in METHODS["fairnet_eo_l2"].grid
    assert res.best == "fairnet_eo_l2"


def test_best_peer_by_the_selection_rule(digits):
    peers = ["fairlearn_to_eo", "fairlearn_to_dp", "fairlearn_gs_dp"]
    res = run_benchmark(digits, ["baseline", "fairnet_eo_l2", *peers], quick=True,
                        log=lambda s: None)
    ok = res.results.set_index("method")

    def val(m):
        return {k[4:]: v for k, v in ok.loc[m].items() if k.startswith("val_")}

    chosen, _ = select_candidate([SimpleNamespace(method=m, val=val(m)) for m in peers],
                                 val("baseline"), kind="binary", metric="eo_difference")
    assert res.best_peer == chosen.method
    assert res.best_by_family == {"fairlearn": chosen.method}
    assert res.best_fairlearn == chosen.method  # the former attribute still answers
    assert res.best == "fairnet_eo_l2"


def test_affirmative_action_never_boosts_every_subgroup(digits):
    # two colours: boosting "the 2 worst" would weigh every row alike (the baseline again)
    assert digits.S_train["color"].nunique() == 2
    res = run_benchmark(digits, ["baseline", "affirmative_action"], quick=True,
                        log=lambda s: None)
    assert res.notes["affirmative_action"].startswith(
        "boosted subgroups (the 1 worst of the baseline on validation): color=")
    assert res.notes["affirmative_action"].count("color=") == 1
    assert not np.array_equal(res.predictions["affirmative_action"],
                              res.predictions["baseline"])


def test_run_benchmark_requires_baseline_first(digits):
    with pytest.raises(ValueError, match="baseline"):
        run_benchmark(digits, ["logreg"], quick=True, log=lambda s: None)


def test_real_data_tabular(tabular_dir, tmp_path):
    d = prepare_data(DataConfig(dataset="compas", data_dir=str(tabular_dir), quick=True),
                     log=lambda s: None)
    assert d.kind == "binary" and d.sensitive_names == ["race"]
    assert "race" not in d.provenance  # the sensitive columns are not features
    res = run_benchmark(d, ["baseline", "fairlearn_to_eo"], quick=True, log=lambda s: None)
    assert (res.results["status"] == "ok").all()


def test_split_pools_single_row_cells_and_says_so():
    """A cell of one row used to make the whole split unstratified, silently."""
    from skfair.benchmark._data import _safe_split

    strata = np.array(["a"] * 50 + ["b"] * 50 + ["c"])
    notes = []
    train, test = _safe_split(np.arange(101), strata, 0.3, 0, notes, "test")
    assert len(test) == 31 and sorted(np.r_[train, test]) == list(range(101))
    counts = {c: int(np.sum(strata[test] == c)) for c in "ab"}
    assert counts == {"a": 15, "b": 15} or abs(counts["a"] - counts["b"]) <= 1
    assert notes == ["1 single-row cells pooled for the test split"]
    notes = []
    # 4 cells of 2 rows, 2 test rows: no stratified split exists
    _safe_split(np.arange(8), np.repeat(list("abcd"), 2), 0.25, 0, notes, "validation")
    assert notes == ["the validation split is not stratified (too few rows per cell)"]
    notes = []
    _safe_split(np.arange(100), np.array(["a", "b"] * 50), 0.3, 0, notes)
    assert notes == []


def test_an_attribute_computed_from_the_target_is_not_given_at_predict_time():
    """UTKFace's age_group is a binning of the target age: attribute_aware would be handed
    the label (the guard compared names only)."""
    from skfair.benchmark import BenchmarkData

    def data(task, sensitive):
        S = pd.DataFrame({sensitive: ["a", "b"]})
        z = np.zeros((2, 1), np.float32)
        return BenchmarkData(dataset="utkface", task=task, kind="regression", X_train=z,
                             X_val=z, X_test=z, y_train=np.zeros(2), y_val=np.zeros(2),
                             y_test=np.zeros(2), S_train=S, S_val=S, S_test=S)

    assert data("age", "age_group").target_revealing_attributes == ["age_group"]
    assert data("age", "race").target_revealing_attributes == []
    reason = METHODS["attribute_aware"].unavailable_reason(data("age", "age_group"), False)
    assert "computed from it" in reason
    assert METHODS["attribute_aware"].unavailable_reason(data("age", "race"), False) is None


def test_tabular_source_of_a_derived_attribute_is_not_a_feature(tabular_dir):
    cfg = DataConfig(dataset="compas", data_dir=str(tabular_dir), quick=True,
                     sensitive=("age_cat",))
    d = prepare_data(cfg, log=lambda s: None)
    assert "'age'" in d.description and "age_cat is computed from age" in d.description
    plain = prepare_data(DataConfig(dataset="compas", data_dir=str(tabular_dir), quick=True),
                         log=lambda s: None)
    assert d.X_train.shape[1] < plain.X_train.shape[1]
