"""Price data: a cached yfinance loader and the samples shipped with tsnode.

``load_prices`` downloads daily (or intraday) OHLCV bars with :func:`yfinance.download`
(``auto_adjust=True``) and keeps one CSV per ticker and interval in a local cache, with a
JSON sidecar (covered range, download time, checksum). Calls whose range is covered by the
cache never touch the network; ``offline=True`` never does.

``load_sample`` returns one of the real price histories shipped inside the package
(see ``list_samples``) in exactly the layout ``load_prices`` gives, so examples and tests
work without a network.

Layout of the returned frames (both functions):

- ``field="Close"`` (or any one of ``Open, High, Low, Close, Volume``): a wide frame on a
  sorted ``DatetimeIndex`` (named ``Date``; ``Datetime`` for intraday bars), one column per
  ticker in the order requested (named ``Ticker``); NaN where a ticker has no bar.
- ``field="all"``: yfinance's own ``download`` layout, columns a ``MultiIndex``
  ``(Price, Ticker)`` with both levels sorted alphabetically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import logging
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from tsnode._price_cache import (
    _PRICES,
    FIELDS,
    _cache_note,
    _covers,
    _download_groups,
    _ends_on_download_day,
    _parse_ohlcv_csv,
    _read_cache,
    _request_range,
    _share_class_hint,
    _store,
    _write_cache,  # noqa: F401 (re-exported: tests and tools write cache entries)
)

__all__ = ["DataError", "FIELDS", "get_cache_dir", "list_samples", "load_prices", "load_sample"]

#: Environment variable overriding the default cache directory.
CACHE_ENV_VAR = "TSNODE_CACHE_DIR"
_VALID_INTERVALS = tuple("1m 2m 5m 15m 30m 60m 90m 1h 1d 5d 1wk 1mo 3mo".split())
_SAMPLE_PACKAGE = "tsnode"
_SAMPLE_DIR = "sample_data"


class DataError(ValueError):
    """Price data could not be obtained (download failed and no usable cached copy)."""


# ----------------------------------------------------------------------------- arguments


def _utc_now() -> pd.Timestamp:
    """The current time, tz-aware in UTC (a seam for tests)."""
    return pd.Timestamp.now(tz="UTC")


def get_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory used to cache downloaded prices.

    Parameters
    ----------
    cache_dir : str or PathLike, optional
        Explicit directory; wins over everything else.

    Returns
    -------
    Path
        ``cache_dir`` if given, else ``$TSNODE_CACHE_DIR`` if set and non-empty, else
        ``<platform user cache dir>/tsnode/prices`` (via platformdirs). Not created here.
    """
    if cache_dir is not None:
        if not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(
                f"cache_dir must be a str, a path or None; got {type(cache_dir).__name__}. "
                "Pass a directory path, e.g. cache_dir='~/.cache/tsnode'."
            )
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("tsnode", appauthor=False)) / "prices"


def _normalize_tickers(tickers: str | Sequence[str], name: str = "tickers") -> list[str]:
    if isinstance(tickers, str):
        items = [t for t in re.split(r"[,\s]+", tickers) if t]
    elif isinstance(tickers, Sequence) or isinstance(tickers, (pd.Index, set, frozenset)):
        items = list(tickers)
    else:
        raise TypeError(
            f"{name} must be a string or a sequence of strings; got {type(tickers).__name__}. "
            f"Pass e.g. {name}='AAPL' or {name}=['AAPL', 'MSFT']."
        )
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise TypeError(
                f"{name} must contain non-empty strings; got {item!r}. "
                f"Pass ticker symbols such as 'AAPL'."
            )
        symbol = item.strip().upper()
        if symbol not in out:
            out.append(symbol)
    if not out:
        raise ValueError(f"{name} is empty; pass at least one ticker symbol, e.g. 'AAPL'.")
    return out


def _normalize_field(field: str) -> str:
    if not isinstance(field, str):
        raise TypeError(
            f"field must be a string; got {type(field).__name__}. "
            f"Use one of {list(FIELDS)} or 'all'."
        )
    lookup = {f.lower(): f for f in FIELDS}
    lookup["all"] = "all"
    key = field.strip().lower()
    if key == "adj close":
        raise ValueError(
            "field='Adj Close' is not available: prices are auto-adjusted (yfinance's "
            "auto_adjust=True), so 'Close' already is the adjusted close. Use field='Close'."
        )
    if key not in lookup:
        raise ValueError(f"field must be one of {list(FIELDS)} or 'all'; got {field!r}.")
    return lookup[key]


def _to_bound(value: Any, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, dt.date, pd.Timestamp)):
        raise TypeError(
            f"{name} must be None, a date string ('2020-01-31'), a date or a Timestamp; "
            f"got {type(value).__name__}."
        )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{name}={value!r} is not a valid date; pass an ISO date such as '2020-01-31'."
        ) from err
    if pd.isna(stamp):
        raise ValueError(f"{name} must be a valid date or None; got {value!r}.")
    return stamp  # a tz-aware bound keeps its zone: it is an instant (see _slice)


def _check_interval(interval: str) -> str:
    if not isinstance(interval, str) or interval not in _VALID_INTERVALS:
        raise ValueError(f"interval must be one of {list(_VALID_INTERVALS)}; got {interval!r}.")
    return interval


# ----------------------------------------------------------------------------- yfinance


@contextlib.contextmanager
def _capture_yfinance_errors() -> Iterator[list[str]]:
    messages: list[str] = []

    class _Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage().strip()
            if text and not re.fullmatch(r"\d+ Failed downloads?:", text):
                messages.append(text)

    handler = _Collector(level=logging.ERROR)
    logger = logging.getLogger("yfinance")
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _extract(raw: Any, ticker: str) -> pd.DataFrame | None:
    """Pull one ticker's OHLCV out of a ``yf.download`` frame; None if it has no data."""
    if not isinstance(raw, pd.DataFrame) or raw.empty:
        return None
    columns = raw.columns
    if isinstance(columns, pd.MultiIndex):
        names = list(columns.names)
        if "Ticker" in names:
            level = names.index("Ticker")
        else:
            level = next(
                (i for i in range(columns.nlevels) if ticker in columns.get_level_values(i)),
                None,
            )
        if level is None or ticker not in columns.get_level_values(level):
            return None
        sub = raw.xs(ticker, axis=1, level=level)
    else:
        sub = raw
    if any(f not in sub.columns for f in FIELDS) or not isinstance(sub.index, pd.DatetimeIndex):
        return None
    sub = sub[list(FIELDS)].dropna(how="all", subset=list(_PRICES))
    if sub.empty:
        return None
    sub = sub.astype({c: "float64" for c in _PRICES})
    volume = sub["Volume"]
    if volume.notna().all():
        sub["Volume"] = volume.round().astype("int64")
    sub = sub.sort_index()
    sub = sub[~sub.index.duplicated(keep="last")]
    sub.columns = pd.Index(list(FIELDS))
    sub.index = sub.index.rename(raw.index.name or "Date")
    return sub


def _reason_for(ticker: str, messages: list[str]) -> str:
    """yfinance's logged error(s) about ``ticker``, without its ``$T:``/``['T']:`` prefixes."""
    own = [m for m in messages if f"${ticker}:" in m or f"'{ticker}'" in m] or messages
    reasons: list[str] = []
    for message in own:
        text = re.sub(r"^(\$\S+:\s*|\[[^\]]*\]:\s*)", "", message).strip()
        if text and text not in reasons:
            reasons.append(text)
    return "; ".join(reasons) or "yfinance returned an empty or all-NaN frame"


def _download(
    tickers: list[str], start: pd.Timestamp | None, end: pd.Timestamp | None, interval: str
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Download ``tickers`` over ``[start, end)``.

    Returns the per-ticker OHLCV frames that came back and, for the others, yfinance's reason.
    Intraday tickers are downloaded one per call: together, yfinance moves them all to the
    most common exchange time zone.
    """
    import yfinance as yf

    if len(tickers) > 1 and interval[-1] in "mh":  # 1m .. 90m, 1h (not 1mo/3mo)
        frames, reasons = {}, {}
        for ticker in tickers:
            got, why = _download([ticker], start, end, interval)
            frames, reasons = {**frames, **got}, {**reasons, **why}
        return frames, reasons
    kwargs: dict[str, Any] = {
        "start": None if start is None else start.strftime("%Y-%m-%d %H:%M:%S"),
        "end": None if end is None else end.strftime("%Y-%m-%d %H:%M:%S"),
        "interval": interval,
        "auto_adjust": True,
        "actions": False,
        "progress": False,
        "threads": len(tickers) > 1,
        "group_by": "column",
    }
    if start is None:
        kwargs["period"] = "max"
    # Daily bars are requested by date, as yfinance users do.
    for key in ("start", "end"):
        if kwargs[key] is not None and kwargs[key].endswith(" 00:00:00"):
            kwargs[key] = kwargs[key][:10]
    try:
        with _capture_yfinance_errors() as messages, warnings.catch_warnings():
            # yfinance's own pandas deprecation noise is not actionable for our users.
            warnings.filterwarnings("ignore", module=r"yfinance(\.|$)")
            raw = yf.download(tickers if len(tickers) > 1 else tickers[0], **kwargs)
    except Exception as err:  # yfinance raises for rate limits and some network errors
        return {}, {t: f"{type(err).__name__}: {err}" for t in tickers}
    frames: dict[str, pd.DataFrame] = {}
    reasons: dict[str, str] = {}
    for ticker in tickers:
        frame = _extract(raw, ticker)
        if frame is None:
            reasons[ticker] = _reason_for(ticker, messages)
        else:
            frames[ticker] = frame
    return frames, reasons


# ----------------------------------------------------------------------------- assembly


def _bound_in(stamp: pd.Timestamp, tz: Any) -> pd.Timestamp:
    """``stamp`` comparable with an index in zone ``tz`` (None: a naive index)."""
    if stamp.tzinfo is not None:
        # An instant: converted to the index's zone. A naive index (yfinance's daily bars) is
        # local exchange time in an unknown zone: the bound's own wall-clock time is used.
        return stamp.tz_localize(None) if tz is None else stamp.tz_convert(tz)
    if tz is None:
        return stamp
    # Wall-clock time in the data's zone, like yfinance: a time skipped by a DST change moves
    # forward to the change, a repeated one means its first occurrence.
    return stamp.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")


def _slice(
    frame: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> pd.DataFrame:
    """Rows in ``[start, end)``: naive bounds are wall-clock times in the index's time zone,
    tz-aware bounds are instants (see :func:`_bound_in`)."""
    tz = getattr(frame.index, "tz", None)
    if start is not None:
        frame = frame.loc[frame.index >= _bound_in(start, tz)]
    if end is not None:
        frame = frame.loc[frame.index < _bound_in(end, tz)]
    return frame


def _assemble(frames: dict[str, pd.DataFrame], tickers: list[str], field: str) -> pd.DataFrame:
    """Combine per-ticker OHLCV frames into the documented wide or yfinance layout."""
    if field == "all":
        ordered = sorted(tickers)
        out = pd.concat(
            [frames[t] for t in ordered], axis=1, keys=ordered, names=["Ticker", "Price"], sort=True
        )
        out = out.swaplevel(0, 1, axis=1).sort_index(axis=1, level=[0, 1])
    else:
        out = pd.concat([frames[t][field].rename(t) for t in tickers], axis=1, sort=True)
        out.columns = pd.Index(tickers, name="Ticker")
    names = {f.index.name for f in frames.values()}
    out.index.name = names.pop() if len(names) == 1 else "Date"
    return out.sort_index()


def _describe_range(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str:
    lo = "the first available date" if start is None else str(start.date())
    hi = "today" if end is None else f"{end.date()} (exclusive)"
    return f"{lo} to {hi}"


# ----------------------------------------------------------------------------- public API


def load_prices(
    tickers: str | Sequence[str],
    start: str | dt.date | pd.Timestamp | None = None,
    end: str | dt.date | pd.Timestamp | None = None,
    *,
    field: str = "Close",
    interval: str = "1d",
    cache_dir: str | os.PathLike[str] | None = None,
    offline: bool = False,
    refresh: bool = False,
) -> pd.DataFrame:
    """Load adjusted prices from Yahoo Finance (via yfinance), through a local cache.

    Parameters
    ----------
    tickers : str or sequence of str
        Ticker symbols (``"AAPL"``, ``["AAPL", "MSFT"]`` or ``"AAPL MSFT"``); upper-cased,
        duplicates dropped.
    start, end : str, date or Timestamp, optional
        Half-open range ``[start, end)`` as in yfinance (``end`` is exclusive). ``start=None``
        means the first available date, ``end=None`` means up to today. Naive bounds (strings,
        dates, naive Timestamps) are wall-clock times in the data's time zone (the exchange's),
        as yfinance reads them. A tz-aware bound is that instant, compared with the data in
        the data's zone; against tz-naive data (yfinance's daily bars) its own wall-clock time
        is used.
    field : str, default "Close"
        One of ``Open, High, Low, Close, Volume`` (case-insensitive) for a wide frame, or
        ``"all"`` for yfinance's ``(Price, Ticker)`` MultiIndex layout.
    interval : str, default "1d"
        A yfinance bar size (``1d``, ``1wk``, ``1h``, ...). Each interval is cached separately.
    cache_dir : str or PathLike, optional
        Cache directory; default ``$TSNODE_CACHE_DIR`` or the platform's user cache dir
        (see :func:`get_cache_dir`).
    offline : bool, default False
        Serve only from the cache; never touch the network.
    refresh : bool, default False
        Ignore cached copies and download again (the cache is overwritten).

    Returns
    -------
    DataFrame
        ``field`` given: shape ``(n_dates, n_tickers)``, index a sorted ``DatetimeIndex``
        (``Date``; ``Datetime`` intraday, in UTC when the exchanges' zones differ), columns
        the tickers in the requested order, NaN where a ticker has no bar. ``field="all"``:
        shape ``(n_dates, 5 * n_tickers)``, columns ``MultiIndex (Price, Ticker)`` sorted as
        yfinance sorts them.

    Raises
    ------
    DataError
        If some tickers could not be downloaded and have no usable cached copy, or
        ``offline=True`` and some tickers are not cached (or unreadable), or no ticker has
        rows in the range.

    Notes
    -----
    Prices are auto-adjusted (yfinance's ``auto_adjust=True``): Close is the split- and
    dividend-adjusted close and Open/High/Low are scaled by the same factor. Because
    adjustments change whenever a dividend is paid, a cached copy is only ever replaced as a
    whole (a request outside the cached range downloads the union of both ranges, or the
    request alone if that fails), never patched row by row. A request is served from the
    cache when the cached range contains it. The cache never counts the current UTC date as covered (a session may still be running),
    so a request with ``end=None`` or an ``end`` after today always downloads. If a download
    fails and a cached copy exists, the cached rows are returned with a warning. A ticker
    without rows in the range gets an all-NaN column and a warning if a cached copy shows
    it exists; else :class:`DataError` (yfinance answers an unknown symbol and a range before
    a listing alike, e.g. FB before 2012-05-18).
    """
    symbols = _normalize_tickers(tickers)
    field = _normalize_field(field)
    interval = _check_interval(interval)
    start_ts = _to_bound(start, "start")
    end_ts = _to_bound(end, "end")
    if start_ts is not None and end_ts is not None:
        if (start_ts.tzinfo is None) == (end_ts.tzinfo is None):
            reversed_ = start_ts >= end_ts
        else:  # one naive bound: compare both as wall-clock times (the same zone assumed)
            reversed_ = start_ts.tz_localize(None) >= end_ts.tz_localize(None)
        if reversed_:
            raise ValueError(
                f"start must be before end (end is exclusive); got start={start!r}, end={end!r}."
            )
    for flag, value in (("offline", offline), ("refresh", refresh)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be True or False; got {value!r}.")
    if offline and refresh:
        raise ValueError(
            "offline=True and refresh=True contradict each other: refresh downloads again. "
            "Drop one of them."
        )
    directory = get_cache_dir(cache_dir)
    now = _utc_now()
    tomorrow = now.tz_localize(None).normalize() + pd.Timedelta(days=1)
    # The cache and the downloads work on whole, naive dates; the rows are cut to exactly
    # [start_ts, end_ts) at the end.
    req_start, req_end = _request_range(start_ts, end_ts)
    want_end = tomorrow if req_end is None else min(req_end, tomorrow)

    cached: dict[str, tuple[pd.DataFrame, dict[str, Any]] | None] = {}
    unreadable: dict[str, str] = {}
    for ticker in [] if refresh else symbols:  # a loop: the warnings' stacklevel is exact
        cached[ticker] = _read_cache(directory, ticker, interval, unreadable)
    frames: dict[str, pd.DataFrame] = {}
    fallback: list[str] = []
    for ticker, entry in cached.items():
        if entry is not None and (offline or _covers(entry[1], req_start, want_end)):
            frames[ticker] = entry[0]
            if offline and not _covers(entry[1], req_start, want_end):
                fallback.append(ticker)

    if offline:
        missing = [t for t in symbols if t not in frames]
        if missing:
            bad = "; ".join(f"{t}: {unreadable[t]}" for t in missing if t in unreadable)
            raise DataError(
                f"offline=True but no cached prices for {missing} (interval {interval!r})"
                f" in {directory}"
                + (f"; unreadable cached copies: {bad}" if bad else "")
                + ". Run once with offline=False to download them, "
                + ("fix the cache's permissions or delete the broken files, " if bad else "")
                + "or pass the cache_dir that holds them."
            )
    else:
        todo = [t for t in symbols if t not in frames]
        failed: dict[str, str] = {}
        for (lo, hi), group in _download_groups(todo, cached, req_start, req_end).items():
            got, reasons = _download(group, lo, hi, interval)
            spans = {t: (lo, hi) for t in got}
            retry = [t for t in group if t not in got]
            if retry and (lo, hi) != (req_start, req_end):  # a failed union (intraday
                # lookback): the request alone, which then replaces the cached copy
                again, reasons_again = _download(retry, req_start, req_end, interval)
                got, reasons = {**got, **again}, {**reasons, **reasons_again}
                spans.update({t: (req_start, req_end) for t in again})
            for ticker in group:
                if ticker in got:
                    frames[ticker] = got[ticker]  # cached; coverage never today or later
                    previous = cached.get(ticker)
                    _store(directory, ticker, interval, got[ticker], spans[ticker], now, previous)
                else:
                    failed[ticker] = reasons[ticker]
        hopeless = [t for t in failed if cached.get(t) is None]
        if hopeless:
            said = "; ".join(f"{t}: {failed[t]}" for t in hopeless)
            note = _cache_note(directory, hopeless, interval, refresh, unreadable)
            dash = _share_class_hint(hopeless)
            bounds = start_ts is not None or end_ts is not None
            raise DataError(
                f"Could not download prices for {hopeless} ({_describe_range(start_ts, end_ts)}, "
                f"interval {interval!r}) and {note}. yfinance said: {said}. Check the ticker "
                f"symbols{dash} and your internet connection, "
                + "widen start/end (the range may hold no sessions: a weekend, a holiday, "
                "before the listing), "
                * bounds
                + "or use tsnode.data.load_sample() for offline data."
            )
        for ticker in failed:
            frames[ticker] = cached[ticker][0]
            fallback.append(ticker)

    if fallback:
        spans = ", ".join(
            f"{t}: {_describe_range(cached[t][1]['start'], cached[t][1]['end'])}, "
            f"downloaded {cached[t][1]['downloaded_at'][:16]}"
            for t in fallback
        )
        why = "offline=True" if offline else "the download failed"
        forming = _ends_on_download_day([cached[t][1] for t in fallback])
        partial = "; rows from a range's end on may have been still forming" * forming
        warnings.warn(
            f"Serving cached prices that may not cover the requested range because {why} "
            f"({spans}){partial}. Use offline=False / check the connection to update them.",
            stacklevel=2,
        )

    frames = {t: _slice(frames[t], start_ts, end_ts) for t in symbols}
    empty = [t for t in symbols if frames[t].empty]
    stale = [t for t in empty if t in fallback]
    if stale or len(empty) == len(symbols):
        empty = empty if len(empty) == len(symbols) else stale
        detail = (
            f"the cached copies of {stale} in {directory} do not overlap this range and "
            + ("offline=True" if offline else "the download failed")
            if stale
            else "there are no trading sessions in this range"
        )
        raise DataError(
            f"No price rows for {empty} between {_describe_range(start_ts, end_ts)} "
            f"(interval {interval!r}): {detail}. Widen start/end"
            + ("." if not stale else ", or download again with a working connection.")
        )
    if empty:
        warnings.warn(
            f"No price rows for {empty} between {_describe_range(start_ts, end_ts)} (interval "
            f"{interval!r}): their columns are all NaN. They may not have traded then (e.g. "
            "before a listing); widen start/end or drop them to silence this warning.",
            stacklevel=2,
        )
    return _assemble(frames, symbols, field)


# ----------------------------------------------------------------------------- samples


def _sample_files() -> dict[str, Any]:
    folder = resources.files(_SAMPLE_PACKAGE).joinpath(_SAMPLE_DIR)
    return {
        entry.name[: -len(".csv")].upper(): entry
        for entry in folder.iterdir()
        if entry.name.endswith(".csv") and not entry.name.startswith(".")
    }


@cache
def _read_sample(name: str) -> pd.DataFrame:
    with _sample_files()[name].open("rb") as fh:
        frame = _parse_ohlcv_csv(fh)
    frame.index.name = "Date"
    return frame


def list_samples() -> pd.DataFrame:
    """List the price samples shipped with tsnode.

    Returns
    -------
    DataFrame, shape (n_samples, 4)
        Columns ``name, first_date, last_date, rows``, sorted by name.
    """
    rows = []
    for name in sorted(_sample_files()):
        frame = _read_sample(name)
        rows.append(
            {
                "name": name,
                "first_date": frame.index[0],
                "last_date": frame.index[-1],
                "rows": len(frame),
            }
        )
    return pd.DataFrame(rows, columns=["name", "first_date", "last_date", "rows"])


def load_sample(name: str | Sequence[str], *, field: str | None = None) -> pd.DataFrame:
    """Load real daily prices shipped with tsnode (no network needed).

    The samples are Quandl WIKI end-of-day prices (public domain), auto-adjusted like
    yfinance's default; see ``list_samples()`` for names and date ranges.

    Parameters
    ----------
    name : str or sequence of str
        Sample name(s) = ticker(s), case-insensitive, e.g. ``"AAPL"``, ``["AAPL", "MSFT"]``.
    field : str, optional
        ``None`` (default) or ``"Close"``: adjusted close. Any of ``Open, High, Low, Close,
        Volume``, or ``"all"`` for the full OHLCV frame in yfinance's layout.

    Returns
    -------
    DataFrame
        Same layout as :func:`load_prices`: shape ``(n_dates, n_names)`` with one column per
        name (requested order, NaN before a series starts), or for ``field="all"`` columns
        ``MultiIndex (Price, Ticker)``. The index is a ``DatetimeIndex`` named ``Date``.
        A new frame each call: modifying it does not affect later calls.
    """
    names = _normalize_tickers(name, "name")
    field = _normalize_field("Close" if field is None else field)
    available = sorted(_sample_files())
    for item in names:
        if item not in available:
            close = difflib.get_close_matches(item, available, n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Unknown sample {item!r}; available samples: {available}.{hint}")
    frames = {item: _read_sample(item).copy() for item in names}
    return _assemble(frames, names, field)
