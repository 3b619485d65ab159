import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from skfair.datasets import DatasetSummary, dataset_summary, make_colored_digits


def test_hand_computed_classes():
    b = Bunch(
        target=np.array([0, 1, 1, 0, 0]),
        sensitive=pd.DataFrame({"sex": ["f", "f", "m", "m", "m"]}),
        DESCR="Toy set\n=======\n",
    )
    s = dataset_summary(b)
    assert isinstance(s, DatasetSummary) and s.name == "Toy set"
    assert s.group_sizes["all"].to_dict() == {"f": 2, "m": 3}
    table = s.label_distribution["all"]
    assert table.loc["f"].tolist() == [0.5, 0.5]
    assert table.loc["m"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert s.agreement == {}
    text = str(s)
    assert "Toy set" in text and "group sizes" in text and "0.667" in text


def test_numeric_target_and_intersections():
    b = Bunch(
        target=np.arange(30, dtype=float),
        sensitive=pd.DataFrame({"a": ["x"] * 15 + ["y"] * 15, "b": [0, 1] * 15}),
        split="train",
    )
    s = dataset_summary(b)
    assert s.target_kind == "numeric"
    table = s.label_distribution["train"]
    assert table.loc["a=x, b=0", "count"] == 8
    assert table.loc["a=x, b=0", "mean"] == pytest.approx(np.mean(np.arange(0, 15, 2)))
    assert s.group_sizes["train"].sum() == 30


def test_colored_digits_summary_agreement():
    ds = make_colored_digits(bias=0.95, n_colors=4, image_size=8, split="both", random_state=2)
    s = dataset_summary(ds)
    assert set(s.agreement) == {"train", "test"}
    assert s.agreement["train"] == pytest.approx(ds.train.frame.aligned.mean())
    assert abs(s.agreement["test"] - 0.25) < 0.02
    assert list(s.group_sizes.columns) == ["train", "test"]
    assert s.group_sizes.index.tolist() == ["red", "green", "blue", "yellow"]
    for split in ("train", "test"):
        np.testing.assert_allclose(s.label_distribution[split].sum(axis=1), 1.0)
    assert "colour-label agreement: train 0.9" in str(s)


def test_errors():
    with pytest.raises(ValueError, match="sensitive"):
        dataset_summary(Bunch(target=[0, 1]))
    with pytest.raises(ValueError, match="missing"):
        dataset_summary(Bunch(target=[0, 1], sensitive=pd.DataFrame({"g": ["a", None]})))
