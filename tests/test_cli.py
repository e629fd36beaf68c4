"""Tests for the ``tsnode`` command line (tsnode.cli).

Subprocess tests run ``python -m tsnode.cli`` from the repository root (the package is not
installed in the dev environment); in-process tests call ``main(argv)`` directly. Nothing
touches the network: ticker downloads are monkeypatched or served from an empty cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from tsnode import cli, data
from tsnode.cli import CLIError, main, make_forecaster, read_price_csv

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["forecast", "backtest", "samples"]


def run_cli(*args: str, tmp_path: Path, quick: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m tsnode.cli ARGS`` in a subprocess with no network access needed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["TSNODE_CACHE_DIR"] = str(tmp_path / "cache")  # empty cache: never a stale hit
    env["MPLBACKEND"] = "Agg"
    env["OMP_NUM_THREADS"] = "1"  # as tests/conftest.py does in-process: 2 shared cores
    if quick:
        env["TSNODE_QUICK"] = "1"
    else:
        env.pop("TSNODE_QUICK", None)
    return subprocess.run(
        [sys.executable, "-m", "tsnode.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert len(err.splitlines()) == 1, proc.stderr
    assert err.startswith("tsnode "), err
    assert ": error: " in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    prices = data.load_sample("IBM").iloc[-120:, 0]
    frame = pd.DataFrame({"date": prices.index.strftime("%Y-%m-%d"), "close": prices.to_numpy()})
    path = tmp_path / "ibm.csv"
    frame.to_csv(path, index=False)
    return path


# ----------------------------------------------------------------------------- help


def test_top_level_help_subprocess(tmp_path):
    proc = run_cli("--help", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for command in COMMANDS:
        assert command in proc.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_subprocess(command, tmp_path):
    proc = run_cli(command, "--help", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"usage: tsnode {command}" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_in_process(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: tsnode {command}" in out
    if command != "samples":
        for option in ("--ticker", "--csv", "--sample", "--quick", "--seed", "--epochs"):
            assert option in out


def test_version_and_no_command(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tsnode ")
    assert main([]) == 2


def test_usage_errors_exit_2(capsys):
    assert main(["forecast", "--sample", "AAPL", "--horizon", "0"]) == 2
    assert "positive integer" in capsys.readouterr().err
    assert main(["forecast", "--sample", "AAPL", "--csv", "x.csv"]) == 2  # one source only
    assert main(["forecast"]) == 2  # a source is required
    assert main(["backtest", "--sample", "AAPL", "--models", "naive,prophet"]) == 2
    assert main(["forecast", "--sample", "AAPL", "--coverage", "1.5"]) == 2


# ----------------------------------------------------------------------------- samples


def test_samples_lists_shipped_samples(capsys):
    assert main(["samples"]) == 0
    out = capsys.readouterr().out
    for name in data.list_samples()["name"]:
        assert name in out
    assert "first_date" in out and "rows" in out


# ----------------------------------------------------------------------------- forecast


def test_forecast_sample_quick_writes_csv_and_png_subprocess(tmp_path):
    out_csv, out_png = tmp_path / "fc.csv", tmp_path / "fc.png"
    proc = run_cli(
        "forecast",
        "--sample",
        "AAPL",
        "--horizon",
        "5",
        "--quick",
        "--output",
        str(out_csv),
        "--plot",
        str(out_png),
        tmp_path=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "AAPL" in proc.stdout and "median" in proc.stdout
    table = pd.read_csv(out_csv, parse_dates=["date"])
    assert list(table.columns) == ["date", "series", "lower", "median", "upper", "coverage"]
    assert len(table) == 5
    assert (table["series"] == "AAPL").all()
    # the sample ends on Friday 2013-03-01: the next 5 NYSE sessions
    expected = pd.bdate_range("2013-03-04", periods=5)
    assert list(table["date"]) == list(expected)
    assert (table["lower"] <= table["median"]).all()
    assert (table["median"] <= table["upper"]).all()
    assert (table["lower"] > 0).all()
    np.testing.assert_allclose(table["coverage"], 0.8)
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out_png.stat().st_size > 5_000


def test_forecast_quick_via_env_in_process(tmp_path, monkeypatch, capsys):
    seen = []

    def spy(name, **kwargs):
        seen.append((name, kwargs))
        return make_forecaster("gbm", **kwargs)  # fast, whatever the model asked for

    monkeypatch.setattr(cli, "make_forecaster", spy)
    monkeypatch.setenv("TSNODE_QUICK", "1")
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--sample", "msft", "--model", "gbm", "--horizon", "3", "--seed", "7"]
    code = main([*argv, "--coverage", "0.9", "--output", str(out_csv), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert seen == [
        (
            "gbm",
            {
                "quick": True,
                "epochs": None,
                "seed": 7,
                "progress": False,
                "calendar": "XNYS",
                "device": "cpu",
                "members": 1,
                "restarts": 1,
                "time_scale_days": None,
            },
        )
    ]
    table = pd.read_csv(out_csv)
    assert len(table) == 3
    np.testing.assert_allclose(table["coverage"], 0.9)
    assert (table["lower"] < table["upper"]).all()
    monkeypatch.delenv("TSNODE_QUICK")
    assert main([*argv, "--model", "tsnode", "--epochs", "4", "-q"]) == 0
    assert seen[-1][1]["quick"] is False and seen[-1][1]["epochs"] == 4


@pytest.mark.parametrize(
    "options, message",
    [
        (["--name", "FOO"], "--name only applies to --csv, not to --sample; drop it"),
        (["--column", "Close", "--date-format", "%d"], "--column, --date-format only apply to"),
        (["--offline"], "--offline only applies to --ticker, not to --sample"),
        (["--model", "naive", "--members", "2"], "--members only applies to the neural models"),
        (["--model", "gbm", "--epochs", "3"], "not to gbm; drop it"),
        (["--model", "gru", "--restarts", "2"], "--restarts only applies to tsnode, not to gru"),
        (["--model", "tsnode", "--device", "foo"], "--device 'foo' is not a torch device"),
    ],
)
def test_options_the_source_or_model_would_ignore_are_usage_errors(options, message, capsys):
    # regression: they were ignored in silence (--name FOO with --sample, --members 2 with
    # naive), and a bad --device only failed after the data were loaded
    assert main(["forecast", "--sample", "AAPL", "--horizon", "1", "-q", *options]) == 2
    assert message in capsys.readouterr().err


def test_backtest_options_apply_when_one_model_uses_them(capsys):
    argv = ["backtest", "--sample", "AAPL", "--horizon", "1", "-q", "--models", "naive,gbm"]
    assert main([*argv, "--epochs", "2"]) == 2
    assert "not to naive, gbm" in capsys.readouterr().err


@pytest.mark.parametrize("model", ["gbm", "drift", "naive"])
def test_forecast_baseline_models_from_csv(model, good_csv, tmp_path, capsys):
    out_csv = tmp_path / f"{model}.csv"
    code = main(
        [
            "forecast",
            "--csv",
            str(good_csv),
            "--model",
            model,
            "--horizon",
            "4",
            "--name",
            "IBM",
            "--output",
            str(out_csv),
        ]
    )
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out_csv)
    assert len(table) == 4
    assert set(table["series"]) == {"IBM"}
    if model == "naive":  # random walk: the median is the last price
        last = pd.read_csv(good_csv)["close"].iloc[-1]
        np.testing.assert_allclose(table["median"], last, rtol=1e-9)


def test_forecast_gru_quick(good_csv, tmp_path, monkeypatch):
    monkeypatch.setenv("TSNODE_QUICK", "1")
    out_csv = tmp_path / "gru.csv"
    argv = ["forecast", "--csv", str(good_csv), "--model", "gru", "--horizon", "3"]
    assert main([*argv, "--output", str(out_csv), "-q"]) == 0
    table = pd.read_csv(out_csv)
    assert len(table) == 3 and (table["lower"] > 0).all()
    assert (table["lower"] <= table["upper"]).all()


def test_forecast_calendar_none_continues_spacing(good_csv, tmp_path):
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--csv", str(good_csv), "--model", "naive", "--horizon", "2"]
    assert main([*argv, "--calendar", "none", "--output", str(out_csv), "-q"]) == 0
    dates = pd.to_datetime(pd.read_csv(out_csv)["date"])
    last = pd.to_datetime(pd.read_csv(good_csv)["date"]).iloc[-1]
    assert (dates > last).all() and dates.is_monotonic_increasing


def test_forecast_does_not_modify_sample(capsys):
    before = data.load_sample("IBM")
    assert main(["forecast", "--sample", "IBM", "--model", "naive", "--horizon", "2", "-q"]) == 0
    pd.testing.assert_frame_equal(data.load_sample("IBM"), before)


def test_forecast_ticker_uses_load_prices(monkeypatch, tmp_path, capsys):
    calls = {}

    def fake_load_prices(tickers, start=None, end=None, **kwargs):
        calls.update(tickers=tickers, start=start, end=end, **kwargs)
        frame = data.load_sample("GOOG")
        frame.columns = pd.Index(["GOOG"], name="Ticker")
        return frame

    monkeypatch.setattr(data, "load_prices", fake_load_prices)
    argv = ["forecast", "--ticker", "GOOG", "--model", "gbm", "--horizon", "3"]
    assert main([*argv, "--start", "2010-01-01", "--offline", "--cache-dir", str(tmp_path)]) == 0
    assert calls["tickers"] == "GOOG" and calls["start"] == "2010-01-01"
    assert calls["offline"] is True and calls["cache_dir"] == str(tmp_path)
    assert "GOOG" in capsys.readouterr().out


def test_forecast_start_end_filter_sample(tmp_path):
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--sample", "AAPL", "--model", "naive", "--horizon", "1"]
    assert main([*argv, "--end", "2010-01-01", "--output", str(out_csv), "-q"]) == 0
    assert pd.Timestamp(pd.read_csv(out_csv)["date"].iloc[0]) == pd.Timestamp("2010-01-04")


# ----------------------------------------------------------------------------- error paths


def test_unknown_sample_subprocess(tmp_path):
    proc = run_cli("forecast", "--sample", "NOPE", tmp_path=tmp_path)
    assert_one_line_error(proc, "Unknown sample 'NOPE'", "AAPL")


def test_csv_without_date_column_subprocess(tmp_path):
    path = write_csv(tmp_path / "bad.csv", "day,close\n2020-01-02,1.0\n2020-01-03,2.0\n")
    proc = run_cli("forecast", "--csv", str(path), tmp_path=tmp_path)
    assert_one_line_error(proc, "no 'date' column", "--date-column")


def test_csv_non_numeric_prices_subprocess(tmp_path):
    path = write_csv(
        tmp_path / "bad.csv", "date,close\n2020-01-02,1.0\n2020-01-03,abc\n2020-01-06,3\n"
    )
    proc = run_cli("forecast", "--csv", str(path), tmp_path=tmp_path)
    assert_one_line_error(proc, "non-numeric price 'abc'", "line 3")


def test_missing_csv_file_subprocess(tmp_path):
    proc = run_cli("backtest", "--csv", str(tmp_path / "absent.csv"), tmp_path=tmp_path)
    assert_one_line_error(proc, "no such file")


def test_offline_without_cache_subprocess(tmp_path):
    proc = run_cli("forecast", "--ticker", "AAPL", "--offline", tmp_path=tmp_path)
    assert_one_line_error(proc, "no cached prices", "AAPL")


def test_yfinance_failure_in_process(monkeypatch, capsys):
    def failing_load_prices(*args, **kwargs):
        raise data.DataError(
            "Could not download prices for ['ZZZZ'] and no cached copy exists.\n"
            "yfinance said: ZZZZ: possibly delisted"
        )

    monkeypatch.setattr(data, "load_prices", failing_load_prices)
    code = main(["forecast", "--ticker", "ZZZZ", "--horizon", "5"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("tsnode forecast: error: Could not download prices for ['ZZZZ']")
    assert "possibly delisted" in lines[0]
    assert captured.out == ""


def test_unexpected_error_is_one_line_and_debug_shows_traceback(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("solver blew up")

    monkeypatch.setattr(data, "load_sample", broken)
    assert main(["forecast", "--sample", "AAPL"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "tsnode forecast: error: solver blew up (RuntimeError; rerun with --debug)"
    )
    assert main(["forecast", "--sample", "AAPL", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_error_from_model_is_one_line(tmp_path, capsys):
    path = write_csv(
        tmp_path / "neg.csv",
        "date,close\n" + "".join(f"2020-01-{d:02d},{-d}\n" for d in range(2, 20)),
    )
    assert main(["forecast", "--csv", str(path), "--model", "gbm"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("tsnode forecast: error: ")


def test_unwritable_output_is_one_line(tmp_path, capsys):
    target = tmp_path / "missing_dir" / "fc.csv"
    argv = ["forecast", "--sample", "IBM", "--model", "naive", "--output", str(target), "-q"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tsnode forecast: error: cannot write")
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("option", ["--start", "--end"])
@pytest.mark.parametrize("text", ["yesterday", "today", "01/02/2013", "13/02/2013", "1.2.2013"])
def test_non_iso_date_options_are_usage_errors(option, text, monkeypatch, capsys):
    # regression: --start 01/02/2013 was read month-first (13/02/2013 day-first) without a
    # word, while --csv refuses such ambiguous dates
    monkeypatch.setattr(cli, "_load_data", _no_data)
    assert main(["forecast", "--sample", "IBM", "--model", "naive", option, text]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"tsnode forecast: error: argument {option}: expected an ISO date (year-month-day) "
        f"such as 2013-01-02, got {text!r}; write 1 February 2013 as 2013-02-01"
    )


def test_iso_date_options_still_filter(capsys):
    argv = ["forecast", "--sample", "IBM", "--model", "naive", "--horizon", "1", "-q"]
    assert main([*argv, "--start", "2013-02-13", "--end", "2013-02-20"]) == 0
    assert "last price" in capsys.readouterr().out
    args = cli.build_parser().parse_args(["forecast", "--sample", "IBM", "--start", "20130213"])
    assert cli._load_data(args)[0].index[0] == pd.Timestamp("2013-02-13")
    args.start = "02/13/2013"  # the loader refuses non-ISO text too (exit 2)
    with pytest.raises(cli.UsageError, match="--start '02/13/2013' is not an ISO date"):
        cli._load_data(args)


# ----------------------------------------------------------------------------- read_price_csv


def test_read_price_csv_picks_close_and_sorts(tmp_path):
    path = write_csv(
        tmp_path / "p.csv",
        "Date,Open,Close,Volume\n2020-01-03,1,2.5,10\n2020-01-02,1,2.0,10\n2020-01-06,1,,10\n",
    )
    frame = read_price_csv(path)
    assert list(frame.columns) == ["Close"]
    assert frame.index.is_monotonic_increasing and frame.index.name == "Date"
    np.testing.assert_array_equal(frame["Close"].to_numpy(), [2.0, 2.5, np.nan])
    assert frame["Close"].dtype == np.float64


def test_read_price_csv_single_other_column_and_name(tmp_path):
    path = write_csv(tmp_path / "p.csv", "date,SPY\n2020-01-02,300\n2020-01-03,301\n")
    assert list(read_price_csv(path).columns) == ["SPY"]
    assert list(read_price_csv(path, name="spy").columns) == ["spy"]


def test_read_price_csv_several_columns(tmp_path):
    path = write_csv(tmp_path / "p.csv", "date,a,b\n2020-01-02,1,2\n2020-01-03,3,4\n")
    with pytest.raises(CLIError, match="cannot tell which column holds the prices"):
        read_price_csv(path)
    frame = read_price_csv(path, columns=["A", "b"])
    assert list(frame.columns) == ["a", "b"]
    with pytest.raises(CLIError, match="no price column 'c'"):
        read_price_csv(path, columns=["c"])
    with pytest.raises(CLIError, match="--name names a single price column"):
        read_price_csv(path, columns=["a", "b"], name="x")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("date,close\n2020-01-02,1\nnot a date,2\n", "line 3 has an invalid date 'not a date'"),
        ("date,close\n2020-01-02,1\n2020-01-02,2\n", "appears more than once"),
        ("date,close\n", "no rows"),
        ("", "not a readable CSV"),
        ("date\n2020-01-02\n", "no price column besides"),
        ("date,close\n2020-01-02,\n2020-01-03,\n", "has no prices"),
    ],
)
def test_read_price_csv_errors(tmp_path, text, match):
    path = write_csv(tmp_path / "bad.csv", text)
    with pytest.raises(CLIError, match=match):
        read_price_csv(path)


# ----------------------------------------------------------------------------- models


def test_make_forecaster_settings(monkeypatch):
    quick = make_forecaster("tsnode", quick=True, seed=3)
    assert quick.epochs == 2 and quick.latent_dim == 4 and quick.random_state == 3
    full = make_forecaster("tsnode", epochs=7, progress=True)
    assert full.epochs == 7 and full.progress is True
    assert full.latent_dim == type(full)().latent_dim  # default architecture
    gbm = make_forecaster("gbm", calendar=None, seed=None)
    assert type(gbm).__name__ == "GBMForecaster" and gbm.calendar is None
    with pytest.raises(ValueError, match="name must be one of"):
        make_forecaster("prophet")


def test_make_forecaster_members_builds_a_seed_ensemble():
    ensemble = make_forecaster("tsnode", quick=True, seed=3, members=2)
    assert type(ensemble).__name__ == "EnsembleForecaster"
    assert ensemble.n_members == 2 and ensemble.random_state == 3
    assert ensemble.estimator.epochs == 2  # the quick budget, per member
    assert type(make_forecaster("gbm", members=2)).__name__ == "GBMForecaster"


def test_forecast_with_members_in_process(tmp_path, capsys):
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--sample", "msft", "--quick", "--horizon", "3", "--members", "2"]
    assert main([*argv, "--output", str(out_csv), "--quiet"]) == 0, capsys.readouterr().err
    table = pd.read_csv(out_csv)
    assert len(table) == 3 and (table["lower"] < table["upper"]).all()
    assert main([*argv[:-1], "0", "--quiet"]) == 2
    assert "--members" in capsys.readouterr().err


def test_quick_env_values(monkeypatch):
    for value, expected in [("1", True), ("true", True), ("0", False), ("", False)]:
        monkeypatch.setenv(cli.QUICK_ENV_VAR, value)
        assert cli._quick_from_env() is expected


# ----------------------------------------------------------------------------- backtest


def test_backtest_baselines_prints_leaderboard_and_saves_plots(tmp_path, capsys):
    plots, board_csv = tmp_path / "plots", tmp_path / "board.csv"
    argv = ["backtest", "--sample", "IBM", "--models", "gbm,naive,drift", "--horizon", "3"]
    argv += ["--cutoffs", "12", "--plot-dir", str(plots), "--output", str(board_csv)]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "Leaderboard" in out and "mase" in out and "dm_pvalue" in out
    assert "sharpe" in out and "buy_and_hold" in out
    board = pd.read_csv(board_csv, index_col="model")
    assert set(board.index) == {"gbm", "naive", "drift"}
    assert board.loc["naive", "count"] > 0
    for name in ("backtest_gbm.png", "calibration_gbm.png", "equity.png"):
        assert (plots / name).stat().st_size > 5_000


def test_backtest_quick_tsnode(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TSNODE_QUICK", "1")
    plots = tmp_path / "plots"
    argv = ["backtest", "--sample", "MSFT", "--models", "tsnode,naive", "--horizon", "2"]
    assert main([*argv, "--cutoffs", "3", "--plot-dir", str(plots)]) == 0
    out = capsys.readouterr().out
    assert "tsnode" in out and "naive" in out and "3 cutoffs" in out
    assert (plots / "backtest_tsnode.png").is_file() and (plots / "equity.png").is_file()


def test_backtest_too_few_rows_is_one_line(capsys):
    argv = ["backtest", "--sample", "FB", "--models", "naive", "--cutoffs", "100", "--step", "5"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "too few" in err and "--cutoffs" in err


def test_public_names_importable():
    for name in [*cli.__all__, "build_parser", "_quick_from_env"]:
        assert hasattr(cli, name), name
    assert issubclass(cli.CLIError, Exception)
    assert set(cli.MODELS) == {"tsnode", "gru", "gbm", "drift", "naive"}
    assert cli.QUICK_ENV_VAR == "TSNODE_QUICK"


def test_make_forecaster_restarts_set_n_init_for_tsnode_only():
    assert make_forecaster("tsnode", quick=True, restarts=3).n_init == 3
    assert make_forecaster("tsnode", quick=True).n_init == 1
    assert "n_init" not in make_forecaster("gru", quick=True, restarts=3).get_params()


def test_forecast_with_restarts_in_process(tmp_path, capsys):
    out_csv = tmp_path / "fc.csv"
    argv = ["forecast", "--sample", "msft", "--quick", "--horizon", "3", "--restarts", "2"]
    assert main([*argv, "--output", str(out_csv), "--quiet"]) == 0, capsys.readouterr().err
    assert len(pd.read_csv(out_csv)) == 3
    assert main([*argv[:-1], "0", "--quiet"]) == 2
    assert "--restarts" in capsys.readouterr().err


# ----------------------------------------------------------------------------- python -m tsnode


def test_python_dash_m_tsnode(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TSNODE_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "tsnode", "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: tsnode")
    for command in COMMANDS:
        assert command in proc.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "tsnode", "forecast", "--sample", "NOPE"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert_one_line_error(failed, "Unknown sample 'NOPE'")  # main's exit status passes through


# ----------------------------------------------------------------------------- output paths


def _no_data(args):
    raise AssertionError("data was loaded before the output paths were checked")


@pytest.mark.parametrize(
    ("option", "relative", "fragment"),
    [
        ("--output", "missing_dir/fc.csv", "does not exist"),
        ("--output", "a_file/fc.csv", "is a file, not a folder"),
        ("--output", "a_dir", "it is a directory"),
        ("--plot", "missing_dir/fc.png", "does not exist"),
        ("--plot", "a_file/deeper/fc.png", "is a file, not a folder"),
        ("--plot", "fc.txt", "cannot save '.txt' images"),
    ],
)
def test_forecast_bad_output_paths_fail_before_loading_data(
    option, relative, fragment, tmp_path, monkeypatch, capsys
):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_dir").mkdir()
    monkeypatch.setattr(cli, "_load_data", _no_data)
    target = tmp_path / relative
    assert main(["forecast", "--sample", "IBM", option, str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"tsnode forecast: error: cannot write {option} {target}: "), err
    assert fragment in err
    assert not (tmp_path / "missing_dir").exists()


def test_backtest_bad_output_and_plot_dir_fail_before_loading_data(tmp_path, monkeypatch, capsys):
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setattr(cli, "_load_data", _no_data)
    argv = ["backtest", "--sample", "IBM", "--models", "naive"]
    assert main([*argv, "--output", str(tmp_path / "missing" / "board.csv")]) == 1
    assert "error: cannot write --output" in capsys.readouterr().err
    assert main([*argv, "--plot-dir", str(tmp_path / "a_file" / "plots")]) == 1
    err = capsys.readouterr().err
    assert "error: cannot create --plot-dir" in err and "is a file, not a folder" in err


def test_good_output_paths_pass_the_check(tmp_path, monkeypatch):
    (tmp_path / "old.csv").write_text("overwritten")
    cli._check_output_path(str(tmp_path / "old.csv"), "--output")
    cli._check_output_path(str(tmp_path / "fc.png"), "--plot", figure=True)
    cli._check_output_path(None, "--output")
    cli._check_plot_dir(str(tmp_path / "new" / "plots"))  # created later, parents too
    assert not (tmp_path / "new").exists()


def test_bad_plot_path_subprocess(tmp_path):
    (tmp_path / "a_file").write_text("x")
    target = str(tmp_path / "a_file" / "fc.png")
    proc = run_cli("forecast", "--sample", "IBM", "--plot", target, tmp_path=tmp_path, quick=False)
    assert_one_line_error(proc, f"cannot write --plot {target}", "is a file, not a folder")
    assert proc.stdout == ""  # nothing loaded or fitted


def test_a_model_failing_mid_backtest_is_named_with_its_cutoff(monkeypatch, capsys):
    from tsnode.baselines import DriftForecaster

    def broken(self, y):
        raise FloatingPointError("solver produced NaN")

    monkeypatch.setattr(DriftForecaster, "update", broken)
    args = ["backtest", "--sample", "IBM", "--models", "naive,drift", "--horizon", "1"]
    assert main([*args, "--cutoffs", "6", "--refit-every", "3", "--quiet"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "solver produced NaN (FloatingPointError; rerun with --debug)" in err
    assert "while updating the forecaster at cutoff" in err
    assert "raised by the model 'drift'" in err


def test_forecast_plot_without_extension_writes_and_reports_a_png(tmp_path, capsys):
    # regression: matplotlib wrote fan.png while the CLI reported "fan"
    target = tmp_path / "fan"
    argv = ["forecast", "--sample", "IBM", "--model", "naive", "--horizon", "2"]
    assert main([*argv, "--plot", str(target)]) == 0
    assert (tmp_path / "fan.png").is_file() and not target.exists()
    assert f"Wrote the fan chart to {target}.png" in capsys.readouterr().out


def test_a_closed_pipe_is_not_an_error(monkeypatch, capsys):
    # regression: `tsnode samples | head` printed "error: [Errno 32] Broken pipe", exit 1
    def closed(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_cmd_samples", closed)
    assert main(["samples"]) == 0
    assert capsys.readouterr().err == ""


def test_forecast_plot_naming_a_directory_is_still_refused(tmp_path, capsys):
    folder = tmp_path / "plots"
    folder.mkdir()
    argv = ["forecast", "--sample", "IBM", "--model", "naive", "--horizon", "2"]
    assert main([*argv, "--plot", str(folder)]) == 1
    assert "it is a directory" in capsys.readouterr().err
    assert not (tmp_path / "plots.png").exists()


def test_time_scale_days_reaches_the_neural_forecasters(monkeypatch, capsys):
    # regression: the intraday warning asked for time_scale_days, which the CLI lacked
    seen = []

    def spy(name, **kwargs):
        seen.append(kwargs["time_scale_days"])
        return make_forecaster(name, **kwargs)

    monkeypatch.setattr(cli, "make_forecaster", spy)
    argv = ["forecast", "--sample", "AAPL", "--quick", "--horizon", "2", "--quiet"]
    assert main([*argv, "--time-scale-days", "0.5"]) == 0, capsys.readouterr().err
    assert seen == [0.5]
    assert make_forecaster("gru", time_scale_days=0.25).time_scale_days == 0.25
    assert main([*argv, "--time-scale-days", "0"]) == 2
    assert "--time-scale-days: expected a number > 0" in capsys.readouterr().err


def test_library_advice_is_put_in_command_line_options(tmp_path, monkeypatch, capsys):
    # regression: CLI errors told users to pass offline=False, cache_dir or calendar=None
    monkeypatch.setenv("TSNODE_CACHE_DIR", str(tmp_path / "empty"))
    argv = ["forecast", "--ticker", "ZZZZ", "--offline", "--quick", "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Run once without --offline" in err and "--cache-dir" in err
    assert "offline=" not in err and "cache_dir" not in err
    assert main(["forecast", "--sample", "AAPL", "--calendar", "XXXX", "--quick", "--quiet"]) == 1
    assert "use --calendar none to continue" in capsys.readouterr().err


def test_daily_data_with_weekends_warn_with_the_calendar_option(tmp_path, capsys):
    # 24/7 data (crypto) with the default calendar XNYS: the forecast skips the weekends the
    # data trade on; the warning says so, with the option that fixes it
    dates = pd.date_range("2024-01-01", periods=90, freq="D")
    prices = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.02, 90)))
    csv = tmp_path / "btc.csv"
    pd.DataFrame({"date": dates, "BTC-USD": prices}).to_csv(csv, index=False)
    argv = ["forecast", "--csv", str(csv), "--model", "naive", "--horizon", "3", "-q"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "never sessions of calendar='XNYS'" in err and "pass --calendar 24/7" in err
    assert main([*argv, "--calendar", "24/7"]) == 0
    assert "not sessions" not in capsys.readouterr().err


# ----------------------------------------------------------------------------- number format


def _tiny_prices_csv(path: Path, n: int = 80) -> Path:
    dates = pd.bdate_range("2023-01-02", periods=n)
    prices = 1.2e-5 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.03, n)))
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": prices}).to_csv(path, index=False)
    return path


def test_small_prices_are_printed_with_significant_digits(tmp_path, capsys):
    # regression: prices of ~1e-5 (penny stocks, SHIB, FX crosses) printed as 0.00
    csv = _tiny_prices_csv(tmp_path / "tiny.csv")
    argv = ["forecast", "--csv", str(csv), "--model", "naive", "--horizon", "3", "-q"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    last = pd.read_csv(csv)["close"].iloc[-1]
    assert f"last price {last:.9f} on" in out  # 5 significant digits
    table = out.split("sessions\n", 1)[1].splitlines()[1:]
    assert len(table) == 3 and all(f"{last:.9f}" in row for row in table)
    assert " 0.00 " not in out and " 0.00\n" not in out


def test_ordinary_prices_still_read_as_prices(capsys):
    argv = ["forecast", "--sample", "IBM", "--model", "naive", "--horizon", "2", "-q"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    last = data.load_sample("IBM").iloc[-1, 0]
    assert f"last price {last:.2f} on" in out


@pytest.mark.parametrize(
    ("values", "digits", "minimum", "expected"),
    [
        ([150.234, 149.0], 5, 2, 2),
        ([56.137], 5, 2, 3),
        ([1.0832], 5, 2, 4),
        ([1.33e-5, 1.2e-5], 5, 2, 9),
        ([np.nan, 0.0], 5, 2, 2),
        ([0.006928, 1.2], 4, 4, 4),
        ([0.006928], 4, 4, 6),
        ([3e-20], 4, 4, None),  # beyond 12 decimals: scientific notation
    ],
)
def test_decimals_show_significant_digits(values, digits, minimum, expected):
    assert cli._decimals(values, digits=digits, minimum=minimum) == expected
    assert cli._number(3e-20, None, 4) == "3e-20" and cli._number(np.nan, 2, 5) == "NaN"


def test_backtest_tables_of_small_prices_are_not_rounded_to_zero(tmp_path, capsys):
    csv = _tiny_prices_csv(tmp_path / "tiny.csv")
    argv = ["backtest", "--csv", str(csv), "--models", "naive,drift", "--cutoffs", "3"]
    assert main([*argv, "--horizon", "2", "--quick", "-q"]) == 0
    out = capsys.readouterr().out
    board = out.split("Strategy", 1)[0]
    naive = next(line for line in board.splitlines() if line.startswith("naive"))
    mae, rmse = naive.split()[1:3]
    assert float(mae) > 0 and float(rmse) > 0 and len(mae.rstrip("0")) > 6, naive


# ----------------------------------------------------------------------------- audit fixes


@pytest.mark.parametrize("command", ["forecast", "backtest"])
def test_output_naming_the_csv_input_is_refused_before_loading(
    command, good_csv, monkeypatch, capsys
):
    # regression: --output prices.csv --csv prices.csv replaced the price history
    before = good_csv.read_text()
    monkeypatch.setattr(cli, "_load_data", _no_data)
    same = str(good_csv.parent / "." / good_csv.name)
    argv = [command, "--csv", str(good_csv), "--output", same]
    argv += ["--model", "naive"] if command == "forecast" else ["--models", "naive"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"tsnode {command}: error: --output {same} is the --csv input")
    assert "choose another file, e.g. --output" in err
    assert good_csv.read_text() == before


def test_plot_naming_the_csv_input_is_refused(tmp_path, monkeypatch, capsys):
    image = tmp_path / "prices.png"  # an odd name for prices, but the same file
    image.write_text("date,close\n2020-01-02,1\n")
    monkeypatch.setattr(cli, "_load_data", _no_data)
    assert main(["forecast", "--csv", str(image), "--plot", str(image)]) == 2
    assert "--plot" in capsys.readouterr().err and image.read_text().startswith("date")


def test_plots_leave_the_callers_backend_and_figures_alone(tmp_path, capsys):
    # regression: main() switched the whole process to Agg (closing the caller's figures)
    import matplotlib.pyplot as plt

    matplotlib.use("svg")
    try:
        mine = plt.figure()
        before = plt.get_fignums()  # (figures other tests left open stay too)
        argv = ["forecast", "--sample", "AAPL", "--model", "naive", "--horizon", "2", "-q"]
        assert main([*argv, "--plot", str(tmp_path / "fan.png")]) == 0
        argv = ["backtest", "--sample", "IBM", "--models", "naive", "--horizon", "2"]
        assert main([*argv, "--cutoffs", "3", "-q", "--plot-dir", str(tmp_path / "p")]) == 0
        assert matplotlib.get_backend() == "svg"
        assert mine.number in plt.get_fignums() == before  # open, and no figure of the CLI left
    finally:
        plt.close("all")
        matplotlib.use("Agg")
    assert (tmp_path / "fan.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "p" / "equity.png").is_file()


@pytest.mark.parametrize(("cutoffs", "step", "count"), [(1, None, 5), (2, None, 10), (3, 2, 11)])
def test_backtest_cutoffs_forecast_the_full_horizon(cutoffs, step, count, tmp_path, capsys):
    # regression: the last cutoff was the second-to-last row (1 row scored); with
    # --cutoffs 1 --horizon 5 the strategy then failed: "step=5 is not in the forecasts"
    board_csv = tmp_path / "board.csv"
    argv = ["backtest", "--sample", "IBM", "--models", "naive,drift", "--horizon", "5"]
    argv += ["--cutoffs", str(cutoffs), "--quick", "-q", "--output", str(board_csv)]
    argv += [] if step is None else ["--step", str(step)]
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"when the {min(step or 5, 5)}-step median forecast" in out
    # step >= horizon: cutoffs * horizon rows; step 2 < horizon 5: rows 5 + 5 + 2 + ... ahead
    # of cutoffs spaced 2 apart, the last one min(step, horizon) = 2 rows before the end
    assert pd.read_csv(board_csv, index_col="model")["count"].tolist() == [count, count]


def test_backtest_too_short_for_the_horizon_names_the_options(capsys):
    argv = ["backtest", "--sample", "IBM", "--models", "naive", "--lookback", "40", "--quick"]
    assert main([*argv, "--cutoffs", "1", "--horizon", "11"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "40 rows are too few for 1 cutoffs every 11 rows with --horizon 11" in err
    assert "lower --cutoffs, --step or --horizon" in err
    assert main([*argv, "--cutoffs", "1", "--horizon", "10", "-q"]) == 0


@pytest.mark.parametrize("coverage", ["0.99999999999", "0.00000000001", "1e-11", "nan"])
def test_extreme_coverage_is_a_usage_error_before_fitting(coverage, monkeypatch, capsys):
    # regression: accepted, then failed after fitting about `quantiles` (0.0, or 0.5 twice)
    monkeypatch.setattr(cli, "_load_data", _no_data)
    assert main(["forecast", "--sample", "AAPL", "--coverage", coverage]) == 2
    err = capsys.readouterr().err
    assert "argument --coverage: expected a number between 0 and 1, e.g. 0.8" in err
    assert f"got {coverage!r}" in err
    assert cli._levels(0.9999999998) == (1e-10, 0.5, 0.9999999999)


def test_negative_seed_is_a_usage_error(monkeypatch, capsys):
    # regression: "random_state must be ... pass e.g. random_state=0", after loading the data
    monkeypatch.setattr(cli, "_load_data", _no_data)
    for bad in ("-5", str(2**32), "1.5"):
        assert main(["forecast", "--sample", "AAPL", "--seed", bad]) == 2
        err = capsys.readouterr().err
        assert f"argument --seed: expected an integer from 0 to 4294967295, got '{bad}'" in err


def test_offline_cache_fallback_warning_names_options(tmp_path, capsys):
    # regression: the warning said "because offline=True ... Use offline=False"
    dates = pd.bdate_range("2023-01-02", "2023-06-30")
    values = np.linspace(100.0, 120.0, len(dates))
    frame = pd.DataFrame(
        {"Open": values, "High": values, "Low": values, "Close": values, "Volume": 1},
        index=dates,
    ).astype({"Volume": "int64"})
    cache = tmp_path / "cache"
    now = pd.Timestamp("2023-07-02", tz="UTC")
    data._write_cache(cache, "AAA", "1d", frame, None, pd.Timestamp("2023-07-01"), now)
    argv = ["forecast", "--ticker", "AAA", "--offline", "--cache-dir", str(cache)]
    assert main([*argv, "--model", "naive", "--horizon", "1", "-q"]) == 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("tsnode: warning: Serving cached prices")
    assert "because of --offline (AAA:" in err
    assert err.endswith("Drop --offline (if given) and check the connection to update them.")
    assert "offline=" not in err
    text = "(or pass another cache_dir) ... Pass a writable cache_dir ... Widen start/end."
    assert cli.in_cli_terms(text) == (
        "(or pass another --cache-dir) ... Pass a writable --cache-dir ... Widen --start/--end."
    )


def test_pgf_plots_without_latex_are_refused_before_loading(tmp_path, monkeypatch, capsys):
    # regression: .pgf passed the check, then needed LaTeX after fitting (RuntimeError)
    import shutil

    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setattr(cli, "_load_data", _no_data)
    target = tmp_path / "fan.pgf"
    assert main(["forecast", "--sample", "AAPL", "--plot", str(target)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        f"tsnode forecast: error: cannot write --plot {target}: .pgf figures need LaTeX "
        f"(xelatex), which is not installed; save a vector image instead, e.g. "
        f"{target.with_suffix('.pdf')} or .svg."
    )
    assert main(["forecast", "--sample", "AAPL", "--plot", str(tmp_path / "x.txt")]) == 1
    assert ".pgf" not in capsys.readouterr().err  # not offered as a format either


def test_a_figure_that_cannot_be_saved_is_a_one_line_error(tmp_path):
    class NeedsLatex:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("'xelatex' not found; install it")

    with pytest.raises(CLIError, match=r"cannot save the plot to .*x\.pgf: 'xelatex' not found"):
        cli._save_figure(NeedsLatex(), tmp_path / "x.pgf")
