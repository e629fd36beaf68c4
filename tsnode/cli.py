"""The ``tsnode`` command line: ``tsnode forecast``, ``tsnode backtest`` and ``tsnode samples``.

Examples
--------
::

    tsnode samples
    tsnode forecast --sample AAPL --horizon 20 --plot aapl.png --output aapl.csv
    tsnode forecast --ticker MSFT --horizon 10 --coverage 0.9
    tsnode forecast --csv prices.csv --column close --horizon 5
    tsnode forecast --csv prices_eu.csv --date-format "%d/%m/%Y" --model gbm
    tsnode backtest --sample IBM --horizon 5 --models tsnode,naive,gbm --plot-dir plots/

Prices come from exactly one source: ``--ticker`` (Yahoo Finance through tsnode's local
cache, see :func:`tsnode.data.load_prices`), ``--csv`` (a ``date`` column plus a price
column, or a ``yf.download(...).to_csv()`` / ``Ticker.history().to_csv()`` export) or
``--sample`` (real prices shipped with tsnode, no network needed).

``--quick`` (or the environment variable ``TSNODE_QUICK=1``) selects a tiny model and
training budget that runs in seconds: for smoke tests, not for forecasts you act on.

Errors that come from the input (unknown ticker or sample, malformed or ambiguous CSV dates,
no network and no cache, an ``--output``/``--plot`` path that cannot be written, checked
before any data is loaded) are printed as one line ``tsnode <command>: error: ...`` on stderr
with exit status 1; ``--debug`` shows the full traceback instead. Usage errors (bad option
values such as a non-ISO ``--start``, or an ``--output`` naming the ``--csv`` input) exit with 2.

Plots are drawn on figures of their own, never through pyplot: the caller's matplotlib
backend and open figures are left alone.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsnode._cli_input import (
    CLIError,
    UsageError,
    _load_data,
    _one_line,
    in_cli_terms,
    read_price_csv,
)
from tsnode._cli_options import (
    MODELS,
    QUICK_ENV_VAR,
    _add_common,
    _check_not_input,
    _check_option_use,
    _check_output_path,
    _check_plot_dir,
    _figure,
    _levels,
    _model_list,
    _non_negative_float,
    _non_negative_int,
    _positive_int,
    _save_figure,
    _stacked_axes,
    _write_csv,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CLIError", "MODELS", "QUICK_ENV_VAR", "main", "make_forecaster", "read_price_csv"]

_TRUE = {"1", "true", "yes", "on"}

# Training budgets. The defaults take 10-60 s on a laptop CPU; quick takes seconds.
_TSNODE_QUICK = dict(epochs=2, steps_per_epoch=3, batch_size=16, context_length=20)
_TSNODE_QUICK.update(forecast_length=5, latent_dim=4, hidden_dim=8, ode_units=16)
_TSNODE_QUICK.update(n_predict_samples=50, validation_fraction=0.0)
_TSNODE_DEFAULT = {"epochs": 10, "steps_per_epoch": 25}
_GRU_QUICK = {"hidden_size": 8, "context_length": 20, "epochs": 2, "batch_size": 16}
_GRU_DEFAULT: dict[str, Any] = {}


# ----------------------------------------------------------------------------- helpers


def _quick_from_env() -> bool:
    return os.environ.get(QUICK_ENV_VAR, "").strip().lower() in _TRUE


@contextlib.contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Show warnings as ``tsnode: warning: ...`` single lines on stderr (restored after)."""

    def show(message: Any, category: Any, filename: str, lineno: int, file=None, line=None):
        stream = sys.stderr if file is None else file
        text = in_cli_terms(" ".join(str(message).split()))
        with contextlib.suppress(OSError, ValueError):
            stream.write(f"tsnode: warning: {text}\n")

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


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
    members: int = 1,
    restarts: int = 1,
    time_scale_days: float | None = None,
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
    members : int, default 1
        With more than 1 (tsnode and gru only), an :class:`~tsnode.EnsembleForecaster` of that
        many members seeded from ``seed``.
    restarts : int, default 1
        ``n_init`` of tsnode: train this many restarts and keep the one with the lowest
        validation loss (ignored by the other models).
    time_scale_days : float, optional
        Calendar days per unit of model time (tsnode and gru; e.g. 0.0208 for minute bars).

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
        if time_scale_days is not None:
            settings["time_scale_days"] = time_scale_days
        if name == "tsnode":
            settings["n_init"] = restarts
        model = cls(**settings, **common, progress=progress, device=device)
        if members == 1:
            return model
        from tsnode.ensemble import EnsembleForecaster

        return EnsembleForecaster(model, n_members=members, random_state=seed, progress=progress)
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


def _decimals(values: Any, *, digits: int, minimum: int) -> int | None:
    """Decimals that show ``digits`` significant digits of the largest finite ``|value|``
    (at least ``minimum``): 150.23 and 0.000013316 alike; None past 12 (use ``g`` then)."""
    import numpy as np

    size = np.abs(np.asarray(values, dtype="float64").ravel())
    size = size[np.isfinite(size) & (size > 0)]
    if size.size == 0:
        return minimum
    decimals = max(minimum, digits - 1 - math.floor(math.log10(size.max())))
    return decimals if decimals <= 12 else None


def _number(value: float, decimals: int | None, digits: int) -> str:
    if value != value:  # NaN, as pandas prints it
        return "NaN"
    return f"{value:.{decimals}f}" if decimals is not None else f"{value:.{digits}g}"


def _as_text(
    frame: pd.DataFrame, *, digits: int, minimum: int, per_column: bool = True
) -> pd.DataFrame:
    """``frame`` with its float columns as text, with the decimals of :func:`_decimals`:
    each column its own, or (``per_column=False``) one for all of them."""
    floats = [c for c in frame.columns if frame[c].dtype.kind == "f"]
    shared = _decimals(frame[floats].to_numpy(), digits=digits, minimum=minimum)
    text = frame.astype({c: object for c in floats})
    for c in floats:
        decimals = _decimals(frame[c], digits=digits, minimum=minimum) if per_column else shared
        text[c] = [_number(v, decimals, digits) for v in frame[c]]
    return text


def _has_times(*indexes: pd.DatetimeIndex) -> bool:
    """Whether any timestamp of ``indexes`` is not at midnight (its own wall clock)."""
    return any(bool((index != index.normalize()).any()) for index in indexes)


def _stamps(index: pd.DatetimeIndex, with_time: bool) -> list[str]:
    """``index`` as text: ``2024-03-12``, or with ``with_time`` ``2024-03-12 10:30:00``
    followed by the UTC offset of tz-aware timestamps (``...-04:00``), as pandas writes it."""
    if not with_time:
        return list(index.strftime("%Y-%m-%d"))
    return [stamp.isoformat(sep=" ") for stamp in index]


def _step_word(index: pd.DatetimeIndex, calendar: str | None, n: int) -> str:
    """``"sessions"`` when the forecast follows an exchange calendar, else ``"steps"``.

    Forecasters step through exchange sessions only for data spaced a day or more apart;
    intraday data and ``--calendar none`` continue the observed spacing.
    """
    import pandas as pd

    wall = index.tz_localize(None) if index.tz is not None else index
    gaps = wall[1:] - wall[:-1]
    gaps = gaps[gaps > pd.Timedelta(0)]
    daily = len(gaps) == 0 or gaps.median() >= pd.Timedelta(days=1)
    word = "session" if calendar is not None and daily else "step"
    return word if n == 1 else word + "s"


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
    _check_option_use(args, [args.model])
    _check_output_path(args.output, "--output")
    if args.plot and not Path(args.plot).suffix and not Path(args.plot).is_dir():
        # matplotlib would write PLOT.png (a directory gets the check's error below)
        args.plot = f"{args.plot}.png"
    _check_output_path(args.plot, "--plot", figure=True)
    _check_not_input(args.output, "--output", args.csv)
    _check_not_input(args.plot, "--plot", args.csv)
    frame, source = _load_data(args)
    calendar = None if args.calendar.strip().lower() in {"", "none"} else args.calendar
    forecaster = make_forecaster(
        args.model,
        quick=quick,
        epochs=args.epochs,
        seed=args.seed,
        progress=_show_progress(args),
        calendar=calendar,
        device=args.device,
        members=args.members,
        restarts=args.restarts,
        time_scale_days=args.time_scale_days,
    )
    names = ", ".join(str(c) for c in frame.columns)
    with_time = _has_times(frame.index)  # intraday history: show times everywhere
    first, last = _stamps(frame.index[[0, -1]], with_time)
    _say(
        args,
        f"Fitting {type(forecaster).__name__} on {len(frame)} rows of {names} from {source} "
        f"({first} to {last})" + (" [quick settings]" if quick else "") + "...",
    )
    forecaster.fit(frame)
    levels = _levels(args.coverage)
    quantiles = forecaster.predict_quantiles(args.horizon, quantiles=levels)
    with_time = with_time or _has_times(quantiles.index)
    steps = f"{len(quantiles)} {_step_word(frame.index, calendar, len(quantiles))}"

    bounds = ["lower", "median", "upper"]
    table = pd.concat(
        {s: quantiles[s].set_axis(bounds, axis=1) for s in forecaster.columns_},
        names=["series", "date"],
    ).reset_index()[["date", "series", *bounds]]
    table["date"] = _stamps(pd.DatetimeIndex(table["date"]), with_time)
    pct = f"{100 * args.coverage:.10g}%"  # 99.99999998%, not 100%
    for series in forecaster.columns_:
        observed = frame[series].dropna()
        (when,) = _stamps(observed.index[-1:], with_time)
        shown = table.loc[table["series"] == series, ["date", *bounds]]
        # one number of decimals per series: 150.23 and 0.000013316 both read as prices
        shown = shown.assign(last=observed.iloc[-1])
        shown = _as_text(shown, digits=5, minimum=2, per_column=False)
        print(
            f"\n{series}: last price {shown['last'].iloc[0]} on {when}; "
            f"median forecast and {pct} interval for the next {steps}"
        )
        print(shown.drop(columns="last").to_string(index=False))
    if args.output:
        _write_csv(table.assign(coverage=args.coverage), args.output, index=False)
        _say(args, f"\nWrote the forecast table to {args.output}")
    if args.plot:
        from tsnode.plotting import plot_forecast

        title = f"{type(forecaster).__name__}: {pct} interval, {steps} ahead"
        axes = _stacked_axes(len(forecaster.columns_))
        _save_figure(plot_forecast(frame, quantiles, title=title, ax=axes), args.plot)
        _say(args, f"Wrote the fan chart to {args.plot}")
    return 0


def _cmd_backtest(args: argparse.Namespace) -> int:
    import pandas as pd

    quick = args.quick or _quick_from_env()
    _check_option_use(args, list(args.models))
    _check_output_path(args.output, "--output")
    _check_plot_dir(args.plot_dir)
    _check_not_input(args.output, "--output", args.csv)
    frame, source = _load_data(args)
    from tsnode.backtesting import compare
    from tsnode.trading import simulate

    n_cutoffs = args.cutoffs if args.cutoffs is not None else (6 if quick else 40)
    step = args.step if args.step is not None else args.horizon
    # The last cutoff leaves min(step, horizon) rows ahead: every cutoff forecasts --horizon
    # rows when step >= horizon (the default), and the backtest makes exactly n_cutoffs.
    ahead = min(step, args.horizon)
    initial_window = len(frame) - ahead - (n_cutoffs - 1) * step
    minimum = 30 if quick else 100
    if initial_window < minimum:
        raise CLIError(
            f"{len(frame)} rows are too few for {n_cutoffs} cutoffs every {step} rows with "
            f"--horizon {args.horizon} (the first training window would have {initial_window} "
            f"rows, at least {minimum} needed); lower --cutoffs, --step or --horizon, or raise "
            "--lookback."
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
            members=args.members,
            restarts=args.restarts,
            time_scale_days=args.time_scale_days,
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
    dm = "; DM test of squared 1-step errors vs naive" if comparison.baseline else ""
    print(f"\nLeaderboard (sorted by MASE{dm}):")
    print(_as_text(board, digits=4, minimum=4).to_string())

    # the longest step up to min(step, horizon) that every model forecast at its cutoffs
    produced = [set(r.forecasts["step"].tolist()) for r in comparison.results.values()]
    common = set.intersection(*produced) if produced else set()
    signal_step = max((s for s in common if s <= ahead), default=1)
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
    print(_as_text(stats.T, digits=4, minimum=4).T.to_string())  # each statistic its decimals

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
        n_series = result.forecasts["series"].nunique()
        fig = result.plot(ax=_stacked_axes(n_series))
        calibration = plot_calibration(result, fig=_figure(11, 4))
        equity = sims[focus].plot(title=f"{focus} strategy", fig=_figure(10, 6))
        written = [
            _save_figure(fig, folder / f"backtest_{focus}.png"),
            _save_figure(calibration, folder / f"calibration_{focus}.png"),
            _save_figure(equity, folder / "equity.png"),
        ]
        _say(args, "Wrote " + ", ".join(str(p) for p in written))
    return 0


# ----------------------------------------------------------------------------- parser


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
        "a prediction interval for the next sessions. tsnode trains for 10 epochs by default "
        "here (the library's default is 20; see --epochs): about 10-60 s on a laptop CPU "
        "(--quick: seconds).",
    )
    forecast.add_argument(
        "--horizon",
        type=_positive_int,
        default=20,
        help="sessions to forecast (steps of the observed spacing for intraday data or "
        "--calendar none; default 20)",
    )
    forecast.add_argument(
        "--model", choices=MODELS, default="tsnode", help="forecaster (default tsnode)"
    )
    forecast.add_argument(
        "--plot", metavar="PNG", help="save a fan chart to this file (.png added if no extension)"
    )
    forecast.add_argument("--output", metavar="CSV", help="save the forecast table to this file")
    _add_common(forecast, default_lookback=1000)
    forecast.set_defaults(handler=_cmd_forecast)

    backtest = commands.add_parser(
        "backtest",
        help="walk-forward backtest against the baselines, with strategy statistics",
        description="Walk-forward backtest of several forecasters on identical cutoffs: prints "
        "the leaderboard (MASE, CRPS, coverage, Diebold-Mariano test vs naive when naive is "
        "among the models) and the statistics of a long/flat strategy trading each model's "
        "forecasts.",
    )
    backtest.add_argument(
        "--horizon",
        type=_positive_int,
        default=5,
        help="rows of the data forecast after each cutoff (default 5)",
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
        "--cutoffs",
        type=_positive_int,
        help="number of forecast origins (default 40; quick 6); the last is --horizon rows "
        "before the end of the data (--step rows if --step is smaller)",
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
        except BrokenPipeError:  # e.g. `tsnode samples | head`: the reader left, not an error
            with contextlib.suppress(OSError, ValueError):  # no second error at exit's flush
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        except Exception as err:  # noqa: BLE001 - the command line's last line of defence
            if args.debug:
                traceback.print_exc()
            else:
                expected = isinstance(err, (CLIError, ValueError, TypeError, OSError, LookupError))
                hint = "" if expected else f" ({type(err).__name__}; rerun with --debug)"
                # notes name where it happened (model, cutoff): keep them on the one line
                notes = "".join(f" [{' '.join(n.split())}]" for n in getattr(err, "__notes__", []))
                print(f"{prog}: error: {_one_line(err)}{hint}{notes}", file=sys.stderr)
            return 2 if isinstance(err, UsageError) else 1


if __name__ == "__main__":
    sys.exit(main())
