"""Post-hoc calibration of ``TSNodeForecaster``'s predictive distribution (numpy only).

The map acts on posterior sample paths in the model's (scaled) units, *relative to the last
observed value* (the anchor), one query time at a time::

    m(t)  = median over samples of y(t)                 y: sample - anchor
    y'(t) = drift * m(t) + spread(t) * (y(t) - m(t))
    spread(t) = exp(log_spread + slope * log(max(dt, 1 day) / 7 days))

``dt`` is the calendar time since the last observation. ``spread`` widens or narrows the
samples around their median (a positive per-time factor, so the order of the samples at each
time, hence the quantiles, is kept and paths stay continuous); ``drift`` in [0, 1] shrinks the
median move towards 0, i.e. towards the random walk's "no change" (1 keeps the model's median).
The forecaster takes ``m(t)`` from a batch of fixed size (``center``), so that a request for few
paths gets the same distribution as one for many.

:func:`fit_calibration` chooses the parameters that minimise the mean CRPS of held-out
forecasts; :data:`IDENTITY` leaves the samples unchanged. With ``prior_windows > 0`` the fit is
penalised: the held-out CRPS is averaged with the expected CRPS under a *random-walk prior*
(targets drawn from a Gaussian centred on the last value with the model's own spread, for
which the identity spread and ``drift = 0`` are optimal), weighted ``n_windows`` (independent
held-out forecast windows, see :func:`effective_windows`) to ``prior_windows``. A short tail
thus moves the map little from "model spread, no median move"; a long one dominates the prior.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "IDENTITY",
    "apply_calibration",
    "check_calibration",
    "fit_calibration",
    "effective_windows",
    "holdout_points",
    "is_identity",
]

IDENTITY: dict[str, Any] = {"log_spread": 0.0, "slope": 0.0, "drift": 1.0, "n_points": 0}
_REFERENCE_DAYS = 7.0
_LOG_SPREAD_BOUNDS = (math.log(0.1), math.log(10.0))
_SLOPE_BOUNDS = (-1.0, 1.0)
_N_LEVELS = 64
MAX_ORIGINS = 600  # held-out forecast origins used by fit_calibration, evenly spread


def check_calibration(calibration: Any) -> dict[str, Any]:
    """Validate a calibration map (e.g. read from a saved model); returns a clean copy."""
    if not isinstance(calibration, dict):
        raise ValueError(f"calibration_ must be a dict, got {type(calibration).__name__}.")
    out = dict(IDENTITY)
    out.update(calibration)
    for key in ("log_spread", "slope", "drift"):
        value = out[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise ValueError(f"calibration_[{key!r}] must be a finite number, got {value!r}.")
        out[key] = float(value)
    bounds = {"log_spread": _LOG_SPREAD_BOUNDS, "slope": _SLOPE_BOUNDS, "drift": (0.0, 1.0)}
    for key, (low, high) in bounds.items():  # fit_calibration's range (a spread of 0.1 to 10)
        if not low - 1e-9 <= out[key] <= high + 1e-9:
            raise ValueError(
                f"calibration_[{key!r}] must be in [{low:.6g}, {high:.6g}], got {out[key]!r}."
            )
    return out


def spread_factor(calibration: dict[str, Any], elapsed_days: np.ndarray) -> np.ndarray:
    """Spread multiplier at ``elapsed_days`` (any shape) since the last observation."""
    ratio = np.maximum(np.asarray(elapsed_days, dtype=np.float64), 1.0) / _REFERENCE_DAYS
    return np.exp(calibration["log_spread"] + calibration["slope"] * np.log(ratio))


def is_identity(calibration: dict[str, Any]) -> bool:
    """Whether the map leaves samples unchanged (unit spread, no slope, full median move)."""
    return (
        calibration["log_spread"] == 0.0
        and calibration["slope"] == 0.0
        and calibration["drift"] == 1.0
    )


def apply_calibration(
    calibration: dict[str, Any],
    samples: np.ndarray,
    elapsed_days: np.ndarray,
    *,
    center: np.ndarray | None = None,
) -> np.ndarray:
    """Calibrated copy of ``samples``.

    Parameters
    ----------
    calibration : dict
        A map from :func:`fit_calibration` (or :data:`IDENTITY`).
    samples : ndarray, shape (n_samples, n_times)
        Sample paths relative to the anchor (last observed value subtracted).
    elapsed_days : ndarray, shape (n_times,)
        Calendar days from the anchor to each time.
    center : ndarray, shape (n_times,), optional
        The median ``m(t)`` the map widens around and shrinks; default the median of
        ``samples``. Pass the median of a batch of fixed size when ``samples`` may be few: a
        map centred on few samples' own median narrows them (one sample: no spread at all).

    Returns
    -------
    ndarray, shape (n_samples, n_times)
    """
    samples = np.asarray(samples, dtype=np.float64)
    if is_identity(calibration):
        return samples.copy()
    median = np.median(samples, axis=0) if center is None else np.asarray(center, np.float64)
    spread = spread_factor(calibration, elapsed_days)
    return calibration["drift"] * median + spread * (samples - median)


def _crps_terms(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, sorted deviations from it and mean pairwise |difference| of each point's samples.

    More than ``_N_LEVELS`` samples are summarised by that many evenly spaced quantiles (the
    CRPS of the quantile ensemble differs from the samples' by far less than its noise).
    """
    median = np.median(samples, axis=1)
    dev = samples - median[:, None]
    if dev.shape[1] > _N_LEVELS:
        levels = (np.arange(_N_LEVELS) + 0.5) / _N_LEVELS
        dev = np.quantile(dev, levels, axis=1).T
    else:
        dev = np.sort(dev, axis=1)
    n = dev.shape[1]
    ranks = 2.0 * np.arange(1, n + 1) - n - 1
    pairwise = 2.0 * (dev @ ranks) / (n * n)  # mean over (i, j) of |e_i - e_j|
    return median, dev, pairwise


def _prior_crps(mu: np.ndarray, scale: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Expected CRPS of forecasts N(mu, scale^2) for targets drawn from N(0, sigma^2)."""
    from scipy.special import erf

    v = np.sqrt(scale**2 + sigma**2)
    z = mu / v
    e_abs = v * (np.sqrt(2.0 / np.pi) * np.exp(-0.5 * z * z) + z * erf(z / np.sqrt(2.0)))
    return e_abs - scale / np.sqrt(np.pi)


def effective_windows(n_tail: list[int] | np.ndarray, forecast_length: int) -> float:
    """Independent held-out forecast windows: held-back observations / forecast length.

    Consecutive origins share most of their targets, so the tail of ``n`` observations of a
    series holds about ``n / forecast_length`` independent ``forecast_length``-step forecasts.
    """
    return float(np.sum(np.maximum(np.asarray(n_tail, dtype=np.float64), 0.0))) / max(
        int(forecast_length), 1
    )


def fit_calibration(
    samples: np.ndarray,
    targets: np.ndarray,
    elapsed_days: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    fit_slope: bool = True,
    fit_drift: bool = True,
    drift: float = 1.0,
    strength: float = 1.0,
    prior_windows: float = 0.0,
    n_windows: float | None = None,
    prior_scale: np.ndarray | None = None,
) -> dict[str, Any]:
    """Calibration map minimising the weighted mean CRPS of held-out forecasts.

    Parameters
    ----------
    samples : ndarray, shape (n_points, n_samples)
        Forecast samples relative to each forecast's anchor, one row per (forecast, time).
    targets : ndarray, shape (n_points,)
        The observed values, relative to the same anchors.
    elapsed_days : ndarray, shape (n_points,)
        Calendar days from the anchor to each point.
    weights : ndarray, shape (n_points,), optional
        Per-point weights of the mean CRPS (e.g. 1 / each series' typical one-step move).
    fit_slope, fit_drift : bool, default True
        Fit the horizon slope of the spread and the drift shrinkage; when False they stay at
        0 and ``drift`` (by default a single spread multiplier and the model's median).
    drift : float in [0, 1], default 1.0
        The drift factor used when ``fit_drift`` is False (0: the median is the last value,
        the random walk's; 1: the model's median).
    strength : float, default 1.0
        Shrinkage of the fitted spread towards 1: ``log_spread`` and ``slope`` are multiplied
        by it after the fit (1: as fitted; the held-out tail is short and its volatility
        regime need not last, so a partial correction can generalise better).
    prior_windows : float, default 0.0
        Weight of the random-walk prior, in pseudo forecast windows (0: no prior). The
        objective is ``(n_windows * CRPS_heldout + prior_windows * CRPS_prior) / (n_windows
        + prior_windows)``, where ``CRPS_prior`` is the expected CRPS of the calibrated
        forecasts (taken as Gaussian: the median and the samples' spread) when the target
        is Gaussian around 0 (the last value) with the model's uncalibrated spread (or
        ``prior_scale``). With the default scale the prior alone is minimised by
        ``log_spread = slope = drift = 0``.
    n_windows : float, optional
        Independent held-out windows behind the points (:func:`effective_windows`); default
        ``n_points / 20``. Only used with a prior.
    prior_scale : ndarray, shape (n_points,), optional
        Standard deviation of the prior's targets at each point; default the model's own
        (uncalibrated) spread. With the random walk's historical spread (the last array of
        :func:`holdout_points`) the prior is the random walk itself: its optimum is the
        spread map closest to that scale and ``drift = 0``. Points whose scale is NaN or not
        positive keep the model's spread. Only used with a prior.

    Returns
    -------
    dict
        ``{"log_spread", "slope", "drift", "n_points", "crps_before", "crps_after"}``;
        :data:`IDENTITY` when there are fewer than 10 points.
    """
    from scipy.optimize import minimize

    samples = np.asarray(samples, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    elapsed = np.asarray(elapsed_days, dtype=np.float64)
    keep = np.isfinite(targets) & np.isfinite(samples).all(axis=1) & np.isfinite(elapsed)
    if weights is None:
        weights = np.ones(len(targets))
    weights = np.asarray(weights, dtype=np.float64)
    keep &= np.isfinite(weights) & (weights > 0)
    if prior_scale is not None:
        prior_scale = np.asarray(prior_scale, dtype=np.float64)
        if prior_scale.shape != targets.shape:
            raise ValueError(
                f"prior_scale must have one value per point, shape {targets.shape}; got shape "
                f"{prior_scale.shape}."
            )
        prior_scale = prior_scale[keep]
    samples, targets, elapsed, weights = samples[keep], targets[keep], elapsed[keep], weights[keep]
    if len(targets) < 10:
        return dict(IDENTITY)
    weights = weights / len(weights)  # mean over points of weight * CRPS
    median, dev, pairwise = _crps_terms(samples)
    log_ratio = np.log(np.maximum(elapsed, 1.0) / _REFERENCE_DAYS)
    sigma = pairwise * math.sqrt(math.pi) / 2.0  # Gaussian sd with that mean |difference|
    target_sigma = sigma
    if prior_scale is not None:  # points without a usable scale keep the model's spread
        usable = np.isfinite(prior_scale) & (prior_scale > 0)
        target_sigma = np.where(usable, prior_scale, sigma)
    n_win = float(n_windows) if n_windows is not None else len(targets) / 20.0
    mix = float(prior_windows) / (max(n_win, 1e-12) + float(prior_windows))

    if not 0.0 <= float(drift) <= 1.0:
        raise ValueError(f"drift must be in [0, 1], got {drift!r}.")
    active = [0] + ([1] if fit_slope else []) + ([2] if fit_drift else [])
    fixed = np.array([0.0, 0.0, float(drift)])

    def unpack(free: np.ndarray) -> tuple[float, float, float]:
        theta = fixed.copy()
        theta[active] = free
        a = float(np.clip(theta[0], *_LOG_SPREAD_BOUNDS))
        b = float(np.clip(theta[1], *_SLOPE_BOUNDS))
        d = float(np.clip(theta[2], 0.0, 1.0))
        return a, b, d

    def crps_of(a: float, b: float, d: float, mix: float) -> float:
        """Held-out mean CRPS of the map (a, b, d), mixed with the prior's when ``mix > 0``."""
        spread = np.exp(a + b * log_ratio)
        x = (d * median - targets)[:, None] + spread[:, None] * dev
        per_point = np.abs(x).mean(axis=1) - 0.5 * spread * pairwise
        if mix > 0.0:
            prior = _prior_crps(d * median, spread * sigma, target_sigma)
            per_point = (1.0 - mix) * per_point + mix * prior
        return float(weights @ per_point)

    def crps(free: np.ndarray) -> float:
        """Objective over the free parameters."""
        return crps_of(*unpack(free), mix)

    before = crps_of(0.0, 0.0, 1.0, 0.0)
    best = None
    # A few starting points: the CRPS is piecewise smooth, Nelder-Mead can stall on a kink.
    starts = [[0.0, 0.0, 1.0], [-0.5, 0.0, 0.5], [0.3, 0.2, 0.8]]
    for start in starts + ([[0.0, 0.0, 0.0]] if mix > 0.0 else []):
        res = minimize(
            crps,
            np.array(start)[active],
            method="Nelder-Mead",
            options={"xatol": 1e-4, "fatol": 1e-9, "maxiter": 600},
        )
        if best is None or res.fun < best.fun:
            best = res
    a, b, d = unpack(best.x)
    a, b = float(strength) * a, float(strength) * b
    return {
        "log_spread": a,
        "slope": b,
        "drift": d,
        "n_points": int(len(targets)),
        "crps_before": before,
        "crps_after": crps_of(a, b, d, 0.0),
    }


def holdout_points(
    series: list[tuple[np.ndarray, np.ndarray]],
    tail_starts: list[int],
    decode: Callable[[list, list], list[np.ndarray]],
    *,
    context_length: int,
    forecast_length: int,
    n_samples: int,
    max_origins: int = MAX_ORIGINS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Held-out forecasts of each series' tail, the data of :func:`fit_calibration`.

    Every observation ``o`` from the last training one (``tail_starts[j] - 1``) to the second
    last of series ``j`` is a forecast origin: the model conditions on the ``context_length``
    observations up to ``o`` and forecasts the next ``forecast_length`` ones (all held back
    from training). At most ``max_origins`` origins, evenly spread, are used.

    Parameters
    ----------
    series : list of (days, values) arrays
        Each series' observed times (days) and scaled values.
    tail_starts : list of int
        Index of each series' first held-back observation (its length: nothing held back).
    decode : callable
        ``decode(contexts, queries)`` with ``contexts`` a list of ``(days, values)`` and
        ``queries`` a list of day arrays returns one ``(n_samples, len(query))`` array of
        samples (in the values' units, not relative) per context.

    Returns
    -------
    samples : ndarray, shape (n_points, n_samples), relative to each origin's value
    targets, elapsed_days, weights, random_walk_scale : ndarray, shape (n_points,)
        The weight of a point is one over its series' mean absolute one-step move in the
        training part, so that every series counts the same; 0 for a series that never moved
        there (a constant price would otherwise get an infinite weight and dominate the fit). ``random_walk_scale`` is the
        random walk's forecast spread at the point, ``s * sqrt(k)`` for the ``k``-th
        observation after the origin, with ``s`` the standard deviation of the series'
        one-step moves in the training part (``NaiveForecaster``'s in the model's units;
        NaN with fewer than 3 training observations).
    """
    c, h = int(context_length), int(forecast_length)
    origins = [
        (j, o)
        for j, ((days, _), end) in enumerate(zip(series, tail_starts, strict=True))
        for o in range(max(end - 1, 0), len(days) - 1)
    ]
    if not origins:
        return np.zeros((0, n_samples)), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)
    if len(origins) > max_origins:
        keep = np.unique(np.linspace(0, len(origins) - 1, max_origins).round().astype(int))
        origins = [origins[k] for k in keep]
    moves = [
        float(np.mean(np.abs(np.diff(v[:end])))) if end > 1 else 1.0
        for (_, v), end in zip(series, tail_starts, strict=True)
    ]
    step_sd = [
        float(np.std(np.diff(v[:end]), ddof=1)) if end > 2 else math.nan
        for (_, v), end in zip(series, tail_starts, strict=True)
    ]
    contexts, queries = [], []
    for j, o in origins:
        days, vals = series[j]
        contexts.append((days[max(0, o + 1 - c) : o + 1], vals[max(0, o + 1 - c) : o + 1]))
        queries.append(days[o + 1 : o + 1 + h])
    decoded = decode(contexts, queries)
    samples, targets, elapsed, weights, scales = [], [], [], [], []
    for (j, o), (days, vals), draws in zip(origins, contexts, decoded, strict=True):
        future = slice(o + 1, o + 1 + h)
        samples.append((np.asarray(draws, dtype=np.float64) - vals[-1]).T)
        targets.append(series[j][1][future] - vals[-1])
        elapsed.append(series[j][0][future] - days[-1])
        # a series that never moved has no scale to calibrate against: weight 0 (left out)
        weight = 1.0 / moves[j] if moves[j] > 0 and np.isfinite(moves[j]) else 0.0
        weights.append(np.full(len(targets[-1]), weight))
        scales.append(step_sd[j] * np.sqrt(np.arange(1, len(targets[-1]) + 1)))
    return (
        np.concatenate(samples),
        np.concatenate(targets),
        np.concatenate(elapsed),
        np.concatenate(weights),
        np.concatenate(scales),
    )
