"""Inputs of :mod:`tsnode.plotting` (private): the history to draw, dates written as text.

Forecasters convert what ``fit`` receives with :func:`tsnode._validation.to_wide_frame` and
name their series ``str(column)``; the fan chart finds the history of each forecast series the
same way. :func:`_as_dates` reads back the dates of a table saved with ``to_csv``. This module
never imports torch or matplotlib.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from tsnode._validation import _is_ohlcv, to_wide_frame


def _history_frame(history: Any, target: Any) -> pd.DataFrame:
    """``history`` as a frame with one column per series, named as forecasters name them.

    Parameters
    ----------
    history : DataFrame or Series
        A Series (named ``history.name``, or ``"y"``), a wide frame (returned as is), or a
        yfinance frame that ``fit`` accepts: ``yf.download`` MultiIndex columns (either level
        order; one column per ticker) or flat single-ticker OHLCV columns (one column ``"y"``).
    target : str
        Price field taken from yfinance frames (ignored otherwise, but checked to be a str).

    Returns
    -------
    DataFrame
        The input itself for a wide frame, else a new frame; ``history`` is never modified.

    Raises
    ------
    TypeError
        ``history`` is not a Series/DataFrame, ``target`` is not a str, or a yfinance frame
        has no DatetimeIndex or non-numeric prices.
    ValueError
        A yfinance frame without the ``target`` field, or that ``fit`` refuses otherwise.
    """
    if not isinstance(target, str):
        raise TypeError(
            f"`target` must be a price field name (str), got {target!r} of type "
            f"{type(target).__name__}; pass the forecaster's target, e.g. target='Close'."
        )
    if isinstance(history, pd.Series):
        return history.to_frame(name=history.name if history.name is not None else "y")
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"`history` must be a DataFrame or Series, got {type(history).__name__}.")
    if not (isinstance(history.columns, pd.MultiIndex) or _is_ohlcv(history.columns)):
        return history
    try:  # a yfinance layout: the target field, exactly as the forecaster saw it
        return to_wide_frame(
            history, target=target, allow_unobserved=True, stacklevel=4, warn_unadjusted=False
        )
    except (TypeError, ValueError) as err:
        raise type(err)(
            f"`history` (a yfinance-style frame, converted as forecaster.fit does): {err}"
        ) from err


def _history_columns(history: pd.DataFrame, names: Sequence[Any]) -> list[Any]:
    """The column of ``history`` of each forecast series, matched by ``str`` name (None where
    ``history`` has none: that forecast is drawn without history, with a warning).

    Forecasters name their series ``str(column)``, so the history column ``0`` is the
    forecast series ``"0"``.
    """
    by_label: dict[str, list[Any]] = {}
    for column in history.columns:
        by_label.setdefault(str(column), []).append(column)
    missing = [name for name in names if str(name) not in by_label]
    if missing and len(history.columns):
        warnings.warn(
            f"`history` has no column for the forecast series {missing!r} (matched by their "
            f"str() name; its columns are {list(history.columns)!r}): they are drawn without "
            "history. Pass the history the forecaster was fitted on, or the yfinance frame it "
            "was fitted on with the same `target`.",
            UserWarning,
            stacklevel=3,  # user -> plot_forecast -> _history_columns
        )
    columns = []
    for name in names:
        found = by_label.get(str(name), [None])
        if len(found) > 1:
            raise ValueError(
                f"`history` has several columns {found!r} named {str(name)!r} once converted "
                f"to str, so the forecast series {name!r} is ambiguous; rename or drop one."
            )
        columns.append(found[0])
    return columns


def _as_dates(values: pd.Series | pd.Index, name: str) -> pd.Series | pd.Index:
    """Text dates (a table or Series read back with ``pd.read_csv``) as datetimes.

    matplotlib would draw text on a category axis: one tick per distinct string, in the
    order met. Values that are not text (dates, numbers) are returned unchanged. ISO dates
    with mixed UTC offsets (a tz-aware table written across a daylight-saving change) are
    read in UTC. A ValueError names ``name`` for text that is not ISO dates.
    """
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for utc in (False, True):
            try:
                dates = pd.to_datetime(values, format="ISO8601", utc=utc)
            except (TypeError, ValueError) as exc:
                error = exc
                continue
            # pandas < 3 reads mixed UTC offsets as objects (with a FutureWarning), not dates
            if pd.api.types.is_datetime64_any_dtype(dates):
                return dates
            error = ValueError("mixed UTC offsets")
    example = next((v for v in values if isinstance(v, str)), values[0] if len(values) else None)
    raise ValueError(
        f"{name} must be dates, got {type(example).__name__} values such as {example!r} that "
        f"are not ISO dates ({' '.join(str(error).split()[:12])}); convert them with "
        "pd.to_datetime(...), or read the CSV with parse_dates=[...]."
    )
