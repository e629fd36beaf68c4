"""Input checks shared by the scores of :mod:`tsnode.metrics` (private).

Every helper turns array-likes into fresh float64 arrays (the caller's input is never
modified) and raises :class:`TypeError` / :class:`ValueError` naming the argument.
This module never imports torch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


def _as_float_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a float64 ndarray (a new array; the input is untouched)."""
    if x is None:
        raise TypeError(f"`{name}` must be an array-like of numbers, got None.")
    try:
        arr = np.array(x, dtype="float64")  # np.array copies
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`{name}` must be an array-like of numbers, got {type(x).__name__} that cannot "
            "be converted to float; pass a list, numpy array or pandas object of numbers."
        ) from exc
    return arr


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


def _paired(**inputs: Any) -> list[np.ndarray]:
    """Validate same-shaped, non-empty inputs; return them flattened with NaN pairs dropped."""
    arrays = {name: _as_float_array(value, name) for name, value in inputs.items()}
    for name, arr in arrays.items():
        _nonempty(arr, name)
    _same_shape(arrays)
    flat = [arr.ravel() for arr in arrays.values()]
    keep = ~np.any(np.isnan(np.vstack(flat)), axis=0)
    return [arr[keep] for arr in flat]


def _empty_result(what: str) -> float:
    warnings.warn(
        f"{what}: every element has a NaN, nothing left to score; returning NaN.",
        RuntimeWarning,
        stacklevel=3,
    )
    return float("nan")


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
    y = _as_float_array(y_true, "y_true")
    q_values = _as_float_array(y_quantiles, "y_quantiles")
    _nonempty(y, "y_true")
    _nonempty(q_values, "y_quantiles")
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
    y = _as_float_array(y_true, "y_true")
    x = _as_float_array(samples, "samples")
    _nonempty(y, "y_true")
    _nonempty(x, "samples")
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
