"""Plots: forecast fan charts, backtests, equity/drawdown and calibration.

Every function draws with matplotlib, takes an optional ``ax`` (or ``fig``) to draw
into and returns the :class:`matplotlib.figure.Figure`; nothing is shown (call
``plt.show()`` or ``fig.savefig(...)`` yourself). matplotlib is imported on first use.
This module never imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tsnode.metrics import coverage, pit_values
from tsnode.trading import _quantile_columns

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_backtest", "plot_calibration", "plot_equity", "plot_forecast"]

_BAND_COLOR = "C0"
_BACKTEST_COLUMNS = ("timestamp", "series", "step", "actual", "forecast")


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


def _forecasts_table(forecasts: Any, required: Sequence[str]) -> pd.DataFrame:
    table = getattr(forecasts, "forecasts", forecasts)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            "`forecasts` must be a BacktestResult or its forecasts DataFrame, got "
            f"{type(forecasts).__name__}."
        )
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(
            f"`forecasts` lacks the columns {missing}; it needs {list(required)} plus "
            f"quantile columns like 'q0.1' (as produced by tsnode.backtest), got "
            f"{list(table.columns)}."
        )
    if len(table) == 0:
        raise ValueError("`forecasts` is empty; there is nothing to plot.")
    return table


def _select_series(table: pd.DataFrame, series: Any) -> list[Any]:
    available = list(pd.unique(table["series"]))
    if series is None:
        return available
    wanted = [series] if isinstance(series, str) or not isinstance(series, Sequence) else series
    unknown = [s for s in wanted if s not in available]
    if unknown:
        raise ValueError(f"`series` {unknown!r} not in the forecasts; available: {available!r}.")
    return list(wanted)


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


def plot_forecast(
    history: pd.DataFrame | pd.Series,
    quantiles: pd.DataFrame,
    *,
    ax: Axes | Sequence[Axes] | None = None,
    title: str | None = None,
    n_history: int = 250,
) -> Figure:
    """Fan chart: the recent history and nested forecast bands, one Axes per series.

    Parameters
    ----------
    history : DataFrame or Series
        Observed prices, DatetimeIndex, one column per series (a Series for one).
    quantiles : DataFrame
        Forecast quantiles with MultiIndex columns ``(series, quantile)``, as returned by
        ``forecaster.predict_quantiles(...)``; quantile levels are floats (0.1, 0.5, ...).
        Each symmetric pair ``(q, 1 - q)`` is shaded (inner bands darker) and the 0.5
        level, if present, is drawn as the median. Bands start at the last observation.
    ax : Axes or sequence of Axes, optional
        One Axes per series to draw into; default: a new figure.
    title : str, optional
        Figure title (default: the series names as Axes titles only).
    n_history : int, default 250
        Number of most recent observations of each series to show.

    Returns
    -------
    Figure
    """
    if isinstance(history, pd.Series):
        history = history.to_frame(name=history.name if history.name is not None else "y")
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"`history` must be a DataFrame or Series, got {type(history).__name__}.")
    if not isinstance(quantiles, pd.DataFrame) or not isinstance(quantiles.columns, pd.MultiIndex):
        raise TypeError(
            "`quantiles` must be a DataFrame with MultiIndex columns (series, quantile), as "
            f"returned by forecaster.predict_quantiles(...), got {type(quantiles).__name__}"
            f"{'' if not isinstance(quantiles, pd.DataFrame) else ' with flat columns'}."
        )
    if isinstance(n_history, bool) or not isinstance(n_history, int) or n_history < 0:
        raise ValueError(f"`n_history` must be a non-negative int, got {n_history!r}.")
    names = list(pd.unique(quantiles.columns.get_level_values(0)))
    axes = _axes_grid(len(names), ax)
    for axis, name in zip(axes, names, strict=True):
        block = quantiles[name]
        levels = np.asarray(block.columns, dtype="float64")
        values = block.to_numpy(dtype="float64")
        index = block.index
        past = history[name].dropna() if name in history.columns else pd.Series(dtype=float)
        if n_history == 0:
            past = past.iloc[:0]
        else:
            past = past.iloc[-n_history:]
        if len(past):
            axis.plot(past.index, past.to_numpy(), color="k", lw=1.2, label="history")
            index = pd.Index([past.index[-1], *index])
            values = np.vstack([np.full(len(levels), past.iloc[-1]), values])
        pairs = _symmetric_pairs(levels.tolist())
        for i, (lo, hi) in enumerate(pairs):
            alpha = 0.15 + 0.25 * (i + 1) / len(pairs)
            axis.fill_between(
                index,
                values[:, int(np.argmin(np.abs(levels - lo)))],
                values[:, int(np.argmin(np.abs(levels - hi)))],
                color=_BAND_COLOR,
                alpha=alpha,
                lw=0,
                label=f"{100 * (hi - lo):g}% interval",
            )
        median = np.flatnonzero(np.isclose(levels, 0.5))
        if median.size:
            axis.plot(index, values[:, median[0]], color=_BAND_COLOR, lw=1.5, label="median")
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
    table = _forecasts_table(forecasts, _BACKTEST_COLUMNS)
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
        if len(levels) >= 2:
            (lo, lo_col), (hi, hi_col) = levels[0], levels[-1]
            axis.fill_between(
                x,
                part[lo_col].to_numpy(dtype="float64"),
                part[hi_col].to_numpy(dtype="float64"),
                color=_BAND_COLOR,
                alpha=0.25,
                lw=0,
                label=f"q{lo:g} - q{hi:g}",
            )
        seen = part["actual"].notna().to_numpy()  # forecasts of unobserved values: no actual
        actual = part["actual"].to_numpy(dtype="float64")[seen]
        axis.plot(x[seen], actual, color="k", lw=1.2, label="actual")
        forecast = part["forecast"].to_numpy(dtype="float64")
        axis.plot(x, forecast, color=_BAND_COLOR, lw=1.2, label=f"forecast (step {step})")
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
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    equity = getattr(simulation_or_equity, "equity", simulation_or_equity)
    if benchmark is None:
        benchmark = getattr(simulation_or_equity, "benchmark_equity", None)
    curves = {"strategy": equity, "buy & hold": benchmark}
    for label, curve in curves.items():
        if curve is not None and not isinstance(curve, pd.Series):
            raise TypeError(
                f"`{'benchmark' if label == 'buy & hold' else 'simulation_or_equity'}` must be "
                f"a Simulation or an equity Series, got {type(curve).__name__}."
            )
    if len(equity) == 0:
        raise ValueError("`simulation_or_equity` has an empty equity curve; nothing to plot.")
    if fig is None:
        fig = plt.figure(figsize=(10, 6), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for (label, curve), color in zip(curves.items(), ("C0", "0.5"), strict=True):
        if curve is None:
            continue
        values = curve.to_numpy(dtype="float64")
        drawdown = values / np.maximum.accumulate(values) - 1.0
        top.plot(curve.index, values, color=color, lw=1.4, label=label)
        bottom.plot(curve.index, drawdown, color=color, lw=1.0, label=label)
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
    bins : int, default 10
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

    table = _forecasts_table(forecasts, ("step", "actual"))
    table = table[table["actual"].notna()]  # only forecasts of observed values are scored
    if quantiles is None:
        quantiles = getattr(forecasts, "quantiles", None)
    available = dict(_quantile_columns(table))
    if quantiles is None:
        quantiles = list(available)
    levels = sorted(float(q) for q in quantiles)
    columns = []
    for q in levels:
        match = [col for level, col in available.items() if math.isclose(level, q, abs_tol=1e-9)]
        if not match:
            raise ValueError(
                f"`quantiles` level {q:g} has no column in `forecasts` (expected 'q{q:g}'); "
                f"quantile columns: {list(available.values())}."
            )
        columns.append(match[0])
    if len(levels) < 2:
        raise ValueError(
            f"`quantiles` needs at least 2 levels for a PIT histogram, got {levels}; "
            "backtest with e.g. quantiles=(0.1, 0.5, 0.9)."
        )
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"`bins` must be a positive int, got {bins!r}.")
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
