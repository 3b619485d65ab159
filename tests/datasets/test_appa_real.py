import numpy as np
import pytest

from skfair.datasets import dataset_summary, load_appa_real

GT = "file_name,num_ratings,apparent_age_avg,apparent_age_std,real_age\n"
META = "file,gender,race,makeup,time,happiness\n"


def _write(root):
    (root / "gt_avg_train.csv").write_text(
        GT + "000000.jpg,36,5.0,1.1,4\n000001.jpg,63,20.3,3.2,18\n000002.jpg,38,61.0,5.5,65\n"
    )
    (root / "allcategories_train.csv").write_text(
        META
        + "000000.jpg,male,caucasian,no_makeup,modern,happy\n"
        + "000001.jpg,female,asian,makeup,modern,slightly\n"
        + "000002.jpg, Female ,afroamerican,no_makeup,old,neutral\n"
    )
    (root / "gt_avg_test.csv").write_text(GT + "005613.jpg,40,41.2,4.0,40\n")
    (root / "allcategories_test.csv").write_text(
        META + "005613.jpg_face.jpg,male,asian,no_makeup,modern,other\n"
    )
    return root


def test_real_layout(tmp_path):
    ds = load_appa_real(_write(tmp_path))
    f = ds.frame
    assert f["split"].astype(str).tolist() == ["train", "train", "train", "test"]
    np.testing.assert_allclose(ds.target, [5.0, 20.3, 61.0, 41.2])
    assert f["gender"].astype(str).tolist() == ["male", "female", "female", "male"]
    assert list(f["race"].cat.categories) == ["caucasian", "afroamerican", "asian"]
    assert f["happiness"].astype(str).tolist() == ["happy", "slightly", "neutral", "other"]
    # ChaLearn age groups on the real age: 4 -> <20, 18 -> <20, 65 -> >=60, 40 -> 40-60
    assert f["age_group"].astype(str).tolist() == ["<20", "<20", ">=60", "40-60"]
    assert list(ds.sensitive.columns) == ["gender", "race", "happiness", "age_group"]
    assert ds.data[0] == str(tmp_path.resolve() / "train" / "000000.jpg_face.jpg")
    real = load_appa_real(tmp_path, split="test", target="real_age", face=False)
    assert real.target.tolist() == [40] and real.data[0].endswith("test/005613.jpg")
    summary = dataset_summary(ds)
    assert summary.target_kind == "classes"  # 4 distinct values: shown as classes


def test_metadata_rows_missing_are_skipped_with_count(tmp_path):
    _write(tmp_path)
    (tmp_path / "allcategories_train.csv").write_text(
        META + "000001.jpg,female,asian,makeup,modern,slightly\n"
    )
    with pytest.warns(UserWarning, match="skipped 2 APPA-REAL image"):
        ds = load_appa_real(tmp_path, split="train")
    assert ds.frame["file_name"].tolist() == ["000001.jpg"] and ds.n_skipped == 2


def test_without_metadata(tmp_path):
    _write(tmp_path)
    (tmp_path / "allcategories_test.csv").unlink()
    with pytest.raises(FileNotFoundError, match="allcategories_test.csv"):
        load_appa_real(tmp_path)
    ds = load_appa_real(tmp_path, metadata=False, sensitive="age_group")
    assert "gender" not in ds.frame and len(ds.frame) == 4
    with pytest.raises(ValueError, match="sensitive"):
        load_appa_real(tmp_path, metadata=False)


@pytest.mark.parametrize(
    "file, content, match",
    [
        ("gt_avg_train.csv", "file_name,real_age\n000000.jpg,4\n", "lacks the column"),
        ("gt_avg_train.csv", GT + "000000.jpg,36,five,1.1,4\n", "must be numeric"),
        ("allcategories_train.csv", "file,gender\n000000.jpg,male\n", "lacks the column"),
        ("allcategories_train.csv", META + "000000.jpg,,asian,makeup,modern,happy\n",
         "empty metadata"),
    ],
)
def test_malformed_csv(tmp_path, file, content, match):
    _write(tmp_path)
    (tmp_path / file).write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        load_appa_real(tmp_path, split="train")
    assert file in str(info.value)


def test_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="APPA-REAL folder"):
        load_appa_real(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="gt_avg"):
        load_appa_real(tmp_path)
