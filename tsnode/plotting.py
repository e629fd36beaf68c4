"""Plots: forecast fan charts, backtests, equity/drawdown and calibration.

Every function draws with matplotlib, takes an optional ``ax`` (or ``fig``) to draw
into and returns the :class:`matplotlib.figure.Figure`; nothing is shown (call
``plt.show()`` or ``fig.savefig(...)`` yourself). matplotlib is imported on first use.
This module never imports torch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes  # real imports (no backend chosen): get_type_hints works
from matplotlib.figure import Figure

from tsnode._plot_inputs import _as_dates, _history_columns, _history_frame
from tsnode._trading_inputs import _forecasts_frame
from tsnode.metrics import coverage, pit_values
from tsnode.trading import _quantile_columns

__all__ = ["plot_backtest", "plot_calibration", "plot_equity", "plot_forecast"]

_BAND_COLOR = "C0"
_BACKTEST_COLUMNS = ("timestamp", "series", "step", "actual", "forecast")
_MAX_BINS = 1000  # PIT histogram bins (more resolve nothing, and take minutes to draw)


# ----------------------------------------------------------------------------- helpers


def _axes_grid(n: int, ax: Any, *, height: float = 3.2, name: str = "ax") -> list[Axes]:
    """``n`` stacked Axes: new ones in a new figure, or the ones passed as ``ax``."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, axes = plt.subplots(n, 1, figsize=(10, height * n), squeeze=False, layout="constrained")
        return list(axes[:, 0])
    axes = list(np.ravel(ax)) if isinstance(ax, Sequence | np.ndarray) else [ax]
    if len(axes) != n or not all(hasattr(a, "fill_between") for a in axes):
        raise ValueError(
            f"`{name}` must be {'a matplotlib Axes' if n == 1 else f'a sequence of {n} Axes'} "
            f"(one per series), got {type(ax).__name__} with {len(axes)} item(s); pass "
            f"{name}=None to create the figure, or select a single series."
        )
    return axes


def _symmetric_pairs(levels: Sequence[float]) -> list[tuple[float, float]]:
    """Pairs ``(q, 1 - q)`` present in ``levels``, outermost first."""
    pairs = []
    for q in sorted(levels):
        if q >= 0.5:
            break
        partner = [p for p in levels if math.isclose(p, 1.0 - q, abs_tol=1e-9)]
        if partner:
            pairs.append((q, partner[0]))
    return pairs


def _select_series(table: pd.DataFrame, series: Any) -> list[Any]:
    available = list(pd.unique(table["series"]))
    if series is None:
        return available
    if isinstance(series, (str, bytes)) or not isinstance(series, Iterable):
        wanted = [series]
    else:  # a list, tuple, numpy array, pandas Index, set ...
        wanted = list(series)
    if len(wanted) == 0:
        raise ValueError(
            f"`series` is empty, so there is nothing to plot; pass series=None for all series "
            f"or some of {available!r}."
        )
    by_name = {str(s): s for s in available}  # backtest tables label series by str
    unknown = [s for s in wanted if s not in available and str(s) not in by_name]
    if unknown:
        raise ValueError(f"`series` {unknown!r} not in the forecasts; available: {available!r}.")
    return [s if s in available else by_name[str(s)] for s in wanted]


def _check_count(value: Any, name: str, *, minimum: int, example: int) -> int:
    """``value`` as an int ``>= minimum``; Python and numpy integers, not bools."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an int, got {value!r} ({type(value).__name__}); pass a whole "
            f"number, e.g. {name}={example}."
        )
    if value < minimum:
        kind = "non-negative" if minimum == 0 else f">= {minimum}"
        raise ValueError(f"`{name}` must be a {kind} int, got {value!r}.")
    return int(value)


def _float_values(frame: pd.DataFrame | pd.Series, name: str) -> np.ndarray:
    """The values of ``frame`` as float64, or a ValueError naming the parameter.

    Dates, time spans, booleans and complex numbers are refused, as ``fit`` refuses them: as
    floats they would be drawn as clock ticks, 0/1 or real parts.
    """
    dtypes = list(frame.dtypes) if isinstance(frame, pd.DataFrame) else [frame.dtype]
    error: Exception | None = None
    if any(getattr(d, "kind", "") in ("m", "M", "b", "c") for d in dtypes):
        error = TypeError("not real numbers")
    else:
        try:
            return frame.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError) as exc:
            error = exc
    raise ValueError(
        f"`{name}` must hold numbers, got dtype(s) {sorted({str(d) for d in dtypes})} "
        f"({error}); convert it with pd.to_numeric(...) or .astype(float) first."
    ) from error


def _describe_axis(index: pd.Index) -> str:
    if isinstance(index, pd.DatetimeIndex):
        return f"a tz-aware DatetimeIndex ({index.tz})" if index.tz else "a tz-naive DatetimeIndex"
    return f"a {type(index).__name__} (not dates)"


def _same_time_axis(first: pd.Index, first_name: str, other: pd.Index, other_name: str) -> pd.Index:
    """``other``, in the time zone of ``first``; a ValueError if the two cannot share an axis.

    Both must be dates or neither, and tz-aware dates cannot be mixed with naive ones (which
    matplotlib would either reject deep inside or silently read as UTC).
    """
    first_dates = isinstance(first, pd.DatetimeIndex)
    if first_dates != isinstance(other, pd.DatetimeIndex):
        raise ValueError(
            f"`{first_name}` has {_describe_axis(first)} but `{other_name}` has "
            f"{_describe_axis(other)}; both must be indexed by dates or neither (convert with "
            "pd.to_datetime(...) or pass the forecast of the plotted history)."
        )
    if not first_dates:
        return other
    if (first.tz is None) != (other.tz is None):
        aware, naive = (
            (first_name, other_name) if first.tz is not None else (other_name, first_name)
        )
        zone = first.tz if first.tz is not None else other.tz
        raise ValueError(
            f"`{first_name}` has {_describe_axis(first)} but `{other_name}` has "
            f"{_describe_axis(other)}; time zones cannot be mixed on one axis. Make them match: "
            f"`{naive}`.tz_localize({str(zone)!r}) or `{aware}`.tz_convert(None)."
        )
    if first.tz is not None and str(first.tz) != str(other.tz):
        return other.tz_convert(first.tz)  # the same instants, labelled in `first`'s zone
    return other


# ----------------------------------------------------------------------------- fan chart


def _date_ticks(axis: Axes, values: Any) -> None:
    """Concise date ticks on the x axis of ``axis`` if ``values`` (its x data) are dates.

    ``AutoDateLocator`` + ``ConciseDateFormatter`` label a 2-year daily axis ``2022, Apr,
    Jul, Oct, 2023, ...`` instead of ``2022-01, 2022-04, ...``, whose labels overlap on
    narrow Axes. Labels are in the time zone of the data, as matplotlib's default.
    """
    import matplotlib.dates as mdates

    index = pd.Index(values)
    if not isinstance(index, pd.DatetimeIndex):
        return
    locator = mdates.AutoDateLocator(tz=index.tz)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=index.tz))


def _fan_layers(
    block: pd.DataFrame, name: Any
) -> tuple[np.ndarray, list[tuple[int, int, str]], int | None, list[tuple[int, str]]]:
    """Values, bands ``(lower column, upper column, label)``, median column and the other
    levels' ``(column, label)`` of one series.

    ``block`` holds the forecast columns of series ``name``: quantile levels (floats in
    (0, 1), from ``predict_quantiles``) or the bounds ``'lower'``, ``'upper'`` (from
    ``predict_interval``).
    """
    labels = list(block.columns)
    values = _float_values(block, "quantiles")
    if sorted(map(str, labels)) == ["lower", "upper"]:
        order = [str(c) for c in labels]
        bounds = (order.index("lower"), order.index("upper"), "prediction interval")
        return values, [bounds], None, []
    try:
        levels = np.asarray(labels, dtype="float64")
    except (TypeError, ValueError):
        levels = np.array([np.nan])
    if np.any(~np.isfinite(levels)) or np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(
            f"`quantiles` columns of series {name!r} must be quantile levels in (0, 1) (as from "
            "predict_quantiles(horizon, quantiles=(0.1, 0.5, 0.9))) or the bounds 'lower' and "
            f"'upper' (as from predict_interval(horizon)), got {labels!r}."
        )
    bands = []
    for lo, hi in _symmetric_pairs(levels.tolist()):
        lo_col, hi_col = int(np.argmin(np.abs(levels - lo))), int(np.argmin(np.abs(levels - hi)))
        bands.append((lo_col, hi_col, f"{100 * (hi - lo):g}% interval"))
    median = np.flatnonzero(np.isclose(levels, 0.5))
    drawn = {j for lo, hi, _ in bands for j in (lo, hi)} | set(median[:1].tolist())
    # a level without a symmetric partner (only q0.9, say) is a dashed line, not left out
    lines = [(j, f"q{levels[j]:g}") for j in range(len(levels)) if j not in drawn]
    return values, bands, int(median[0]) if median.size else None, lines


def plot_forecast(
    history: pd.DataFrame | pd.Series,
    quantiles: pd.DataFrame,
    *,
    ax: Axes | Sequence[Axes] | None = None,
    title: str | None = None,
    n_history: int = 250,
    target: str = "Close",
) -> Figure:
    """Fan chart: the recent history and nested forecast bands, one Axes per series.

    Parameters
    ----------
    history : DataFrame or Series
        Observed prices, DatetimeIndex: any data ``fit`` accepts. A wide frame has one
        column per forecast series (a Series for one), matched by ``str`` name as
        forecasters name them (column ``0`` is series ``"0"``). A ``yf.download`` frame
        (MultiIndex columns) or a flat OHLCV frame (``Ticker.history``, series ``"y"``) is
        converted as ``fit`` does, taking the ``target`` field. A forecast series without a
        history column is drawn without history, with a UserWarning.
    quantiles : DataFrame
        Forecast quantiles with MultiIndex columns ``(series, quantile)``, as returned by
        ``forecaster.predict_quantiles(...)``; quantile levels are floats (0.1, 0.5, ...).
        Each symmetric pair ``(q, 1 - q)`` is shaded (inner bands darker) and the 0.5
        level, if present, is drawn as the median. Bands start at the last observation.
        The output of ``forecaster.predict_interval(...)`` (columns ``(series, bound)``
        with bounds ``'lower'``, ``'upper'``) is accepted too: one band, no median. Its
        index must be of the same kind as that of ``history`` (dates in the same time
        zone, or both tz-naive).
    ax : Axes or sequence of Axes, optional
        One Axes per series to draw into; default: a new figure.
    title : str, optional
        Figure title (default: the series names as Axes titles only).
    n_history : int, default 250
        Number of most recent observations of each series before the forecast start to show;
        history after it (what happened, e.g. the test rows of a backtest) is drawn too, and
        the fan starts from the last observation before the forecast.
    target : str, default "Close"
        Price field drawn from a yfinance-style ``history`` (the forecaster's ``target``);
        ignored for Series and wide frames.

    Returns
    -------
    Figure
    """
    history = _history_frame(history, target)
    if not isinstance(quantiles, pd.DataFrame) or not isinstance(quantiles.columns, pd.MultiIndex):
        raise TypeError(
            "`quantiles` must be a DataFrame with MultiIndex columns (series, quantile), as "
            f"returned by forecaster.predict_quantiles(...), got {type(quantiles).__name__}"
            f"{'' if not isinstance(quantiles, pd.DataFrame) else ' with flat columns'}."
        )
    if quantiles.columns.nlevels != 2:
        raise ValueError(
            "`quantiles` must have 2 column levels (series, quantile), as returned by "
            f"forecaster.predict_quantiles(...), got {quantiles.columns.nlevels}: "
            f"{list(quantiles.columns.names)}."
        )
    if quantiles.shape[0] == 0 or quantiles.shape[1] == 0:
        raise ValueError(
            f"`quantiles` is empty (shape {quantiles.shape}); there is no forecast to plot. "
            "Pass forecaster.predict_quantiles(horizon) with horizon >= 1 and at least one "
            "quantile level."
        )
    n_history = _check_count(n_history, "n_history", minimum=0, example=250)
    future = quantiles.index
    if len(history.index):
        future = _same_time_axis(history.index, "history", future, "quantiles")
    names = list(pd.unique(quantiles.columns.get_level_values(0)))
    layers = [_fan_layers(quantiles[name], name) for name in names]  # validate, then draw
    pasts = []
    for column in _history_columns(history, names):
        if column is None:  # no history for this series (warned)
            pasts.append(pd.Series(dtype="float64"))
            continue
        past = pd.Series(_float_values(history[column], "history"), index=history.index)
        past = past.dropna().sort_index()  # fit accepts unsorted data too
        # history after the forecast start (what happened) is drawn, not counted in n_history
        before = int((past.index < future[0]).sum())
        pasts.append(past.iloc[max(before - n_history, 0) :])
    axes = _axes_grid(len(names), ax)
    for axis, name, (values, bands, median, lines), past in zip(
        axes, names, layers, pasts, strict=True
    ):
        index = future
        if len(past):
            axis.plot(past.index, past.to_numpy(), color="k", lw=1.2, label="history")
            anchor = past[past.index < future[0]]  # the fan starts at the last value before it
            if len(anchor):
                index = anchor.index[-1:].append(index)
                values = np.vstack([np.full(values.shape[1], anchor.iloc[-1]), values])
        marker = "o" if len(index) == 1 else None  # a single point needs a marker to show
        for i, (lo, hi, label) in enumerate(bands):
            style = dict(color=_BAND_COLOR, alpha=0.15 + 0.25 * (i + 1) / len(bands), label=label)
            if len(index) == 1:  # fill_between of one point is invisible: a bar instead
                axis.vlines(index, values[:, lo], values[:, hi], lw=8, **style)
            else:
                axis.fill_between(index, values[:, lo], values[:, hi], lw=0, **style)
        if median is not None:
            axis.plot(
                index, values[:, median], color=_BAND_COLOR, lw=1.5, marker=marker, label="median"
            )
        for j, label in lines:
            axis.plot(
                index, values[:, j], color=_BAND_COLOR, lw=1, ls="--", marker=marker, label=label
            )
        axis.set_title(str(name))
        axis.legend(loc="upper left", fontsize="small")
        axis.grid(alpha=0.3)
        _date_ticks(axis, index)
    fig = axes[0].figure
    if title is not None:
        fig.suptitle(title)
    return fig


# ----------------------------------------------------------------------------- backtest


def plot_backtest(
    forecasts: Any,
    *,
    series: Any = None,
    step: int = 1,
    ax: Axes | Sequence[Axes] | None = None,
) -> Figure:
    """Actual vs forecast over time at one horizon, with the outer quantile band.

    Parameters
    ----------
    forecasts : BacktestResult or DataFrame
        A backtest or its forecasts table (columns ``timestamp, series, step, actual,
        forecast`` and quantile columns ``q<level>``).
    series : str or sequence of str, optional
        Series to plot (default: all), one Axes each.
    step : int, default 1
        Forecast horizon to show.
    ax : Axes or sequence of Axes, optional
        One Axes per series; default: a new figure.

    Returns
    -------
    Figure
    """
    table = _forecasts_frame(
        forecasts, name="forecasts", required=_BACKTEST_COLUMNS, purpose="plot"
    )
    step = _check_count(step, "step", minimum=1, example=1)
    table = table.assign(timestamp=_as_dates(table["timestamp"], "`forecasts` column 'timestamp'"))
    rows = table[table["step"] == step]
    if len(rows) == 0:
        raise ValueError(
            f"`step`={step!r} has no forecasts; available steps: "
            f"{sorted(pd.unique(table['step']).tolist())}."
        )
    names = _select_series(table, series)
    levels = _quantile_columns(table)
    axes = _axes_grid(len(names), ax)
    for axis, name in zip(axes, names, strict=True):
        part = rows[rows["series"] == name].sort_values("timestamp")
        x = part["timestamp"].to_numpy()
        marker = "o" if len(x) == 1 else None  # a single point needs a marker to show
        if len(levels) >= 2:
            (lo, lo_col), (hi, hi_col) = levels[0], levels[-1]
            bounds = [part[c].to_numpy(dtype="float64") for c in (lo_col, hi_col)]
            style = dict(color=_BAND_COLOR, alpha=0.25, label=f"q{lo:g} - q{hi:g}")
            if len(x) == 1:  # fill_between of one point is invisible: a bar instead
                axis.vlines(x, *bounds, lw=8, **style)
            else:
                axis.fill_between(x, *bounds, lw=0, **style)
        seen = part["actual"].notna().to_numpy()  # forecasts of unobserved values: no actual
        actual = part["actual"].to_numpy(dtype="float64")[seen]
        axis.plot(x[seen], actual, color="k", lw=1.2, marker=marker, label="actual")
        forecast = part["forecast"].to_numpy(dtype="float64")
        label = f"forecast (step {step})"
        axis.plot(x, forecast, color=_BAND_COLOR, lw=1.2, marker=marker, label=label)
        axis.set_title(str(name))
        axis.legend(loc="upper left", fontsize="small")
        axis.grid(alpha=0.3)
        _date_ticks(axis, part["timestamp"])
    return axes[0].figure


# ----------------------------------------------------------------------------- equity


def plot_equity(
    simulation_or_equity: Any,
    benchmark: pd.Series | None = None,
    *,
    fig: Figure | None = None,
    title: str | None = None,
) -> Figure:
    """Equity curve vs buy-and-hold, with a drawdown panel below.

    Parameters
    ----------
    simulation_or_equity : Simulation or Series
        A :class:`tsnode.trading.Simulation` (its ``equity`` and ``benchmark_equity``) or
        an equity Series.
    benchmark : Series, optional
        Benchmark equity (default: the simulation's buy-and-hold, none for a Series).
    fig : Figure, optional
        Figure to draw into (two Axes are added); default: a new figure.
    title : str, optional

    Returns
    -------
    Figure

    Notes
    -----
    A missing (NaN) equity value leaves a gap at its own date in both panels; the drawdown
    after it is measured from the running peak of the values that are present.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    equity = getattr(simulation_or_equity, "equity", simulation_or_equity)
    if not isinstance(equity, pd.Series):
        raise TypeError(
            "`simulation_or_equity` must be a tsnode.trading.Simulation (from simulate(...)) "
            f"or an equity Series, got {type(simulation_or_equity).__name__}"
            f"{'' if equity is simulation_or_equity else ' whose `equity` is not a Series'}."
        )
    if benchmark is None:
        benchmark = getattr(simulation_or_equity, "benchmark_equity", None)
    curves = {"strategy": equity, "buy & hold": benchmark}
    for label, curve in curves.items():
        name = "benchmark" if label == "buy & hold" else "simulation_or_equity"
        if curve is not None and not isinstance(curve, pd.Series):
            raise TypeError(
                f"`{name}` must be a Simulation or an equity Series, got {type(curve).__name__}."
            )
        if curve is not None:  # e.g. pd.read_csv(..., index_col=0): dates as text
            dated = curve.set_axis(_as_dates(curve.index, f"the index of `{name}`"))
            curves[label] = dated.sort_index()  # the drawdown's running peak is in time order
    equity = curves["strategy"]
    if len(equity) == 0:
        raise ValueError("`simulation_or_equity` has an empty equity curve; nothing to plot.")
    arrays = {}
    for label, curve in curves.items():
        if curve is None:
            continue
        name = "benchmark" if label == "buy & hold" else "simulation_or_equity"
        arrays[label] = _float_values(curve, name)
        if not np.any(np.isfinite(arrays[label])):
            raise ValueError(
                f"`{name}` has no finite equity value ({len(curve)} NaN/inf); nothing to plot. "
                "Check the prices and positions it was simulated from."
            )
        if label != "strategy":
            _same_time_axis(equity.index, "simulation_or_equity", curve.index, name)
    if fig is None:
        fig = plt.figure(figsize=(10, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for (label, curve), color in zip(curves.items(), ("C0", "0.5"), strict=True):
        if curve is None:
            continue
        values = arrays[label]
        # fmax skips NaN: a missing value leaves a gap at its own date only, whereas
        # np.maximum.accumulate would carry the NaN and blank the rest of the panel.
        peak = np.fmax.accumulate(np.where(np.isfinite(values), values, np.nan))
        drawdown = values / peak - 1.0
        marker = "o" if len(curve) == 1 else None  # a single point needs a marker to show
        top.plot(curve.index, values, color=color, lw=1.4, marker=marker, label=label)
        bottom.plot(curve.index, drawdown, color=color, lw=1.0, marker=marker, label=label)
        if label == "strategy":
            bottom.fill_between(curve.index, drawdown, 0.0, color=color, alpha=0.3, lw=0)
    top.axhline(1.0, color="k", lw=0.6, ls=":")
    top.set_ylabel("equity")
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)
    bottom.set_ylabel("drawdown")
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0))
    bottom.grid(alpha=0.3)
    _date_ticks(bottom, equity.index)  # sharex: sets the ticks of both panels
    if title is not None:
        top.set_title(title)
    return fig


# ----------------------------------------------------------------------------- calibration


def plot_calibration(
    forecasts: Any,
    quantiles: Sequence[float] | None = None,
    *,
    bins: int = 10,
    fig: Figure | None = None,
) -> Figure:
    """PIT histogram and interval coverage by horizon step against the nominal level.

    Parameters
    ----------
    forecasts : BacktestResult or DataFrame
        A backtest or its forecasts table (columns ``step, actual`` and ``q<level>``).
    quantiles : sequence of float, optional
        Quantile levels to use (at least 2, each with a ``q<level>`` column); default:
        the backtest's ``quantiles`` or all quantile columns of the table.
    bins : int, default 10 (at most 1000)
        Bins of the PIT histogram (:func:`tsnode.metrics.pit_values`); a calibrated
        forecast gives a flat histogram at density 1.
    fig : Figure, optional
        Figure to draw into (two Axes are added); default: a new figure.

    Returns
    -------
    Figure
        Left: PIT histogram. Right: empirical coverage of each symmetric interval
        ``(q, 1 - q)`` per step (solid) and its nominal level ``1 - 2q`` (dashed).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    table = _forecasts_frame(
        forecasts, name="forecasts", required=("step", "actual"), purpose="plot"
    )
    n_rows = len(table)
    table = table[table["actual"].notna()]  # only forecasts of observed values are scored
    if len(table) == 0:
        raise ValueError(
            f"`forecasts` has no observed `actual` value to score (all {n_rows} are NaN); "
            "calibration needs forecasts of dates that have been observed."
        )
    if quantiles is None:
        quantiles = getattr(forecasts, "quantiles", None)
    available = dict(_quantile_columns(table))
    if quantiles is None:
        quantiles = list(available)
    try:
        requested = sorted(float(q) for q in quantiles)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"`quantiles` must be a sequence of floats in (0, 1), got {quantiles!r}; pass e.g. "
            "quantiles=(0.1, 0.5, 0.9) or None for all quantile columns."
        ) from exc
    levels, columns = [], []
    for q in requested:
        match = [col for level, col in available.items() if math.isclose(level, q, abs_tol=1e-9)]
        if not match:
            raise ValueError(
                f"`quantiles` level {q:g} has no column in `forecasts` (expected 'q{q:g}'); "
                f"quantile columns: {list(available.values())}."
            )
        if match[0] not in columns:  # a level given twice is used once
            levels.append(q)
            columns.append(match[0])
    if len(levels) < 2:
        fix = (
            f"; pass quantiles=None for all of {list(available.values())}, or backtest with "
            "more levels, e.g. quantiles=(0.1, 0.5, 0.9)"
            if available
            else " (`forecasts` has no quantile column: a point forecaster's backtest); "
            "backtest a forecaster with predict_quantiles, e.g. quantiles=(0.1, 0.5, 0.9)"
        )
        raise ValueError(
            f"`quantiles` needs at least 2 levels for a PIT histogram, got {levels}{fix}."
        )
    bins = _check_count(bins, "bins", minimum=1, example=10)
    if bins > _MAX_BINS:  # matplotlib takes over a minute for 100,000 bins
        raise ValueError(f"`bins` must be at most {_MAX_BINS}, got {bins}; e.g. bins=10.")
    actual = table["actual"].to_numpy(dtype="float64")
    q_values = table[columns].to_numpy(dtype="float64")
    if fig is None:
        fig = plt.figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    pit = pit_values(actual, q_values, levels)
    left.hist(pit, bins=bins, range=(0.0, 1.0), density=True, color=_BAND_COLOR, alpha=0.7)
    left.axhline(1.0, color="k", ls="--", lw=1, label="uniform")
    left.set_xlim(0.0, 1.0)
    left.set_xlabel("PIT")
    left.set_ylabel("density")
    left.set_title(f"PIT histogram (n={pit.size})")
    left.legend(fontsize="small")
    steps = np.sort(pd.unique(table["step"]))
    pairs = _symmetric_pairs(levels)
    for i, (lo, hi) in enumerate(pairs):
        color = f"C{i}"
        lo_col, hi_col = columns[levels.index(lo)], columns[levels.index(hi)]
        observed = []
        for s in steps:
            part = table[table["step"] == s]
            observed.append(coverage(part["actual"], part[lo_col], part[hi_col]))
        nominal = hi - lo
        right.plot(steps, observed, marker="o", color=color, label=f"{100 * nominal:g}% interval")
        right.axhline(nominal, color=color, ls="--", lw=1)
    if not pairs:
        right.text(0.5, 0.5, "no symmetric quantile pair", ha="center", transform=right.transAxes)
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.set_ylim(0.0, 1.05)
    right.set_xlabel("step")
    right.set_ylabel("coverage")
    right.set_title("interval coverage (dashed: nominal)")
    right.grid(alpha=0.3)
    if pairs:
        right.legend(fontsize="small")
    return fig
