"""The on-disk price cache of :func:`tsnode.data.load_prices` (private).

One CSV per ticker and interval (OHLCV, written with full float precision) plus a JSON
sidecar recording the covered range ``[start, end)``, the download time, the time zone and
a SHA-256 checksum of the CSV. The recorded ``end`` never reaches the UTC date of the
download (see :func:`_coverage_end`): a session of that day may still be running. Both files
are first written to temporary files, then renamed into place (``os.replace``) one right after
the other, the CSV first. A reader that finds a CSV not matching its sidecar's checksum reads
the pair again a few times (a concurrent writer may be between the two renames; bounded by
``_RETRY_DELAYS``); a copy still mismatched, or one that cannot be read or parsed (e.g. after
a crash between the two renames, or a directory without permission), is ignored with a
warning and downloaded again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from filelock import FileLock, Timeout

#: OHLCV columns of every per-ticker frame, in yfinance's per-ticker order.
FIELDS: tuple[str, ...] = ("Open", "High", "Low", "Close", "Volume")
_PRICES = FIELDS[:4]
_CACHE_FORMAT = 1
_LOCK_TIMEOUT = 30.0  # seconds a writer waits for another writing the same entry
# pandas < 3 parses floats with a fast but inexact converter unless asked; pandas 3 is exact
# by default and deprecates the option.
_EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def _cache_paths(cache_dir: Path, ticker: str, interval: str) -> tuple[Path, Path]:
    stem = f"{quote(ticker, safe='')}__{interval}"
    return cache_dir / f"{stem}.csv", cache_dir / f"{stem}.json"


def _stage(path: Path, payload: bytes) -> str:
    """Write ``payload`` to a synced temporary file next to ``path``; return its name."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


class _LockTimeout(OSError):
    """Another process held a cache entry's lock for ``_LOCK_TIMEOUT`` seconds."""


def _atomic_write(*files: tuple[Path, bytes]) -> None:
    """Write each ``(path, payload)`` atomically, renaming them into place back to back.

    All payloads are written (and synced) to temporary files first, so that the renames,
    done in the order given, follow each other within microseconds: a concurrent reader can
    see a new file next to an old one only in that short window.
    """
    first = files[0][0]
    first.parent.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    # Writers of the same entry take turns (another process, e.g. a parallel backtest): without
    # the lock, A's CSV, then B's pair, then A's sidecar left a pair that never matches.
    lock = FileLock(first.parent / f".{first.stem}.lock", timeout=_LOCK_TIMEOUT)
    try:
        with lock:
            for path, payload in files:
                staged.append((_stage(path, payload), path))
            for tmp, path in staged:
                os.replace(tmp, path)
    except Timeout as err:  # an OSError: the caller warns that the cache was not written
        raise _LockTimeout(
            f"another process held the cache lock {err.lock_file} for {_LOCK_TIMEOUT:g} s"
        ) from err
    except BaseException:
        for tmp, _ in staged:  # those already renamed are gone: nothing to remove
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
    """Store ``frame`` (shape (n_rows, 5), OHLCV) for ``[start, end)``: CSV first, sidecar last.

    ``end`` is the exclusive end of the recorded coverage (see :func:`_coverage_end`); rows at
    or after it may be stored but are not claimed as final.
    """
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
    _atomic_write((csv_path, payload), (meta_path, (json.dumps(meta, indent=1) + "\n").encode()))


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


class _Mismatch(ValueError):
    """The CSV does not match its sidecar (possibly a concurrent writer between two renames)."""


#: Pauses (seconds) before re-reading a CSV that does not match its sidecar: bounded, < 0.4 s.
_RETRY_DELAYS: tuple[float, ...] = (0.01, 0.03, 0.1, 0.25)
_sleep = time.sleep  # a seam for tests


def _stamp(meta: dict[str, Any], key: str) -> pd.Timestamp:
    """``meta[key]`` as a Timestamp; ValueError unless it is an ISO date string."""
    value = meta.get(key)
    stamp = pd.Timestamp(value) if isinstance(value, str) else pd.NaT
    if pd.isna(stamp):
        raise ValueError(f"the sidecar's {key!r} is {value!r}, not an ISO date string")
    return stamp


def _load_pair(csv_path: Path, meta_path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read and check one cached copy; raises OSError/ValueError/KeyError/TypeError if bad."""
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise ValueError(f"the sidecar is not a JSON object but {json.dumps(meta)[:40]}")
    payload = csv_path.read_bytes()
    if meta.get("format") != _CACHE_FORMAT:
        raise ValueError(f"unknown cache format {meta.get('format')!r}")
    if hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
        raise _Mismatch("checksum mismatch between the CSV and its sidecar")
    frame = _parse_ohlcv_csv(io.BytesIO(payload), tz=meta.get("tz"))
    if meta.get("index_unit"):  # same datetime resolution as the original download
        frame.index = frame.index.as_unit(meta["index_unit"])
    start = None if meta.get("start") is None else _stamp(meta, "start")
    end, downloaded = _stamp(meta, "end"), _stamp(meta, "downloaded_at")
    if (start is not None and start.tzinfo is not None) or end.tzinfo is not None:
        raise ValueError("the sidecar's range is not in naive dates")
    if downloaded.tzinfo is not None:
        downloaded = downloaded.tz_convert("UTC").tz_localize(None)
    if start is None and str(meta.get("interval", "")).endswith(("m", "h")) and len(frame):
        # older intraday sidecars claimed all history for yfinance's few days of "max"
        start = frame.index[0].tz_localize(None).normalize()
    # Older sidecars recorded coverage up to the day after the download (UTC): cut it back.
    meta["start"], meta["end"] = start, min(end, downloaded.normalize())
    return frame, meta


def _read_cache(
    cache_dir: Path, ticker: str, interval: str, problems: dict[str, str] | None = None
) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """Return ``(frame, meta)``, or None if there is no valid cached copy.

    A copy that cannot be read (e.g. a directory without permission), is corrupt or whose CSV
    still disagrees with its sidecar after the re-reads of ``_RETRY_DELAYS`` is ignored with a
    warning (pointing at the caller of ``load_prices``); its reason goes to
    ``problems[ticker]`` when ``problems`` is given.
    """
    csv_path, meta_path = _cache_paths(cache_dir, ticker, interval)
    error: Exception | None = None
    for delay in (*_RETRY_DELAYS, None):
        try:
            if not meta_path.is_file() or not csv_path.is_file():
                return None
            return _load_pair(csv_path, meta_path)
        except _Mismatch as err:
            error = err
            if delay is None:
                break
            _sleep(delay)
        except (OSError, ValueError, KeyError, TypeError) as err:
            error = err
            break
    if problems is not None:
        problems[ticker] = f"{type(error).__name__}: {error}"
    warnings.warn(
        f"Ignoring the unreadable cached prices for {ticker!r} ({interval}) in {cache_dir}: "
        f"{error}. They are downloaded again unless offline=True; fix the permissions or delete "
        f"{csv_path.name} and {meta_path.name} (or pass another cache_dir) to silence this "
        "warning.",
        stacklevel=3,
    )
    return None


def _cache_note(
    cache_dir: Path, tickers: list[str], interval: str, refresh: bool, unreadable: dict[str, str]
) -> str:
    """Say, for an error about ``tickers`` (download failed), why no cached copy was used.

    None exists, ``refresh=True`` skipped it, or it could not be read (``unreadable`` holds
    the tickers whose copy :func:`_read_cache` rejected).
    """
    kept: list[str] = []
    broken = [t for t in tickers if t in unreadable]
    for ticker in tickers if refresh else []:
        try:
            if all(path.is_file() for path in _cache_paths(cache_dir, ticker, interval)):
                kept.append(ticker)
        except OSError:  # e.g. a directory without permission
            broken.append(ticker)
    if not kept and not broken:
        return f"no cached copy exists in {cache_dir}"
    notes = []
    if kept:
        notes.append(
            f"a cached copy of {kept} exists in {cache_dir}, but refresh=True skipped it: pass "
            "refresh=False to fall back to it when a download fails, or offline=True to use it "
            "without downloading"
        )
    if broken:
        notes.append(
            f"the cached copy of {broken} in {cache_dir} could not be read (fix the cache's "
            "permissions or pass another cache_dir)"
        )
    if len(kept) + len(broken) < len(tickers):
        notes.append("the others have none")
    return "; ".join(notes)


def _download_groups(
    tickers: list[str],
    cached: dict[str, tuple[pd.DataFrame, dict[str, Any]] | None],
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> dict[tuple[pd.Timestamp | None, pd.Timestamp | None], list[str]]:
    """Group ``tickers`` by the range ``(lo, hi)`` to download, one yfinance call per group.

    A ticker with a cached copy downloads the union of ``[start, end)`` and the cached range:
    a copy is only ever replaced as a whole (adjusted prices change with every dividend).
    """
    groups: dict[tuple[pd.Timestamp | None, pd.Timestamp | None], list[str]] = {}
    for ticker in tickers:
        lo, hi = start, end
        entry = cached.get(ticker)
        if entry is not None:
            meta = entry[1]
            lo = None if lo is None or meta["start"] is None else min(lo, meta["start"])
            hi = None if hi is None else max(hi, meta["end"])
        groups.setdefault((lo, hi), []).append(ticker)
    return groups


def _store(
    cache_dir: Path,
    ticker: str,
    interval: str,
    frame: pd.DataFrame,
    span: tuple[pd.Timestamp | None, pd.Timestamp | None],
    now: pd.Timestamp,
    previous: tuple[pd.DataFrame, dict[str, Any]] | None,
) -> None:
    """Cache a download of ``span`` (``[start, end)``, naive dates) made at ``now``, replacing
    ``previous`` (the cached copy, if any); a UserWarning, pointing past ``load_prices``,
    when the cache cannot be written or the adjusted prices moved since ``previous``."""
    start, end = span
    if start is None and interval.endswith(("m", "h")):  # yfinance's "max" is days for 1m
        start = frame.index[0].tz_localize(None).normalize()  # only what was served is held
    if previous is None:  # refresh=True did not read it: compare with it all the same
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            previous = _load_pair(*_cache_paths(cache_dir, ticker, interval))
    covered_end = _coverage_end(start, end, now, getattr(frame.index, "tz", None))
    try:
        _write_cache(cache_dir, ticker, interval, frame, start, covered_end, now)
    except OSError as err:
        fix = (
            "it was not cached this time"
            if isinstance(err, _LockTimeout)
            else "Pass a writable cache_dir or set $TSNODE_CACHE_DIR."
        )
        warnings.warn(
            f"Could not write the price cache for {ticker!r} in {cache_dir}: {err}; {fix}",
            stacklevel=3,
        )
        return
    if previous is not None:
        _warn_readjusted(ticker, previous, frame)


def _warn_readjusted(
    ticker: str, previous: tuple[pd.DataFrame, dict[str, Any]], frame: pd.DataFrame
) -> None:
    """Warn when the adjusted closes of dates in both copies differ beyond rounding (a split or
    dividend since the cached download): frames loaded before are on another price basis."""
    old, meta = previous
    both = old.index.intersection(frame.index)
    wall = both.tz_localize(None) if getattr(both, "tz", None) is not None else both
    both = both[wall < meta["end"]]  # rows from the coverage end on were provisional
    if len(both) == 0:
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (frame.loc[both, "Close"] / old.loc[both, "Close"]).to_numpy(dtype=np.float64)
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size and np.max(np.abs(ratio - 1.0)) > 1e-4:
        factor = float(np.median(ratio))
        warnings.warn(
            f"The adjusted prices of {ticker!r} changed since the cached download of "
            f"{meta['downloaded_at'][:16]} (a split or dividend: same dates now x{factor:.6g}); "
            "the cache now holds the new basis. Reload prices loaded before, and refit models "
            "fitted on them, so that old and new prices are not mixed.",
            stacklevel=4,
        )


def _coverage_end(
    start: pd.Timestamp | None, end: pd.Timestamp | None, now: pd.Timestamp, tz: Any = None
) -> pd.Timestamp:
    """Exclusive end of the coverage to record for a download of ``[start, end)`` at ``now``.

    At most the UTC date of ``now`` (``now`` tz-aware), or the date of ``now`` in the data's
    zone ``tz`` if earlier (zones behind UTC): a session of that date, or of the next one in
    zones ahead of UTC, may still be running (its bar is partial) or not have started yet.
    Rows from that date on may be stored, but a later request reaching them downloads again
    and replaces them. Never before ``start``.
    """
    today = now.tz_convert("UTC").tz_localize(None).normalize()
    if tz is not None:  # 20:30 in New York is 01:30 UTC the next day
        today = min(today, now.tz_convert(tz).tz_localize(None).normalize())
    covered = today if end is None else min(end, today)
    return covered if start is None else max(covered, start)


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


def _share_class_hint(tickers: list[str]) -> str:
    """A hint for a failed ``BRK.B``-like symbol (Yahoo writes US share classes ``BRK-B``,
    but ``VOD.L`` is London's VOD), or ``""``."""
    dotted = [t for t in tickers if re.fullmatch(r"[A-Z]+\.[A-Z]", t)]
    if not dotted:
        return ""
    return (
        f" (if {dotted[0]!r} is a US share class, Yahoo writes it {dotted[0].replace('.', '-')!r})"
    )


def _ends_on_download_day(metas: list[dict[str, Any]]) -> bool:
    """Whether a cached copy's coverage ends on its download date (that day's rows, stored
    but not covered, may have been partial)."""
    return any(m["end"] == pd.Timestamp(str(m["downloaded_at"])[:10]) for m in metas)
