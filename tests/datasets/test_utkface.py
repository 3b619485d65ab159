import re
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skfair.datasets import dataset_summary, load_utkface, parse_utkface_name

GOOD = [
    "26_1_2_20170116174525125.jpg.chip.jpg",
    "3_0_0_20170110224253445.jpg.chip.jpg",
    "80_0_4_20170117.jpg",
    "45_1_3_20170109150557335.jpg.chip.jpg",
]
BROKEN = [
    "61_1_20170109142408075.jpg.chip.jpg",  # race missing, as in the real dataset
    "30_2_0_20170101.jpg",  # unknown gender code
    "30_0_7_20170101.jpg",  # unknown race code
]


def _folder(tmp_path, names, *, image=False):
    for i, name in enumerate(names):
        if image:
            Image.new("RGB", (12, 10), (10 * i, 20, 30)).save(tmp_path / name, format="JPEG")
        else:
            (tmp_path / name).write_bytes(b"")
    return tmp_path


def test_parse_names():
    assert parse_utkface_name(GOOD[0]) == {
        "age": 26, "gender": "Female", "race": "Asian", "datetime": "20170116174525125",
    }
    assert parse_utkface_name("80_0_4_20170117.jpg")["race"] == "Others"
    for name in BROKEN + ["26_1_2.jpg", "a_1_2_3.jpg", "26_1_2_2017.png"]:
        assert parse_utkface_name(name) is None


def test_fake_folder_paths(tmp_path):
    _folder(tmp_path, GOOD + BROKEN + ["README.txt", ".hidden.jpg"])
    with pytest.warns(UserWarning, match=r"skipped 3 UTKFace file") as record:
        ds = load_utkface(tmp_path)
    assert len(record) == 1
    assert ds.n_skipped == 3
    assert list(ds.frame.columns) == ["path", "age", "gender", "race", "datetime"]
    assert len(ds.frame) == 4
    expected = sorted(GOOD)
    assert [p.split("/")[-1] for p in ds.data] == expected
    assert ds.images is None
    np.testing.assert_array_equal(ds.target, [parse_utkface_name(n)["age"] for n in expected])
    assert list(ds.frame.gender.cat.categories) == ["Male", "Female"]
    assert list(ds.frame.race.cat.categories) == ["White", "Black", "Asian", "Indian", "Others"]
    assert list(ds.sensitive.columns) == ["gender", "race"]
    assert "UTKFace" in ds.DESCR


def test_no_warning_when_all_names_parse(tmp_path):
    _folder(tmp_path, GOOD)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load_utkface(tmp_path)
    assert ds.n_skipped == 0


def test_target_and_sensitive_choices(tmp_path):
    _folder(tmp_path, GOOD)
    ds = load_utkface(tmp_path, target="race", sensitive="gender")
    names = ds.target_names[ds.target]
    assert list(names) == [parse_utkface_name(n)["race"] for n in sorted(GOOD)]
    assert list(ds.sensitive.columns) == ["gender"]
    with pytest.raises(ValueError, match="target"):
        load_utkface(tmp_path, target="path")
    with pytest.raises(ValueError, match="sensitive"):
        load_utkface(tmp_path, sensitive=("gender", "smile"))


def test_decoded_images(tmp_path):
    _folder(tmp_path, GOOD, image=True)
    ds = load_utkface(tmp_path, return_images=True, image_size=8)
    assert ds.images.shape == (4, 3, 8, 8) and ds.images.dtype == np.float32
    assert ds.data.shape == (4, 3 * 64)
    assert 0.0 <= ds.images.min() and ds.images.max() <= 1.0
    native = load_utkface(tmp_path, return_images=True)
    assert native.images.shape == (4, 3, 10, 12)  # (height, width) kept


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nope"))) as info:
        load_utkface(tmp_path / "nope")
    assert "susanqq.github.io/UTKFace" in str(info.value)
    assert "never downloads" in str(info.value)


@pytest.mark.realdata
def test_real_utkface(utkface_dir):
    with pytest.warns(UserWarning) as record:
        ds = load_utkface(utkface_dir)
    assert len(ds.frame) == 3983
    skip = [r for r in record if "skipped" in str(r.message)]
    assert len(skip) == 1 and "skipped 1 UTKFace" in str(skip[0].message)
    # per gender x race counts match the file names, counted independently here
    counts = Counter()
    for path in utkface_dir.iterdir():
        m = re.match(r"^\d+_(\d)_(\d)_\d+\.jpg", path.name)
        if m:
            counts[(int(m[1]), int(m[2]))] += 1
    gender = {0: "Male", 1: "Female"}
    race = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}
    got = ds.frame.groupby(["gender", "race"], observed=True).size()
    expected = pd.Series({(gender[g], race[r]): n for (g, r), n in counts.items()})
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    assert sum(counts.values()) == 3983
    summary = dataset_summary(ds)
    assert summary.target_kind == "numeric"
    assert summary.group_sizes["all"].sum() == 3983


@pytest.mark.realdata
def test_real_utkface_decode_a_few(utkface_dir, tmp_path):
    for path in sorted(utkface_dir.iterdir())[:3]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    ds = load_utkface(tmp_path, return_images=True, image_size=(32, 24))
    assert ds.images.shape == (3, 3, 32, 24)
    assert ds.images.std() > 0.05  # real pictures, not blank


def test_unreadable_image_rows_dropped_consistently(tmp_path):
    _folder(tmp_path, GOOD, image=True)
    (tmp_path / GOOD[1]).write_bytes(b"corrupt")
    with pytest.warns(UserWarning, match="skipped 1 unreadable image"):
        ds = load_utkface(tmp_path, return_images=True, image_size=6)
    kept = [n for n in sorted(GOOD) if n != GOOD[1]]
    assert [p.split("/")[-1] for p in ds.paths] == kept
    assert len(ds.images) == len(ds.target) == len(ds.sensitive) == len(ds.frame) == 3
    np.testing.assert_array_equal(ds.target, [parse_utkface_name(n)["age"] for n in kept])
    with pytest.raises(ValueError, match=GOOD[1].replace(".", r"\.")):
        load_utkface(tmp_path, return_images=True, image_size=6, on_error="raise")
