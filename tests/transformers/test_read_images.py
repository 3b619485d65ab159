"""read_images: decoding, resizing, errors."""

import numpy as np
import pytest
from PIL import Image

from skfair.transformers import read_images


def write(path, array, mode=None):
    Image.fromarray(array, mode=mode).save(path)
    return path


def test_mixed_sizes_gray_rgba(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    paths = [
        write(tmp_path / "rgb.png", rgb),
        write(tmp_path / "gray.png", rgb[..., 0], "L"),
        write(tmp_path / "rgba.png", np.dstack([rgb, np.zeros((20, 20), np.uint8)]), "RGBA"),
        write(tmp_path / "wide.png", rng.integers(0, 256, (10, 30, 3), dtype=np.uint8)),
    ]
    out = read_images(paths)  # size taken from the first (square) image
    assert out.shape == (4, 20, 20, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], rgb)
    np.testing.assert_array_equal(out[1], np.repeat(rgb[..., :1], 3, axis=-1))
    np.testing.assert_array_equal(out[2], rgb)  # alpha dropped
    assert read_images(paths, size=8, num_workers=2).shape == (4, 8, 8, 3)


def test_unreadable_files(tmp_path):
    good = write(tmp_path / "ok.png", np.zeros((4, 4, 3), np.uint8))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    with pytest.raises(ValueError, match=r"bad\.png"):
        read_images([good, bad])
    with pytest.warns(UserWarning, match=r"skipped 1 of 2.*bad\.png"):
        out = read_images([good, bad], on_error="skip")
    assert out.shape == (1, 4, 4, 3)
    with pytest.raises(ValueError, match="no images"):
        read_images([])
    with pytest.raises(ValueError, match="size is required"):
        read_images([write(tmp_path / "wide.png", np.zeros((4, 6, 3), np.uint8))])


def test_an_unreadable_first_file_with_size_none(tmp_path):
    """The size comes from the first readable file; the unreadable ones are skipped or
    named in a ValueError, as anywhere else in the list."""
    good = write(tmp_path / "ok.png", np.zeros((4, 4, 3), np.uint8))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    missing = tmp_path / "missing.png"
    with pytest.warns(UserWarning, match=r"skipped 2 of 3"):
        assert read_images([bad, missing, good], on_error="skip").shape == (1, 4, 4, 3)
    for first in (bad, missing):
        with pytest.raises(ValueError, match=rf"{first.name}.*row 0"):
            read_images([first, good])
    with pytest.raises(ValueError, match="none of the 2 image files could be read"):
        read_images([bad, missing], on_error="skip")


def test_prefetch_thread_ends_when_the_consumer_stops_early():
    """A consumer that stops after the producer has read everything (an error in the
    forward pass, Ctrl-C) leaves no prefetch thread behind: the producer's last put (the
    end marker, into a full queue) gives up once the consumer has stopped."""
    import threading
    import time

    from skfair.transformers._image_io import _prefetch

    def live():
        return sum(t.name == "skfair-prefetch" and t.is_alive() for t in threading.enumerate())

    before = live()
    gen = _prefetch(iter(range(2)), depth=1)
    assert next(gen) == 0
    time.sleep(0.3)  # item 1 fills the queue; the producer waits to queue the end marker
    gen.close()
    assert live() == before
