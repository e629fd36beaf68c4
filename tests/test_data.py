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
import warnings
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

    # yfinance >= 0.2.5x; older versions go through requests (blocked at the socket above)
    monkeypatch.setattr(yfdata.YfData, "_make_request", _blocked, raising=False)


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
    # no pickle, no temp leftovers; the (empty) lock file writers take turns with stays
    assert files == [".AAPL__1d.lock", "AAPL__1d.csv", "AAPL__1d.json"]
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


def freeze_now(monkeypatch, when: str) -> None:
    """Make ``load_prices`` see ``when`` (UTC) as the current time."""
    monkeypatch.setattr(data, "_utc_now", lambda: pd.Timestamp(when).tz_convert("UTC"))


def sidecar(cache: Path, name: str = "AAPL__1d.json") -> dict:
    return json.loads((cache / name).read_text())


def test_end_none_never_caches_today(fake, isolated_cache, monkeypatch):
    freeze_now(monkeypatch, "2024-03-05 15:00+00:00")  # the 2024-03-05 session is running
    out = load_prices("AAPL", "2024-02-01")
    assert fake.calls[0]["end"] is None and out.index[-1] == DATES[-1]
    assert pd.Timestamp(sidecar(isolated_cache)["end"]) == pd.Timestamp("2024-03-05")
    load_prices("AAPL", "2024-03-01")  # includes today: downloads again
    assert len(fake.calls) == 2
    before = load_prices("AAPL", "2024-02-01", "2024-03-05")  # ends before today: cached
    assert len(fake.calls) == 2 and before.index[-1] == pd.Timestamp("2024-03-04")


def test_partial_bar_of_a_running_session_is_replaced(monkeypatch, isolated_cache, market):
    final = market["AAPL"]
    partial = final.loc[:"2024-03-05"].copy()
    partial.loc["2024-03-05", "Close"] = 1.0  # the live, unfinished bar at 10:00 New York
    monkeypatch.setattr(yf, "download", FakeDownload({"AAPL": partial}))
    freeze_now(monkeypatch, "2024-03-05 15:00+00:00")
    assert load_prices("AAPL", "2024-01-02")["AAPL"].iloc[-1] == 1.0
    fake = FakeDownload({"AAPL": final})
    monkeypatch.setattr(yf, "download", fake)
    freeze_now(monkeypatch, "2024-03-08 12:00+00:00")
    out = load_prices("AAPL", "2024-03-01", "2024-03-06")
    assert len(fake.calls) == 1  # the partial bar was never claimed as covered
    assert out.loc["2024-03-05", "AAPL"] == final.loc["2024-03-05", "Close"]
    assert pd.Timestamp(sidecar(isolated_cache)["end"]) == pd.Timestamp("2024-03-06")


def test_session_not_started_is_not_claimed(monkeypatch, isolated_cache, market):
    # 03:00 UTC on 03-06 is the evening of 03-05 in New York: 03-05 is over, 03-06 not begun.
    monkeypatch.setattr(yf, "download", FakeDownload({"AAPL": market["AAPL"].loc[:"2024-03-05"]}))
    freeze_now(monkeypatch, "2024-03-06 03:00+00:00")
    load_prices("AAPL", "2024-01-02")
    assert pd.Timestamp(sidecar(isolated_cache)["end"]) == pd.Timestamp("2024-03-06")
    fake = FakeDownload(market)
    monkeypatch.setattr(yf, "download", fake)
    freeze_now(monkeypatch, "2024-03-07 03:00+00:00")
    assert load_prices("AAPL", "2024-03-01", "2024-03-05").index[-1].day == 4  # cached
    out = load_prices("AAPL", "2024-03-01", "2024-03-07")
    assert len(fake.calls) == 1 and out.index[-1] == pd.Timestamp("2024-03-06")


def test_intraday_end_none_is_not_frozen_for_the_day(hourly, isolated_cache, monkeypatch):
    frame, fake = hourly
    freeze_now(monkeypatch, "2024-03-12 18:00+00:00")
    load_prices("AAPL", "2024-03-11", interval="1m")
    load_prices("AAPL", "2024-03-11", interval="1m")
    assert len(fake.calls) == 2  # each call with end=None sees the new bars
    meta = sidecar(isolated_cache, "AAPL__1m.json")
    assert pd.Timestamp(meta["end"]) == pd.Timestamp("2024-03-12")
    out = load_prices("AAPL", "2024-03-11", "2024-03-12", interval="1m")  # yesterday: cached
    assert len(fake.calls) == 2 and len(out) == 24


def test_old_sidecar_claiming_the_download_day_is_cut_back(isolated_cache):
    # Sidecars written before the fix recorded coverage up to the day after the download.
    frame = make_ohlcv(DATES[:45], 1)
    now = pd.Timestamp("2024-03-05 15:00", tz="UTC")
    data._write_cache(isolated_cache, "AAPL", "1d", frame, None, pd.Timestamp("2024-03-06"), now)
    _, meta = data._read_cache(isolated_cache, "AAPL", "1d")
    assert meta["end"] == pd.Timestamp("2024-03-05")


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
    try:
        from yfinance.exceptions import YFRateLimitError
    except ImportError:  # yfinance < 0.2.54

        class YFRateLimitError(Exception):
            pass

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
    names = sorted(p.name for p in isolated_cache.iterdir())
    assert names == [".AAPL__1d.lock", "AAPL__1d.csv", "AAPL__1d.json"]


def test_corrupt_cache_is_ignored_with_warning(fake, isolated_cache):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    csv = isolated_cache / "AAPL__1d.csv"
    csv.write_text(csv.read_text()[:100])  # a half-written file
    with pytest.warns(UserWarning, match="unreadable cached prices"):
        out = load_prices("AAPL", "2024-01-01", "2024-02-01")
    assert len(out) == 22 and len(fake.calls) == 2


@pytest.mark.parametrize("text", ["[]", "null", '"x"', "3", "{}"])
def test_sidecar_not_a_json_object_is_a_corrupt_cache(fake, isolated_cache, text):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    (isolated_cache / "AAPL__1d.json").write_text(text)
    with pytest.warns(UserWarning, match="unreadable cached prices") as record:
        out = load_prices("AAPL", "2024-01-01", "2024-02-01")
    assert len(out) == 22 and len(fake.calls) == 2
    assert record[0].filename == __file__  # the warning points at the caller


@pytest.mark.parametrize("key", ["start", "end", "downloaded_at"])
def test_sidecar_dates_must_be_iso_strings(fake, isolated_cache, key):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    path = isolated_cache / "AAPL__1d.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), key: 12}))  # not 1970-01-01
    with pytest.warns(UserWarning, match=f"'{key}' is 12"):
        load_prices("AAPL", "2024-01-01", "2024-02-01")
    assert len(fake.calls) == 2


def _deny_cache(monkeypatch, cache: Path) -> None:
    """Make every lookup inside ``cache`` fail as in a directory without search permission."""
    original = Path.is_file

    def is_file(self):
        if self.parent == cache:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "is_file", is_file)


def test_unenterable_cache_dir_warns_and_downloads(fake, isolated_cache, monkeypatch):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    _deny_cache(monkeypatch, isolated_cache)
    with pytest.warns(UserWarning, match="Permission denied") as record:
        out = load_prices("AAPL", "2024-01-01", "2024-02-01")
    assert len(out) == 22 and len(fake.calls) == 2
    assert record[0].filename == __file__
    with pytest.warns(UserWarning), pytest.raises(DataError, match="Permission denied") as info:
        load_prices("AAPL", "2024-01-01", "2024-02-01", offline=True)
    assert "permissions" in str(info.value) and "offline=False" in str(info.value)
    monkeypatch.setattr(yf, "download", lambda *a, **k: yf_empty(("AAPL",)))
    with pytest.warns(UserWarning), pytest.raises(DataError, match="could not be read"):
        load_prices("AAPL", "2024-01-01", "2024-02-01")
    with pytest.raises(DataError, match="could not be read"):
        load_prices("AAPL", "2024-01-01", "2024-02-01", refresh=True)  # cannot even look


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
@pytest.mark.parametrize("mode", [0o000, 0o600])
def test_unenterable_cache_dir_real_permissions(fake, isolated_cache, mode):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    isolated_cache.chmod(mode)
    try:
        with pytest.warns(UserWarning, match="Permission denied"):
            assert len(load_prices("AAPL", "2024-01-01", "2024-02-01")) == 22
        with pytest.warns(UserWarning), pytest.raises(DataError, match="Permission denied"):
            load_prices("AAPL", "2024-01-01", "2024-02-01", offline=True)
    finally:
        isolated_cache.chmod(0o755)


def test_reader_retries_while_a_writer_is_between_renames(isolated_cache, monkeypatch):
    from tsnode import _price_cache

    now, end = pd.Timestamp("2024-04-01", tz="UTC"), pd.Timestamp("2024-03-29")
    old, new = make_ohlcv(DATES[:20], 1), make_ohlcv(DATES, 1)
    meta = isolated_cache / "AAPL__1d.json"
    data._write_cache(isolated_cache, "AAPL", "1d", old, None, end, now)
    old_meta = meta.read_bytes()
    data._write_cache(isolated_cache, "AAPL", "1d", new, None, end, now)
    new_meta = meta.read_bytes()
    meta.write_bytes(old_meta)  # the new CSV is in place, its sidecar not yet
    sleeps: list[float] = []

    def writer_finishes(seconds):
        sleeps.append(seconds)
        meta.write_bytes(new_meta)

    monkeypatch.setattr(_price_cache, "_sleep", writer_finishes)
    monkeypatch.setattr(yf, "download", _blocked)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the pair agrees again
        out = load_prices("AAPL", end="2024-03-29", offline=True)
    assert len(out) == len(DATES) and len(sleeps) == 1
    np.testing.assert_array_equal(out["AAPL"], new["Close"])


def _write_rounds(cache: str, rows: int, rounds: int, barrier, check: bool) -> None:
    """A writer process for the lock test: ``rounds`` simultaneous writes of a ``rows``-row
    frame; with ``check``, exit 1 if a round leaves a CSV that does not match its sidecar."""
    import hashlib
    from pathlib import Path

    frame = make_ohlcv(DATES[:rows], rows)
    now, end = pd.Timestamp("2024-04-15 12:00", tz="UTC"), pd.Timestamp("2024-03-01")
    for _ in range(rounds):
        barrier.wait()
        data._write_cache(Path(cache), "AAPL", "1d", frame, None, end, now)
        barrier.wait()  # every writer of this round is done
        if check:
            csv = (Path(cache) / "AAPL__1d.csv").read_bytes()
            meta = json.loads((Path(cache) / "AAPL__1d.json").read_text())
            if hashlib.sha256(csv).hexdigest() != meta["sha256"]:
                os._exit(1)
        barrier.wait()


def test_writers_of_one_entry_in_several_processes_leave_a_matching_pair(isolated_cache):
    # regression: with no lock, A's CSV, then B's CSV and sidecar, then A's sidecar left a
    # pair whose checksums never match (79 of 400 rounds of 3 writers): the copy was lost
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3, timeout=60)
    writers = [
        context.Process(
            target=_write_rounds, args=(str(isolated_cache), 20 + k, 40, barrier, k == 0)
        )
        for k in range(3)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=180)
    assert [writer.exitcode for writer in writers] == [0, 0, 0]


def test_reader_gives_up_on_a_lasting_mismatch(fake, isolated_cache, monkeypatch):
    from tsnode import _price_cache

    load_prices("AAPL", "2024-01-01", "2024-02-01")
    csv = isolated_cache / "AAPL__1d.csv"
    csv.write_text(csv.read_text().replace("2024-01-02", "2024-01-01", 1))
    sleeps: list[float] = []
    monkeypatch.setattr(_price_cache, "_sleep", sleeps.append)
    with pytest.warns(UserWarning, match="checksum"), pytest.raises(DataError, match="checksum"):
        load_prices("AAPL", "2024-01-01", "2024-02-01", offline=True)
    assert sleeps == list(_price_cache._RETRY_DELAYS) and sum(sleeps) < 1.0


def test_concurrent_writer_and_offline_reader(isolated_cache):
    import threading

    now = pd.Timestamp("2024-04-01", tz="UTC")
    frames = [make_ohlcv(DATES[:30], 1), make_ohlcv(DATES, 2)]
    data._write_cache(isolated_cache, "AAPL", "1d", frames[0], None, DATES[30], now)
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            frame = frames[i % 2]
            end = frame.index[-1] + pd.Timedelta(days=1)
            data._write_cache(isolated_cache, "AAPL", "1d", frame, None, end, now)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a mismatched pair would warn
            for _ in range(150):
                frame, meta = data._read_cache(isolated_cache, "AAPL", "1d")
                assert len(frame) == meta["rows"] in (30, len(DATES))
    finally:
        stop.set()
        thread.join()


def test_refresh_error_says_the_cached_copy_was_skipped(fake, isolated_cache, monkeypatch):
    load_prices("AAPL", "2024-01-01", "2024-02-01")
    monkeypatch.setattr(yf, "download", lambda *a, **k: yf_empty(("AAPL", "MSFT")))
    with pytest.raises(DataError, match="refresh=True skipped it") as info:
        load_prices("AAPL", "2024-01-01", "2024-02-01", refresh=True)
    message = str(info.value)
    assert "no cached copy" not in message and str(isolated_cache) in message
    assert "refresh=False" in message and "offline=True" in message
    with pytest.raises(DataError, match=r"\['AAPL'\] exists.*the others have none"):
        load_prices(["AAPL", "MSFT"], "2024-01-01", "2024-02-01", refresh=True)
    with pytest.raises(DataError, match="no cached copy exists"):
        load_prices("MSFT", "2024-01-01", "2024-02-01", refresh=True)


@pytest.mark.parametrize("field", ["Close", "all"])
def test_ticker_without_rows_gets_nan_column(monkeypatch, market, field):
    market = {**market, "NEW": make_ohlcv(DATES[40:], 9)}  # listed in March
    monkeypatch.setattr(yf, "download", FakeDownload(market))
    load_prices(["AAPL", "NEW"])  # the full history is cached
    with pytest.warns(UserWarning, match=r"No price rows for \['NEW'\].*all NaN") as record:
        out = load_prices(["AAPL", "NEW"], "2024-01-02", "2024-02-01", field=field)
    assert record[0].filename == __file__
    close = out if field == "Close" else out["Close"]
    assert list(close.columns) == ["AAPL", "NEW"] and len(close) == 22
    assert close["NEW"].isna().all() and close["AAPL"].notna().all()
    with pytest.raises(DataError, match="no trading sessions"):  # no ticker has rows
        load_prices(["AAPL", "NEW"], "2024-01-06", "2024-01-08")


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
                        # as Yahoo sends it; yfinance < 0.2.5x reads it
                        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "5y", "max"],
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

    def get(self, url, params=None, timeout=30, **kwargs):  # yfinance < 0.2.5x: proxy=
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


@pytest.mark.skipif(not (REPO / "data").is_dir(), reason="source checkout only")
def test_data_readme_states_volume_is_not_split_adjusted():
    text = " ".join((REPO / "data" / "README.md").read_text().split())
    assert "yfinance does not adjust it either" not in text
    assert "is **not** split-adjusted, unlike yfinance's" in text
    assert "4:1 split in 2020" in text  # not in the samples' factors, in Yahoo's today
    assert "they include splits after 2013" not in text


@pytest.mark.skipif(not (REPO / "examples").is_dir(), reason="source checkout only")
def test_quickstart_accepts_a_lower_case_ticker(tmp_path, monkeypatch, capsys):
    import importlib.util

    monkeypatch.setenv("TSNODE_QUICK", "1")
    spec = importlib.util.spec_from_file_location("quickstart", REPO / "examples" / "quickstart.py")
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    plot = tmp_path / "fc.png"
    out = quickstart.main(["--ticker", " aapl", "--horizon", "3", "--plot", str(plot)])
    assert plot.is_file() and "AAPL" in out["quantiles"].columns.get_level_values("series")
    assert "forecast for AAPL" in capsys.readouterr().out


def test_public_names_importable_from_the_module_and_the_package():
    import tsnode

    for name in [*data.__all__, "CACHE_ENV_VAR", "_read_cache", "_write_cache"]:
        assert hasattr(data, name), name
    for name in ("DataError", "load_prices", "load_sample", "list_samples"):
        assert getattr(tsnode, name) is getattr(data, name)
    assert data.FIELDS == ("Open", "High", "Low", "Close", "Volume")


class _LookbackDownload(FakeDownload):
    """Refuses (empty frame) any request starting before ``earliest``, like Yahoo's 60-day
    limit on intraday bars."""

    earliest = pd.Timestamp("2024-02-01")

    def __call__(self, tickers, start=None, end=None, **kwargs):
        if start is None or pd.Timestamp(start) < self.earliest:
            self.calls.append({"tickers": tickers, "start": start, "end": end, **kwargs})
            return yf_empty(tuple([tickers] if isinstance(tickers, str) else tickers))
        return super().__call__(tickers, start=start, end=end, **kwargs)


def test_a_failed_union_download_retries_the_requested_range_alone(
    monkeypatch, isolated_cache, market
):
    # regression: with an old cached copy the union of both ranges was requested, which Yahoo
    # refuses for intraday bars past its lookback, though it would serve the request itself
    monkeypatch.setattr(yf, "download", FakeDownload(market))
    load_prices(["AAPL", "MSFT"], "2024-01-10", "2024-01-20")  # the old copy
    lookback = _LookbackDownload(market)
    monkeypatch.setattr(yf, "download", lookback)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = load_prices(["AAPL", "MSFT"], "2024-03-01", "2024-03-15")
    assert out.index[0] == pd.Timestamp("2024-03-01") and out.notna().all().all()
    starts = [call["start"] for call in lookback.calls]
    assert starts == ["2024-01-10", "2024-03-01"]  # the union, then the request alone
    meta = json.loads((isolated_cache / "AAPL__1d.json").read_text())
    assert meta["start"].startswith("2024-03-01")  # the request replaced the copy


def test_intraday_tickers_are_downloaded_one_per_call_in_their_own_zone(
    monkeypatch, isolated_cache
):
    # regression: yfinance moves a multi-ticker intraday download to the most common exchange
    # zone, and each ticker was cached in it, so BP.L's zone depended on its companions
    index = pd.date_range("2024-03-11 08:00", periods=12, freq="h", tz="Europe/London")
    bp = make_ohlcv(pd.DatetimeIndex(list(index), name="Datetime"), 4)
    ny = pd.DatetimeIndex(list(index.tz_convert(NY)), name="Datetime")
    fake = FakeDownload({"AAPL": make_ohlcv(ny, 5), "BP.L": bp})
    monkeypatch.setattr(yf, "download", fake)
    both = load_prices(["AAPL", "BP.L"], "2024-03-11", "2024-03-12", interval="1h", field="all")
    assert [call["tickers"] for call in fake.calls] == ["AAPL", "BP.L"]
    assert both is not None
    alone = load_prices("BP.L", "2024-03-11", "2024-03-12", interval="1h", offline=True)
    assert str(alone.index.tz) == "Europe/London" and len(alone) == 12


# ----------------------------------------------------------------------------- cache entries


def test_coverage_ends_at_the_earlier_of_the_utc_and_the_datas_date():
    # regression: at 01:30 UTC on 5 March it is 20:30 on 4 March in New York; 4 March (bars
    # still to come for a 24-hour future) was recorded as covered
    from tsnode._price_cache import _coverage_end

    now = pd.Timestamp("2024-03-05 01:30", tz="UTC")
    assert _coverage_end(None, None, now) == pd.Timestamp("2024-03-05")
    assert _coverage_end(None, None, now, "America/New_York") == pd.Timestamp("2024-03-04")
    assert _coverage_end(None, None, now, "Asia/Tokyo") == pd.Timestamp("2024-03-05")


def test_an_intraday_download_of_all_history_records_the_rows_it_got(isolated_cache):
    # regression: yfinance's period="max" is 8 days of 1m bars, yet the cache recorded
    # start=None ("all history") and served later, earlier starts from those 8 days
    from tsnode._price_cache import _store

    bars = pd.date_range("2024-03-07 09:30", periods=30, freq="min", tz="America/New_York")
    frame = make_ohlcv(pd.DatetimeIndex(bars, name="Datetime"), 3)
    now = pd.Timestamp("2024-03-15 12:00", tz="UTC")
    _store(isolated_cache, "AAPL", "1m", frame, (None, None), now, None)
    meta = json.loads((isolated_cache / "AAPL__1m.json").read_text())
    assert meta["start"].startswith("2024-03-07")
    _store(isolated_cache, "MSFT", "1d", make_ohlcv(DATES, 4), (None, None), now, None)
    assert json.loads((isolated_cache / "MSFT__1d.json").read_text())["start"] is None


def test_a_changed_adjustment_is_warned_about_when_the_copy_is_replaced(isolated_cache):
    # regression: after a 4:1 split the cached copy was replaced in silence, so frames
    # loaded before sat on another price basis
    from tsnode._price_cache import _read_cache, _store

    now = pd.Timestamp("2024-04-15 12:00", tz="UTC")
    old = make_ohlcv(DATES[:40], 5)
    _store(isolated_cache, "AAPL", "1d", old, (None, DATES[40]), now, None)
    previous = _read_cache(isolated_cache, "AAPL", "1d")
    same = make_ohlcv(DATES, 5)
    same.iloc[:40] = old.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same basis: no warning
        _store(isolated_cache, "AAPL", "1d", same, (None, DATES[-1]), now, previous)
    split = same.copy()
    split[["Open", "High", "Low", "Close"]] /= 4
    with pytest.warns(UserWarning, match=r"adjusted prices of 'AAPL' changed .* x0\.25"):
        _store(isolated_cache, "AAPL", "1d", split, (None, DATES[-1]), now, previous)


def test_a_failed_share_class_symbol_gets_the_dashed_form(fake):
    with pytest.raises(DataError, match=r"if 'BRK.B' is a US share class, Yahoo writes it 'BRK-B'"):
        load_prices("BRK.B", "2024-01-01", "2024-02-01")
    with pytest.raises(DataError, match="widen start/end") as err:
        load_prices("NOPE", "2024-01-01", "2024-02-01")
    assert "share class" not in str(err.value)
    with pytest.raises(DataError) as err:  # no bounds given: nothing to widen
        load_prices("NOPE")
    assert "widen" not in str(err.value)


def test_an_old_intraday_sidecar_claiming_all_history_is_read_as_its_first_day(isolated_cache):
    # review: entries written before intraday starts were recorded kept answering earlier
    # starts from a few days of bars
    from tsnode._price_cache import _read_cache

    bars = pd.date_range("2024-03-07 09:30", periods=30, freq="min", tz="America/New_York")
    frame = make_ohlcv(pd.DatetimeIndex(bars, name="Datetime"), 3)
    now = pd.Timestamp("2024-03-15 12:00", tz="UTC")
    data._write_cache(isolated_cache, "AAPL", "1m", frame, None, pd.Timestamp("2024-03-15"), now)
    _, meta = _read_cache(isolated_cache, "AAPL", "1m")
    assert meta["start"] == pd.Timestamp("2024-03-07")


def test_refresh_warns_about_a_changed_adjustment_and_a_lock_timeout_is_explained(
    isolated_cache, monkeypatch
):
    # review: refresh=True did not read the cached copy, so a split went unnoticed; and a
    # lock timeout said "the cache now holds the new basis" and "pass a writable cache_dir"
    from filelock import Timeout

    from tsnode import _price_cache
    from tsnode._price_cache import _store

    now = pd.Timestamp("2024-04-15 12:00", tz="UTC")
    old = make_ohlcv(DATES, 5)
    _store(isolated_cache, "AAPL", "1d", old, (None, DATES[-1]), now, None)
    split = old.copy()
    split[["Open", "High", "Low", "Close"]] /= 4
    with pytest.warns(UserWarning, match="adjusted prices of 'AAPL' changed"):
        _store(isolated_cache, "AAPL", "1d", split, (None, DATES[-1]), now, None)

    class Held:
        def __init__(self, path, timeout):
            self.path = path

        def __enter__(self):
            raise Timeout(str(self.path))

        def __exit__(self, *args):
            return False

    monkeypatch.setattr(_price_cache, "FileLock", Held)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _store(isolated_cache, "AAPL", "1d", old, (None, DATES[-1]), now, None)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "it was not cached this time" in messages[0]
    assert "writable" not in messages[0]


def test_only_a_copy_ending_on_its_download_day_may_hold_forming_rows():
    # review: the fallback warning said every served copy's last rows were "still forming"
    from tsnode._price_cache import _ends_on_download_day

    day = {"end": pd.Timestamp("2024-03-05"), "downloaded_at": "2024-03-05T15:00:00+00:00"}
    old = {"end": pd.Timestamp("2024-02-01"), "downloaded_at": "2024-04-15T12:00:00+00:00"}
    assert _ends_on_download_day([day]) and _ends_on_download_day([old, day])
    assert not _ends_on_download_day([old])
