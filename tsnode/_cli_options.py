"""Options of the ``tsnode`` command line (private): value types and shared options.

The ``type=`` converters turn bad option values into argparse usage errors (exit status 2)
naming what was expected; ``_add_common`` adds the data and model options shared by
``tsnode forecast`` and ``tsnode backtest``; ``_check_output_path`` / ``_check_plot_dir``
reject unwritable output paths, and ``_check_not_input`` an output that would overwrite the
``--csv`` input, before any data is loaded or model fitted; ``_save_figure`` / ``_write_csv``
write the outputs, as one-line errors.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tsnode._cli_input import CLIError, UsageError, _one_line

if TYPE_CHECKING:
    import pandas as pd

#: Environment variable that selects the tiny ``--quick`` settings when set to 1/true/yes/on.
QUICK_ENV_VAR = "TSNODE_QUICK"
#: Model names accepted by ``--model`` / ``--models``.
MODELS: tuple[str, ...] = ("tsnode", "gru", "gbm", "drift", "naive")


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


def _positive_float(text: str) -> float:
    return _parsed(text, float, lambda v: 0.0 < v < float("inf"), "a number > 0")


def _levels(coverage: float) -> tuple[float, float, float]:
    """Quantile levels (lower, median, upper) of a central interval, rounded to 10 decimals."""
    lower = round((1.0 - coverage) / 2.0, 10)
    return lower, 0.5, round(1.0 - lower, 10)


def _coverage(text: str) -> float:
    # the rounded levels must stay distinct and inside (0, 1): 1e-11 would give 0.5 twice
    return _parsed(
        text,
        float,
        lambda v: 0.0 < _levels(v)[0] < 0.5,
        "a number between 0 and 1, e.g. 0.8, at least 2e-10 away from both ends (its "
        "interval's quantile levels (1 - c)/2 and (1 + c)/2 are rounded to 10 decimals)",
    )


def _seed(text: str) -> int:
    return _parsed(text, int, lambda v: 0 <= v < 2**32, "an integer from 0 to 4294967295")


def _iso_date(text: str) -> str:
    """An ISO 8601 date (year first), kept as text: day/month order is never guessed."""
    import pandas as pd

    ok = re.match(r"\s*\d{4}", text) is not None  # pandas' ISO8601 also reads "now", "today"
    if ok:
        try:
            pd.to_datetime(text.strip(), format="ISO8601")
        except (ValueError, OverflowError):
            ok = False
    if not ok:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date (year-month-day) such as 2013-01-02, got {text!r}; "
            "write 1 February 2013 as 2013-02-01"
        )
    return text.strip()


def _model_list(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(MODELS)}; got {text!r}"
        )
    return list(dict.fromkeys(names))


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
    source.add_argument(
        "--start", type=_iso_date, help="first date to use, ISO (year first), e.g. 2018-01-01"
    )
    source.add_argument(
        "--end", type=_iso_date, help="end date (exclusive), ISO (year first), e.g. 2020-01-01"
    )
    source.add_argument(
        "--lookback",
        type=_non_negative_int,
        default=default_lookback,
        metavar="ROWS",
        help=f"use only the last ROWS rows (0 = all; default {default_lookback})",
    )
    source.add_argument(
        "--column",
        help="CSV price column(s), comma-separated (default: close/price column); for a "
        "yf.download export (Price/Ticker header rows): one price field and optionally "
        "tickers, e.g. Close or Close,AAPL",
    )
    source.add_argument(
        "--date-column",
        default="date",
        help="CSV date column (default: date, any case; yf.download exports: the first column)",
    )
    source.add_argument(
        "--date-format",
        metavar="FORMAT",
        help="strptime layout of the CSV dates, e.g. '%%d/%%m/%%Y' (default: ISO dates, else "
        "the one layout that reads every row; day/month-ambiguous dates need this option). "
        "UTC offsets are ignored: each row keeps its local date and time",
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
    model.add_argument(
        "--epochs",
        type=_positive_int,
        help="training epochs (tsnode, gru; default 10 for tsnode here, 20 in the library)",
    )
    model.add_argument(
        "--time-scale-days",
        type=_positive_float,
        help="calendar days per unit of model time (tsnode, gru; default 30 for daily data): "
        "about 30 bar spacings, e.g. 0.0208 for minute bars",
    )
    model.add_argument(
        "--seed", type=_seed, default=0, help="random seed, 0 to 4294967295 (default 0)"
    )
    model.add_argument(
        "--members",
        type=_positive_int,
        default=1,
        help="fit a seed ensemble of this many tsnode/gru models and forecast their mixture "
        "(default 1: one model)",
    )
    model.add_argument(
        "--restarts",
        type=_positive_int,
        default=1,
        help="train this many tsnode restarts and keep the one with the lowest validation loss "
        "(default 1)",
    )
    model.add_argument(
        "--coverage",
        type=_coverage,
        default=0.8,
        help="probability of the prediction interval (default 0.8)",
    )
    model.add_argument(
        "--calendar",
        default="XNYS",
        help="exchange calendar of the forecast dates (default XNYS; 24/7 for crypto; none: "
        "observed spacing)",
    )
    model.add_argument("--device", default="cpu", help="torch device, e.g. cuda (default cpu)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the results")
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks"
    )


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (``.`` for a bare relative name)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def _check_output_path(path: str | None, option: str, *, figure: bool = False) -> None:
    """Fail fast, before loading data or fitting, when ``path`` cannot be written.

    Parameters
    ----------
    path : str or None
        The file named by ``option``; nothing is checked when None or empty.
    option : str
        The option's name for the message, e.g. ``"--output"``.
    figure : bool, default False
        Also check that matplotlib can save a figure with this file extension.

    Raises
    ------
    CLIError
        If ``path`` is a directory, its folder does not exist or is a file, the file or
        folder is not writable, or (``figure``) the extension is not an image format.
    """
    if not path:
        return
    target = Path(path)
    where = f"cannot write {option} {path}"
    if target.is_dir():
        example = target / ("out.png" if figure else "out.csv")
        raise CLIError(f"{where}: it is a directory; pass a file path such as {example}.")
    folder = target.parent
    if not folder.is_dir():
        found = _nearest_existing(folder)
        if found == folder or found.is_file():
            raise CLIError(f"{where}: {found} is a file, not a folder; choose another path.")
        raise CLIError(
            f"{where}: the folder {folder} does not exist; create it first or choose another path."
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        raise CLIError(f"{where}: permission denied; choose a writable location.")
    if figure and target.suffix:
        import matplotlib
        from matplotlib.backend_bases import FigureCanvasBase

        formats = set(FigureCanvasBase.get_supported_filetypes())
        tex = matplotlib.rcParams["pgf.texsystem"]
        if shutil.which(tex) is None:  # .pgf needs LaTeX to measure the text
            formats.discard("pgf")
            if target.suffix.lower() == ".pgf":
                raise CLIError(
                    f"{where}: .pgf figures need LaTeX ({tex}), which is not installed; save a "
                    f"vector image instead, e.g. {target.with_suffix('.pdf')} or .svg."
                )
        if target.suffix[1:].lower() not in formats:
            raise CLIError(
                f"{where}: matplotlib cannot save {target.suffix!r} images; use one of "
                f"{', '.join('.' + f for f in sorted(formats))}, e.g. {target.with_suffix('.png')}."
            )


# Options of one data source, and of the neural models, with their defaults: given elsewhere
# they would be ignored in silence, so they are a usage error instead.
_CSV_ONLY = {"column": None, "date_column": "date", "date_format": None, "name": None}
_TICKER_ONLY = {"offline": False, "cache_dir": None}
# (not --quick: it also sets backtest's cutoffs and first window, for any model)
_NEURAL_ONLY = {"epochs": None, "time_scale_days": None, "members": 1, "device": "cpu"}


def _check_option_use(args: argparse.Namespace, models: list[str]) -> None:
    """A usage error for options that the chosen data source or ``models`` would ignore, and
    for a ``--device`` torch cannot parse (found before any data is loaded)."""

    def given(defaults: dict[str, Any]) -> list[str]:
        return [f"--{k.replace('_', '-')}" for k, d in defaults.items() if getattr(args, k) != d]

    source = "--sample" if args.sample is not None else "--ticker" if args.ticker else "--csv"
    for only, defaults in (("--csv", _CSV_ONLY), ("--ticker", _TICKER_ONLY)):
        unused = given(defaults) if source != only else []
        if unused:
            raise UsageError(
                f"{', '.join(unused)} only appl{'ies' if len(unused) == 1 else 'y'} to {only}, "
                f"not to {source}; drop {'it' if len(unused) == 1 else 'them'}."
            )
    neural = [m for m in models if m in ("tsnode", "gru")]
    unused = given(_NEURAL_ONLY) if not neural else []
    unused += ["--restarts"] if args.restarts != 1 and "tsnode" not in models else []
    if unused:
        raise UsageError(
            f"{', '.join(unused)} only appl{'ies' if len(unused) == 1 else 'y'} to "
            f"{'tsnode' if unused == ['--restarts'] else 'the neural models (tsnode, gru)'}, "
            f"not to {', '.join(models)}; drop {'it' if len(unused) == 1 else 'them'}."
        )
    if neural:
        import torch

        try:
            torch.device(args.device)
        except (RuntimeError, TypeError, ValueError):
            raise UsageError(
                f"--device {args.device!r} is not a torch device; use cpu, cuda or cuda:0."
            ) from None


def _check_not_input(path: str | None, option: str, csv: str | None) -> None:
    """A usage error when ``path`` (an output) is the ``--csv`` input file itself."""
    if not path or not csv or not (os.path.exists(path) and os.path.exists(csv)):
        return
    try:
        same = os.path.samefile(path, csv)
    except OSError:
        return  # unreadable: the output check or the CSV reader reports it
    if same:
        target = Path(path)
        other = target.with_name(f"{target.stem}_{option.lstrip('-')}{target.suffix}")
        raise UsageError(
            f"{option} {path} is the --csv input {csv}: writing it would replace the price "
            f"history; choose another file, e.g. {option} {other}."
        )


def _check_plot_dir(path: str | None) -> None:
    """Fail fast when ``--plot-dir`` cannot be created or written (see _check_output_path)."""
    if not path:
        return
    folder = Path(path)
    found = _nearest_existing(folder)
    where = f"cannot create --plot-dir {path}"
    if not found.is_dir():
        raise CLIError(f"{where}: {found} is a file, not a folder; choose another folder.")
    if not os.access(found, os.W_OK | os.X_OK):
        raise CLIError(f"{where}: permission denied in {found}; choose a writable folder.")


# ----------------------------------------------------------------------------- outputs


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure outside pyplot: drawing it switches no backend, opens no window."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _stacked_axes(n: int, height: float = 3.2) -> list[Any]:
    """``n`` stacked Axes of a new :func:`_figure`, as the plot functions lay them out."""
    return list(_figure(10, height * n).subplots(n, 1, squeeze=False)[:, 0])


def _save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    try:
        fig.savefig(target, dpi=110, bbox_inches="tight")
    except (OSError, ValueError, RuntimeError) as err:  # RuntimeError: e.g. LaTeX missing
        raise CLIError(f"cannot save the plot to {os.fspath(path)}: {_one_line(err)}") from err
    return target


def _write_csv(frame: pd.DataFrame, path: str | os.PathLike[str], **kwargs: Any) -> None:
    try:
        frame.to_csv(path, **kwargs)
    except OSError as err:
        raise CLIError(f"cannot write {os.fspath(path)}: {_one_line(err)}") from err
