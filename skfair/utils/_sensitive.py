"""The one sensitive-feature convention shared by every part of skfair.

Every metric, loss, sampler, weighting scheme and report turns the
``sensitive_features=`` it is given into the same integer group codes through
:func:`encode_sensitive_features`. Several attributes (a DataFrame, a list of
arrays) mean intersectional groups: one code per *observed* combination.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "SensitiveColumns",
    "SensitiveEncoding",
    "check_sensitive_features",
    "encode_sensitive_features",
    "split_sensitive_from_X",
]


@dataclass(frozen=True)
class SensitiveColumns:
    """Name sensitive attributes that live inside ``X``.

    scikit-learn cannot route metadata to ``predict`` during scoring
    (scikit-learn issue #27977). Where a scorer or an estimator needs the
    sensitive attributes at predict time, keep them as columns (or index
    levels) of a DataFrame ``X`` and name them with this object.

    Parameters
    ----------
    *names : str
        Column names or index-level names of ``X``.
    drop : bool, default=True
        Whether the named columns are removed from the features handed on.

    Examples
    --------
    >>> import pandas as pd
    >>> from skfair.utils import SensitiveColumns, split_sensitive_from_X
    >>> X = pd.DataFrame({"x": [0.1, 0.2], "race": ["a", "b"]})
    >>> X_rest, S = split_sensitive_from_X(X, SensitiveColumns("race"))
    >>> list(X_rest.columns), list(S["race"])
    (['x'], ['a', 'b'])
    """

    names: tuple = ()
    drop: bool = True

    def __init__(self, *names, drop=True):
        if len(names) == 1 and isinstance(names[0], list | tuple):
            names = tuple(names[0])
        if not names or not all(isinstance(n, str) for n in names):
            raise TypeError(
                "SensitiveColumns expects one or more column names given as str, "
                f"got {names!r}."
            )
        object.__setattr__(self, "names", tuple(names))
        object.__setattr__(self, "drop", bool(drop))


def _is_sensitive_columns_spec(obj):
    return isinstance(obj, SensitiveColumns | str)


def split_sensitive_from_X(X, columns, *, param="sensitive_features"):
    """Split the sensitive attributes named by ``columns`` out of ``X``.

    Parameters
    ----------
    X : pandas.DataFrame
        Features; the sensitive attributes are columns or index levels of it.
    columns : str or SensitiveColumns
        The names to take.
    param : str, default="sensitive_features"
        Name used in error messages.

    Returns
    -------
    X_rest : pandas.DataFrame
        ``X`` without the named columns when ``columns.drop`` (index levels
        are never dropped).
    S : pandas.DataFrame
        One column per named attribute, in the order given.
    """
    if isinstance(columns, str):
        columns = SensitiveColumns(columns)
    if not isinstance(columns, SensitiveColumns):
        raise TypeError(
            f"{param} must be a str or SensitiveColumns naming columns of X, "
            f"got {type(columns).__name__}."
        )
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{param}={columns!r} names columns of X, so X must be a pandas DataFrame; "
            f"got {type(X).__name__}."
        )
    data, from_columns = {}, []
    index_names = [n for n in X.index.names if n is not None]
    for name in columns.names:
        if name in X.columns:  # .array keeps a categorical's categories and order
            data[name] = X[name].array
            from_columns.append(name)
        elif name in index_names:
            data[name] = X.index.get_level_values(name).array
        else:
            raise ValueError(
                f"{param}: {name!r} is neither a column nor an index level of X; "
                f"columns are {list(X.columns)[:20]}, index levels {index_names}."
            )
    S = pd.DataFrame(data, index=X.index)
    X_rest = X.drop(columns=from_columns) if columns.drop and from_columns else X
    return X_rest, S


def check_sensitive_features(sensitive_features, *, n_samples=None, X=None,
                             param="sensitive_features"):
    """Validate sensitive features and return them as a tidy DataFrame.

    Parameters
    ----------
    sensitive_features : array-like, list of array-like, Series, DataFrame, \
            dict, str, SensitiveColumns or SensitiveEncoding
        A 1-D array-like (one attribute), a list of 1-D arrays, a 2-D array or
        a DataFrame (several attributes, meaning intersectional groups), a
        mapping ``name -> array``, a column name / :class:`SensitiveColumns`
        naming columns or index levels of ``X``, or a
        :class:`SensitiveEncoding` (its attributes, categories kept).
    n_samples : int, optional
        Expected number of rows; a mismatch raises ``ValueError``.
    X : DataFrame, optional
        Needed when ``sensitive_features`` names columns of ``X``.
    param : str, default="sensitive_features"
        Name used in error messages.

    Returns
    -------
    frame : pandas.DataFrame
        One column per attribute, ``n_samples`` rows, a fresh ``RangeIndex``.
        Unnamed attributes are called ``sensitive_feature_0``, ``..._1``, ...

    Raises
    ------
    ValueError
        On missing values, a length mismatch, an empty input or more than two
        dimensions; the message names ``param``.
    """
    frame = _as_frame(sensitive_features, n_samples=n_samples, X=X, param=param)
    _raise_if_missing(frame, param)
    return frame.reset_index(drop=True)


def _as_frame(sensitive_features, *, n_samples, X, param, deep=True):
    """Everything :func:`check_sensitive_features` checks except missing values.

    ``deep=False`` skips copying a DataFrame's data, for callers that only read it.
    """
    if sensitive_features is None:
        raise ValueError(
            f"{param} is required here but got None; pass one value per row of X "
            "(see docs/conventions.md)."
        )
    sf = sensitive_features
    if _is_sensitive_columns_spec(sf):
        if X is None:
            raise ValueError(
                f"{param}={sf!r} names columns of X, but no X was given to read them from "
                "here: pass the values themselves (one per row), e.g. X['column']."
            )
        _, frame = split_sensitive_from_X(X, sf, param=param)
    elif isinstance(sf, SensitiveEncoding):
        frame = sf.to_frame()
    elif isinstance(sf, pd.DataFrame):
        frame = sf.copy(deep=deep)
        frame.columns = [
            str(c) if c is not None else f"sensitive_feature_{i}"
            for i, c in enumerate(frame.columns)
        ]
    elif isinstance(sf, pd.Series):
        name = sf.name if sf.name is not None else "sensitive_feature_0"
        frame = pd.DataFrame({str(name): _as_1d(sf, param)})
    elif isinstance(sf, Mapping):
        frame = _frame_of_columns([str(k) for k in sf], [_as_1d(v, param) for v in sf.values()],
                                  param)
    elif isinstance(sf, list | tuple) and len(sf) > 0 and all(_is_column(v) for v in sf):
        lengths = {len(v) for v in sf}
        if len(lengths) != 1:
            raise ValueError(
                f"{param}: the arrays in the list have different lengths {sorted(lengths)}; "
                "each must hold one value per row."
            )
        names = []
        for i, v in enumerate(sf):
            name = getattr(v, "name", None)
            names.append(str(name) if name is not None else f"sensitive_feature_{i}")
        frame = _frame_of_columns(names, [_as_1d(v, param) for v in sf], param)
    else:
        arr = np.asarray(sf) if not isinstance(sf, pd.Categorical) else sf
        if getattr(arr, "ndim", 1) == 0:
            raise ValueError(
                f"{param} must be array-like with one value per row, got the scalar {sf!r}."
            )
        if arr.ndim == 1:
            frame = pd.DataFrame({"sensitive_feature_0": arr})
        elif arr.ndim == 2:
            frame = pd.DataFrame(
                {f"sensitive_feature_{j}": arr[:, j] for j in range(arr.shape[1])}
            )
        else:
            raise ValueError(
                f"{param} must be 1-D or 2-D (rows x attributes), got shape {arr.shape}."
            )
    if frame.shape[1] == 0:
        raise ValueError(f"{param} has no attribute (zero columns).")
    if len(set(frame.columns)) != frame.shape[1]:
        raise ValueError(f"{param} has duplicate attribute names {list(frame.columns)}.")
    if frame.shape[0] == 0:
        raise ValueError(f"{param} is empty (0 rows); at least one row is required.")
    if n_samples is not None and frame.shape[0] != n_samples:
        raise ValueError(
            f"{param} has {frame.shape[0]} rows but X has {n_samples}; "
            "they must have the same length."
        )
    return frame


def _raise_if_missing(frame, param):
    missing = frame.isna().to_numpy()
    if missing.any():
        per_col = missing.sum(axis=0)
        detail = ", ".join(
            f"{c!r}: {int(k)}" for c, k in zip(frame.columns, per_col, strict=True) if k
        )
        raise ValueError(
            f"{param} contains missing values (NaN/None) ({detail}); a missing value is "
            "not a group. Fill them with an explicit category or drop those rows."
        )


def _is_column(values):
    """Whether ``values`` is one attribute's column in a list of attributes: an array,
    a Series / Index, a pandas extension array, a list or tuple, a 1-D tensor."""
    if isinstance(values, np.ndarray | pd.Series | pd.Index | pd.api.extensions.ExtensionArray
                  | list | tuple):
        return True
    return hasattr(values, "__array__") and getattr(values, "ndim", None) == 1


def _frame_of_columns(names, columns, param):
    """A DataFrame of named columns; two columns of one name are an error (a dict would
    keep the last one only and lose an attribute)."""
    if len(set(names)) != len(names):
        raise ValueError(
            f"{param} has duplicate attribute names {names}; give every attribute its own "
            "name."
        )
    lengths = {name: len(col) for name, col in zip(names, columns, strict=True)}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"{param}: the attributes have different lengths {lengths}; each must hold one "
            "value per row."
        )
    return pd.DataFrame(dict(zip(names, columns, strict=True)))


def _as_1d(values, param):
    """Values of one attribute, index-free, keeping a categorical dtype."""
    if isinstance(values, pd.Series | pd.Index):
        return values.array if isinstance(values.dtype, pd.CategoricalDtype) else (
            values.to_numpy()
        )
    if isinstance(values, pd.Categorical):
        return values
    if hasattr(values, "detach"):  # a tensor, possibly on a GPU
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{param}: every attribute must be 1-D, got shape {arr.shape}.")
    return arr


def _attribute_levels(col):
    """Sorted levels of one attribute (categorical order when categorical)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return pd.Index(col.cat.categories)
    uniques = pd.unique(col.to_numpy())
    try:
        return pd.Index(np.sort(uniques))
    except TypeError:  # mixed, unorderable types: order by their text
        return pd.Index(sorted(uniques, key=lambda v: (type(v).__name__, str(v))))


def _sorted_levels(uniques):
    """Sorted levels from the distinct values of one attribute."""
    try:
        return pd.Index(np.sort(uniques))
    except TypeError:  # mixed, unorderable types: order by their text
        return pd.Index(sorted(uniques, key=lambda v: (type(v).__name__, str(v))))


def _factorize(col, out):
    """Codes of one attribute written into ``out`` (int64); returns ``(uniques, missing)``.

    ``uniques[code]`` is the value of each code; ``missing`` tells whether a
    missing value was met (its code is then -1). One O(n) pass: categorical
    columns reuse their codes, small-range integer columns are counted
    instead of hashed, everything else goes through :func:`pandas.factorize`.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        raw = col.cat.codes.to_numpy()  # narrow integers, -1 for missing
        out[:] = raw
        return col.cat.categories, bool(raw.size and raw.min() < 0)
    values = col.to_numpy()
    if values.dtype.kind in "iu" and values.size:
        lo, hi = int(values.min()), int(values.max())
        if -(2**62) < lo and hi < 2**62 and hi - lo <= max(4 * values.size, 1 << 16):
            # in int64: a narrow dtype's range may not hold hi - lo (int8: -100..100)
            np.subtract(values, np.int64(lo), out=out, dtype=np.int64, casting="unsafe")
            present = np.bincount(out, minlength=hi - lo + 1) > 0
            uniques = (np.flatnonzero(present) + lo).astype(values.dtype)
            if not present.all():  # values lo..hi do not all occur: compact them
                lookup = np.cumsum(present, dtype=np.int64) - 1
                np.take(lookup, out, out=out, mode="clip")
            return uniques, False
    codes, uniques = pd.factorize(values)
    out[:] = codes
    return uniques, bool((codes < 0).any())


def _unique_inverse(flat, size):
    """``np.unique(flat, return_inverse=True, return_counts=True)`` for codes in ``[0, size)``.

    A counting pass (O(n + size)) when ``size`` is not much larger than the
    data, a sort otherwise; both give the sorted observed codes. ``flat``
    itself may come back as the inverse (when every code in ``[0, size)``
    occurs), so pass an array the caller owns.
    """
    if size <= max(4 * flat.size, 1 << 20):
        cell_counts = np.bincount(flat, minlength=int(size))
        present = cell_counts > 0
        if present.all():
            return np.arange(int(size)), flat, cell_counts
        lookup = np.cumsum(present, dtype=np.int64) - 1
        return np.flatnonzero(present), lookup[flat], cell_counts[present]
    observed, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    return observed, inverse.reshape(-1), counts

@dataclass(frozen=True)
class SensitiveEncoding:
    """Integer group codes plus the tidy table of what each code means.

    Attributes
    ----------
    codes : ndarray of shape (n_samples,), dtype int64
        Group code of every row, in ``[0, n_groups)``; with several attributes
        a code is an observed intersection cell.
    groups : pandas.DataFrame of shape (n_groups, n_attributes)
        Row ``g`` holds the attribute values of group ``g``; index named
        ``"group"``.
    attribute_codes : ndarray of shape (n_samples, n_attributes), dtype int64
        Per-attribute codes (index into ``categories[j]``).
    categories : list of pandas.Index
        Possible values of each attribute (sorted, or in categorical order);
        unused categories of a categorical attribute stay listed.
    names : list of str
        Attribute names.
    counts : ndarray of shape (n_groups,)
        Rows per group.
    """

    codes: np.ndarray
    groups: pd.DataFrame
    attribute_codes: np.ndarray
    categories: list
    names: list
    counts: np.ndarray = field(repr=False)

    @property
    def n_groups(self):
        """Number of observed groups (intersection cells)."""
        return len(self.groups)

    @property
    def n_attributes(self):
        """Number of sensitive attributes."""
        return len(self.names)

    @property
    def n_values(self):
        """Number of possible values per attribute (``len(categories[j])``)."""
        return [len(c) for c in self.categories]

    def labels(self, sep=", "):
        """Readable label per group: ``"race=White, gender=Male"`` style."""
        if self.n_attributes == 1:
            return [str(v) for v in self.groups.iloc[:, 0]]
        return [
            sep.join(f"{n}={v}" for n, v in zip(self.names, row, strict=True))
            for row in self.groups.itertuples(index=False)
        ]

    def to_frame(self, indices=None):
        """The attribute values as categorical columns (every known category kept).

        Parameters
        ----------
        indices : array-like of int, optional
            Rows to take, in order (all rows by default).

        Returns
        -------
        frame : pandas.DataFrame of shape (n_rows, n_attributes)
        """
        codes = self.attribute_codes if indices is None else self.attribute_codes[indices]
        return pd.DataFrame({
            name: pd.Categorical.from_codes(codes[:, j], categories=cats)
            for j, (name, cats) in enumerate(zip(self.names, self.categories, strict=True))
        })

    def attribute(self, name):
        """The encoding of a single attribute (marginal groups)."""
        j = self.names.index(name)
        frame = pd.DataFrame({name: self.categories[j][self.attribute_codes[:, j]]})
        return encode_sensitive_features(frame, categories={name: self.categories[j]})


def encode_sensitive_features(sensitive_features, *, n_samples=None, X=None,
                              categories=None, param="sensitive_features"):
    """Encode sensitive features as integer group codes (intersections).

    Parameters
    ----------
    sensitive_features : array-like, list of array-like, Series, DataFrame, \
            dict, str or SensitiveColumns
        See :func:`check_sensitive_features`. Several attributes mean
        intersectional groups; a :class:`SensitiveEncoding` is returned as is.
    n_samples : int, optional
        Expected number of rows.
    X : DataFrame, optional
        Source of the attributes when ``sensitive_features`` names columns.
    categories : dict or list, optional
        Known values per attribute (e.g. ``encoding.categories`` of the
        training data), so that new data is encoded the same way. A value not
        in ``categories`` raises ``ValueError``.
    param : str, default="sensitive_features"
        Name used in error messages.

    Returns
    -------
    encoding : SensitiveEncoding

    Examples
    --------
    >>> from skfair.utils import encode_sensitive_features
    >>> enc = encode_sensitive_features({"race": ["b", "a", "b"], "sex": ["F", "M", "M"]})
    >>> enc.codes
    array([1, 0, 2])
    >>> enc.groups
          race sex
    group
    0        a   M
    1        b   F
    2        b   M
    """
    if isinstance(sensitive_features, SensitiveEncoding):
        if n_samples is not None and len(sensitive_features.codes) != n_samples:
            raise ValueError(
                f"{param} has {len(sensitive_features.codes)} rows but X has {n_samples}."
            )
        return sensitive_features
    frame = _as_frame(sensitive_features, n_samples=n_samples, X=X, param=param, deep=False)
    names = [str(c) for c in frame.columns]
    if categories is not None and not isinstance(categories, Mapping):
        categories = dict(zip(names, categories, strict=False))
    # column-major, so that filling and reading one attribute is contiguous
    attr_codes = np.empty((len(frame), len(names)), dtype=np.int64, order="F")
    # one pass per attribute (counting, category codes or hashing); missing
    # values are detected there and reported like check_sensitive_features does
    factorized = [_factorize(frame[name], attr_codes[:, j]) for j, name in enumerate(names)]
    if any(missing for _, missing in factorized):
        _raise_if_missing(frame, param)
    levels = []
    for j, name in enumerate(names):
        col, (uniques, _), fcodes = frame[name], factorized[j], attr_codes[:, j]
        is_cat = isinstance(col.dtype, pd.CategoricalDtype)
        if categories and name in categories:
            lev = pd.Index(categories[name])
        elif is_cat:
            lev = pd.Index(col.cat.categories)
        else:
            lev = _sorted_levels(uniques)
        remap = lev.get_indexer(uniques)  # small: one entry per distinct value
        unseen = remap < 0
        if is_cat:  # unused categories are not values of the data
            unseen &= np.bincount(fcodes, minlength=len(uniques)) > 0
        if unseen.any():
            bad = np.flatnonzero(unseen)
            first = [int(np.argmax(fcodes == b)) for b in bad]  # order of appearance
            values = [uniques[b] for b in bad[np.argsort(first, kind="stable")]]
            raise ValueError(
                f"{param}: attribute {name!r} has values not seen before "
                f"{values[:10]}; known values are {list(lev[:20])}."
            )
        levels.append(lev)
        if not np.array_equal(remap, np.arange(len(remap))):
            np.take(remap.astype(np.int64), fcodes, out=fcodes, mode="clip")
    if len(names) == 1:
        observed, codes, counts = _unique_inverse(np.array(attr_codes[:, 0]), len(levels[0]))
        table = pd.DataFrame({names[0]: levels[0][observed]})
    else:
        dims = tuple(max(len(lv), 1) for lv in levels)
        size = np.prod(dims, dtype=np.float64)
        if size < 2**62:  # row-major cell index, computed in place
            flat = attr_codes[:, 0] * dims[1]
            flat += attr_codes[:, 1]
            for j in range(2, len(dims)):
                flat *= dims[j]
                flat += attr_codes[:, j]
        else:
            flat = np.ravel_multi_index(attr_codes.T, dims)
        observed, codes, counts = _unique_inverse(flat, int(size))
        cells = np.unravel_index(observed, dims)
        table = pd.DataFrame({n: levels[j][cells[j]] for j, n in enumerate(names)})
    for j, name in enumerate(names):
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            table[name] = pd.Categorical(table[name], categories=levels[j])
    table.index.name = "group"
    codes = codes.astype(np.int64, copy=False).reshape(-1)
    counts = np.asarray(counts, dtype=np.int64)
    return SensitiveEncoding(
        codes=codes, groups=table, attribute_codes=attr_codes,
        categories=levels, names=names, counts=counts,
    )
