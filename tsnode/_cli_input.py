"""Price input of the ``tsnode`` command line (private): CSV files, samples, tickers.

:func:`read_price_csv` reads a ``--csv`` file, ``_load_data`` turns the data options of
``tsnode forecast`` / ``tsnode backtest`` into a wide price frame. Problems with the input
raise :class:`CLIError`, which the command line prints as one line.
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

_PRICE_NAMES = ("adj close", "adj_close", "adjclose", "close", "price", "value")


class CLIError(Exception):
    """A user-facing error: printed as one line on stderr, exit status 1."""


def _one_line(error: BaseException) -> str:
    """The error message on a single line (whitespace, including newlines, collapsed)."""
    text = " ".join(str(error).split())
    if isinstance(error, KeyError) and len(error.args) == 1:
        text = f"missing key {error.args[0]!r}"
    return text or type(error).__name__


def read_price_csv(
    path: str | os.PathLike[str],
    *,
    date_column: str = "date",
    columns: Sequence[str] | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """Read prices from a CSV file with a date column and one or more price columns.

    Parameters
    ----------
    path : str or PathLike
        The CSV file.
    date_column : str, default "date"
        Name of the date column (case-insensitive).
    columns : sequence of str, optional
        Price columns to use (case-insensitive). Default: the first of ``Adj Close``,
        ``Close``, ``Price``, ``Value`` present, else the only column besides the date.
    name : str, optional
        Name of the series (only with a single price column); default the column's name.

    Returns
    -------
    DataFrame, shape (n_dates, n_columns)
        Float prices on a sorted ``DatetimeIndex`` named ``Date``; empty cells are NaN.

    Raises
    ------
    CLIError
        If the file is missing or unreadable, has no date column or no usable price
        column, or contains unparsable dates, non-numeric prices or duplicate dates.
    """
    import pandas as pd

    where = f"--csv {os.fspath(path)}"
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"{where}: no such file. Pass the path of a CSV with a date column.")
    try:
        raw = pd.read_csv(file, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as err:
        raise CLIError(f"{where}: not a readable CSV file ({_one_line(err)}).") from err
    lookup = {str(c).strip().lower(): c for c in raw.columns}
    date_col = lookup.get(date_column.strip().lower())
    if date_col is None:
        raise CLIError(
            f"{where}: no {date_column!r} column (columns: {[str(c) for c in raw.columns]}). "
            "The CSV needs a date column plus a price column, e.g. 'date,close'; "
            "use --date-column to name yours."
        )
    others = [c for c in raw.columns if c != date_col]
    if columns:
        chosen = []
        for wanted in columns:
            col = lookup.get(wanted.strip().lower())
            if col is None or col == date_col:
                raise CLIError(
                    f"{where}: no price column {wanted!r} (columns: {[str(c) for c in others]})."
                    " Pass one of them with --column."
                )
            chosen.append(col)
    else:
        preferred = [lookup[n] for n in _PRICE_NAMES if n in lookup]
        if preferred:
            chosen = preferred[:1]
        elif len(others) == 1:
            chosen = others
        else:
            raise CLIError(
                f"{where}: cannot tell which column holds the prices (columns: "
                f"{[str(c) for c in others]}). Name it with --column, e.g. --column {others[0]}"
                if others
                else f"{where}: there is no price column besides {str(date_col)!r}. "
                "The CSV needs a date column plus a price column, e.g. 'date,close'."
            )
    if len(raw) == 0:
        raise CLIError(f"{where}: the file has a header but no rows.")

    text_dates = raw[date_col]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dates = pd.to_datetime(text_dates, errors="coerce", format="mixed")
        except (ValueError, TypeError) as err:
            raise CLIError(f"{where}: cannot parse the {str(date_col)!r} column as dates.") from err
    if not pd.api.types.is_datetime64_any_dtype(dates):
        raise CLIError(
            f"{where}: the {str(date_col)!r} column mixes time zones; use one time zone."
        )
    bad = dates.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise CLIError(
            f"{where}: line {row + 2} has an invalid date {text_dates.iloc[row]!r} in column "
            f"{str(date_col)!r}; use ISO dates such as 2024-01-31."
        )
    duplicated = dates.duplicated()
    if duplicated.any():
        row = int(duplicated.to_numpy().argmax())
        raise CLIError(
            f"{where}: the date {text_dates.iloc[row]!r} appears more than once (line "
            f"{row + 2}); keep one row per date."
        )
    data = {}
    for col in chosen:
        values = pd.to_numeric(raw[col].str.strip(), errors="coerce")
        bad = raw[col].notna() & raw[col].str.strip().ne("") & values.isna()
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise CLIError(
                f"{where}: column {str(col)!r} has a non-numeric price {raw[col].iloc[row]!r} "
                f"on line {row + 2}; prices must be plain numbers (leave a cell empty if "
                "the price is missing)."
            )
        if values.notna().sum() == 0:
            raise CLIError(f"{where}: column {str(col)!r} has no prices.")
        data[str(col)] = values.to_numpy(dtype="float64")
    frame = pd.DataFrame(data, index=pd.DatetimeIndex(dates, name="Date"))
    if name is not None:
        if frame.shape[1] != 1:
            raise CLIError("--name names a single price column; drop it or pass one --column.")
        frame.columns = [name]
    frame.columns.name = "Ticker"
    return frame.sort_index()


def _date(text: str | None, option: str) -> pd.Timestamp | None:
    import pandas as pd

    if text is None:
        return None
    try:
        stamp = pd.Timestamp(text)
    except ValueError:
        stamp = pd.NaT
    if pd.isna(stamp):
        raise CLIError(f"{option} {text!r} is not a date; use an ISO date such as 2020-01-31.")
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _load_data(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """Wide price frame ``(n_dates, n_series)`` from the chosen source, and its description."""
    from tsnode import data

    if args.csv is not None:
        columns = None if args.column is None else [c for c in args.column.split(",") if c]
        frame = read_price_csv(
            args.csv, date_column=args.date_column, columns=columns, name=args.name
        )
        source = f"CSV {args.csv}"
    elif args.sample is not None:
        frame = data.load_sample(args.sample)
        source = "shipped sample"
    else:
        frame = data.load_prices(
            args.ticker,
            start=args.start,
            end=args.end,
            offline=args.offline,
            cache_dir=args.cache_dir,
        )
        source = "Yahoo Finance (cached)" if not args.offline else "local cache"
    if args.sample is not None or args.csv is not None:
        start, end = _date(args.start, "--start"), _date(args.end, "--end")
        tz = frame.index.tz
        if tz is not None:
            start = None if start is None else start.tz_localize(tz)
            end = None if end is None else end.tz_localize(tz)
        if start is not None:
            frame = frame.loc[frame.index >= start]
        if end is not None:
            frame = frame.loc[frame.index < end]
    frame = frame.dropna(how="all")
    if args.lookback:
        frame = frame.iloc[-args.lookback :]
    if frame.empty:
        raise CLIError("no prices in the selected date range; widen --start/--end.")
    return frame, source
