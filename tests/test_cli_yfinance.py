"""Tests for ``--csv`` files exported from yfinance (tsnode._cli_input.read_price_csv).

``yf.download(...).to_csv()`` writes a three-row header (``Price,...``, ``Ticker,...``,
``Date,,,...``), even for one ticker; ``group_by="ticker"`` swaps the first two rows.
Fixtures are frames of exactly yfinance's shape (see the yfinance notes: level names, sort
order, dtypes, index name) built from the shipped samples and written by pandas.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsnode import data
from tsnode._validation import to_wide_frame
from tsnode.cli import CLIError, main, read_price_csv

FIELDS = ["Close", "High", "Low", "Open", "Volume"]  # yf.download sorts the Price level


def yf_download(
    tickers: list[str], *, n: int = 80, group_by: str = "column", adj_close: bool = False
) -> pd.DataFrame:
    """A ``yf.download(tickers)`` frame: MultiIndex (Price, Ticker), Volume int64, ``Date``."""
    full = data.load_sample(tickers, field="all").iloc[-n:]
    fields = (["Adj Close"] if adj_close else []) + FIELDS
    columns = {}
    for field in fields:
        for ticker in sorted(tickers):
            source = full[("Close" if field == "Adj Close" else field, ticker)]
            if field == "Adj Close":
                source = source * 0.97  # differs from Close, as with auto_adjust=False
            columns[(field, ticker)] = source.astype("int64" if field == "Volume" else "float64")
    frame = pd.DataFrame(columns)
    frame.columns = frame.columns.set_names(["Price", "Ticker"])
    frame.index = pd.DatetimeIndex(full.index.to_numpy(), name="Date")
    if group_by == "ticker":  # Ticker x Price, prices Open..Volume, tickers in no set order
        order = ["Open", "High", "Low", "Close", "Volume"]
        pairs = [(t, f) for t in reversed(sorted(tickers)) for f in order]
        frame = frame.swaplevel(axis=1)[pairs]
    return frame


def written(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path)
    return path


def closes(tickers: list[str], n: int = 80) -> pd.DataFrame:
    return data.load_sample(tickers).iloc[-n:]


def test_one_ticker_export_has_yfinance_header_and_is_read(tmp_path):
    # regression: failed with "no 'date' column ... use --date-column"
    path = written(yf_download(["AAPL"]), tmp_path / "aapl.csv")
    head = path.read_text().splitlines()[:3]
    assert head == ["Price,Close,High,Low,Open,Volume", "Ticker,AAPL,AAPL,AAPL,AAPL,AAPL"] + [
        "Date,,,,,"
    ]
    frame = read_price_csv(path)
    assert list(frame.columns) == ["AAPL"] and frame.index.name == "Date"
    np.testing.assert_array_equal(frame.index, closes(["AAPL"]).index)
    np.testing.assert_allclose(frame["AAPL"], closes(["AAPL"])["AAPL"])


@pytest.mark.parametrize("group_by", ["column", "ticker"])
@pytest.mark.parametrize("tickers", [["AAPL"], ["MSFT", "AAPL"]])
def test_export_reads_as_fit_reads_the_yfinance_frame(tmp_path, tickers, group_by):
    frame = yf_download(tickers, group_by=group_by)
    path = written(frame, tmp_path / "yf.csv")
    first = path.read_text().splitlines()[0]
    assert first.startswith("Ticker," if group_by == "ticker" else "Price,")
    read = read_price_csv(path)
    expected = to_wide_frame(frame)  # what forecaster.fit makes of the frame itself
    assert list(read.columns) == list(expected.columns) == sorted(tickers)
    np.testing.assert_array_equal(read.index, expected.index)
    np.testing.assert_allclose(read.to_numpy(), expected.to_numpy())
    # --date-column (what users tried) does not get in the way
    pd.testing.assert_frame_equal(read_price_csv(path, date_column="Price"), read)


def test_forecast_cli_reads_a_two_ticker_export(tmp_path, capsys):
    path = written(yf_download(["AAPL", "MSFT"]), tmp_path / "yf.csv")
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--csv", str(path), "--model", "naive", "--horizon", "2"]
    assert main([*argv, "--output", str(out_csv), "-q"]) == 0, capsys.readouterr().err
    table = pd.read_csv(out_csv)
    assert list(table["series"]) == ["AAPL", "AAPL", "MSFT", "MSFT"]
    last = closes(["AAPL", "MSFT"]).iloc[-1]
    np.testing.assert_allclose(table["median"], last[table["series"]].to_numpy(), rtol=1e-9)
    # and with --date-column Price, which failed with "line 2 has an invalid date 'Ticker'"
    assert main([*argv, "--date-column", "Price", "-q"]) == 0, capsys.readouterr().err


def test_column_picks_the_field_and_tickers(tmp_path):
    frame = yf_download(["AAPL", "MSFT"])
    path = written(frame, tmp_path / "yf.csv")
    opens = read_price_csv(path, columns=["open"])
    np.testing.assert_allclose(opens.to_numpy(), frame["Open"].to_numpy())
    msft = read_price_csv(path, columns=["msft", "Close"], name="M")
    assert list(msft.columns) == ["M"]
    np.testing.assert_allclose(msft["M"], frame[("Close", "MSFT")])
    only = read_price_csv(path, columns=["MSFT"])  # a ticker alone: the default field
    np.testing.assert_allclose(only["MSFT"], frame[("Close", "MSFT")])
    with pytest.raises(CLIError, match="two price fields, 'High' and 'Low'"):
        read_price_csv(path, columns=["High", "Low"])
    with pytest.raises(CLIError, match=r"no price field or ticker 'IBM'.*'AAPL', 'MSFT'"):
        read_price_csv(path, columns=["IBM"])
    with pytest.raises(CLIError, match="--name names a single price column"):
        read_price_csv(path, name="X")


def test_adj_close_is_preferred_as_for_single_header_files(tmp_path):
    frame = yf_download(["AAPL"], adj_close=True)
    path = written(frame, tmp_path / "yf.csv")
    assert path.read_text().startswith("Price,Adj Close,Close,")
    np.testing.assert_allclose(read_price_csv(path)["AAPL"], frame[("Adj Close", "AAPL")])
    close = read_price_csv(path, columns=["Close"])
    np.testing.assert_allclose(close["AAPL"], frame[("Close", "AAPL")])


def test_failed_ticker_is_a_one_line_error_with_a_way_out(tmp_path, capsys):
    frame = yf_download(["AAPL", "MSFT"])
    for field in [*FIELDS]:  # a failed ticker: all-NaN columns, float Volume
        frame[(field, "MSFT")] = np.nan
    path = written(frame, tmp_path / "yf.csv")
    argv = ["forecast", "--csv", str(path), "--model", "naive", "--horizon", "1", "-q"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tsnode forecast: error: ")
    assert "ticker 'MSFT' has no 'Close' prices" in err and "--column Close,AAPL" in err
    assert main([*argv, "--column", "Close,AAPL"]) == 0


def test_bad_price_names_its_line_below_the_three_header_rows(tmp_path):
    frame = yf_download(["AAPL"]).astype({("Close", "AAPL"): object})
    frame.iloc[1, 0] = "12,5 USD"
    path = written(frame, tmp_path / "yf.csv")
    with pytest.raises(CLIError, match="'Close' column of 'AAPL' has a non-numeric .* line 5"):
        read_price_csv(path)
    dup = written(yf_download(["AAPL"]).iloc[[0, 1, 1]], tmp_path / "dup.csv")
    with pytest.raises(CLIError, match="appears more than once \\(line 6\\)"):
        read_price_csv(dup)
    empty = written(yf_download(["AAPL"]).iloc[:0], tmp_path / "empty.csv")
    with pytest.raises(CLIError, match="header but no rows"):
        read_price_csv(empty)


def test_export_without_index_name_row_and_intraday_datetimes(tmp_path):
    frame = yf_download(["AAPL"], n=26)
    frame.index = pd.date_range("2024-03-11 09:30", periods=26, freq="30min", tz="America/New_York")
    frame.index.name = "Datetime"  # yfinance's name for intraday bars
    path = written(frame, tmp_path / "intraday.csv")
    assert path.read_text().splitlines()[2].startswith("Datetime,,")
    read = read_price_csv(path)
    np.testing.assert_array_equal(read.index, frame.index.tz_localize(None))  # wall clock
    unnamed = written(frame.rename_axis(None), tmp_path / "unnamed.csv")
    assert unnamed.read_text().splitlines()[2].startswith("2024-03-11 09:30:00-04:00,")
    pd.testing.assert_frame_equal(read_price_csv(unnamed), read)


def test_ticker_history_export_still_reads_its_close(tmp_path):
    # Ticker.history().to_csv(): one header row, Open..Stock Splits, tz-aware midnight dates
    one = yf_download(["AAPL"]).xs("AAPL", axis=1, level="Ticker")
    history = one[["Open", "High", "Low", "Close", "Volume"]].assign(
        Dividends=0.0, **{"Stock Splits": 0.0}
    )
    history.index = history.index.tz_localize("America/New_York")
    path = written(history, tmp_path / "history.csv")
    assert path.read_text().startswith("Date,Open,High,Low,Close,Volume,Dividends,Stock Splits")
    read = read_price_csv(path)
    assert list(read.columns) == ["Close"] and read.index.tz is None
    np.testing.assert_array_equal(read.index, one.index)
    np.testing.assert_allclose(read["Close"], one["Close"])


def test_a_price_column_in_a_plain_file_is_not_a_yfinance_header(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("price,date\n1.5,2024-01-02\n1.6,2024-01-03\n")
    assert list(read_price_csv(path)["price"]) == [1.5, 1.6]


def test_failed_ticker_in_an_auto_adjusted_export_is_named_not_a_crash(tmp_path, capsys):
    # regression: the failed ticker's empty 'Adj Close' (yfinance adds it even with
    # auto_adjust=True) was picked as the default field, then the hint crashed with
    # "list index out of range"
    frame = yf_download(["AAPL", "MSFT"])
    frame[("Adj Close", "ZZZZ")] = np.nan
    for field in FIELDS:
        frame[(field, "ZZZZ")] = np.nan
    frame = frame[sorted(frame.columns)]
    path = written(frame, tmp_path / "yf.csv")
    argv = ["forecast", "--csv", str(path), "--model", "naive", "--horizon", "1", "-q"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "ticker 'ZZZZ' has no 'Close' prices" in err and "--column Close,AAPL,MSFT" in err
    assert main([*argv, "--column", "Close,AAPL,MSFT"]) == 0
    only = written(frame[[c for c in frame.columns if c[1] == "ZZZZ"]], tmp_path / "z.csv")
    assert main(["forecast", "--csv", str(only), "--model", "naive", "--horizon", "1"]) == 1
    assert "has no 'Adj Close' prices" in capsys.readouterr().err  # no other ticker: no hint


def test_failed_ticker_hint_is_a_command_the_shell_can_take(tmp_path, capsys):
    # regression: the hint read "--column Adj Close,AAPL." (split by the shell, and the full
    # stop pasted into the last ticker)
    frame = yf_download(["AAPL", "MSFT"], adj_close=True)
    for field in ["Adj Close", *FIELDS]:
        frame[(field, "MSFT")] = np.nan
    path = written(frame, tmp_path / "yf.csv")
    argv = ["forecast", "--csv", str(path), "--model", "naive", "--horizon", "1", "-q"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.endswith("--column 'Adj Close,AAPL'")
    pasted = shlex.split(err.rsplit("with: ", 1)[1])
    assert pasted == ["--column", "Adj Close,AAPL"] and main([*argv, *pasted]) == 0
