"""`BaseForecaster`: the public API shared by every tsnode forecaster.

Public methods validate and convert (pandas in, pandas out); subclasses implement private hooks
on clean inputs:

====================================  ==========================================================
public                                private hook
====================================  ==========================================================
``fit(y)``                            ``_fit(frame)``
``predict_quantiles(horizon, q)``     ``_predict_quantiles(index, quantiles)`` -> (H, N, Q)
``sample(horizon, n_samples)``        ``_sample(index, n_samples)`` -> (S, H, N)
``update(y)``                         ``_update(frame)``
====================================  ==========================================================

``predict`` (the median) and ``predict_interval`` are derived from the quantiles; the default
``_predict_quantiles`` takes empirical quantiles of ``_sample``.

Subclasses store their own parameters in ``__init__`` (scikit-learn style), including
``target="Close"``, ``calendar="XNYS"`` and ``random_state=None``; the base class reads them with
those defaults.
"""

from __future__ import annotations

import copy
import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import exchange_calendars as xcals
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from tsnode._validation import (
    check_coverage,
    check_in_sample_index,
    check_min_observations,
    check_n_samples,
    check_new_rows,
    check_quantiles,
    oversized_paths,
    to_wide_frame,
)
from tsnode._warnings import user_stacklevel
from tsnode.calendar import future_index

_SelfT = TypeVar("_SelfT", bound="BaseForecaster")  # fit/update return the subclass
_MAX_SAMPLE_BYTES = 8 * 2**30  # the largest float64 sample array one sample() call returns
# Posterior draws held at once by reconstruct (40 MB of float64); it works in blocks beyond.
_MAX_RECONSTRUCT_DRAWS = 5_000_000

# Parameters every forecaster reads afresh at each call (a change after fit applies alike to the
# fitted model and a saved copy). Every other one is frozen by fit: it shaped the network, scaler
# or training, or (target) picked the field the history holds, see BaseForecaster._changed_params.
_LIVE_PARAMS = frozenset(
    {
        "calendar",
        "context_length",
        "n_jobs",
        "n_predict_samples",
        "num_threads",
        "progress",
        "random_state",
    }
)


def _at_midnight(index: pd.DatetimeIndex) -> bool:
    """Whether every timestamp of ``index`` is at midnight (daily bars) on its own clock."""
    return bool(len(index)) and bool((index == index.normalize()).all())


def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    # a calendar object and its name are the same calendar (saves need it), a device its str
    a, b = (getattr(v, "name", v) if isinstance(v, xcals.ExchangeCalendar) else v for v in (a, b))
    a, b = (str(v) if type(v).__name__ == "device" and hasattr(v, "type") else v for v in (a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays, whose == is elementwise
        return False


def _param_snapshot(estimator: BaseEstimator) -> dict[str, Any]:
    """The frozen parameters of ``estimator``, nested ones included (``estimator__epochs``).

    A nested estimator is recorded by its class (its parameters are separate keys), also inside
    a list or tuple such as a Pipeline's ``steps``. A ``None`` that stands for a default object
    is recorded as that default (``_with_defaults``), so setting the default explicitly is no
    change. Only the estimator's own live parameters (``_live_params``) are left out: a nested
    estimator's are frozen too, as an ensemble's members keep their fit-time copies.
    """
    live = getattr(estimator, "_live_params", _LIVE_PARAMS)
    resolved = estimator._with_defaults() if hasattr(estimator, "_with_defaults") else estimator
    return {
        key: _by_class(value)
        for key, value in resolved.get_params(deep=True).items()
        if key not in live
    }


def _by_class(value: Any) -> Any:
    """``value`` with every estimator in it (also in lists and tuples) replaced by its class."""
    if hasattr(value, "get_params"):
        return type(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_by_class(v) for v in value)
    return value


__all__ = ["BaseForecaster"]


class BaseForecaster(BaseEstimator):
    """Shared public API of all tsnode forecasters (see ``docs/architecture.md``).

    Not used directly: subclass it and implement ``_fit`` and ``_sample`` (and optionally
    ``_predict_quantiles``, ``_update`` and ``_min_observations``).

    Attributes set by :meth:`fit`
    -----------------------------
    columns_ : Index of str, shape (n_series,)
        Series names.
    index_ : DatetimeIndex, shape (n_timestamps,)
        Fitted (and updated) timestamps.
    last_timestamp_ : Timestamp
        Last fitted (or updated) timestamp; forecasts start strictly after it.
    n_series_ : int
        Number of series.
    y_ : DataFrame, shape (n_timestamps, n_series)
        The validated training frame (a copy), extended by :meth:`update`.
    series_last_timestamp_ : Series of Timestamp, shape (n_series,)
        Last observed (non-NaN) timestamp of each series.

    Notes
    -----
    Randomness comes from :meth:`_rng`: with an int ``random_state`` every ``predict*`` and
    ``sample`` call starts from the same seed, so repeating a call gives identical output.
    """

    # Parameters read afresh at every call (see _LIVE_PARAMS); a subclass whose fitted state
    # depends on one of them (Naive/Drift on ``calendar``) leaves it out.
    _live_params: frozenset[str] = _LIVE_PARAMS

    def _with_defaults(self) -> BaseForecaster:
        """Itself, or a copy whose ``None`` parameters that stand for a default object (a
        scaler, an ensemble's template) hold that object: the frozen-parameter snapshot."""
        return self

    def _with_default(self, name: str, default: Callable[[], Any]) -> BaseForecaster:
        """Itself if parameter ``name`` is set, else a copy holding ``default()`` for it."""
        if getattr(self, name) is not None:
            return self
        resolved = copy.copy(self)  # shares the other parameters: a Generator stays the same
        setattr(resolved, name, default())
        return resolved

    def _check_live_params(self) -> None:
        """Validate only the live parameters (``_live_params``) of a fitted model.

        Frozen ones keep their fit-time values, so a bad value set after fit only warns (see
        :meth:`_warn_changed_params`): they are checked on a default-constructed copy.
        """
        live = {k: v for k, v in self.get_params(deep=False).items() if k in self._live_params}
        try:
            probe = type(self)(**live)
        except TypeError:  # a subclass with required arguments: check every parameter
            probe = self
        probe._check_params()

    # ------------------------------------------------------------------ hooks (override)
    def _min_observations(self) -> int:
        """Observed values each series needs for :meth:`fit` (default 2)."""
        return 2

    def _n_quantile_samples(self) -> int:
        """Samples drawn by the default :meth:`_predict_quantiles` (default 1000)."""
        return 1000

    def _fit(self, frame: pd.DataFrame) -> None:
        """Fit on ``frame`` (n_timestamps, n_series), validated float64, NaN = unobserved."""
        raise NotImplementedError(f"{type(self).__name__} must implement _fit(frame).")

    def _sample(self, index: pd.DatetimeIndex, n_samples: int) -> np.ndarray:
        """Sample paths at ``index``; returns an array of shape (n_samples, n_steps, n_series)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _sample(index, n).")

    def _predict_quantiles(
        self, index: pd.DatetimeIndex, quantiles: tuple[float, ...]
    ) -> np.ndarray:
        """Quantiles at ``index``, shape (n_steps, n_series, n_quantiles).

        Default: empirical quantiles of ``_sample(index, self._n_quantile_samples())``.
        """
        n_samples = self._n_quantile_samples()
        # (1 - 0.9) / 2 is 0.04999999999999999: a tolerance keeps 20 paths enough for it
        extreme = [q for q in quantiles if min(q, 1.0 - q) < 1.0 / n_samples - 1e-9]
        if extreme:
            warnings.warn(
                f"quantile levels {', '.join(f'{q:.6g}' for q in extreme)} lie beyond what "
                f"{n_samples} sample paths resolve "
                f"(a level under 1/{n_samples} from 0 or 1 is the sample's minimum or maximum, "
                "so the interval is too narrow); draw more paths, e.g. a larger "
                "n_predict_samples.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        too_big = oversized_paths(n_samples, len(index), self.n_series_, _MAX_SAMPLE_BYTES)
        if too_big:
            fewer = "n_predict_samples, " if "n_predict_samples" in self.get_params() else ""
            raise ValueError(
                f"forecast quantiles from {too_big}; use a smaller {fewer}a shorter horizon or "
                "fewer series."
            )
        samples = np.asarray(self._sample(index, n_samples), dtype=np.float64)
        self._check_sample_shape(samples, len(index), "_sample")
        return np.moveaxis(np.quantile(samples, quantiles, axis=0), 0, -1)

    def _update(self, frame: pd.DataFrame) -> None:
        """Condition on the new rows ``frame`` (n_new, n_series) without changing weights."""
        raise NotImplementedError(
            f"{type(self).__name__} does not support update(); refit it on the full history "
            "with fit(y) instead."
        )

    # ------------------------------------------------------------------ helpers
    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "last_timestamp_")

    def _rng(self) -> np.random.Generator:
        """A fresh NumPy Generator derived from ``self.random_state``.

        An int (or None) ``random_state`` gives a new generator at each call, seeded identically
        for an int, so repeated predictions are reproducible; a ``np.random.Generator`` is used
        as is (its state advances between calls).
        """
        state = getattr(self, "random_state", None)
        if isinstance(state, np.random.Generator):
            return state
        if state is None or isinstance(state, np.random.SeedSequence):
            return np.random.default_rng(state)
        if isinstance(state, numbers.Integral) and not isinstance(state, (bool, np.bool_)):
            if state < 0:
                raise ValueError(
                    f"random_state must be a non-negative int, None or a numpy Generator, got "
                    f"{state}; pass e.g. random_state=0."
                )
            return np.random.default_rng(int(state))
        raise TypeError(
            f"random_state must be an int, None or a numpy Generator, got {state!r} of type "
            f"{type(state).__name__}; pass e.g. random_state=0."
        )

    def _set_fitted_frame(self, frame: pd.DataFrame) -> None:
        """Store ``frame`` (a :func:`to_wide_frame` result) and the attributes derived from it."""
        self.y_ = frame.copy()
        self.columns_ = self.y_.columns.copy()
        self.n_series_ = int(len(self.columns_))
        self.index_ = self.y_.index.copy()
        self.last_timestamp_ = self.index_[-1]
        self.series_last_timestamp_ = pd.Series(
            [self._last_observed(self.y_[c]) for c in self.columns_],
            index=self.columns_.copy(),
            dtype=self.index_.dtype,
            name="last_observed",
        )

    def _record_fit_params(self) -> None:
        """Remember the frozen parameters the fitted state was built with (fit and load)."""
        self._fit_params_ = _param_snapshot(self)

    def _fitted_param(self, name: str, default: Any = None) -> Any:
        """``name``'s fit-time value if fit froze it (see ``_live_params``), else its current one."""
        fitted = getattr(self, "_fit_params_", {})
        return fitted[name] if name in fitted else getattr(self, name, default)

    def _changed_params(self) -> list[str]:
        """``name (fitted with A, now B)`` for each frozen parameter changed since fit."""
        fitted = getattr(self, "_fit_params_", None)
        if fitted is None:
            return []
        now = _param_snapshot(self)
        return [
            f"{key} (fitted with {fitted.get(key)!r}, now {now.get(key)!r})"
            for key in sorted(set(fitted) | set(now))
            if not _same_value(fitted.get(key), now.get(key))
        ]

    def _warn_changed_params(self) -> None:
        changed = self._changed_params()
        if changed:
            warnings.warn(
                f"{type(self).__name__} parameters were changed by set_params after fit: "
                f"{'; '.join(changed)}. The fitted model keeps using the fit-time values until "
                "you refit with fit(y); set them back with set_params to silence this warning.",
                UserWarning,
                stacklevel=user_stacklevel(),  # the user's line, also inside backtest
            )

    def _check_unchanged_params(self) -> None:
        """Refuse to save a model whose parameters no longer describe its fitted state."""
        from tsnode._serialization import SerializationError

        changed = self._changed_params()
        if changed:
            raise SerializationError(
                f"cannot save {type(self).__name__}: parameters were changed by set_params "
                f"after fit: {'; '.join(changed)}. The fitted model still uses the fit-time "
                "values, so a save of the new ones would not reproduce its forecasts. Set them "
                "back with set_params, or refit with fit(y) to use the new values, then save."
            )

    @staticmethod
    def _last_observed(column: pd.Series) -> pd.Timestamp:
        idx = column.last_valid_index()
        return pd.NaT if idx is None else idx

    def _future_index(self, horizon: int | pd.DatetimeIndex) -> pd.DatetimeIndex:
        """Forecast timestamps for ``horizon``, named like the fitted index."""
        self._warn_changed_params()
        index = future_index(
            self.last_timestamp_,
            horizon,
            calendar=self._fitted_param("calendar", "XNYS"),
            observed_index=self.index_,
            stacklevel=user_stacklevel() + 1,  # future_index's own warn is one frame deeper
        )
        return index.rename(self.index_.name)

    def _check_sample_shape(self, samples: np.ndarray, n_steps: int, hook: str) -> None:
        if samples.ndim != 3 or samples.shape[1:] != (n_steps, self.n_series_):
            raise RuntimeError(
                f"{type(self).__name__}.{hook} returned an array of shape {samples.shape}, "
                f"expected (n_samples, {n_steps}, {self.n_series_})."
            )

    def _blockwise_median(
        self, index: pd.DatetimeIndex | None, models: list[Any], n_draws: int
    ) -> pd.DataFrame:
        """Median of the pooled ``_reconstruction_samples`` of ``models`` (``n_draws`` in all)
        at ``index`` (default the fitted one), in blocks of timestamps that keep each block's
        draws under ``_MAX_RECONSTRUCT_DRAWS`` values."""
        index = check_in_sample_index(self.y_.index if index is None else index, self.y_.index)
        step = max(1, _MAX_RECONSTRUCT_DRAWS // max(1, n_draws * self.n_series_))
        medians = []
        for lo in range(0, len(index), step):
            parts = [model._reconstruction_samples(index[lo : lo + step])[0] for model in models]
            pooled = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
            self._check_finite_output(pooled, "reconstructed values")  # NaN reads "missing"
            medians.append(np.median(pooled, axis=0))
        return pd.DataFrame(np.concatenate(medians), index=index, columns=self.columns_)

    def _check_finite_output(self, values: np.ndarray, what: str) -> None:
        """FloatingPointError naming the cause when a forecast holds NaN or inf."""
        bad = ~np.isfinite(values)
        if bad.any():
            raise FloatingPointError(
                f"{type(self).__name__} produced {int(bad.sum())} non-finite {what} (of "
                f"{values.size}). Either the fitted model overflows (a training that diverged: "
                "refit, e.g. with a smaller learning_rate, and check history_ where the "
                "forecaster has one) or its scaler's inverse_transform has no value there (e.g. "
                "a Yeo-Johnson PowerTransformer far beyond its fitted range: use a shorter "
                "horizon or another scaler such as the default LogScaler)."
            )

    def _quantile_array(self, index: pd.DatetimeIndex, quantiles: tuple[float, ...]) -> np.ndarray:
        values = np.asarray(self._predict_quantiles(index, quantiles), dtype=np.float64)
        expected = (len(index), self.n_series_, len(quantiles))
        if values.shape != expected:
            raise RuntimeError(
                f"{type(self).__name__}._predict_quantiles returned an array of shape "
                f"{values.shape}, expected {expected}."
            )
        self._check_finite_output(values, "forecast quantiles")
        # Quantiles are monotone in q: sorting repairs crossing from sampling noise.
        return np.sort(values, axis=-1)

    # ------------------------------------------------------------------ public API
    def fit(self: _SelfT, y: pd.Series | pd.DataFrame) -> _SelfT:
        """Fit the forecaster on price history ``y``.

        Parameters
        ----------
        y : Series or DataFrame
            A Series, a wide frame (one column per series, shape (n_timestamps, n_series)) or a
            yfinance frame (``self.target`` picks the price field), on a DatetimeIndex. NaN marks
            unobserved values. Not modified.

        Returns
        -------
        self

        Warns
        -----
        UserWarning
            Unsorted timestamps (a sorted copy is used), and a yfinance frame whose
            ``Adj Close`` differs from the ``Close`` that ``target="Close"`` takes.

        Notes
        -----
        A fit that fails (bad data, a bad parameter, a training error) leaves the forecaster
        unfitted, never holding an earlier fit: later calls raise ``NotFittedError``.
        """
        self._clear_fitted()  # a failed fit leaves it unfitted, never half or formerly fitted
        try:  # data warnings point at fit's caller (+1: to_wide_frame's own frame)
            level, target = user_stacklevel() + 1, getattr(self, "target", "Close")
            frame = to_wide_frame(y, target=target, stacklevel=level)
            check_min_observations(frame, self._min_observations())
            self._set_fitted_frame(frame)
            self._record_fit_params()
            self._fit(frame.copy())
        except BaseException:
            self._clear_fitted()
            raise
        return self

    def _clear_fitted(self) -> None:
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)

    def predict_quantiles(
        self,
        horizon: int | pd.DatetimeIndex,
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    ) -> pd.DataFrame:
        """Forecast quantiles.

        Parameters
        ----------
        horizon : int or DatetimeIndex
            Number of future steps (sessions of ``self.calendar``; ``calendar=None`` continues
            the observed spacing) or explicit timestamps strictly after ``last_timestamp_``.
        quantiles : sequence of float, default (0.1, 0.5, 0.9)
            Levels strictly in (0, 1), no duplicates; sorted ascending in the output.

        Returns
        -------
        DataFrame of shape (n_steps, n_series * n_quantiles)
            Columns ``MultiIndex.from_product([columns_, quantiles], names=["series",
            "quantile"])``; index the future timestamps (named and zoned like the fitted index).
            Each row is non-decreasing in the quantile level for every series.

        Raises
        ------
        FloatingPointError
            If the forecast holds NaN or inf (a diverged model, or a scaler whose inverse has
            no value there); the same for :meth:`predict`, :meth:`predict_interval` and
            :meth:`sample`.
        ValueError
            If the sample paths behind the quantiles would exceed 8 GiB (fewer paths, a
            shorter horizon or fewer series).

        Warns
        -----
        UserWarning
            If a parameter frozen by :meth:`fit` was changed with ``set_params`` since (the
            fitted model keeps the fit-time value), and :func:`tsnode.calendar.future_index`'s
            warnings (e.g. daily data off the calendar's sessions: 24/7 data with "XNYS").
        """
        check_is_fitted(self)
        levels = check_quantiles(quantiles)
        index = self._future_index(horizon)
        values = self._quantile_array(index, levels)
        columns = pd.MultiIndex.from_product(
            [self.columns_, list(levels)], names=["series", "quantile"]
        )
        return pd.DataFrame(values.reshape(len(index), -1), index=index, columns=columns)

    def predict(self, horizon: int | pd.DatetimeIndex) -> pd.DataFrame:
        """Point forecast: the median (0.5 quantile) in price units.

        Parameters
        ----------
        horizon : int or DatetimeIndex
            See :meth:`predict_quantiles`.

        Returns
        -------
        DataFrame of shape (n_steps, n_series), columns ``columns_``, index the future timestamps.
        """
        check_is_fitted(self)
        index = self._future_index(horizon)
        values = self._quantile_array(index, (0.5,))[..., 0]
        return pd.DataFrame(values, index=index, columns=self.columns_.copy())

    def predict_interval(
        self, horizon: int | pd.DatetimeIndex, coverage: float = 0.9
    ) -> pd.DataFrame:
        """Central prediction interval, from the ``(1 -+ coverage) / 2`` quantiles.

        Parameters
        ----------
        horizon : int or DatetimeIndex
            See :meth:`predict_quantiles`.
        coverage : float, default 0.9
            Nominal probability mass inside the interval, strictly in (0, 1).

        Returns
        -------
        DataFrame of shape (n_steps, n_series * 2)
            Columns ``MultiIndex.from_product([columns_, ["lower", "upper"]], names=["series",
            "bound"])``.
        """
        check_is_fitted(self)
        coverage = check_coverage(coverage)
        index = self._future_index(horizon)
        levels = ((1.0 - coverage) / 2.0, (1.0 + coverage) / 2.0)
        values = self._quantile_array(index, levels)
        columns = pd.MultiIndex.from_product(
            [self.columns_, ["lower", "upper"]], names=["series", "bound"]
        )
        return pd.DataFrame(values.reshape(len(index), -1), index=index, columns=columns)

    def sample(self, horizon: int | pd.DatetimeIndex, n_samples: int = 100) -> np.ndarray:
        """Draw joint sample paths of the forecast.

        Parameters
        ----------
        horizon : int or DatetimeIndex
            See :meth:`predict_quantiles`.
        n_samples : int, default 100
            Number of paths.

        Returns
        -------
        ndarray of shape (n_samples, n_steps, n_series), price units. The timestamps are those
        of ``predict(horizon).index``.

        Raises
        ------
        FloatingPointError
            If a path holds NaN or inf (see :meth:`predict_quantiles`).
        """
        check_is_fitted(self)
        n_samples = check_n_samples(n_samples)
        index = self._future_index(horizon)
        too_big = oversized_paths(n_samples, len(index), self.n_series_, _MAX_SAMPLE_BYTES)
        if too_big:
            raise ValueError(
                f"n_samples={too_big} in one call; draw fewer paths per call, e.g. several "
                "calls with a smaller n_samples, each with its own random_state "
                "(set_params(random_state=k); an int seed repeats the same paths) or "
                "random_state=None."
            )
        samples = np.asarray(self._sample(index, n_samples), dtype=np.float64)
        self._check_sample_shape(samples, len(index), "_sample")
        self._check_finite_output(samples, "sample values")
        if samples.shape[0] != n_samples:
            raise RuntimeError(
                f"{type(self).__name__}._sample returned {samples.shape[0]} samples, expected "
                f"{n_samples}."
            )
        return samples

    def update(self: _SelfT, y: pd.Series | pd.DataFrame) -> _SelfT:
        """Condition on new observations without refitting the parameters (weights unchanged).

        Later forecasts start after the new rows. Forecasters that cannot condition on new data
        raise NotImplementedError; refit them instead.

        Parameters
        ----------
        y : Series or DataFrame
            New rows in any layout accepted by :meth:`fit`, with the fitted series (columns in
            any order; a series may be all-NaN if it has no new observation), all timestamps
            strictly after ``last_timestamp_``. Not modified. A tz-aware ``y`` is converted to
            the fitted time zone (a UserWarning when that moves daily bars off midnight).

        Returns
        -------
        self
        """
        check_is_fitted(self)
        check_new_rows(y)
        target, level = self._fitted_param("target", "Close"), user_stacklevel() + 1
        frame = to_wide_frame(y, target=target, allow_unobserved=True, stacklevel=level)
        if len(self.columns_) == 1 and isinstance(y, pd.Series) and y.name is None:
            frame.columns = self.columns_.copy()  # an unnamed Series updates the single series
        missing = [c for c in self.columns_ if c not in frame.columns]
        extra = [c for c in frame.columns if c not in self.columns_]
        if missing or extra:
            raise ValueError(
                f"update data must have the fitted series {list(self.columns_)}; missing "
                f"{missing}, unexpected {extra}. Pass the same columns as in fit (all-NaN for a "
                "series without new observations)."
            )
        frame = frame[list(self.columns_)]
        fitted_tz = self.index_.tz
        if (frame.index.tz is None) != (fitted_tz is None):
            raise ValueError(
                f"update data index tz ({frame.index.tz}) does not match the fitted index tz "
                f"({fitted_tz}); use the same time zone (tz_localize / tz_convert)."
            )
        if fitted_tz is not None:
            converted = frame.index.tz_convert(fitted_tz)
            moved = not (converted.tz_localize(None) == frame.index.tz_localize(None)).all()
            if moved and _at_midnight(self.index_) and not _at_midnight(converted):
                warnings.warn(
                    f"update data are daily bars in tz {frame.index.tz} but the fitted data in "
                    f"{fitted_tz}: converted, {frame.index[0]} becomes {converted[0]}, another "
                    "time (and maybe another date). For the same trading dates pass "
                    f"y.tz_localize(None).tz_localize('{fitted_tz}').",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
            frame.index = converted
        if frame.index[0] <= self.last_timestamp_:
            raise ValueError(
                f"update data must start strictly after the last fitted timestamp "
                f"{self.last_timestamp_}, but its first timestamp is {frame.index[0]}; pass only "
                "the new rows, e.g. y[y.index > forecaster.last_timestamp_]."
            )
        frame.index = frame.index.rename(self.index_.name)
        self._update(frame.copy())
        self._set_fitted_frame(pd.concat([self.y_, frame]))
        return self
