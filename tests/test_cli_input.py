"""Tests for the date column of ``--csv`` files (tsnode._cli_input.read_price_csv).

One date layout is read for the whole column: day-first files keep their order, ambiguous
day/month files are an error unless ``--date-format`` names the layout, and yfinance exports
with UTC offsets that change at daylight saving stay on their trading dates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsnode.cli import CLIError, main, read_price_csv


def write_prices(path: Path, dates: list[str], column: str = "date") -> Path:
    frame = pd.DataFrame({column: dates, "close": np.linspace(1.0, 2.0, len(dates))})
    frame.to_csv(path, index=False)
    return path


def test_day_first_dates_are_read_day_first_for_every_row(tmp_path):
    # regression: format="mixed" read "02/01/2020" as Feb 1 but "13/01/2020" as Jan 13
    idx = pd.bdate_range("2020-01-01", periods=120)
    path = write_prices(tmp_path / "c.csv", list(idx.strftime("%d/%m/%Y")))
    frame = read_price_csv(path)
    np.testing.assert_array_equal(frame.index, idx)
    np.testing.assert_allclose(frame["close"].to_numpy(), np.linspace(1.0, 2.0, 120))


@pytest.mark.parametrize(
    "layout",
    ["%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%b-%Y", "%b %d, %Y", "%m/%d/%Y %I:%M %p"],
)
def test_other_layouts_are_read_with_one_format(tmp_path, layout):
    idx = pd.bdate_range("2020-01-01", periods=60)
    path = write_prices(tmp_path / "c.csv", list(idx.strftime(layout)))
    frame = read_price_csv(path)
    np.testing.assert_array_equal(frame.index.normalize(), idx)
    assert frame.index.is_monotonic_increasing


def test_ambiguous_day_month_dates_raise_unless_date_format_is_given(tmp_path):
    idx = pd.bdate_range("2020-01-01", periods=8)  # every day <= 12: both layouts read all
    path = write_prices(tmp_path / "c.csv", list(idx.strftime("%d/%m/%Y")))
    with pytest.raises(CLIError, match="ambiguous") as info:
        read_price_csv(path)
    message = str(info.value)
    assert "--date-format" in message and "%d/%m/%Y" in message and "ISO" in message
    assert "\n" not in message
    day_first = read_price_csv(path, date_format="%d/%m/%Y")
    np.testing.assert_array_equal(day_first.index, idx)
    month_first = read_price_csv(path, date_format="%m/%d/%Y")
    assert month_first.index[1] == pd.Timestamp("2020-02-01")


def test_date_format_that_does_not_match_names_the_line(tmp_path):
    path = write_prices(tmp_path / "c.csv", ["2020-01-02", "2020-01-03"])
    with pytest.raises(CLIError, match=r"line 2 .*does not match --date-format '%d/%m/%Y'"):
        read_price_csv(path, date_format="%d/%m/%Y")
    with pytest.raises(CLIError, match="not a valid strptime format"):
        read_price_csv(path, date_format="%Q")


@pytest.mark.parametrize(
    ("dates", "match"),
    [
        (["2020-01-02", "01/03/2020", "2020-01-06"], "line 3 has an invalid date '01/03/2020'"),
        (["2020-01-02", None, "2020-01-06"], "line 3 has no date"),
        (["someday", "never"], "line 2 has an invalid date 'someday'.*--date-format"),
    ],
)
def test_mixed_or_missing_dates_are_errors(tmp_path, dates, match):
    path = write_prices(tmp_path / "c.csv", dates)
    with pytest.raises(CLIError, match=match):
        read_price_csv(path)


def yfinance_csv(path: Path, start: str, end: str) -> tuple[Path, pd.DatetimeIndex]:
    """A ``Ticker.history().to_csv()``-style file: midnight New York time with its offset."""
    days = pd.bdate_range(start, end)
    stamps = days.tz_localize("America/New_York")
    frame = pd.DataFrame({"Date": [str(s) for s in stamps], "Close": np.arange(len(days)) + 10.0})
    frame.to_csv(path, index=False)
    return path, days


def test_yfinance_export_across_daylight_saving_keeps_trading_dates(tmp_path):
    # regression: -05:00 and -04:00 in one column failed with "cannot parse ... as dates"
    path, days = yfinance_csv(tmp_path / "y.csv", "2021-03-08", "2021-03-19")
    text = path.read_text()
    assert "2021-03-12 00:00:00-05:00" in text and "2021-03-15 00:00:00-04:00" in text
    frame = read_price_csv(path)
    assert frame.index.tz is None
    np.testing.assert_array_equal(frame.index, days)
    np.testing.assert_allclose(frame["Close"].to_numpy(), np.arange(len(days)) + 10.0)


def test_single_offset_and_utc_suffix_keep_wall_clock_dates(tmp_path):
    path, days = yfinance_csv(tmp_path / "y.csv", "2021-01-04", "2021-01-15")
    np.testing.assert_array_equal(read_price_csv(path).index, days)
    utc = write_prices(tmp_path / "z.csv", [f"2021-01-{d:02d}T16:00:00Z" for d in (4, 5, 6)])
    assert list(read_price_csv(utc).index.day) == [4, 5, 6]


def test_forecast_cli_reads_yfinance_export_across_dst(tmp_path, capsys):
    path, days = yfinance_csv(tmp_path / "y.csv", "2021-01-04", "2021-06-30")
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--csv", str(path), "--model", "naive", "--horizon", "2", "-q"]
    assert main([*argv, "--output", str(out_csv)]) == 0, capsys.readouterr().err
    dates = pd.to_datetime(pd.read_csv(out_csv)["date"])
    assert list(dates) == [pd.Timestamp("2021-07-01"), pd.Timestamp("2021-07-02")]


def test_forecast_cli_date_format_option(tmp_path, capsys):
    idx = pd.bdate_range("2020-01-01", periods=8)
    path = write_prices(tmp_path / "c.csv", list(idx.strftime("%d/%m/%Y")))
    argv = ["forecast", "--csv", str(path), "--model", "naive", "--horizon", "1", "-q"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("tsnode forecast: error: ") and "ambiguous" in err
    out_csv = tmp_path / "fc.csv"
    assert main([*argv, "--date-format", "%d/%m/%Y", "--output", str(out_csv)]) == 0
    assert pd.Timestamp(pd.read_csv(out_csv)["date"].iloc[0]) == pd.Timestamp("2020-01-13")


def test_date_format_option_is_documented(capsys):
    assert main(["backtest", "--help"]) == 0
    assert "--date-format FORMAT" in capsys.readouterr().out


# ----------------------------------------------------------------------------- separators


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_separated_files_are_read(tmp_path, sep):
    # regression: 'date;close' was one column: "no 'date' column ... use --date-column"
    path = tmp_path / "prices.csv"
    rows = ["2023-01-02", "2023-01-03", "2023-01-04"]
    path.write_text(
        f"date{sep}close\n" + "".join(f"{d}{sep}{100 + i}.5\n" for i, d in enumerate(rows))
    )
    frame = read_price_csv(path)
    assert frame.index.tolist() == [pd.Timestamp(d) for d in rows]
    assert frame["close"].tolist() == [100.5, 101.5, 102.5]


@pytest.mark.parametrize(
    "header, match",
    [
        ("Date,Close,Close", "names the column 'Close' twice;"),
        ("Date;Close;close", "names the column 'Close' twice \\(also as 'close'\\)"),
    ],
)
def test_a_header_naming_a_column_twice_is_refused(tmp_path, header, match):
    # regression: pandas read the second as "Close.1" and the first was used in silence
    sep = ";" if ";" in header else ","
    rows = [sep.join(["2020-01-02", "1", "5"]), sep.join(["2020-01-03", "2", "6"])]
    path = tmp_path / "dup.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(CLIError, match=match):
        read_price_csv(path)
    blank = tmp_path / "blank.csv"  # empty trailing header cells are not names
    blank.write_text("date,close,,\n2020-01-02,1,,\n2020-01-03,2,,\n")
    assert list(read_price_csv(blank).columns) == ["close"]


def test_semicolon_file_with_decimal_commas_says_so(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("date;close\n2023-01-02;100,5\n2023-01-03;101,25\n")
    with pytest.raises(CLIError, match=r"non-numeric price '100,5' on line 2; .* without commas"):
        read_price_csv(path)


def test_forecast_cli_reads_a_semicolon_file(tmp_path, capsys):
    path = tmp_path / "semi.csv"
    path.write_text("date;close\n" + "".join(f"2023-01-{d:02d};{100 + d}\n" for d in range(2, 20)))
    assert main(["forecast", "--csv", str(path), "--model", "naive", "--horizon", "2", "-q"]) == 0
    assert "close: last price 119.00 on 2023-01-19" in capsys.readouterr().out


def test_compressed_csv_files_are_read(tmp_path):
    # regression: the separator sniffing read a .csv.gz as text, so a gzip header byte ';'
    # made about 1 file in 4 fail with "no 'date' column (columns: ['date,close'])"
    dates = pd.bdate_range("2024-01-02", periods=30)
    for seed in range(12):
        prices = 100 + np.random.default_rng(seed).normal(0, 1, 30).cumsum()
        path = tmp_path / f"p{seed}.csv.gz"
        pd.DataFrame({"date": dates, "close": prices}).to_csv(path, index=False)
        frame = read_price_csv(path)
        np.testing.assert_allclose(frame.iloc[:, 0].to_numpy(), prices)
