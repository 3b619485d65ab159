"""Augmentation: per-image ops equal torchvision's kernels, per-sample randomness, seeding."""

import pickle

import pytest
import torch
from sklearn.base import clone
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from skfair.transformers import Augmentation

NONE = dict(hflip=0.0, crop_scale=None, brightness=0.0, contrast=0.0)


def batch(n=8, c=3, size=12, seed=0):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed))


def test_disabled_is_identity_and_flip_is_exact():
    x = batch()
    assert torch.equal(Augmentation(**NONE)(x), x)
    assert torch.equal(Augmentation(**{**NONE, "hflip": 1.0})(x), x.flip(-1))
    assert torch.equal(Augmentation(**{**NONE, "invert": 1.0})(x), 1 - x)


def test_each_image_draws_its_own_flip():
    x = batch(n=64)
    out = Augmentation(**{**NONE, "hflip": 0.5}, random_state=0)(x)
    flipped = torch.tensor([torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x, strict=True)])
    assert bool((flipped | kept).all())
    assert 10 < int(flipped.sum()) < 54


@pytest.mark.parametrize(
    "param, value, kernel",
    [
        ("brightness", (1.4, 1.4), lambda img: F.adjust_brightness(img, 1.4)),
        ("contrast", (0.6, 0.6), lambda img: F.adjust_contrast(img, 0.6)),
        ("saturation", (1.7, 1.7), lambda img: F.adjust_saturation(img, 1.7)),
        ("hue", (0.2, 0.2), lambda img: F.adjust_hue(img, 0.2)),
        ("hue", (-0.45, -0.45), lambda img: F.adjust_hue(img, -0.45)),
    ],
)
def test_jitter_matches_torchvision_kernels(param, value, kernel):
    x = batch()
    out = Augmentation(**{**NONE, param: value})(x)
    expected = torch.stack([kernel(img) for img in x])
    torch.testing.assert_close(out, expected, atol=2e-6, rtol=1e-5)


def test_jitter_factor_per_image():
    x = batch(n=16) * 0.5  # no clipping up to a factor of 2
    out = Augmentation(**{**NONE, "brightness": 0.5}, random_state=3)(x)
    ratio = out / x
    per_image = ratio.flatten(1)
    torch.testing.assert_close(per_image.min(1).values, per_image.max(1).values)
    factors = per_image[:, 0]
    assert bool(((factors >= 0.5) & (factors <= 1.5)).all())
    assert factors.std() > 0.1


def test_crop_full_box_is_identity_and_half_box_zooms():
    x = batch()
    full = Augmentation(**{**NONE, "crop_scale": (1.0, 1.0), "crop_ratio": (1.0, 1.0)})(x)
    torch.testing.assert_close(full, x, atol=1e-6, rtol=0)
    # a horizontal ramp (value = column): a crop of half the width doubles the size,
    # so neighbouring output columns differ by 0.5
    ramp = torch.arange(16.0).expand(4, 3, 16, 16).contiguous() / 16
    zoom = Augmentation(
        **{**NONE, "crop_scale": (0.25, 0.25), "crop_ratio": (1.0, 1.0)}, random_state=0
    )(ramp)
    steps = zoom[..., 1:-1].diff(dim=-1) * 16
    torch.testing.assert_close(steps, torch.full_like(steps, 0.5), atol=1e-5, rtol=0)
    assert zoom.shape == ramp.shape


def test_crop_fallback_when_no_try_fits():
    x = batch(size=8)
    out = Augmentation(**{**NONE, "crop_scale": (1.0, 1.0), "crop_ratio": (2.0, 2.0)})(x)
    assert out.shape == x.shape and torch.isfinite(out).all()


def test_seeded_sequence_reproducible_and_clone_resets():
    x = batch()
    a, b = Augmentation(random_state=0, hue=0.1), Augmentation(random_state=0, hue=0.1)
    first, second = a(x), a(x)
    assert not torch.equal(first, second)  # a new draw per batch
    assert torch.equal(b(x), first) and torch.equal(b(x), second)
    assert torch.equal(clone(a)(x), first)
    restored = pickle.loads(pickle.dumps(a))
    assert torch.equal(restored(x), first)



def test_pickling_or_copying_does_not_restart_the_original_stream():
    import copy

    x = batch()
    a, b = Augmentation(random_state=0, hue=0.1), Augmentation(random_state=0, hue=0.1)
    assert torch.equal(a(x), b(x))
    pickle.dumps(a)
    copy.deepcopy(a)
    assert torch.equal(a(x), b(x))  # the second draw, not the first again


def test_shape_dtype_single_image_and_grayscale():
    aug = Augmentation(saturation=0.3, hue=0.1, invert=0.5, random_state=0)
    x = batch()
    out = aug(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert aug(x[0]).shape == x[0].shape
    assert aug(x.to(torch.bfloat16)).dtype == torch.bfloat16
    gray = batch(c=1)
    assert aug(gray).shape == gray.shape


def test_bad_inputs_and_params():
    with pytest.raises(TypeError, match="float"):
        Augmentation()(torch.zeros(2, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="B, C, H, W"):
        Augmentation()(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="hue"):
        Augmentation(hue=0.7)(batch())
    with pytest.raises(ValueError, match="crop_scale"):
        Augmentation(crop_scale=(0.9, 0.5))(batch())
    with pytest.raises(ValueError, match="brightness"):
        Augmentation(brightness=(1.2, 0.8))(batch())
    with pytest.raises(ValueError, match="saturation/hue"):
        Augmentation(saturation=0.5)(batch(c=4))


def test_build_gives_torchvision_v2_pipeline():
    compose = Augmentation(saturation=0.1, hue=0.05, invert=0.5).build(size=10)
    kinds = [type(t) for t in compose.transforms]
    assert kinds == [v2.RandomResizedCrop, v2.RandomHorizontalFlip, v2.ColorJitter, v2.RandomInvert]
    assert compose(torch.rand(3, 16, 20)).shape == (3, 10, 10)
    with pytest.raises(ValueError, match="size"):
        Augmentation().build()
    identity = Augmentation(**NONE).build()
    assert [type(t) for t in identity.transforms] == [v2.Identity]


def test_grid_searchable_params():
    aug = Augmentation(brightness=0.3)
    assert aug.get_params()["brightness"] == 0.3
    assert clone(aug.set_params(contrast=0.1)).contrast == 0.1
