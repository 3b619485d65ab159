"""The benchmark on real faces: thresholded age tasks, face descriptors, peers on validation."""

import numpy as np
import pandas as pd
import pytest

from skfair.benchmark import (
    DATASETS,
    METHODS,
    BenchmarkData,
    DataConfig,
    prepare_data,
    run_benchmark,
)
from skfair.benchmark._data import DataError, _resolve_task, resolve_features, split_task
from skfair.benchmark._methods import MethodContext

UTK = DATASETS["utkface"]


def quiet(_):
    pass


# ------------------------------------------------------------------ tasks
@pytest.mark.parametrize("task, expected", [
    ("age>30", ("age", 30.0)), (" age > 45 ", ("age", 45.0)), ("age>2.5", ("age", 2.5)),
    ("gender", ("gender", None)), ("race>3", ("race>3", None)),
])
def test_split_task(task, expected):
    assert split_task(UTK, task) == expected


def test_threshold_task_is_binary_with_its_default_attribute():
    assert _resolve_task(UTK, "age>30", None) == ("age>30", "binary", ("gender",))
    assert _resolve_task(UTK, "age > 30", ("race",)) == ("age>30", "binary", ("race",))
    with pytest.raises(DataError, match=r"unknown task 'height>3'.*age>T"):
        _resolve_task(UTK, "height>3", None)
    with pytest.raises(DataError, match="unknown task"):
        _resolve_task(DATASETS["adult"], "age>30", None)  # adult thresholds nothing


def test_age_group_reveals_a_thresholded_age():
    S = pd.DataFrame({"age_group": ["a", "b"], "race": ["x", "y"]})
    z = np.zeros((2, 1), np.float32)
    data = BenchmarkData(dataset="utkface", task="age>30", kind="binary", X_train=z, X_val=z,
                         X_test=z, y_train=np.zeros(2), y_val=np.zeros(2), y_test=np.zeros(2),
                         S_train=S, S_val=S, S_test=S)
    assert data.target_revealing_attributes == ["age_group"]
    assert "handed the label" in METHODS["fairlearn_to_eo"].unavailable_reason(data, False)


# ------------------------------------------------------------------ features
def test_auto_features_fall_back_to_the_backbone_without_the_extra(monkeypatch):
    import skfair.benchmark._data as data_mod

    monkeypatch.setattr(data_mod, "faces_extra_available", lambda: False)
    features, note = resolve_features(UTK, DataConfig(dataset="utkface"))
    assert features == "backbone" and "skfair-suite[faces]" in note
    with pytest.raises(DataError, match=r"needs the 'faces' extra"):
        resolve_features(UTK, DataConfig(dataset="utkface", features="face"))
    monkeypatch.setattr(data_mod, "faces_extra_available", lambda: True)
    assert resolve_features(UTK, DataConfig(dataset="utkface")) == ("face", None)
    assert resolve_features(DATASETS["colored_digits"], DataConfig())[0] == "pixels"
    with pytest.raises(DataError, match="tabular"):
        resolve_features(DATASETS["adult"], DataConfig(dataset="adult", features="face"))


@pytest.mark.realdata
def test_face_descriptors_of_a_thresholded_age_task_and_the_cache(utkface_dir, tmp_path):
    pytest.importorskip("dlib")
    cfg = DataConfig(dataset="utkface", data_dir=str(utkface_dir), task="age>30",
                     n_samples=60, cache_dir=str(tmp_path), seed=1)
    first = prepare_data(cfg, log=quiet)
    assert first.kind == "binary" and first.info["features"] == "face"
    assert first.X_train.shape[1] == 128 and first.sensitive_names == ["gender"]
    assert "dlib" in first.provenance and "60% train, 20% validation, 20% test" in (
        first.description)
    assert (first.info["face_extracted"], first.info["face_cached"]) == (60, 0)
    n = len(first.y_train) + len(first.y_val) + len(first.y_test)
    assert n == 60 and set(np.unique(first.y_train)) == {0, 1}
    # a second run extracts nothing: the counter proves it
    second = prepare_data(cfg, log=quiet)
    assert (second.info["face_extracted"], second.info["face_cached"]) == (0, 60)
    np.testing.assert_array_equal(second.X_test, first.X_test)


@pytest.mark.realdata
def test_thresholded_target_matches_the_ages(utkface_dir):
    """age>30 is 1 exactly for the faces older than 30 (checked on the file names)."""
    from skfair.benchmark._data import _load_faces

    cfg = DataConfig(dataset="utkface", data_dir=str(utkface_dir), n_samples=200)
    raw = _load_faces(cfg, UTK, "age>30", "binary", "face")
    ages = np.array([int(str(p).rsplit("/", 1)[-1].split("_")[0]) for p in
                     raw["paths"][raw["keep"]]])
    np.testing.assert_array_equal(raw["y"], (ages > 30).astype(int))
    assert raw["target_names"] == ["age<=30", "age>30"]


# ------------------------------------------------------------------ peers on validation
@pytest.fixture(scope="module")
def tabular_like():
    rng = np.random.default_rng(0)
    n = 600
    g = rng.integers(0, 2, n)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    X[:, 0] += g
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0.5).astype(np.int64)
    S = pd.DataFrame({"g": np.where(g == 1, "a", "b")})
    part = np.array_split(np.arange(n), [360, 480])
    return BenchmarkData(
        dataset="synthetic", task="t", kind="binary",
        X_train=X[part[0]], X_val=X[part[1]], X_test=X[part[2]],
        y_train=y[part[0]], y_val=y[part[1]], y_test=y[part[2]],
        S_train=S.iloc[part[0]].reset_index(drop=True),
        S_val=S.iloc[part[1]].reset_index(drop=True),
        S_test=S.iloc[part[2]].reset_index(drop=True))


def test_threshold_optimizer_fits_its_rule_on_the_validation_rows(tabular_like):
    d = tabular_like
    ctx = MethodContext(data=d)
    model = METHODS["fairlearn_to_eo"].build(ctx, None).fit(d.X_train, d.y_train, d.S_train)
    base, _ = ctx.shared["logreg_base"]
    rule = model.rule_.rule
    assert rule.prefit and rule.estimator is base.estimator
    # the same rule fitted by hand on the validation rows predicts the same
    from fairlearn.postprocessing import ThresholdOptimizer

    by_hand = ThresholdOptimizer(estimator=base.estimator, constraints="equalized_odds",
                                 predict_method="predict_proba", prefit=True)
    by_hand.fit(d.X_val.astype(np.float64), d.y_val, sensitive_features=d.S_val["g"])
    expected = by_hand.predict(d.X_test.astype(np.float64), sensitive_features=d.S_test["g"],
                               random_state=ctx.seed)
    np.testing.assert_array_equal(model.predict(d.X_test, d.S_test), expected)
    # a second post-processor reuses the base and is charged its fit time
    other = METHODS["fairlearn_to_dp"].build(ctx, None).fit(d.X_train, d.y_train, d.S_train)
    assert other.base_ is base and other.extra_fit_s == ctx.shared["logreg_base"][1]


def test_oxonfair_runs_on_validation_and_is_cut_by_its_budget(tabular_like):
    pytest.importorskip("oxonfair")
    res = run_benchmark(tabular_like, ["baseline", "oxonfair_eo"], quick=True, log=quiet)
    row = res.results.set_index("method").loc["oxonfair_eo"]
    assert row["status"] == "ok" and row["value"] in METHODS["oxonfair_eo"].grid
    cut = run_benchmark(tabular_like, ["baseline", "oxonfair_dp"], quick=True, log=quiet,
                        peer_budget=1e-3)
    status = cut.results.set_index("method").loc["oxonfair_dp", "status"]
    assert status.startswith("cut:") and "budget" in status


def test_skfair_post_processors_fit_their_rule_on_the_validation_rows(tabular_like):
    from skfair.postprocessing import FairThresholdClassifier

    d = tabular_like
    ctx = MethodContext(data=d)
    for name, randomize in (("postprocess_eo", False), ("postprocess_eo_randomized", True)):
        model = METHODS[name].build(ctx, 0.02).fit(d.X_train, d.y_train, d.S_train)
        rule = model.rule_.rule
        assert rule.prefit and rule.randomize is randomize and rule.tolerance == 0.02
        base, _ = ctx.shared["logreg_base"]
        by_hand = FairThresholdClassifier(base.estimator, tolerance=0.02, prefit=True,
                                          randomize=randomize, random_state=ctx.seed)
        by_hand.fit(d.X_val.astype(np.float64), d.y_val, sensitive_features=d.S_val)
        np.testing.assert_array_equal(
            model.predict(d.X_test, d.S_test),
            by_hand.predict(d.X_test.astype(np.float64), sensitive_features=d.S_test))
