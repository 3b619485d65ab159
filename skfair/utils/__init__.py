"""Shared utilities: the sensitive-feature convention and data locations."""

from ._data_home import get_data_dir
from ._sensitive import (
    SensitiveColumns,
    SensitiveEncoding,
    check_sensitive_features,
    encode_sensitive_features,
    split_sensitive_from_X,
)

__all__ = [
    "SensitiveColumns",
    "SensitiveEncoding",
    "check_sensitive_features",
    "encode_sensitive_features",
    "get_data_dir",
    "split_sensitive_from_X",
]
