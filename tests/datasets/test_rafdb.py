import pytest

from skfair.datasets import load_rafdb

LANDMARKS = "10.5 20.1\n30.2 20.0\n22.0 30.0\n12.0 40.0\n32.0 40.0\n"


def _write(root, labels, attributes):
    (root / "EmoLabel").mkdir(parents=True, exist_ok=True)
    (root / "Annotation" / "manual").mkdir(parents=True, exist_ok=True)
    (root / "EmoLabel" / "list_patition_label.txt").write_text(
        "".join(f"{name} {label}\n" for name, label in labels)
    )
    for stem, (g, r, a) in attributes.items():
        (root / "Annotation" / "manual" / f"{stem}_manu_attri.txt").write_text(
            LANDMARKS + f"{g}\n{r}\n{a}\n"
        )
    return root


def test_real_layout(tmp_path):
    _write(
        tmp_path,
        [("train_00001.jpg", 5), ("train_00002.jpg", 1), ("test_0001.jpg", 7)],
        {"train_00001": (0, 1, 2), "train_00002": (2, 0, 4), "test_0001": (1, 2, 0)},
    )
    ds = load_rafdb(tmp_path)
    f = ds.frame
    assert f["split"].tolist() == ["train", "train", "test"]
    assert f["emotion"].astype(str).tolist() == ["Sadness", "Surprise", "Neutral"]
    assert f["gender"].astype(str).tolist() == ["Male", "Unsure", "Female"]
    assert f["race"].astype(str).tolist() == ["African-American", "Caucasian", "Asian"]
    assert f["age"].astype(str).tolist() == ["20-39", "70+", "0-3"]
    assert ds.target.tolist() == [4, 0, 6]  # codes of labels 5, 1, 7
    assert list(ds.sensitive.columns) == ["gender", "race", "age"]
    assert ds.data[0].endswith("Image/aligned/train_00001_aligned.jpg")
    original = load_rafdb(tmp_path, aligned=False, split="test", target="race")
    assert original.data.tolist() == [str(tmp_path.resolve() / "Image/original/test_0001.jpg")]
    assert original.target_names[original.target].tolist() == ["Asian"]


def test_missing_attribute_file_is_skipped_with_count(tmp_path):
    _write(tmp_path, [("train_00001.jpg", 5), ("train_00002.jpg", 1), ("train_00003.jpg", 2)],
           {"train_00001": (0, 0, 0)})
    with pytest.warns(UserWarning, match="skipped 2 RAF-DB image"):
        ds = load_rafdb(tmp_path)
    assert len(ds.frame) == 1 and ds.n_skipped == 2


@pytest.mark.parametrize(
    "content, match",
    [
        (LANDMARKS + "1\n2\n", "3 non-empty lines|7 non-empty lines"),
        (LANDMARKS + "1\nx\n2\n", "must be integers"),
        (LANDMARKS + "1\n5\n2\n", "unknown race code 5"),
        (LANDMARKS + "3\n0\n2\n", "unknown gender code 3"),
    ],
)
def test_malformed_attribute_file(tmp_path, content, match):
    _write(tmp_path, [("train_00001.jpg", 5)], {})
    (tmp_path / "Annotation" / "manual" / "train_00001_manu_attri.txt").write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        load_rafdb(tmp_path)
    assert "train_00001_manu_attri.txt" in str(info.value)


@pytest.mark.parametrize("line", ["train_00001.jpg 9", "train_00001.jpg", "a b c"])
def test_malformed_label_list(tmp_path, line):
    _write(tmp_path, [], {})
    (tmp_path / "EmoLabel" / "list_patition_label.txt").write_text(line + "\n")
    with pytest.raises(ValueError, match="list_patition_label.txt' line 1"):
        load_rafdb(tmp_path)


def test_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="RAF-DB folder"):
        load_rafdb(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="list_patition_label.txt"):
        load_rafdb(tmp_path)
    _write(tmp_path, [("train_00001.jpg", 5)], {"train_00001": (0, 0, 0)})
    with pytest.raises(ValueError, match="split"):
        load_rafdb(tmp_path, split="valid")
