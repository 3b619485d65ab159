"""The report on constructed results: bias verdict, best peer, wall times, glossary,
no-effect notes, dominance table and the Pareto plot's labels."""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

from skfair.benchmark import (
    METHODS,
    BenchmarkData,
    BenchmarkResult,
    compute_metrics,
    select_candidate,
)
from skfair.benchmark._report import (
    _GLOSSARY,
    _dominance_lines,
    _glossary_lines,
    _pareto_figure,
    bias_verdict,
    no_effect_notes,
    summarize,
    write_report,
)
from skfair.benchmark._runner import _add_uncertainty

matplotlib.use("Agg")

N = 800  # test rows: two groups x two classes x 200


def _labels():
    y = np.tile(np.repeat([0, 1], 200), 2)
    S = pd.DataFrame({"color": np.repeat(["red", "green"], 400)})
    return y, S


def _flip(y, mask_fn):
    """``y`` with the rows selected by ``mask_fn(index within its group-class cell)`` flipped."""
    pred = y.copy()
    for start in range(0, N, 200):
        idx = np.arange(start, start + 200)
        pred[idx[mask_fn(np.arange(200))]] ^= 1
    return pred


def _result(*, biased, peers_times=None):
    """A constructed run: baseline, two skfair methods (one identical to the baseline), two
    fairlearn methods and one method of a peer family the report has never heard of."""
    y, S = _labels()
    even = _flip(y, lambda i: i % 5 == 0)  # 20% errors in every group and class
    if biased:
        # group red: every error on the positives; green: on the negatives -> big EO gap
        base = y.copy()
        base[:200][np.arange(200) % 5 == 0] = 1  # red negatives predicted positive (40)
        base[600:][np.arange(200) % 5 == 0] = 0  # green positives predicted negative (40)
        base[200:400][np.arange(200) % 2 == 0] ^= 1  # red positives: half wrong
    else:
        base = even
    fair = _flip(y, lambda i: i % 10 == 0)  # 10% errors everywhere: fair and accurate
    preds = {
        "baseline": base,
        "affirmative_action": base.copy(),  # no effect
        "fairnet_eo_l2": fair,
        "fairlearn_to_eo": _flip(y, lambda i: i % 8 == 0),  # fair, less accurate
        "fairlearn_eg_eo": _flip(y, lambda i: i % 3 == 0),
        "newpeer_fair": _flip(y, lambda i: i % 6 == 0),  # a peer family unknown to the report
    }
    families = {"baseline": "baseline", "affirmative_action": "skfair",
                "fairnet_eo_l2": "skfair", "fairlearn_to_eo": "fairlearn",
                "fairlearn_eg_eo": "fairlearn", "newpeer_fair": "newpeer"}
    params = {"affirmative_action": ("boost", 2.0), "fairnet_eo_l2": ("lam", 10.0)}
    times = {"baseline": (0.5, 0.6), "affirmative_action": (0.8, 2.4),
             "fairnet_eo_l2": (1.0, 5.0), "fairlearn_to_eo": (0.2, 0.25),
             "fairlearn_eg_eo": (20.0, 20.0), "newpeer_fair": (0.1, 0.1)}
    times.update(peers_times or {})
    rows = []
    for name, pred in preds.items():
        m = compute_metrics("binary", y, pred, S)
        param, value = params.get(name, ("", None))
        rows.append({"method": name, "family": families[name], "status": "ok",
                     "param": param, "value": value, "grid": "",
                     "within_tolerance_val": True, **m,
                     **{f"val_{k}": v for k, v in m.items()},
                     "fit_time_s": times[name][0], "predict_time_s": 0.01,
                     "search_time_s": times[name][1], "n_candidates": 1})
    results = pd.DataFrame(rows)
    z = np.zeros((N, 2), np.float32)
    data = BenchmarkData(dataset="constructed", task="parity", kind="binary", X_train=z,
                         X_val=z, X_test=z, y_train=y, y_val=y, y_test=y, S_train=S, S_val=S,
                         S_test=S, target_names=["even", "odd"], description="constructed",
                         provenance="none")
    noise = _add_uncertainty(results, data, preds, seed=0, n_boot=50)
    # the best peer is what the selection rule picks among the peers (validation = test here)
    peers = [SimpleNamespace(method=r["method"], val=r) for r in rows
             if r["family"] not in ("baseline", "skfair")]
    best_peer = select_candidate(peers, rows[0], kind="binary", metric="eo_difference")[0]
    assert best_peer.method == "fairlearn_to_eo"
    settings = {"seed": 0, "device": "cpu", "quick": True, "tolerance": 0.01,
                "select_metric": "eo_difference", "head": {}, "methods_s": 1.0}
    return BenchmarkResult(
        data=data, results=results, path=pd.DataFrame(), predictions=preds,
        best="fairnet_eo_l2", settings=settings, notes={}, skipped={}, noise=noise,
        best_peer="fairlearn_to_eo",
        best_by_family={"fairlearn": "fairlearn_to_eo", "newpeer": "newpeer_fair"})


def _report(result, tmp_path):
    write_report(result, tmp_path, machine={"cpu": "test"}, log=lambda s: None)
    return (tmp_path / "report.md").read_text()


@pytest.fixture(scope="module")
def biased(tmp_path_factory):
    """The constructed run with a measurable bias, and its report (written once)."""
    result = _result(biased=True)
    return result, _report(result, tmp_path_factory.mktemp("biased"))


def _section(text, title):
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end]


# ----------------------------------------------------------------------- verdict
def test_bias_verdict_on_constructed_gaps():
    measurable, text = bias_verdict(0.30, 0.10)
    assert measurable and "above the noise floor (0.100" in text and "0.300" in text
    for observed in (0.05, 0.10):  # inside the floor, and at it
        measurable, text = bias_verdict(observed, 0.10)
        assert not measurable
        assert "No measurable bias to mitigate on this data" in text
        assert "No method is named best" in text
        assert ("is at the noise floor" in text) == (observed == 0.10)
    measurable, text = bias_verdict(2.0, 4.5, metric="mae_bias")
    assert not measurable and "MAE bias score on test, 2.000" in text
    assert bias_verdict(float("nan"), 0.1)[0] is False


def test_no_measurable_bias_names_no_best_method(tmp_path):
    result = _result(biased=False)
    assert result.noise["observed"] == pytest.approx(0.0)  # errors spread evenly
    summary = summarize(result)
    assert summary["measurable"] is False
    head = _section(_report(result, tmp_path), "Headline")
    assert "**No measurable bias to mitigate on this data.**" in head
    assert "best skfair method" not in head and "best peer method" not in head
    assert "wall time" not in head
    text = (tmp_path / "report.md").read_text()
    assert "these picks are not a verdict" in text
    assert "the selection rule's skfair pick (`fairnet_eo_l2`)" in text


def test_measurable_bias_headline_best_peer_and_wall_times(biased):
    result, text = biased
    base = result.results.set_index("method").loc["baseline"]
    assert base["eo_difference"] > result.noise["q95"]
    head = _section(text, "Headline")
    assert "**Bias above noise.**" in head
    assert "best skfair method (selection rule below, on validation): `fairnet_eo_l2` " \
           "(lam=10)" in head
    assert "best peer method (same rule): `fairlearn_to_eo` (fairlearn)" in head
    assert "best per peer family: fairlearn `fairlearn_to_eo`, newpeer `newpeer_fair`" in head
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in head.splitlines() if line.startswith("| ") and "role" not in line}
    # best skfair: fit 1.0 s, search 5.0 s
    assert rows["best peer (same rule)"] == ["`fairlearn_to_eo`", "0.20", "0.25", "5.00x",
                                             "20x"]
    # the fastest peer is the unknown family's method, by the whole search
    assert rows["fastest peer (whole search)"] == ["`newpeer_fair`", "0.10", "0.10", "10x",
                                                   "50x"]
    assert rows["ExponentiatedGradient"] == ["`fairlearn_eg_eo`", "20.00", "20.00", "0.05x",
                                             "0.25x"]
    # halving the gap within the tolerance, per family, every peer family included
    assert ("(test): skfair `fairnet_eo_l2`; fairlearn `fairlearn_to_eo`; newpeer "
            "`newpeer_fair`.") in head


def test_best_and_fastest_peer_merge_into_one_row():
    result = _result(biased=True, peers_times={"newpeer_fair": (1.0, 9.0)})
    timing = summarize(result)["timing"]
    assert ("best peer (same rule), fastest peer (whole search)", "fairlearn_to_eo") in timing
    assert [m for _, m in timing] == ["fairnet_eo_l2", "fairlearn_to_eo", "fairlearn_eg_eo"]


# ----------------------------------------------------------------------- glossary
def test_glossary_has_one_line_per_fairness_column(biased):
    _, text = biased
    results = _section(text, "Results")
    table_header = next(line for line in results.splitlines() if line.startswith("| method"))
    glossary = results[results.index("What the columns measure"):]
    for col in table_header.strip("| ").split(" | "):
        if col in _GLOSSARY:
            assert glossary.count(f"- `{col}`: ") == 1, col
    assert "Xu et al. (2020)" in glossary and "worst single rate gap" in glossary
    assert "base rates differ" in glossary


def test_glossary_names_a_disagreement_seen_in_the_table():
    # red: recall 1 on negatives and 0 on positives; green the reverse: F = 1, EO difference 1
    okm = pd.DataFrame({"equal_opportunity": [1.0, 0.95], "eo_difference": [1.0, 0.1]},
                       index=["baseline", "fairnet_eo_l2"])
    line = next(g for g in _glossary_lines("binary", okm) if g.startswith("- `equal_opp"))
    assert "Here `baseline` has F 1.000 beside an EO difference of 1.000." in line
    okm["eo_difference"] = 0.1
    line = next(g for g in _glossary_lines("binary", okm) if g.startswith("- `equal_opp"))
    assert "Here" not in line


def test_regression_glossary():
    okm = pd.DataFrame({c: [1.0] for c in ("mae", "rmse", "mae_bias", "mae_bias_age",
                                           "mae_bias_mean", "worst_group_mae")},
                       index=["baseline"])
    lines = _glossary_lines("regression", okm)
    for col in ("mae_bias", "mae_bias_age", "mae_bias_mean", "worst_group_mae"):
        assert sum(line.startswith(f"- `{col}`: ") for line in lines) == 1
    assert "ChaLearn" in "".join(lines)


def test_regression_table_shows_each_attributes_bias():
    from skfair.benchmark._report import _metric_columns

    available = ["mae", "mae_bias", "mae_bias_race", "mae_bias_gender", "mae_bias_age",
                 "mae_bias_mean", "mae_bias_low", "mae_bias_high"]
    cols = _metric_columns("regression", available)
    assert cols.index("mae_bias") < cols.index("mae_bias_gender") < cols.index(
        "mae_bias_race") < cols.index("mae_bias_age") < cols.index("mae_bias_mean")
    assert "mae_bias_low" not in cols and "mae_bias_high" not in cols
    assert _metric_columns("binary", available)[0] == "accuracy"


# ------------------------------------------------------------------ no-effect note
def test_identical_method_is_marked(biased):
    result, text = biased
    notes = no_effect_notes(result.results, result.predictions)
    assert list(notes) == ["affirmative_action"]
    assert notes["affirmative_action"].startswith(
        "test predictions identical to the baseline's: no effect at boost=2")
    assert "| affirmative_action (= baseline) | skfair | boost=2 |" in text
    assert "`(= baseline)`: `affirmative_action`: test predictions identical" in text
    assert "fairnet_eo_l2 (= baseline)" not in text


def test_same_metrics_with_different_predictions_is_noted():
    y, S = _labels()
    base = _flip(y, lambda i: i % 5 == 0)
    other = _flip(y, lambda i: i % 5 == 1)  # other rows wrong, same rates in every cell
    rows = [{"method": m, "status": "ok", "param": "", "value": None,
             **compute_metrics("binary", y, p, S)} for m, p in (("baseline", base),
                                                                 ("resample_mean", other))]
    notes = no_effect_notes(pd.DataFrame(rows), {"baseline": base, "resample_mean": other})
    assert notes == {"resample_mean": "every test metric equals the baseline's (320 of 800 "
                                      "test predictions differ): no measurable effect"}


# -------------------------------------------------------------------- dominance
def test_dominance_table():
    ok = pd.DataFrame({
        "method": ["sk_a", "sk_b", "sk_c", "fl_x", "ox_y"],
        "family": ["skfair", "skfair", "skfair", "fairlearn", "oxonfair"],
        "accuracy": [0.90, 0.70, 0.85, 0.80, 0.95],
        "eo_difference": [0.05, 0.30, 0.20, 0.10, 0.01],
    })
    lines = _dominance_lines(ok, "binary")
    assert lines[2] == "| skfair \\ peer | `fl_x` | `ox_y` |"
    assert lines[4:] == ["| `sk_a` | dominates | dominated |",
                         "| `sk_b` | dominated | dominated |",
                         "| `sk_c` |  | dominated |"]
    none = _dominance_lines(ok.iloc[[0, 3]].assign(accuracy=[0.7, 0.8]), "binary")
    assert none == [_dominance_lines(ok, "binary")[0][:-1] + ": none either way."]
    assert _dominance_lines(ok[ok["family"] == "skfair"], "binary") == []


# ------------------------------------------------------------------------ plots
def test_pareto_labels_never_overlap_and_number_every_method(biased):
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    result, _ = biased
    fig, _ = _pareto_figure(result)
    try:
        fig.canvas.draw()
        ax = fig.axes[0]
        boxes = [Text.get_window_extent(t) for t in ax.texts]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b)
        labelled = sorted(int(k) for t in ax.texts for k in t.get_text().split(", "))
        assert labelled == list(range(1, len(result.results) + 1))
        # baseline and affirmative_action sit on one point: one label
        assert "1, 2" in [t.get_text() for t in ax.texts]
        legend = [t.get_text() for t in fig.legends[0].get_texts()]
        assert "noise floor: 95% of gaps with shuffled groups" in [
            t.get_text() for t in ax.get_legend().get_texts()]
        assert legend[5].split() == ["6", "newpeer_fair"]
        assert legend[2].split() == ["3", "fairnet_eo_l2", "(front)"]
    finally:
        plt.close(fig)


def test_report_families_are_open():
    """A family the report does not know is a peer with a style of its own."""
    from skfair.benchmark._report import _FAMILY_STYLE, _style

    assert "newpeer" not in _FAMILY_STYLE and "newpeer" not in {
        m.family for m in METHODS.values()}
    assert _style("newpeer") not in _FAMILY_STYLE.values()
    assert _style("newpeer") == _style("newpeer")


def test_verdict_shows_more_digits_when_the_gap_rounds_to_the_floor():
    measurable, text = bias_verdict(0.23104, 0.23112)
    assert not measurable and "0.23104" in text and "0.23112" in text
