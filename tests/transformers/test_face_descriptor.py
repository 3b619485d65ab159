"""FaceDescriptor: dlib's pretrained face descriptors on real UTKFace faces."""

import pickle
import sys
import warnings

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

pytest.importorskip("dlib", reason="the 'faces' extra (dlib-bin) is not installed")

from skfair.transformers import (
    FaceDescriptor,  # noqa: E402
    _face,  # noqa: E402
)

N_FACES = 9  # three chunks of batch_size=3


@pytest.fixture(scope="module")
def face_paths(utkface_dir):
    return [str(p) for p in sorted(utkface_dir.glob("*.jpg"))[:N_FACES]]


@pytest.fixture(scope="module")
def described(face_paths):
    return FaceDescriptor(progress=False, batch_size=3).fit_transform(face_paths)


def desc(**kw):
    return FaceDescriptor(progress=False, batch_size=3, **kw)


@pytest.mark.realdata
def test_shape_dtype_and_names(described, face_paths):
    assert described.shape == (N_FACES, 128)
    assert described.dtype == np.float32
    assert np.isfinite(described).all()
    # descriptors of different people differ; dlib's are of norm about 1
    assert np.linalg.norm(described[0] - described[1]) > 0.1
    assert 0.5 < np.linalg.norm(described, axis=1).mean() < 2.0
    names = desc().fit(face_paths).get_feature_names_out()
    assert names.tolist() == [f"facedescriptor{i}" for i in range(128)]


@pytest.mark.realdata
def test_deterministic_and_same_for_paths_and_arrays(described, face_paths):
    again = desc().fit_transform(face_paths)
    np.testing.assert_array_equal(again, described)
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in face_paths])
    np.testing.assert_array_equal(desc().fit_transform(images), described)
    floats = images.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    np.testing.assert_array_equal(desc().fit_transform(floats), described)


@pytest.mark.realdata
def test_worker_processes_give_the_same_descriptors(described, face_paths):
    par = desc(n_jobs=2)
    np.testing.assert_array_equal(par.fit_transform(face_paths), described)
    assert par.n_extracted_ == N_FACES


@pytest.mark.realdata
def test_cache_second_run_extracts_nothing(described, face_paths, tmp_path):
    first = desc(cache=tmp_path)
    np.testing.assert_array_equal(first.fit_transform(face_paths), described)
    assert (first.n_extracted_, first.n_cached_) == (N_FACES, 0)
    second = desc(cache=str(tmp_path))  # a new instance, the same folder
    np.testing.assert_array_equal(second.fit_transform(face_paths), described)
    assert (second.n_extracted_, second.n_cached_) == (0, N_FACES)
    # one more image: only the chunk holding it is extracted
    third = desc(cache=tmp_path)
    third.fit_transform(face_paths + face_paths[:1])
    assert third.n_extracted_ == 1 and third.n_cached_ == N_FACES


@pytest.mark.realdata
def test_cache_in_a_joblib_memory_and_damaged_files(face_paths, described, tmp_path):
    import joblib

    memory = joblib.Memory(tmp_path, verbose=0)
    first = desc(cache=memory)
    first.fit_transform(face_paths[:3])
    files = list((tmp_path / "face_descriptors").glob("*.pkl"))
    assert len(files) == 1 and first.n_extracted_ == 3
    files[0].write_bytes(b"damaged")  # e.g. a disk that filled up
    again = desc(cache=memory)
    np.testing.assert_array_equal(again.fit_transform(face_paths[:3]), described[:3])
    assert again.n_extracted_ == 3  # recomputed and rewritten
    third = desc(cache=memory)
    third.fit_transform(face_paths[:3])
    assert (third.n_extracted_, third.n_cached_) == (0, 3)  # the rewritten file is read
    nothing = desc(cache=joblib.Memory(None))
    nothing.fit_transform(face_paths[:3])
    assert (nothing.n_extracted_, nothing.n_cached_) == (3, 0)


@pytest.mark.realdata
def test_relative_cache_folder_with_workers_started_elsewhere(face_paths, tmp_path,
                                                              monkeypatch):
    """Worker processes are reused across calls: a relative cache folder must still
    land in the caller's current directory."""
    first_dir, second_dir = tmp_path / "a", tmp_path / "b"
    first_dir.mkdir()
    second_dir.mkdir()
    monkeypatch.chdir(first_dir)
    desc(n_jobs=2, cache="cache").fit_transform(face_paths[:3])  # starts the workers here
    monkeypatch.chdir(second_dir)
    d = desc(n_jobs=2, cache="cache")
    d.fit_transform(face_paths[3:6])
    assert d.n_extracted_ == 3 and len(list((second_dir / "cache").glob("*.pkl"))) == 1


@pytest.mark.realdata
def test_cache_key_includes_the_settings(face_paths, tmp_path):
    desc(cache=tmp_path).fit_transform(face_paths[:3])
    other = desc(cache=tmp_path, num_jitters=1)
    other.fit_transform(face_paths[:3])
    assert other.n_extracted_ == 3


@pytest.mark.realdata
def test_bad_file_raises_or_is_counted(face_paths, described, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    paths = face_paths[:2] + [str(bad)] + face_paths[2:4]
    with pytest.raises(ValueError, match="broken.jpg"):
        desc().fit_transform(paths)
    with pytest.warns(UserWarning, match="1 of 5 images could not be read"):
        out = desc(on_error="nan").fit_transform(paths)
    assert out.shape == (5, 128) and np.isnan(out[2]).all()
    np.testing.assert_array_equal(out[[0, 1, 3, 4]], described[:4])
    skipper = desc(on_error="skip")
    with pytest.warns(UserWarning, match="dropped"):
        out = skipper.fit_transform(paths)
    np.testing.assert_array_equal(out, described[:4])
    assert skipper.failed_indices_.tolist() == [2]


@pytest.mark.realdata
def test_descriptors_predict_gender(utkface_dir):
    """The descriptors carry real facial information: a linear probe reads gender."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from skfair.datasets import load_utkface

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bunch = load_utkface(utkface_dir, target="gender", sensitive="race")
    rng = np.random.default_rng(0)
    rows = rng.choice(len(bunch.paths), size=80, replace=False)
    X = desc(n_jobs=2).fit_transform(bunch.paths[rows])
    y = np.asarray(bunch.target)[rows]
    acc = cross_val_score(LogisticRegression(max_iter=1000), X, y, cv=4).mean()
    assert acc > 0.75  # chance is about 0.5


def test_unaligned_photo_without_face_is_counted():
    noise = np.random.default_rng(0).integers(0, 256, (2, 90, 90, 3), dtype=np.uint8)
    d = desc(face_box="detect").fit(noise)
    with pytest.warns(UserWarning, match="no face was detected in 2 of 2"):
        out = d.transform(noise)
    assert out.shape == (2, 128) and d.n_no_face_ == 2


def test_pickles_small_and_clones(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    d = desc(cache=tmp_path).fit(noise)
    out = d.transform(noise)
    blob = pickle.dumps(d)
    assert len(blob) < 5000  # no model inside
    np.testing.assert_array_equal(pickle.loads(blob).transform(noise), out)
    assert clone(d).get_params() == d.get_params()


def test_not_fitted_and_bad_parameters():
    noise = np.zeros((1, 40, 40, 3), dtype=np.uint8)
    with pytest.raises(NotFittedError):
        desc().transform(noise)
    with pytest.raises(ValueError, match="face_box"):
        desc(face_box="nose").fit(noise)
    with pytest.raises(ValueError, match="num_jitters"):
        desc(num_jitters=-1).fit(noise)
    with pytest.raises(TypeError, match="single path"):
        desc().fit("face.jpg")


def test_missing_extra_is_one_line_error(monkeypatch):
    monkeypatch.setattr(_face, "_MODELS", {})
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib -> ImportError
    with pytest.raises(ImportError, match=r"skfair-suite\[faces\]") as info:
        desc().fit(np.zeros((1, 40, 40, 3), dtype=np.uint8))
    assert "\n" not in str(info.value)
