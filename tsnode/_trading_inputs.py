"""Input checks of :func:`tsnode.trading.simulate` (private).

The forecasts table, the price frame (converted exactly as :func:`tsnode.backtest` converts
its ``data``, on the same price field), the numeric settings and the number of bars per year
used by the annualised statistics.

This module never imports torch.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tsnode._validation import _is_ohlcv, to_wide_frame

_REQUIRED = ("cutoff", "series", "step", "forecast", "origin")
#: Bars per year used when they cannot be inferred from the bars (daily sessions).
FALLBACK_PERIODS_PER_YEAR = 252.0
_YEAR = pd.Timedelta(days=365.25)
_DAY = pd.Timedelta(days=1)
# Shorter than this, a simulation cannot tell 252 trading dates a year from 365.
_MIN_SPAN = pd.Timedelta(days=90)
_SESSIONS_PER_YEAR = 252.0
# Short samples: the share of weekdays with a session above which the rest are holidays
_HOLIDAY_SHARE = 0.9


# ----------------------------------------------------------------------------- forecasts


def _forecasts_frame(
    result: Any, *, name: str, required: Sequence[str], purpose: str
) -> pd.DataFrame:
    """The forecasts DataFrame of ``result`` (a BacktestResult or the frame itself), checked
    to have the ``required`` columns and some rows; shared by ``simulate`` and the plots.
    ``name`` is the argument's name and ``purpose`` what it is for, both for the messages."""
    table = getattr(result, "forecasts", result)
    if not isinstance(table, pd.DataFrame):
        hint = "run tsnode.backtest(...) first."
        if isinstance(getattr(result, "results", None), dict):  # a Comparison
            names = list(result.results)
            hint = (
                f"a Comparison holds one backtest per model: pass one of them, e.g. "
                f"{name}.results[{names[0]!r}] (models: {names})."
                if names
                else hint
            )
        raise TypeError(
            f"`{name}` must be a BacktestResult (anything with a `.forecasts` DataFrame) or "
            f"its forecasts DataFrame, got {type(result).__name__}; {hint}"
        )
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(
            f"`{name}`'s forecasts table lacks the columns {missing}; it needs "
            f"{list(required)} (as produced by tsnode.backtest), got {list(table.columns)}."
        )
    if len(table) == 0:
        raise ValueError(f"`{name}`'s forecasts table is empty; there is nothing to {purpose}.")
    return table


def _forecasts_table(result: Any) -> pd.DataFrame:
    table = _forecasts_frame(result, name="result", required=_REQUIRED, purpose="trade")
    columns = [*_REQUIRED, *(col for _, col in _quantile_columns(table))]
    table = table[columns].copy()  # a working copy: the user's table is never modified
    try:
        table["cutoff"] = pd.to_datetime(table["cutoff"])
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "`result`'s forecasts column `cutoff` must hold timestamps, got values like "
            f"{table['cutoff'].iloc[0]!r}."
        ) from exc
    table["series"] = table["series"].astype(str)
    for col in ("forecast", "origin", *(c for _, c in _quantile_columns(table))):
        if col not in table:
            continue
        try:
            table[col] = pd.to_numeric(table[col]).astype("float64")
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"`result`'s forecasts column `{col}` must hold numbers (prices), got values "
                f"like {table[col].iloc[0]!r}; pass the forecasts table of a backtest."
            ) from exc
    return table


def _backtest_cutoffs(result: Any, table: pd.DataFrame) -> pd.DatetimeIndex | None:
    """Every cutoff of a ``BacktestResult`` (also those where nothing was forecast), or None
    for a bare forecasts table or cutoffs not comparable with the table's."""
    cutoffs = getattr(result, "cutoffs", None)
    if isinstance(result, pd.DataFrame) or cutoffs is None:
        return None
    try:
        cutoffs = pd.DatetimeIndex(cutoffs)
        cutoffs.searchsorted(table["cutoff"].iloc[0])  # raises for a tz mismatch
    except (TypeError, ValueError):
        return None
    return cutoffs


def _quantile_columns(table: pd.DataFrame) -> list[tuple[float, str]]:
    """``[(level, column)]`` of the quantile columns (``q0.1``, ...), sorted by level."""
    found = []
    for col in table.columns:
        if isinstance(col, str) and col.startswith("q"):
            try:
                level = float(col[1:])
            except ValueError:
                continue
            if 0 < level < 1:
                found.append((level, col))
    return sorted(found)


# ----------------------------------------------------------------------------- prices


def _resolve_target(target: Any, result: Any) -> tuple[str, str]:
    """The price field to trade and where it came from ("given", "backtest" or "default").

    An explicit ``target`` wins; else the field recorded by :func:`tsnode.backtest` (the
    result's ``target`` attribute, or the ``target`` entry of its forecasts table's
    ``attrs``); else ``"Close"``.
    """
    if target is not None:
        if not isinstance(target, str) or not target:
            raise TypeError(
                f"`target` must be None or a price field name (str), got {target!r} "
                f"({type(target).__name__}); e.g. target='Adj Close', or None to trade the "
                "field the backtest forecast."
            )
        return target, "given"
    # a DataFrame's attribute access would return a *column* named "target": skip it
    recorded = None if isinstance(result, pd.DataFrame) else getattr(result, "target", None)
    if recorded is None:
        table = getattr(result, "forecasts", result)
        attrs = getattr(table, "attrs", None)
        recorded = attrs.get("target") if isinstance(attrs, dict) else None
    if isinstance(recorded, str) and recorded:
        return recorded, "backtest"
    return "Close", "default"


def _prices_frame(prices: Any, target: str, source: str) -> pd.DataFrame:
    """Wide float frame of ``prices``, converted as :func:`tsnode.backtest` converts ``data``."""
    if not isinstance(prices, pd.Series | pd.DataFrame):
        raise TypeError(
            "`prices` must be a pandas Series, a wide DataFrame of prices (DatetimeIndex, one "
            "column per series) or the yfinance frame the backtest was run on, got "
            f"{type(prices).__name__}."
        )
    try:
        # the name and target backtest uses, so that the same frame gives the same columns;
        # stacklevel 4: to_wide_frame <- _prices_frame <- simulate <- the user's call; a
        # field chosen by the backtest (which warned) or by `target` gets no warning
        return to_wide_frame(
            prices, target=target, name="y", stacklevel=4, warn_unadjusted=source == "default"
        )
    except (TypeError, ValueError) as exc:
        why = ""
        if str(exc).startswith("target"):  # the price field is not in the frame
            why = {
                "given": f"`target`={target!r} was passed",
                "backtest": f"the backtest forecast {target!r}",
                "default": f"{target!r} is the default",
            }[source]
            why = (
                f" (simulate trades one price field: {why}; pass target='<field>' to trade another)"
            )
        raise type(exc)(f"`prices` is invalid: {exc}{why}") from exc


def _select_series(frame: pd.DataFrame, prices: Any, names: list[str]) -> pd.DataFrame:
    """The columns of ``frame`` for the forecast ``names``, in that order.

    A single price series (a Series, or a flat single-ticker yfinance frame) whose label
    differs from the one forecast series is taken to be that series.
    """
    single = isinstance(prices, pd.Series) or (
        isinstance(prices, pd.DataFrame)
        and not isinstance(prices.columns, pd.MultiIndex)
        and _is_ohlcv(prices.columns)
    )
    if single and len(names) == 1 and frame.shape[1] == 1:
        frame = frame.set_axis(pd.Index(names), axis=1)
    missing = [s for s in names if s not in frame.columns]
    if missing:
        raise ValueError(
            f"`prices` has no column for the series {missing} of the forecasts; its columns "
            f"are {list(frame.columns)}. Pass the price frame the backtest was run on."
        )
    return frame[names]


def _check_positive_prices(frame: pd.DataFrame) -> None:
    """Raise ValueError at the first observed price <= 0 (NaN = unobserved is allowed)."""
    values = frame.to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        bad = values <= 0
    for j in np.flatnonzero(bad.any(axis=0)):
        rows = np.flatnonzero(bad[:, j])
        raise ValueError(
            f"`prices` must be > 0 where observed, but series {frame.columns[j]!r} has "
            f"{float(values[rows[0], j])!r} at {frame.index[rows[0]]} ({rows.size} non-positive "
            "value(s)); returns are undefined there. Pass close prices (not returns or "
            "differences) and mark missing prices as NaN, not 0."
        )


# ----------------------------------------------------------------------------- settings


def _check_number(value: Any, name: str, *, minimum: float, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"`{name}` must be a number, got {value!r} ({type(value).__name__}).")
    if not np.isfinite(value) or value < minimum or (strict and value == minimum):
        bound = ">" if strict else ">="
        raise ValueError(f"`{name}` must be finite and {bound} {minimum}, got {value!r}.")
    return float(value)


def _check_costs(cost_bps: Any, slippage_bps: Any, *, allow_short: bool) -> float:
    """The cost per unit of position change as a fraction; below 100% (50% with shorts)."""
    total = _check_number(cost_bps, "cost_bps", minimum=0.0) + _check_number(
        slippage_bps, "slippage_bps", minimum=0.0
    )
    # A change of k units of position pays k * cost of the sleeve's equity: at 100% a trade
    # leaves nothing (or a negative equity that a later cost factor flips back to a profit).
    # A flip between short and long changes the position by 2 units.
    if allow_short:
        limit = 5000.0
        why = (
            " with allow_short=True (a flip between short and long trades twice the position, "
            "so a cost of 50% or more wipes it out)"
        )
    else:
        limit, why = 1e4, " (a cost of 100% of the traded amount or more wipes out the position)"
    if total >= limit:
        raise ValueError(
            f"`cost_bps` + `slippage_bps` must be < {limit:g} bps{why}, got {cost_bps!r} + "
            f"{slippage_bps!r} = {total:g} bps. Costs are in basis points: 5 means 0.05%."
        )
    return total / 1e4


def _check_int(value: Any, name: str) -> int:
    wrong_type = isinstance(value, bool) or not isinstance(value, int | np.integer)
    if wrong_type or value < 1:
        raise (TypeError if wrong_type else ValueError)(
            f"`{name}` must be a positive int, got {value!r}; e.g. {name}=1."
        )
    return int(value)


def _check_periods_per_year(value: Any) -> float | None:
    """None (infer from the bars) or a positive finite number of bars per year."""
    if value is None:
        return None
    hint = (
        "Pass None (the default) to infer it from the bars, or the bars per year of your "
        "prices, e.g. 252 for daily sessions, 52 for weekly, 12 for monthly bars."
    )
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(
            f"`periods_per_year` must be None or a number, got {value!r} "
            f"({type(value).__name__}). {hint}"
        )
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"`periods_per_year` must be finite and > 0, got {value!r}. {hint}")
    return float(value)


def infer_periods_per_year(index: pd.DatetimeIndex, *, stacklevel: int = 2) -> float:
    """Bars per year of ``index``, a sorted DatetimeIndex of the bars traded.

    Daily or sparser bars: ``(len(index) - 1) / elapsed years`` (365.25-day years), about 252
    for NYSE sessions, 52.18 weekly, 12 monthly. Intraday bars: split into sessions at gaps
    over ``max(4 * spacing, 2 hours)``; the bars per session times the sessions per year.
    Sessions of a day or more (around the clock, or Sunday-to-Friday futures) take
    ``(len - 1) / elapsed years``. Over less than ``_MIN_SPAN`` (90 days) the sessions per
    year cannot be told from the elapsed time (a weekend at either end weighs too much), so
    they are counted against the weekdays spanned: 252 a year when at least 90% of them have
    a session (the rest may be holidays), ``252 * share / 0.9`` below that, and the calendar
    days' share of 365.25 when over 10% of the sessions fall on weekends. Falls back to 252 with a
    ``UserWarning`` (at ``stacklevel``) for fewer than 2 bars or a zero span.
    """
    if len(index) >= 2 and index[-1] > index[0]:
        span = index[-1] - index[0]
        years = span / _YEAR
        diffs = np.diff(np.asarray(index.asi8, dtype=np.int64))
        spacing = pd.Timedelta(int(np.median(diffs[diffs > 0])), unit=index.unit)
        if spacing >= _DAY:
            if span >= _MIN_SPAN or spacing >= 4 * _DAY:  # weekly or sparser bars
                return float((len(index) - 1) / years)
            return _short_span_sessions_per_year(index, index)
        gap = max(4 * spacing, pd.Timedelta(hours=2)) / pd.Timedelta(1, unit=index.unit)
        breaks = np.flatnonzero(diffs > gap)
        n_sessions = len(breaks) + 1
        times = np.asarray(index.asi8, dtype=np.int64)
        lengths = times[np.r_[breaks, len(times) - 1]] - times[np.r_[0, breaks + 1]]
        if np.median(lengths) >= _DAY / pd.Timedelta(1, unit=index.unit):
            return float((len(index) - 1) / years)  # sessions of days: around the clock
        if span >= _MIN_SPAN:
            per_year = (n_sessions - 1) / years
        else:
            firsts, lasts = index[np.r_[0, breaks + 1]], index[np.r_[breaks, len(index) - 1]]
            per_year = _short_span_sessions_per_year(firsts, lasts)
        return float(len(index) / n_sessions * per_year)
    warnings.warn(
        f"cannot infer the bars per year from {len(index)} bar(s) spanning "
        f"{index[-1] - index[0] if len(index) else pd.Timedelta(0)}; the annualised "
        f"statistics use {FALLBACK_PERIODS_PER_YEAR:g} (daily sessions). Pass "
        "periods_per_year=... to set it.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return FALLBACK_PERIODS_PER_YEAR


def _trading_dates(firsts: pd.DatetimeIndex, lasts: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The sessions' trading dates: their first or last bars' dates, shifted by a day or not,
    whichever has the fewest on weekends. In the data's zone a session may start the evening
    before (an Asian exchange in UTC) or end the next morning (New York in Tokyo time)."""
    wall = [b.tz_localize(None) if b.tz is not None else b for b in (firsts, lasts)]
    candidates = [  # on the wall clock: a day is a date, also when the clocks change
        (bars.normalize() + pd.Timedelta(days=shift)).unique()
        for shift in (0, -1, 1)
        for bars in wall
    ]
    return min(candidates, key=lambda dates: int((dates.day_of_week >= 5).sum()))


def _short_span_sessions_per_year(firsts: pd.DatetimeIndex, lasts: pd.DatetimeIndex) -> float:
    """Sessions per year from each session's first and last bar (sorted, spanning < 90 days;
    dated by :func:`_trading_dates`): 252 when at least 90% of the weekdays spanned have a
    session (the rest can be holidays: up to 4 of 45 weekdays around the year end),
    proportionally fewer below that (``252 * share / 0.9``); the calendar days' share of
    365.25 when over 10% of the sessions fall on weekends (around the clock)."""
    dates = _trading_dates(firsts, lasts)
    weekend = dates.day_of_week >= 5
    if weekend.mean() > 0.1:  # trading around the week: the calendar days' share
        days = (dates[-1] - dates[0]) / _DAY + 1
        return float(len(dates) / days * (_YEAR / _DAY))
    first, last = (np.datetime64(d.date(), "D") for d in (dates[0], dates[-1]))
    share = int((~weekend).sum()) / max(int(np.busday_count(first, last + 1)), 1)
    return float(_SESSIONS_PER_YEAR * min(1.0, share / _HOLIDAY_SHARE))
