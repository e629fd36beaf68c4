"""Price input of the ``tsnode`` command line (private): CSV files, samples, tickers.

:func:`read_price_csv` reads a ``--csv`` file, ``_load_data`` turns the data options of
``tsnode forecast`` / ``tsnode backtest`` into a wide price frame. Problems with the input
raise :class:`CLIError`, which the command line prints as one line.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import re
import shlex
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_PRICE_NAMES = ("adj close", "adj_close", "adjclose", "close", "price", "value")

# A UTC offset (or Z/UTC/GMT) after a time of day: "... 00:00:00-05:00", "...T16:00Z".
_OFFSET = re.compile(
    r"^(?P<local>.*\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?)"
    r"\s*(?:Z|(?:UTC|GMT)?[+-]\d\d(?::?\d\d)?|UTC|GMT)$"
)
_DAYS = ("%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y", "%m-%d-%Y", "%d-%m-%Y", "%d.%m.%Y")
_DAYS += ("%d.%m.%y", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%d-%b-%Y", "%d %b %Y", "%b %d, %Y")
_DAYS += ("%d %B %Y", "%B %d, %Y")
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", " %I:%M %p", " %I:%M:%S %p")
#: Formats tried (besides ISO 8601 and pandas' guesses) when --date-format is not given.
DATE_FORMATS: tuple[str, ...] = tuple(day + time for day in _DAYS for time in _TIMES)


class CLIError(Exception):
    """A user-facing error: printed as one line on stderr, exit status 1."""


class UsageError(CLIError):
    """A CLIError about how the options combine (found before loading data): exit status 2."""


# The library's advice in command-line terms (its messages name Python arguments).
_CLI_TERMS = (
    ("Run once with offline=False to download them", "Run once without --offline to download them"),
    # data.load_prices' cache warnings (the CLI never passes refresh=True)
    ("because offline=True", "because of --offline"),
    (
        "Use offline=False / check the connection to update them",
        "Drop --offline (if given) and check the connection to update them",
    ),
    ("another cache_dir", "another --cache-dir"),
    ("a writable cache_dir", "a writable --cache-dir"),
    ("Widen start/end", "Widen --start/--end"),
    ("widen start/end", "widen --start/--end"),
    ("offline=True", "--offline"),
    ("pass the cache_dir that holds them", "pass the --cache-dir that holds them"),
    ("use tsnode.data.load_sample() for", "use --sample NAME for"),
    ("use calendar=None to continue", "use --calendar none to continue"),
    ("Pass calendar=None", "Pass --calendar none"),
    (
        "pass calendar='24/7' (or the data's exchange, or None",
        "pass --calendar 24/7 (or the data's exchange, or none",
    ),
    ("time_scale_days=", "--time-scale-days "),
)


def in_cli_terms(text: str) -> str:
    """``text`` with the library's Python-argument advice put in command-line options."""
    for python, option in _CLI_TERMS:
        text = text.replace(python, option)
    return text


def _one_line(error: BaseException) -> str:
    """The error message on a single line (whitespace, including newlines, collapsed)."""
    text = " ".join(str(error).split())
    if isinstance(error, KeyError) and len(error.args) == 1:
        text = f"missing key {error.args[0]!r}"
    return in_cli_terms(text) or type(error).__name__


def read_price_csv(
    path: str | os.PathLike[str],
    *,
    date_column: str = "date",
    columns: Sequence[str] | None = None,
    name: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Read prices from a CSV file with a date column and one or more price columns.

    Parameters
    ----------
    path : str or PathLike
        The CSV file.
    date_column : str, default "date"
        Name of the date column (case-insensitive). Not used for ``yf.download`` exports,
        whose dates are the first column.
    columns : sequence of str, optional
        Price columns to use (case-insensitive). Default: the first of ``Adj Close``,
        ``Close``, ``Price``, ``Value`` present, else the only column besides the date.
        For a ``yf.download(...).to_csv()`` file (two header rows, ``Price`` and ``Ticker``
        in either order, then usually ``Date,,,...``): at most one price field (default
        as above) and optionally tickers; the result has one column per ticker, sorted.
    name : str, optional
        Name of the series (only with a single price column or ticker); default the
        column's name (the ticker for yfinance exports).
    date_format : str, optional
        ``strptime`` format of the whole date column, e.g. ``"%d/%m/%Y"``. Default: ISO
        dates if they all are, else the one format (among month-first, day-first and other
        common layouts) that reads the most rows; a column that reads equally well
        month-first and day-first with different dates is an error, never a guess.

    Returns
    -------
    DataFrame, shape (n_dates, n_columns)
        Float prices on a sorted ``DatetimeIndex`` named ``Date``; empty cells are NaN.
        Columns are named ``Ticker``.
        UTC offsets in the dates (``2021-03-12 00:00:00-05:00``, as yfinance exports) are
        dropped: each row keeps its local wall-clock time, so daily rows stay on the
        trading dates written in the file, across daylight-saving changes too.

    Raises
    ------
    CLIError
        If the file is missing or unreadable, has no date column or no usable price
        column (or field), or contains unparsable or ambiguous dates, non-numeric prices or
        duplicate dates.
    """
    import pandas as pd

    where = f"--csv {os.fspath(path)}"
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"{where}: no such file. Pass the path of a CSV with a date column.")
    header = _yfinance_header(file)
    if header is not None:
        return _read_yfinance_csv(file, where, header, columns, name, date_format)
    try:
        sep = _separator(file)
        raw = pd.read_csv(file, sep=sep, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as err:
        raise CLIError(f"{where}: not a readable CSV file ({_one_line(err)}).") from err
    _refuse_repeated_names(file, sep, where)
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

    dates = _unique_dates(raw[date_col], where, str(date_col), date_format, first_line=2)
    data = {}
    for col in chosen:
        values = _prices(raw[col], where, f"column {str(col)!r}", first_line=2)
        if values is None:
            raise CLIError(f"{where}: column {str(col)!r} has no prices.")
        data[str(col)] = values
    return _price_frame(data, dates, name)


def _separator(file: Path) -> str:
    """``","``, or ``";"`` / tab for a file whose header has one of them and no comma
    (spreadsheets in many locales save ``date;close``)."""
    import pandas as pd

    try:  # through pandas, which reads compressed files (.csv.gz, .zip) as read_csv will
        columns = pd.read_csv(file, nrows=0, dtype=str, encoding="utf-8-sig").columns
    except (ValueError, OSError, UnicodeDecodeError):
        return ","  # read_csv's own error follows
    if len(columns) != 1:
        return ","
    header = str(columns[0])
    counts = {sep: header.count(sep) for sep in (";", "\t")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def _refuse_repeated_names(file: Path, sep: str, where: str) -> None:
    """A CLIError for a header naming a column twice (any case): pandas would read the second
    as ``Close.1`` and the first would be used in silence."""
    import pandas as pd

    header = pd.read_csv(file, sep=sep, header=None, nrows=1, dtype=str, encoding="utf-8-sig")
    names = [str(n).strip() for n in header.iloc[0] if isinstance(n, str) and n.strip()]
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise CLIError(
                f"{where}: the header names the column {seen[name.lower()]!r} twice"
                f"{'' if name == seen[name.lower()] else f' (also as {name!r})'}; rename one of "
                "them so that the prices to use are unambiguous."
            )
        seen[name.lower()] = name


def _unique_dates(
    text: pd.Series, where: str, column: str, date_format: str | None, *, first_line: int
) -> pd.Series:
    """The parsed dates of a CSV date column, or a CLIError for a date that repeats."""
    dates = _parse_dates(text, where, column, date_format, first_line)
    duplicated = dates.duplicated()
    if duplicated.any():
        row = int(duplicated.to_numpy().argmax())
        raise CLIError(
            f"{where}: the date {text.iloc[row]!r} appears more than once (line "
            f"{row + first_line}); keep one row per date."
        )
    return dates


def _prices(cells: pd.Series, where: str, what: str, *, first_line: int) -> np.ndarray | None:
    """The float prices of a CSV column (None if it has none); a CLIError for text."""
    import pandas as pd

    values = pd.to_numeric(cells.str.strip(), errors="coerce")
    bad = cells.notna() & cells.str.strip().ne("") & values.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise CLIError(
            f"{where}: {what} has a non-numeric price {cells.iloc[row]!r} "
            f"on line {row + first_line}; prices must be plain numbers"
            + (
                ", without commas (1234.5, not 1.234,5 or 1,234.5)"
                if "," in cells.iloc[row]
                else ""
            )
            + " (leave a cell empty if the price is missing)."
        )
    if values.notna().sum() == 0:
        return None
    return values.to_numpy(dtype="float64")


def _price_frame(data: dict[str, np.ndarray], dates: pd.Series, name: str | None) -> pd.DataFrame:
    """The sorted price frame of :func:`read_price_csv` (``--name`` renames one column)."""
    import pandas as pd

    frame = pd.DataFrame(data, index=pd.DatetimeIndex(dates, name="Date"))
    if name is not None:
        if frame.shape[1] != 1:
            raise CLIError("--name names a single price column; drop it or pass one --column.")
        frame.columns = [name]
    frame.columns.name = "Ticker"
    return frame.sort_index()


def _yfinance_header(file: Path) -> tuple[list[list[str]], int, str] | None:
    """Label rows, header length and date label of a ``yf.download(...).to_csv()`` file.

    Such a file starts with the column levels, ``Price,Close,High,...`` then
    ``Ticker,AAPL,AAPL,...`` (swapped with ``group_by="ticker"``), usually followed by the
    index-name row ``Date,,,...``. None for any other file (or one that cannot be read
    here: the ordinary reader reports that).
    """
    try:
        with file.open(newline="", encoding="utf-8-sig") as stream:
            rows = [
                [cell.strip() for cell in row] for row in itertools.islice(csv.reader(stream), 3)
            ]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if len(rows) < 2 or not rows[0] or not rows[1]:
        return None
    if (rows[0][0].lower(), rows[1][0].lower()) not in {("price", "ticker"), ("ticker", "price")}:
        return None
    name_row = len(rows) == 3 and re.fullmatch(r"[A-Za-z_ ]+", rows[2][0] if rows[2] else "")
    if name_row and not any(rows[2][1:]):
        return rows[:2], 3, rows[2][0]
    return rows[:2], 2, "Date"


def _read_yfinance_csv(
    file: Path,
    where: str,
    header: tuple[list[list[str]], int, str],
    columns: Sequence[str] | None,
    name: str | None,
    date_format: str | None,
) -> pd.DataFrame:
    """Read a ``yf.download(...).to_csv()`` file (see :func:`read_price_csv`)."""
    import pandas as pd

    levels, n_header, date_label = header
    try:
        raw = pd.read_csv(file, header=None, skiprows=n_header, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise CLIError(f"{where}: the file has a header but no rows.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise CLIError(f"{where}: not a readable CSV file ({_one_line(err)}).") from err
    width = raw.shape[1]
    if len(levels[0]) != width or len(levels[1]) != width:
        raise CLIError(
            f"{where}: the header rows have {len(levels[0])} and {len(levels[1])} cells but the "
            f"rows {width}; write the yfinance frame again with .to_csv()."
        )
    price_row = 0 if levels[0][0].lower() == "price" else 1
    fields, tickers = levels[price_row][1:], levels[1 - price_row][1:]
    field_of: dict[str, str] = {}
    ticker_of: dict[str, str] = {}
    for f, ticker in zip(fields, tickers, strict=True):
        field_of.setdefault(f.lower(), f)
        if ticker:
            ticker_of.setdefault(ticker.lower(), ticker)
    field, picked = None, []
    for wanted in columns or ():
        key = wanted.strip().lower()
        if key in field_of and field not in (None, field_of[key]):
            raise CLIError(
                f"{where}: --column names two price fields, {field!r} and {field_of[key]!r}; a "
                "yfinance export gives one column per ticker, so name one field, e.g. "
                "--column Close (add tickers to pick some: --column Close,AAPL)."
            )
        if key in field_of:
            field = field_of[key]
        elif key in ticker_of:
            picked.append(ticker_of[key])
        else:
            raise CLIError(
                f"{where}: no price field or ticker {wanted!r} in this yfinance export (fields: "
                f"{list(field_of.values())}, tickers: {list(ticker_of.values())}). Pass "
                "one of them with --column, e.g. --column Close."
            )
    if field is None:
        preferred = [field_of[n] for n in _PRICE_NAMES if n in field_of]
        # a failed ticker brings an empty 'Adj Close' even to auto-adjusted downloads
        filled = [f for f in preferred if _field_has_values(raw, fields, f)]
        preferred = filled or preferred
        if not fields:
            raise CLIError(f"{where}: there is no price column besides the dates.")
        if not preferred:
            raise CLIError(
                f"{where}: cannot tell which price field to use (fields: "
                f"{list(field_of.values())}). Name it with --column, e.g. --column {fields[0]}"
            )
        field = preferred[0]
    positions = {}
    for position, (f, ticker) in enumerate(zip(fields, tickers, strict=True), start=1):
        if f != field or (picked and ticker not in picked):
            continue
        if not ticker or ticker in positions:
            what = "an empty ticker" if not ticker else f"the ticker {ticker!r} twice"
            raise CLIError(f"{where}: the {field!r} columns have {what}; fix the header.")
        positions[ticker] = position
    if not positions:
        raise CLIError(
            f"{where}: no {field!r} column of the tickers {picked}; --column picks tickers "
            f"among {list(ticker_of.values())}."
        )

    first_line = n_header + 1
    dates = _unique_dates(raw[0], where, date_label, date_format, first_line=first_line)
    data = {}
    for ticker in sorted(positions):  # sorted, as fitting the yfinance frame itself gives
        what = f"the {field!r} column of {ticker!r}"
        values = _prices(raw[positions[ticker]], where, what, first_line=first_line)
        if values is None:
            others = sorted(t for t in positions if t != ticker)
            picked = shlex.quote(f"{field},{','.join(others)}")  # 'Adj Close,...' has a space
            # the option ends the message: no full stop to paste into the shell with it
            hint = f". Pick the others with: --column {picked}" if others else "."
            raise CLIError(
                f"{where}: ticker {ticker!r} has no {field!r} prices (yfinance writes empty "
                f"columns for a ticker whose download failed){hint}"
            )
        data[ticker] = values
    return _price_frame(data, dates, name)


def _field_has_values(raw: list[list[str]], fields: list[str], field: str) -> bool:
    """Whether any column of ``field`` (``raw[1:]``, aligned with ``fields``) has a value."""
    return any(
        any(isinstance(cell, str) and cell.strip() for cell in raw[position])
        for position, f in enumerate(fields, start=1)
        if f == field
    )


def _guessed_formats(sample: list[str]) -> list[str]:
    """pandas' format guesses (month first and day first) for a few dates of the column."""
    try:
        from pandas.tseries.api import guess_datetime_format
    except ImportError:  # pandas < 2.2
        from pandas._libs.tslibs.parsing import guess_datetime_format
    found = []
    for text in sample:
        for dayfirst in (False, True):
            fmt = guess_datetime_format(text, dayfirst=dayfirst)
            # year-day-month ("%Y-%d-%m") is nobody's layout: it only mis-reads ISO dates
            if fmt and not re.search(r"%Y.*%d.*%m", fmt) and fmt not in found:
                found.append(fmt)
    return found


def _parse_dates(
    text: pd.Series,
    where: str,
    column: str,
    date_format: str | None = None,
    first_line: int = 2,
) -> pd.Series:
    """Parse a CSV date column with ONE format for all rows (see :func:`read_price_csv`).

    Raises :class:`CLIError` for rows the format cannot read and for columns that read
    equally well month-first and day-first (e.g. ``02/01/2020`` with all days <= 12);
    messages name the file line, ``first_line`` being the line of the first row.
    """
    import pandas as pd

    # Drop UTC offsets and keep each row's wall-clock time: a yfinance export spanning a
    # daylight-saving change mixes -05:00 and -04:00, and its dates are the trading dates.
    original = text
    text = text.astype("string").str.strip()
    text = text.str.extract(_OFFSET, expand=False).fillna(text)
    present = text.notna() & text.ne("")

    def parse(fmt: str) -> pd.Series:
        return pd.to_datetime(text, format=fmt, errors="coerce")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if date_format is not None:
            fmt = re.sub(r"\s*%[zZ]", "", date_format)  # offsets were dropped above
            try:
                dates = parse(fmt)
            except ValueError as err:
                raise CLIError(
                    f"--date-format {date_format!r} is not a valid strptime format "
                    f"({_one_line(err)}); use e.g. --date-format '%d/%m/%Y'."
                ) from err
            hint = f"it does not match --date-format {date_format!r}"
        else:
            fmt, dates = "ISO8601", parse("ISO8601")
            if dates.notna().all():  # every date is ISO 8601
                return dates
            values = text[present]
            sample = list(dict.fromkeys(values.iloc[:: max(1, len(values) // 50)]))[:50]
            sample_text = pd.Series(sample, dtype="string")
            candidates = {fmt: dates}
            for other in [*_guessed_formats(sample), *DATE_FORMATS]:
                if (
                    other not in candidates
                    and pd.to_datetime(sample_text, format=other, errors="coerce").notna().any()
                ):
                    candidates[other] = parse(other)
            counts = {f: int(d.notna().sum()) for f, d in candidates.items()}
            fmt = max(counts, key=counts.__getitem__)  # ISO 8601 first on ties
            dates = candidates[fmt]
            for other, parsed in candidates.items():
                differs = (parsed != dates) & parsed.notna() & dates.notna()
                if counts[other] == counts[fmt] and counts[fmt] > 0 and differs.any():
                    example = original[differs].iloc[0]
                    raise CLIError(
                        f"{where}: the dates in column {column!r} are ambiguous: they read "
                        f"both as {fmt} and as {other} ({example!r} is "
                        f"{dates[differs].iloc[0]:%Y-%m-%d} or {parsed[differs].iloc[0]:%Y-%m-%d})."
                        f" Pass the file's layout with --date-format ('{fmt}' or '{other}') or "
                        "write ISO dates such as 2024-01-31."
                    )
            hint = (
                f"the other dates read as {fmt}; use one date format for the whole column"
                if counts[fmt]
                else "no known date format reads it; pass --date-format, e.g. '%d/%m/%Y'"
            )
    bad = dates.isna()
    if bad.any():
        row = int(bad.to_numpy().argmax())
        if not present.iloc[row]:
            raise CLIError(f"{where}: line {row + first_line} has no date in column {column!r}.")
        raise CLIError(
            f"{where}: line {row + first_line} has an invalid date {original.iloc[row]!r} in column "
            f"{column!r} ({hint}); ISO dates such as 2024-01-31 always work."
        )
    return dates


def _date(text: str | None, option: str) -> pd.Timestamp | None:
    import pandas as pd

    if text is None:
        return None
    try:  # ISO only, as --start/--end's type checks: never a day/month guess
        stamp = pd.to_datetime(text, format="ISO8601") if re.match(r"\s*\d{4}", text) else pd.NaT
    except (ValueError, OverflowError):
        stamp = pd.NaT
    if pd.isna(stamp):
        raise UsageError(
            f"{option} {text!r} is not an ISO date; write it year first, e.g. 2013-01-02."
        )
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _load_data(args: argparse.Namespace) -> tuple[pd.DataFrame, str]:
    """Wide price frame ``(n_dates, n_series)`` from the chosen source, and its description."""
    from tsnode import data

    if args.csv is not None:
        columns = None if args.column is None else [c for c in args.column.split(",") if c]
        frame = read_price_csv(
            args.csv,
            date_column=args.date_column,
            columns=columns,
            name=args.name,
            date_format=args.date_format,
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
