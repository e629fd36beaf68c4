"""Tests of tsnode._validation: every input layout, every bad input, no mutation."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsnode._validation import (
    check_coverage,
    check_min_observations,
    check_n_samples,
    check_positive,
    check_quantiles,
    to_wide_frame,
)

TICKERS = ["MSFT", "AAPL"]
FIELDS_SORTED = ["Close", "High", "Low", "Open", "Volume"]
FIELDS_TICKER = ["Open", "High", "Low", "Close", "Volume"]


def _index(n: int = 5, tz: str | None = None) -> pd.DatetimeIndex:
    idx = pd.bdate_range("2024-01-02", periods=n, name="Date")
    return idx.tz_localize(tz) if tz else idx


def _field_values(field: str, ticker: str, n: int) -> np.ndarray:
    base = {"AAPL": 100.0, "MSFT": 300.0}.get(ticker, 50.0)
    offset = FIELDS_TICKER.index(field) if field in FIELDS_TICKER else 0.5
    if field == "Volume":
        return np.arange(n, dtype=np.int64) * 1000 + int(base)
    return base + offset + np.arange(n, dtype=np.float64)


def yf_download(n: int = 5, tickers=TICKERS, auto_adjust: bool = True) -> pd.DataFrame:
    """`yf.download(tickers)`: MultiIndex Price x Ticker, Price sorted, tickers sorted."""
    fields = (["Adj Close"] if not auto_adjust else []) + FIELDS_SORTED
    cols = pd.MultiIndex.from_product([fields, sorted(tickers)], names=["Price", "Ticker"])
    data = {c: _field_values(*c, n) for c in cols}
    return pd.DataFrame(data, index=_index(n), columns=cols)


def yf_download_by_ticker(n: int = 5, tickers=TICKERS) -> pd.DataFrame:
    """`yf.download(tickers, group_by='ticker')`: Ticker x Price, tickers in unstable order."""
    cols = pd.MultiIndex.from_tuples(
        [(t, f) for t in tickers for f in FIELDS_TICKER], names=["Ticker", "Price"]
    )
    data = {c: _field_values(c[1], c[0], n) for c in cols}
    return pd.DataFrame(data, index=_index(n), columns=cols)


def yf_flat(n: int = 5, ticker: str = "AAPL") -> pd.DataFrame:
    """`yf.download(t, multi_level_index=False)`."""
    data = {f: _field_values(f, ticker, n) for f in FIELDS_SORTED}
    return pd.DataFrame(data, index=_index(n))


def yf_history(n: int = 5, ticker: str = "AAPL") -> pd.DataFrame:
    """`yf.Ticker(t).history()`: flat, tz-aware, with actions."""
    data = {f: _field_values(f, ticker, n) for f in FIELDS_TICKER}
    data["Dividends"] = np.zeros(n)
    data["Stock Splits"] = np.zeros(n)
    return pd.DataFrame(data, index=_index(n, tz="America/New_York"))


def wide_close(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({t: _field_values("Close", t, n) for t in sorted(TICKERS)}, index=_index(n))


# ---------------------------------------------------------------------------- layouts
def test_wide_frame_output_contract():
    out = to_wide_frame(wide_close())
    assert list(out.columns) == ["AAPL", "MSFT"]
    assert all(isinstance(c, str) for c in out.columns)
    assert not isinstance(out.columns, pd.MultiIndex)
    assert (out.dtypes == np.float64).all()
    assert out.index.name == "Date"
    assert out.index.is_monotonic_increasing and out.index.is_unique


def test_download_price_ticker_equals_wide():
    pd.testing.assert_frame_equal(to_wide_frame(yf_download()), to_wide_frame(wide_close()))


def test_download_adj_close_target():
    raw = yf_download(auto_adjust=False)
    out = to_wide_frame(raw, target="Adj Close")
    np.testing.assert_allclose(out["AAPL"], raw[("Adj Close", "AAPL")])


def test_unadjusted_close_warns_when_adj_close_differs():
    # regression: yf.download(auto_adjust=False) frames silently gave the unadjusted Close,
    # in which a split looks like a crash
    raw = yf_download(auto_adjust=False)
    with pytest.warns(UserWarning, match="target='Adj Close'") as record:
        out = to_wide_frame(raw)
    assert record[0].filename == __file__
    np.testing.assert_allclose(out["AAPL"], raw[("Close", "AAPL")])  # still what was asked
    flat = raw.xs("AAPL", axis=1, level="Ticker")
    with pytest.warns(UserWarning, match="not adjusted for splits"):
        to_wide_frame(flat)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        to_wide_frame(raw, target="Adj Close")
        to_wide_frame(raw, target="Open")
        same = raw.copy()
        same["Adj Close"] = same["Close"].to_numpy()  # no split, no dividend: nothing to say
        to_wide_frame(same)


def test_history_frame_repaired_column_is_a_known_field():
    # regression: Ticker.history(repair=True) adds a bool 'Repaired?' column, and the frame
    # was taken for a wide frame of six series (then refused for its bool dtype)
    raw = yf_history()
    raw["Repaired?"] = False
    out = to_wide_frame(raw)
    assert list(out.columns) == ["y"]
    np.testing.assert_allclose(out["y"], _field_values("Close", "AAPL", 5))


def test_group_by_ticker_equals_wide_regardless_of_order():
    expected = to_wide_frame(wide_close())
    for order in (["MSFT", "AAPL"], ["AAPL", "MSFT"]):
        pd.testing.assert_frame_equal(to_wide_frame(yf_download_by_ticker(tickers=order)), expected)


def test_multiindex_without_level_names_detected_by_fields():
    raw = yf_download()
    raw.columns = raw.columns.set_names([None, None])
    pd.testing.assert_frame_equal(
        to_wide_frame(raw), to_wide_frame(wide_close()), check_names=False
    )


def test_flat_single_ticker_frame():
    out = to_wide_frame(yf_flat(), target="Open", name="AAPL")
    assert list(out.columns) == ["AAPL"]
    np.testing.assert_allclose(out["AAPL"], _field_values("Open", "AAPL", 5))
    assert list(to_wide_frame(yf_flat()).columns) == ["y"]


def test_history_frame_keeps_tz_and_name():
    out = to_wide_frame(yf_history())
    assert str(out.index.tz) == "America/New_York"
    assert out.index.name == "Date"
    np.testing.assert_allclose(out["y"], _field_values("Close", "AAPL", 5))


def test_series_named_and_unnamed():
    s = pd.Series([1.0, 2.0, 3.0], index=_index(3))
    assert list(to_wide_frame(s).columns) == ["y"]
    assert list(to_wide_frame(s.rename("SPY")).columns) == ["SPY"]
    assert list(to_wide_frame(s, name="x").columns) == ["x"]


def test_int_and_nullable_columns_become_float_with_nan():
    df = pd.DataFrame({"a": [1, 2, 3], "b": pd.array([1, None, 3], dtype="Int64")}, index=_index(3))
    out = to_wide_frame(df)
    assert (out.dtypes == np.float64).all()
    assert np.isnan(out.loc[out.index[1], "b"])


def test_nan_kept_not_filled():
    df = wide_close()
    df.iloc[2, 0] = np.nan
    out = to_wide_frame(df)
    assert out.isna().sum().sum() == 1


def test_non_string_column_names_become_str():
    df = pd.DataFrame({0: [1.0, 2.0], 1: [3.0, 4.0]}, index=_index(2))
    assert list(to_wide_frame(df).columns) == ["0", "1"]


def test_unsorted_index_is_sorted_with_warning():
    df = wide_close().iloc[::-1]
    with pytest.warns(UserWarning, match="not sorted"):
        out = to_wide_frame(df)
    assert out.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(out, to_wide_frame(wide_close()))


def test_unknown_target_lists_fields():
    with pytest.raises(ValueError, match=r"target='Adj Close'.*'Close'"):
        to_wide_frame(yf_download(), target="Adj Close")
    with pytest.raises(ValueError, match="available fields"):
        to_wide_frame(yf_flat(), target="close")
    with pytest.raises(ValueError, match="available fields"):
        to_wide_frame(yf_download_by_ticker(), target="Price")


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [np.ones((3, 2)), [1.0, 2.0], None, {"a": [1.0]}])
def test_not_pandas(bad):
    with pytest.raises(TypeError, match="Series or DataFrame"):
        to_wide_frame(bad)


def test_empty_frames():
    with pytest.raises(ValueError, match="empty"):
        to_wide_frame(pd.DataFrame(index=_index(3)))
    with pytest.raises(ValueError, match="empty"):
        to_wide_frame(wide_close().iloc[:0])
    failed = pd.DataFrame(
        columns=pd.MultiIndex.from_product(
            [["Adj Close", *FIELDS_SORTED], ["XXXX"]], names=["Price", "Ticker"]
        )
    )
    with pytest.raises(ValueError, match="download fails"):
        to_wide_frame(failed)


@pytest.mark.parametrize(
    "column, dtype",
    [
        (["a", "b", "c"], "object"),
        ([True, False, True], "bool"),
        (pd.to_datetime(["2020-01-01"] * 3), "datetime64"),
        ([1 + 1j, 2j, 3], "complex"),
    ],
)
def test_non_numeric_column_named(column, dtype):
    df = pd.DataFrame({"AAPL": column, "MSFT": [1.0, 2.0, 3.0]}, index=_index(3))
    if dtype == "object":
        df["AAPL"] = df["AAPL"].astype(object)
    with pytest.raises(TypeError, match=f"column 'AAPL' has dtype {dtype}"):
        to_wide_frame(df)


def test_index_not_datetime():
    df = pd.DataFrame({"a": [1.0, 2.0]}, index=["2024-01-01", "2024-01-02"])
    with pytest.raises(TypeError, match=r"pd\.to_datetime.*set_index\('Date'\)"):
        to_wide_frame(df)
    with pytest.raises(TypeError, match="DatetimeIndex"):
        to_wide_frame(pd.Series([1.0, 2.0]))


def test_one_row_of_a_frame_gets_advice_that_works():
    # regression: update(df.iloc[-1]) advised pd.to_datetime on the series names
    df = pd.DataFrame(
        {"A": [1.0, 2.0], "B": [3.0, 4.0]}, index=pd.bdate_range("2024-01-01", periods=2)
    )
    with pytest.raises(TypeError, match=r"looks like one row.*df\.iloc\[\[-1\]\]") as err:
        to_wide_frame(df.iloc[-1])
    assert "to_datetime" not in str(err.value)
    pd.testing.assert_frame_equal(to_wide_frame(df.iloc[[-1]]), to_wide_frame(df).iloc[[-1]])
    pd.testing.assert_frame_equal(
        to_wide_frame(df.iloc[-1].to_frame().T), to_wide_frame(df).iloc[[-1]], check_freq=False
    )


def test_nat_in_index():
    df = pd.DataFrame({"a": [1.0, 2.0]}, index=pd.DatetimeIndex(["2024-01-01", None]))
    with pytest.raises(ValueError, match="NaT"):
        to_wide_frame(df)


def test_duplicate_timestamps_shown():
    idx = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-02", "2024-01-03"])
    with pytest.raises(ValueError, match=r"duplicate timestamps.*2024-01-02"):
        to_wide_frame(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}, index=idx))


def test_all_nan_series_named():
    df = wide_close()
    df["MSFT"] = np.nan
    with pytest.raises(ValueError, match="'MSFT'.*only NaN"):
        to_wide_frame(df)
    assert to_wide_frame(df, allow_unobserved=True)["MSFT"].isna().all()


def test_infinite_value_named():
    df = wide_close()
    df.iloc[3, 1] = -np.inf
    with pytest.raises(ValueError, match=r"'MSFT'.*infinite value at 2024-01-05"):
        to_wide_frame(df)


def test_duplicate_column_names():
    df = pd.DataFrame(np.ones((2, 2)), index=_index(2), columns=["a", "a"])
    with pytest.raises(ValueError, match=r"duplicate column.*'a'"):
        to_wide_frame(df)


def test_three_level_columns_rejected():
    cols = pd.MultiIndex.from_product([["Close"], ["A"], ["x"]])
    with pytest.raises(ValueError, match="3 levels"):
        to_wide_frame(pd.DataFrame(np.ones((2, 1)), index=_index(2), columns=cols))


def test_multiindex_without_price_level():
    cols = pd.MultiIndex.from_product([["a", "b"], ["x", "y"]])
    with pytest.raises(ValueError, match="no level holds yfinance price fields"):
        to_wide_frame(pd.DataFrame(np.ones((2, 4)), index=_index(2), columns=cols))


# ---------------------------------------------------------------------------- no mutation
@pytest.mark.parametrize("make", [yf_download, yf_download_by_ticker, yf_flat, yf_history])
def test_input_not_mutated(make):
    raw = make()
    raw.iloc[0, 0] = np.nan
    raw = raw.iloc[::-1]
    before = raw.copy(deep=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = to_wide_frame(raw)
    pd.testing.assert_frame_equal(raw, before)
    out.iloc[:, 0] = -1.0
    pd.testing.assert_frame_equal(raw, before)


def test_series_not_mutated():
    s = pd.Series([3.0, 1.0, 2.0], index=_index(3)[::-1], name="s")
    before = s.copy()
    with pytest.warns(UserWarning):
        out = to_wide_frame(s)
    out.iloc[:, 0] = 0.0
    pd.testing.assert_series_equal(s, before)


# ---------------------------------------------------------------------------- round trips
@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.floats(1e-3, 1e6)), min_size=2, max_size=30).filter(
        lambda v: any(x is not None for x in v)
    ),
    perm_seed=st.integers(0, 2**16),
)
def test_roundtrip_idempotent_and_layout_independent(values, perm_seed):
    n = len(values)
    close = np.array([np.nan if v is None else v for v in values])
    wide = pd.DataFrame({"AAA": close}, index=_index(n))
    out = to_wide_frame(wide)
    pd.testing.assert_frame_equal(to_wide_frame(out), out)
    cols = pd.MultiIndex.from_product([FIELDS_SORTED, ["AAA"]], names=["Price", "Ticker"])
    raw = pd.DataFrame({c: close for c in cols}, index=_index(n), columns=cols)
    pd.testing.assert_frame_equal(to_wide_frame(raw), out)
    order = np.random.default_rng(perm_seed).permutation(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pd.testing.assert_frame_equal(to_wide_frame(wide.iloc[order]), out, check_freq=False)


# ---------------------------------------------------------------------------- other checks
def test_check_min_observations_names_series():
    df = pd.DataFrame({"a": [1.0, np.nan, np.nan], "b": [1.0, 2.0, 3.0]}, index=_index(3))
    check_min_observations(df, 1)
    with pytest.raises(ValueError, match=r"'a' has 1.*at least 2"):
        check_min_observations(df, 2)


def test_check_positive_names_column_and_time():
    df = pd.DataFrame({"a": [1.0, np.nan, 2.0], "b": [1.0, 0.0, 3.0]}, index=_index(3))
    with pytest.raises(ValueError, match=r"'b'.*0\.0.*2024-01-03"):
        check_positive(df)
    check_positive(df[["a"]])


def test_check_quantiles():
    assert check_quantiles([0.9, 0.1, 0.5]) == (0.1, 0.5, 0.9)
    assert check_quantiles(0.5) == (0.5,)
    assert check_quantiles(np.array([0.25, 0.75])) == (0.25, 0.75)
    assert check_quantiles(np.array(0.5)) == (0.5,)  # a 0-d array
    # float32 levels keep their short labels (0.1, not 0.10000000149011612)
    assert check_quantiles(np.array([0.1, 0.5, 0.9], dtype=np.float32)) == (0.1, 0.5, 0.9)
    assert check_quantiles(np.float32(0.1)) == (0.1,)
    for bad in ([0.0, 0.5], [1.0], [-0.1], [0.5, 1.5]):
        with pytest.raises(ValueError, match="between 0 and 1"):
            check_quantiles(bad)
    with pytest.raises(ValueError, match="duplicates"):
        check_quantiles([0.5, 0.5])
    with pytest.raises(ValueError, match="empty"):
        check_quantiles([])
    for bad in ("0.5", [True], ["a"], None):
        with pytest.raises(TypeError, match="quantiles"):
            check_quantiles(bad)


def test_check_coverage_and_n_samples():
    assert check_coverage(0.8) == 0.8
    for bad in (0, 1, 1.2, -0.5):
        with pytest.raises(ValueError, match="coverage"):
            check_coverage(bad)
    with pytest.raises(TypeError, match="coverage"):
        check_coverage("0.9")
    assert check_n_samples(np.int64(5)) == 5
    with pytest.raises(ValueError, match="n_samples"):
        check_n_samples(0)
    for bad in (1.5, True, "3"):
        with pytest.raises(TypeError, match="n_samples"):
            check_n_samples(bad)


def test_period_index_error_gives_a_working_conversion():
    y = pd.Series(np.arange(1.0, 6.0), index=pd.period_range("2024-01", periods=5, freq="M"))
    with pytest.raises(TypeError, match=r"PeriodIndex \(freq M\).*to_timestamp\(how='end'\)"):
        to_wide_frame(y)
    fixed = y.copy()
    fixed.index = fixed.index.to_timestamp(how="end").normalize()  # the advice, verbatim
    assert to_wide_frame(fixed).index[0] == pd.Timestamp("2024-01-31")


def test_in_sample_index_in_another_time_zone_comes_back_in_the_fitted_one():
    from tsnode._validation import check_in_sample_index

    fitted = pd.bdate_range("2024-01-02", periods=10, tz="America/New_York")
    asked = fitted[2:5].tz_convert("UTC")
    out = check_in_sample_index(asked, fitted)
    assert str(out.tz) == "America/New_York" and (out == asked).all()
    naive = pd.bdate_range("2024-01-02", periods=10)
    assert check_in_sample_index(naive[2:5], naive).tz is None


def test_a_long_format_frame_gets_a_pivot_hint():
    # regression: the advice was y.index = pd.to_datetime(y.index), which fails on tuples
    idx = pd.MultiIndex.from_product(
        [pd.bdate_range("2024-01-01", periods=5), ["A", "B"]], names=["date", "ticker"]
    )
    y = pd.Series(np.arange(10.0) + 1, index=idx)
    with pytest.raises(
        TypeError, match=r"row MultiIndex \['date', 'ticker'\].*unstack\('ticker'\)"
    ):
        to_wide_frame(y)
    assert to_wide_frame(y.unstack("ticker")).shape == (5, 2)


def test_lower_case_price_fields_are_not_fitted_as_separate_series():
    # regression: open/high/low/close/volume columns (databases, brokers) were five series
    idx = pd.bdate_range("2024-01-01", periods=5)
    y = pd.DataFrame(
        {c: np.arange(5.0) + 1 for c in ("open", "high", "low", "close", "volume")}, idx
    )
    with pytest.raises(ValueError, match=r"price fields of one ticker.*y\[\['close'\]\]"):
        to_wide_frame(y)
    assert to_wide_frame(y.rename(columns=str.title)).shape == (5, 1)
    assert to_wide_frame(y[["close"]]).shape == (5, 1)
