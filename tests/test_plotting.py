"""Smoke tests for tsnode.plotting: every plot returns a Figure and saves to PNG."""

from __future__ import annotations

import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from tsnode import NaiveForecaster, plotting  # noqa: E402
from tsnode.trading import simulate  # noqa: E402

LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def history() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    index = pd.bdate_range("2024-01-01", periods=80)
    walk = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal((80, 2)), axis=0))
    return pd.DataFrame(walk, index=index, columns=["AAA", "BBB"])


@pytest.fixture
def quantile_frame(history) -> pd.DataFrame:
    future = pd.bdate_range(history.index[-1] + pd.offsets.BDay(), periods=10)
    cols, data = [], []
    for name in history.columns:
        last = history[name].iloc[-1]
        for q in LEVELS:
            cols.append((name, q))
            data.append(last * (1 + 0.02 * (q - 0.5) * np.sqrt(np.arange(1, 11))))
    columns = pd.MultiIndex.from_tuples(cols, names=["series", "quantile"])
    return pd.DataFrame(np.column_stack(data), index=future, columns=columns)


@pytest.fixture
def forecasts(history) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    values = history.to_numpy()
    for pos in range(20, len(history) - 1):
        for j, name in enumerate(history.columns):
            for step in (1, 2, 3):
                if pos + step >= len(history):
                    continue
                origin = values[pos, j]
                f = origin * (1 + rng.normal(0, 0.005))
                sd = 0.01 * origin * np.sqrt(step)
                row = {
                    "cutoff": history.index[pos],
                    "timestamp": history.index[pos + step],
                    "series": name,
                    "step": step,
                    "actual": values[pos + step, j],
                    "forecast": f,
                    "origin": origin,
                    "scale": 1.0,
                }
                for q, z in zip(LEVELS, (-1.645, -1.2816, 0.0, 1.2816, 1.645), strict=True):
                    row[f"q{q:g}"] = f + z * sd
                rows.append(row)
    return pd.DataFrame(rows)


def _saves(fig, tmp_path, name: str) -> None:
    assert isinstance(fig, Figure)
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=40)
    assert path.stat().st_size > 1000


def test_plot_forecast(history, quantile_frame, tmp_path):
    h0, q0 = history.copy(), quantile_frame.copy()
    fig = plotting.plot_forecast(history, quantile_frame, title="fan", n_history=30)
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert ax.get_title() == "AAA"
    # two symmetric pairs -> two bands; history + median lines, history has 30 points
    assert len(ax.collections) == 2
    assert len(ax.lines[0].get_xdata()) == 30
    assert len(ax.lines[1].get_xdata()) == 11  # median starts at the last observation
    _saves(fig, tmp_path, "fan")
    pd.testing.assert_frame_equal(history, h0)
    pd.testing.assert_frame_equal(quantile_frame, q0)


def test_plot_forecast_single_series_into_given_ax(history, quantile_frame, tmp_path):
    fig, ax = plt.subplots()
    out = plotting.plot_forecast(history["AAA"], quantile_frame[["AAA"]], ax=ax)
    assert out is fig
    _saves(out, tmp_path, "fan1")
    with pytest.raises(ValueError, match="sequence of 2 Axes"):
        plotting.plot_forecast(history, quantile_frame, ax=ax)
    with pytest.raises(TypeError, match="MultiIndex"):
        plotting.plot_forecast(history, history)
    with pytest.raises(ValueError, match="`n_history`"):
        plotting.plot_forecast(history, quantile_frame, n_history=-1)


def test_plot_backtest_takes_any_collection_of_series(forecasts):
    # regression: a numpy array or pandas Index of names failed inside pandas
    available = list(pd.unique(forecasts["series"]))
    for series in (np.array(available[:1]), pd.Index(available[:1]), tuple(available[:1])):
        fig = plotting.plot_backtest(forecasts, series=series)
        assert len(fig.axes) == 1
        plt.close(fig)


def test_plot_backtest(forecasts, tmp_path):
    fig = plotting.plot_backtest(forecasts)
    assert len(fig.axes) == 2
    _saves(fig, tmp_path, "backtest")
    fig2 = plotting.plot_backtest(SimpleNamespace(forecasts=forecasts), series="BBB", step=3)
    assert len(fig2.axes) == 1 and fig2.axes[0].get_title() == "BBB"
    assert len(fig2.axes[0].collections) == 1  # the q0.05 - q0.95 band
    _saves(fig2, tmp_path, "backtest2")
    with pytest.raises(ValueError, match="`step`=9"):
        plotting.plot_backtest(forecasts, step=9)
    with pytest.raises(ValueError, match="`series`"):
        plotting.plot_backtest(forecasts, series="ZZZ")
    with pytest.raises(ValueError, match="lacks the columns"):
        plotting.plot_backtest(forecasts.drop(columns="actual"))


def test_plot_equity(history, forecasts, tmp_path):
    sim = simulate(forecasts, history, allow_short=True)
    fig = plotting.plot_equity(sim, title="strategy")
    assert len(fig.axes) == 2
    assert len(fig.axes[0].lines) == 3  # strategy, buy & hold, the 1.0 line
    _saves(fig, tmp_path, "equity")
    _saves(sim.plot(), tmp_path, "equity_method")
    _saves(plotting.plot_equity(sim.equity), tmp_path, "equity_series")
    with pytest.raises(TypeError, match="equity Series"):
        plotting.plot_equity([1.0, 2.0])


def test_plot_calibration(forecasts, tmp_path):
    fig = plotting.plot_calibration(forecasts, LEVELS)
    assert len(fig.axes) == 2
    left, right = fig.axes
    assert len(left.patches) == 10  # histogram bars
    assert len(right.lines) == 4  # two intervals: observed + nominal each
    _saves(fig, tmp_path, "calibration")
    result = SimpleNamespace(forecasts=forecasts, quantiles=(0.1, 0.5, 0.9))
    fig2 = plotting.plot_calibration(result, bins=5)
    assert len(fig2.axes[0].patches) == 5
    assert len(fig2.axes[1].lines) == 2
    with pytest.raises(ValueError, match="level 0.3 has no column"):
        plotting.plot_calibration(forecasts, (0.3, 0.5))
    with pytest.raises(ValueError, match="at least 2 levels"):
        plotting.plot_calibration(forecasts, (0.5,))


# ----------------------------------------------------------------------------- date axes


def _tick_labels(ax) -> list:
    return [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]


def _assert_readable_date_ticks(fig) -> None:
    """Every Axes with x tick labels has at most 12 of them and no two overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labelled = 0
    for ax in fig.axes:
        labels = _tick_labels(ax)
        if not labels:
            continue
        labelled += 1
        assert 3 <= len(ax.get_xticks()) <= 12
        boxes = [t.get_window_extent(renderer) for t in labels]
        for left, right in zip(boxes, boxes[1:], strict=False):
            assert not left.overlaps(right), [t.get_text() for t in labels]
    assert labelled


@pytest.fixture
def two_years() -> pd.DataFrame:
    index = pd.bdate_range("2022-01-03", "2023-12-29")
    rng = np.random.default_rng(2)
    walk = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(len(index))))
    return pd.DataFrame({"AAA": walk}, index=index)


@pytest.mark.parametrize("width", [10, 4])
def test_date_tick_labels_do_not_overlap(two_years, width):
    index, values = two_years.index, two_years["AAA"].to_numpy()
    table = pd.DataFrame(
        {
            "cutoff": index[:-1],
            "timestamp": index[1:],
            "series": "AAA",
            "step": 1,
            "actual": values[1:],
            "forecast": values[:-1],
            "q0.1": 0.98 * values[:-1],
            "q0.9": 1.02 * values[:-1],
            "origin": values[:-1],
            "scale": 1.0,
        }
    )
    _, ax = plt.subplots(figsize=(width, 3))
    fig = plotting.plot_backtest(table, ax=ax)
    _assert_readable_date_ticks(fig)
    # a year at the start of each year, month names in between (ConciseDateFormatter)
    texts = [t.get_text() for t in _tick_labels(ax)]
    assert "2023" in texts and "Jul" in texts

    sim = simulate(table, two_years)
    _assert_readable_date_ticks(plotting.plot_equity(sim, fig=plt.figure(figsize=(width, 4))))

    future = pd.bdate_range("2024-01-01", periods=20)
    quantiles = pd.DataFrame(
        {("AAA", q): values[-1] * (1 + 0.05 * (q - 0.5)) * np.ones(20) for q in (0.1, 0.5, 0.9)},
        index=future,
    )
    _, ax = plt.subplots(figsize=(width, 3))
    fig = plotting.plot_forecast(two_years, quantiles, ax=ax, n_history=len(two_years))
    _assert_readable_date_ticks(fig)


def test_date_ticks_keep_the_time_zone_and_skip_non_dates(two_years):
    prices = two_years.tz_localize("America/New_York")
    fig = plotting.plot_equity(prices["AAA"] / prices["AAA"].iloc[0])
    locator = fig.axes[1].xaxis.get_major_locator()
    assert str(locator.tz) == "America/New_York"
    _assert_readable_date_ticks(fig)
    # integer "timestamps": the default numeric ticks are left alone
    table = pd.DataFrame(
        {"timestamp": np.arange(5), "series": "A", "step": 1, "actual": 1.0, "forecast": 1.0}
    )
    ax = plotting.plot_backtest(table).axes[0]
    ax.figure.canvas.draw()
    assert not any(t.get_text().startswith("19") for t in _tick_labels(ax))
    assert type(ax.xaxis.get_major_formatter()).__name__ == "ScalarFormatter"


# ----------------------------------------------------------------------------- robustness


def _equity(n: int = 20) -> pd.Series:
    return pd.Series(np.linspace(1.0, 1.2, n), index=pd.bdate_range("2020-01-01", periods=n))


@pytest.mark.parametrize("gap", [0, 3])
def test_plot_equity_nan_leaves_a_gap_only_at_its_date(gap):
    equity = _equity()
    equity.iloc[gap] = np.nan
    equity.iloc[10] = 1.05  # a drawdown after the gap
    fig = plotting.plot_equity(equity, benchmark=equity.copy())
    top, bottom = fig.axes
    for line in (*top.lines[:2], *bottom.lines):
        assert np.flatnonzero(np.isnan(line.get_ydata())).tolist() == [gap]
    drawdown = bottom.lines[0].get_ydata()
    assert drawdown[10] == pytest.approx(1.05 / equity.iloc[9] - 1.0)
    assert drawdown[-1] == 0.0
    with pytest.raises(ValueError, match="no finite equity value"):
        plotting.plot_equity(equity * np.nan)
    with pytest.raises(ValueError, match="must hold numbers"):
        plotting.plot_equity(pd.Series(["a", "b"]))


def test_plot_equity_rejects_mixed_time_zones():
    equity = _equity()
    with pytest.raises(ValueError, match=r"tz-aware.*tz-naive.*tz_localize\('UTC'\)"):
        plotting.plot_equity(equity.tz_localize("UTC"), benchmark=equity)
    with pytest.raises(ValueError, match="`benchmark` has a tz-aware"):
        plotting.plot_equity(equity, benchmark=equity.tz_localize("UTC"))


def test_plot_forecast_rejects_mixed_time_zones(history, quantile_frame):
    with pytest.raises(ValueError, match=r"`history` has a tz-aware.*`quantiles` has a tz-naive"):
        plotting.plot_forecast(history.tz_localize("UTC"), quantile_frame)
    with pytest.raises(ValueError, match=r"`quantiles` has a tz-aware.*tz_convert\(None\)"):
        plotting.plot_forecast(history, quantile_frame.tz_localize("UTC"))
    with pytest.raises(ValueError, match="indexed by dates or neither"):
        plotting.plot_forecast(history, quantile_frame.reset_index(drop=True))
    # two zones are the same instants: drawn, labelled in the history's zone
    fig = plotting.plot_forecast(
        history.tz_localize("UTC"), quantile_frame.tz_localize("UTC").tz_convert("Asia/Tokyo")
    )
    assert str(fig.axes[0].xaxis.get_major_locator().tz) == "UTC"
    fig.canvas.draw()


def test_plot_forecast_accepts_interval_frames(history, quantile_frame, tmp_path):
    interval = quantile_frame.loc[:, (slice(None), [0.05, 0.95])].copy()
    interval.columns = pd.MultiIndex.from_product(
        [history.columns, ["lower", "upper"]], names=["series", "bound"]
    )
    fig = plotting.plot_forecast(history, interval, n_history=20)
    ax = fig.axes[0]
    assert len(ax.collections) == 1 and len(ax.lines) == 1  # the band and the history
    assert ax.get_legend_handles_labels()[1] == ["history", "prediction interval"]
    _saves(fig, tmp_path, "interval")


def test_plot_forecast_clear_errors(history, quantile_frame):
    with pytest.raises(ValueError, match=r"`quantiles` is empty \(shape \(10, 0\)\)"):
        plotting.plot_forecast(history, quantile_frame.iloc[:, :0])
    with pytest.raises(ValueError, match=r"`quantiles` is empty \(shape \(0, 10\)\)"):
        plotting.plot_forecast(history, quantile_frame.iloc[:0])
    bad = quantile_frame.rename(columns={0.05: "low"}, level=1)
    with pytest.raises(ValueError, match="quantile levels in \\(0, 1\\).*'lower'"):
        plotting.plot_forecast(history, bad)
    with pytest.raises(ValueError, match="2 column levels"):
        plotting.plot_forecast(history, pd.concat({"x": quantile_frame}, axis=1))
    with pytest.raises(ValueError, match="`history` must hold numbers"):
        plotting.plot_forecast(history.assign(BBB="n/a"), quantile_frame)
    assert not plt.get_fignums()  # no half-drawn figure left behind


def test_plot_forecast_counts_accept_numpy_integers(history, quantile_frame):
    fig = plotting.plot_forecast(history, quantile_frame, n_history=np.int64(10))
    assert len(fig.axes[0].lines[0].get_xdata()) == 10
    fig = plotting.plot_forecast(history, quantile_frame, n_history=0)
    assert len(fig.axes[0].lines) == 1  # the median only
    for bad in (True, np.bool_(True), 2.5, "10"):
        with pytest.raises(TypeError, match="`n_history` must be an int"):
            plotting.plot_forecast(history, quantile_frame, n_history=bad)


def test_plot_backtest_and_calibration_clear_errors(forecasts):
    assert len(plotting.plot_backtest(forecasts, step=np.int64(2)).axes) == 2
    with pytest.raises(TypeError, match="`step` must be an int"):
        plotting.plot_backtest(forecasts, step=True)
    with pytest.raises(ValueError, match="`series` is empty"):
        plotting.plot_backtest(forecasts, series=[])
    assert len(plotting.plot_calibration(forecasts, bins=np.int64(5)).axes[0].patches) == 5
    fig = plotting.plot_calibration(forecasts, (0.1, 0.1, 0.9))  # a repeated level: used once
    assert len(fig.axes[1].lines) == 2
    with pytest.raises(TypeError, match="`quantiles` must be a sequence"):
        plotting.plot_calibration(forecasts, 0.5)
    with pytest.raises(ValueError, match="no observed `actual`"):
        plotting.plot_calibration(forecasts.assign(actual=np.nan))


def test_plot_forecast_draws_the_history_of_int_named_series(history):
    # regression: forecasters name series str(column), so history columns 0 and 1 were not
    # found and only the median was drawn
    from tsnode import NaiveForecaster

    ints = history.set_axis([0, 1], axis=1)
    q = NaiveForecaster().fit(ints).predict_quantiles(5)
    assert list(pd.unique(q.columns.get_level_values(0))) == ["0", "1"]
    fig = plotting.plot_forecast(ints, q, n_history=30)
    for ax, column in zip(fig.axes, [0, 1], strict=True):
        assert [line.get_label() for line in ax.lines] == ["history", "median"]
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), ints[column].iloc[-30:])
    # an int-named Series too
    fig = plotting.plot_forecast(ints[1].rename(1), q[["1"]])
    assert [line.get_label() for line in fig.axes[0].lines] == ["history", "median"]


def test_plot_forecast_without_a_history_column_warns_and_draws_the_forecast(
    history, quantile_frame
):
    with pytest.warns(UserWarning, match=r"no column for the forecast series \['BBB'\]") as rec:
        fig = plotting.plot_forecast(history[["AAA"]], quantile_frame)
    assert rec[0].filename == __file__
    lines = [len(ax.get_lines()) for ax in fig.axes]
    assert lines[0] == lines[1] + 1  # AAA has its history line, BBB only the forecast
    plt.close("all")
    clash = pd.concat([history[["BBB", "AAA"]], history[["AAA"]]], axis=1)
    clash.columns = ["BBB", 0, "0"]
    q0 = quantile_frame.rename(columns={"AAA": "0"}, level=0)
    with pytest.raises(ValueError, match="several columns \\[0, '0'\\]"):
        plotting.plot_forecast(clash, q0)
    assert not plt.get_fignums()


@pytest.mark.parametrize("bad", [None, 1.5, SimpleNamespace(equity=None)])
def test_plot_equity_of_a_non_series_names_the_expected_type(bad):
    # regression: plot_equity(None) failed with "object of type 'NoneType' has no len()"
    with pytest.raises(TypeError, match="`simulation_or_equity` must be a .*Simulation"):
        plotting.plot_equity(bad)


def _yf_download(group_by: str = "column") -> pd.DataFrame:
    """A ``yf.download(["AAPL", "MSFT"])`` frame: MultiIndex (Price, Ticker), Volume int64."""
    from tsnode.data import load_sample

    full = load_sample(["AAPL", "MSFT"], field="all").iloc[-60:]
    pairs = [(f, t) for f in ("Close", "High", "Low", "Open", "Volume") for t in ("AAPL", "MSFT")]
    frame = pd.DataFrame(
        {pair: full[pair].astype("int64" if pair[0] == "Volume" else "float64") for pair in pairs}
    )
    frame.columns = frame.columns.set_names(["Price", "Ticker"])
    frame.index = pd.DatetimeIndex(full.index.to_numpy(), name="Date")
    if group_by == "ticker":  # Ticker x Price, Open..Volume, tickers in no set order
        order = [
            (t, f) for t in ("MSFT", "AAPL") for f in ("Open", "High", "Low", "Close", "Volume")
        ]
        frame = frame.swaplevel(axis=1)[order]
    return frame


@pytest.mark.parametrize("group_by", ["column", "ticker"])
def test_plot_forecast_draws_the_history_of_a_yf_download_frame(group_by):
    # regression: MultiIndex history columns were not found ("`history` has no column")
    from tsnode import NaiveForecaster

    prices = _yf_download(group_by)
    before = prices.copy()
    q = NaiveForecaster().fit(prices).predict_quantiles(5)
    fig = plotting.plot_forecast(prices, q, n_history=30)
    for ax, ticker in zip(fig.axes, ["AAPL", "MSFT"], strict=True):
        assert ax.get_title() == ticker
        assert [line.get_label() for line in ax.lines] == ["history", "median"]
        close = prices.xs("Close", axis=1, level="Price")[ticker]
        np.testing.assert_array_equal(ax.lines[0].get_ydata(), close.iloc[-30:])
    pd.testing.assert_frame_equal(prices, before)
    # another field, as fit(target=...) takes it
    q_open = NaiveForecaster(target="Open").fit(prices).predict_quantiles(5)
    fig = plotting.plot_forecast(prices, q_open, target="Open", n_history=10)
    opens = prices.xs("Open", axis=1, level="Price")["MSFT"]
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_ydata(), opens.iloc[-10:])


def test_plot_forecast_draws_the_history_of_a_ticker_history_frame():
    # regression: Ticker.history's flat OHLCV frame: the forecaster's series "y" was not found
    from tsnode import NaiveForecaster

    one = _yf_download().xs("AAPL", axis=1, level="Ticker")
    prices = one[["Open", "High", "Low", "Close", "Volume"]].assign(
        Dividends=0.0, **{"Stock Splits": 0.0}
    )
    prices.index = prices.index.tz_localize("America/New_York")
    before = prices.copy()
    q = NaiveForecaster().fit(prices).predict_quantiles(3)
    assert list(pd.unique(q.columns.get_level_values(0))) == ["y"]
    fig = plotting.plot_forecast(prices, q, n_history=20)
    assert [line.get_label() for line in fig.axes[0].lines] == ["history", "median"]
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), prices["Close"].iloc[-20:])
    pd.testing.assert_frame_equal(prices, before)


def test_plot_forecast_target_errors_name_the_parameter(history, quantile_frame):
    prices = _yf_download()
    q = quantile_frame.rename(columns={"AAA": "AAPL", "BBB": "MSFT"}, level=0)
    with pytest.raises(ValueError, match=r"`history`.*target='Adj Close' is not a price field"):
        plotting.plot_forecast(prices, q, target="Adj Close")
    with pytest.raises(TypeError, match="`target` must be a price field name"):
        plotting.plot_forecast(history, quantile_frame, target=None)
    with pytest.raises(TypeError, match="`history`.*DatetimeIndex"):
        plotting.plot_forecast(prices.reset_index(drop=True), q)
    assert not plt.get_fignums()


def test_plot_forecast_with_history_beyond_the_forecast_start_or_unsorted(history, quantile_frame):
    # regression: with history going past the forecast start the fan was anchored at the last
    # history date and drawn backwards; unsorted history anchored it at the first row
    fitted, realised = history.iloc[:60], history
    future = pd.bdate_range(fitted.index[-1] + pd.offsets.BDay(), periods=10)
    quantiles = quantile_frame.set_axis(future)
    for past in (realised, fitted.iloc[::-1]):
        fig = plotting.plot_forecast(past, quantiles, n_history=30)
        median = fig.axes[0].lines[1]
        assert pd.Timestamp(median.get_xdata()[0]) == fitted.index[-1]
        assert median.get_ydata()[0] == fitted["AAA"].iloc[-1]
        plt.close(fig)
    shown = plotting.plot_forecast(realised, quantiles, n_history=30).axes[0].lines[0]
    assert len(shown.get_xdata()) == 30 + 20  # 30 before the start, the 20 realised after


# ----------------------------------------------------------------------------- text dates


def test_plot_backtest_reads_timestamps_written_as_text(forecasts, tmp_path):
    # regression: a forecasts table read back from CSV has text timestamps, which matplotlib
    # drew on a category axis (one tick per string, no date formatting)
    path = tmp_path / "forecasts.csv"
    forecasts.to_csv(path, index=False)
    table = pd.read_csv(path)
    assert not pd.api.types.is_datetime64_any_dtype(table["timestamp"])
    fig = plotting.plot_backtest(table, series="AAA")
    axis = fig.axes[0]
    assert type(axis.xaxis.get_major_formatter()).__name__ == "ConciseDateFormatter"
    expected = plotting.plot_backtest(forecasts, series="AAA").axes[0]
    np.testing.assert_array_equal(
        axis.lines[0].get_xdata().astype("datetime64[ns]"),
        expected.lines[0].get_xdata().astype("datetime64[ns]"),
    )
    assert table["timestamp"].dtype == pd.read_csv(path)["timestamp"].dtype  # not modified


def test_plot_backtest_text_timestamps_with_mixed_utc_offsets(forecasts, tmp_path):
    # a tz-aware table written across the March DST change: offsets -05:00 and -04:00
    stamps = forecasts["timestamp"].dt.tz_localize("America/New_York")
    path = tmp_path / "forecasts.csv"
    forecasts.assign(timestamp=stamps).to_csv(path, index=False)
    table = pd.read_csv(path)
    assert table["timestamp"].str.endswith("-05:00").any()
    assert table["timestamp"].str.endswith("-04:00").any()
    fig = plotting.plot_backtest(table, series="AAA")  # read in UTC: the same instants
    axis = fig.axes[0]
    assert type(axis.xaxis.get_major_formatter()).__name__ == "ConciseDateFormatter"
    drawn = pd.to_datetime(axis.lines[0].get_xdata(), utc=True)
    seen = table[(table["series"] == "AAA") & (table["step"] == 1)]
    assert drawn[0] == pd.Timestamp(seen["timestamp"].iloc[0]).tz_convert("UTC")


def test_plot_backtest_timestamps_that_are_not_dates_name_the_column(forecasts):
    table = forecasts.assign(timestamp=[f"row {i}" for i in range(len(forecasts))])
    with pytest.raises(ValueError, match=r"`forecasts` column 'timestamp' must be dates, got str"):
        plotting.plot_backtest(table)


def test_plot_equity_reads_an_index_written_as_text(history, forecasts, tmp_path):
    sim = simulate(forecasts, history)
    path = tmp_path / "equity.csv"
    sim.equity.to_csv(path)
    equity = pd.read_csv(path, index_col=0).iloc[:, 0]
    fig = plotting.plot_equity(equity)
    assert type(fig.axes[1].xaxis.get_major_formatter()).__name__ == "ConciseDateFormatter"
    with pytest.raises(ValueError, match="the index of `simulation_or_equity` must be dates"):
        plotting.plot_equity(equity.set_axis([f"day {i}" for i in range(len(equity))]))


def test_plot_calibration_refuses_more_bins_than_it_can_draw(forecasts):
    # regression: bins=100_000 took 86 s for 54 PIT values, 10**7 ran for minutes
    with pytest.raises(ValueError, match="`bins` must be at most 1000, got 100000"):
        plotting.plot_calibration(forecasts, LEVELS, bins=100_000)
    plotting.plot_calibration(forecasts, LEVELS, bins=1000)


@pytest.mark.parametrize("dtype", ["timedelta64[ns]", "bool", "complex128"])
def test_plot_forecast_refuses_history_that_fit_refuses(history, dtype):
    # regression: time spans were drawn as microsecond counts, bools as 0/1 and complex
    # numbers as their real part, without a word
    model = NaiveForecaster().fit(history)
    bad = history.astype("int64").astype(dtype) if dtype != "bool" else history > 100
    with pytest.raises(
        ValueError, match=r"`history` must hold numbers, got dtype\(s\) \['" + re.escape(dtype)
    ):
        plotting.plot_forecast(bad, model.predict_quantiles(3))


def test_type_hints_of_the_plot_functions_resolve():
    # regression: Axes/Figure were imported for type checkers only, so typing.get_type_hints
    # (documentation tools, runtime checkers) raised NameError
    import typing

    from tsnode import plotting

    for name in plotting.__all__:
        hints = typing.get_type_hints(getattr(plotting, name))
        assert "return" in hints


def test_plot_forecast_draws_levels_without_a_symmetric_partner(history, quantile_frame):
    # regression: a frame holding only q0.9 (or q0.8 next to q0.05) drew no forecast at all
    only = quantile_frame.loc[:, [("AAA", 0.9)]]
    ax = plotting.plot_forecast(history[["AAA"]], only).axes[0]
    assert [line.get_label() for line in ax.lines] == ["history", "q0.9"]
    assert ax.lines[1].get_linestyle() == "--"


def test_single_points_are_drawn_with_a_marker(history, quantile_frame, forecasts):
    # regression: one-point lines and bands were invisible (no marker, empty fill)
    one = quantile_frame[["AAA"]].iloc[:1]
    ax = plotting.plot_forecast(history[["AAA"]].iloc[:0], one).axes[0]
    median = next(line for line in ax.lines if line.get_label() == "median")
    assert median.get_marker() == "o" and len(ax.collections) >= 1
    row = forecasts[(forecasts["series"] == "AAA") & (forecasts["step"] == 1)].iloc[:1]
    ax = plotting.plot_backtest(row).axes[0]
    assert {line.get_marker() for line in ax.lines} == {"o"}
    fig = plotting.plot_equity(_equity(1))
    assert fig.axes[0].lines[0].get_marker() == "o"


def test_plot_equity_sorts_the_curve_before_measuring_drawdowns():
    # regression: the running peak was taken in row order, so an unsorted curve drew a
    # drawdown on its first day
    equity = pd.Series(
        [1.0, 1.2, 0.9, 1.1, 1.3, 1.0], index=pd.bdate_range("2024-01-01", periods=6)
    )
    ordered = plotting.plot_equity(equity).axes[1].lines[0].get_ydata()
    shuffled = plotting.plot_equity(equity.iloc[[3, 4, 5, 0, 1, 2]]).axes[1].lines[0].get_ydata()
    np.testing.assert_allclose(shuffled, ordered)
    assert ordered[0] == 0.0


def test_plot_calibration_with_too_few_levels_suggests_the_available_ones(forecasts):
    # review: it advised "backtest a forecaster with predict_quantiles" when the table had
    # quantile columns and only the level chosen was too few
    with pytest.raises(ValueError, match=r"pass quantiles=None for all of \['q0.05'"):
        plotting.plot_calibration(forecasts, quantiles=[0.5])
