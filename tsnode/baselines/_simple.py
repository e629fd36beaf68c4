"""Closed-form baselines: random walk (Naive), random walk with drift, and GBM.

Each baseline describes the forecast of every series at every future step as a Gaussian with a
location and a scale, either on prices (Drift) or on log prices (Naive, GBM). Quantiles are then
exact (no sampling noise) and sample paths have independent Gaussian increments whose
cumulative variance matches those marginals.

A step (Naive, Drift) is one trading session of ``calendar`` for daily or sparser data, or,
with ``calendar=None`` or intraday data, one observed spacing (the median positive difference
of the fitted timestamps) of elapsed time. The fit and the forecast use this one unit: each
observed change spans ``k`` steps (the sessions in ``(date of the previous observation, date
of the observation]``, at least 1, or the elapsed spacings), and the volatility (and Drift's
drift) are estimated per step with a change over ``k`` steps carrying ``k`` times the one-step
variance. So weekly, monthly or gappy data give per-session estimates, and a daily series on
consecutive sessions (every ``k = 1``) gives the plain per-observation estimates.

Steps are counted from each series' own last observation: a series that stopped before the
end of the fitted frame has missed the steps from its last observation to the frame's last
timestamp. The ``i``-th forecast time (1-based) is a further ``max(i, s)`` steps ahead, where
``s`` counts the steps from the frame's last timestamp to it (a time before the next session
counts as that session). So consecutive requested times are consecutive steps (an int
horizon, or a backtest's next rows even when they include non-session days), and an explicit
DatetimeIndex horizon a year ahead gets a year's spread and drift (Naive, Drift); GBM counts
calendar time.

Every baseline saves without pickle (``save(path)`` / ``load(path)``): the fitted arrays and
the history go to ``data.safetensors``, parameters and index metadata to ``config.json``
(see :mod:`tsnode._forecaster_io`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from exchange_calendars import ExchangeCalendar
from scipy.special import ndtri

from tsnode._baseline_io import load_baseline, save_baseline
from tsnode._validation import check_positive
from tsnode.base import _LIVE_PARAMS, BaseForecaster
from tsnode.calendar import check_calendar, get_calendar

__all__ = ["DriftForecaster", "GBMForecaster", "NaiveForecaster"]

_DAYS_PER_YEAR = 365.25
_DAY = pd.Timedelta(days=1)
_B = TypeVar("_B", bound="_GaussianBaseline")


def _last_observed_values(frame: pd.DataFrame) -> np.ndarray:
    """Last non-NaN value of each column (NaN if none), shape (n_series,)."""
    return np.array(
        [
            col.loc[col.last_valid_index()] if col.notna().any() else np.nan
            for _, col in frame.items()
        ],
        dtype=np.float64,
    )


def _observed_spacing(observed: pd.DatetimeIndex) -> pd.Timedelta:
    """Median positive difference (absolute time) of the fitted timestamps ``observed``."""
    diffs = np.diff(np.asarray(observed.asi8, dtype=np.int64))
    return pd.Timedelta(int(np.median(diffs[diffs > 0])), unit=observed.unit)


def _steps_between(
    start: pd.DatetimeIndex,
    end: pd.DatetimeIndex,
    spacing: pd.Timedelta,
    calendar: str | ExchangeCalendar | None,
    *,
    minimum: int = 1,
) -> np.ndarray:
    """Steps from each ``start[i]`` to ``end[i]`` (after it), shape (len(start),).

    The one definition of a step, shared by the fit (the length of each observed change) and
    the forecast (how far ahead each requested time is). With a calendar and daily (or
    sparser) data (``spacing`` of a day or more): the trading sessions in ``(date of start,
    date of end]``, at least ``minimum`` (default 1: a time before the next session counts as
    that session; 0 counts sessions only, for the steps a series missed). With
    ``calendar=None`` or intraday data: the elapsed time in units of ``spacing`` (the observed
    spacing, see :func:`_observed_spacing`), which may be fractional; intraday time is
    absolute, daily time is measured on the wall clock. One calendar lookup for all pairs.

    Parameters
    ----------
    start, end : DatetimeIndex of the same length and time zone
        The pairs of times; ``end[i] > start[i]``.
    spacing : Timedelta
        The observed spacing of the fitted index.
    calendar : str, ExchangeCalendar or None
        The forecaster's calendar.

    Returns
    -------
    ndarray of float64, shape (len(start),)

    Raises
    ------
    ValueError
        If the calendar cannot cover the dates (see :func:`tsnode.calendar.get_calendar`).
    """
    if len(start) == 0:
        return np.empty(0, dtype=np.float64)
    if spacing < _DAY:  # intraday steps are counted in absolute time
        return np.asarray((end - start) / spacing, dtype=np.float64)
    if start.tz is not None:  # daily steps on the wall clock of ``start``
        end = end.tz_convert(start.tz).tz_localize(None)
        start = start.tz_localize(None)
    if calendar is None:
        return np.asarray((end - start) / spacing, dtype=np.float64)
    # midnight of each date, as numpy (DatetimeIndex.normalize infers a freq: slow)
    first = start.to_numpy().astype("datetime64[D]")  # day units: no overflow before 1677
    days = end.to_numpy().astype("datetime64[D]")
    lo, hi = pd.Timestamp(first.min()), pd.Timestamp(days.max())
    try:
        cal = get_calendar(calendar, start=lo, end=hi)
    except ValueError:
        if not isinstance(calendar, ExchangeCalendar):
            raise
        # an instance built for a shorter range: the same exchange, by name, covers it
        cal = get_calendar(calendar.name, start=lo, end=hi)
    sessions = cal.sessions.tz_localize(None) if cal.sessions.tz is not None else cal.sessions
    sessions = sessions.to_numpy().astype("datetime64[D]")
    before = np.searchsorted(sessions, first, side="right")
    upto = np.searchsorted(sessions, days, side="right")
    return np.maximum(upto - before, minimum).astype(np.float64)


def _step_scale(changes: np.ndarray, steps: np.ndarray) -> float:
    """Per-step standard deviation of ``changes`` spanning ``steps`` steps each (ddof=1).

    ``sqrt(sum((c_i - m k_i)^2 / k_i) / (n - 1))`` with ``m = sum(c) / sum(k)``: the Gaussian
    random walk estimate in which a change over ``k`` steps has ``k`` times the one-step
    variance. With every ``k_i = 1`` it is computed exactly as ``np.std(changes, ddof=1)``.
    """
    resid = changes - (changes.sum() / steps.sum()) * steps
    return float(np.sqrt(np.sum(resid**2 / steps) / (len(changes) - 1)))


class _GaussianBaseline(BaseForecaster):
    """Shared machinery: subclasses provide ``_marginal(index) -> (loc, scale)``.

    ``_fitted_arrays`` names the float64 arrays of shape (n_series,) that ``_fit`` sets; with
    the state :meth:`BaseForecaster.fit` derives from the history, they are the whole fitted
    state, which :meth:`save` writes and :meth:`load` restores.
    """

    _log_space: bool = False
    _fitted_arrays: tuple[str, ...] = ("last_value_", "sigma_")

    def _min_observations(self) -> int:
        return 3

    def _check_params(self) -> None:
        """Refuse a bad ``random_state`` (a Generator is not drawn from) or calendar name at
        fit, not only later in ``sample`` or ``predict``."""
        self._rng()
        check_calendar(self.calendar)

    def _marginal(self, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """Location and scale, each of shape (n_steps, n_series), of the Gaussian forecast."""
        raise NotImplementedError

    def _steps(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Steps since each series' last observation, shape (n_steps, n_series), > 0."""
        # The fit-time spacing, the unit sigma_ and drift_ are per step of (rows added by
        # update must not change it); a save from before it was stored: the history's.
        spacing = getattr(self, "spacing_", None) or _observed_spacing(self.index_)
        calendar = self._fitted_param("calendar")  # the unit sigma_ was estimated in
        # Steps a series missed: from its last observation to the end of the fitted frame.
        last = pd.DatetimeIndex(self.series_last_timestamp_)
        behind = np.asarray(last < self.last_timestamp_)
        missed = np.zeros(len(last), dtype=np.float64)
        end = pd.DatetimeIndex([self.last_timestamp_])
        # Sessions only: a trailing non-session row (a NaN Saturday) is no missed step.
        missed[behind] = _steps_between(
            last[behind], end.repeat(int(behind.sum())), spacing, calendar, minimum=0
        )
        # At least the position in the horizon (consecutive requested times are consecutive
        # steps, e.g. a backtest's next rows), and at least the sessions (or observed
        # spacings) elapsed (a time far ahead is that many steps ahead).
        position = np.arange(1, len(index) + 1, dtype=np.float64)
        elapsed = _steps_between(end.repeat(len(index)), index, spacing, calendar)
        return np.maximum(position, elapsed)[:, None] + missed[None, :]

    def _observed_changes(self, frame: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
        """Observed values of each series and the steps each change between them spans.

        For every series (its non-NaN values ``v``, shape (n,)) a pair ``(v, k)`` with ``k`` of
        shape (n - 1,): ``k[i]`` counts the steps from the ``i``-th observation to the next in
        the unit of the forecast steps (:func:`_steps_between`; all 1 for a daily series on
        consecutive sessions). Records that unit's observed spacing as ``spacing_``.
        """
        check_calendar(self.calendar)  # an unknown name is not a range problem
        spacing = self.spacing_ = _observed_spacing(frame.index)  # the unit of the steps
        out = []
        for _, col in frame.items():
            col = col.dropna()
            try:
                k = _steps_between(col.index[:-1], col.index[1:], spacing, self.calendar)
            except ValueError as error:
                raise ValueError(
                    f"{type(self).__name__} counts the steps between observations in sessions "
                    f"of calendar={self.calendar!r}, which cannot cover the fitted history "
                    f"({col.index[0].date()} to {col.index[-1].date()})"
                    + (
                        ". Pass the calendar by name (e.g. 'XNYS'), fit"
                        if isinstance(self.calendar, ExchangeCalendar)
                        else f" ({error}). Fit"
                    )
                    + " a history the calendar covers, or use calendar=None to count steps "
                    "in the observed spacing."
                ) from error
            out.append((col.to_numpy(), k))
        return out

    def _to_prices(self, moves: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Prices from moves relative to ``last`` (broadcastable). In log space
        ``last * exp(move)``, so a zero move is exactly the last value (``exp(log(last))``
        is off by rounding)."""
        return last * np.exp(moves) if self._log_space else last + moves

    def _moves(self, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """Location relative to the last value and scale, each (n_steps, n_series)."""
        loc, scale = self._marginal(index)
        origin = np.log(self.last_value_) if self._log_space else self.last_value_
        return loc - origin, scale

    def _predict_quantiles(
        self, index: pd.DatetimeIndex, quantiles: tuple[float, ...]
    ) -> np.ndarray:
        move, scale = self._moves(index)
        z = ndtri(np.asarray(quantiles, dtype=np.float64))
        # (n_steps, n_series, n_quantiles)
        return self._to_prices(move[..., None] + scale[..., None] * z, self.last_value_[:, None])

    def _sample(self, index: pd.DatetimeIndex, n_samples: int) -> np.ndarray:
        move, scale = self._moves(index)
        variance = scale**2
        increments = np.sqrt(np.clip(np.diff(variance, axis=0, prepend=0.0), 0.0, None))
        noise = self._rng().standard_normal((n_samples, *move.shape))
        # (n_samples, n_steps, n_series)
        return self._to_prices(move + np.cumsum(noise * increments, axis=1), self.last_value_)

    def _update(self, frame: pd.DataFrame) -> None:
        if self._log_space:
            check_positive(frame)
        new = _last_observed_values(frame)
        self.last_value_ = np.where(np.isnan(new), self.last_value_, new)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Save the fitted forecaster to the directory ``path`` (created if needed).

        Writes ``data.safetensors`` (the fitted arrays such as ``last_value_`` and ``sigma_``,
        and the history with its UTC nanosecond timestamps) and ``config.json`` (class name,
        parameters, index metadata, tsnode version). No pickle is involved. An existing save in
        ``path`` is overwritten. A numpy Generator ``random_state`` is saved as None (its
        state is not a parameter); an int is kept, so samples stay reproducible.

        Parameters
        ----------
        path : str or PathLike
            The directory.

        Returns
        -------
        Path
            The directory.

        Raises
        ------
        NotFittedError
            If the forecaster is not fitted (nothing is written).
        SerializationError
            If ``calendar`` is an ExchangeCalendar instance rather than a name,
            ``random_state`` is neither an int, None nor a Generator, a parameter frozen by
            ``fit`` was changed since (set it back or refit), or ``path`` is a file or holds
            files that are not a tsnode save; nothing is written.
        TypeError
            If ``path`` is not a str or PathLike (ValueError if it is empty).
        """
        return save_baseline(self, path, self._fitted_arrays)

    @classmethod
    def load(cls: type[_B], path: str | os.PathLike) -> _B:
        """Load a forecaster saved with :meth:`save`; it forecasts, samples and updates exactly
        like the original.

        Parameters
        ----------
        path : str or PathLike
            The directory passed to :meth:`save`.

        Returns
        -------
        The fitted forecaster.

        Raises
        ------
        SerializationError
            If the directory is missing files, holds the save of another class, or its files
            are corrupted or tampered with.
        """
        return load_baseline(cls, path, cls._fitted_arrays)


class NaiveForecaster(_GaussianBaseline):
    """Random walk: the forecast is the last observed value of each series.

    Probabilistic forecast: zero-mean Gaussian log returns at the historical per-step volatility
    ``sigma_``. A step is a session of ``calendar`` (daily or sparser data) or, with
    ``calendar=None`` or intraday data, one observed spacing (see :mod:`tsnode.baselines._simple`).
    With ``r_i`` the log return between consecutive observations of the series, spanning
    ``k_i`` steps (1 between consecutive sessions, usually 5 between weekly closes), ``n`` of them,
    ``m = sum(r) / sum(k)`` and ``sigma^2 = sum((r_i - m k_i)^2 / k_i) / (n - 1)``: the sample
    variance (ddof=1) of the returns when every ``k_i = 1``. At step ``k`` after a series' last
    observation the quantile ``q`` is ``last * exp(sigma * sqrt(k) * z_q)``; the median is the
    last value. Prices must be > 0.

    Parameters
    ----------
    target : str, default "Close"
        Price field used from yfinance frames.
    calendar : str, ExchangeCalendar or None, default "XNYS"
        Calendar of integer horizons (``None`` continues the observed spacing) and the unit of
        a step of ``sigma_`` (and Drift's ``drift_``). Frozen by :meth:`fit`: a later
        ``set_params(calendar=...)`` warns at each forecast and blocks :meth:`save` until
        it is set back or the model refitted.
    random_state : int, numpy Generator or None, default None
        Seed of :meth:`sample`; an int gives identical samples at every call.

    Attributes
    ----------
    last_value_ : ndarray of shape (n_series,)
        Forecast origin of each series (moved forward by :meth:`update`).
    sigma_ : ndarray of shape (n_series,)
        Log-return volatility per step (per session with a calendar; kept fixed by
        :meth:`update`).
    spacing_ : Timedelta
        Median spacing of the fitted timestamps: the step with ``calendar=None`` (and for
        intraday data), kept fixed by :meth:`update` like ``sigma_``.
    """

    _log_space = True

    # sigma_ (and drift_) are per step of the fit-time calendar: changing it refits
    _live_params = _LIVE_PARAMS - {"calendar"}

    def __init__(
        self,
        *,
        target: str = "Close",
        calendar: str | ExchangeCalendar | None = "XNYS",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.target = target
        self.calendar = calendar
        self.random_state = random_state

    def _fit(self, frame: pd.DataFrame) -> None:
        self._check_params()
        check_positive(frame)
        self.last_value_ = _last_observed_values(frame)
        self.sigma_ = np.array(
            [_step_scale(np.diff(np.log(v)), k) for v, k in self._observed_changes(frame)]
        )

    def _marginal(self, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        k = self._steps(index)
        loc = np.broadcast_to(np.log(self.last_value_), k.shape)
        return loc, self.sigma_ * np.sqrt(k)


class DriftForecaster(_GaussianBaseline):
    """Random walk with drift: last value plus ``k`` times the average per-step change.

    Steps are those of :class:`NaiveForecaster` (sessions of ``calendar``, or observed
    spacings). With ``d_i`` the change between consecutive observations of a series, spanning
    ``k_i`` steps, ``n`` of them, the drift is ``(last - first) / sum(k)`` and
    ``sigma^2 = sum((d_i - drift k_i)^2 / k_i) / (n - 1)``; when every ``k_i = 1`` (a daily
    series on consecutive sessions) these are ``(last - first) / n`` and the sample variance
    of the changes around the drift. The forecast at step ``k`` is Gaussian with mean
    ``last + k * drift`` and standard deviation ``sigma * sqrt(k)`` (the uncertainty of the
    drift estimate itself is ignored). A series linear in the steps is forecast with zero error.

    Parameters
    ----------
    target, calendar, random_state
        As in :class:`NaiveForecaster`.

    Attributes
    ----------
    last_value_ : ndarray of shape (n_series,)
        Forecast origin of each series (moved forward by :meth:`update`).
    drift_ : ndarray of shape (n_series,)
        Average change per step (kept fixed by :meth:`update`).
    sigma_ : ndarray of shape (n_series,)
        Standard deviation per step of the changes around ``drift_`` (kept fixed by
        :meth:`update`).
    spacing_ : Timedelta
        As in :class:`NaiveForecaster`.
    """

    _fitted_arrays = ("last_value_", "drift_", "sigma_")

    # sigma_ (and drift_) are per step of the fit-time calendar: changing it refits
    _live_params = _LIVE_PARAMS - {"calendar"}

    def __init__(
        self,
        *,
        target: str = "Close",
        calendar: str | ExchangeCalendar | None = "XNYS",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.target = target
        self.calendar = calendar
        self.random_state = random_state

    def _fit(self, frame: pd.DataFrame) -> None:
        self._check_params()
        self.last_value_ = _last_observed_values(frame)
        drift, sigma = [], []
        for values, k in self._observed_changes(frame):
            drift.append((values[-1] - values[0]) / k.sum())
            # the residuals' weighted mean is zero up to rounding: _step_scale removes it,
            # as np.std(changes - drift, ddof=1) did when every k is 1
            sigma.append(_step_scale(np.diff(values) - drift[-1] * k, k))
        self.drift_ = np.array(drift)
        self.sigma_ = np.array(sigma)

    def _marginal(self, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        k = self._steps(index)
        return self.last_value_ + k * self.drift_, self.sigma_ * np.sqrt(k)


class GBMForecaster(_GaussianBaseline):
    """Geometric Brownian motion fitted by maximum likelihood on irregular timestamps.

    With ``dt_i`` the time between consecutive observations in years (calendar days / 365.25),
    log returns are ``r_i ~ N((mu - sigma^2 / 2) dt_i, sigma^2 dt_i)``. The closed-form MLE is
    ``m = sum(r) / sum(dt)``, ``sigma^2 = mean((r_i - m dt_i)^2 / dt_i)`` and
    ``mu = m + sigma^2 / 2``. The forecast at a future timestamp is log-normal with the same law
    over ``dt`` = time since the series' last observation (calendar time: weekends and
    holidays count, consistently with the fit). Prices must be > 0.

    :meth:`update` moves the forecast origin (last value and time) and keeps ``mu_`` and
    ``sigma_``; refit to re-estimate them.

    Parameters
    ----------
    target, random_state
        As in :class:`NaiveForecaster`.
    calendar : str, ExchangeCalendar or None, default "XNYS"
        Calendar of integer horizons' timestamps (``None`` continues the observed spacing).
        Unlike Naive's and Drift's, it is read at every call, not frozen by :meth:`fit`:
        ``mu_`` and ``sigma_`` are per year of calendar time whatever the calendar, so
        ``set_params(calendar=...)`` after a fit only moves the forecast timestamps.

    Attributes
    ----------
    mu_ : ndarray of shape (n_series,)
        Annualised drift.
    sigma_ : ndarray of shape (n_series,)
        Annualised volatility.
    last_value_ : ndarray of shape (n_series,)
        Forecast origin of each series.
    """

    _log_space = True
    _fitted_arrays = ("last_value_", "mu_", "sigma_")

    def __init__(
        self,
        *,
        target: str = "Close",
        calendar: str | ExchangeCalendar | None = "XNYS",
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.target = target
        self.calendar = calendar
        self.random_state = random_state

    def _fit(self, frame: pd.DataFrame) -> None:
        self._check_params()
        check_positive(frame)
        self.last_value_ = _last_observed_values(frame)
        mu, sigma = [], []
        for _, col in frame.items():
            col = col.dropna()
            days = np.asarray((col.index - col.index[0]) / _DAY, dtype=np.float64)
            dt = np.diff(days) / _DAYS_PER_YEAR
            r = np.diff(np.log(col.to_numpy()))
            m = r.sum() / dt.sum()
            s2 = np.mean((r - m * dt) ** 2 / dt)
            mu.append(m + s2 / 2.0)
            sigma.append(np.sqrt(s2))
        self.mu_ = np.array(mu)
        self.sigma_ = np.array(sigma)

    def _marginal(self, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        days = np.stack(
            [np.asarray((index - t) / _DAY, dtype=np.float64) for t in self.series_last_timestamp_],
            axis=1,
        )
        dt = days / _DAYS_PER_YEAR
        m = self.mu_ - self.sigma_**2 / 2.0
        return np.log(self.last_value_) + m * dt, self.sigma_ * np.sqrt(dt)
