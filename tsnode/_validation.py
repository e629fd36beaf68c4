"""Input checks with friendly messages: pandas in, a clean wide float frame out.

Every forecaster funnels its input through :func:`to_wide_frame`; nothing downstream re-checks.
The output is a float64 wide frame (one column per series, columns a plain Index of ``str``)
on a sorted, unique :class:`pandas.DatetimeIndex` (time zone and name kept), with NaN meaning
"not observed". The input is never modified.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "PRICE_FIELDS",
    "check_coverage",
    "check_in_sample_index",
    "check_min_observations",
    "check_n_samples",
    "check_positive",
    "check_quantiles",
    "oversized_paths",
    "to_wide_frame",
]

#: Column names yfinance uses for its price fields (any layout).
PRICE_FIELDS: tuple[str, ...] = (
    "Open",
    "High",
    "Low",
    "Close",
    "Adj Close",
    "Volume",
    "Dividends",
    "Stock Splits",
    "Capital Gains",
    "Repaired?",
)
_MAX_SHOWN = 5


def _shown(values: Iterable[Any]) -> str:
    """First few items of ``values`` as a readable list, with a count of the rest."""
    values = list(values)
    head = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:_MAX_SHOWN])
    more = len(values) - _MAX_SHOWN
    return f"[{head}{f', ... ({more} more)' if more > 0 else ''}]"


# ---------------------------------------------------------------------------- layout detection
def _price_level(columns: pd.MultiIndex) -> int | None:
    """Position of the price-field level of yfinance MultiIndex columns, or None."""
    names = [str(n).lower() if n is not None else None for n in columns.names]
    if "price" in names:
        return names.index("price")
    for level in range(columns.nlevels):
        values = columns.get_level_values(level).unique()
        if len(values) and all(isinstance(v, str) and v in PRICE_FIELDS for v in values):
            return level
    return None


def _is_ohlcv(columns: pd.Index) -> bool:
    """Flat columns of a single-ticker yfinance frame (at least two price fields, nothing else)."""
    return len(columns) >= 2 and all(isinstance(c, str) and c in PRICE_FIELDS for c in columns)


def _check_target(target: Any, available: Iterable[Any]) -> None:
    available = list(dict.fromkeys(available))
    if not isinstance(target, str):
        raise TypeError(
            f"target must be a price field name (str), got {target!r} of type "
            f"{type(target).__name__}; use one of {_shown(available)}."
        )
    if target not in available:
        raise ValueError(
            f"target={target!r} is not a price field of this yfinance-style frame; available "
            f"fields are {_shown(available)}. Pass e.g. target={available[0]!r}"
            + (
                " (yfinance's auto_adjust=True drops 'Adj Close')."
                if target == "Adj Close"
                else "."
            )
        )


def _warn_unadjusted(
    y: pd.DataFrame, fields: pd.Index, target: str, stacklevel: int | None
) -> None:
    """Warn when ``target="Close"`` is taken from a frame whose ``Adj Close`` differs from it
    (``yf.download(auto_adjust=False)``): splits and dividends then show as price moves.
    ``stacklevel=None``: never warn."""
    if stacklevel is None or target != "Close" or "Adj Close" not in set(fields):
        return
    level = _price_level(y.columns) if isinstance(y.columns, pd.MultiIndex) else None
    if level is None:
        close, adjusted = y[["Close"]], y[["Adj Close"]]
    else:
        close, adjusted = y.xs("Close", axis=1, level=level), y.xs("Adj Close", axis=1, level=level)
        adjusted = adjusted.reindex(columns=close.columns)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = adjusted.to_numpy(dtype=np.float64) / close.to_numpy(dtype=np.float64)
    if np.nanmax(np.abs(ratio - 1.0), initial=0.0) > 1e-6:
        warnings.warn(
            "y has both 'Close' and 'Adj Close' (yfinance's auto_adjust=False) and they differ: "
            "target='Close' takes the price not adjusted for splits and dividends, so a split "
            "looks like a crash. Pass target='Adj Close' to forecast the adjusted price, or "
            "download with auto_adjust=True (yfinance's default).",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def _select_target(y: pd.DataFrame, target: str, name: str, stacklevel: int | None) -> pd.DataFrame:
    """Turn any supported DataFrame layout into a wide frame (one column per series)."""
    columns = y.columns
    if isinstance(columns, pd.MultiIndex):
        if columns.nlevels != 2:
            raise ValueError(
                f"y has MultiIndex columns with {columns.nlevels} levels {list(columns.names)}; "
                "expected a 2-level yfinance layout (Price x Ticker or Ticker x Price). Select "
                "one price field first, e.g. y.xs('Close', axis=1, level='Price')."
            )
        level = _price_level(columns)
        if level is None:
            raise ValueError(
                f"y has MultiIndex columns {list(columns.names)} but no level holds yfinance "
                f"price fields {_shown(PRICE_FIELDS)}; pass a wide frame with one column per "
                "series instead."
            )
        _check_target(target, columns.get_level_values(level))
        _warn_unadjusted(y, columns.get_level_values(level), target, stacklevel)
        wide = y.xs(target, axis=1, level=level)
        # yfinance sorts tickers in the Price x Ticker layout but not with group_by='ticker':
        # sorting makes both layouts give the same frame.
        return wide[sorted(wide.columns, key=str)]
    if _is_ohlcv(columns):
        _check_target(target, columns)
        _warn_unadjusted(y, columns, target, stacklevel)
        return y[[target]].set_axis([name], axis=1)
    titled = [c.title() if isinstance(c, str) else c for c in columns]
    if _is_ohlcv(pd.Index(titled)):  # open/high/low/close/volume from a database or broker
        raise ValueError(
            f"y's columns {_shown(list(columns))} look like the price fields of one ticker in "
            "another case, which would be fitted as separate series (volume included). Pick "
            f"the prices, e.g. y[[{columns[titled.index(target)] if target in titled else columns[0]!r}]], or rename them "
            "with y.rename(columns=str.title) to select target=... as with yfinance frames."
        )
    return y


def check_new_rows(y: Any) -> None:
    """Refuse an empty ``update`` (the general empty-frame message is about failed downloads)."""
    if isinstance(y, pd.Series | pd.DataFrame) and y.shape[0] == 0:
        raise ValueError(
            f"update got no rows (y has shape {y.shape}): with no new observations yet there is "
            "nothing to condition on; skip the call (e.g. if len(new): model.update(new))."
        )


# ---------------------------------------------------------------------------- main entry point
def to_wide_frame(
    y: pd.Series | pd.DataFrame,
    *,
    target: str = "Close",
    name: str = "y",
    allow_unobserved: bool = False,
    stacklevel: int = 2,
    warn_unadjusted: bool = True,
) -> pd.DataFrame:
    """Validate ``y`` and return it as a clean wide float64 frame.

    Parameters
    ----------
    y : Series or DataFrame
        One of

        * a ``pd.Series`` (one series, named ``y.name`` or ``name``);
        * a wide DataFrame, one column per series;
        * a ``yf.download`` frame with MultiIndex columns ``Price x Ticker`` or, with
          ``group_by='ticker'``, ``Ticker x Price`` (the output columns are the tickers, sorted);
        * a flat single-ticker OHLCV frame (``yf.download(..., multi_level_index=False)`` or
          ``yf.Ticker(t).history()``, tz-aware); the output column is ``name``.

        The index must be a :class:`pandas.DatetimeIndex`.
    target : str, default "Close"
        Price field taken from yfinance-style frames; ignored for Series and wide frames.
    name : str, default "y"
        Column name of an unnamed Series or of a single-ticker OHLCV frame.
    allow_unobserved : bool, default False
        Accept series that are entirely NaN (used when conditioning on a few new rows).
    stacklevel : int, default 2
        ``stacklevel`` of the warnings issued for unsorted timestamps and for an unadjusted
        ``target="Close"``.
    warn_unadjusted : bool, default True
        Warn when ``target="Close"`` is taken next to a differing ``Adj Close`` (False where
        the field was already chosen, e.g. trading what a backtest forecast).

    Returns
    -------
    DataFrame of shape (n_timestamps, n_series)
        float64 values, NaN = unobserved (nothing is filled); columns a plain Index of ``str``;
        index the input's DatetimeIndex (tz and name kept), sorted ascending and unique.

    Raises
    ------
    TypeError
        ``y`` is not a Series/DataFrame, its index is not a DatetimeIndex, or a column is not
        numeric (bool and complex count as non-numeric).
    ValueError
        Empty input, unknown ``target``, duplicate timestamps or column names, NaT timestamps,
        +-inf values or an entirely-NaN series.

    Warns
    -----
    UserWarning
        When the timestamps are not sorted: the frame is sorted (a copy) and processing goes on.
        When ``target="Close"`` is taken from a yfinance frame whose ``Adj Close`` differs
        from its ``Close`` (``auto_adjust=False``): the unadjusted price is used as asked.
    """
    if isinstance(y, pd.Series):
        col = y.name if y.name is not None else name
        frame = y.to_frame(name=str(col))
    elif isinstance(y, pd.DataFrame):
        frame = y
    else:
        raise TypeError(
            f"y must be a pandas Series or DataFrame with a DatetimeIndex, got "
            f"{type(y).__name__}. Wrap arrays as pd.Series(values, index=pd.DatetimeIndex(...))."
        )
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(
            f"y is empty (shape {frame.shape}); it needs at least one timestamp and one series. "
            "yfinance returns an empty frame when a download fails (offline, unknown ticker): "
            "check the ticker and the date range."
        )
    index = frame.index
    if isinstance(index, pd.PeriodIndex):
        raise TypeError(
            f"y must have a pandas DatetimeIndex, got a PeriodIndex (freq {index.freqstr}). "
            "Convert it with y.index = y.index.to_timestamp() (each period's start), or for "
            "daily or longer periods y.index.to_timestamp(how='end').normalize() (each "
            "period's last day), on a copy of y."
        )
    if isinstance(index, pd.MultiIndex):
        levels = [str(n) for n in index.names]
        raise TypeError(
            f"y has a row MultiIndex {levels} (long format, one row per date and series); "
            "tsnode takes one column per series on a DatetimeIndex. Pivot it first, e.g. "
            f"y.unstack({levels[-1]!r}) for a Series, or df[column].unstack({levels[-1]!r})."
        )
    if not isinstance(index, pd.DatetimeIndex) and isinstance(y, pd.Series):
        if isinstance(y.name, (pd.Timestamp, np.datetime64)):  # df.iloc[-1]: one row
            raise TypeError(
                f"y looks like one row of a frame (a Series named {y.name!r}, indexed by the "
                f"series {list(y.index[:3])}): pass it as a one-row frame, df.iloc[[-1]] "
                "(double brackets) or row.to_frame().T."
            )
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(
            f"y must have a pandas DatetimeIndex, got {type(index).__name__} (dtype "
            f"{index.dtype}). Convert it with y.index = pd.to_datetime(y.index) or move a date "
            "column into the index with y.set_index('Date')."
        )
    if index.hasnans:
        raise ValueError(
            f"y's index contains {int(index.isna().sum())} missing timestamps (NaT); drop those "
            "rows, e.g. y[y.index.notna()]."
        )
    frame = _select_target(frame, target, name, stacklevel + 1 if warn_unadjusted else None)

    labels = [str(c) for c in frame.columns]
    dup = pd.Index(labels)[pd.Index(labels).duplicated()].unique()
    if len(dup):
        raise ValueError(
            f"y has duplicate column (series) names {_shown(dup)}; series names must be unique. "
            "Rename or drop the duplicates, e.g. y.loc[:, ~y.columns.duplicated()]."
        )
    data = {}
    for label, (_, col) in zip(labels, frame.items(), strict=True):
        dtype = col.dtype
        if (
            not pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_complex_dtype(dtype)
        ):
            raise TypeError(
                f"column {label!r} has dtype {dtype}, expected a real numeric dtype (float or "
                "int). Convert it, e.g. pd.to_numeric(y[col], errors='coerce'), or drop it."
            )
        data[label] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.column_stack(list(data.values()))
    out = pd.DataFrame(values, index=index.copy(), columns=pd.Index(labels))

    if not out.index.is_unique:
        dups = out.index[out.index.duplicated()].unique()
        raise ValueError(
            f"y has {len(dups)} duplicate timestamps, e.g. {_shown(str(t) for t in dups)}; "
            "timestamps must be unique. Aggregate them (y.groupby(level=0).last()) or drop them "
            "(y[~y.index.duplicated(keep='last')])."
        )
    if not out.index.is_monotonic_increasing:
        warnings.warn(
            "y's timestamps are not sorted; tsnode sorted a copy by time (your data is not "
            "modified). Call y.sort_index() first to silence this warning.",
            UserWarning,
            stacklevel=stacklevel,
        )
        out = out.sort_index()
    inf = np.isinf(out.to_numpy())
    if inf.any():
        row, j = np.argwhere(inf)[0]
        raise ValueError(
            f"column {out.columns[j]!r} contains an infinite value at {out.index[row]}; replace "
            "+-inf with NaN (y.replace([np.inf, -np.inf], np.nan)) so it counts as unobserved."
        )
    if not allow_unobserved:
        empty = out.columns[out.isna().all().to_numpy()]
        if len(empty):
            raise ValueError(
                f"series {_shown(empty)} contain only NaN (no observation at all); drop them "
                "(a ticker that failed inside a yfinance download gives all-NaN columns)."
            )
    return out


# ---------------------------------------------------------------------------- other checks
def check_min_observations(frame: pd.DataFrame, minimum: int) -> None:
    """Raise ValueError if any series has fewer than ``minimum`` observed (non-NaN) values.

    Parameters
    ----------
    frame : DataFrame of shape (n_timestamps, n_series)
        A frame returned by :func:`to_wide_frame`.
    minimum : int
        Required number of observations per series.
    """
    counts = frame.notna().sum()
    short = counts[counts < minimum]
    if len(short):
        detail = ", ".join(f"{name!r} has {int(n)}" for name, n in short.items())
        raise ValueError(
            f"too few observations: {detail}; this forecaster needs at least {minimum} "
            "observed values per series. Provide a longer history or drop the short series."
        )


def check_positive(frame: pd.DataFrame) -> None:
    """Raise ValueError if an observed value is <= 0 (log-based models need prices > 0).

    Parameters
    ----------
    frame : DataFrame of shape (n_timestamps, n_series)
        A frame returned by :func:`to_wide_frame`; NaN is ignored.
    """
    values = frame.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = values <= 0
    if bad.any():
        for j in range(bad.shape[1]):
            rows = np.flatnonzero(bad[:, j])
            if rows.size:
                raise ValueError(
                    f"column {frame.columns[j]!r} has a non-positive value {float(values[rows[0], j])!r} "
                    f"at {frame.index[rows[0]]} ({rows.size} such values); this model works on "
                    "log prices and needs values > 0. Use prices (not returns) or a model "
                    "without a log transform."
                )


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_n_samples(n_samples: Any, *, name: str = "n_samples") -> int:
    """Validate a positive number of samples and return it as an int."""
    if not _is_int(n_samples):
        raise TypeError(
            f"{name} must be a positive int, got {n_samples!r} of type "
            f"{type(n_samples).__name__}; pass e.g. {name}=100."
        )
    if n_samples < 1:
        raise ValueError(f"{name} must be a positive int, got {n_samples}; pass e.g. {name}=100.")
    return int(n_samples)


def check_quantiles(quantiles: Any) -> tuple[float, ...]:
    """Validate quantile levels and return them sorted ascending.

    Parameters
    ----------
    quantiles : float or sequence of float
        Levels strictly between 0 and 1, without duplicates.

    Returns
    -------
    tuple of float of length n_quantiles, ascending.
    """
    if isinstance(quantiles, np.ndarray) and quantiles.ndim == 0:
        quantiles = quantiles[()]  # a 0-d array: its scalar
    if isinstance(quantiles, numbers.Real) and not isinstance(quantiles, (bool, np.bool_)):
        quantiles = (quantiles,)
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, Iterable):
        raise TypeError(
            f"quantiles must be a sequence of floats in (0, 1), got {quantiles!r}; pass e.g. "
            "quantiles=(0.1, 0.5, 0.9)."
        )
    levels = list(quantiles)
    if not levels:
        raise ValueError("quantiles is empty; pass at least one level, e.g. quantiles=(0.5,).")
    for q in levels:
        if not isinstance(q, numbers.Real) or isinstance(q, (bool, np.bool_)):
            raise TypeError(
                f"quantiles must contain floats in (0, 1), got {q!r} of type {type(q).__name__}."
            )
        if not 0.0 < float(q) < 1.0:
            raise ValueError(
                f"quantiles must lie strictly between 0 and 1, got {q!r}; e.g. use 0.05 for the "
                "5% quantile."
            )
    # float32 levels by their shortest repr (0.1, not 0.10000000149): usable column labels
    out = [float(str(q)) if isinstance(q, np.float16 | np.float32) else float(q) for q in levels]
    if len(set(out)) != len(out):
        dups = sorted({q for q in out if out.count(q) > 1})
        raise ValueError(f"quantiles contains duplicates {dups}; pass each level once.")
    return tuple(sorted(out))


def check_coverage(coverage: Any) -> float:
    """Validate an interval coverage strictly between 0 and 1 and return it as a float."""
    if not isinstance(coverage, numbers.Real) or isinstance(coverage, (bool, np.bool_)):
        raise TypeError(
            f"coverage must be a float in (0, 1), got {coverage!r} of type "
            f"{type(coverage).__name__}; pass e.g. coverage=0.9."
        )
    if not 0.0 < float(coverage) < 1.0:
        raise ValueError(
            f"coverage must lie strictly between 0 and 1, got {coverage!r}; pass e.g. "
            "coverage=0.9 for a 90% interval."
        )
    return float(coverage)


def check_in_sample_index(index: Any, fitted: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Validate timestamps inside the fitted span ``[fitted[0], fitted[-1]]`` (e.g. for
    ``reconstruct``): a non-empty DatetimeIndex with the fitted data's time-zone awareness.

    Raises ``TypeError`` for another type and ``ValueError`` for an empty, unsorted or
    duplicated index, NaT, a tz mismatch or a timestamp outside the span (later times are forecasts: ``predict``).
    A tz-aware ``index`` comes back converted to the fitted data's time zone.
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise TypeError(
            f"index must be a pandas DatetimeIndex or None, got {type(index).__name__}."
        )
    if len(index) == 0:
        raise ValueError("index is empty; pass at least one in-sample timestamp, or None.")
    if index.hasnans:
        raise ValueError(
            f"index holds {int(index.isna().sum())} NaT value(s); pass real timestamps, e.g. "
            "index.dropna()."
        )
    if (index.tz is None) != (fitted.tz is None):
        raise ValueError(
            f"index tz ({index.tz}) does not match the fitted data's tz ({fitted.tz})."
        )
    outside = index[(index < fitted[0]) | (index > fitted[-1])]
    if len(outside):
        raise ValueError(
            f"index has timestamps outside the fitted span {fitted[0]} .. {fitted[-1]}, e.g. "
            f"{outside[0]}; reconstruct fills in-sample values only: use predict(horizon) for "
            "later times."
        )
    if not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError(
            "index must be sorted and free of duplicates; pass index.sort_values().unique()."
        )
    # the same instants in the fitted data's time zone, as predict does for its horizon
    return index.tz_convert(fitted.tz) if index.tz is not None else index


def oversized_paths(n_samples: int, n_steps: int, n_series: int, limit: int) -> str:
    """``"N sample paths of H steps x S series need X GiB (at most L GiB)"`` when their
    float64 array exceeds ``limit`` bytes, else ``""`` (sample and quantile size checks)."""
    size = n_samples * n_steps * n_series * 8
    if size <= limit:
        return ""
    return (
        f"{n_samples} sample paths of {n_steps} steps x {n_series} series need "
        f"{size / 2**30:.1f} GiB (at most {limit / 2**30:.0f} GiB)"
    )
