import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from skfair.metrics import UndefinedGroupWarning, bias_amplification
from skfair.plotting import plot_bias_amplification, plot_group_heatmap, plot_pareto_front


@pytest.fixture
def faces():
    rng = np.random.default_rng(0)
    n = 300
    sf = pd.DataFrame({
        "race": rng.choice(["Caucasian", "African-American", "Asian"], n),
        "age": pd.Categorical(rng.choice(["4-19", "20-39", "40-69"], n),
                              categories=["4-19", "20-39", "40-69"]),
        "gender": rng.choice(["Male", "Female"], n),
    })
    # no Asian 40-69 women: an absent cell
    keep = ~((sf.race == "Asian") & (sf.age == "40-69") & (sf.gender == "Female"))
    sf = sf[keep].reset_index(drop=True)
    y_true = rng.integers(0, 7, len(sf))
    y_pred = np.where(rng.random(len(sf)) < 0.8, y_true, rng.integers(0, 7, len(sf)))
    return y_true, y_pred, sf


def _cell_texts(ax):
    return [t.get_text() for t in ax.texts]


def test_heatmap_panels_cells_and_values(faces):
    y_true, y_pred, sf = faces
    with pytest.warns(UndefinedGroupWarning):
        fig = plot_group_heatmap(y_true, y_pred, sensitive_features=sf, rows="race",
                                 columns="age", panels="gender")
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["gender=Female", "gender=Male"]
    female = panels[0]
    assert [t.get_text() for t in female.get_xticklabels()] == ["4-19", "20-39", "40-69"]
    assert [t.get_text() for t in female.get_yticklabels()] == [
        "African-American", "Asian", "Caucasian"]
    assert _cell_texts(female).count("n/a") == 1
    assert len(_cell_texts(female)) == 9
    # one cell's annotation equals the subgroup accuracy
    m = ((sf.race == "Caucasian") & (sf.age == "4-19") & (sf.gender == "Female")).to_numpy()
    acc = np.mean(y_true[m] == y_pred[m])
    assert f"{acc:.2f}\nn={m.sum()}" in _cell_texts(female)


def test_heatmap_two_attributes_on_given_axes(faces):
    y_true, y_pred, sf = faces
    fig, ax = plt.subplots()
    out = plot_group_heatmap(y_true, y_pred, sensitive_features=sf[["race", "gender"]],
                             rows="race", columns="gender", axes=[ax], annotate=False)
    assert out is fig
    assert ax.images and ax.get_xlabel() == "gender"
    with pytest.raises(ValueError, match="distinct attributes"):
        plot_group_heatmap(y_true, y_pred, sensitive_features=sf, rows="race", columns="race")


def test_pareto_plot_with_extra_points():
    cv = {"params": [{"lam": 0.0}, {"lam": 0.5}, {"lam": 1.0}, {"lam": 2.0}],
          "mean_test_acc": [0.90, 0.88, 0.80, 0.82],
          "mean_test_eo": [-0.20, -0.10, -0.12, -0.05]}
    ax = plot_pareto_front(cv, "-eo", "acc", annotate="lam",
                           extra_points={"ExponentiatedGradient": (0.08, 0.85)})
    assert isinstance(ax, Axes)
    front_line = [line for line in ax.lines if line.get_label() == "Pareto front"][0]
    # front: lam 0, 0.5, 2 (lam 1 is dominated by lam 0.5), plotted as positive EO
    assert sorted(front_line.get_xdata()) == pytest.approx([0.05, 0.10, 0.20])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "ExponentiatedGradient" in labels
    assert {"lam=0", "lam=0.5", "lam=2"} <= {t.get_text() for t in ax.texts}
    assert ax.get_xlabel() == "eo (negated)"


def test_bias_amplification_scatter():
    Y_train = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 1], [0, 1, 1]])
    A = ["man", "man", "woman", "woman"]
    Y_pred = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 1, 0]])
    _, table = bias_amplification(Y_train, A, Y_pred, A, return_per_label=True)
    ax = plot_bias_amplification(table, group="man")
    offsets = ax.collections[0].get_offsets()
    assert np.asarray(offsets)[:, 0] == pytest.approx(table["bias_train"]["man"].to_numpy())
    assert np.asarray(offsets)[:, 1] == pytest.approx(table["bias_pred"]["man"].to_numpy())
    diagonal = ax.lines[0]
    assert list(diagonal.get_xdata()) == [0, 1] and list(diagonal.get_ydata()) == [0, 1]
    assert {t.get_text() for t in ax.texts} == {"0", "1", "2"}
    with pytest.raises(ValueError, match="group"):
        plot_bias_amplification(table, group="child")
    with pytest.raises(ValueError, match="return_per_label"):
        plot_bias_amplification(pd.DataFrame({"x": [1]}))


def _few_rows_cells(ax):
    return [p for p in ax.patches if p.get_gid() == "few rows"]


def test_heatmap_shows_n_in_every_cell_and_fades_small_cells():
    # race a: 40 rows per age; race b: 40 rows at age x, 10 at age y
    sf = pd.DataFrame({"race": ["a"] * 80 + ["b"] * 50,
                       "age": ["x"] * 40 + ["y"] * 40 + ["x"] * 40 + ["y"] * 10})
    y = np.r_[np.ones(80, int), np.zeros(50, int)]
    pred = np.r_[np.ones(70, int), np.zeros(10, int), np.zeros(45, int), np.ones(5, int)]
    fig = plot_group_heatmap(y, pred, sensitive_features=sf, rows="race", columns="age",
                             min_n=30)
    ax = fig.axes[0]
    assert sorted(_cell_texts(ax)) == sorted(["1.00\nn=40", "0.75\nn=40", "1.00\nn=40",
                                              "0.50\nn=10"])
    few = _few_rows_cells(ax)
    assert len(few) == 1 and few[0].get_xy() == (0.5, 0.5)  # row b, column y
    alpha = np.asarray(ax.images[0].get_alpha())
    assert alpha[1, 1] < 1 and (alpha[[0, 0, 1], [0, 1, 0]] == 1).all()
    assert "n < 30" in fig.axes[-1].get_ylabel()  # the colour bar says what fading means
    # no threshold: nothing faded, the colour bar keeps its plain label
    fig = plot_group_heatmap(y, pred, sensitive_features=sf, rows="race", columns="age",
                             min_n=None)
    assert not _few_rows_cells(fig.axes[0]) and fig.axes[-1].get_ylabel() == "accuracy"
    with pytest.raises(ValueError, match="min_n"):
        plot_group_heatmap(y, pred, sensitive_features=sf, rows="race", columns="age",
                           min_n=2.5)


def test_heatmap_panels_share_row_labels_without_collisions(faces):
    y_true, y_pred, sf = faces
    with pytest.warns(UndefinedGroupWarning):
        fig = plot_group_heatmap(y_true, y_pred, sensitive_features=sf, rows="race",
                                 columns="age", panels="gender")
    female, male = [ax for ax in fig.axes if ax.get_title()]
    assert female.get_ylabel() == "race" and male.get_ylabel() == ""
    assert not any(t.get_visible() for t in male.get_yticklabels())
    assert "age" in [t.get_text() for t in fig.texts]  # the shared x label (supxlabel)
    fig.canvas.draw()
    boxes = [female.yaxis.label, *female.get_yticklabels(), *male.get_xticklabels(),
             *female.get_xticklabels()]
    extents = [b.get_window_extent() for b in boxes if b.get_text()]
    assert not any(a.overlaps(b) for i, a in enumerate(extents) for b in extents[i + 1:])
    # the right panel's cells do not run into the left panel's
    assert female.get_window_extent().x1 < male.get_window_extent().x0


def _label_boxes(ax):
    """The labels' text boxes (an annotation's own extent includes its leader line)."""
    from matplotlib.text import Text

    ax.figure.canvas.draw()
    return [Text.get_window_extent(t) for t in ax.texts]


def test_label_points_never_overlap_on_a_dense_cloud():
    from skfair.plotting import label_points

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=30), rng.normal(size=30)
    x[:5] = y[:5] = 0.0  # five identical points share one label
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(x, y)
    names = [f"method_{k}" for k in range(30)]
    anns = label_points(ax, x, y, names)
    assert anns[0].get_text() == "method_0, method_1, method_2, method_3, method_4"
    assert len(anns) == 26
    boxes = _label_boxes(ax)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    frame = ax.get_window_extent()
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)
    with pytest.raises(ValueError, match="one entry per point"):
        label_points(ax, x, y, names[:3])


def test_pareto_front_labels_do_not_overlap():
    # four front points close together (a few points apart on screen)
    cv = {"params": [{"lam": v} for v in (0.1, 0.2, 0.3, 0.4, 5.0)],
          "mean_test_acc": [0.90, 0.89, 0.88, 0.87, 0.6],
          "mean_test_eo": [-0.30, -0.29, -0.28, -0.27, -0.01]}
    ax = plot_pareto_front(cv, "-eo", "acc", annotate="lam")
    assert {"lam=0.1", "lam=0.2", "lam=0.3", "lam=0.4", "lam=5"} == {
        t.get_text() for t in ax.texts}
    boxes = _label_boxes(ax)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
