"""Row selection of per-row metadata (sensitive features, sample weights).

Used wherever rows are taken out of a fit's metadata: a sampler's
``sample_indices_`` in :class:`skfair.pipeline.Pipeline`, the validation split
of the network estimators.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _is_arraylike_not_scalar, _num_samples

from ._sensitive import SensitiveEncoding, _is_column


def row_layout(value, n_rows):
    """How ``value`` holds one entry per row, if it does.

    ``"encoding"``: a :class:`~skfair.utils.SensitiveEncoding` of ``n_rows``;
    ``"rows"``: an array-like of length ``n_rows`` (scikit-learn's rule for
    per-sample metadata, as in cross-validation); ``"columns"``: a mapping, or a
    list / tuple of arrays, whose every column has ``n_rows`` entries (multiple
    sensitive attributes, as :func:`skfair.utils.check_sensitive_features` reads
    them); ``None``: not per-row.
    """
    if isinstance(value, SensitiveEncoding):
        return "encoding" if len(value.codes) == n_rows else None
    if _is_arraylike_not_scalar(value):
        try:
            if _num_samples(value) == n_rows:
                return "rows"
        except TypeError:
            pass
    if isinstance(value, Mapping):
        columns = list(value.values())
    elif isinstance(value, list | tuple) and all(_is_column(v) for v in value):
        columns = list(value)
    else:
        return None
    if columns and all(row_layout(v, n_rows) == "rows" for v in columns):
        return "columns"
    return None


def take_rows(value, indices, n_rows):
    """``value``'s entries at ``indices`` if it is per-row, else ``value`` itself.

    The container is kept: a DataFrame or Series stays one (with a fresh
    index), a dict or list of columns is re-indexed column by column, a
    :class:`~skfair.utils.SensitiveEncoding` becomes its ``to_frame`` rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skfair.utils._rows import take_rows
    >>> take_rows({"sex": np.array(["f", "m", "f"])}, np.array([2, 0]), 3)
    {'sex': array(['f', 'f'], dtype='<U1')}
    >>> take_rows(5, np.array([0]), 3)
    5
    """
    layout = row_layout(value, n_rows)
    if layout is None:
        return value
    indices = np.asarray(indices)
    if layout == "encoding":
        return value.to_frame(indices)
    if layout == "columns":
        if isinstance(value, Mapping):
            return {k: take_rows(v, indices, n_rows) for k, v in value.items()}
        return type(value)(take_rows(v, indices, n_rows) for v in value)
    if isinstance(value, list):
        return [value[i] for i in indices]
    out = _safe_indexing(value, indices)
    if isinstance(out, pd.DataFrame | pd.Series):
        out = out.reset_index(drop=True)
    return out
