"""The Diebold-Mariano test of :mod:`tsnode.metrics` (re-exported there; private module).

This module never imports torch.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, NamedTuple

import numpy as np
from scipy import stats as _stats

from tsnode._metric_inputs import _as_float_array, _group_codes, _paired, check_aligned
from tsnode._warnings import user_stacklevel

__all__ = ["DMResult", "diebold_mariano"]


class DMResult(NamedTuple):
    """Result of :func:`diebold_mariano`."""

    statistic: float
    """HLN-corrected DM statistic; negative when the model's loss is smaller."""
    pvalue: float
    """Two-sided p-value from a Student-t distribution with n - 1 degrees of freedom."""


def _long_run_variance(d: np.ndarray, horizon: int) -> float:
    """``(gamma_0 + 2 sum_{k=1}^{h-1} gamma_k) / n`` with biased autocovariances."""
    n = d.size
    centred = d - d.mean()
    gamma = [np.dot(centred[k:], centred[: n - k]) / n for k in range(horizon)]
    return float((gamma[0] + 2.0 * sum(gamma[1:])) / n)


def diebold_mariano(
    errors_model: Any,
    errors_baseline: Any,
    *,
    horizon: int = 1,
    loss: Literal["squared", "absolute"] = "squared",
    groups: Any = None,
) -> DMResult:
    """Diebold-Mariano test of equal predictive accuracy, with the HLN correction.

    With loss differential ``d_t = L(e_model,t) - L(e_baseline,t)`` (time order), mean
    ``d_bar`` and autocovariances ``gamma_k = sum_t (d_t - d_bar)(d_{t-k} - d_bar) / n``:

    ``DM = d_bar / sqrt((gamma_0 + 2 sum_{k=1}^{h-1} gamma_k) / n)`` (truncated, unweighted
    long-run variance as in Diebold & Mariano 1995), multiplied by the Harvey, Leybourne &
    Newbold (1997) factor ``sqrt((n + 1 - 2h + h(h - 1) / n) / n)``; the two-sided p-value
    uses a Student-t with ``n - 1`` degrees of freedom. If the long-run variance is not
    positive for ``h > 1`` the test falls back to ``h = 1`` (with a warning), as R's
    ``forecast::dm.test``; if it is zero up to rounding (a constant differential, e.g.
    identical losses) the result is NaN, with a ``RuntimeWarning``.

    Parameters
    ----------
    errors_model, errors_baseline : array-like of shape (n,)
        Forecast errors (actual - forecast) of the two models at the same times, in time
        order. NaN pairs are dropped; ±inf is an error.
    horizon : int, default 1
        Forecast horizon ``h``; autocovariances up to lag ``h - 1`` enter the variance.
        Must be smaller than the number of error pairs (of time labels with ``groups``).
    loss : {"squared", "absolute"}, default "squared"
    groups : array-like of shape (n,), optional
        A time label per error pair (e.g. the forecast cutoff) for a panel of series: the loss
        differentials are averaged within each label and the test runs on that series of
        means, in the labels' sorted order. Series forecast at the same time are usually
        correlated, so pooling their rows as independent overstates the evidence. Labels
        must be sortable together (e.g. all timestamps; a TypeError for ``1`` and ``"a"``);
        None/NaN/NaT labels are a ValueError.

    Returns
    -------
    DMResult
        ``(statistic, pvalue)``; a negative statistic means the model is more accurate.
    """
    wrong_type = isinstance(horizon, bool) or not isinstance(horizon, int | np.integer)
    if wrong_type or horizon < 1:
        raise (TypeError if wrong_type else ValueError)(
            f"`horizon` must be a positive int, got {horizon!r}; e.g. horizon=1."
        )
    if loss not in ("squared", "absolute"):
        raise ValueError(f"`loss` must be 'squared' or 'absolute', got {loss!r}.")
    if _as_float_array(errors_model, "errors_model").ndim != 1:
        raise ValueError(
            "`errors_model` must be a 1-D series of errors in time order; concatenate "
            "several series explicitly before testing."
        )
    inputs = {"errors_model": errors_model, "errors_baseline": errors_baseline}
    if groups is not None:
        check_aligned(errors_model=errors_model, errors_baseline=errors_baseline, groups=groups)
        # integer codes of the sorted labels travel with the errors, so _paired drops the
        # label of every NaN pair too
        inputs["groups"] = _group_codes(groups, np.shape(errors_model))
    e1, e2, *codes = _paired(**inputs)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is an error below
        d = e1**2 - e2**2 if loss == "squared" else np.abs(e1) - np.abs(e2)
        if codes:  # one mean differential per time label, in label order
            _, inverse = np.unique(codes[0], return_inverse=True)
            d = np.bincount(inverse, weights=d) / np.bincount(inverse)
    n = d.size
    h = int(horizon)
    what = "time labels of `groups`" if codes else "non-NaN error pairs"
    if n < 3:
        raise ValueError(
            f"diebold_mariano needs at least 3 {what}, got {n}; pass longer "
            "`errors_model` / `errors_baseline`."
        )
    # the HLN factor is (h - n)(h - n - 1) / n^2: positive for h < n, and lags up to
    # h - 1 < n are all estimable; h = n, n + 1 zero it, and larger h are meaningless
    if h >= n:
        raise ValueError(
            f"`horizon`={h} is too large for {n} {what} (the HLN correction is undefined "
            f"unless horizon < {n}); use horizon <= {n - 1} or more errors."
        )
    with np.errstate(over="ignore", invalid="ignore"):
        variance = _long_run_variance(d, h) if np.all(np.isfinite(d)) else np.nan
    if not np.isfinite(variance):
        raise ValueError(
            f"diebold_mariano: the {loss} loss differential overflows float64 (largest "
            f"|error| {max(np.max(np.abs(e1)), np.max(np.abs(e2))):.3g}); divide "
            "`errors_model` and `errors_baseline` by a common scale before testing."
        )
    # a differential constant up to rounding (|e| ~ 8 shifted by 0.1) has a variance of
    # rounding noise (~1e-30) that would give |statistic| ~ 1e15: count it as zero
    scale = max(np.max(np.abs(e1)), np.max(np.abs(e2)))
    floor = (64.0 * np.finfo(np.float64).eps * (scale**2 if loss == "squared" else scale)) ** 2
    # horizon 1's variance, once: a fallback when positive; a constant differential otherwise
    one_lag = _long_run_variance(d, 1) if variance <= floor and h > 1 else variance
    if one_lag > floor >= variance:
        warnings.warn(
            f"diebold_mariano: the long-run variance with horizon={h} is not positive; "
            "falling back to horizon=1.",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
        h, variance = 1, one_lag
    if variance <= floor:
        warnings.warn(
            "diebold_mariano: the loss differential is constant (up to rounding; e.g. "
            "identical forecasts); the test is undefined, returning NaN.",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
        return DMResult(float("nan"), float("nan"))
    statistic = float(np.mean(d) / np.sqrt(variance))
    statistic *= float(np.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n))
    pvalue = float(2.0 * _stats.t.sf(abs(statistic), df=n - 1))
    return DMResult(statistic, pvalue)
