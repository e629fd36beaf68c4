"""Tests for the timestamps ``tsnode forecast`` prints and writes (tsnode.cli).

Daily data keep date-only stamps and "sessions"; intraday data (any timestamp not at
midnight) show the time of day, with the UTC offset of tz-aware data, and the steps they
continue (forecasters follow the observed spacing there, whatever the calendar).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tsnode import NaiveForecaster, data, plotting
from tsnode.cli import main

ARGS = ["--model", "naive", "--horizon", "4"]


def bars(tz: str | None = None) -> pd.Series:
    """Three NYSE days of 30-minute bars (09:30 .. 15:30) with real IBM prices."""
    days = pd.bdate_range("2024-03-08", periods=3)
    stamps = [d + pd.Timedelta(minutes=570 + 30 * k) for d in days for k in range(13)]
    index = pd.DatetimeIndex(stamps, name="Date")
    prices = data.load_sample("IBM")["IBM"].iloc[-len(index) :].to_numpy()
    index = index.tz_localize(tz) if tz else index
    return pd.Series(prices, index=index, name="IBM")


def intraday_csv(path: Path) -> Path:
    series = bars()
    frame = pd.DataFrame({"date": series.index.strftime("%Y-%m-%d %H:%M:%S"), "IBM": series})
    frame.to_csv(path, index=False)
    return path


def test_intraday_forecast_keeps_the_time_of_day(tmp_path, capsys):
    # regression: the four rows all read 2024-03-12 and the header said "next 4 sessions"
    path, out_csv = intraday_csv(tmp_path / "intr.csv"), tmp_path / "fc.csv"
    argv = ["forecast", "--csv", str(path), *ARGS, "--output", str(out_csv)]
    with pytest.warns(UserWarning, match="observed spacing"):
        expected = NaiveForecaster().fit(bars()).predict(4).index
    assert main(argv) == 0
    out = capsys.readouterr().out
    stamps = list(expected.strftime("%Y-%m-%d %H:%M:%S"))
    assert len(set(stamps)) == 4
    assert list(pd.read_csv(out_csv)["date"]) == stamps
    for stamp in stamps:
        assert stamp in out
    assert "last price" in out and "on 2024-03-12 15:30:00;" in out
    assert "(2024-03-08 09:30:00 to 2024-03-12 15:30:00)" in out
    assert "next 4 steps" in out and "sessions" not in out
    assert main([*argv, "--calendar", "none", "-q"]) == 0
    assert list(pd.read_csv(out_csv)["date"]) == stamps


def test_tz_aware_intraday_forecast_keeps_the_offset(tmp_path, monkeypatch, capsys):
    series = bars("America/New_York")
    monkeypatch.setattr(data, "load_prices", lambda *args, **kwargs: series.to_frame())
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--ticker", "IBM", *ARGS, "--calendar", "none", "--output", str(out_csv)]
    assert main([*argv, "-q"]) == 0
    written = list(pd.read_csv(out_csv)["date"])
    assert written[0].endswith("-04:00")  # New York summer time, as pandas writes it
    expected = NaiveForecaster(calendar=None).fit(series).predict(4).index
    parsed = pd.DatetimeIndex([pd.Timestamp(s) for s in written])
    assert (parsed == expected).all()
    assert "on 2024-03-12 15:30:00-04:00;" in capsys.readouterr().out


def test_daily_forecast_keeps_dates_and_sessions(tmp_path, capsys):
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--sample", "IBM", *ARGS, "--output", str(out_csv)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert list(pd.read_csv(out_csv)["date"]) == ["2013-03-04", "2013-03-05", "2013-03-06"] + [
        "2013-03-07"
    ]
    assert "on 2013-03-01;" in out and "next 4 sessions" in out and "00:00" not in out
    assert main([*argv, "--calendar", "none", "-q"]) == 0  # the observed spacing: steps
    assert "next 4 steps" in capsys.readouterr().out
    assert main(["forecast", "--sample", "IBM", "--model", "naive", "--horizon", "1"]) == 0
    assert "next 1 session\n" in capsys.readouterr().out


def test_intraday_plot_title_counts_steps(tmp_path, monkeypatch):
    titles = []
    original = plotting.plot_forecast

    def spy(history, quantiles, **kwargs):
        titles.append(kwargs.get("title"))
        return original(history, quantiles, **kwargs)

    monkeypatch.setattr(plotting, "plot_forecast", spy)
    path = intraday_csv(tmp_path / "intr.csv")
    argv = ["forecast", "--csv", str(path), *ARGS, "--calendar", "none", "-q"]
    assert main([*argv, "--plot", str(tmp_path / "fan.png")]) == 0
    assert titles == ["NaiveForecaster: 80% interval, 4 steps ahead"]
