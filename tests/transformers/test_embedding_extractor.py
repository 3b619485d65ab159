"""EmbeddingExtractor: shapes, equivalence of inputs, checkpoints, caching, edge cases."""

import math
import pickle
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from skfair.transformers import EmbeddingExtractor, read_images
from skfair.transformers._backbone import preprocessing_for, resolve_weights

SIZE = 32


def small(backbone="resnet18", **kw):
    """An extractor on the CPU (also on a machine with CUDA, where "auto" would pick
    the GPU and bf16: tests/transformers/test_embedding_cuda.py covers that path)."""
    params = dict(
        weights=None, image_size=SIZE, progress=False, random_state=0, batch_size=4, device="cpu"
    )
    params.update(kw)
    return EmbeddingExtractor(backbone, **params)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, size=(6, SIZE, SIZE, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def fitted(images):
    return small().fit(images)


@pytest.fixture(scope="module")
def png_paths(images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("png")
    paths = []
    for i, img in enumerate(images):
        path = folder / f"img_{i}.png"
        Image.fromarray(img).save(path)
        paths.append(str(path))
    return paths


def bare_features(model, images_uint8):
    """Hand-made reference: torchvision model without its head, ImageNet-normalised input."""
    x = torch.from_numpy(images_uint8).permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    model = model.eval()
    model.fc = torch.nn.Identity()
    with torch.no_grad():
        return model((x - mean) / std).numpy()


# ----------------------------------------------------------------- acceptance
@pytest.mark.parametrize(
    "backbone, dim", [("resnet18", 512), ("resnet34", 512), ("resnet50", 2048)]
)
def test_output_shape_weights_none(backbone, dim, images):
    emb = small(backbone).fit_transform(images[:3])
    assert emb.shape == (3, dim)
    assert emb.dtype == np.float32
    assert np.isfinite(emb).all() and emb.std() > 0


@pytest.mark.parametrize("backbone, dim", [("resnet18", 512), ("resnet50", 2048)])
def test_self_saved_checkpoint_matches_torchvision(backbone, dim, images, tmp_path):
    torch.manual_seed(1)
    model = torchvision.models.get_model(backbone, weights=None, num_classes=7)  # fine-tuned head
    path = tmp_path / "finetuned.pth"
    torch.save(model.state_dict(), path)
    emb = small(backbone, weights=str(path)).fit_transform(images[:3])
    assert emb.shape == (3, dim)
    np.testing.assert_allclose(emb, bare_features(model, images[:3]), rtol=1e-4, atol=1e-4)


def test_checkpoint_wrapped_and_prefixed(images, tmp_path, fitted):
    torch.manual_seed(2)
    model = torchvision.models.resnet18()
    plain, wrapped = tmp_path / "plain.pt", tmp_path / "wrapped.ckpt"
    torch.save(model.state_dict(), plain)
    torch.save(
        {"epoch": 3, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}},
        wrapped,
    )
    a = small(weights=plain).fit_transform(images)
    b = small(weights=str(wrapped)).fit_transform(images)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, fitted.transform(images))  # other weights, other features


def test_arrays_and_png_files_identical(fitted, images, png_paths):
    from_arrays = fitted.transform(images)
    np.testing.assert_array_equal(fitted.transform(png_paths), from_arrays)
    np.testing.assert_array_equal(fitted.transform(np.asarray(png_paths)), from_arrays)
    with_workers = clone(fitted).set_params(num_workers=2).fit()
    np.testing.assert_array_equal(with_workers.transform(png_paths), from_arrays)


def test_float_and_uint8_arrays_identical(fitted, images):
    as_float = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    np.testing.assert_array_equal(fitted.transform(as_float), fitted.transform(images))
    np.testing.assert_array_equal(
        fitted.transform(torch.from_numpy(as_float)), fitted.transform(images)
    )


def test_readonly_memmap_input(fitted, images, tmp_path):
    np.save(tmp_path / "x.npy", images)
    readonly = np.load(tmp_path / "x.npy", mmap_mode="r")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(fitted.transform(readonly), fitted.transform(images))


def test_deterministic(images):
    a, b = small().fit(images), small().fit(images)
    first = a.transform(images)
    np.testing.assert_array_equal(a.transform(images), first)
    np.testing.assert_array_equal(b.transform(images), first)
    assert not a.model_.training
    other = small(random_state=1).fit_transform(images)
    assert not np.allclose(other, first)


def test_cache_avoids_second_forward(images, tmp_path):
    ext = small(cache=tmp_path).fit(images)  # a folder (path-like or str)
    first = ext.transform(images)
    n_batches = math.ceil(len(images) / ext.batch_size)
    assert ext.n_forward_passes_ == n_batches
    np.testing.assert_array_equal(ext.transform(images), first)
    assert ext.n_forward_passes_ == n_batches  # answered from the cache

    twin = clone(ext).set_params(cache=joblib.Memory(str(tmp_path), verbose=0)).fit(images)
    np.testing.assert_array_equal(twin.transform(images), first)
    assert twin.n_forward_passes_ == 0

    twin.transform(images[:2])  # other input: computed
    assert twin.n_forward_passes_ == 1
    other_weights = small(cache=str(tmp_path), random_state=5).fit(images)
    other_weights.transform(images)  # other weights: computed
    assert other_weights.n_forward_passes_ == n_batches


def test_cache_grid_search_extracts_each_fold_once(images, tmp_path, monkeypatch):
    calls = []
    original = EmbeddingExtractor._embed

    def counting(self, source, device, precision):
        calls.append(len(source))
        return original(self, source, device, precision)

    monkeypatch.setattr(EmbeddingExtractor, "_embed", counting)
    X = np.concatenate([images, 255 - images])
    y = np.r_[np.zeros(6), np.ones(6)]
    pipe = make_pipeline(small(cache=str(tmp_path)), LogisticRegression(max_iter=200))
    search = GridSearchCV(pipe, {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]}, cv=3)
    search.fit(X, y)
    # 3 training folds + 3 test folds + the refit on all rows, whatever the number of
    # candidates (4 here; without the cache: 4 * 6 + 1 extractions)
    assert sorted(calls) == [4, 4, 4, 8, 8, 8, 12]


def test_named_layer_is_pooled(fitted, images):
    layer4 = small(layer="layer4").fit(images)
    np.testing.assert_allclose(
        layer4.transform(images), fitted.transform(images), rtol=1e-5, atol=1e-6
    )
    layer3 = small(layer="layer3").fit(images)
    assert layer3.embedding_dim_ == 256
    assert layer3.transform(images).shape == (6, 256)
    with pytest.raises(ValueError, match="layer='layer9'.*resnet18"):
        small(layer="layer9").fit(images)


def test_feature_names_pickle_clone(fitted, images):
    names = fitted.get_feature_names_out()
    assert names.shape == (512,) and names[0] == "embeddingextractor0"
    blob = pickle.dumps(fitted)
    assert fitted._model is not None  # pickling leaves the fitted object as it is
    restored = pickle.loads(blob)
    assert restored._model is None  # loaded lazily, on the CPU first
    np.testing.assert_array_equal(restored.transform(images), fitted.transform(images))
    assert clone(fitted).get_params() == fitted.get_params()
    assert not hasattr(clone(fitted), "embedding_dim_")
    df = clone(fitted).set_output(transform="pandas").fit(images).transform(images)
    assert list(df.columns[:2]) == ["embeddingextractor0", "embeddingextractor1"]


def test_pickling_keeps_the_whole_module(fitted, images):
    """Settings outside the state dict (torchvision sets some from a weights enum, e.g.
    inception's transform_input) survive pickling: the module itself is stored."""
    fitted.model_.marker = "set after fit"
    before = fitted.transform(images)
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored.model_.marker == "set after fit"
    np.testing.assert_array_equal(restored.transform(images), before)
    np.testing.assert_array_equal(fitted.transform(images), before)


def test_api_contract(images):
    ext = small()
    assert not any(k.endswith("_") for k in vars(ext))
    with pytest.raises(NotFittedError):
        ext.transform(images)
    assert ext.fit(images) is ext
    assert not hasattr(ext, "n_features_in_")  # documented: images have no fixed width


def test_bunch_and_dataframe_inputs(fitted, images, png_paths):
    import pandas as pd

    expected = fitted.transform(images)
    np.testing.assert_array_equal(fitted.transform(Bunch(data=np.asarray(png_paths))), expected)
    np.testing.assert_array_equal(fitted.transform(Bunch(images=images, data=None)), expected)
    np.testing.assert_array_equal(fitted.transform(pd.Series(png_paths)), expected)
    np.testing.assert_array_equal(fitted.transform(pd.DataFrame({"path": png_paths})), expected)
    with pytest.raises(TypeError, match="2 columns"):
        fitted.transform(pd.DataFrame({"a": png_paths, "b": png_paths}))


def test_progress_bar(fitted, images, capsys):
    fitted.transform(images)
    assert "embeddings" not in capsys.readouterr().err
    verbose = clone(fitted).set_params(progress=True).fit()
    verbose.transform(images)
    err = capsys.readouterr().err
    assert "resnet18 embeddings" in err and "6/6" in err


def test_bf16_precision_on_cpu(fitted, images):
    bf16 = clone(fitted).set_params(precision="bf16").fit(images)
    emb = bf16.transform(images)
    assert emb.dtype == np.float32 and bf16.precision_ == "bf16"
    ref = fitted.transform(images)
    assert np.corrcoef(emb.ravel(), ref.ravel())[0, 1] > 0.99


# ----------------------------------------------------------------- edge cases
def test_mixed_sizes_in_path_list(fitted, tmp_path):
    rng = np.random.default_rng(3)
    paths = []
    for i, (h, w) in enumerate([(32, 32), (50, 70), (90, 40), (17, 17)]):
        path = tmp_path / f"mixed_{i}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    emb = fitted.transform(paths)
    assert emb.shape == (4, 512) and np.isfinite(emb).all()
    resized = read_images(paths, size=SIZE)  # same resize + center crop
    np.testing.assert_array_equal(emb, fitted.transform(resized))


def test_grayscale_and_rgba(fitted, images, tmp_path):
    gray = images[..., 0]
    rgba = np.concatenate([images, np.full(images.shape[:3] + (1,), 7, np.uint8)], axis=-1)
    gray_paths, rgba_paths = [], []
    for i in range(len(images)):
        gray_paths.append(tmp_path / f"g{i}.png")
        Image.fromarray(gray[i], mode="L").save(gray_paths[-1])
        rgba_paths.append(tmp_path / f"a{i}.png")
        Image.fromarray(rgba[i], mode="RGBA").save(rgba_paths[-1])
    as_rgb = np.repeat(gray[..., None], 3, axis=-1)
    expected_gray = fitted.transform(as_rgb)
    np.testing.assert_array_equal(fitted.transform(gray_paths), expected_gray)
    np.testing.assert_array_equal(fitted.transform(gray), expected_gray)
    np.testing.assert_array_equal(fitted.transform(gray[..., None]), expected_gray)
    expected_rgba = fitted.transform(images)  # alpha dropped
    np.testing.assert_array_equal(fitted.transform(rgba_paths), expected_rgba)
    np.testing.assert_array_equal(fitted.transform(rgba), expected_rgba)


@pytest.fixture()
def paths_with_bad(png_paths, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_text("not an image")
    return [png_paths[0], str(broken), png_paths[2], str(tmp_path / "missing.png")]


def test_unreadable_file_raises_naming_it(fitted, paths_with_bad):
    with pytest.raises(ValueError, match=r"broken\.jpg.*row 1"):
        fitted.transform(paths_with_bad)


def test_unreadable_file_nan_and_skip(fitted, images, paths_with_bad):
    good = fitted.transform(images[[0, 2]])
    nan_ext = clone(fitted).set_params(on_error="nan").fit()
    with pytest.warns(UserWarning, match=r"2 of 4 images could not be read.*broken\.jpg"):
        emb = nan_ext.transform(paths_with_bad)
    assert emb.shape == (4, 512)
    assert np.isnan(emb[[1, 3]]).all()
    np.testing.assert_array_equal(emb[[0, 2]], good)
    np.testing.assert_array_equal(nan_ext.failed_indices_, [1, 3])

    skip_ext = clone(fitted).set_params(on_error="skip").fit()
    with pytest.warns(UserWarning, match="rows were dropped"):
        emb = skip_ext.transform(paths_with_bad)
    np.testing.assert_array_equal(emb, good)
    np.testing.assert_array_equal(skip_ext.failed_indices_, [1, 3])
    with pytest.raises(ValueError, match="none of the 2 images could be read"):
        skip_ext.transform([paths_with_bad[1], paths_with_bad[3]])


@pytest.mark.parametrize("container", ["frame", "series"])
def test_skip_under_pandas_output_keeps_the_surviving_index(fitted, images, paths_with_bad,
                                                            container):
    """scikit-learn's pandas output reuses the input's index, which is longer than the
    output once rows are skipped: the surviving rows keep their own labels."""
    pd = pytest.importorskip("pandas")
    index = pd.Index([10, 11, 12, 13])
    X = (pd.DataFrame({"path": paths_with_bad}, index=index) if container == "frame"
         else pd.Series(paths_with_bad, index=index))
    skip_ext = clone(fitted).set_params(on_error="skip").fit().set_output(transform="pandas")
    with pytest.warns(UserWarning, match="rows were dropped"):
        out = skip_ext.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.index) == [10, 12]
    assert list(out.columns) == list(skip_ext.get_feature_names_out())
    np.testing.assert_array_equal(out.to_numpy(), fitted.transform(images[[0, 2]]))
    with pytest.warns(UserWarning, match="rows were dropped"):  # default output: an array
        assert isinstance(skip_ext.set_output(transform="default").transform(X), np.ndarray)


def test_on_error_raise_raises_on_a_cache_hit_too(fitted, paths_with_bad, tmp_path):
    """The cache key ignores on_error: a result cached with on_error='nan' still makes
    on_error='raise' raise."""
    cached = clone(fitted).set_params(cache=tmp_path, on_error="nan").fit()
    with pytest.warns(UserWarning, match="filled with NaN"):
        cached.transform(paths_with_bad)
    strict = clone(cached).set_params(on_error="raise").fit()
    with pytest.raises(ValueError, match=r"broken\.jpg.*row 1"):
        strict.transform(paths_with_bad)
    assert strict.n_forward_passes_ == 0  # answered from the cache, then raised


@pytest.mark.parametrize("empty", [[], np.empty((0, SIZE, SIZE, 3), np.uint8), np.array([])])
def test_empty_input(fitted, empty):
    with pytest.raises(ValueError, match="no images"):
        fitted.transform(empty)
    with pytest.raises(ValueError, match="no images"):
        small().fit(empty)


def test_bad_arrays(fitted):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fitted.transform(np.full((2, 3, SIZE, SIZE), 2.0, np.float32))
    with pytest.raises(ValueError, match="uint8 images must have shape"):
        fitted.transform(np.zeros((2, 3, SIZE, SIZE), np.uint8))
    with pytest.raises(TypeError, match="int64"):
        fitted.transform(np.zeros((2, SIZE, SIZE, 3), np.int64))
    with pytest.raises(TypeError, match="single path"):
        fitted.transform("img.png")


@pytest.mark.parametrize("bad", [1.5, np.nan])
def test_out_of_range_value_in_a_later_batch_is_caught(images, bad):
    """transform checks the [0, 1] range batch by batch, on the prefetch thread: a bad
    value in the last batch is still a ValueError, naming that batch's rows; fit checks
    the whole array at once."""
    as_float = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    as_float[5, 1, 2, 3] = bad
    est = small(batch_size=2).fit()
    with pytest.raises(ValueError, match=r"X\[4:6\]: float images must hold values in \[0, 1\]"):
        est.transform(as_float)
    with pytest.raises(ValueError, match=r"^X: float images must hold values in \[0, 1\]"):
        small().fit(as_float)


def test_float_alpha_is_dropped_unchecked(fitted, images):
    """A float RGBA array: the range check covers the channels the network sees, at
    fit and batch by batch in transform (on CUDA the device only gets those)."""
    as_float = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    rgba = np.concatenate([as_float, np.full_like(as_float[:, :1], 7.0)], axis=1)
    np.testing.assert_array_equal(fitted.transform(rgba), fitted.transform(as_float))
    small().fit(rgba)  # no error: alpha is not an input of the network
    rgba[5, 0, 2, 3] = 1.5
    with pytest.raises(ValueError, match=r"X\[4:6\]: float images"):
        small(batch_size=2).fit().transform(rgba)


def test_batches_leave_the_range_check_to_the_caller_when_asked():
    """``check_range=False``: the caller (the CUDA path of transform) checks the
    batches; the host reductions are skipped and the batches are the same."""
    from skfair.transformers._image_io import Preprocessing, as_image_input

    X = np.random.default_rng(0).random((5, 3, SIZE, SIZE), dtype=np.float32)
    X[4, 0, 0, 0] = 2.0
    prep = Preprocessing(crop_size=SIZE, resize_size=SIZE)
    source = as_image_input(X, defer_range_check=True)
    with pytest.raises(ValueError, match=r"X\[4:5\]: float images"):
        list(source.batches(4, prep))
    batches = list(source.batches(4, prep, check_range=False))
    assert [i.tolist() for i, _, _ in batches] == [[0, 1, 2, 3], [4]]
    torch.testing.assert_close(batches[1][1], torch.from_numpy(X[4:]), rtol=0, atol=0)


def test_array_batches_keep_the_layout_for_pinned_copies(monkeypatch):
    """For a CUDA device (pinned copies) a channels-last float array is handed on as a
    view of the caller's array, in its own layout: no copy to C order on the host, and
    the device gets the layout its network runs in. For the CPU network the batch is
    copied to C order, on the prefetch thread."""
    from skfair.transformers._image_io import Preprocessing, as_image_input

    X = np.random.default_rng(0).random((5, SIZE, SIZE, 3), dtype=np.float32)
    X = X.transpose(0, 3, 1, 2)  # (n, C, H, W), channels-last in memory
    prep = Preprocessing(crop_size=SIZE, resize_size=SIZE)
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self: self)  # no CUDA here
    source = as_image_input(X, defer_range_check=True)
    pinned = [xb for _, xb, _ in source._array_batches(4, prep, pin_memory=True)]
    assert [len(xb) for xb in pinned] == [4, 1]
    assert all(xb.is_contiguous(memory_format=torch.channels_last) for xb in pinned)
    assert pinned[0].data_ptr() == torch.from_numpy(X).data_ptr()  # a view: no copy
    cpu = [xb for _, xb, _ in source._array_batches(4, prep, pin_memory=False)]
    assert all(xb.is_contiguous() for xb in cpu)
    for a, b in zip(pinned, cpu, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_weights_path_missing(images, tmp_path):
    missing = tmp_path / "nowhere" / "weights.pth"
    with pytest.raises(FileNotFoundError, match=r"nowhere.*resnet18"):
        small(weights=str(missing)).fit(images)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        small(weights=missing).fit(images)


def test_weights_not_matching_backbone(images, tmp_path):
    path = tmp_path / "r18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    with pytest.raises(ValueError, match=r"r18\.pth.*does not match backbone='resnet50'"):
        small("resnet50", weights=path).fit(images)
    junk = tmp_path / "junk.pt"
    torch.save([1, 2, 3], junk)
    with pytest.raises(ValueError, match=r"junk\.pt.*state dict"):
        small(weights=junk).fit(images)
    with pytest.raises(ValueError, match="ResNet50_Weights.*resnet18"):
        small(weights=torchvision.models.ResNet50_Weights.DEFAULT).fit(images)
    with pytest.raises(ValueError, match="ResNet50_Weights.*resnet18"):
        small(weights="ResNet50_Weights.IMAGENET1K_V2").fit(images)
    with pytest.raises(ValueError, match="'IMAGENET_V9'.*DEFAULT"):
        small(weights="IMAGENET_V9").fit(images)
    with pytest.raises(ValueError, match="resnet5O.*resnet50"):
        small("resnet5O").fit(images)


def test_default_weights_follow_torchvision():
    kind, value = resolve_weights("resnet50", "DEFAULT")
    assert value is torchvision.models.ResNet50_Weights.IMAGENET1K_V2
    assert resolve_weights("resnet50", "ResNet50_Weights.IMAGENET1K_V1")[1].name == "IMAGENET1K_V1"
    prep = preprocessing_for("resnet50", kind, value, 224)
    assert (prep.crop_size, prep.resize_size) == (224, 232)  # the weights' own transforms
    assert prep.mean == (0.485, 0.456, 0.406)
    assert preprocessing_for("resnet50", kind, value, 112).resize_size == 116


def test_default_weights_offline_error(images, monkeypatch):
    from urllib.error import URLError

    from torchvision.models import WeightsEnum

    def offline(self, *args, **kwargs):
        raise URLError("Name or service not known")

    monkeypatch.setattr(WeightsEnum, "get_state_dict", offline)
    with pytest.raises(RuntimeError, match="could not download.*ResNet18_Weights"):
        EmbeddingExtractor("resnet18", progress=False).fit(images)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_requested_without_cuda(images):
    with pytest.raises(ValueError, match="device='cuda'.*CUDA is not available"):
        small(device="cuda").fit(images)
    with pytest.raises(ValueError, match="not a torch device"):
        small(device="gpu0").fit(images)


# ----------------------------------------------------------------- real data
@pytest.mark.realdata
def test_utkface_paths(utkface_dir):
    try:
        from skfair.datasets import load_utkface
    except ImportError:
        paths = sorted(str(p) for p in Path(utkface_dir).glob("*.jpg"))[:8]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the dataset's broken file name
            paths = list(load_utkface(utkface_dir).data[:8])
    ext = small(image_size=64, num_workers=2).fit(paths)
    emb = ext.transform(paths)
    assert emb.shape == (8, 512) and np.isfinite(emb).all()
    assert len(np.unique(emb.round(4), axis=0)) == 8  # eight different faces
