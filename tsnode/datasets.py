"""Synthetic data sets with known ground truth.

- :func:`make_spiral`: two interleaved 2-D spirals (classification; the Neural ODE example).
- :func:`make_periodic`: irregularly observed sinusoids, the toy set of Rubanova et al. (2019).
- :func:`make_gbm`: exact geometric Brownian motion prices on business days.
- :func:`make_ou`: an exact Ornstein-Uhlenbeck (mean-reverting) process on business days.

Spiral and periodic data come as float32 torch tensors (ready for ``tsnode.nn``); GBM and OU
paths come as pandas frames shaped like the price data the forecasters take. Every generator
draws from its own ``numpy.random.Generator`` seeded by ``random_state``, so results do not
depend on (and do not disturb) numpy's or torch's global random state.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # torch is imported by the two generators that return tensors
    import torch

__all__ = ["PeriodicData", "make_gbm", "make_ou", "make_periodic", "make_spiral"]

_DAYS_PER_YEAR = 365.25


# --------------------------------------------------------------------------- checks
def _rng(random_state: Any) -> np.random.Generator:
    """``None`` / int / ``Generator`` / ``RandomState`` → a fresh ``numpy.random.Generator``."""
    if random_state is None or isinstance(random_state, (int, np.integer)):
        if isinstance(random_state, bool):
            raise TypeError("random_state must be None, an int or a numpy Generator, got a bool.")
        if random_state is not None and random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, got {random_state}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        "random_state must be None, an int, a numpy.random.Generator or RandomState, got "
        f"{type(random_state).__name__} {random_state!r}."
    )


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be an int >= {minimum}, got {value!r} of type {type(value).__name__}."
        )
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _check_float(
    name: str,
    value: Any,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float within the given bounds (``TypeError`` if it is not a
    real number, ``ValueError`` if it is out of bounds or not finite)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok:
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}.")
    if ok:
        x = float(value)
        ok = math.isfinite(x)
        ok = ok and (x > low if low_open else x >= low)
        ok = ok and (x < high if high_open else x <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(
            f"{name} must be a finite number in {left}{low}, {high}{right}, got {value!r}."
        )
    return float(value)


# --------------------------------------------------------------------------- spiral
def make_spiral(
    n_points: int = 1000,
    *,
    noise: float = 0.1,
    n_turns: float = 1.0,
    random_state: Any = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved 2-D spirals, one per class.

    A point of class 0 at parameter ``s ~ U[0, 1]`` lies at radius ``r = 0.25 + s`` and angle
    ``2π n_turns s``; class 1 is class 0 rotated by π. Isotropic Gaussian noise of standard
    deviation ``noise`` is added to both coordinates. Rows are shuffled.

    Neighbouring arms of the two classes are ``0.5 / n_turns`` apart (the classes also start 0.5
    apart, at ``(±0.25, 0)``); with the defaults that is 5 noise standard deviations and the Bayes
    accuracy is about 99%.

    Parameters
    ----------
    n_points : int, default 1000
        Total number of points; classes get ``n_points // 2`` and ``n_points - n_points // 2``.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise on each coordinate.
    n_turns : float, default 1.0
        Number of turns of each arm.
    random_state : None, int or numpy Generator
        Seed for reproducible data.

    Returns
    -------
    X : Tensor, float32, shape (n_points, 2)
    y : Tensor, int64, shape (n_points,)
        Class labels in {0, 1}.
    """
    n_points = _check_int("n_points", n_points, 2)
    noise = _check_float("noise", noise, low=0.0)
    n_turns = _check_float("n_turns", n_turns, low=0.0, low_open=True)
    rng = _rng(random_state)
    labels = np.zeros(n_points, dtype=np.int64)
    labels[n_points // 2 :] = 1
    s = rng.uniform(0.0, 1.0, size=n_points)
    radius = 0.25 + s
    angle = 2.0 * math.pi * n_turns * s + math.pi * labels
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    points += noise * rng.standard_normal(points.shape)
    order = rng.permutation(n_points)
    import torch

    X = torch.as_tensor(points[order], dtype=torch.float32)
    y = torch.as_tensor(labels[order], dtype=torch.int64)
    return X, y


# --------------------------------------------------------------------------- periodic
class PeriodicData(NamedTuple):
    """Irregularly observed periodic series (output of :func:`make_periodic`).

    Attributes
    ----------
    times : Tensor, float32, shape (T,)
        Shared sorted time grid; ``times[0] == 0``.
    values : Tensor, float32, shape (N, T, 1)
        Noisy values at every grid time (use together with ``mask``).
    truth : Tensor, float32, shape (N, T, 1)
        Noise-free values.
    mask : Tensor, float32, shape (N, T, 1)
        1 where the value is observed, 0 where it is hidden.
    """

    times: torch.Tensor
    values: torch.Tensor
    truth: torch.Tensor
    mask: torch.Tensor


def _strictly_increasing_float32(times: np.ndarray) -> np.ndarray:
    """Sorted ``times`` rounded to float32, each tie moved up to the next float32 (a dense
    grid of uniform draws can round to equal float32 times, which ODE solvers refuse)."""
    out = times.astype(np.float32)
    for i in np.flatnonzero(np.diff(out) <= 0) + 1:  # rare; a move can create the next tie
        for j in range(i, len(out)):
            if out[j] > out[j - 1]:
                break
            out[j] = np.nextafter(out[j - 1], np.float32(np.inf))
    return out


def make_periodic(
    n_series: int = 1000,
    *,
    n_points: int = 100,
    t_max: float = 5.0,
    observed_fraction: float = 0.3,
    noise: float = 0.01,
    freq_range: tuple[float, float] = (0.4, 0.8),
    amplitude: float = 1.0,
    random_state: Any = None,
) -> PeriodicData:
    """Irregularly sampled noisy sinusoids (the toy set of Rubanova et al., 2019).

    The time grid is ``0`` plus ``n_points - 1`` points drawn uniformly on ``[0, t_max]``, sorted
    and shared by all series. Series ``i`` is
    ``truth[i, t] = amplitude * sin(2π f_i t + φ_i)`` with ``f_i ~ U[freq_range]`` and
    ``φ_i ~ U[0, 2π)``; ``values = truth + noise * N(0, 1)``. Each series observes its own random
    subset of ``max(2, round(observed_fraction * n_points))`` grid points.

    Parameters
    ----------
    n_series : int, default 1000
    n_points : int, default 100
        Grid size T (at least 2).
    t_max : float, default 5.0
    observed_fraction : float in (0, 1], default 0.3
        Share of grid points observed per series (at least 2 points are always observed).
    noise : float, default 0.01
        Standard deviation of the observation noise.
    freq_range : (float, float), default (0.4, 0.8)
        Range of the frequency in cycles per time unit.
    amplitude : float, default 1.0
    random_state : None, int or numpy Generator

    Returns
    -------
    PeriodicData
        ``times (T,)``, ``values (N, T, 1)``, ``truth (N, T, 1)``, ``mask (N, T, 1)``, all
        float32 tensors.
    """
    n_series = _check_int("n_series", n_series, 1)
    n_points = _check_int("n_points", n_points, 2)
    t_max = _check_float("t_max", t_max, low=0.0, low_open=True)
    observed_fraction = _check_float(
        "observed_fraction", observed_fraction, low=0.0, high=1.0, low_open=True
    )
    noise = _check_float("noise", noise, low=0.0)
    amplitude = _check_float("amplitude", amplitude)
    try:
        f_lo, f_hi = (float(f) for f in freq_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"freq_range must be a pair (low, high) of numbers, got {freq_range!r}."
        ) from None
    if not (0 <= f_lo <= f_hi and math.isfinite(f_hi)):
        raise ValueError(f"freq_range must satisfy 0 <= low <= high < inf, got {freq_range!r}.")
    rng = _rng(random_state)

    times = np.sort(np.concatenate([[0.0], rng.uniform(0.0, t_max, size=n_points - 1)]))
    if (np.diff(times.astype(np.float32)) <= 0).any():  # ties once rounded to float32
        times = _strictly_increasing_float32(times).astype(np.float64)
    freq = rng.uniform(f_lo, f_hi, size=(n_series, 1))
    phase = rng.uniform(0.0, 2.0 * math.pi, size=(n_series, 1))
    truth = amplitude * np.sin(2.0 * math.pi * freq * times[None, :] + phase)
    values = truth + noise * rng.standard_normal(truth.shape)

    n_obs = min(n_points, max(2, int(round(observed_fraction * n_points))))
    keys = rng.random((n_series, n_points))
    chosen = np.argpartition(keys, n_obs - 1, axis=1)[:, :n_obs]
    mask = np.zeros((n_series, n_points))
    np.put_along_axis(mask, chosen, 1.0, axis=1)

    import torch

    as_t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return PeriodicData(
        times=as_t(times),
        values=as_t(values[..., None]),
        truth=as_t(truth[..., None]),
        mask=as_t(mask[..., None]),
    )


# --------------------------------------------------------------------------- GBM / OU
def _business_days(n_days: int, start: Any) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """Business-day index and the year fractions between consecutive days, shape (n_days - 1,)."""
    try:
        index = pd.bdate_range(start=pd.Timestamp(start), periods=n_days, name="Date")
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"start must be a date such as '2015-01-02' or a pd.Timestamp, got {start!r} ({error})."
        ) from error
    dt = np.asarray((index[1:] - index[:-1]) / pd.Timedelta(days=1), dtype=np.float64)
    dt = dt / _DAYS_PER_YEAR
    return index, dt


def _drop_rows(frame: pd.DataFrame, drop_fraction: float, rng: np.random.Generator) -> pd.DataFrame:
    n_drop = int(round(drop_fraction * len(frame)))
    n_drop = min(n_drop, len(frame) - 2)
    if n_drop <= 0:
        return frame
    dropped = rng.choice(len(frame), size=n_drop, replace=False)
    keep = np.ones(len(frame), dtype=bool)
    keep[dropped] = False
    return frame.iloc[keep]


def _frame(paths: np.ndarray, index: pd.DatetimeIndex, params: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(paths, index=index, columns=[f"s{j}" for j in range(paths.shape[1])])
    frame.attrs.update(params)
    return frame


def make_gbm(
    n_series: int = 1,
    *,
    n_days: int = 500,
    mu: float = 0.05,
    sigma: float = 0.2,
    s0: float = 100.0,
    drop_fraction: float = 0.0,
    start: Any = "2015-01-02",
    random_state: Any = None,
) -> pd.DataFrame:
    """Geometric Brownian motion prices on business days, simulated exactly.

    ``dS = mu S dt + sigma S dW`` with ``t`` in years. Between consecutive business days the
    elapsed time is the calendar-day gap divided by 365.25 (so a weekend is a 3-day gap) and
    ``log S`` moves by ``(mu - sigma²/2) Δt + sigma sqrt(Δt) Z`` with ``Z ~ N(0, 1)``: there is
    no discretisation error. Rows dropped with ``drop_fraction`` vanish after simulation, so the
    remaining prices are still exact GBM at their (now irregular) timestamps.

    Parameters
    ----------
    n_series : int, default 1
        Independent paths (columns ``"s0"``, ``"s1"``, ...).
    n_days : int, default 500
        Business days simulated (before dropping), starting at ``start``.
    mu : float, default 0.05
        Annual drift of the price (``E[S_t] = s0 exp(mu t)``).
    sigma : float, default 0.2
        Annual volatility (standard deviation of log returns per sqrt(year)).
    s0 : float, default 100.0
        Price on the first day (positive).
    drop_fraction : float in [0, 1), default 0.0
        Share of rows removed at random (at least 2 rows are kept).
    start : date-like, default "2015-01-02"
    random_state : None, int or numpy Generator

    Returns
    -------
    DataFrame, shape (n_kept_days, n_series)
        Index a ``DatetimeIndex`` named ``"Date"``. The true parameters are in ``frame.attrs``.
    """
    n_series = _check_int("n_series", n_series, 1)
    n_days = _check_int("n_days", n_days, 2)
    mu = _check_float("mu", mu)
    sigma = _check_float("sigma", sigma, low=0.0)
    s0 = _check_float("s0", s0, low=0.0, low_open=True)
    drop_fraction = _check_float("drop_fraction", drop_fraction, low=0.0, high=1.0, high_open=True)
    rng = _rng(random_state)
    index, dt = _business_days(n_days, start)
    z = rng.standard_normal((n_days - 1, n_series))
    steps = (mu - 0.5 * sigma**2) * dt[:, None] + sigma * np.sqrt(dt)[:, None] * z
    log_growth = np.vstack([np.zeros((1, n_series)), np.cumsum(steps, axis=0)])
    params = {"model": "gbm", "mu": mu, "sigma": sigma, "s0": s0, "days_per_year": _DAYS_PER_YEAR}
    frame = _frame(s0 * np.exp(log_growth), index, params)
    return _drop_rows(frame, drop_fraction, rng)


def make_ou(
    n_series: int = 1,
    *,
    n_days: int = 500,
    theta: float = 5.0,
    mu: float = 0.0,
    sigma: float = 0.3,
    x0: float = 0.0,
    drop_fraction: float = 0.0,
    start: Any = "2015-01-02",
    random_state: Any = None,
) -> pd.DataFrame:
    """Ornstein-Uhlenbeck paths on business days, simulated with the exact transition.

    ``dX = theta (mu - X) dt + sigma dW`` with ``t`` in years (calendar-day gaps / 365.25). Over a
    gap ``Δt``: ``X' = mu + (X - mu) e^{-theta Δt} + sigma sqrt((1 - e^{-2 theta Δt}) / (2 theta)) Z``.
    The stationary law is ``N(mu, sigma² / (2 theta))``; the half-life of a deviation is
    ``ln 2 / theta`` years (about 51 calendar days with the default ``theta=5``).

    Parameters
    ----------
    n_series : int, default 1
    n_days : int, default 500
    theta : float, default 5.0
        Mean-reversion speed per year (positive).
    mu : float, default 0.0
        Long-run mean.
    sigma : float, default 0.3
        Diffusion per sqrt(year); stationary std is ``sigma / sqrt(2 theta)`` (≈0.095 by default).
    x0 : float, default 0.0
        Value on the first day.
    drop_fraction : float in [0, 1), default 0.0
        Share of rows removed at random (at least 2 rows are kept).
    start : date-like, default "2015-01-02"
    random_state : None, int or numpy Generator

    Returns
    -------
    DataFrame, shape (n_kept_days, n_series)
        Columns ``"s0"``, ``"s1"``, ...; index a ``DatetimeIndex`` named ``"Date"``; the true
        parameters are in ``frame.attrs``.
    """
    n_series = _check_int("n_series", n_series, 1)
    n_days = _check_int("n_days", n_days, 2)
    theta = _check_float("theta", theta, low=0.0, low_open=True)
    mu = _check_float("mu", mu)
    sigma = _check_float("sigma", sigma, low=0.0)
    x0 = _check_float("x0", x0)
    drop_fraction = _check_float("drop_fraction", drop_fraction, low=0.0, high=1.0, high_open=True)
    rng = _rng(random_state)
    index, dt = _business_days(n_days, start)
    decay = np.exp(-theta * dt)
    scale = sigma * np.sqrt(-np.expm1(-2.0 * theta * dt) / (2.0 * theta))
    z = rng.standard_normal((n_days - 1, n_series))
    paths = np.empty((n_days, n_series))
    paths[0] = x0
    for k in range(n_days - 1):
        paths[k + 1] = mu + (paths[k] - mu) * decay[k] + scale[k] * z[k]
    params = {
        "model": "ou",
        "theta": theta,
        "mu": mu,
        "sigma": sigma,
        "x0": x0,
        "stationary_std": sigma / math.sqrt(2.0 * theta),
        "days_per_year": _DAYS_PER_YEAR,
    }
    frame = _frame(paths, index, params)
    return _drop_rows(frame, drop_fraction, rng)
