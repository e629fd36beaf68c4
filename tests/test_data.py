"""Tests for tsnode.data: the cached yfinance loader and the shipped samples.

Nothing here touches the network: an autouse fixture makes every socket connection (and
curl_cffi, which yfinance uses and which bypasses Python sockets) fail, yfinance's own SQLite
caches are moved to a tmp dir, and downloads are faked either at ``yfinance.download`` (frames
built to yfinance 1.7's exact shapes) or at yfinance's HTTP layer (``YfData.get``), so that
yfinance's real parsing code runs.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tsnode import data
from tsnode.data import DataError, load_prices, load_sample

yf = pytest.importorskip("yfinance")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = ["AAPL", "FB", "GOOG", "IBM", "MSFT"]


# ----------------------------------------------------------------------------- isolation


class NetworkBlocked(RuntimeError):
    pass


def _blocked(*args, **kwargs):
    raise NetworkBlocked("network access is disabled in tests")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Make any real connection fail, whichever HTTP stack tries it."""
    monkeypatch.setattr(socket.socket, "connect", _blocked)
    monkeypatch.setattr(socket.socket, "connect_ex", _blocked)
    monkeypatch.setattr(socket, "create_connection", _blocked)
    monkeypatch.setattr(socket, "getaddrinfo", _blocked)
    try:
        import curl_cffi.requests as curl_requests
    except ImportError:  # pragma: no cover - yfinance < 0.2.50 uses requests only
        pass
    else:
        monkeypatch.setattr(curl_requests.Session, "request", _blocked)
    import yfinance.data as yfdata

    monkeypatch.setattr(yfdata.YfData, "_make_request", _blocked)


@pytest.fixture(scope="session")
def yf_cache_dir(tmp_path_factory):
    """Point yfinance's own SQLite caches (time zones, cookies) at a tmp dir."""
    path = tmp_path_factory.mktemp("py-yfinance")
    yf.set_tz_cache_location(str(path))
    import yfinance.cache as yfcache

    # Drop any cache object already opened at the default location by an earlier import.
    for manager, attr in (
        ("_TzCacheManager", "_tz_cache"),
        ("_CookieCacheManager", "_cookie_cache"),
        ("_ISINCacheManager", "_isin_cache"),
    ):
        if hasattr(getattr(yfcache, manager, None), attr):
            setattr(getattr(yfcache, manager), attr, None)
    return path


@pytest.fixture(autouse=True)
def isolated_cache(yf_cache_dir, tmp_path, monkeypatch):
    """Every test gets its own tsnode cache dir through $TSNODE_CACHE_DIR."""
    cache = tmp_path / "tsnode-cache"
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(cache))
    return cache


# ----------------------------------------------------------------------------- fake market


def make_ohlcv(dates: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    """One ticker's history as ``Ticker.history(auto_adjust=True)`` gives it (flat OHLCV)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, len(dates))))
    open_ = close * np.exp(rng.normal(0.0, 0.005, len(dates)))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    volume = rng.integers(1_000, 1_000_000, len(dates)).astype("int64")
    frame = pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume},
        index=dates,
    )
    frame.index.name = "Date"
    return frame


def yf_layout(per_ticker: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Combine per-ticker frames exactly as ``yfinance.download`` (group_by='column') does."""
    out = pd.concat(
        per_ticker.values(), axis=1, sort=True, keys=per_ticker.keys(), names=["Ticker", "Price"]
    )
    out.columns = out.columns.swaplevel(0, 1)
    return out.sort_index(level=0, axis=1)


def yf_empty(tickers: tuple[str, ...] = ("NOPE",)) -> pd.DataFrame:
    """What ``yfinance.download`` returns when every ticker failed (offline, unknown)."""
    columns = pd.MultiIndex.from_product(
        [["Adj Close", *sorted(data.FIELDS)], sorted(tickers)], names=["Price", "Ticker"]
    )
    return pd.DataFrame(columns=columns)


DATES = pd.DatetimeIndex(list(pd.bdate_range("2024-01-02", "2024-03-28")), name="Date")  # freq=None


class FakeDownload:
    """Stand-in for ``yfinance.download`` serving a fixed market; records its calls."""

    def __init__(self, market: dict[str, pd.DataFrame], fail: tuple[str, ...] = ()) -> None:
        self.market = market
        self.fail = set(fail)
        self.calls: list[dict] = []

    def __call__(self, tickers, start=None, end=None, **kwargs):
        self.calls.append({"tickers": tickers, "start": start, "end": end, **kwargs})
        assert kwargs.get("auto_adjust") is True and kwargs.get("progress") is False
        names = [tickers] if isinstance(tickers, str) else list(tickers)
        names = sorted({t.upper() for t in names})
        good = {}
        for name in names:
            if name in self.fail or name not in self.market:
                continue
            frame = self.market[name]
            tz = frame.index.tz  # yfinance reads date strings in the exchange time zone
            if start is not None:
                frame = frame.loc[frame.index >= pd.Timestamp(start).tz_localize(tz)]
            if end is not None:
                frame = frame.loc[frame.index < pd.Timestamp(end).tz_localize(tz)]
            if len(frame):
                good[name] = frame
        if not good:
            return yf_empty()
        index = None
        for frame in good.values():
            index = frame.index if index is None else index.union(frame.index)
        per = {}
        for name in names:
            if name in good:
                per[name] = good[name].reindex(index)
            else:  # a failed ticker inside a multi-ticker download: all-NaN, with Adj Close
                per[name] = pd.DataFrame(np.nan, index=index, columns=["Adj Close", *data.FIELDS])
        return yf_layout(per)


@pytest.fixture
def market():
    return {
        "AAPL": make_ohlcv(DATES, 1),
        "MSFT": make_ohlcv(DATES, 2),
        "IBM": make_ohlcv(DATES[5:], 3),
    }


@pytest.fixture
def fake(monkeypatch, market):
    fake = FakeDownload(market)
    monkeypatch.setattr(yf, "download", fake)
    return fake


# ----------------------------------------------------------------------------- shapes


def test_fake_frames_have_yfinance_shapes(market):
    frame = FakeDownload(market)(
        ["MSFT", "AAPL"], start="2024-01-01", auto_adjust=True, progress=False
    )
    assert list(frame.columns.names) == ["Price", "Ticker"]
    assert list(frame.columns)[:2] == [("Close", "AAPL"), ("Close", "MSFT")]
    assert frame.columns.get_level_values(0).unique().tolist() == [
        "Close",
        "High",
        "Low",
        "Open",
        "Volume",
    ]
    assert frame[("Volume", "AAPL")].dtype == np.int64
    assert frame.index.name == "Date" and frame.index.tz is None
    assert yf_empty().shape == (0, 6)


# ----------------------------------------------------------------------------- load_prices


def test_wide_frame_in_requested_order(fake, market):
    tickers = ["msft", "AAPL"]
    out = load_prices(tickers, "2024-01-01", "2024-02-01")
    assert tickers == ["msft", "AAPL"]  # user input untouched
    assert list(out.columns) == ["MSFT", "AAPL"] and out.columns.name == "Ticker"
    assert out.index.name == "Date" and out.index.is_monotonic_increasing
    assert (out.dtypes == np.float64).all()
    expected = market["AAPL"].loc[:"2024-01-31", "Close"]
    np.testing.assert_allclose(out["AAPL"].to_numpy(), expected.to_numpy(), rtol=0, atol=0)
    assert len(fake.calls) == 1  # one yfinance call for both tickers


def test_field_all_is_exactly_yfinance_layout(fake, market):
    out = load_prices(["MSFT", "AAPL"], "2024-01-01", "2024-02-01", field="all")
    expected = FakeDownload(market)(
        ["AAPL", "MSFT"], "2024-01-01", "2024-02-01", auto_adjust=True, progress=False
    )
    pd.testing.assert_frame_equal(out, expected)
    cached = load_prices(["MSFT", "AAPL"], "2024-01-01", "2024-02-01", field="all")
    pd.testing.assert_frame_equal(cached, expected)  # same frame from the cache
    assert len(fake.calls) == 1


def test_string_tickers_and_fields(fake):
    out = load_prices("AAPL, msft", "2024-01-01", "2024-01-10", field="volume")
    assert list(out.columns) == ["AAPL", "MSFT"]
    assert (out.dtypes == np.int64).all()


def test_union_of_dates_gives_nan(fake, market):
    out = load_prices(["AAPL", "IBM"], "2024-01-01", "2024-02-01")
    assert out["IBM"].isna().sum() == 5 and out["AAPL"].notna().all()


def test_cache_hit_avoids_download(fake, isolated_cache):
    first = load_prices("AAPL", "2024-01-01", "2024-03-01")
    second = load_prices("AAPL", "2024-01-15", "2024-02-01")
    assert len(fake.calls) == 1
    pd.testing.assert_frame_equal(second, first.loc["2024-01-15":"2024-01-31"])
    files = sorted(p.name for p in isolated_cache.iterdir())
    assert files == ["AAPL__1d.csv", "AAPL__1d.json"]  # no pickle, no temp leftovers
    meta = json.loads((isolated_cache / "AAPL__1d.json").read_text())
    assert meta["start"].startswith("2024-01-01") and meta["end"].startswith("2024-03-01")
    assert meta["rows"] == len(first) and meta["interval"] == "1d"
    header = (isolated_cache / "AAPL__1d.csv").read_text().splitlines()[0]
    assert header == "Date,Open,High,Low,Close,Volume"


def test_range_outside_cache_downloads_union(fake, isolated_cache):
    load_prices("AAPL", "2024-01-10", "2024-02-01")
    load_prices("AAPL", "2024-01-02", "2024-01-20")
    assert len(fake.calls) == 2
    assert fake.calls[1]["start"] == "2024-01-02" and fake.calls[1]["end"] == "2024-02-01"
    meta = json.loads((isolated_cache / "AAPL__1d.json").read_text())
    assert meta["start"].startswith("2024-01-02") and meta["end"].startswith("2024-02-01")
    load_prices("AAPL", "2024-01-05", "2024-01-25")
    assert len(fake.calls) == 2


def test_start_none_requests_full_history(fake):
    out = load_prices("AAPL", end="2024-02-01")
    assert fake.calls[0]["period"] == "max" and fake.calls[0]["start"] is None
    assert out.index[0] == DATES[0]
    load_prices("AAPL", end="2024-01-15")  # covered: cache starts at the beginning
    load_prices("AAPL", "2024-01-03", "2024-01-15")
    assert len(fake.calls) == 1


def test_end_none_is_cached_for_the_day(fake, isolated_cache):
    out = load_prices("AAPL", "2024-02-01")
    assert fake.calls[0]["end"] is None and out.index[-1] == DATES[-1]
    load_prices("AAPL", "2024-03-01")
    assert len(fake.calls) == 1
    meta = json.loads((isolated_cache / "AAPL__1d.json").read_text())
    tomorrow = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize() + pd.Timedelta(days=1)
    assert pd.Timestamp(meta["end"]) == tomorrow


def test_no_rows_in_range(fake, monkeypatch):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    with pytest.raises(DataError, match="no trading sessions"):
        load_prices("AAPL", "2024-01-06", "2024-01-08")  # a weekend, served from the cache
    monkeypatch.setattr(yf, "download", lambda *a, **k: yf_empty(("AAPL",)))
    with pytest.warns(UserWarning), pytest.raises(DataError, match="do not overlap"):
        load_prices("AAPL", "2023-01-01", "2023-06-01")


def test_refresh_downloads_again(fake):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    load_prices("AAPL", "2024-01-01", "2024-02-01", refresh=True)
    assert len(fake.calls) == 2


def test_offline_serves_cache_without_network(fake, monkeypatch):
    online = load_prices(["AAPL", "MSFT"], "2024-01-01", "2024-02-01")
    monkeypatch.setattr(yf, "download", _blocked)
    offline = load_prices(["AAPL", "MSFT"], "2024-01-01", "2024-02-01", offline=True)
    pd.testing.assert_frame_equal(offline, online)
    with pytest.warns(UserWarning, match="AAPL"):  # asks beyond the cached range
        part = load_prices("AAPL", "2024-01-01", "2024-03-01", offline=True)
    assert part.index[-1] < pd.Timestamp("2024-02-01")


def test_offline_without_cache_names_tickers_and_dir(monkeypatch, isolated_cache):
    monkeypatch.setattr(yf, "download", _blocked)
    with pytest.raises(DataError, match=r"\['AAPL'\]") as info:
        load_prices("AAPL", offline=True)
    assert str(isolated_cache) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_empty_download_is_a_clear_error(monkeypatch, isolated_cache):
    monkeypatch.setattr(yf, "download", lambda *a, **k: yf_empty())
    with pytest.raises(DataError, match="NOPE") as info:
        load_prices("NOPE", "2024-01-01", "2024-02-01")
    assert "no cached copy" in str(info.value)
    assert not isolated_cache.exists() or not any(isolated_cache.iterdir())


def test_partial_failure_names_only_failed_tickers(monkeypatch, market):
    monkeypatch.setattr(yf, "download", FakeDownload(market, fail=("MSFT",)))
    with pytest.raises(DataError) as info:
        load_prices(["AAPL", "MSFT"], "2024-01-01", "2024-02-01")
    message = str(info.value)
    assert "['MSFT']" in message and "'AAPL'" not in message
    # AAPL's good download was cached all the same
    assert load_prices("AAPL", "2024-01-01", "2024-02-01", offline=True).shape == (22, 1)


def test_yfinance_log_messages_reach_the_error(monkeypatch):
    def failing(tickers, **kwargs):
        import logging

        logging.getLogger("yfinance").error("['NOPE']: YFTzMissingError('possibly delisted')")
        return yf_empty()

    monkeypatch.setattr(yf, "download", failing)
    with pytest.raises(DataError, match="possibly delisted"):
        load_prices("NOPE", "2024-01-01", "2024-02-01")


def test_failed_download_falls_back_to_cache(fake, monkeypatch):
    cached = load_prices("AAPL", "2024-01-01", "2024-02-01")
    monkeypatch.setattr(yf, "download", lambda *a, **k: yf_empty())
    with pytest.warns(UserWarning, match="download failed"):
        out = load_prices("AAPL", "2024-01-01", "2024-03-01")
    pd.testing.assert_frame_equal(out, cached)


def test_download_exception_falls_back_to_cache(fake, monkeypatch):
    from yfinance.exceptions import YFRateLimitError

    cached = load_prices("AAPL", "2024-01-01", "2024-02-01")

    def rate_limited(*args, **kwargs):
        raise YFRateLimitError()

    monkeypatch.setattr(yf, "download", rate_limited)
    with pytest.warns(UserWarning, match="AAPL"):
        out = load_prices("AAPL", "2024-01-02", "2024-03-01")
    pd.testing.assert_frame_equal(out, cached)
    with pytest.raises(DataError, match="YFRateLimitError"):
        load_prices("MSFT", "2024-01-01", "2024-02-01")


def test_cache_dir_argument_env_and_default(fake, tmp_path, monkeypatch, isolated_cache):
    explicit = tmp_path / "explicit"
    load_prices("AAPL", "2024-01-01", "2024-02-01", cache_dir=explicit)
    assert (explicit / "AAPL__1d.csv").is_file() and not isolated_cache.exists()
    assert data.get_cache_dir() == isolated_cache
    assert data.get_cache_dir(explicit) == explicit
    monkeypatch.delenv(data.CACHE_ENV_VAR)
    default = data.get_cache_dir()
    assert default.parts[-1] == "prices" and "tsnode" in default.parts


def test_atomic_write_keeps_old_file_on_crash(fake, isolated_cache, monkeypatch):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    csv = isolated_cache / "AAPL__1d.csv"
    before = csv.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.warns(UserWarning, match="Could not write the price cache"):
        load_prices("AAPL", "2024-01-01", "2024-03-01", refresh=True)
    assert csv.read_bytes() == before
    assert sorted(p.name for p in isolated_cache.iterdir()) == ["AAPL__1d.csv", "AAPL__1d.json"]


def test_corrupt_cache_is_ignored_with_warning(fake, isolated_cache):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    csv = isolated_cache / "AAPL__1d.csv"
    csv.write_text(csv.read_text()[:100])  # a half-written file
    with pytest.warns(UserWarning, match="unreadable cached prices"):
        out = load_prices("AAPL", "2024-01-01", "2024-02-01")
    assert len(out) == 22 and len(fake.calls) == 2


def test_special_ticker_symbols_round_trip(monkeypatch, isolated_cache):
    market = {"^GSPC": make_ohlcv(DATES, 4), "EURUSD=X": make_ohlcv(DATES, 5)}
    monkeypatch.setattr(yf, "download", FakeDownload(market))
    online = load_prices(["^GSPC", "EURUSD=X"], "2024-01-01", "2024-02-01")
    offline = load_prices(["^gspc", "eurusd=x"], "2024-01-01", "2024-02-01", offline=True)
    pd.testing.assert_frame_equal(online, offline)
    assert all("^" not in p.name and "=" not in p.name for p in isolated_cache.iterdir())


def test_intraday_tz_aware_cache_round_trip(monkeypatch):
    index = pd.date_range("2024-03-08 09:30", periods=40, freq="h", tz="America/New_York")
    index = index[(index.hour >= 9) & (index.hour < 16)]  # spans the DST change on 03-10
    frame = make_ohlcv(pd.DatetimeIndex(index, name="Datetime"), 6)
    frame.index.name = "Datetime"
    fake = FakeDownload({"AAPL": frame})
    monkeypatch.setattr(yf, "download", fake)
    online = load_prices("AAPL", "2024-03-08", "2024-03-13", interval="1h", field="all")
    offline = load_prices(
        "AAPL", "2024-03-08", "2024-03-13", interval="1h", field="all", offline=True
    )
    pd.testing.assert_frame_equal(online, offline)
    assert str(offline.index.tz) == "America/New_York" and offline.index.name == "Datetime"
    assert fake.calls[0]["interval"] == "1h"
    with pytest.raises(DataError):  # the daily cache is separate
        load_prices("AAPL", "2024-03-08", "2024-03-13", offline=True)


NY = "America/New_York"


def test_tz_aware_bounds_on_tz_aware_daily_data(monkeypatch, isolated_cache):
    # Daily bars at midnight New York, as Ticker.history returns them: a tz-aware bound is an
    # instant (it was shifted by the UTC offset, losing the 2024-01-02 session).
    frame = make_ohlcv(DATES.tz_localize(NY), 7)
    fake = FakeDownload({"AAPL": frame})
    monkeypatch.setattr(yf, "download", fake)
    out = load_prices("AAPL", pd.Timestamp("2024-01-02", tz=NY), pd.Timestamp("2024-01-10", tz=NY))
    expected = frame.loc["2024-01-02":"2024-01-09", "Close"]
    np.testing.assert_array_equal(out["AAPL"].to_numpy(), expected.to_numpy())
    assert out.index[0] == pd.Timestamp("2024-01-02", tz=NY) and str(out.index.tz) == NY
    # The same instants in UTC, served from the cache; one second later drops the session.
    utc = load_prices("AAPL", pd.Timestamp("2024-01-02 05:00", tz="UTC"), "2024-01-10")
    pd.testing.assert_frame_equal(utc, out)
    later = load_prices("AAPL", pd.Timestamp("2024-01-02 05:00:01", tz="UTC"), "2024-01-10")
    assert later.index[0] == pd.Timestamp("2024-01-03", tz=NY)
    naive = load_prices("AAPL", "2024-01-02", "2024-01-10")  # wall-clock dates, as before
    pd.testing.assert_frame_equal(naive, out)
    assert len(fake.calls) == 1
    assert all(len(fake.calls[0][k]) == 10 for k in ("start", "end"))  # date strings


def test_tz_aware_bounds_on_naive_daily_data(fake, market):
    # yf.download's daily bars are tz-naive exchange dates: the bound's own wall-clock is used.
    start, end = pd.Timestamp("2024-01-02", tz=NY), pd.Timestamp("2024-01-10", tz=NY)
    out = load_prices("AAPL", start, end)
    expected = market["AAPL"].loc["2024-01-02":"2024-01-09", "Close"]
    np.testing.assert_array_equal(out["AAPL"].to_numpy(), expected.to_numpy())
    assert out.index.tz is None
    pd.testing.assert_frame_equal(load_prices("AAPL", start, end), out)  # from the cache
    pd.testing.assert_frame_equal(load_prices("AAPL", "2024-01-02", "2024-01-10"), out)
    assert len(fake.calls) == 1


@pytest.fixture
def hourly(monkeypatch):
    """Round-the-clock hourly bars in New York across the 2024-03-10 DST change."""
    index = pd.date_range("2024-03-07", "2024-03-13", freq="h", tz=NY, inclusive="left")
    frame = make_ohlcv(pd.DatetimeIndex(list(index), name="Datetime"), 8)  # freq=None
    fake = FakeDownload({"AAPL": frame})
    monkeypatch.setattr(yf, "download", fake)
    return frame, fake


def test_tz_aware_bounds_on_intraday_data(hourly):
    frame, fake = hourly
    start, end = pd.Timestamp("2024-03-08 10:30", tz=NY), pd.Timestamp("2024-03-08 14:30", tz=NY)
    out = load_prices("AAPL", start, end, interval="1h")
    hours = [t.strftime("%H:%M%z") for t in out.index]
    assert hours == ["11:00-0500", "12:00-0500", "13:00-0500", "14:00-0500"]
    np.testing.assert_array_equal(out["AAPL"], frame.loc[start:end, "Close"])
    # Equal instants in UTC, and naive bounds read on the data's wall clock, give the same.
    utc = load_prices("AAPL", start.tz_convert("UTC"), end.tz_convert("UTC"), interval="1h")
    naive = load_prices("AAPL", "2024-03-08 10:30", "2024-03-08 14:30", interval="1h")
    pd.testing.assert_frame_equal(utc, out)
    pd.testing.assert_frame_equal(naive, out)
    # yfinance only parses date strings: the download is requested by whole dates.
    assert all(len(call[k]) == 10 for call in fake.calls for k in ("start", "end"))
    # After the change New York is UTC-4: 14:30 UTC is 10:30 EDT.
    after = load_prices(
        "AAPL",
        pd.Timestamp("2024-03-11 14:30", tz="UTC"),
        pd.Timestamp("2024-03-11 16:30", tz="UTC"),
        interval="1h",
    )
    assert [t.strftime("%H:%M%z") for t in after.index] == ["11:00-0400", "12:00-0400"]


def test_naive_bound_in_the_dst_gap(hourly):
    # 02:30 does not exist on 2024-03-10 in New York: it moves forward to the change (03:00).
    out = load_prices("AAPL", "2024-03-10 02:30", "2024-03-10 05:00", interval="1h")
    assert [t.strftime("%H:%M%z") for t in out.index] == ["03:00-0400", "04:00-0400"]


def test_tz_aware_start_after_end_rejected(monkeypatch):
    monkeypatch.setattr(yf, "download", _blocked)
    with pytest.raises(ValueError, match="start must be before end"):
        load_prices(
            "AAPL",
            pd.Timestamp("2024-01-02 12:00", tz=NY),
            pd.Timestamp("2024-01-02 16:00", tz="UTC"),
        )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prices=st.lists(
        st.floats(min_value=1e-6, max_value=1e9, allow_nan=False), min_size=1, max_size=30
    ),
    volume=st.integers(min_value=0, max_value=2**53),
)
def test_cache_round_trip_is_exact(tmp_path_factory, prices, volume):
    directory = tmp_path_factory.mktemp("rt")
    index = pd.DatetimeIndex(list(pd.bdate_range("2020-01-01", periods=len(prices))), name="Date")
    values = np.asarray(prices)
    frame = pd.DataFrame(
        {
            "Open": values,
            "High": values * 1.5,
            "Low": values / 3,
            "Close": values,
            "Volume": volume,
        },
        index=index,
    ).astype({"Volume": "int64"})
    now = pd.Timestamp.now(tz="UTC")
    data._write_cache(directory, "X", "1d", frame, None, index[-1] + pd.Timedelta(days=1), now)
    back, meta = data._read_cache(directory, "X", "1d")
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert meta["start"] is None and meta["rows"] == len(prices)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tickers": []}, ValueError, "tickers is empty"),
        ({"tickers": 3}, TypeError, "tickers must be"),
        ({"tickers": ["AAPL", None]}, TypeError, "non-empty strings"),
        ({"field": "Adj Close"}, ValueError, "auto-adjusted"),
        ({"field": "price"}, ValueError, "field must be one of"),
        ({"interval": "2d"}, ValueError, "interval must be one of"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, ValueError, "start must be before end"),
        ({"start": "not a date"}, ValueError, "start='not a date'"),
        ({"end": 20240101}, TypeError, "end must be None"),
        ({"offline": "yes"}, TypeError, "offline must be True or False"),
        ({"offline": True, "refresh": True}, ValueError, "contradict"),
        ({"cache_dir": 5}, TypeError, "cache_dir must be"),
    ],
)
def test_invalid_arguments(kwargs, error, match, monkeypatch):
    monkeypatch.setattr(yf, "download", _blocked)
    kwargs = {"tickers": "AAPL", **kwargs}
    with pytest.raises(error, match=match):
        load_prices(**kwargs)


# ----------------------------------------------------------------------------- real yfinance parser


def _chart_json(symbol: str, days: pd.DatetimeIndex, close: np.ndarray, adj: np.ndarray) -> dict:
    stamps = [int((d + pd.Timedelta(hours=9, minutes=30)).timestamp()) for d in days]
    return {
        "chart": {
            "error": None,
            "result": [
                {
                    "meta": {
                        "currency": "USD",
                        "symbol": symbol,
                        "exchangeName": "NMS",
                        "instrumentType": "EQUITY",
                        "gmtoffset": -18000,
                        "timezone": "EST",
                        "exchangeTimezoneName": "America/New_York",
                        "regularMarketTime": stamps[-1],
                        "dataGranularity": "1d",
                        "priceHint": 2,
                    },
                    "timestamp": stamps,
                    "indicators": {
                        "quote": [
                            {
                                "open": list(close * 0.99),
                                "high": list(close * 1.02),
                                "low": list(close * 0.97),
                                "close": list(close),
                                "volume": [1_000 + i for i in range(len(days))],
                            }
                        ],
                        "adjclose": [{"adjclose": list(adj)}],
                    },
                }
            ],
        }
    }


class FakeResponse:
    def __init__(self, payload: dict, url: str) -> None:
        self._payload = payload
        self.text = json.dumps(payload)
        self.status_code = 200
        self.url = url

    def json(self) -> dict:
        return self._payload

    def raise_for_status(self) -> None:
        return None


@pytest.fixture
def yahoo(monkeypatch):
    """Fake Yahoo chart endpoint under yfinance's HTTP layer; returns the list of requests."""
    import yfinance.data as yfdata

    days = pd.bdate_range("2024-01-02", periods=15, tz="America/New_York")
    close = np.linspace(100.0, 114.0, len(days))
    adj = close * 0.5
    requests: list[tuple[str, dict]] = []

    def get(self, url, params=None, timeout=30):
        requests.append((url, dict(params or {})))
        symbol = url.rstrip("/").rsplit("/", 1)[-1]
        if symbol != "AAPL":
            payload = {
                "chart": {
                    "result": None,
                    "error": {
                        "code": "Not Found",
                        "description": "No data found, symbol may be delisted",
                    },
                }
            }
            return FakeResponse(payload, url)
        return FakeResponse(_chart_json(symbol, days, close, adj), url)

    monkeypatch.setattr(yfdata.YfData, "get", get)
    monkeypatch.setattr(yfdata.YfData, "cache_get", get)
    return {"requests": requests, "close": close, "adj": adj, "days": days}


def test_real_yfinance_parser(yahoo, yf_cache_dir, isolated_cache):
    out = load_prices("AAPL", "2024-01-01", "2024-02-01", field="all")
    assert list(out.columns.names) == ["Price", "Ticker"]
    assert out.index.name == "Date" and out.index.tz is None
    np.testing.assert_allclose(out[("Close", "AAPL")].to_numpy(), yahoo["adj"], rtol=1e-12)
    # auto_adjust: Open scaled by adj_close / close
    np.testing.assert_allclose(
        out[("Open", "AAPL")].to_numpy(), yahoo["close"] * 0.99 * 0.5, rtol=1e-12
    )
    assert out[("Volume", "AAPL")].dtype == np.int64
    assert any("/v8/finance/chart/AAPL" in url for url, _ in yahoo["requests"])
    n_requests = len(yahoo["requests"])
    again = load_prices("AAPL", "2024-01-03", "2024-01-20", field="all")
    assert len(yahoo["requests"]) == n_requests  # served from tsnode's cache
    pd.testing.assert_frame_equal(again, out.loc["2024-01-03":"2024-01-19"])
    # yfinance's own caches went to the tmp dir
    assert (yf_cache_dir / "tkr-tz.db").exists()


def test_real_yfinance_parser_tz_aware_bounds(yahoo):
    # The request reaches yfinance as date strings (it rejects times), rows are cut exactly.
    ny = "America/New_York"
    start, end = pd.Timestamp("2024-01-03", tz=ny), pd.Timestamp("2024-01-10", tz=ny)
    out = load_prices("AAPL", start, end)
    assert out.index[0] == pd.Timestamp("2024-01-03") and out.index[-1] == pd.Timestamp(
        "2024-01-09"
    )
    # Daily bars are tz-naive dates: a bound in any zone is read on its own wall clock.
    tokyo = load_prices("AAPL", start.tz_localize(None).tz_localize("Asia/Tokyo"), end)
    pd.testing.assert_frame_equal(tokyo, out)


def test_real_yfinance_parser_unknown_ticker(yahoo):
    with pytest.raises(DataError, match=r"\['NOPE'\].*no cached copy"):
        load_prices(["AAPL", "NOPE"], "2024-01-01", "2024-02-01")


def test_real_yfinance_network_down_falls_back(yahoo, monkeypatch):
    import yfinance.data as yfdata

    cached = load_prices("AAPL", "2024-01-01", "2024-02-01")
    monkeypatch.setattr(yfdata.YfData, "get", _blocked)
    monkeypatch.setattr(yfdata.YfData, "cache_get", _blocked)
    with pytest.warns(UserWarning, match="download failed"):
        out = load_prices("AAPL", "2023-12-01", "2024-02-01")
    pd.testing.assert_frame_equal(out, cached)


# ----------------------------------------------------------------------------- samples


def test_list_samples():
    table = data.list_samples()
    assert list(table.columns) == ["name", "first_date", "last_date", "rows"]
    assert table["name"].tolist() == SAMPLES
    aapl = table.set_index("name").loc["AAPL"]
    assert aapl["rows"] == 3270
    assert aapl["first_date"] == pd.Timestamp("2000-03-01")
    assert aapl["last_date"] == pd.Timestamp("2013-03-01")
    assert table.set_index("name").loc["GOOG", "first_date"] == pd.Timestamp("2004-08-19")


def test_load_sample_default_is_close():
    out = load_sample("aapl")
    assert list(out.columns) == ["AAPL"] and out.columns.name == "Ticker"
    assert out.index.name == "Date" and isinstance(out.index, pd.DatetimeIndex)
    assert out.index.is_monotonic_increasing and out.index.is_unique
    assert out["AAPL"].dtype == np.float64 and out["AAPL"].notna().all()
    assert out.shape == (3270, 1)
    # adjusted close (2:1 splits in 2000 and 2005 and 7:1 in 2014 are adjusted away)
    assert out["AAPL"].iloc[0] == pytest.approx(4.1867, abs=1e-4)
    pd.testing.assert_frame_equal(load_sample("AAPL", field="close"), out)


def test_load_sample_all_is_yfinance_layout():
    out = load_sample("IBM", field="all")
    assert list(out.columns.names) == ["Price", "Ticker"]
    assert [c for c, _ in out.columns] == ["Close", "High", "Low", "Open", "Volume"]
    assert out[("Volume", "IBM")].dtype == np.int64
    ohlc = out.xs("IBM", axis=1, level="Ticker")
    assert (ohlc["Low"] <= ohlc[["Open", "Close"]].min(axis=1)).all()
    assert (ohlc["High"] >= ohlc[["Open", "Close"]].max(axis=1)).all()
    assert (ohlc[["Open", "High", "Low", "Close"]] > 0).all().all()


def test_load_sample_several_names():
    out = load_sample(["MSFT", "goog"])
    assert list(out.columns) == ["MSFT", "GOOG"]
    assert len(out) == 3270
    assert out["GOOG"].first_valid_index() == pd.Timestamp("2004-08-19")
    assert out.loc[:"2004-08-18", "GOOG"].isna().all()


def test_load_sample_returns_fresh_copies():
    first = load_sample("FB")
    first.iloc[:, :] = 0.0
    assert (load_sample("FB") > 0).all().all()


def test_load_sample_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown sample 'APPL'.*AAPL.*Did you mean 'AAPL'"):
        load_sample("APPL")
    with pytest.raises(ValueError, match="field must be one of"):
        load_sample("AAPL", field="Adj")


def test_sample_and_downloaded_layouts_agree(monkeypatch):
    market = {
        name: load_sample(name, field="all").xs(name, axis=1, level="Ticker")
        for name in ("AAPL", "FB")
    }
    market = {k: v[list(data.FIELDS)] for k, v in market.items()}
    monkeypatch.setattr(yf, "download", FakeDownload(market))
    for field in ("Close", "all"):
        downloaded = load_prices(["FB", "AAPL"], "2000-01-01", "2013-03-02", field=field)
        pd.testing.assert_frame_equal(downloaded, load_sample(["FB", "AAPL"], field=field))


@pytest.mark.skipif(not (REPO / "data").is_dir(), reason="source checkout only")
def test_data_dir_links_to_package_copies():
    for name in SAMPLES:
        link = REPO / "data" / f"{name}.csv"
        assert link.is_file(), f"data/{name}.csv missing"
        assert link.resolve() == (REPO / "tsnode" / "sample_data" / f"{name}.csv").resolve()
    assert (REPO / "data" / "README.md").is_file()
    total = sum((REPO / "tsnode" / "sample_data" / f"{n}.csv").stat().st_size for n in SAMPLES)
    assert total < 2_000_000


def test_public_names_importable_from_the_module_and_the_package():
    import tsnode

    for name in [*data.__all__, "CACHE_ENV_VAR", "_read_cache", "_write_cache"]:
        assert hasattr(data, name), name
    for name in ("DataError", "load_prices", "load_sample", "list_samples"):
        assert getattr(tsnode, name) is getattr(data, name)
    assert data.FIELDS == ("Open", "High", "Low", "Close", "Volume")
