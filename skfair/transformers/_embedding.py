"""Images to embeddings with a torchvision backbone, as a scikit-learn transformer."""

import contextlib
import hashlib
import io
import os
import warnings
from enum import Enum
from numbers import Integral

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted, check_memory
from tqdm.auto import tqdm

from ._backbone import (
    build_backbone,
    check_backbone,
    preprocessing_for,
    resolve_weights,
    weights_label,
)
from ._image_io import as_image_input, batch_label, check_float_bounds, format_errors

__all__ = ["EmbeddingExtractor"]

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when available else ``"cpu"``; a clear
    ``ValueError`` when CUDA (or MPS) is asked for and absent."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use device='auto' or device='cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible."
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was requested but MPS is not available.")
    return dev


def resolve_precision(precision, device):
    """``"auto"``: bf16 autocast on GPUs that support it (fp16 on older ones),
    fp32 elsewhere."""
    cuda = device.type == "cuda"
    if precision == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "bf16" and cuda and not torch.cuda.is_bf16_supported():
        raise ValueError("precision='bf16' was requested but this GPU does not support bfloat16.")
    return precision


def _to_pinned(t):
    """A non-blocking copy of the device tensor ``t`` into pinned host memory."""
    host = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
    host.copy_(t, non_blocking=True)
    return host


def _normalisation(prep, device):
    """``(scale, shift)`` of shape (1, C, 1, 1) on ``device`` such that
    ``x * scale + shift`` is ``(x - mean) / std`` for pixels ``x`` in ``[0, 1]``."""
    mean = torch.tensor(prep.mean, dtype=torch.float64).view(1, -1, 1, 1)
    std = torch.tensor(prep.std, dtype=torch.float64).view(1, -1, 1, 1)
    return (1 / std).to(device, torch.float32), (-mean / std).to(device, torch.float32)


def _normalise(x, scale, shift, fmt):
    """Pixels to the network's input: uint8 to ``[0, 1]`` (``x / 255`` in float32,
    as a float array of the same images holds them), then ``x * scale + shift`` in
    one pass, written in the memory format ``fmt``. ``x`` may share memory with the
    caller's array: it is not modified."""
    if x.dtype == torch.uint8:
        x = torch.div(x, 255.0)
    z = torch.empty(x.shape, dtype=torch.float32, device=x.device, memory_format=fmt)
    return torch.addcmul(shift, x, scale, out=z)


def _to_device(xb, device, stream=None):
    """Copy a (pinned) batch to the device, on ``stream`` when given (CUDA)."""
    if stream is None:
        return xb.to(device)
    with torch.cuda.stream(stream):
        x = xb.to(device, non_blocking=True)
    main = torch.cuda.current_stream(device)
    main.wait_stream(stream)
    x.record_stream(main)
    return x


def _embed_cached(key, extractor, source, device, precision):
    """The function joblib caches: ``key`` is hashed, the rest is ignored."""
    return extractor._embed(source, device, precision)


class EmbeddingExtractor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Extract image embeddings with a torchvision backbone.

    ``fit`` builds the network (no training happens); ``transform`` turns
    images into one row of features each: the pooled penultimate features
    (the input of the classification head) by default, or the globally
    average-pooled output of ``layer``.

    Parameters
    ----------
    backbone : str, default="resnet50"
        Any torchvision classification model name (``resnet18``, ``resnet34``,
        ``resnet50``, ``efficientnet_b0``, ``vit_b_16``, ...), built with
        ``torchvision.models.get_model``.
    weights : str, path-like, torchvision weights enum or None, default="DEFAULT"
        * a weights enum (``ResNet50_Weights.IMAGENET1K_V2``) or its name
          (``"DEFAULT"``, ``"IMAGENET1K_V2"``, ``"ResNet50_Weights.IMAGENET1K_V2"``):
          downloaded the torchvision way (into ``torch.hub.get_dir()``) on first
          use; offline this raises a ``RuntimeError`` saying so;
        * a path to a local state dict or checkpoint (``torch.save(model.state_dict())``,
          or a dict holding it under ``"state_dict"``/``"model_state_dict"``/
          ``"model"``; ``module.``/``_orig_mod.`` prefixes are stripped). Its
          classification head is ignored, so a backbone fine-tuned for any
          number of classes loads; anything else that does not match the
          backbone raises a ``ValueError`` naming the file;
        * ``None``: random initialisation (seeded by ``random_state``).
    layer : str, optional
        A module or graph-node name (``"layer3"``, ``"layer4.1.conv2"``; see
        ``torchvision.models.feature_extraction.get_graph_node_names``). Its
        output is globally average pooled (over positions, or over tokens for
        transformers). ``None`` gives the penultimate features.
    image_size : int, default=224
        Side of the square network input (see Notes for the resizing).
    batch_size : int, default=64
        Images per forward pass.
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device, default="auto"
        ``"auto"`` uses CUDA when available. Asking for CUDA where there is none
        raises a ``ValueError``.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Autocast dtype of the forward pass. ``"auto"`` is bf16 on GPUs that
        support it (fp16 on older ones) and fp32 on CPU. Embeddings are always
        returned as float32. ``"fp32"`` keeps PyTorch's own TF32 settings: on
        Ampere and later GPUs cuDNN convolutions use TF32 unless
        ``torch.backends.cudnn`` says otherwise, so results can differ from
        the CPU's by about 1e-3 (relative).
    num_workers : int, default=0
        Processes decoding image files (``torch.utils.data.DataLoader``
        workers). With 0, files are decoded in a background thread of this
        process, overlapping the forward pass.
    cache : str, path-like or joblib.Memory, optional
        Cache of ``transform`` results, keyed by the input's content (array
        bytes, or each file's path, size and modification time), the network's
        weights and the preprocessing. A ``GridSearchCV`` over downstream
        parameters then extracts each fold's images once. See Notes.
    progress : bool, default=True
        Show a tqdm progress bar during ``transform``.
    on_error : {"raise", "skip", "nan"}, default="raise"
        What an unreadable image file does. ``"raise"``: a ``ValueError``
        naming the file. ``"nan"``: its row is filled with NaN (rows stay
        aligned with ``y`` and sensitive features; pair with an imputer or drop
        them using ``failed_indices_``). ``"skip"``: its row is dropped, so the
        output has fewer rows than the input -- use it outside a ``Pipeline``
        and index ``y`` with ``failed_indices_`` (under pandas output, a
        DataFrame or Series input's index keeps the surviving rows' labels).
        Both warn with the count and the first file names.
    random_state : int, RandomState instance or None, default=None
        Seeds the random initialisation when ``weights=None``.

    Attributes
    ----------
    model_ : torch.nn.Module
        The feature network (eval mode, on ``device_``). Loaded lazily after
        unpickling.
    embedding_dim_ : int
        Number of output features.
    device_ : str
        Resolved device.
    precision_ : str
        Resolved precision.
    weights_ : str
        The weights used: enum name, checkpoint path or ``"None"``.
    preprocessing_ : Preprocessing
        Resize, crop and normalisation applied to the images.
    n_forward_passes_ : int
        Batches run through the network by this instance since ``fit``.
        ``transform`` calls answered from ``cache`` add none.
    failed_indices_ : ndarray of int
        Rows of the last ``transform`` input that could not be read.

    See Also
    --------
    read_images : decode image files into one array.
    PixelInverter : invert pixels before extraction.

    Notes
    -----
    **Inputs.** uint8 arrays ``(n, H, W, C)``, float arrays ``(n, C, H, W)`` in
    ``[0, 1]`` (``C`` = 1, 3 or 4, or ``(n, H, W)`` grayscale), a list/array/
    Series of file paths, or a skfair dataset ``Bunch`` (its ``images``, else
    its ``data`` -- the path column of lazily loaded datasets). Grayscale is
    replicated to RGB and alpha is dropped. An empty input raises a
    ``ValueError``, and so does a float value outside ``[0, 1]`` (or NaN):
    ``fit`` checks the whole array, ``transform`` each batch as it reaches it
    (off the network's thread on the CPU, on the device on CUDA; the message
    names the batch's rows).

    **Preprocessing.** Each image's shorter side is resized (antialiased) and
    the center ``image_size`` x ``image_size`` square is kept, then pixels are
    scaled to ``[0, 1]`` and normalised. With a torchvision weights enum the
    interpolation, mean/std and resize/crop ratio are those of
    ``weights.transforms()`` (e.g. 232 -> 224 for ResNet50 IMAGENET1K_V2);
    with ``weights=None`` or a checkpoint, ImageNet's mean/std is used (so a
    checkpoint fine-tuned from ImageNet weights is fed as in training) and
    the shorter side is resized straight to ``image_size``. An image gives the
    same pixels as an array or as a lossless file.

    **GPU.** On CUDA the network runs in ``channels_last`` under autocast
    (``precision``), batches are copied from pinned memory with non-blocking
    copies on a side stream (overlapping the previous batch's forward), and
    results are copied back one batch behind so the GPU is not left waiting.
    Scaling and normalisation take one pass on the device (two for uint8), and
    a float array's range is checked there too.
    An array batch keeps the array's memory layout on its way: a float array
    that is channels-last in memory (e.g. ``imgs.transpose(0, 3, 1, 2) / 255``)
    is not reordered on the host or on the device.

    **n_features_in_.** Images have no fixed number of input features (any
    size is resized, paths have none), so, like scikit-learn's text
    vectorizers, this transformer does not define ``n_features_in_``.

    **Pickling.** ``model_`` is pickled whole (``torch.save``, so the
    architecture settings a weights enum applied come with it) and loaded on
    the CPU at first use, so a fitted extractor can be sent to joblib workers or saved
    with ``pickle``/``joblib.dump`` and loaded on a machine without a GPU
    (with ``device="auto"``). Parameters hold no model or CUDA handle, so
    ``clone`` works before and after ``fit``.

    **Caching.** The cache key is the content of the input, so a grid search
    whose folds are fixed reuses each fold's embeddings for every candidate.
    With ``weights=None`` set ``random_state`` to share embeddings between
    clones (the key includes a hash of the weights).

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.transformers import EmbeddingExtractor
    >>> X = np.random.default_rng(0).integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    >>> extractor = EmbeddingExtractor(
    ...     "resnet18", weights=None, image_size=32, progress=False, random_state=0
    ... )
    >>> extractor.fit_transform(X).shape
    (4, 512)
    >>> extractor.get_feature_names_out()[:2].tolist()
    ['embeddingextractor0', 'embeddingextractor1']
    """

    _parameter_constraints: dict = {
        "backbone": [str],
        "weights": [str, os.PathLike, Enum, None],  # a torchvision WeightsEnum
        "layer": [str, None],
        "image_size": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "fp32", "bf16", "fp16"})],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "cache": [None, str, os.PathLike, HasMethods(["cache"])],
        "progress": ["boolean"],
        "on_error": [StrOptions({"raise", "skip", "nan"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        backbone="resnet50",
        *,
        weights="DEFAULT",
        layer=None,
        image_size=224,
        batch_size=64,
        device="auto",
        precision="auto",
        num_workers=0,
        cache=None,
        progress=True,
        on_error="raise",
        random_state=None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.layer = layer
        self.image_size = image_size
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.num_workers = num_workers
        self.cache = cache
        self.progress = progress
        self.on_error = on_error
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Build the network; ``X`` is only validated.

        Parameters
        ----------
        X : images or image paths, optional
            See the class Notes for the accepted forms.
        y : ignored

        Returns
        -------
        self : EmbeddingExtractor
        """
        if X is not None:
            as_image_input(X)
        check_backbone(self.backbone)
        device = resolve_device(self.device)
        self.precision_ = resolve_precision(self.precision, device)
        kind, value = resolve_weights(self.backbone, self.weights)
        seed = None
        if self.random_state is not None:
            seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        model, dim = build_backbone(self.backbone, kind, value, layer=self.layer, seed=seed)
        self.preprocessing_ = preprocessing_for(self.backbone, kind, value, self.image_size)
        self.weights_ = weights_label(kind, value)
        self._arch = (self.backbone, self.layer)
        self._model, self._model_state, self._fingerprint = None, None, None
        self._place_model(model, device)
        if dim is None:  # a named layer: one dry run on a blank image
            size = self.preprocessing_.crop_size
            with torch.inference_mode():
                dim = self._model(torch.zeros(1, 3, size, size, device=device)).shape[1]
        self.embedding_dim_ = int(dim)
        self.n_forward_passes_ = 0
        self.failed_indices_ = np.empty(0, dtype=np.intp)
        return self

    def _place_model(self, model, device):
        model = model.to(device)
        if device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        self._model = model
        self.device_ = str(device)

    def _get_model(self, device):
        """The network on ``device`` (loaded from its pickled bytes after unpickling)."""
        if self._model is None:
            # the whole module, as pickled: the architecture settings that torchvision
            # takes from a weights enum (inception's transform_input, a ViT's image size)
            # come back with it, which a rebuild from weights=None would lose
            model = torch.load(io.BytesIO(self._model_state), map_location="cpu",
                               weights_only=False)
            self._model_state = None
            self._place_model(model, device)
        elif str(device) != self.device_:
            self._place_model(self._model, device)
        return self._model

    @property
    def model_(self):
        check_is_fitted(self)
        device = torch.device(self.device_) if self._model is not None else None
        return self._get_model(device or resolve_device(self.device))

    @property
    def _n_features_out(self):
        return self.embedding_dim_

    # ------------------------------------------------------------ transform
    def transform(self, X):
        """Embed images.

        Parameters
        ----------
        X : images or image paths
            See the class Notes for the accepted forms.

        Returns
        -------
        X_new : ndarray of float32, shape (n_samples, embedding_dim)
            With ``on_error="skip"``, unreadable files' rows are left out.
        """
        check_is_fitted(self)
        source = as_image_input(X, defer_range_check=True)  # checked batch by batch
        device = resolve_device(self.device)
        precision = resolve_precision(self.precision, device)
        if self.cache is None:
            emb, failed = self._embed(source, device, precision)
        else:
            cache = os.fspath(self.cache) if isinstance(self.cache, os.PathLike) else self.cache
            memory = check_memory(cache)
            func = memory.cache(
                _embed_cached, ignore=["extractor", "source", "device", "precision"]
            )
            key = (self._config_key(device, precision), source.fingerprint())
            emb, failed = func(
                key, extractor=self, source=source, device=device, precision=precision
            )
        if failed and self.on_error == "raise":  # a cached result of on_error="nan"/"skip"
            _raise_unreadable(sorted(failed), source)
        if len(failed) == len(source):
            raise ValueError(
                f"none of the {len(source)} images could be read: "
                + format_errors(sorted(failed), source.data)
            )
        self.failed_indices_ = np.asarray(sorted(i for i, _ in failed), dtype=np.intp)
        if failed:
            action = "dropped" if self.on_error == "skip" else "filled with NaN"
            warnings.warn(
                f"EmbeddingExtractor: {len(failed)} of {len(source)} images could not be "
                f"read; their rows were {action} (see failed_indices_): "
                + format_errors(sorted(failed), source.data),
                UserWarning,
            )
            if self.on_error == "skip":
                emb = self._without_failed_rows(emb, X)
        return emb

    def _without_failed_rows(self, emb, X):
        """``emb`` without the unreadable rows; under pandas output a DataFrame or
        Series input's index loses them too (scikit-learn would reuse the whole
        index)."""
        emb = np.delete(emb, self.failed_indices_, axis=0)
        if _get_output_config("transform", self)["dense"] != "pandas":
            return emb
        import pandas as pd

        if not isinstance(X, pd.DataFrame | pd.Series):
            return emb

        return pd.DataFrame(emb, index=X.index.delete(self.failed_indices_),
                            columns=self.get_feature_names_out())

    def _config_key(self, device, precision):
        return (
            "skfair.EmbeddingExtractor/1",
            self._arch,
            self.preprocessing_,
            precision,
            device.type,
            self._model_fingerprint(device),
        )

    def _model_fingerprint(self, device):
        if self._fingerprint is None:
            digest = hashlib.sha1()
            state = self._get_model(device).state_dict()
            for name in sorted(state):
                tensor = state[name].detach().cpu().contiguous().reshape(-1)
                digest.update(name.encode())
                digest.update(str(tensor.dtype).encode())
                digest.update(tensor.view(torch.uint8).numpy())
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def _embed(self, source, device, precision):
        """Run the network over ``source``; returns ``(embeddings, failures)``,
        unreadable rows NaN. This is the uncached computation."""
        model = self._get_model(device)
        prep = self.preprocessing_
        cuda = device.type == "cuda"
        scale, shift = _normalisation(prep, device)
        fmt = torch.channels_last if cuda else torch.contiguous_format
        dtype = _AUTOCAST_DTYPES.get(precision)
        autocast = (
            torch.autocast(device.type, dtype=dtype)
            if dtype is not None
            else contextlib.nullcontext()
        )
        # host-to-device copies on a side stream overlap the previous batch's forward
        copy_stream = torch.cuda.Stream(device=device) if cuda else None
        # On CUDA a float array's [0, 1] check runs on the device (a reduction of
        # microseconds, where the host's takes longer than the forward pass); its
        # bounds come back with the batch's embeddings and are checked one batch later.
        check_on_device = cuda and source.check_range
        n = len(source)
        out = np.full((n, self.embedding_dim_), np.nan, dtype=np.float32)
        failed = []
        pending = None

        def finish(item):
            index, host, bounds, event = item
            if event is not None:
                event.synchronize()
            if bounds is not None:
                lo, hi = bounds.tolist()
                check_float_bounds(lo, hi, batch_label(index[0], index[-1] + 1))
            out[index] = host.numpy()

        bar = tqdm(
            total=n, disable=not self.progress, unit="img", desc=f"{self.backbone} embeddings"
        )
        try:
            batches = source.batches(
                self.batch_size,
                prep,
                num_workers=self.num_workers,
                pin_memory=cuda,
                check_range=not check_on_device,
            )
            with torch.inference_mode(), autocast, contextlib.closing(batches):
                for index, xb, errors in batches:
                    if errors:
                        if self.on_error == "raise":
                            _raise_unreadable(errors, source)
                        failed.extend(errors)
                    if xb is not None:
                        x = _to_device(xb, device, copy_stream)
                        bounds = torch.stack(torch.aminmax(x)) if check_on_device else None
                        z = _normalise(x, scale, shift, fmt)
                        feats = self._forward_batch(model, z)
                        if cuda:  # copy back asynchronously, collect one batch later
                            host = _to_pinned(feats)
                            bounds = None if bounds is None else _to_pinned(bounds)
                            event = torch.cuda.Event()
                            event.record()
                        else:
                            host, event = feats, None
                        if pending is not None:
                            finish(pending)
                        pending = (index, host, bounds, event)
                    bar.update(len(index) + len(errors))
                if pending is not None:
                    finish(pending)
        finally:
            bar.close()
        return out, failed

    def _forward_batch(self, model, z):
        """The network on one normalised batch; counts the pass."""
        feats = model(z)
        if isinstance(feats, (tuple, list)):
            feats = feats[0]
        self.n_forward_passes_ += 1
        return feats.float()

    # ------------------------------------------------------------- pickling
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: pickling leaves this object as it is
        model = state.get("_model")
        if model is not None:
            buffer = io.BytesIO()
            torch.save(model, buffer)  # tensors saved from any device, loaded on the CPU
            state["_model_state"] = buffer.getvalue()
            state["_model"] = None
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _raise_unreadable(errors, source):
    raise ValueError(
        "could not read image file " + format_errors(errors, source.data, limit=1)
        + ". Pass on_error='nan' or 'skip' to go on without it."
    )
