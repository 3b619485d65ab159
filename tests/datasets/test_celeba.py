import numpy as np
import pytest

from skfair.datasets import dataset_summary, load_celeba

ATTRS = ["5_o_Clock_Shadow", "Male", "Smiling", "Young"]
ROWS = [
    ("000001.jpg", [-1, -1, 1, 1]),
    ("000002.jpg", [-1, 1, -1, 1]),
    ("000003.jpg", [1, 1, 1, -1]),
]


def _write(root, rows=ROWS, count=None, partition=True, anno=False):
    base = root / "Anno" if anno else root
    base.mkdir(exist_ok=True)
    lines = [str(len(rows) if count is None else count), " ".join(ATTRS) + " "]
    lines += [f"{f} " + " ".join(f"{v:2d}" for v in vals) for f, vals in rows]
    (base / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    if partition:
        (root / "list_eval_partition.txt").write_text(
            "000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n"
        )
    return root


def test_real_format(tmp_path):
    ds = load_celeba(_write(tmp_path))
    f = ds.frame
    assert f[ATTRS].to_numpy().tolist() == [[0, 0, 1, 1], [0, 1, 0, 1], [1, 1, 1, 0]]
    assert ds.target.tolist() == [1, 0, 1]  # Smiling
    assert f["gender"].astype(str).tolist() == ["Female", "Male", "Male"]
    assert f["split"].astype(str).tolist() == ["train", "valid", "test"]
    assert ds.attribute_names == ATTRS
    assert ds.data[0].endswith("img_align_celeba/000001.jpg")
    assert load_celeba(tmp_path, split="test").frame["file"].tolist() == ["000003.jpg"]


def test_multilabel_and_sensitive_choice(tmp_path):
    ds = load_celeba(_write(tmp_path), target="all", sensitive=["gender", "Young"])
    assert ds.target.shape == (3, 4) and ds.target_names.tolist() == ATTRS
    assert list(ds.sensitive.columns) == ["gender", "Young"]
    summary = dataset_summary(ds)
    assert summary.target_kind == "multilabel"
    # share of Smiling among the Male, Young=1 group: only 000002 -> 0
    table = summary.label_distribution["all"]
    assert table.loc["gender=Male, Young=1", "Smiling"] == 0.0
    assert table.loc["gender=Female, Young=1", "Smiling"] == 1.0
    two = load_celeba(tmp_path, target=["Smiling", "Young"])
    assert two.target.tolist() == [[1, 1], [0, 1], [1, 0]]


def test_anno_subfolder_and_no_partition(tmp_path):
    ds = load_celeba(_write(tmp_path, partition=False, anno=True))
    assert "split" not in ds.frame
    with pytest.raises(FileNotFoundError, match="list_eval_partition.txt"):
        load_celeba(tmp_path, split="train")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"count": 5}, "announces 5 images but holds 3"),
        ({"rows": [("000001.jpg", [1, 1, 1])]}, "line 3 has 4 fields"),
        ({"rows": [("000001.jpg", [1, 0, 1, 1])]}, "-1 or 1"),
    ],
)
def test_malformed_attr_file(tmp_path, kwargs, match):
    _write(tmp_path, partition=False, **kwargs)
    with pytest.raises(ValueError, match=match) as info:
        load_celeba(tmp_path)
    assert "list_attr_celeba.txt" in str(info.value)


def test_bad_header_and_partition(tmp_path):
    (tmp_path / "list_attr_celeba.txt").write_text("Male Smiling\n000001.jpg 1 1\n")
    with pytest.raises(ValueError, match="image count on line 1"):
        load_celeba(tmp_path)
    _write(tmp_path, partition=False)
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 7\n")
    with pytest.raises(ValueError, match="list_eval_partition.txt"):
        load_celeba(tmp_path)
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n")
    with pytest.raises(ValueError, match="no partition for 2 image"):
        load_celeba(tmp_path)


def test_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="CelebA folder"):
        load_celeba(tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="list_attr_celeba.txt"):
        load_celeba(tmp_path)


def test_bad_target(tmp_path):
    _write(tmp_path)
    with pytest.raises(ValueError, match="target"):
        load_celeba(tmp_path, target="Beard")
    assert np.array_equal(load_celeba(tmp_path, target="Male").target, [0, 1, 1])
