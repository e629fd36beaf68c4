"""Forecast metrics: point, probabilistic and directional scores, and the Diebold-Mariano test.

Every function takes array-likes (lists, numpy arrays, pandas objects) and returns a
plain ``float`` (or an array for the PIT functions). Inputs are never modified. Values are
paired by position; pandas inputs must therefore carry the same labels (index, and columns
of frames; a Series of targets and a frame of samples: its columns are the Series' index),
or a :class:`ValueError` says to align them first (nothing is aligned in silence).

Missing values: where a docstring says *NaN pairs are dropped*, an element is scored
only if none of its inputs is NaN; if nothing is left the score is NaN (the PIT functions
return an empty array) and a :class:`RuntimeWarning` is emitted. ±inf is never a missing
value: an infinite input raises :class:`ValueError` naming the argument and the positions
of the infinite values. Empty inputs, mismatched shapes and invalid quantile levels raise
:class:`ValueError` naming the argument too.

Conventions:

- ``mape`` and ``smape`` are fractions, not percentages (``0.05`` means 5 %).
- ``crps_from_quantiles`` is the quantile-score approximation of the CRPS,
  ``2 * mean_k QS_{tau_k}``; ``crps_from_samples`` is exact for the empirical
  distribution of the samples.
- ``diebold_mariano`` returns a negative statistic when the *model* has the smaller
  loss.

This module never imports torch.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from tsnode._diebold_mariano import DMResult, diebold_mariano
from tsnode._metric_inputs import (
    _as_float_array,
    _check_finite,
    _empty_pit,
    _empty_result,
    _paired,
    _quantile_inputs,
    _sample_inputs,
    check_aligned,
)
from tsnode._warnings import user_stacklevel

__all__ = [
    "DMResult",
    "coverage",
    "crps_from_quantiles",
    "crps_from_samples",
    "diebold_mariano",
    "directional_accuracy",
    "interval_width",
    "mae",
    "mape",
    "mase",
    "pinball_loss",
    "pit_from_samples",
    "pit_values",
    "rmse",
    "smape",
]


# ----------------------------------------------------------------------------- point metrics


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error ``mean |y_true - y_pred|``.

    Parameters
    ----------
    y_true, y_pred : array-like, same shape (any)
        Realised values and point forecasts. NaN pairs are dropped.

    Returns
    -------
    float
    """
    y, f = _paired(y_true=y_true, y_pred=y_pred)
    if y.size == 0:
        return _empty_result("mae")
    return float(np.mean(np.abs(y - f)))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error ``sqrt(mean (y_true - y_pred)**2)``.

    Parameters
    ----------
    y_true, y_pred : array-like, same shape (any)
        Realised values and point forecasts. NaN pairs are dropped.

    Returns
    -------
    float
    """
    y, f = _paired(y_true=y_true, y_pred=y_pred)
    if y.size == 0:
        return _empty_result("rmse")
    # scaled by the largest error, so that squares of errors above ~1e154 do not overflow
    scale = float(np.max(np.abs(y - f)))
    if scale == 0.0 or not np.isfinite(scale):
        return scale
    return scale * float(np.sqrt(np.mean(((y - f) / scale) ** 2)))


def mape(y_true: Any, y_pred: Any) -> float:
    """Mean absolute percentage error, as a **fraction**: ``mean |y - f| / |y|``.

    ``0.05`` means 5 %. A realised value of exactly 0 with a non-zero error makes the score
    infinite (with a :class:`RuntimeWarning`); a pair with ``y = f = 0`` counts as 0. Prefer
    :func:`mase` for series that cross zero.

    Parameters
    ----------
    y_true, y_pred : array-like, same shape (any)
        Realised values and point forecasts. NaN pairs are dropped.

    Returns
    -------
    float
    """
    y, f = _paired(y_true=y_true, y_pred=y_pred)
    if y.size == 0:
        return _empty_result("mape")
    err = np.abs(y - f)
    zero = y == 0
    if np.any(zero & (err > 0)):
        warnings.warn(
            "mape: `y_true` contains zeros with a non-zero error, so MAPE is infinite; "
            "use mase or smape for series that can be zero.",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
        return float("inf")
    ratio = np.divide(err, np.abs(y), out=np.zeros_like(err), where=~zero)
    return float(np.mean(ratio))


def smape(y_true: Any, y_pred: Any) -> float:
    """Symmetric MAPE as a fraction in ``[0, 2]``: ``mean 2 |y - f| / (|y| + |f|)``.

    A pair with ``y == f == 0`` scores 0.

    Parameters
    ----------
    y_true, y_pred : array-like, same shape (any)
        Realised values and point forecasts. NaN pairs are dropped.

    Returns
    -------
    float
    """
    y, f = _paired(y_true=y_true, y_pred=y_pred)
    if y.size == 0:
        return _empty_result("smape")
    with np.errstate(over="ignore"):
        num, den = 2.0 * np.abs(y - f), np.abs(y) + np.abs(f)
    if not (np.isfinite(num).all() and np.isfinite(den).all()):  # values near 1.8e308: per
        size = np.maximum(np.maximum(np.abs(y), np.abs(f)), 1e-300)  # pair, in units of
        y, f = y / size, f / size  # the larger of the two
        num, den = 2.0 * np.abs(y - f), np.abs(y) + np.abs(f)
    return float(np.mean(np.divide(num, den, out=np.zeros_like(num), where=den > 0)))


def _naive_error(y_train: Any) -> float:
    """Mean absolute one-step naive error of ``y_train`` (NaNs skipped)."""
    train = _as_float_array(y_train, "y_train")
    _check_finite(train, "y_train")
    if train.ndim != 1:
        raise ValueError(
            f"`y_train` must be 1-D (one series in time order), got shape {train.shape}; "
            "score several series separately or pass `scale` per element."
        )
    observed = train[~np.isnan(train)]
    if observed.size < 2:
        raise ValueError(
            f"`y_train` needs at least 2 observed values to compute the naive error, got "
            f"{observed.size}; pass a longer training series or an explicit `scale`."
        )
    return float(np.mean(np.abs(np.diff(observed))))


def mase(y_true: Any, y_pred: Any, *, scale: Any = None, y_train: Any = None) -> float:
    """Mean absolute scaled error ``mean(|y_true - y_pred| / scale)``.

    Parameters
    ----------
    y_true, y_pred : array-like, same shape (any)
        Realised values and point forecasts. NaN pairs (and elements whose ``scale`` is
        NaN) are dropped.
    scale : float or array-like broadcastable to ``y_true``, optional
        The scaling denominator, e.g. the in-sample mean absolute one-step naive error
        (the ``scale`` column of a backtest's forecasts table). Must be positive.
    y_train : array-like of shape (n_train,), optional
        Training series; the scale is then its mean absolute one-step naive error
        ``mean |y_train[t] - y_train[t-1]|`` (NaNs skipped). Pass exactly one of
        ``scale`` and ``y_train``.

    Returns
    -------
    float
        1.0 means as accurate as the in-sample naive forecast.
    """
    if (scale is None) == (y_train is None):
        raise ValueError(
            "mase needs exactly one of `scale` (the denominator) and `y_train` (to compute "
            f"the naive in-sample error); got scale={'None' if scale is None else 'given'} "
            f"and y_train={'None' if y_train is None else 'given'}."
        )
    check_aligned(y_true=y_true, y_pred=y_pred, scale=scale)
    y = _as_float_array(y_true, "y_true")
    if y_train is not None:
        denom = np.full(y.shape, _naive_error(y_train))
    else:
        denom_raw = _as_float_array(scale, "scale")
        _check_finite(denom_raw, "scale")
        try:
            denom = np.broadcast_to(denom_raw, y.shape)
        except ValueError as exc:
            raise ValueError(
                f"`scale` of shape {denom_raw.shape} cannot be broadcast to `y_true`'s shape "
                f"{y.shape}; pass a float or one scale per element."
            ) from exc
    y, f, d = _paired(y_true=y, y_pred=y_pred, scale=denom)
    if np.any(d <= 0) or np.any(~np.isfinite(d)):
        source = "`y_train` (constant series)" if y_train is not None else "`scale`"
        raise ValueError(
            f"mase: the scale from {source} must be finite and positive, got values "
            f"{np.unique(d[(d <= 0) | ~np.isfinite(d)])[:5].tolist()}; a zero naive error "
            "makes MASE undefined."
        )
    if y.size == 0:
        return _empty_result("mase")
    return float(np.mean(np.abs(y - f) / d))


# ----------------------------------------------------------------------------- probabilistic


def _pinball_matrix(y: np.ndarray, q_values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Quantile scores ``(n, k)``: ``max(tau (y - x), (tau - 1) (y - x))``."""
    diff = y[:, None] - q_values
    return np.maximum(levels * diff, (levels - 1.0) * diff)


def pinball_loss(y_true: Any, y_quantiles: Any, quantiles: Any) -> float:
    """Mean pinball (quantile) loss over all elements and quantile levels.

    For a level ``tau`` and forecast quantile ``x``: ``max(tau (y - x), (tau - 1)(y - x))``.

    Parameters
    ----------
    y_true : array-like of shape (n,) (or any shape S)
        Realised values.
    y_quantiles : array-like of shape (n, k) (or S + (k,))
        Forecast quantiles, one column per level.
    quantiles : sequence of k floats in (0, 1), strictly increasing
        The levels of the columns of ``y_quantiles``.

    Returns
    -------
    float
        Rows with a NaN (target or any quantile) are dropped.
    """
    y, q_values, levels = _quantile_inputs(y_true, y_quantiles, quantiles)
    if y.size == 0:
        return _empty_result("pinball_loss")
    return float(np.mean(_pinball_matrix(y, q_values, levels)))


def crps_from_quantiles(y_true: Any, y_quantiles: Any, quantiles: Any) -> float:
    """CRPS approximated from forecast quantiles: ``2 * mean_k QS_{tau_k}``.

    Uses ``CRPS(F, y) = 2 * integral_0^1 QS_tau(F^-1(tau), y) d tau`` with the integral
    replaced by the average over the given levels (the quantile-score approximation).
    It is accurate for many evenly spread levels (e.g. ``(i - 0.5) / K``) and a coarse,
    but consistent, score for a few levels such as ``(0.1, 0.5, 0.9)``. Equals
    ``2 * pinball_loss(...)``; for a single median level it is the MAE.

    Parameters
    ----------
    y_true : array-like of shape (n,) (or any shape S)
    y_quantiles : array-like of shape (n, k) (or S + (k,))
    quantiles : sequence of k floats in (0, 1), strictly increasing

    Returns
    -------
    float
        Rows with a NaN are dropped.
    """
    y, q_values, levels = _quantile_inputs(y_true, y_quantiles, quantiles)
    if y.size == 0:
        return _empty_result("crps_from_quantiles")
    return float(2.0 * np.mean(_pinball_matrix(y, q_values, levels)))


def crps_from_samples(y_true: Any, samples: Any) -> float:
    """CRPS of the empirical distribution of samples, exactly: ``E|X - y| - E|X - X'| / 2``.

    Computed per element with the sorted-sample identity
    ``sum_{i,j} |x_i - x_j| = 2 sum_i (2i - m - 1) x_(i)`` (``O(m log m)``).

    Parameters
    ----------
    y_true : array-like of shape (n,) (or any shape S)
        Realised values; NaN elements are dropped.
    samples : array-like of shape (n_samples, n) (or (n_samples,) + S)
        Draws of the predictive distribution. NaN draws are ignored (each element uses
        its own non-NaN draws).

    Returns
    -------
    float
        Mean CRPS over the elements.
    """
    y, x = _sample_inputs(y_true, samples)
    if y.size == 0:
        return _empty_result("crps_from_samples")
    m = np.sum(~np.isnan(x), axis=0).astype("float64")  # (n,)
    term1 = np.nanmean(np.abs(x - y[None, :]), axis=0)
    xs = np.sort(x, axis=0)  # NaN sorted last
    rank = np.arange(1, x.shape[0] + 1, dtype="float64")[:, None]
    weights = np.where(rank <= m[None, :], 2.0 * rank - m[None, :] - 1.0, 0.0)
    spread = np.sum(weights * np.nan_to_num(xs), axis=0) / m**2  # = E|X - X'| / 2
    return float(np.mean(term1 - spread))


def coverage(y_true: Any, lower: Any, upper: Any) -> float:
    """Fraction of realised values inside ``[lower, upper]`` (bounds included).

    Parameters
    ----------
    y_true, lower, upper : array-like, same shape (any)
        NaN triples are dropped. Crossed bounds (``lower > upper``) warn and count as
        misses.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    y, lo, hi = _paired(y_true=y_true, lower=lower, upper=upper)
    if y.size == 0:
        return _empty_result("coverage")
    if np.any(lo > hi):
        warnings.warn(
            f"coverage: `lower` > `upper` for {int(np.sum(lo > hi))} of {lo.size} elements; "
            "check the order of the bounds.",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
    return float(np.mean((y >= lo) & (y <= hi)))


def interval_width(lower: Any, upper: Any) -> float:
    """Mean interval width ``mean(upper - lower)``.

    Parameters
    ----------
    lower, upper : array-like, same shape (any)
        NaN pairs are dropped.

    Returns
    -------
    float
    """
    lo, hi = _paired(lower=lower, upper=upper)
    if lo.size == 0:
        return _empty_result("interval_width")
    return float(np.mean(hi - lo))


def directional_accuracy(y_true: Any, y_pred: Any, origin: Any, *, rtol: float = 1e-9) -> float:
    """Fraction of forecasts that get the direction of the move from ``origin`` right.

    A hit is ``sign(y_pred - origin) == sign(y_true - origin)`` with ``sign(0) = 0``, so a
    forecast of *no move* counts as right only when the price did not move either, and a
    realised zero move is missed by any forecast that predicts a move. A move no larger
    than ``rtol * |origin|`` counts as no move: a no-change forecast that comes back from a
    log or scaler round trip with rounding noise (~1e-16 relative) is not a direction call.

    Parameters
    ----------
    y_true, y_pred : array-like, same shape (any)
        Realised values and point forecasts.
    origin : float or array-like broadcastable to ``y_true``
        Reference value, typically the last observed price at the forecast origin.
        NaN triples are dropped.
    rtol : float, default 1e-9
        Relative size below which a move is zero (0: exact comparison). The trading
        simulation uses the same threshold.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    check_aligned(y_true=y_true, y_pred=y_pred, origin=origin)
    y = _as_float_array(y_true, "y_true")
    ref = _as_float_array(origin, "origin")
    _check_finite(ref, "origin")
    try:
        ref = np.broadcast_to(ref, y.shape)
    except ValueError as exc:
        raise ValueError(
            f"`origin` of shape {ref.shape} cannot be broadcast to `y_true`'s shape {y.shape}; "
            "pass a float or one origin per element."
        ) from exc
    wrong_type = isinstance(rtol, (bool, np.bool_)) or not isinstance(rtol, numbers.Real)
    if wrong_type or not 0 <= rtol < float("inf"):
        raise (TypeError if wrong_type else ValueError)(
            f"`rtol` must be a finite number >= 0, got {rtol!r}; the default is 1e-9."
        )
    y, f, o = _paired(y_true=y, y_pred=y_pred, origin=ref)
    if y.size == 0:
        return _empty_result("directional_accuracy")
    tol = rtol * np.abs(o)

    def direction(move: np.ndarray) -> np.ndarray:
        return np.where(np.abs(move) <= tol, 0.0, np.sign(move))

    return float(np.mean(direction(f - o) == direction(y - o)))


# ----------------------------------------------------------------------------- PIT


def pit_values(y_true: Any, y_quantiles: Any, quantiles: Any) -> np.ndarray:
    """Probability integral transform ``F(y)`` from forecast quantiles.

    ``F`` is the piecewise-linear interpolation through the points
    ``(x_k, tau_k)``, extended linearly beyond the outermost quantiles with the slope of
    the first/last segment, and clipped to ``[0, 1]``. Crossed quantiles are sorted per
    row first (rearrangement). For a calibrated forecast the values are ~Uniform(0, 1).

    Parameters
    ----------
    y_true : array-like of shape (n,) (or any shape S)
    y_quantiles : array-like of shape (n, k) (or S + (k,)), k >= 2
    quantiles : sequence of k floats in (0, 1), strictly increasing

    Returns
    -------
    ndarray of shape (n_kept,)
        One PIT value per element, in row-major order, rows with a NaN dropped.
    """
    y, q_values, levels = _quantile_inputs(y_true, y_quantiles, quantiles)
    if levels.size < 2:
        raise ValueError(
            f"`quantiles` needs at least 2 levels to interpolate a CDF, got {levels.tolist()}; "
            "e.g. quantiles=(0.1, 0.5, 0.9)."
        )
    if y.size == 0:
        return _empty_pit("pit_values")
    x = np.sort(q_values, axis=1)
    n, k = x.shape
    count = np.sum(x <= y[:, None], axis=1)  # how many quantiles lie at or below y
    seg = np.clip(count - 1, 0, k - 2)
    rows = np.arange(n)
    lo, hi = x[rows, seg], x[rows, seg + 1]
    tau_lo, tau_hi = levels[seg], levels[seg + 1]
    width = hi - lo
    safe = np.where(width > 0, width, 1.0)
    with np.errstate(over="ignore"):  # a subnormal width: the ratio overflows, clipped below
        pit = tau_lo + (y - lo) / safe * (tau_hi - tau_lo)
    # a zero-width segment: a jump of the CDF (y inside it) or flat tails (y outside)
    pit = np.where(width > 0, pit, np.where(y < lo, 0.0, np.where(y > hi, 1.0, tau_hi)))
    return np.clip(pit, 0.0, 1.0)


def pit_from_samples(y_true: Any, samples: Any) -> np.ndarray:
    """Probability integral transform from samples: the empirical CDF at ``y``.

    ``F(y) = (#{x < y} + #{x == y} / 2) / m`` (ties count half), with ``m`` the number of
    non-NaN draws of that element.

    Parameters
    ----------
    y_true : array-like of shape (n,) (or any shape S)
    samples : array-like of shape (n_samples, n) (or (n_samples,) + S)

    Returns
    -------
    ndarray of shape (n_kept,)
        One value in ``[0, 1]`` per element, elements with a NaN target dropped.
    """
    y, x = _sample_inputs(y_true, samples)
    if y.size == 0:
        return _empty_pit("pit_from_samples")
    m = np.sum(~np.isnan(x), axis=0)
    below = np.sum(x < y[None, :], axis=0)
    equal = np.sum(x == y[None, :], axis=0)
    return (below + 0.5 * equal) / m


DMResult.__module__ = diebold_mariano.__module__ = __name__  # documented here
