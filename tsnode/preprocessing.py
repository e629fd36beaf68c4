"""Invertible, NaN-tolerant, per-series scalers (scikit-learn compatible).

Prices are positive and move multiplicatively, so models train best on standardised *log*
prices, and every transform must be invertible so that forecasts come back in price units.

* :class:`LogScaler` -- log of positive values, then per-column standardisation.
* :class:`SeriesScaler` -- any scikit-learn transformer (``RobustScaler``, ``PowerTransformer``,
  a ``Pipeline``...) fitted on each column separately (one clone per column).
* :func:`check_monotone` -- numerical check that a fitted transformer is strictly increasing
  in every column.

Both scalers follow scikit-learn's conventions: they work in a ``Pipeline``, with ``clone`` and
``set_output``; NaN marks an unobserved value and passes through (ignored when fitting, kept as
NaN in the output), like scikit-learn's own scalers. A pandas ``DataFrame`` in gives a
``DataFrame`` out with the same index and columns (for ``transform`` and
``inverse_transform``); a numpy array in gives a numpy array out (unless
``set_output(transform="pandas")`` asks for a DataFrame). Floats are always float64.

Columns that are entirely NaN at fit time raise a ``ValueError`` naming the column: there is
nothing to learn a scale from, and such a column almost always means a wrong ticker or a
wrong date range. (scikit-learn's estimator checks never fit on an all-NaN column, so this
choice is compatible with them.)

Quantiles and monotonicity
--------------------------
Mapping *quantiles* (rather than sample paths) back to price units column by column with
``inverse_transform`` is valid only for strictly increasing transforms: if ``g`` is strictly
increasing, the ``q``-quantile of ``g(Z)`` is ``g`` of the ``q``-quantile of ``Z``. For a
decreasing or non-monotone transform (e.g. ``x**2`` on data crossing zero) it is wrong, which
is why forecasters must call :func:`check_monotone` and refuse such a transformer before
transforming quantiles. Transforming posterior *samples* first and taking quantiles afterwards
is exact for any transform. :class:`LogScaler`, ``StandardScaler``, ``RobustScaler``,
``MinMaxScaler`` and ``PowerTransformer`` are strictly increasing.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils._tags import Tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from tsnode._columnwise import _column_label, _ColumnwiseScaler, _like_input

__all__ = ["LogScaler", "SeriesScaler", "check_monotone"]


class LogScaler(_ColumnwiseScaler):
    """Log of positive values, then per-column standardisation (exactly invertible).

    ``transform(X) = (log(X + offset) - mean_) / scale_`` and ``inverse_transform(Z) =
    exp(Z * scale_ + mean_) - offset``, column by column. NaN is ignored when fitting and kept as NaN in the output.

    Parameters
    ----------
    standardize : bool, default True
        Standardise the log values with the per-column mean and (population) standard
        deviation of the fitted data. If False, the output is the plain log
        (``mean_ = 0``, ``scale_ = 1``).
    offset : float, default 0.0
        Non-negative constant added before the log: ``log(X + offset)``, undone by
        ``inverse_transform``. With the default 0, values must be strictly positive (prices);
        with ``offset > 0`` zeros are allowed too (e.g. ``offset=1`` for trading volumes).
        Negative values are always rejected.
    scale_by : {"level", "volatility"}, default "level"
        What ``scale_`` measures when standardising. ``"level"``: the standard deviation of
        the log values (so the output has unit variance). ``"volatility"``: the annualised
        volatility of the log changes between consecutive observations. With a DataFrame on a
        DatetimeIndex, time is elapsed calendar days (the clock of tsnode's models): a change
        over ``dt`` days is centred on ``dt`` times the mean daily drift, divided by
        ``sqrt(dt)``, and the per-day variance is annualised with 365.25 days; otherwise (an
        array) the unit is one row and a year is 252 rows. Missing rows and NaN rows give the
        same scale. With it, a scaled unit is the same amount of risk for every column,
        whatever the length of its history or the range its price covered. With two
        observations the one change is the estimate (no drift is removed); with one, the
        scale is 1. The DatetimeIndex must be sorted and unique (ValueError otherwise).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the log values per column (0 when ``standardize=False``).
    scale_ : ndarray of shape (n_features,)
        Standard deviation of the log values per column (``scale_by="level"``) or the
        annualised volatility of their changes (``"volatility"``); 1 for a constant column (like
        ``StandardScaler``) or one without volatility (steady growth: only rounding noise
        remains), and when ``standardize=False``.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,), dtype object
        Column names seen in ``fit`` (only when ``X`` was a DataFrame with string columns).

    Raises
    ------
    ValueError
        In ``fit``/``transform`` on non-positive values (the message names the column and the
        first bad row: the index label for a DataFrame, the row number for an array), in
        ``fit`` on a column that is entirely NaN, and with ``scale_by="volatility"`` in ``fit``
        on a DataFrame whose DatetimeIndex is unsorted or has duplicates.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 10.0], [np.e, np.nan], [np.e**2, 1000.0]])
    >>> scaler = LogScaler().fit(X)
    >>> np.allclose(scaler.inverse_transform(scaler.transform(X)), X, equal_nan=True)
    True
    """

    def __init__(
        self, *, standardize: bool = True, offset: float = 0.0, scale_by: str = "level"
    ) -> None:
        self.standardize = standardize
        self.offset = offset
        self.scale_by = scale_by

    def _check_params(self) -> None:
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(
                f"LogScaler: standardize must be True or False, got {self.standardize!r} "
                f"(type {type(self.standardize).__name__})."
            )
        offset = self.offset
        wrong_type = isinstance(offset, (bool, np.bool_)) or not isinstance(offset, numbers.Real)
        if wrong_type or not np.isfinite(offset) or offset < 0:
            raise (TypeError if wrong_type else ValueError)(
                f"LogScaler: offset must be a finite number >= 0, got {offset!r}. Use 0 for "
                "prices, or e.g. 1.0 for data with zeros such as volumes."
            )
        if not isinstance(self.scale_by, str) or self.scale_by not in ("level", "volatility"):
            raise (ValueError if isinstance(self.scale_by, str) else TypeError)(
                f"LogScaler: scale_by must be 'level' or 'volatility', got {self.scale_by!r}."
            )

    def _log(self, values: np.ndarray, X: Any, method: str) -> np.ndarray:
        """``log(values + offset)`` after checking the domain; ``X`` is the user's input."""
        # NaN compares False, so it passes through.
        bad = values < 0 if self.offset > 0 else values <= 0
        if bad.any():
            j = int(np.flatnonzero(bad.any(axis=0))[0])
            i = int(np.flatnonzero(bad[:, j])[0])
            value = values[i, j]
            if isinstance(X, pd.DataFrame):
                where = f"column {X.columns[j]!r} at index {X.index[i]} (row {i})"
            else:
                where = f"column {j} at row {i}"
            n_other = int(bad.sum()) - 1
            kind = "Negative values in data" if value < 0 else "Zero values in data"
            raise ValueError(
                f"LogScaler.{method}: {kind}: {where} has value {float(value)!r}"
                + (f" ({n_other} more such value(s) in X)" if n_other else "")
                + ". The log transform needs strictly positive values such as prices; remove or "
                "fix these rows, set offset > 0 (e.g. LogScaler(offset=1.0)) for data with "
                "zeros, or use SeriesScaler(...) for data that can be negative."
            )
        if not self.offset:
            return np.log(values)
        small = np.log(self.offset) + np.log1p(np.minimum(values, self.offset) / self.offset)
        return np.where(values < self.offset, small, np.log(values + self.offset))  # x << c

    def fit(self, X: Any, y: Any = None) -> LogScaler:
        """Learn the per-column mean and scale of ``log(X)`` (see ``scale_by``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Strictly positive values (non-negative if ``offset > 0``); NaN marks a missing
            observation.
        y : None
            Ignored.

        Returns
        -------
        self : LogScaler
        """
        self._check_params()
        values = self._validate_fit(X)
        logs = self._log(values, X, "fit")
        n_features = values.shape[1]
        if self.standardize:
            mean = np.nanmean(logs, axis=0)
            scale = np.nanstd(logs, axis=0)
            if self.scale_by == "volatility":
                days = _elapsed_days(X)
                scale = np.array(
                    [_volatility(logs[:, j], days, fallback=scale[j]) for j in range(n_features)]
                )
            # Constant columns (std 0 up to rounding) get scale 1, like StandardScaler.
            tiny = scale <= 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1.0)
            scale[tiny] = 1.0
        else:
            mean = np.zeros(n_features)
            scale = np.ones(n_features)
        self.mean_ = mean.astype(np.float64)
        self.scale_ = scale.astype(np.float64)
        return self

    def transform(self, X: Any) -> np.ndarray | pd.DataFrame:
        """Map positive values to standardised log values.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        X_scaled : DataFrame (same index and columns) or ndarray of shape (n_samples, n_features)
            float64; NaN where ``X`` is NaN.
        """
        values = self._validate_transform(X, "transform")
        logs = self._log(values, X, "transform")
        return _like_input((logs - self.mean_) / self.scale_, X)

    def inverse_transform(self, X: Any) -> np.ndarray | pd.DataFrame:
        """Map standardised log values back to the original (price) units.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Values in scaled units.

        Returns
        -------
        X_original : DataFrame (same index and columns) or ndarray of shape (n_samples, n_features)
            float64, greater than ``-offset``; NaN where ``X`` is NaN.
        """
        values = self._validate_transform(X, "inverse_transform")
        logged = values * self.scale_ + self.mean_
        original = np.exp(logged)
        if self.offset:  # exp(z) - c, as c * expm1(z - log c) where x < c (precise for x << c)
            small = self.offset * np.expm1(np.minimum(logged - np.log(self.offset), 1.0))
            original = np.where(logged < np.log(2 * self.offset), small, original - self.offset)
        return _like_input(original, X)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


def _elapsed_days(X: Any) -> np.ndarray | None:
    """Calendar days since the first row of a DataFrame on a DatetimeIndex, else None."""
    index = getattr(X, "index", None)
    if not (isinstance(X, pd.DataFrame) and isinstance(index, pd.DatetimeIndex)):
        return None
    if not (index.is_monotonic_increasing and index.is_unique) or index.hasnans:
        raise ValueError(
            "LogScaler(scale_by='volatility').fit: X's DatetimeIndex must be sorted, unique and "
            "free of NaT (changes are measured over the time between rows); got an index that "
            "is not. Pass X.sort_index() without duplicate timestamps, or X.to_numpy() to "
            "measure time in rows."
        )
    return np.asarray((index - index[0]) / pd.Timedelta(days=1), dtype=np.float64)


def _volatility(logs: np.ndarray, days: np.ndarray | None, *, fallback: float) -> float:
    """Annualised volatility of ``logs`` (n_rows,) between observations (NaN rows skipped).

    A change over ``dt`` time units (calendar days from ``days``; rows when ``days`` is
    None) is centred on ``dt`` times the mean drift per unit and divided by ``sqrt(dt)``;
    the variance per unit is annualised with 365.25 days or 252 rows. With two observations
    no drift is removed; ``fallback`` (the level's std, 0) with one.
    """
    rows = np.flatnonzero(~np.isnan(logs))
    if rows.size < 2:
        return float(fallback)
    change = np.diff(logs[rows])
    if days is None:
        gap, per_year = np.diff(rows).astype(np.float64), 252.0
    else:
        gap, per_year = np.diff(days[rows]), 365.25
    # one change leaves no residual around its own drift: its size is the estimate
    drift = change.sum() / gap.sum() if rows.size > 2 else 0.0
    resid = change - drift * gap
    # rounding noise of a series without volatility (steady growth) is no volatility: per
    # hour it would annualise to ~1e-14 and scale values to 1e10 (fit maps 0 to a scale of 1)
    if np.sqrt(np.mean(resid**2)) <= 10 * np.finfo(np.float64).eps * max(
        float(np.abs(logs[rows]).max()), 1.0
    ):
        return 0.0
    return float(np.sqrt(per_year * np.mean(resid**2 / gap)))


def _inner_has(name: str) -> Callable[[SeriesScaler], bool]:
    def check(self: SeriesScaler) -> bool:
        inner = self.transformers_[0] if hasattr(self, "transformers_") else self._template()
        return hasattr(inner, name)

    return check


class SeriesScaler(_ColumnwiseScaler):
    """Apply any scikit-learn transformer to each column independently, NaN-tolerant.

    Each column gets its own clone of ``transformer``, fitted on that column's observed
    (non-NaN) values as an array of shape ``(n_observed, 1)``. NaN rows pass through. This is
    how a user plugs ``RobustScaler``, ``PowerTransformer``, a ``Pipeline``... into a
    forecaster.

    Parameters
    ----------
    transformer : scikit-learn transformer, default None
        Unfitted transformer mapping one column to one column (``StandardScaler()`` when
        None). It needs ``inverse_transform`` for forecasts to come back in original units.

    Attributes
    ----------
    transformers_ : list of length n_features
        The fitted clone of ``transformer`` of each column.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features,), dtype object
        Column names seen in ``fit`` (only when ``X`` was a DataFrame with string columns).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import RobustScaler
    >>> X = np.array([[1.0, 5.0], [2.0, np.nan], [4.0, 7.0]])
    >>> scaler = SeriesScaler(RobustScaler()).fit(X)
    >>> np.allclose(scaler.inverse_transform(scaler.transform(X)), X, equal_nan=True)
    True
    """

    def __init__(self, transformer: Any = None) -> None:
        self.transformer = transformer

    def _template(self) -> Any:
        if self.transformer is None:
            return StandardScaler()
        if isinstance(self.transformer, type):
            name = self.transformer.__name__
            raise TypeError(
                f"SeriesScaler: transformer must be a transformer instance, got the class "
                f"{name}; pass {name}() (with parentheses)."
            )
        if not (hasattr(self.transformer, "fit") and hasattr(self.transformer, "transform")):
            raise TypeError(
                "SeriesScaler: transformer must be a scikit-learn transformer with fit and "
                f"transform methods (e.g. RobustScaler()), got {self.transformer!r} of type "
                f"{type(self.transformer).__name__}."
            )
        return self.transformer

    def _apply(self, values: np.ndarray, method: str) -> np.ndarray:
        out = np.full(values.shape, np.nan, dtype=np.float64)
        for j, inner in enumerate(self.transformers_):
            observed = ~np.isnan(values[:, j])
            if observed.any():
                column = values[observed, j].reshape(-1, 1)
                with self._naming_column(j, method):
                    result = getattr(inner, method)(column)
                out[observed, j] = self._one_column(result, j, method)
        return out

    @contextlib.contextmanager
    def _naming_column(self, j: int, method: str) -> Iterator[None]:
        """Name the column in the transformer's errors: it sees one column of observed values,
        so its own message says "column 0" and counts rows within that column."""
        try:
            yield
        except ValueError as error:
            raise ValueError(
                f"SeriesScaler.{method}: {_column_label(self, j)} (the transformer sees only "
                f"its observed values, as column 0): {error}"
            ) from error

    def _one_column(self, result: Any, j: int, method: str) -> np.ndarray:
        if hasattr(result, "toarray"):  # sparse output
            result = result.toarray()
        result = np.asarray(result, dtype=np.float64)
        if result.ndim == 1:
            result = result.reshape(-1, 1)
        if result.ndim != 2 or result.shape[1] != 1:
            raise ValueError(
                f"SeriesScaler: transformer.{method} must map one column to one column, but for "
                f"{_column_label(self, j)} it returned shape {result.shape}. Use a one-to-one "
                "transformer such as StandardScaler, RobustScaler or PowerTransformer."
            )
        return result[:, 0]

    def fit(self, X: Any, y: Any = None) -> SeriesScaler:
        """Fit one clone of ``transformer`` per column on its non-NaN values.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            NaN marks a missing observation.
        y : None
            Ignored.

        Returns
        -------
        self : SeriesScaler
        """
        template = self._template()
        values = self._validate_fit(X)
        fitted = []
        for j in range(values.shape[1]):
            column = values[~np.isnan(values[:, j]), j].reshape(-1, 1)
            with self._naming_column(j, "fit"):
                inner = clone(template).fit(column)
            self._one_column(inner.transform(column[:1]), j, "transform")
            fitted.append(inner)
        self.transformers_ = fitted
        return self

    def transform(self, X: Any) -> np.ndarray | pd.DataFrame:
        """Transform each column with its own fitted transformer.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        X_scaled : DataFrame (same index and columns) or ndarray of shape (n_samples, n_features)
            float64; NaN where ``X`` is NaN.
        """
        values = self._validate_transform(X, "transform")
        return _like_input(self._apply(values, "transform"), X)

    @available_if(_inner_has("inverse_transform"))
    def inverse_transform(self, X: Any) -> np.ndarray | pd.DataFrame:
        """Map scaled values back to original units, column by column.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Values in scaled units.

        Returns
        -------
        X_original : DataFrame (same index and columns) or ndarray of shape (n_samples, n_features)
            float64; NaN where ``X`` is NaN.
        """
        values = self._validate_transform(X, "inverse_transform")
        return _like_input(self._apply(values, "inverse_transform"), X)

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        try:
            inner = get_tags(self._template())
        except TypeError:  # invalid transformer: reported by fit with a clear message
            return tags
        tags.input_tags.positive_only = inner.input_tags.positive_only
        return tags


def check_monotone(transformer: Any, X: Any, *, n_grid: int = 64) -> bool:
    """Numerically check that a fitted transformer is strictly increasing in every column.

    For each column, a grid of ``n_grid`` points spans the observed range of ``X`` extended by
    5% of that range on each side (never across zero: a positive column stays positive, so
    log-like transforms can be checked), the grid is transformed, and the result must be
    finite and strictly increasing. Use it before mapping forecast *quantiles* back to original
    units with ``inverse_transform``, which is only valid for increasing transforms.

    Parameters
    ----------
    transformer : fitted scikit-learn transformer
        One-to-one transformer fitted on data like ``X`` (same columns), e.g. a fitted
        :class:`LogScaler` or :class:`SeriesScaler`.
    X : DataFrame or array-like of shape (n_samples, n_features)
        The data the transformer was fitted on (wide frame, NaN allowed); only its per-column
        range is used.
    n_grid : int, default 64
        Number of grid points per column (at least 2).

    Returns
    -------
    bool
        True if every column's transform is strictly increasing on the grid. Decreasing
        transforms, non-monotone ones and transforms that are flat beyond the fitted range
        (e.g. ``QuantileTransformer``) give False.

    Raises
    ------
    ValueError
        If ``n_grid`` < 2, ``X`` is not 2-D, a column of ``X`` has no finite value, or the
        transformer does not return one column per input column.
    """
    wrong_type = isinstance(n_grid, bool) or not isinstance(n_grid, numbers.Integral)
    if wrong_type or n_grid < 2:
        raise (TypeError if wrong_type else ValueError)(
            f"check_monotone: n_grid must be an integer >= 2, got {n_grid!r}."
        )
    check_is_fitted(transformer)
    frame = X.to_frame() if isinstance(X, pd.Series) else X
    if isinstance(frame, pd.DataFrame):  # nullable dtypes: pd.NA as NaN
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.asarray(frame, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(
            f"check_monotone: X must be 2-D (n_samples, n_features), got shape {values.shape}."
        )
    finite = np.where(np.isfinite(values), values, np.nan)
    empty = np.flatnonzero(np.isnan(finite).all(axis=0))
    if empty.size:
        j = int(empty[0])
        label = frame.columns[j] if isinstance(frame, pd.DataFrame) else j
        raise ValueError(
            f"check_monotone: column {label!r} of X has no finite value, so its range is "
            "unknown. Pass the data the transformer was fitted on."
        )
    low, high = np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)
    span = high - low
    # a range under 0.1% of the values (a series flat up to rounding) is widened to that, so
    # the grid's steps stay above rounding in the transformed values
    reach = np.maximum(span, 1e-3 * np.maximum(np.abs(high), np.abs(low)))
    margin = 0.05 * np.where(reach > 0, reach, 1.0)
    lower = np.where(low > 0, np.maximum(low - margin, low / 2), low - margin)
    lower = np.where(low == 0, 0.0, lower)
    upper = np.where(high < 0, np.minimum(high + margin, high / 2), high + margin)
    upper = np.where((high == 0) & (low < 0), 0.0, upper)  # all zeros: up to the margin
    grid = np.linspace(lower, upper, n_grid)  # (n_grid, n_features)
    if isinstance(frame, pd.DataFrame):
        grid = pd.DataFrame(grid, columns=frame.columns)
    out = transformer.transform(grid)
    if hasattr(out, "toarray"):
        out = out.toarray()
    out = np.asarray(out, dtype=np.float64)
    if out.shape != (n_grid, values.shape[1]):
        raise ValueError(
            f"check_monotone: the transformer returned shape {out.shape} for a grid of shape "
            f"{(n_grid, values.shape[1])}; only one-to-one (per-column) transformers can be "
            "checked."
        )
    return bool(np.isfinite(out).all() and (np.diff(out, axis=0) > 0).all())
