import json

import numpy as np
import pytest
from PIL import Image

from skfair.datasets import dataset_summary, load_fairface

CSV_HEADER = "file,age,gender,race,service_test\n"


def _csv_folder(tmp_path):
    (tmp_path / "fairface_label_train.csv").write_text(
        CSV_HEADER
        + "train/1.jpg,50-59,Male,East Asian,True\n"
        + "train/2.jpg,30-39,Female,Indian,False\n"
        + "train/3.jpg,more than 70,Female,Latino_Hispanic,True\n"
    )
    (tmp_path / "fairface_label_val.csv").write_text(
        CSV_HEADER + "val/1.jpg,3-9,Male,Black,False\n"
    )
    return tmp_path


def test_csv_layout(tmp_path):
    ds = load_fairface(_csv_folder(tmp_path))
    f = ds.frame
    assert len(f) == 4
    assert f["split"].tolist() == ["train", "train", "train", "val"]
    assert f["age"].astype(str).tolist() == ["50-59", "30-39", "70+", "3-9"]
    assert f["age"].cat.ordered
    assert ds.target.tolist() == [6, 4, 8, 1]  # codes in the nine-bin order
    assert ds.target_names[ds.target].tolist() == f["age"].astype(str).tolist()
    assert list(ds.sensitive.columns) == ["gender", "race"]
    assert ds.data[0] == str(tmp_path.resolve() / "train" / "1.jpg")
    assert f["service_test"].tolist() == [True, False, True, False]
    val = load_fairface(tmp_path, split="val")
    assert val.frame["file"].tolist() == ["val/1.jpg"]


def test_json_layout_with_images(tmp_path):
    records = [
        {"id": "a", "filename": "a.jpg", "age": "0-2", "gender": "Female"},
        {"id": "b", "filename": "b.jpg", "age": "70+", "gender": "Male"},
    ]
    (tmp_path / "ground_truth.json").write_text(json.dumps(records))
    (tmp_path / "images").mkdir()
    for r in records:
        Image.new("RGB", (8, 8), (200, 10, 10)).save(tmp_path / "images" / r["filename"])
    ds = load_fairface(tmp_path, target="gender", return_images=True)
    assert ds.target.tolist() == [1, 0] and ds.target_names.tolist() == ["Male", "Female"]
    assert list(ds.sensitive.columns) == ["gender"]  # the JSON form has no race
    assert ds.images.shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="sensitive"):
        load_fairface(tmp_path, sensitive="race")
    with pytest.raises(ValueError, match="no splits"):
        load_fairface(tmp_path, split="train")


@pytest.mark.parametrize(
    "content, match",
    [
        (CSV_HEADER + "train/1.jpg,50-59,Robot,White,True\n", "unknown value.*Robot"),
        (CSV_HEADER + "train/1.jpg,51-60,Male,White,True\n", "unknown value.*51-60"),
        ("file,age,gender\ntrain/1.jpg,3-9,Male\n", "lacks the column.*race"),
        (CSV_HEADER + "train/1.jpg,3-9,,White,True\n", "missing values"),
        ('file,age\n"unterminated,3-9\n', "fairface_label_train.csv"),
    ],
)
def test_malformed_csv_names_the_file(tmp_path, content, match):
    (tmp_path / "fairface_label_train.csv").write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        load_fairface(tmp_path)
    assert "fairface_label_train.csv" in str(info.value)


def test_malformed_json(tmp_path):
    (tmp_path / "ground_truth.json").write_text("{not json")
    with pytest.raises(ValueError, match="ground_truth.json"):
        load_fairface(tmp_path)
    (tmp_path / "ground_truth.json").write_text(json.dumps([{"filename": "a.jpg"}]))
    with pytest.raises(ValueError, match="lack the key"):
        load_fairface(tmp_path)


def test_missing_folder_and_labels(tmp_path):
    with pytest.raises(FileNotFoundError, match="joojs/fairface"):
        load_fairface(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="ground_truth.json"):
        load_fairface(tmp_path)


@pytest.mark.realdata
def test_real_fairface_540(fairface_dir):
    ds = load_fairface(fairface_dir)
    assert len(ds.frame) == 540
    records = json.loads((fairface_dir / "ground_truth.json").read_text())
    assert ds.frame["file"].tolist() == [r["filename"] for r in records]
    assert ds.frame["age"].astype(str).tolist() == [r["age"] for r in records]
    # 30 per age-bin x gender cell, as the data README says
    cells = ds.frame.groupby(["age", "gender"], observed=True).size()
    assert len(cells) == 18 and (cells == 30).all()
    assert all((fairface_dir / "images" / r["filename"]).is_file() for r in records[:5])
    summary = dataset_summary(ds)
    np.testing.assert_allclose(summary.label_distribution["all"].to_numpy(), 1 / 9)
