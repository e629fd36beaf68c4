"""Naive/Drift: observed changes are measured in the unit of the forecast steps.

A forecast step is a session of ``calendar`` (or, with ``calendar=None`` or intraday data, one
observed spacing), so the volatility (and Drift's drift) is estimated per such step whatever
the sampling of the history: weekly, monthly or thinned data give per-session estimates.
"""

from __future__ import annotations

import functools
import json
import warnings

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsnode.baselines import DriftForecaster, NaiveForecaster
from tsnode.calendar import get_calendar
from tsnode.data import load_sample

N_ROWS = 5000
SIGMA = 0.02  # per step


@functools.cache
def _index(kind: str) -> pd.DatetimeIndex:
    if kind == "sessions":  # daily, on NYSE sessions
        cal = get_calendar("XNYS", start=pd.Timestamp("2000-01-03"), end=pd.Timestamp("2022-12-30"))
        sessions = cal.sessions[cal.sessions >= "2000-01-03"]
        return pd.DatetimeIndex(sessions[:N_ROWS], name="Date")
    if kind == "days":  # every calendar day
        return pd.date_range("2000-01-01", periods=N_ROWS, freq="D", name="Date")
    return pd.date_range("2024-01-02 09:30", periods=N_ROWS, freq="5min", name="Date")


@functools.cache
def _path(kind: str, log: bool) -> pd.Series:
    """A random walk with one increment per row (log prices for Naive, prices for Drift)."""
    rng = np.random.default_rng(7)
    if log:
        moves = 0.0003 + SIGMA * rng.standard_normal(N_ROWS - 1)
        values = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(moves)]))
    else:
        moves = 0.05 + 1.5 * rng.standard_normal(N_ROWS - 1)
        values = 500.0 + np.concatenate([[0.0], np.cumsum(moves)])
    return pd.Series(values, index=_index(kind), name="p")


def _thin(y: pd.Series, fraction: float, seed: int) -> pd.Series:
    """Drop ``fraction`` of the rows at random, keeping the first and the last."""
    keep = np.random.default_rng(seed).random(len(y)) >= fraction
    keep[[0, -1]] = True
    return y[keep]


# ---------------------------------------------------------------------------- k_i = 1
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 300))
@settings(max_examples=30, deadline=None, derandomize=True)
def test_consecutive_sessions_give_the_old_estimates_exactly(seed, n):
    """On a daily series of consecutive NYSE sessions every change spans one step, and the
    estimates are bit for bit the previous per-observation formulas."""
    rng = np.random.default_rng(seed)
    idx = _index("sessions")[:n]
    y = pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n))), index=idx, name="p")
    naive = NaiveForecaster().fit(y)
    np.testing.assert_array_equal(naive.sigma_, [np.std(np.diff(np.log(y.to_numpy())), ddof=1)])
    drift = DriftForecaster().fit(y)
    values = y.to_numpy()
    old_drift = (values[-1] - values[0]) / (len(values) - 1)
    np.testing.assert_array_equal(drift.drift_, [old_drift])
    np.testing.assert_array_equal(drift.sigma_, [np.std(np.diff(values) - old_drift, ddof=1)])


# ---------------------------------------------------------------------------- weekly data
@pytest.fixture(scope="module")
def weekly() -> pd.DataFrame:
    return load_sample("AAPL").resample("W-FRI").last()


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
def test_weekly_data_one_week_ahead_matches_calendar_none(cls, weekly):
    """Weekly changes span 5 sessions: the XNYS forecast a week ahead (5 sessions of
    per-session volatility) is that of calendar=None (1 week of per-week volatility). It was
    sqrt(5) wider (Naive), and Drift's drift was per week but applied per session."""
    week = pd.DatetimeIndex(["2013-03-08"])
    sessions = cls(calendar="XNYS").fit(weekly).predict_interval(week, coverage=0.8)
    spacing = cls(calendar=None).fit(weekly).predict_interval(week, coverage=0.8)
    np.testing.assert_allclose(sessions.to_numpy(), spacing.to_numpy(), rtol=0.01)
    width = np.diff(sessions.to_numpy(), axis=1)
    np.testing.assert_allclose(width, np.diff(spacing.to_numpy(), axis=1), rtol=0.05)


def test_weekly_drift_is_per_session(weekly):
    close = weekly["AAPL"].dropna()
    sessions = get_calendar("XNYS", start=close.index[0], end=close.index[-1]).sessions
    spanned = ((sessions > close.index[0]) & (sessions <= close.index[-1])).sum()
    f = DriftForecaster().fit(weekly)
    np.testing.assert_allclose(f.drift_, [(close.iloc[-1] - close.iloc[0]) / spanned])


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
def test_a_series_that_stopped_early_missed_steps_in_the_same_unit(cls, weekly):
    """A series whose last observation is weeks before the frame's end is forecast as if
    fitted alone: its missed steps are the sessions since its last observation, not rows."""
    close = weekly["AAPL"].dropna()
    frame = pd.DataFrame({"A": close, "B": close.where(close.index < close.index[-3])})
    times = pd.DatetimeIndex(["2013-03-08", "2013-03-15"])
    both = cls().fit(frame).predict_quantiles(times, quantiles=(0.1, 0.9))
    alone = cls().fit(frame[["B"]].dropna()).predict_quantiles(times, quantiles=(0.1, 0.9))
    np.testing.assert_allclose(both["B"].to_numpy(), alone["B"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
def test_a_trailing_non_session_row_is_no_missed_step(cls):
    """Regression: a NaN Saturday row (or a crypto column's weekend rows) after a Friday
    close counted as one missed session, so Monday was forecast two steps ahead."""
    from tsnode.datasets import make_gbm

    y = make_gbm(1, n_days=200, random_state=0).loc[:"2015-10-02"]  # ends on a Friday
    monday = pd.DatetimeIndex(["2015-10-05", "2015-10-06"])
    expected = cls().fit(y).predict_quantiles(monday, quantiles=(0.1, 0.9))
    weekend = pd.DatetimeIndex(["2015-10-03", "2015-10-04"], name=y.index.name)
    nan_rows = pd.concat([y, pd.DataFrame(np.nan, index=weekend, columns=y.columns)])
    got = cls().fit(nan_rows).predict_quantiles(monday, quantiles=(0.1, 0.9))
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)
    crypto = nan_rows.assign(BTC=np.linspace(100.0, 130.0, len(nan_rows)))
    got = cls().fit(crypto).predict_quantiles(monday, quantiles=(0.1, 0.9))
    column = y.columns[0]
    np.testing.assert_allclose(got[column].to_numpy(), expected[column].to_numpy(), rtol=1e-12)


def test_tz_aware_weekly_data_counts_the_same_steps(weekly):
    naive = NaiveForecaster().fit(weekly)
    aware = NaiveForecaster().fit(weekly.tz_localize("America/New_York"))
    np.testing.assert_allclose(aware.sigma_, naive.sigma_, rtol=1e-12)


# ---------------------------------------------------------------------------- thinned data
@pytest.mark.parametrize(
    ("kind", "calendar"), [("sessions", "XNYS"), ("days", None), ("minutes", "XNYS")]
)
@given(fraction=st.floats(0.1, 0.4), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=15, deadline=None, derandomize=True)
def test_thinning_leaves_naive_sigma_unbiased(kind, calendar, fraction, seed):
    """Dropping rows at random keeps the per-step volatility (it grew by 1/sqrt(1 - fraction),
    +20% for 30% dropped, when steps were observations). Intraday data count steps of the
    observed spacing, which stays 5 minutes while under half the rows are dropped."""
    y = _path(kind, log=True)
    full = NaiveForecaster(calendar=calendar).fit(y).sigma_[0]
    thinned = NaiveForecaster(calendar=calendar).fit(_thin(y, fraction, seed)).sigma_[0]
    assert abs(thinned / full - 1.0) < 0.05


@given(fraction=st.floats(0.1, 0.6), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=15, deadline=None, derandomize=True)
def test_thinning_leaves_drift_per_session_unchanged(fraction, seed):
    """With the first and last observation kept, the drift per session is the same (the
    thinned changes span all the sessions between them); the volatility stays unbiased."""
    y = _path("sessions", log=False)
    full = DriftForecaster().fit(y)
    thinned = DriftForecaster().fit(_thin(y, fraction, seed))
    np.testing.assert_allclose(thinned.drift_, full.drift_, rtol=1e-9)
    assert abs(thinned.sigma_[0] / full.sigma_[0] - 1.0) < 0.05


def test_a_calendar_instance_shorter_than_the_history_falls_back_to_its_exchange():
    # xcals.get_calendar("XNYS") starts 20 years back; the shipped samples start in 2000
    with warnings.catch_warnings():  # pandas deprecations inside exchange-calendars
        warnings.simplefilter("ignore")
        cal = xcals.get_calendar("XNYS", start="2010-01-04", end="2030-12-31")
    y = _path("sessions", log=True)  # from 2000
    by_instance = NaiveForecaster(calendar=cal).fit(y)
    by_name = NaiveForecaster(calendar="XNYS").fit(y)
    np.testing.assert_array_equal(by_instance.sigma_, by_name.sigma_)
    pd.testing.assert_frame_equal(by_instance.predict_interval(3), by_name.predict_interval(3))


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
def test_update_with_another_spacing_keeps_the_fit_time_step(cls, tmp_path):
    # regression: with calendar=None the step was re-derived from the whole history, so 40
    # rows 3 days apart made "3 days ahead" 1 step instead of 3 (intervals sqrt(3) too narrow,
    # Drift's drift applied once), while sigma_ and drift_ stay per fit-time step
    rng = np.random.default_rng(0)
    daily = pd.date_range("2024-01-01", periods=20, freq="D")
    sparse = pd.date_range(daily[-1] + pd.Timedelta(days=3), periods=40, freq="3D")
    values = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 60)))
    y = pd.Series(values, index=daily.append(sparse), name="x")
    model = cls(calendar=None).fit(y.iloc[:20]).update(y.iloc[20:])
    ahead = pd.DatetimeIndex([sparse[-1] + pd.Timedelta(days=3)])
    np.testing.assert_array_equal(model._steps(ahead), [[3.0]])
    assert model.spacing_ == pd.Timedelta(days=1)
    expected = model.predict_quantiles(ahead)
    loaded = cls.load(model.save(tmp_path / "m"))
    assert loaded.spacing_ == model.spacing_
    pd.testing.assert_frame_equal(loaded.predict_quantiles(ahead), expected)
    # a save from before spacing_ was stored loads and uses the history's spacing, as it did
    config = tmp_path / "m" / "config.json"
    text = json.loads(config.read_text())
    del text["spacing_ns"]
    config.write_text(json.dumps(text))
    old = cls.load(tmp_path / "m")
    assert not hasattr(old, "spacing_")
    np.testing.assert_array_equal(old._steps(ahead), [[1.0]])
