"""Argument checks and the fold worker of :func:`tsnode.backtesting.backtest` (private).

``_run_fold`` is what joblib ships to a worker: it fits (then updates) a clone of the
forecaster on the rows up to each cutoff of one fold and returns the quantile and point
forecasts for the timestamps it is given, never their values.

This module never imports torch.
"""

from __future__ import annotations

import difflib
import inspect
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from tsnode._validation import check_quantiles, to_wide_frame
from tsnode._warnings import add_note, user_stacklevel


def _quantile_column(q: float) -> str:
    """Name of the forecast column of quantile ``q`` (``0.1 -> "q0.1"``)."""
    return f"q{q:g}"


# ----------------------------------------------------------------------------- validation


def _check_int(value: Any, name: str, *, minimum: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"`{name}` must be an int, got {value!r} of type {type(value).__name__}. {hint}"
        )
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}. {hint}")
    return int(value)


def _check_forecaster(forecaster: Any, name: str = "forecaster") -> bool:
    """Raise TypeError if ``forecaster`` lacks the API; return whether it has ``update``."""
    if isinstance(forecaster, type):
        raise TypeError(
            f"`{name}` must be a forecaster instance, got the class {forecaster.__name__}; "
            f"pass {forecaster.__name__}() instead."
        )

    def has(method: str) -> bool:
        return callable(getattr(forecaster, method, None))

    missing = None
    if not has("fit"):
        missing = "fit"
    elif not (has("predict_quantiles") or has("predict")):
        missing = "predict_quantiles` or `predict"
    if missing:
        raise TypeError(
            f"`{name}` must have a `{missing}` method (the tsnode forecaster API: fit(y), "
            "predict_quantiles(horizon, quantiles) or, for point forecasts only, "
            f"predict(horizon), optionally update(y)); got an object of type "
            f"{type(forecaster).__name__} without it. Pass a tsnode forecaster or wrap your "
            "model in a class with these methods."
        )
    return callable(getattr(forecaster, "update", None))


_DEFAULT_QUANTILES = (0.1, 0.5, 0.9)


def _forecast_quantiles(forecaster: Any, quantiles: Any) -> tuple[float, ...]:
    """The checked ``quantiles`` (None: the default levels), or ``()`` for a point forecaster
    (``predict`` but no ``predict_quantiles``): its probabilistic scores are NaN, and levels
    asked of it are ignored with a UserWarning."""
    levels = _check_quantiles(_DEFAULT_QUANTILES if quantiles is None else quantiles)
    if callable(getattr(forecaster, "predict_quantiles", None)):
        return levels
    if quantiles is not None:
        warnings.warn(
            f"quantiles={list(levels)} are ignored: {type(forecaster).__name__} has no "
            "predict_quantiles, so it gives point forecasts only (no quantile columns, NaN "
            "CRPS and pinball loss). Give it predict_quantiles(horizon, quantiles) for "
            "probabilistic scores.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return ()


def _check_quantiles(quantiles: Any) -> tuple[float, ...]:
    levels = check_quantiles(quantiles)
    names = [_quantile_column(q) for q in levels]
    if len(set(names)) != len(names):
        raise ValueError(
            f"quantiles must differ in their first 6 significant digits (they name the "
            f"forecast columns {names}), got {list(levels)!r}."
        )
    return levels


def _to_frame(data: Any, target: str) -> pd.DataFrame:
    """Validated wide float frame (a copy) of ``data``; the input is never modified."""
    try:
        frame = to_wide_frame(data, target=target, stacklevel=4)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"`data` (the history to backtest on) is invalid: {exc}") from exc
    return frame.copy()


def _check_same_target(forecasters: dict[str, Any], data: Any) -> None:
    """Refuse models of :func:`compare` that would forecast different fields of ``data``.

    Each model is backtested on its own ``target`` field; on a yfinance frame two targets
    are two different series, and neither the leaderboard nor the DM test compares them.
    """
    targets: dict[str, list[str]] = {}
    for name, forecaster in forecasters.items():
        target = getattr(forecaster, "target", "Close")
        targets.setdefault(target if isinstance(target, str) else "Close", []).append(name)
    if len(targets) < 2:
        return
    with warnings.catch_warnings():  # only compared here; backtest warns about the data
        warnings.simplefilter("ignore")
        frames = {target: _to_frame(data, target=target) for target in targets}
    first, *others = frames.values()
    if all(other.equals(first) for other in others):
        return  # a plain frame of prices: `target` picks nothing
    listed = ", ".join(f"target={t!r} ({', '.join(map(repr, n))})" for t, n in targets.items())
    raise ValueError(
        f"`forecasters` must all forecast the same price field of `data`, got {listed}; "
        "the leaderboard and the Diebold-Mariano test would compare different series. "
        "Give every model the same `target` (e.g. NaiveForecaster(target='Close')), or "
        "compare the fields in separate calls."
    )


def _check_backtest_keywords(backtest: Any, kwargs: dict[str, Any]) -> None:
    """``compare``'s keywords for ``backtest``: a bad one is the caller's, not a model's, so it
    is refused before any backtest, naming the unknown keyword (and the nearest valid one)."""
    signature = inspect.signature(backtest)
    known = [p for p in signature.parameters if p not in ("forecaster", "data")]
    for key in kwargs:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else "."
            raise TypeError(
                f"compare passes its keywords to backtest, which has no keyword {key!r}{hint} "
                f"Its keywords: {known}."
            )
    try:
        signature.bind(None, None, **kwargs)
    except TypeError as exc:
        raise TypeError(f"compare passes its keywords to backtest: {exc}.") from None


# ----------------------------------------------------------------------------- fold worker


def _check_rows(pred: pd.DataFrame, future: pd.DatetimeIndex, method: str) -> None:
    """Refuse a forecast whose rows are not the requested timestamps, in order."""
    if len(pred) != len(future):
        raise ValueError(
            f"the forecaster's {method} returned {len(pred)} rows for a horizon of "
            f"{len(future)} timestamps; it must return one row per requested timestamp."
        )
    try:
        same = bool((pd.DatetimeIndex(pred.index) == future).all())
    except (TypeError, ValueError):  # not datetimes, or tz-aware against tz-naive
        same = False
    if not same:
        raise ValueError(
            f"the forecaster's {method} returned rows indexed {list(pred.index[:3])!r}... for "
            f"the requested timestamps {list(future[:3])!r}...; it must return one row per "
            "requested timestamp, in the order asked, indexed by those timestamps (rows are "
            "scored against the actual prices at them)."
        )


def _extract_quantiles(
    pred: Any, series: pd.Index, quantiles: tuple[float, ...], future: pd.DatetimeIndex
) -> np.ndarray:
    """Array ``(n_steps, n_series, n_quantiles)`` from a predict_quantiles frame."""
    if not isinstance(pred, pd.DataFrame) or not isinstance(pred.columns, pd.MultiIndex):
        raise TypeError(
            "the forecaster's predict_quantiles must return a DataFrame with MultiIndex "
            f"columns (series, quantile), got {type(pred).__name__}."
        )
    _check_rows(pred, future, "predict_quantiles")
    n_steps = len(future)
    names = pred.columns.get_level_values(0)
    levels = np.asarray(pred.columns.get_level_values(1), dtype=float)
    values = pred.to_numpy(dtype="float64", na_value=np.nan)
    out = np.empty((n_steps, len(series), len(quantiles)))
    columns_of: dict[Any, list[int]] = {}  # one pass over the columns: linear in the series
    for i, name in enumerate(names):
        columns_of.setdefault(name, []).append(i)
    for j, name in enumerate(series):
        own = np.asarray(columns_of.get(name, []), dtype=int)
        for k, q in enumerate(quantiles):
            match = own[np.isclose(levels[own], q, rtol=0.0, atol=1e-9)]
            if match.size != 1:
                raise ValueError(
                    f"the forecaster's predict_quantiles output has {match.size} columns for "
                    f"(series={name!r}, quantile={q:g}); expected exactly one. Columns: "
                    f"{list(pred.columns)!r}."
                )
            out[:, j, k] = values[:, match[0]]
    _refuse_infinite_forecasts(out, series, future, "predict_quantiles")
    return out


def _refuse_infinite_forecasts(
    values: np.ndarray, series: pd.Index, future: pd.DatetimeIndex, method: str
) -> None:
    """Refuse ±inf in ``values`` (n_steps, n_series, ...): it cannot be scored or traded.

    NaN stays: it is a missing forecast, which the scores count and warn about.
    """
    bad = np.isinf(values)
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad)[:2])
        raise ValueError(
            f"the forecaster's {method} returned {values[bad][0]} for series {series[j]!r} at "
            f"{future[i]} ({int(bad.sum())} infinite values in all); forecasts must be finite "
            "(or NaN for none) to be scored and traded. Fix the forecaster, or drop the series."
        )


def _point_forecast(
    model: Any, future: pd.DatetimeIndex, series: pd.Index, q_array: np.ndarray, quantiles
) -> np.ndarray:
    """Point forecast ``(n_steps, n_series)``: the 0.5 quantile, else ``predict``."""
    for k, q in enumerate(quantiles):
        if math.isclose(q, 0.5, abs_tol=1e-12):
            return q_array[:, :, k]
    if callable(getattr(model, "predict", None)):
        pred = model.predict(future)
        if not isinstance(pred, pd.DataFrame):
            raise TypeError(
                "the forecaster's predict must return a DataFrame with one row per requested "
                f"timestamp ({len(future)}), got {type(pred).__name__}."
            )
        _check_rows(pred, future, "predict")
        missing = [name for name in series if name not in pred.columns]
        if missing or not pred.columns.is_unique:
            raise ValueError(
                f"the forecaster's predict returned columns {list(pred.columns)!r} for the "
                f"series {list(series)!r}; it must return exactly one column per series it "
                "was fitted on, named as in the data."
            )
        point = pred.loc[:, list(series)].to_numpy(dtype="float64", na_value=np.nan)
        _refuse_infinite_forecasts(point, series, future, "predict")
        return point
    median = model.predict_quantiles(future, quantiles=(0.5,))
    return _extract_quantiles(median, series, (0.5,), future)[:, :, 0]


def _required_observations(forecaster: Any) -> int:
    """Observations a series needs in a training window to be fitted and forecast.

    The forecaster's own minimum (``_min_observations()``, as checked by the tsnode
    forecasters' ``fit``), else 1: a series with no observation is never passed.
    """
    hook = getattr(forecaster, "_min_observations", None)
    return max(1, int(hook())) if callable(hook) else 1


def _run_fold(
    forecaster: Any,
    history: pd.DataFrame,
    positions: list[int],
    starts: list[int],
    futures: list[pd.DatetimeIndex],
    quantiles: tuple[float, ...],
    columns: list[np.ndarray],
) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], bool]:
    """Fit at ``positions[0]``, update at the following cutoffs, forecast at each.

    ``history`` holds the rows up to the fold's last cutoff only; ``starts`` the first
    training row of each cutoff (used to fit, and to refit when ``update`` raises
    NotImplementedError); ``futures`` the timestamps (not the values) to forecast;
    ``columns`` the positions of the series fitted and forecast at each cutoff (those with
    enough observations in its training window). The model is fitted afresh, rather than
    updated, at a cutoff whose ``columns`` differ from the previous cutoff's; a cutoff
    without columns forecasts nothing.
    Returns, per cutoff, the column positions, the quantile array ``(n_steps, n_columns,
    n_quantiles)`` and the point forecast ``(n_steps, n_columns)``, and whether ``update``
    had to be replaced by refits.
    """
    refitted = False
    out = []
    model, fitted = None, None
    for i, (pos, future, cols) in enumerate(zip(positions, futures, columns, strict=True)):
        if len(cols) == 0:  # no series has started: nothing to fit or forecast
            model = None
            out.append(
                (cols, np.empty((len(future), 0, len(quantiles))), np.empty((len(future), 0)))
            )
            continue
        series = history.columns[cols]
        try:
            if model is None or not np.array_equal(cols, fitted):
                action = "fitting"
                model = clone(forecaster, safe=False)
                model.fit(history.iloc[starts[i] : pos + 1, cols])
                fitted = cols
            else:
                action = "updating"
                try:
                    model.update(history.iloc[positions[i - 1] + 1 : pos + 1, cols])
                except NotImplementedError:
                    refitted, action = True, "refitting"
                    model = clone(forecaster, safe=False)
                    model.fit(history.iloc[starts[i] : pos + 1, cols])
            action = "forecasting"
            if quantiles:
                pred = model.predict_quantiles(future, quantiles=quantiles)
                q_array = _extract_quantiles(pred, series, quantiles, future)
            else:  # a point forecaster: fit/predict only
                q_array = np.empty((len(future), len(series), 0))
            point = _point_forecast(model, future, series, q_array, quantiles)
        except Exception as exc:
            add_note(
                exc,
                f"tsnode.backtest: raised while {action} the forecaster at cutoff "
                f"{history.index[pos]} (training rows {starts[i]}..{pos}, series "
                f"{list(series)}).",
            )
            raise
        out.append((cols, q_array, point))
    return out, refitted


def _naive_scale(window: np.ndarray) -> np.ndarray:
    """Mean absolute one-step naive error per column of ``window`` (n_rows, n_series).

    NaNs are skipped (the naive forecast of an observation is the previous
    observation); NaN for a column with fewer than two observations.
    """
    scale = np.full(window.shape[1], np.nan)
    for j in range(window.shape[1]):
        observed = window[:, j][~np.isnan(window[:, j])]
        if observed.size >= 2:
            scale[j] = np.mean(np.abs(np.diff(observed)))
    return scale
