"""Building a torchvision classification backbone as a feature extractor.

Resolves ``weights=`` (a torchvision weights enum or its name, ``None``, or a
local checkpoint file), removes the classification head (or keeps the graph up
to a named layer) and derives the input preprocessing from the weights' own
transforms when they have them.
"""

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ._image_io import IMAGENET_MEAN, IMAGENET_STD, Preprocessing

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".tar", ".pkl")
_STATE_DICT_KEYS = ("state_dict", "model_state_dict", "model")
_PREFIXES = ("module.", "_orig_mod.")


# torchvision is imported inside the functions that use it: importing it imports
# torch._dynamo (seconds), which ``import skfair.transformers`` does not need.


def classification_models():
    """Names accepted as ``backbone`` (torchvision's classification models)."""
    import torchvision

    return torchvision.models.list_models(module=torchvision.models)


def check_backbone(backbone):
    names = classification_models()
    if backbone not in names:
        close = difflib.get_close_matches(str(backbone), names, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"backbone={backbone!r} is not a torchvision classification model.{hint} "
            "See torchvision.models.list_models(module=torchvision.models)."
        )


def resolve_weights(backbone, weights):
    """Return ``(kind, value)`` with kind ``"none"``, ``"enum"`` or ``"file"``."""
    if weights is None:
        return "none", None
    import torchvision
    from torchvision.models import WeightsEnum

    enum_cls = torchvision.models.get_model_weights(backbone)
    if isinstance(weights, WeightsEnum):
        if type(weights) is not enum_cls:
            raise ValueError(
                f"weights={weights} belong to {type(weights).__name__}, not to "
                f"backbone={backbone!r} (whose weights are {enum_cls.__name__})."
            )
        return "enum", weights
    if isinstance(weights, str):
        name = weights
        qualified = (
            "." in name
            and name.split(".", 1)[0].endswith("_Weights")
            and not name.endswith(_CHECKPOINT_SUFFIXES)
            and not os.path.exists(name)
        )
        if qualified:
            prefix, name = name.split(".", 1)
            if prefix != enum_cls.__name__:
                raise ValueError(
                    f"weights={weights!r} belong to {prefix}, not to backbone={backbone!r} "
                    f"(whose weights are {enum_cls.__name__})."
                )
        if name in enum_cls.__members__:
            return "enum", enum_cls[name]
        looks_like_path = os.sep in weights or weights.endswith(_CHECKPOINT_SUFFIXES)
        if not looks_like_path and not os.path.exists(weights):
            raise ValueError(
                f"weights={weights!r} is neither a weights name of backbone={backbone!r} "
                f"({', '.join(enum_cls.__members__)}) nor an existing checkpoint file."
            )
    if isinstance(weights, (str, os.PathLike)):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"weights checkpoint {str(path)!r} does not exist (backbone={backbone!r})."
            )
        return "file", path
    raise TypeError(
        "weights must be a torchvision weights enum, its name (e.g. 'DEFAULT'), None or "
        f"the path of a checkpoint file; got {type(weights).__name__}."
    )


def weights_label(kind, value):
    """A stable text description of the weights (for cache keys and repr)."""
    if kind == "enum":
        return f"{type(value).__name__}.{value.name}"
    if kind == "file":
        return os.fspath(value)
    return "None"


def preprocessing_for(backbone, kind, value, image_size):
    """Resizing and normalisation for the network's input.

    With a weights enum, the mean/std, interpolation and resize/crop ratio
    come from ``weights.transforms()`` (e.g. resize 232 then crop 224 for
    ``ResNet50_Weights.IMAGENET1K_V2``), scaled to ``image_size``. Otherwise
    (``weights=None`` or a checkpoint) ImageNet's mean/std is used and images
    are resized straight to ``image_size`` (shorter side, then center crop).
    """
    mean, std, interp, ratio = IMAGENET_MEAN, IMAGENET_STD, "bilinear", 1.0
    if kind == "enum":
        tf = value.transforms()
        if all(hasattr(tf, a) for a in ("mean", "std", "crop_size", "resize_size")):
            mean, std = tuple(map(float, tf.mean)), tuple(map(float, tf.std))
            ratio = float(tf.resize_size[0]) / float(tf.crop_size[0])
            interp = getattr(tf, "interpolation", "bilinear")
            interp = getattr(interp, "value", interp)
    return Preprocessing(
        crop_size=int(image_size),
        resize_size=max(int(image_size), int(round(image_size * ratio))),
        mean=mean,
        std=std,
        interpolation=str(interp),
    )


def _head_name(model):
    """Dotted name of the last ``nn.Linear`` (the classification head)."""
    name = None
    for n, m in model.named_modules():
        if isinstance(m, nn.Linear):
            name = n
    return name


def _set_submodule(model, name, module):
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def load_checkpoint(path, backbone):
    """Read a state dict from ``path`` (also inside a ``{"state_dict": ...}`` /
    ``{"model": ...}`` checkpoint), without ``module.`` / ``_orig_mod.`` prefixes."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"could not load the weights checkpoint {os.fspath(path)!r} for "
            f"backbone={backbone!r} with torch.load(weights_only=True): {exc}. Save a state "
            "dict: torch.save(model.state_dict(), path)."
        ) from exc
    if isinstance(obj, Mapping):
        for key in _STATE_DICT_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(
            f"weights checkpoint {os.fspath(path)!r} does not hold a state dict (a mapping of "
            "parameter names to tensors, possibly under 'state_dict' or 'model')."
        )
    state = {}
    for k, v in obj.items():
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if k.startswith(prefix):
                    k, changed = k[len(prefix) :], True
        state[k] = v
    return state


class _PooledLayer(nn.Module):
    """A truncated graph returning one node, globally average pooled."""

    def __init__(self, extractor):
        super().__init__()
        self.extractor = extractor

    def forward(self, x):
        return global_pool(self.extractor(x)["features"])


def global_pool(out):
    """(N, C, H, W) -> mean over H, W; (N, L, D) tokens -> mean over L."""
    if isinstance(out, (tuple, list)):
        out = out[0]
    if out.ndim == 4:
        return out.mean(dim=(2, 3))
    if out.ndim == 3:
        return out.mean(dim=1)
    return out.flatten(1)


def build_backbone(backbone, kind, value, layer=None, seed=None):
    """Build the feature extractor on CPU in eval mode.

    Returns ``(model, n_features)``; ``n_features`` is ``None`` for a named
    layer (known after one forward pass).
    """
    import torchvision

    if kind == "enum":
        try:
            model = torchvision.models.get_model(backbone, weights=value)
        except OSError as exc:  # URLError, HTTPError, missing cache
            raise RuntimeError(
                f"could not download the pretrained weights {weights_label(kind, value)} for "
                f"backbone={backbone!r}: {exc}. On a machine without internet access, copy "
                "the file into torch's hub cache (torch.hub.get_dir()/checkpoints) or pass "
                "weights='/path/to/state_dict.pth' (or weights=None)."
            ) from exc
    else:
        with torch.random.fork_rng(devices=[], enabled=seed is not None):
            if seed is not None:
                torch.manual_seed(seed)
            model = torchvision.models.get_model(backbone, weights=None)

    head = _head_name(model)
    n_features = None
    if head is not None:
        n_features = model.get_submodule(head).in_features
        _set_submodule(model, head, nn.Identity())
    elif layer is None:
        raise ValueError(
            f"backbone={backbone!r} has no final nn.Linear classification head to remove; "
            "choose the layer to extract with layer=..."
        )

    if kind == "file":
        state = load_checkpoint(value, backbone)
        if head is not None:
            state = {k: v for k, v in state.items() if not k.startswith(head + ".")}
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # size mismatches
            raise ValueError(
                f"weights checkpoint {os.fspath(value)!r} does not match backbone="
                f"{backbone!r}: {exc}"
            ) from exc
        if missing or unexpected:
            raise ValueError(
                f"weights checkpoint {os.fspath(value)!r} does not match backbone="
                f"{backbone!r}: {len(missing)} missing keys (e.g. {missing[:3]}), "
                f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})."
            )

    model.eval()
    if layer is not None:
        model = _truncate(model, backbone, layer)
        n_features = None
    for p in model.parameters():
        p.requires_grad_(False)
    return model, n_features


def _truncate(model, backbone, layer):
    from torchvision.models.feature_extraction import (
        create_feature_extractor,
        get_graph_node_names,
    )

    _, nodes = get_graph_node_names(model)
    modules = {n for n, _ in model.named_modules() if n}
    if layer not in nodes and layer not in modules:
        close = difflib.get_close_matches(layer, sorted(set(nodes) | modules), n=5)
        top = [n for n, _ in model.named_children()]
        raise ValueError(
            f"layer={layer!r} is not a layer of backbone={backbone!r}. Close names: {close}; "
            f"top-level modules: {top}. See "
            "torchvision.models.feature_extraction.get_graph_node_names."
        )
    extractor = create_feature_extractor(model, return_nodes={layer: "features"})
    return _PooledLayer(extractor).eval()
