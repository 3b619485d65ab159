"""Transformers for images: embedding extraction, pixel inversion, augmentation.

- :class:`EmbeddingExtractor`: images (arrays or file paths) to embeddings with
  a torchvision backbone, batched, on GPU when present, cached on demand.
- :class:`FaceDescriptor`: face images to dlib's pretrained 128-d
  face-recognition descriptors (the optional extra ``faces``), in worker
  processes, cached on demand.
- :class:`PixelInverter`: invert images with probability ``p`` (always, or as
  train-time augmentation).
- :class:`Augmentation`: flips, crops and colour/lighting jitter for the image
  networks, applied per batch on the network's device.
- :func:`read_images`: decode image files into one uint8 array.
"""

from ._augmentation import Augmentation
from ._embedding import EmbeddingExtractor
from ._face import FaceDescriptor
from ._image_io import read_images
from ._pixel_inversion import PixelInverter

__all__ = [
    "Augmentation",
    "EmbeddingExtractor",
    "FaceDescriptor",
    "PixelInverter",
    "read_images",
]
