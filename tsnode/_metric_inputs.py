"""Input checks shared by the scores of :mod:`tsnode.metrics` (private).

Every helper turns array-likes into fresh float64 arrays (the caller's input is never
modified) and raises :class:`TypeError` / :class:`ValueError` naming the argument. NaN marks
a missing value (dropped by the scores); ±inf is never a valid value and is an error that
names the argument and where the infinite values are.
This module never imports torch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from tsnode._warnings import user_stacklevel


def _as_float_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float64 ndarray (a new array; the input is untouched)."""
    if x is None:
        raise TypeError(f"`{name}` must be an array-like of numbers, got None.")
    dtypes = list(x.dtypes) if isinstance(x, pd.DataFrame) else [getattr(x, "dtype", None)]
    if dtypes == [None] and isinstance(x, (list, tuple)):  # a list of complex or bools
        try:
            dtypes = [np.asarray(x).dtype]
        except (TypeError, ValueError):  # ragged: the conversion below names it
            pass
    kinds = [getattr(d, "kind", "") for d in dtypes]
    if any(kind in ("c", "b") for kind in kinds):  # float() drops the imaginary part
        what = "complex numbers" if "c" in kinds else "booleans"
        raise TypeError(
            f"`{name}` holds {what}; the scores need real numbers (e.g. prices): pass "
            f"{'the real part, np.real(x)' if what == 'complex numbers' else 'x.astype(float)'} "
            "if that is what you mean."
        )
    if any(kind in ("m", "M") for kind in kinds):  # their float form is raw clock ticks
        raise TypeError(
            f"`{name}` holds dates or time spans; the scores need numbers (e.g. prices), not "
            "timestamps: pass the values, not the index."
        )
    try:
        arr = np.array(x, dtype="float64")  # np.array copies
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be an array-like of numbers, got {type(x).__name__} that cannot "
            "be converted to float; pass a list, numpy array or pandas object of numbers."
        ) from exc
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    """Raise :class:`ValueError` if ``arr`` holds ±inf, naming ``name``, the count and where.

    NaN is allowed (a missing value); positions are indices into ``arr`` as the caller passed
    it (flat ints for 1-D input, index tuples otherwise).
    """
    bad = np.isinf(arr)
    if not bad.any():
        return
    count = int(bad.sum())
    if arr.ndim == 0:
        where = f"(the value is {float(arr)})"
    else:
        first = np.argwhere(bad)[:5]
        positions = [int(i[0]) if arr.ndim == 1 else tuple(int(j) for j in i) for i in first]
        more = f" (first 5 of {count} shown)" if count > 5 else ""
        where = f"at position{'s' if count > 1 else ''} {positions}{more}"
    raise ValueError(
        f"`{name}` contains {count} infinite value{'s' if count > 1 else ''} {where}; every "
        "value must be a finite number or NaN (NaN marks a missing value and is dropped). "
        "Fix whatever produced them, or set them to NaN to leave those elements out."
    )


def _nonempty(arr: np.ndarray, name: str) -> None:
    if arr.size == 0:
        raise ValueError(f"`{name}` is empty; pass at least one value to score.")


def _same_shape(arrays: dict[str, np.ndarray]) -> None:
    names = list(arrays)
    first = arrays[names[0]]
    for name in names[1:]:
        if arrays[name].shape != first.shape:
            raise ValueError(
                f"`{name}` has shape {arrays[name].shape} but `{names[0]}` has shape "
                f"{first.shape}; they must match element for element."
            )


def check_aligned(**inputs: Any) -> None:
    """ValueError unless the pandas inputs among ``inputs`` share their index (and a frame's
    columns): the scores pair values by position, so labels that differ would pair wrongly."""
    labelled = {n: v for n, v in inputs.items() if isinstance(v, (pd.Series, pd.DataFrame))}
    if len(labelled) < 2:
        return
    (first, ref), *others = labelled.items()
    for name, value in others:
        for axis in ("index", "columns"):
            a, b = getattr(ref, axis, None), getattr(value, axis, None)
            if a is None or b is None:  # a Series has no columns
                continue
            if not a.equals(b):
                raise ValueError(
                    f"`{name}` and `{first}` have different {axis} labels (e.g. "
                    f"{list(b[:3])!r} vs {list(a[:3])!r}); the scores pair values by "
                    "position, so align them first, e.g. `a, b = a.align(b, join='inner')`, "
                    "or pass .to_numpy() of each to pair them as they are."
                )


def _paired(**inputs: Any) -> list[np.ndarray]:
    """Validate same-shaped, non-empty, inf-free inputs; return them flattened with NaN pairs
    dropped."""
    check_aligned(**inputs)
    arrays = {name: _as_float_array(value, name) for name, value in inputs.items()}
    for name, arr in arrays.items():
        _nonempty(arr, name)
        _check_finite(arr, name)
    _same_shape(arrays)
    flat = [arr.ravel() for arr in arrays.values()]
    keep = ~np.any(np.isnan(np.vstack(flat)), axis=0)
    return [arr[keep] for arr in flat]


def _empty_result(what: str) -> float:
    warnings.warn(
        f"{what}: every element has a NaN, nothing left to score; returning NaN.",
        RuntimeWarning,
        stacklevel=user_stacklevel(),
    )
    return float("nan")


def _empty_pit(what: str) -> np.ndarray:
    warnings.warn(
        f"{what}: every element has a NaN, nothing left to transform; returning an empty array.",
        RuntimeWarning,
        stacklevel=user_stacklevel(),
    )
    return np.empty(0, dtype="float64")


def _check_quantile_levels(quantiles: Any, n_columns: int | None = None) -> np.ndarray:
    """Quantile levels as a 1-D array, strictly increasing and inside (0, 1)."""
    levels = _as_float_array(quantiles, "quantiles")
    if levels.ndim == 0:
        levels = levels.reshape(1)
    if levels.ndim != 1 or levels.size == 0:
        raise ValueError(
            f"`quantiles` must be a non-empty 1-D sequence of levels, got shape {levels.shape}; "
            "e.g. quantiles=(0.1, 0.5, 0.9)."
        )
    if not np.all((levels > 0) & (levels < 1)):
        raise ValueError(
            f"`quantiles` must lie strictly between 0 and 1, got {levels.tolist()}; "
            "e.g. quantiles=(0.1, 0.5, 0.9)."
        )
    if np.any(np.diff(levels) <= 0):
        raise ValueError(
            f"`quantiles` must be sorted strictly increasing, got {levels.tolist()}; "
            "sort them (and the columns of `y_quantiles` with them)."
        )
    if n_columns is not None and levels.size != n_columns:
        raise ValueError(
            f"`quantiles` has {levels.size} levels but `y_quantiles` has {n_columns} columns "
            "(last axis); pass one level per column."
        )
    return levels


def _quantile_inputs(
    y_true: Any, y_quantiles: Any, quantiles: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``y (n,)``, ``q_values (n, k)``, ``levels (k,)`` with rows containing NaN dropped.

    ``y_quantiles`` has shape ``y_true.shape + (k,)``; a 1-D ``y_quantiles`` with a single
    level is read as one column.
    """
    check_aligned(y_true=y_true, y_quantiles=y_quantiles)
    y = _as_float_array(y_true, "y_true")
    q_values = _as_float_array(y_quantiles, "y_quantiles")
    _nonempty(y, "y_true")
    _nonempty(q_values, "y_quantiles")
    _check_finite(y, "y_true")
    _check_finite(q_values, "y_quantiles")
    levels_raw = np.atleast_1d(_as_float_array(quantiles, "quantiles"))
    if q_values.shape == y.shape and levels_raw.size == 1:
        q_values = q_values[..., None]
    if q_values.shape[:-1] != y.shape:
        raise ValueError(
            f"`y_quantiles` must have shape y_true.shape + (n_quantiles,) = {y.shape} + (k,), "
            f"got {q_values.shape} for `y_true` of shape {y.shape}; put the quantile levels "
            "on the last axis."
        )
    levels = _check_quantile_levels(quantiles, q_values.shape[-1])
    y = y.ravel()
    q_values = q_values.reshape(y.size, levels.size)
    keep = ~(np.isnan(y) | np.any(np.isnan(q_values), axis=1))
    return y[keep], q_values[keep], levels


def _sample_inputs(y_true: Any, samples: Any) -> tuple[np.ndarray, np.ndarray]:
    """``y (n,)`` and ``samples (m, n)``; columns with a NaN target dropped."""
    if isinstance(y_true, pd.Series) and isinstance(samples, pd.DataFrame):
        if not samples.columns.equals(y_true.index):  # one column of draws per target
            raise ValueError(
                f"`samples`' columns {list(samples.columns[:3])!r} are not `y_true`'s index "
                f"{list(y_true.index[:3])!r}; the scores pair each target with the column of "
                "draws at its position, so select them in order, e.g. samples[y_true.index]."
            )
    y = _as_float_array(y_true, "y_true")
    x = _as_float_array(samples, "samples")
    _nonempty(y, "y_true")
    _nonempty(x, "samples")
    _check_finite(y, "y_true")
    _check_finite(x, "samples")
    if x.shape == y.shape and x.size > 1:
        raise ValueError(
            f"`samples` has the same shape as `y_true` ({y.shape}); it needs a leading "
            "samples axis: shape (n_samples,) + y_true.shape."
        )
    if x.shape[1:] != y.shape:
        raise ValueError(
            f"`samples` must have shape (n_samples,) + y_true.shape = (m,) + {y.shape}, got "
            f"{x.shape}; put the samples on the first axis (e.g. forecaster.sample(...) "
            "returns (n_samples, n_steps, n_series))."
        )
    y = y.ravel()
    x = x.reshape(x.shape[0], y.size)
    keep = ~np.isnan(y) & np.any(~np.isnan(x), axis=0)
    return y[keep], x[:, keep]


def _is_missing(label: Any) -> bool:
    """None, NaN, NaT or ``pd.NA`` (whose truth value is ambiguous)."""
    try:
        return label is None or bool(label != label)
    except (TypeError, ValueError):
        return True


def _group_codes(groups: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Integer code of each label of ``groups`` (shape ``shape``) in the labels' sorted order.

    Missing labels (None, NaN, NaT) and labels that cannot be sorted together (``1`` and
    ``"a"``) are errors: the labels put the error pairs in time order.
    """
    try:
        labels = np.asarray(groups)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`groups` must be an array-like of one time label per error, got "
            f"{type(groups).__name__} that numpy cannot read as an array; pass e.g. the "
            "forecast cutoff of each error pair."
        ) from exc
    if labels.shape != shape:
        raise ValueError(
            f"`groups` must hold one label per error, shape {shape}; got shape {labels.shape}."
        )
    flat = labels.reshape(-1)
    if flat.dtype.kind in "fc":
        missing = np.isnan(flat)
    elif flat.dtype.kind in "mM":
        missing = np.isnat(flat)
    elif flat.dtype.kind in "USO":
        # the caller's own objects: numpy would turn [1, "1"] into one label "1"
        flat = np.asarray(groups, dtype=object).reshape(-1)
        missing = np.fromiter((_is_missing(v) for v in flat), dtype=bool, count=flat.size)
    else:
        missing = np.zeros(flat.size, dtype=bool)
    if missing.any():
        count = int(missing.sum())
        raise ValueError(
            f"`groups` has {count} missing label{'s' if count > 1 else ''} (None, NaN or NaT) "
            f"at positions {np.flatnonzero(missing)[:5].tolist()}"
            f"{f' (first 5 of {count} shown)' if count > 5 else ''}; give every error pair a "
            "time label (e.g. its forecast cutoff) or drop those pairs from all three arguments."
        )
    try:
        codes = np.unique(flat, return_inverse=True)[1]
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in flat})
        raise TypeError(
            f"`groups` labels must be sortable against each other (they put the errors in "
            f"time order), got labels of types {kinds}; use one kind of label, e.g. all "
            "timestamps or all ints."
        ) from exc
    return np.asarray(codes).reshape(shape)
