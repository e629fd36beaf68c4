"""simulate trades the price field the backtest forecast, on any frame backtest accepts.

The yfinance frames are built by hand with the shapes yfinance 1.7 returns (see
``/work/shared/notes/yfinance.md``): there is no network in the tests.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tsnode.backtesting import backtest, compare
from tsnode.baselines import DriftForecaster, NaiveForecaster
from tsnode.data import load_sample
from tsnode.trading import simulate

BT = dict(horizon=5, initial_window=100, step=5, progress=False)
SPLIT = 120  # row of the synthetic 2:1 split in the unadjusted Close of MSFT


def _adjusted() -> pd.DataFrame:
    """Two tickers' (adjusted) closes over 2012, a wide frame."""
    frame = load_sample(["AAPL", "MSFT"]).loc["2012-01-01":"2012-12-31"]
    frame.index = pd.DatetimeIndex(frame.index, name="Date")
    return frame


def _download(auto_adjust: bool = False) -> pd.DataFrame:
    """``yf.download(["AAPL", "MSFT"], auto_adjust=...)``: (Price, Ticker) MultiIndex columns,
    fields sorted alphabetically, tickers sorted inside each, Volume int64."""
    adj = _adjusted()
    close = adj.copy()
    close.iloc[SPLIT:, 1] /= 2.0  # the raw Close halves at a 2:1 split; Adj Close does not
    fields = {
        "Close": close,
        "High": close * 1.01,
        "Low": close * 0.99,
        "Open": close,
        "Volume": pd.DataFrame(1_000_000, index=adj.index, columns=adj.columns, dtype="int64"),
    }
    if not auto_adjust:
        fields = {"Adj Close": adj, **fields}
    return pd.concat(fields, axis=1, names=["Price", "Ticker"])


def _history() -> pd.DataFrame:
    """``yf.Ticker("AAPL").history()``: flat OHLCV + actions, tz-aware midnight index."""
    close = _adjusted()["AAPL"].to_numpy()
    index = _adjusted().index.tz_localize("America/New_York")
    frame = pd.DataFrame(
        {"Open": close, "High": close * 1.01, "Low": close * 0.99, "Close": close},
        index=pd.DatetimeIndex(index, name="Date"),
    )
    frame["Volume"] = np.full(len(frame), 1_000_000, dtype="int64")
    return frame.assign(Dividends=0.0, **{"Stock Splits": 0.0})


def _field(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    return frame.xs(name, axis=1, level="Price")


def test_download_frame_trades_the_forecast_adj_close():
    # regression: simulate read `Close` whatever the forecaster's target (-36.8% vs -17.6%)
    data = _download()
    before = data.copy()
    result = backtest(DriftForecaster(target="Adj Close"), data, **BT)
    sim = simulate(result, data)
    on_adjusted = simulate(result, _field(data, "Adj Close"))
    pd.testing.assert_series_equal(sim.equity, on_adjusted.equity)
    assert sim.params["target"] == "Adj Close"
    with warnings.catch_warnings():  # the field is chosen here: no unadjusted-Close warning
        warnings.simplefilter("error")
        on_close = simulate(result, data, target="Close")  # explicit override
    pd.testing.assert_series_equal(on_close.equity, simulate(result, _field(data, "Close")).equity)
    # the split is a fake -50% move of MSFT in Close only
    assert on_close.benchmark_equity.iloc[-1] < sim.benchmark_equity.iloc[-1] - 0.2
    # the forecasts table alone carries the field too
    pd.testing.assert_series_equal(simulate(result.forecasts, data).equity, sim.equity)
    pd.testing.assert_frame_equal(data, before)  # never modified


def test_default_target_trades_close_and_group_by_ticker_layout_works():
    data = _download(auto_adjust=True)
    result = backtest(DriftForecaster(), data, **BT)
    sim = simulate(result, data)
    pd.testing.assert_series_equal(sim.equity, simulate(result, _field(data, "Close")).equity)
    # group_by='ticker': (Ticker, Price), fields Open..Volume, tickers not sorted
    by_ticker = data.swaplevel(axis=1).rename_axis(["Ticker", "Price"], axis=1)
    order = [(t, f) for t in ("MSFT", "AAPL") for f in ("Open", "High", "Low", "Close", "Volume")]
    by_ticker = by_ticker[order]
    again = simulate(backtest(DriftForecaster(), by_ticker, **BT), by_ticker)
    pd.testing.assert_series_equal(again.equity, sim.equity)


def test_ticker_history_frame_passed_to_backtest_and_simulate():
    # regression: "`prices` has no column for the series ['y']" on the frame backtest used
    history = _history()
    result = backtest(DriftForecaster(), history, **BT)
    sim = simulate(result, history)
    assert list(sim.positions.columns) == ["y"]
    assert str(sim.equity.index.tz) == "America/New_York"
    pd.testing.assert_series_equal(sim.equity, simulate(result, history["Close"]).equity)
    # a single-ticker frame also trades the one series of a backtest of a named Series
    named = backtest(DriftForecaster(), history["Close"].rename("AAPL"), **BT)
    pd.testing.assert_series_equal(simulate(named, history).equity, sim.equity)


def test_compare_results_each_trade_their_own_field():
    data = _download()
    # compare refuses models forecasting different fields, so both forecast Adj Close
    models = {
        "adjusted": DriftForecaster(target="Adj Close"),
        "naive": NaiveForecaster(target="Adj Close"),
    }
    comparison = compare(models, data, **BT)
    for name in models:
        traded = simulate(comparison.results[name], data)
        expected = simulate(comparison.results[name], _field(data, "Adj Close"))
        pd.testing.assert_series_equal(traded.equity, expected.equity)
        pd.testing.assert_series_equal(traded.benchmark_equity, expected.benchmark_equity)
    with pytest.raises(TypeError, match=r"result\.results\['adjusted'\]"):
        simulate(comparison, data)


def test_target_validation_and_missing_field():
    data = _download(auto_adjust=True)  # no 'Adj Close'
    result = backtest(DriftForecaster(), data, **BT)
    with pytest.raises(TypeError, match="`target` must be None or a price field name"):
        simulate(result, data, target=3)
    with pytest.raises(ValueError, match="`prices` is invalid: target='Adj Close'.*target="):
        simulate(result, data, target="Adj Close")
    adjusted = backtest(DriftForecaster(target="Adj Close"), _adjusted(), **BT)
    with pytest.raises(ValueError, match="the backtest forecast 'Adj Close'"):
        simulate(adjusted, data)  # forecast on Adj Close: Close is not silently traded
    # a wide frame has one field: the target is ignored, as in backtest
    sim = simulate(adjusted, _adjusted(), target="Open")
    assert np.isfinite(sim.equity).all()


def test_a_forecasts_column_named_target_is_not_the_field():
    data = _download()
    result = backtest(DriftForecaster(target="Adj Close"), data, **BT)
    table = result.forecasts.assign(target="junk")
    sim = simulate(table, data)
    assert sim.params["target"] == "Adj Close"  # from the table's attrs, not the column


def test_a_table_without_its_target_trades_close_with_the_unadjusted_warning():
    # the table lost its attrs (e.g. re-read from CSV): neither the backtest nor the user
    # chose the field, so trading the unadjusted Close warns
    data = _download()
    table = backtest(DriftForecaster(target="Adj Close"), data, **BT).forecasts.copy()
    table.attrs = {}
    with pytest.warns(UserWarning, match="target='Adj Close'") as record:
        simulate(table, data)
    assert record[0].filename == __file__
