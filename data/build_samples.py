"""Rebuild tsnode's shipped sample prices from the ``bokeh_sampledata`` package.

Usage (from the repository root)::

    pip install bokeh-sampledata      # build-time only, NOT a tsnode dependency
    python data/build_samples.py      # writes tsnode/sample_data/<TICKER>.csv
    python data/build_samples.py --check   # rebuild in memory, compare with the files

The raw data are the Quandl WIKI end-of-day prices (public domain) as redistributed by
``bokeh_sampledata.stocks``: unadjusted open/high/low/close/volume plus a split- and
dividend-adjusted ``adj_close``. We apply yfinance's ``auto_adjust=True`` convention so the
samples look like what ``yfinance.download`` returns: Open/High/Low are multiplied by
``adj_close / close`` and Close is replaced by ``adj_close``. Volume is the raw share volume,
NOT split-adjusted (Yahoo's volumes are, so ``Close * Volume`` across a split differs from
``load_prices``; the source has no separate split factor to undo). Prices are rounded to 4 decimals (relative error below 1e-4 even for the
cheapest adjusted price, AAPL's low of 0.8173 USD), which keeps each file under 170 kB.

The CSVs live inside the package (``tsnode/sample_data``) so that an installed tsnode can
read them through ``importlib.resources``; ``data/`` holds relative symlinks to them (see
data/README.md), so there is a single copy.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

TICKERS = ("AAPL", "MSFT", "IBM", "GOOG", "FB")
DECIMALS = 4
ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "tsnode" / "sample_data"
DATA_DIR = ROOT / "data"


def build_frame(raw: dict) -> pd.DataFrame:
    """Turn one ``bokeh_sampledata.stocks`` dict into a yfinance-style auto-adjusted frame.

    Parameters
    ----------
    raw : dict
        Keys ``date, open, high, low, close, volume, adj_close``, lists of equal length.

    Returns
    -------
    DataFrame, shape (n_rows, 5)
        Index ``Date`` (sorted, unique), columns ``Open, High, Low, Close, Volume``.
    """
    df = pd.DataFrame(raw)
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d")
    df = df.sort_values("date")
    if df["date"].duplicated().any():
        raise ValueError("duplicate dates in the raw data")
    ratio = df["adj_close"] / df["close"]
    out = pd.DataFrame(
        {
            "Open": df["open"] * ratio,
            "High": df["high"] * ratio,
            "Low": df["low"] * ratio,
            "Close": df["adj_close"],
            "Volume": df["volume"].astype("int64"),
        }
    )
    out.index = pd.DatetimeIndex(df["date"], name="Date")
    prices = ["Open", "High", "Low", "Close"]
    out[prices] = out[prices].round(DECIMALS)
    values = out[prices].to_numpy()
    if not np.isfinite(values).all() or (values <= 0).any():
        raise ValueError("non-finite or non-positive prices after adjustment")
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Serialise a sample frame exactly as shipped (``\\n`` line endings, ISO dates)."""
    buf = io.StringIO()
    frame.to_csv(buf, date_format="%Y-%m-%d", lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the shipped files, write nothing"
    )
    args = parser.parse_args(argv)

    try:
        from bokeh_sampledata import stocks
    except ImportError:
        print("error: `pip install bokeh-sampledata` first", file=sys.stderr)
        return 2
    import bokeh_sampledata

    version = getattr(bokeh_sampledata, "__version__", "unknown")
    print(f"bokeh_sampledata {version}")
    PACKAGE_DIR.mkdir(parents=True, exist_ok=True)
    status = 0
    for ticker in TICKERS:
        frame = build_frame(getattr(stocks, ticker))
        payload = to_csv_bytes(frame)
        target = PACKAGE_DIR / f"{ticker}.csv"
        digest = hashlib.sha256(payload).hexdigest()[:16]
        line = (
            f"{ticker}: {len(frame)} rows, {frame.index[0].date()} .. {frame.index[-1].date()}, "
            f"{len(payload)} bytes, sha256 {digest}"
        )
        if args.check:
            same = target.is_file() and target.read_bytes() == payload
            status |= 0 if same else 1
            print(("OK      " if same else "DIFFERS ") + line)
            continue
        tmp = target.with_suffix(".csv.tmp")
        tmp.write_bytes(payload)
        os.replace(tmp, target)
        link = DATA_DIR / f"{ticker}.csv"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(target, DATA_DIR))
        print(line)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
