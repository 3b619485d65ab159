"""EmbeddingExtractor on a CUDA device: channels_last, autocast, pinned copies.

Skipped without CUDA (this project's CI has none); run them on a GPU machine with
``python -m pytest tests/transformers/test_embedding_cuda.py``.
"""

import numpy as np
import pytest
import torch
from PIL import Image

from skfair.transformers import EmbeddingExtractor

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SIZE = 32


def _extractor(**kw):
    params = dict(weights=None, image_size=SIZE, progress=False, random_state=0, batch_size=4)
    params.update(kw)
    return EmbeddingExtractor("resnet18", **params)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, size=(10, SIZE, SIZE, 3), dtype=np.uint8)


def test_fp32_on_cuda_equals_cpu(images, no_tf32):
    cpu = _extractor(device="cpu", precision="fp32").fit(images).transform(images)
    gpu_est = _extractor(device="cuda", precision="fp32").fit(images)
    gpu = gpu_est.transform(images)
    assert gpu_est.precision_ == "fp32"
    # without TF32 convolutions (cuDNN's default; they alone differ by ~1e-3): float32
    # rounding and the choice of algorithms only
    np.testing.assert_allclose(gpu, cpu, rtol=1e-3, atol=1e-4)


def test_auto_precision_on_cuda_is_half_and_close_to_fp32(images):
    fp32 = _extractor(device="cuda", precision="fp32").fit(images).transform(images)
    auto = _extractor(device="cuda").fit(images)
    emb = auto.transform(images)
    assert auto.precision_ in ("bf16", "fp16") and emb.dtype == np.float32
    assert np.corrcoef(emb.ravel(), fp32.ravel())[0, 1] > 0.99


@pytest.fixture
def no_tf32():
    """Full float32 cuDNN convolutions for one test, restored after it.

    PyTorch lets cuDNN use TF32 (a 10-bit mantissa) by default; an input differing in
    the last float32 bit (CUDA divides by 255 as a multiplication by its reciprocal)
    then moves the embeddings by about 1e-3, which would hide a real difference
    between the input paths.
    """
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):  # torch >= 2.9
        old = conv.fp32_precision
        conv.fp32_precision = "ieee"
        try:
            yield
        finally:
            conv.fp32_precision = old
    else:
        old = torch.backends.cudnn.allow_tf32
        torch.backends.cudnn.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32 = old


def test_arrays_float_and_files_agree_on_cuda(images, tmp_path, no_tf32):
    est = _extractor(device="cuda", precision="fp32").fit(images)
    paths = []
    for i, img in enumerate(images):
        path = tmp_path / f"img_{i}.png"
        Image.fromarray(img).save(path)
        paths.append(str(path))
    ref = est.transform(images)
    float_images = images.transpose(0, 3, 1, 2).astype(np.float32) / 255  # (n, C, H, W)
    # float32 rounding and the choice of cuDNN algorithm only (TF32 alone gives ~1e-3)
    np.testing.assert_allclose(est.transform(float_images), ref, rtol=1e-4, atol=1e-5)
    # float_images is channels-last in memory and reaches the GPU so; a C-ordered copy
    # is converted to channels-last there: the network sees the same tensor
    np.testing.assert_allclose(est.transform(np.ascontiguousarray(float_images)),
                               est.transform(float_images), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(est.transform(paths), ref, rtol=1e-4, atol=1e-5)
    # a batch size that does not divide the rows: the pinned, asynchronous copies of the
    # last (partial) batch come back in order
    np.testing.assert_allclose(est.set_params(batch_size=3).transform(images), ref,
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bad", [1.5, -0.5, np.nan])
def test_out_of_range_value_in_a_later_batch_is_caught_on_cuda(images, bad):
    """On CUDA the [0, 1] check of a float array runs on the device: a bad value in the
    last batch is still a ValueError naming that batch's rows, and good arrays pass."""
    est = _extractor(device="cuda", batch_size=2).fit()
    as_float = images.transpose(0, 3, 1, 2).astype(np.float32) / 255
    ok = est.transform(as_float)
    assert np.isfinite(ok).all()
    as_float[5, 1, 2, 3] = bad
    with pytest.raises(ValueError, match=r"X\[4:6\]: float images must hold values in \[0, 1\]"):
        est.transform(as_float)
    as_float[5, 1, 2, 3] = 0.5
    as_float[9, 0, 0, 0] = bad  # the very last batch, collected after the loop
    with pytest.raises(ValueError, match=r"X\[8:10\]: float images"):
        est.transform(as_float)
