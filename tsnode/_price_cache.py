"""The on-disk price cache of :func:`tsnode.data.load_prices` (private).

One CSV per ticker and interval (OHLCV, written with full float precision) plus a JSON
sidecar recording the covered range ``[start, end)``, the download time, the time zone and
a SHA-256 checksum of the CSV. Both files are written atomically (temporary file +
``os.replace``), the CSV first and the sidecar last; a copy whose CSV does not match its
sidecar's checksum or format (e.g. after a crash between the two writes) is ignored with a
warning and downloaded again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

#: OHLCV columns of every per-ticker frame, in yfinance's per-ticker order.
FIELDS: tuple[str, ...] = ("Open", "High", "Low", "Close", "Volume")
_PRICES = FIELDS[:4]
_CACHE_FORMAT = 1
# pandas < 3 parses floats with a fast but inexact converter unless asked; pandas 3 is exact
# by default and deprecates the option.
_EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def _cache_paths(cache_dir: Path, ticker: str, interval: str) -> tuple[Path, Path]:
    stem = f"{quote(ticker, safe='')}__{interval}"
    return cache_dir / f"{stem}.csv", cache_dir / f"{stem}.json"


def _atomic_write(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _frame_to_csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def _write_cache(
    cache_dir: Path,
    ticker: str,
    interval: str,
    frame: pd.DataFrame,
    start: pd.Timestamp | None,
    end: pd.Timestamp,
    downloaded_at: pd.Timestamp,
) -> None:
    """Store ``frame`` (shape (n_rows, 5), OHLCV) for ``[start, end)``: CSV first, sidecar last."""
    csv_path, meta_path = _cache_paths(cache_dir, ticker, interval)
    payload = _frame_to_csv(frame)
    tz = getattr(frame.index, "tz", None)
    meta = {
        "format": _CACHE_FORMAT,
        "source": "yfinance",
        "ticker": ticker,
        "interval": interval,
        "start": None if start is None else start.isoformat(),
        "end": end.isoformat(),
        "downloaded_at": downloaded_at.isoformat(),
        "rows": len(frame),
        "first": frame.index[0].isoformat(),
        "last": frame.index[-1].isoformat(),
        "tz": None if tz is None else str(tz),
        "index_name": frame.index.name,
        "index_unit": getattr(frame.index, "unit", None),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    _atomic_write(csv_path, payload)
    _atomic_write(meta_path, (json.dumps(meta, indent=1) + "\n").encode("utf-8"))


def _parse_ohlcv_csv(source: Any, tz: str | None = None) -> pd.DataFrame:
    frame = pd.read_csv(source, index_col=0, **_EXACT_FLOATS)
    missing = [c for c in FIELDS if c not in frame.columns]
    if missing:
        raise ValueError(f"missing columns {missing}")
    name = frame.index.name
    if tz is None:
        index = pd.DatetimeIndex(pd.to_datetime(frame.index, format="ISO8601"))
    else:
        index = pd.DatetimeIndex(pd.to_datetime(frame.index, format="ISO8601", utc=True))
        index = index.tz_convert(tz)
    frame.index = index.rename(name)
    frame = frame[list(FIELDS)].astype({c: "float64" for c in _PRICES})
    volume = frame["Volume"]
    if volume.notna().all() and (volume == volume.round()).all():
        frame["Volume"] = volume.astype("int64")
    return frame


def _read_cache(
    cache_dir: Path, ticker: str, interval: str
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """Return ``(frame, meta)`` or None if there is no valid cached copy (warns if corrupt)."""
    csv_path, meta_path = _cache_paths(cache_dir, ticker, interval)
    if not meta_path.is_file() or not csv_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        payload = csv_path.read_bytes()
        if meta.get("format") != _CACHE_FORMAT:
            raise ValueError(f"unknown cache format {meta.get('format')!r}")
        if hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
            raise ValueError("checksum mismatch between the CSV and its sidecar")
        frame = _parse_ohlcv_csv(io.BytesIO(payload), tz=meta.get("tz"))
        if meta.get("index_unit"):  # same datetime resolution as the original download
            frame.index = frame.index.as_unit(meta["index_unit"])
        meta["start"] = None if meta.get("start") is None else pd.Timestamp(meta["start"])
        meta["end"] = pd.Timestamp(meta["end"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        warnings.warn(
            f"Ignoring the unreadable cached prices for {ticker!r} ({interval}) in "
            f"{cache_dir}: {err}. They will be downloaded again; delete {csv_path.name} and "
            f"{meta_path.name} to silence this warning.",
            stacklevel=3,
        )
        return None
    return frame, meta


def _covers(meta: dict[str, Any], start: pd.Timestamp | None, end: pd.Timestamp) -> bool:
    cached_start = meta["start"]
    start_ok = cached_start is None or (start is not None and cached_start <= start)
    return start_ok and end <= meta["end"]


# UTC offsets in use lie within [-12 h, +14 h]: a tz-aware bound's wall-clock time in any zone
# (the exchange's, unknown before the download) is within these of its UTC time.
_MAX_BEHIND_UTC = pd.Timedelta(hours=12)
_MAX_AHEAD_OF_UTC = pd.Timedelta(hours=14)


def _request_range(
    start: pd.Timestamp | None, end: pd.Timestamp | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Whole-day, tz-naive range to download and cache that contains ``[start, end)``.

    The cache bookkeeping and yfinance's date strings are naive wall-clock dates in the
    exchange's zone. A naive bound already is one; a tz-aware bound's wall-clock time there is
    unknown until the data arrive, so its range is widened by the extreme UTC offsets. The
    rows are cut to exactly ``[start, end)`` afterwards (``tsnode.data._slice``).
    """
    lo = hi = None
    if start is not None:
        if start.tzinfo is not None:
            start = start.tz_convert("UTC").tz_localize(None) - _MAX_BEHIND_UTC
        lo = start.floor("D")
    if end is not None:
        if end.tzinfo is not None:
            end = end.tz_convert("UTC").tz_localize(None) + _MAX_AHEAD_OF_UTC
        hi = end.ceil("D")
    return lo, hi
