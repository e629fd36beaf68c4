"""The ``tsnode`` command line: ``tsnode forecast``, ``tsnode backtest`` and ``tsnode samples``.

Examples
--------
::

    tsnode samples
    tsnode forecast --sample AAPL --horizon 20 --plot aapl.png --output aapl.csv
    tsnode forecast --ticker MSFT --horizon 10 --coverage 0.9
    tsnode forecast --csv prices.csv --column close --horizon 5
    tsnode backtest --sample IBM --horizon 5 --models tsnode,naive,gbm --plot-dir plots/

Prices come from exactly one source: ``--ticker`` (Yahoo Finance through tsnode's local
cache, see :func:`tsnode.data.load_prices`), ``--csv`` (a ``date`` column plus a price
column) or ``--sample`` (real prices shipped with tsnode, no network needed).

``--quick`` (or the environment variable ``TSNODE_QUICK=1``) selects a tiny model and
training budget that runs in seconds: for smoke tests, not for forecasts you act on.

Errors that come from the input (unknown ticker or sample, malformed CSV, no network and no
cache, bad option values) are printed as one line ``tsnode <command>: error: ...`` on stderr
with exit status 1; ``--debug`` shows the full traceback instead. Usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CLIError", "MODELS", "QUICK_ENV_VAR", "main", "make_forecaster", "read_price_csv"]

#: Environment variable that selects the tiny ``--quick`` settings when set to 1/true/yes/on.
QUICK_ENV_VAR = "TSNODE_QUICK"
#: Model names accepted by ``--model`` / ``--models``.
MODELS: tuple[str, ...] = ("tsnode", "gru", "gbm", "drift", "naive")
_PRICE_NAMES = ("adj close", "adj_close", "adjclose", "close", "price", "value")
_TRUE = {"1", "true", "yes", "on"}

# Training budgets. The defaults take about a minute on a laptop CPU; quick takes seconds.
_TSNODE_QUICK = dict(epochs=2, steps_per_epoch=3, batch_size=16, context_length=20)
_TSNODE_QUICK.update(forecast_length=5, latent_dim=4, hidden_dim=8, ode_units=16)
_TSNODE_QUICK.update(n_predict_samples=50, validation_fraction=0.0)
_TSNODE_DEFAULT = {"epochs": 10, "steps_per_epoch": 25}
_GRU_QUICK = {"hidden_size": 8, "context_length": 20, "epochs": 2, "batch_size": 16}
_GRU_DEFAULT: dict[str, Any] = {}


class CLIError(Exception):
    """A user-facing error: printed as one line on stderr, exit status 1."""


# ----------------------------------------------------------------------------- helpers


def _quick_from_env() -> bool:
    return os.environ.get(QUICK_ENV_VAR, "").strip().lower() in _TRUE


def _one_line(error: BaseException) -> str:
    """The error message on a single line (whitespace, including newlines, collapsed)."""
    text = " ".join(str(error).split())
    if isinstance(error, KeyError) and len(error.args) == 1:
        text = f"missing key {error.args[0]!r}"
    return text or type(error).__name__


@contextlib.contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Show warnings as ``tsnode: warning: ...`` single lines on stderr (restored after)."""

    def show(message: Any, category: Any, filename: str, lineno: int, file=None, line=None):
        stream = sys.stderr if file is None else file
        text = " ".join(str(message).split())
        with contextlib.suppress(OSError, ValueError):
            stream.write(f"tsnode: warning: {text}\n")

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _parsed(text: str, kind: type, ok: Any, expected: str) -> Any:
    """``kind(text)`` if it satisfies ``ok``, else an argparse error naming ``expected``."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _parsed(text, int, lambda v: v >= 1, "a positive integer")


def _non_negative_int(text: str) -> int:
    return _parsed(text, int, lambda v: v >= 0, "an integer >= 0")


def _non_negative_float(text: str) -> float:
    return _parsed(text, float, lambda v: 0.0 <= v < float("inf"), "a number >= 0")


def _coverage(text: str) -> float:
    return _parsed(text, float, lambda v: 0.0 < v < 1.0, "a number between 0 and 1, e.g. 0.8")


def _model_list(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(MODELS)}; got {text!r}"
        )
    return list(dict.fromkeys(names))


# ----------------------------------------------------------------------------- data


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


# ----------------------------------------------------------------------------- models


def make_forecaster(
    name: str,
    *,
    quick: bool = False,
    epochs: int | None = None,
    seed: int | None = 0,
    progress: bool = False,
    calendar: str | None = "XNYS",
    device: str = "cpu",
) -> Any:
    """Build a forecaster by name with the command line's training budgets.

    Parameters
    ----------
    name : {"tsnode", "gru", "gbm", "drift", "naive"}
    quick : bool, default False
        Tiny model and training budget (seconds), for smoke tests.
    epochs : int, optional
        Override the number of training epochs (tsnode and gru only).
    seed : int or None, default 0
        ``random_state`` of the forecaster.
    progress : bool, default False
        Show a training progress bar (tsnode and gru only).
    calendar : str or None, default "XNYS"
        Exchange calendar of integer horizons.
    device : str, default "cpu"
        Torch device (tsnode and gru only).

    Returns
    -------
    forecaster
        An unfitted tsnode forecaster.
    """
    if name not in MODELS:
        raise ValueError(f"name must be one of {list(MODELS)}; got {name!r}.")
    common = {"calendar": calendar, "random_state": seed}
    if name in ("tsnode", "gru"):
        if name == "tsnode":
            from tsnode.forecaster import TSNodeForecaster as cls

            settings = dict(_TSNODE_QUICK if quick else _TSNODE_DEFAULT)
        else:
            from tsnode.baselines import GRUForecaster as cls

            settings = dict(_GRU_QUICK if quick else _GRU_DEFAULT)
        if epochs is not None:
            settings["epochs"] = epochs
        return cls(**settings, **common, progress=progress, device=device)
    from tsnode import baselines

    cls = {
        "gbm": baselines.GBMForecaster,
        "drift": baselines.DriftForecaster,
        "naive": baselines.NaiveForecaster,
    }[name]
    return cls(**common)


def _show_progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text, flush=True)


def _levels(coverage: float) -> tuple[float, float, float]:
    lower = round((1.0 - coverage) / 2.0, 10)
    return lower, 0.5, round(1.0 - lower, 10)


def _save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    import matplotlib.pyplot as plt

    target = Path(path)
    try:
        fig.savefig(target, dpi=110, bbox_inches="tight")
    except (OSError, ValueError) as err:
        raise CLIError(f"cannot save the plot to {os.fspath(path)}: {_one_line(err)}") from err
    finally:
        plt.close(fig)
    return target


def _write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> None:
    try:
        frame.to_csv(path, **kwargs)
    except OSError as err:
        raise CLIError(f"cannot write {os.fspath(path)}: {_one_line(err)}") from err


def _use_agg() -> None:
    import matplotlib

    matplotlib.use("Agg")


# ----------------------------------------------------------------------------- commands


def _cmd_samples(args: argparse.Namespace) -> int:
    import pandas as pd

    from tsnode.data import list_samples

    table = list_samples()
    for col in ("first_date", "last_date"):
        table[col] = pd.to_datetime(table[col]).dt.strftime("%Y-%m-%d")
    print(table.to_string(index=False))
    _say(args, "\nUse one with: tsnode forecast --sample NAME")
    return 0


def _cmd_forecast(args: argparse.Namespace) -> int:
    import pandas as pd

    quick = args.quick or _quick_from_env()
    frame, source = _load_data(args)
    if args.plot:
        _use_agg()
    forecaster = make_forecaster(
        args.model,
        quick=quick,
        epochs=args.epochs,
        seed=args.seed,
        progress=_show_progress(args),
        calendar=None if args.calendar.strip().lower() in {"", "none"} else args.calendar,
        device=args.device,
    )
    names = ", ".join(str(c) for c in frame.columns)
    _say(
        args,
        f"Fitting {type(forecaster).__name__} on {len(frame)} rows of {names} from {source} "
        f"({frame.index[0].date()} to {frame.index[-1].date()})"
        + (" [quick settings]" if quick else "")
        + "...",
    )
    forecaster.fit(frame)
    levels = _levels(args.coverage)
    quantiles = forecaster.predict_quantiles(args.horizon, quantiles=levels)

    bounds = ["lower", "median", "upper"]
    table = pd.concat(
        {s: quantiles[s].set_axis(bounds, axis=1) for s in forecaster.columns_},
        names=["series", "date"],
    ).reset_index()[["date", "series", *bounds]]
    pct = f"{100 * args.coverage:g}%"
    for series in forecaster.columns_:
        observed = frame[series].dropna()
        print(
            f"\n{series}: last price {observed.iloc[-1]:.2f} on {observed.index[-1].date()}; "
            f"median forecast and {pct} interval for the next {len(quantiles)} sessions"
        )
        shown = table.loc[table["series"] == series, ["date", "lower", "median", "upper"]]
        shown = shown.assign(date=pd.DatetimeIndex(shown["date"]).strftime("%Y-%m-%d"))
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if args.output:
        out = table.assign(date=pd.DatetimeIndex(table["date"]).strftime("%Y-%m-%d"))
        _write_csv(out.assign(coverage=args.coverage), args.output, index=False)
        _say(args, f"\nWrote the forecast table to {args.output}")
    if args.plot:
        from tsnode.plotting import plot_forecast

        title = f"{type(forecaster).__name__}: {pct} interval, {len(quantiles)} sessions ahead"
        _save_figure(plot_forecast(frame, quantiles, title=title), args.plot)
        _say(args, f"Wrote the fan chart to {args.plot}")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    import pandas as pd

    quick = args.quick or _quick_from_env()
    frame, source = _load_data(args)
    from tsnode.backtesting import compare
    from tsnode.trading import simulate

    if args.plot_dir:
        _use_agg()
    n_cutoffs = args.cutoffs if args.cutoffs is not None else (6 if quick else 40)
    step = args.step if args.step is not None else args.horizon
    initial_window = len(frame) - 1 - (n_cutoffs - 1) * step
    minimum = 30 if quick else 100
    if initial_window < minimum:
        raise CLIError(
            f"{len(frame)} rows are too few for {n_cutoffs} cutoffs every {step} rows "
            f"(the first training window would have {initial_window} rows, at least "
            f"{minimum} needed); lower --cutoffs or --step, or raise --lookback."
        )
    refit_every = args.refit_every if args.refit_every else n_cutoffs
    models = {
        name: make_forecaster(
            name,
            quick=quick,
            epochs=args.epochs,
            seed=args.seed,
            progress=False,
            calendar=None if args.calendar.strip().lower() in {"", "none"} else args.calendar,
            device=args.device,
        )
        for name in args.models
    }
    levels = _levels(args.coverage)
    _say(
        args,
        f"Backtesting {', '.join(models)} on {len(frame)} rows of "
        f"{', '.join(str(c) for c in frame.columns)} from {source}: {n_cutoffs} cutoffs every "
        f"{step} rows, horizon {args.horizon}, refit every {refit_every} cutoffs"
        + (" [quick settings]" if quick else "")
        + "...",
    )
    comparison = compare(
        models,
        frame,
        baseline="naive",
        horizon=args.horizon,
        initial_window=initial_window,
        step=step,
        refit_every=refit_every,
        quantiles=levels,
        progress=_show_progress(args),
    )
    board = comparison.leaderboard
    print("\nLeaderboard (sorted by MASE; DM test of squared 1-step errors vs naive):")
    print(board.to_string(float_format=lambda v: f"{v:.4f}"))

    signal_step = min(step, args.horizon)
    sims = {
        name: simulate(
            result, frame, step=signal_step, threshold=args.cost_bps / 1e4, cost_bps=args.cost_bps
        )
        for name, result in comparison.results.items()
    }
    stats = pd.DataFrame({name: sim.stats()["strategy"] for name, sim in sims.items()})
    stats["buy_and_hold"] = next(iter(sims.values())).stats()["buy_and_hold"]
    print(
        f"\nStrategy (long when the {signal_step}-step median forecast beats the last price by "
        f"more than the {args.cost_bps:g} bps cost, next-bar execution):"
    )
    print(stats.to_string(float_format=lambda v: f"{v:.4f}"))

    if args.output:
        _write_csv(board, args.output)
        _say(args, f"\nWrote the leaderboard to {args.output}")
    if args.plot_dir:
        from tsnode.plotting import plot_calibration

        focus = next(iter(models))
        folder = Path(args.plot_dir)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise CLIError(f"cannot create --plot-dir {args.plot_dir}: {_one_line(err)}") from err
        result = comparison.results[focus]
        written = [
            _save_figure(result.plot(), folder / f"backtest_{focus}.png"),
            _save_figure(plot_calibration(result), folder / f"calibration_{focus}.png"),
            _save_figure(sims[focus].plot(title=f"{focus} strategy"), folder / "equity.png"),
        ]
        _say(args, "Wrote " + ", ".join(str(p) for p in written))
    return 0


# ----------------------------------------------------------------------------- parser


def _add_common(parser: argparse.ArgumentParser, *, default_lookback: int) -> None:
    source = parser.add_argument_group("data (choose one source)")
    group = source.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--ticker",
        metavar="SYMBOLS",
        help="ticker(s) on Yahoo Finance, e.g. AAPL or AAPL,MSFT (downloaded once, then cached)",
    )
    group.add_argument("--csv", metavar="FILE", help="CSV file with a date column and prices")
    group.add_argument("--sample", metavar="NAME", help="a shipped sample (see: tsnode samples)")
    source.add_argument("--start", help="first date to use, e.g. 2018-01-01")
    source.add_argument("--end", help="end date (exclusive)")
    source.add_argument(
        "--lookback",
        type=_non_negative_int,
        default=default_lookback,
        metavar="ROWS",
        help=f"use only the last ROWS rows (0 = all; default {default_lookback})",
    )
    source.add_argument(
        "--column", help="CSV price column(s), comma-separated (default: close/price column)"
    )
    source.add_argument(
        "--date-column", default="date", help="CSV date column (default: date, any case)"
    )
    source.add_argument("--name", help="series name for the CSV column (default: column name)")
    source.add_argument(
        "--offline", action="store_true", help="use cached ticker prices only, never download"
    )
    source.add_argument("--cache-dir", help="price cache directory (default: $TSNODE_CACHE_DIR)")

    model = parser.add_argument_group("model and training")
    model.add_argument(
        "--quick",
        action="store_true",
        help=f"tiny model and training budget (seconds); also set by {QUICK_ENV_VAR}=1",
    )
    model.add_argument("--epochs", type=_positive_int, help="training epochs (tsnode, gru)")
    model.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    model.add_argument(
        "--coverage",
        type=_coverage,
        default=0.8,
        help="probability of the prediction interval (default 0.8)",
    )
    model.add_argument(
        "--calendar",
        default="XNYS",
        help="exchange calendar of the forecast dates (default XNYS; none: observed spacing)",
    )
    model.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the results")
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``tsnode`` argument parser (subcommands ``forecast``, ``backtest``, ``samples``)."""
    from tsnode import __version__

    parser = argparse.ArgumentParser(
        prog="tsnode",
        description="Probabilistic forecasts of irregular price series with Latent Neural ODEs.",
        epilog=f"Set {QUICK_ENV_VAR}=1 for tiny smoke-test settings. "
        "Run 'tsnode COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"tsnode {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks instead of one-line errors"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    forecast = commands.add_parser(
        "forecast",
        help="fit a model and print a forecast table with intervals",
        description="Fit a forecaster on a price history and print the median forecast with "
        "a prediction interval for the next sessions. Takes about a minute with the default "
        "budget on a laptop CPU (--quick: seconds).",
    )
    forecast.add_argument(
        "--horizon", type=_positive_int, default=20, help="sessions to forecast (default 20)"
    )
    forecast.add_argument(
        "--model", choices=MODELS, default="tsnode", help="forecaster (default tsnode)"
    )
    forecast.add_argument("--plot", metavar="PNG", help="save a fan chart to this file")
    forecast.add_argument("--output", metavar="CSV", help="save the forecast table to this file")
    _add_common(forecast, default_lookback=1000)
    forecast.set_defaults(handler=_cmd_forecast)

    backtest = commands.add_parser(
        "backtest",
        help="walk-forward backtest against the baselines, with strategy statistics",
        description="Walk-forward backtest of several forecasters on identical cutoffs: prints "
        "the leaderboard (MASE, CRPS, coverage, Diebold-Mariano test vs naive) and the "
        "statistics of a long/flat strategy trading each model's forecasts.",
    )
    backtest.add_argument(
        "--horizon", type=_positive_int, default=5, help="sessions ahead per cutoff (default 5)"
    )
    backtest.add_argument(
        "--models",
        type=_model_list,
        default=["tsnode", "naive", "drift", "gbm"],
        metavar="LIST",
        help=f"comma-separated models among {', '.join(MODELS)} "
        "(default tsnode,naive,drift,gbm; the first is plotted)",
    )
    backtest.add_argument(
        "--cutoffs", type=_positive_int, help="number of forecast origins (default 40; quick 6)"
    )
    backtest.add_argument(
        "--step", type=_positive_int, help="rows between cutoffs (default horizon)"
    )
    backtest.add_argument(
        "--refit-every",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="refit every N cutoffs, update in between (default 0: fit once)",
    )
    backtest.add_argument(
        "--cost-bps",
        type=_non_negative_float,
        default=5.0,
        help="trading costs in basis points (default 5)",
    )
    backtest.add_argument("--plot-dir", metavar="DIR", help="save the plots in this directory")
    backtest.add_argument("--output", metavar="CSV", help="save the leaderboard to this file")
    _add_common(backtest, default_lookback=1000)
    backtest.set_defaults(handler=_cmd_backtest)

    samples = commands.add_parser(
        "samples",
        help="list the price samples shipped with tsnode",
        description="List the real daily price histories shipped with tsnode (no network).",
    )
    samples.add_argument("-q", "--quiet", action="store_true", help="print only the table")
    samples.set_defaults(handler=_cmd_samples)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``tsnode`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 1 for an error in the input or environment (one line on
        stderr), 2 for a usage error, 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 2)
    if args.command is None:
        parser.print_help()
        return 2
    prog = f"tsnode {args.command}"
    with _one_line_warnings():
        try:
            return int(args.handler(args))
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            return 130
        except Exception as err:  # noqa: BLE001 - the command line's last line of defence
            if args.debug:
                traceback.print_exc()
            else:
                expected = isinstance(err, (CLIError, ValueError, TypeError, OSError, LookupError))
                hint = "" if expected else f" ({type(err).__name__}; rerun with --debug)"
                print(f"{prog}: error: {_one_line(err)}{hint}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
