import numpy as np
import pytest
from PIL import Image

from skfair.datasets._base import check_image_size, load_images


def _images(tmp_path):
    paths = []
    for i, color in enumerate([(255, 0, 0), (0, 255, 0)]):
        p = tmp_path / f"im{i}.png"
        Image.new("RGB", (6, 4), color).save(p)
        paths.append(p)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    return paths, bad


def test_decode_values_and_layout(tmp_path):
    paths, _ = _images(tmp_path)
    images, ok = load_images(paths, None)
    assert ok.all()
    assert images.shape == (2, 3, 4, 6) and images.dtype == np.float32
    np.testing.assert_allclose(images[0, 0], 1.0)  # red channel of the red image
    np.testing.assert_allclose(images[0, 1:], 0.0)
    np.testing.assert_allclose(images[1, 1], 1.0)


def test_grayscale_becomes_rgb_and_resize(tmp_path):
    p = tmp_path / "gray.png"
    Image.new("L", (5, 5), 128).save(p)
    images, _ = load_images([p], (3, 7))
    assert images.shape == (1, 3, 3, 7)
    np.testing.assert_allclose(images, 128 / 255, atol=1e-6)


def test_unreadable_image_warns_with_count_or_raises(tmp_path):
    paths, bad = _images(tmp_path)
    with pytest.warns(UserWarning, match="skipped 1 unreadable image"):
        images, ok = load_images([paths[0], bad, paths[1]], 4)
    assert ok.tolist() == [True, False, True] and len(images) == 2
    with pytest.raises(ValueError, match="broken.jpg"):
        load_images([paths[0], bad], 4, on_error="raise")
    with pytest.raises(ValueError, match="on_error"):
        load_images(paths, 4, on_error="ignore")


def test_mixed_sizes_need_image_size(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (4, 4)).save(a)
    Image.new("RGB", (5, 4)).save(b)
    with pytest.raises(ValueError, match="image_size"):
        load_images([a, b], None)
    assert load_images([a, b], 4)[0].shape == (2, 3, 4, 4)


def test_check_image_size():
    assert check_image_size(None) is None
    assert check_image_size(5) == (5, 5)
    assert check_image_size((2, 3)) == (2, 3)
    with pytest.raises(TypeError, match="image_size"):
        check_image_size("big")
    with pytest.raises(ValueError, match="image_size"):
        check_image_size(0)
