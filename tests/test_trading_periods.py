"""Annualisation of simulate's statistics: bars per year inferred from the bars traded.

Known answers: buy-and-hold on price paths with known log returns, weekly and daily.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tsnode._trading_inputs import infer_periods_per_year
from tsnode.data import load_sample
from tsnode.trading import simulate

WEEKLY = 365.25 / 7  # 52.18 bars per 365.25-day year


def _always_long(prices: pd.DataFrame) -> pd.DataFrame:
    """A forecasts table that is long at every cutoff (forecast 10% above the origin)."""
    rows = []
    for pos in range(len(prices) - 1):
        for name in prices.columns:
            origin = float(prices[name].iloc[pos])
            rows.append(
                {
                    "cutoff": prices.index[pos],
                    "series": name,
                    "step": 1,
                    "forecast": origin * 1.1,
                    "origin": origin,
                }
            )
    return pd.DataFrame(rows)


def _path(index: pd.DatetimeIndex, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Prices ``100 * exp(cumsum(log returns))`` on ``index`` and the log returns."""
    rng = np.random.default_rng(seed)
    log_returns = rng.normal(0.003, 0.03, size=len(index) - 1)
    values = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(log_returns)]))
    return pd.DataFrame({"A": values}, index=index), log_returns


def _hand_stats(log_returns: np.ndarray, periods_per_year: float) -> dict[str, float]:
    """Buy-and-hold without costs: flat over the first bar (the entry is at its close), then
    the price's simple returns."""
    r = np.concatenate([[0.0], np.expm1(log_returns[1:])])
    std = r.std(ddof=1)
    growth = math.exp(log_returns[1:].sum())
    return {
        "total_return": growth - 1.0,
        "cagr": growth ** (periods_per_year / r.size) - 1.0,
        "annual_volatility": std * math.sqrt(periods_per_year),
        "sharpe": r.mean() / std * math.sqrt(periods_per_year),
    }


def test_weekly_buy_and_hold_known_answers():
    # regression: 252 bars/year were assumed, so weekly prices got sqrt(252/52) = 2.2x the
    # volatility and Sharpe, and a CAGR compounded over 1/4.8 of the elapsed time
    prices, log_returns = _path(pd.date_range("2015-01-02", periods=157, freq="W-FRI"))
    sim = simulate(_always_long(prices), prices, cost_bps=0.0)
    assert sim.periods_per_year == pytest.approx(WEEKLY, rel=1e-12)
    assert sim.params["periods_per_year_inferred"] is True
    stats = sim.stats()
    assert stats.attrs["periods_per_year"] == sim.periods_per_year
    got = stats["buy_and_hold"]
    for name, value in _hand_stats(log_returns, WEEKLY).items():
        assert got[name] == pytest.approx(value, rel=1e-10), name
    # the same as the textbook 52 weeks a year, up to 52.18 / 52
    for name, value in _hand_stats(log_returns, 52.0).items():
        assert got[name] == pytest.approx(value, rel=5e-3), name
    # CAGR compounds over the elapsed calendar time: 156 weeks
    years = 156 * 7 / 365.25
    assert got["cagr"] == pytest.approx((1 + got["total_return"]) ** (1 / years) - 1, rel=1e-10)
    assert "52.18 bars/year" in repr(sim)


def test_explicit_periods_per_year_overrides():
    prices, log_returns = _path(pd.date_range("2015-01-02", periods=157, freq="W-FRI"))
    sim = simulate(_always_long(prices), prices, cost_bps=0.0, periods_per_year=52)
    assert sim.periods_per_year == 52.0
    assert sim.params["periods_per_year_inferred"] is False
    got = sim.stats()["buy_and_hold"]
    for name, value in _hand_stats(log_returns, 52.0).items():
        assert got[name] == pytest.approx(value, rel=1e-10), name


def test_daily_sessions_give_about_252():
    sessions = load_sample("AAPL").loc["2011-03-01":"2013-03-01"].index
    prices, log_returns = _path(pd.DatetimeIndex(sessions), seed=1)
    sim = simulate(_always_long(prices), prices, cost_bps=0.0)
    expected = (len(sessions) - 1) / ((sessions[-1] - sessions[0]).days / 365.25)
    assert sim.periods_per_year == pytest.approx(expected, rel=1e-12)
    assert sim.periods_per_year == pytest.approx(252.0, abs=1.5)
    got = sim.stats()["buy_and_hold"]
    for name, value in _hand_stats(log_returns, expected).items():
        assert got[name] == pytest.approx(value, rel=1e-10), name


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (pd.bdate_range("2020-01-01", periods=523), 5 * 365.25 / 7),  # Mon-Fri, no holidays
        (pd.date_range("2010-01-31", periods=61, freq="ME"), 12.0),
        (pd.date_range("2010-12-31", periods=11, freq="YE"), 1.0),
    ],
)
def test_other_bar_spacings(index, expected):
    prices, _ = _path(index)
    sim = simulate(_always_long(prices), prices, cost_bps=0.0)
    assert sim.periods_per_year == pytest.approx(expected, rel=2e-3)


def test_thinned_daily_data_counts_the_bars_traded():
    sessions = load_sample("AAPL").loc["2011-03-01":"2013-03-01"].index
    prices, _ = _path(pd.DatetimeIndex(sessions[::2]))  # every other session
    sim = simulate(_always_long(prices), prices, cost_bps=0.0)
    assert sim.periods_per_year == pytest.approx(126.0, abs=1.0)
    # rows kept as NaN are still bars: the prices are forward-filled over them
    gappy = pd.DataFrame({"A": np.nan}, index=pd.DatetimeIndex(sessions))
    gappy.loc[prices.index, "A"] = prices["A"]
    sim = simulate(_always_long(gappy.ffill()), gappy, cost_bps=0.0)
    assert sim.periods_per_year == pytest.approx(252.0, abs=1.5)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, ValueError),
        (-52.0, ValueError),
        (float("inf"), ValueError),
        (float("nan"), ValueError),
        ("52", TypeError),
        (True, TypeError),
    ],
)
def test_periods_per_year_validation(value, error):
    prices, _ = _path(pd.date_range("2015-01-02", periods=20, freq="W-FRI"))
    with pytest.raises(error, match="`periods_per_year`.*None"):
        simulate(_always_long(prices), prices, periods_per_year=value)


def test_inference_falls_back_to_252_with_a_warning():
    one = pd.DatetimeIndex(["2020-01-02"])
    with pytest.warns(UserWarning, match="cannot infer the bars per year") as record:
        assert infer_periods_per_year(one) == 252.0
    assert record[0].filename == __file__
    with pytest.warns(UserWarning, match="252"):
        assert infer_periods_per_year(pd.DatetimeIndex([])) == 252.0
    assert infer_periods_per_year(pd.date_range("2020-01-03", periods=3, freq="W-FRI")) == (
        pytest.approx(WEEKLY)
    )


def test_intraday_bars_count_bars_per_trading_date_not_per_calendar_minute():
    # one session of minute bars: 390 bars a day, 252 trading dates (it was 525,960 a year)
    day = pd.date_range("2024-03-11 09:30", "2024-03-11 15:59", freq="min", tz="America/New_York")
    assert infer_periods_per_year(day) == pytest.approx(390 * 252)
    # around the clock for 200 days: the dates per year come from the data (about 365)
    hourly = pd.date_range("2024-01-01", periods=24 * 200, freq="h")
    assert infer_periods_per_year(hourly) == pytest.approx(24 * 365.25, rel=0.01)


def test_a_few_daily_bars_assume_252_sessions_a_year():
    # four daily bars over a weekend span 6 calendar days: (4 - 1) / 6 days gave 183 a year
    bars = pd.DatetimeIndex(["2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12"])
    assert infer_periods_per_year(bars) == 252.0


def test_a_short_span_with_missing_sessions_counts_the_sessions_present():
    # regression: under 90 days 252 a year was assumed however many sessions were missing,
    # so 45 of 60 sessions gave 252 (annualised volatility and CAGR overstated)
    sessions = pd.bdate_range("2024-01-02", periods=60)
    kept = sessions[np.random.default_rng(0).permutation(60)[:45]].sort_values()
    kept = kept.union(sessions[[0, -1]])  # the same span
    assert infer_periods_per_year(kept) == pytest.approx(252 * len(kept) / 60 / 0.9)
    # every session: still 252
    assert infer_periods_per_year(sessions) == 252.0
    # hourly bars on every other session
    hourly = pd.DatetimeIndex(
        [
            h
            for d in sessions[::2]
            for h in pd.date_range(d + pd.Timedelta(hours=10), periods=6, freq="h")
        ]
    )
    # 30 sessions in 59 weekdays, 6 bars each
    assert infer_periods_per_year(hourly) == pytest.approx(6 * 252 * 30 / 59 / 0.9)


def test_a_short_span_of_complete_exchange_sessions_keeps_252():
    # review: holidays in a short window (4 of 45 weekdays around the year end) read as
    # missing sessions gave 240-244; a Saturday make-up session switched to calendar days
    # (272), and Tokyo sessions stored in UTC (opening 23:00 the day before) gave 304
    from tsnode.calendar import get_calendar

    nyse = get_calendar("XNYS", start="2023-01-01", end="2024-12-31")
    for start, end in [("2023-12-11", "2024-01-12"), ("2023-11-20", "2023-12-29")]:
        sessions = nyse.sessions_in_range(start, end).tz_localize(None)
        assert infer_periods_per_year(sessions) == 252.0
    weekdays = pd.bdate_range("2024-03-04", periods=60)
    saturday = weekdays.union(pd.DatetimeIndex(["2024-03-16"]))
    assert infer_periods_per_year(saturday) == 252.0
    tokyo = pd.DatetimeIndex(
        [
            h
            for d in pd.bdate_range("2024-03-04", periods=10)
            for h in pd.date_range(d - pd.Timedelta(hours=1), periods=12, freq="30min")
        ]
    )  # Sunday-Thursday 23:00 .. Monday-Friday 04:30 UTC
    assert infer_periods_per_year(tokyo) == pytest.approx(12 * 252)
    # review: New York sessions seen from Tokyo or Sydney end (or start) the next morning
    nyse_bars = pd.DatetimeIndex(
        [
            h
            for d in pd.bdate_range("2024-03-04", periods=30)
            for h in pd.date_range(d + pd.Timedelta(hours=9.5), periods=13, freq="30min")
        ]
    ).tz_localize("America/New_York")
    for zone in ("America/New_York", "Asia/Tokyo", "Australia/Sydney"):
        assert infer_periods_per_year(nyse_bars.tz_convert(zone)) == pytest.approx(13 * 252)
    # fuzz: a day shift across the clocks going back is a date, not 24 hours
    sydney = pd.DatetimeIndex(
        [
            h
            for d in pd.bdate_range("2017-11-06", periods=3)
            for h in pd.date_range(d + pd.Timedelta(hours=10), periods=6, freq="h")
        ]
    ).tz_localize("Australia/Sydney")
    assert infer_periods_per_year(sydney.tz_convert("America/New_York")) == pytest.approx(6 * 252)


def test_a_short_span_of_sessions_over_weekends_or_every_other_day_is_daily():
    # fuzz: a median spacing over 1.5 days (Friday and Monday; every other session) took
    # the weekly path, (n - 1) / elapsed years: 121.8 for two consecutive sessions
    assert infer_periods_per_year(pd.DatetimeIndex(["2024-03-01", "2024-03-04"])) == 252.0
    every_other = pd.bdate_range("2024-03-04", periods=29)[::2]
    assert infer_periods_per_year(every_other) == pytest.approx(252 * 15 / 29 / 0.9)


def test_a_short_span_of_daily_bars_on_weekends_counts_calendar_days():
    crypto = pd.date_range("2024-01-01", periods=40, freq="D")  # around the week
    assert infer_periods_per_year(crypto) == pytest.approx(365.25)
    assert infer_periods_per_year(crypto[::1].delete(slice(10, 20))) == pytest.approx(
        365.25 * 30 / 40
    )


def test_sunday_to_friday_futures_sessions_count_calendar_time():
    # hourly bars Sun 17:00 .. Fri 15:00 with a daily 16:00 break: about 115 bars a week
    bars = [
        h
        for week in pd.date_range("2024-01-07", periods=60, freq="W-SUN")
        for h in pd.date_range(week + pd.Timedelta(hours=17), periods=119, freq="h")
        if h.hour != 16
    ]
    index = pd.DatetimeIndex(bars)
    weekly = len(index) / 60 * 365.25 / 7
    assert infer_periods_per_year(index) == pytest.approx(weekly, rel=0.02)
    short = index[index < index[0] + pd.Timedelta(days=40)]  # under 90 days: no 252 guess
    assert infer_periods_per_year(short) == pytest.approx(weekly, rel=0.1)
