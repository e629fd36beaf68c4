"""Walk-forward backtesting of forecasters: :func:`backtest`, :func:`compare`.

A backtest walks through a history one *cutoff* at a time. At every cutoff a
forecaster that has seen the data up to and including the cutoff (and nothing
after it) forecasts the next ``horizon`` rows of the data's own index; the
forecasts are stored next to the realised values in a long table
(:attr:`BacktestResult.forecasts`) and scored with :mod:`tsnode.metrics`.

Cutoffs are grouped into *folds* of ``refit_every`` consecutive cutoffs: the
first cutoff of a fold fits a fresh clone of the forecaster
(:func:`sklearn.base.clone`), the following ones condition it on the new rows
with ``update`` (weights unchanged). Only the series observed enough by a cutoff are
fitted and forecast there (see :func:`backtest`). Folds are independent, so they run in
parallel with joblib, locally (``n_jobs``) or on a Dask cluster
(``backend="dask"``). A fold's worker only ever receives the rows up to its
last cutoff and the *timestamps* of the rows to forecast, never their values.

This module never imports torch: any object with ``fit(y)`` and
``predict_quantiles(horizon, quantiles)`` or ``predict(horizon)`` (point forecasts only;
optionally ``update(y)``) can be backtested.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from tqdm.auto import tqdm

from tsnode import _scoring
from tsnode._folds import (
    _check_backtest_keywords,
    _check_forecaster,
    _check_int,
    _check_same_target,
    _forecast_quantiles,
    _naive_scale,
    _quantile_column,
    _required_observations,
    _run_fold,
    _to_frame,
)
from tsnode._scoring import _check_baseline, _dm_test, _score, _warn_unscored
from tsnode._validation import _is_int
from tsnode._warnings import (
    WarningCollector,
    add_note,
    call_recording_warnings,
    recorded_warnings,
    reissue_recorded,
)

__all__ = ["BacktestResult", "Comparison", "backtest", "compare"]

_WINDOWS = ("expanding", "sliding")


# ----------------------------------------------------------------------------- results


@dataclass
class BacktestResult:
    """Forecasts of a walk-forward backtest and their scores.

    Attributes
    ----------
    forecasts : DataFrame
        One row per (cutoff, series, step): columns ``cutoff`` (last timestamp the
        forecaster saw), ``timestamp`` (forecast time), ``series``, ``step`` (1-based row
        offset after the cutoff), ``actual`` (NaN where the series was not observed at
        ``timestamp``), ``forecast`` (point forecast), one column per quantile (``q0.1``,
        ``q0.5``, ...), ``origin`` (last observed value of the series at the cutoff) and
        ``scale`` (in-sample mean absolute one-step naive error of the training window, for
        MASE). Forecasts of unobserved values are kept so that what is *decided* at a
        cutoff (e.g. by :func:`tsnode.trading.simulate`) never depends on whether a later
        price exists; :meth:`metrics` scores only the rows with an ``actual``. A series
        with fewer observations in the training window of a cutoff than the forecaster
        needs (e.g. one not listed yet) is neither fitted nor forecast there: it has no
        rows for that cutoff (see :func:`backtest`).
    quantiles : tuple of float
        The forecast quantiles, sorted.
    cutoffs : DatetimeIndex
        All cutoffs, in order.
    horizon : int
        Rows forecast after each cutoff.
    params : dict
        The backtest's settings (window, step, refit_every, ...).
    target : str
        Price field forecast from a yfinance frame: the forecaster's ``target`` (default
        "Close"); :func:`tsnode.trading.simulate` trades the same field. Also in
        ``forecasts.attrs["target"]``.
    """

    forecasts: pd.DataFrame
    quantiles: tuple[float, ...]
    cutoffs: pd.DatetimeIndex
    horizon: int
    params: dict[str, Any] = field(default_factory=dict)
    target: str = "Close"

    def metrics(self, by: str | Sequence[str] | None = ("series", "step")) -> pd.DataFrame:
        """Scores aggregated over groups of forecasts.

        Parameters
        ----------
        by : str, sequence of str or None, default ("series", "step")
            Columns of :attr:`forecasts` to group by (e.g. ``"series"``, ``"step"``,
            ``"cutoff"``). ``()`` or ``None``: one overall row, indexed ``"all"``.

        Returns
        -------
        DataFrame
            One row per group; columns ``mae, rmse, mape, smape, mase, crps, pinball``,
            ``coverage_<p>`` and ``width_<p>`` for the outermost symmetric quantile
            interval (``coverage_80`` for (0.1, 0.9)) when the quantiles have one,
            ``directional_accuracy`` and ``count`` (number of scored rows: those with an
            ``actual``). A ``by`` of another type is a TypeError; a RuntimeWarning says when
            scored rows have a NaN forecast (the scores leave those rows out), and when MASE
            leaves rows out (a training window with fewer than 2 observations or no move).
        """
        columns = list(self.forecasts.columns)
        if by is None or isinstance(by, str):
            keys = [] if by is None else [by]
        elif isinstance(by, Sequence) and all(isinstance(k, str) for k in by):
            keys = list(by)
        else:
            raise TypeError(
                f"`by` must be a column name, a sequence of column names or None, got {by!r} "
                f"({type(by).__name__}); allowed names: {columns!r}, e.g. by='series' or "
                "by=('series', 'step'), or by=None for one overall row."
            )
        unknown = [k for k in keys if k not in self.forecasts.columns]
        if unknown:
            raise ValueError(
                f"`by` must name columns of the forecasts table, got unknown {unknown!r}; "
                f"available: {columns!r}."
            )
        scored = self.forecasts[self.forecasts["actual"].notna()]
        _warn_unscored(scored, self.quantiles)
        if not keys:
            rows = {"all": _score(scored, self.quantiles)}
            return pd.DataFrame.from_dict(rows, orient="index")
        groups = scored.groupby(keys, sort=True, observed=True)
        names, rows = [], []
        for name, group in groups:
            names.append(name)
            rows.append(_score(group, self.quantiles))
        if len(keys) > 1:  # from_arrays: also for no rows at all (no forecast was scored)
            levels = [[name[i] for name in names] for i in range(len(keys))]
            index = pd.MultiIndex.from_arrays(levels, names=keys)
        else:
            index = pd.Index([name[0] for name in names], name=keys[0])
        return pd.DataFrame(rows, index=index, columns=_scoring._score_columns(self.quantiles))

    def plot(self, *, series: Any = None, step: int = 1, ax: Any = None) -> Any:
        """Forecasts against actuals at one horizon step, with the outer quantile band.

        Parameters
        ----------
        series : str or sequence of str, optional
            Series to plot (default: all), one Axes each.
        step : int, default 1
            Horizon step to show (1 = one row after the cutoff).
        ax : Axes or sequence of Axes, optional
            One Axes per series; default: a new figure.

        Returns
        -------
        matplotlib Figure
            See :func:`tsnode.plotting.plot_backtest`.
        """
        from tsnode.plotting import plot_backtest

        return plot_backtest(self.forecasts, series=series, step=step, ax=ax)

    def __repr__(self) -> str:
        return (
            f"BacktestResult(n_cutoffs={len(self.cutoffs)}, horizon={self.horizon}, "
            f"n_forecasts={len(self.forecasts)}, quantiles={self.quantiles})"
        )


# ----------------------------------------------------------------------------- backtest


def backtest(
    forecaster: Any,
    data: pd.DataFrame | pd.Series,
    *,
    horizon: int,
    initial_window: int,
    step: int = 1,
    window: str = "expanding",
    train_length: int | None = None,
    refit_every: int = 1,
    quantiles: Sequence[float] | None = None,
    n_jobs: int | None = 1,
    backend: str | None = None,
    progress: bool = True,
    min_observations: int | None = None,
) -> BacktestResult:
    """Walk-forward backtest of a forecaster on a history.

    Parameters
    ----------
    forecaster : forecaster
        Any object with ``fit(y)`` and ``predict_quantiles(horizon, quantiles)`` or, for
        point forecasts only (no quantile columns, NaN CRPS/pinball), ``predict(horizon)``;
        optionally ``update(y)`` (conditioning on new rows without refitting). ``horizon``
        is passed as the DatetimeIndex of the rows to forecast, and the returned frames
        must be indexed by exactly those timestamps, in order (ValueError otherwise). It is
        never modified: each fold fits a clone.
    data : Series or DataFrame
        The history, a Series, a wide frame ``(n_rows, n_series)`` or a yfinance frame
        (the forecaster's ``target`` field, default "Close"), on a DatetimeIndex;
        NaN = unobserved. Never modified.
    horizon : int
        Forecast the next ``horizon`` rows of ``data`` after each cutoff: the
        forecaster receives exactly those timestamps as its horizon.
    initial_window : int
        Rows in the first training set: the first cutoff is row
        ``initial_window - 1``. At least 2 and at most ``len(data) - 1``.
    step : int, default 1
        Rows between consecutive cutoffs. Cutoffs continue while at least one row
        follows them; the last folds may forecast fewer than ``horizon`` rows (they
        are kept and scored on the rows that exist).
    window : {"expanding", "sliding"}, default "expanding"
        Train on all rows up to the cutoff, or only on the last ``train_length``.
    train_length : int, optional
        Rows per training window; required with ``window="sliding"``, at most
        ``initial_window``. Each refit uses the last ``train_length`` rows up to its
        cutoff; ``update`` then adds the new rows until the next refit.
    refit_every : int, default 1
        Cutoffs per fold: refit at the first, ``update`` at the others. A forecaster
        without ``update`` (or whose ``update`` raises NotImplementedError) is refitted
        at every cutoff instead, with one warning. The forecaster is also refitted at a
        cutoff whose set of started series (see Notes) differs from the previous one's.
    quantiles : sequence of float, optional
        Quantiles to forecast, in (0, 1); default (0.1, 0.5, 0.9), none for a point forecaster
        (given to one, they are ignored with a UserWarning).
    n_jobs : int or None, default 1
        Folds run in parallel by joblib (-1: all cores; 0 is refused). With ``backend="dask"`` the
        parallelism is that of the Dask cluster. Warnings raised in worker processes (which
        would only reach their stderr) are re-issued once each under the caller's filters:
        tsnode's at the caller's line, other code's at its own location.
    backend : str, optional
        A joblib backend; ``"dask"`` runs the folds on the cluster of the active
        ``distributed.Client`` (create one first: ``with Client(...):``).
    progress : bool, default True
        Show a tqdm progress bar over the folds.
    min_observations : int, optional
        Observations a series needs in a cutoff's training window to be forecast there
        (see Notes); default the forecaster's own minimum. :func:`compare` passes the
        largest over its models, so that all are scored on the same rows.

    Returns
    -------
    BacktestResult
        Forecasts next to the realised values (NaN where a series was not observed; see
        :attr:`BacktestResult.forecasts`).
        Results are identical for any ``n_jobs`` when the forecaster is
        deterministic (e.g. a fixed ``random_state``).

    Raises
    ------
    TypeError, ValueError
        For a bad argument (named in the message), or when no series has enough observations
        at any cutoff. An error of the forecaster propagates with a note naming the cutoff and
        whether it was fitting, updating or forecasting.

    Notes
    -----
    Series may start (or stop) at different times. At each cutoff only the *started*
    series are fitted and forecast: those with at least the forecaster's minimum number of
    observations (``forecaster._min_observations()``, e.g. 3 for ``NaiveForecaster``; 1
    for objects without it, or ``min_observations`` if larger) in that cutoff's training
    window. The others
    get no rows at that cutoff. The choice uses only the rows up to the cutoff. Within a
    fold, ``update`` is used while the started series stay the same; when they change (a
    series starts between refits) the forecaster is refitted at that cutoff on the new set.
    """
    has_update = _check_forecaster(forecaster)
    target = getattr(forecaster, "target", "Close")
    frame = _to_frame(data, target=target)
    n_rows = len(frame)
    horizon = _check_int(horizon, "horizon", minimum=1, hint="Use e.g. horizon=5.")
    step = _check_int(step, "step", minimum=1, hint="Use step=1 for a cutoff at every row.")
    refit_every = _check_int(
        refit_every, "refit_every", minimum=1, hint="Use refit_every=1 to refit at every cutoff."
    )
    initial_window = _check_int(
        initial_window,
        "initial_window",
        minimum=2,
        hint=f"It is the number of rows of the first training set ({n_rows} rows available).",
    )
    if initial_window > n_rows - 1:
        raise ValueError(
            f"`initial_window` must leave at least one row to forecast: got {initial_window} "
            f"for data with {n_rows} rows; "
            + (f"use initial_window <= {n_rows - 1}." if n_rows > 2 else "3 rows are needed.")
        )
    if window not in _WINDOWS:
        raise ValueError(f"`window` must be one of {_WINDOWS}, got {window!r}.")
    if window == "sliding":
        if train_length is None:
            raise ValueError(
                "`train_length` is required with window='sliding' (the number of rows in "
                f"each training window), got None; e.g. train_length={initial_window}."
            )
        train_length = _check_int(
            train_length, "train_length", minimum=2, hint="It is the rows per training window."
        )
        if train_length > initial_window:
            raise ValueError(
                f"`train_length` must be <= initial_window ({initial_window}) so that every "
                f"training window is full, got {train_length}."
            )
    elif train_length is not None:
        warnings.warn(
            f"`train_length`={train_length} is ignored with window='expanding'; "
            "use window='sliding' to train on a fixed-length window.",
            UserWarning,
            stacklevel=2,
        )
    quantiles = _forecast_quantiles(forecaster, quantiles)
    if n_jobs is not None and (not _is_int(n_jobs) or n_jobs == 0):
        raise (ValueError if _is_int(n_jobs) else TypeError)(
            f"`n_jobs` must be a non-zero int or None, got {n_jobs!r}; pass 1 or None "
            "(sequential), a number of processes such as 2, or -1 (every core)."
        )
    if backend is not None and not isinstance(backend, str):
        raise TypeError(f"`backend` must be None or a joblib backend name, got {backend!r}.")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be True or False, got {progress!r}.")
    if backend == "dask":
        try:
            from distributed import get_client

            get_client()
        except (ImportError, ValueError) as exc:
            raise ValueError(
                "`backend`='dask' needs an active dask.distributed Client: run the backtest "
                "inside `with distributed.Client(...):` (pip install 'dask[distributed]')."
            ) from exc
    if not has_update and refit_every > 1:
        warnings.warn(
            f"{type(forecaster).__name__} has no `update` method: refitting at every cutoff "
            f"instead of every {refit_every}.",
            UserWarning,
            stacklevel=2,
        )
        refit_every = 1

    positions = list(range(initial_window - 1, n_rows - 1, step))
    folds = [positions[i : i + refit_every] for i in range(0, len(positions), refit_every)]
    index = frame.index
    futures = {p: index[p + 1 : p + 1 + horizon] for p in positions}

    def start_of(pos: int) -> int:
        return 0 if window == "expanding" else pos + 1 - train_length

    # The series fitted and forecast at a cutoff: those with enough observations in its
    # training window (rows start_of(pos)..pos only, so the choice never looks ahead).
    need = _required_observations(forecaster)
    if min_observations is not None:
        hint = "Pass e.g. min_observations=20, or None for the forecaster's minimum."
        need = max(need, _check_int(min_observations, "min_observations", minimum=1, hint=hint))
    seen = np.vstack([np.zeros((1, frame.shape[1]), np.int64), frame.notna().to_numpy().cumsum(0)])
    started = {p: np.flatnonzero(seen[p + 1] - seen[start_of(p)] >= need) for p in positions}
    if not any(len(cols) for cols in started.values()):
        raise ValueError(
            f"no series of `data` has the {need} observation(s) needed (the larger of "
            f"{type(forecaster).__name__}'s minimum and `min_observations`) in the training "
            "window of any cutoff; nothing can be backtested. Use a longer history, a larger "
            "initial_window (train_length) or a smaller min_observations."
        )

    # Per-fold training bars would drown the backtest's own bar: silence them in the copies.
    template = forecaster
    if "progress" in getattr(forecaster, "get_params", dict)():
        template = clone(forecaster, safe=False).set_params(progress=False)
    # Folds in worker processes record their warnings (they would only reach the workers'
    # stderr); they are re-issued below, once each at the caller's line.
    tasks = (
        delayed(call_recording_warnings)(
            os.getpid(),
            _run_fold,
            template,
            frame.iloc[: fold[-1] + 1],
            fold,
            [start_of(p) for p in fold],
            [futures[p] for p in fold],
            quantiles,
            [started[p] for p in fold],
        )
        for fold in folds
    )
    bar = tqdm(total=len(folds), desc="tsnode backtest", unit="fold", disable=not progress)
    outputs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    any_refit, recorded = False, []
    try:
        with parallel_config(backend=backend) if backend is not None else nullcontext():
            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
            for (fold_output, refitted), fold_warnings in parallel(tasks):
                outputs.extend(fold_output)
                any_refit = any_refit or refitted
                recorded.extend(fold_warnings)
                bar.update(1)
    except Exception as error:
        reissue_recorded(recorded + recorded_warnings(error), stacklevel=2)
        raise
    finally:
        bar.close()
    reissue_recorded(recorded, stacklevel=2)  # backtest <- the user's line
    if any_refit:
        warnings.warn(
            f"{type(forecaster).__name__}.update raised NotImplementedError: it was refitted "
            f"at every cutoff instead of every {refit_every}.",
            UserWarning,
            stacklevel=2,
        )

    table = _assemble(frame, positions, futures, outputs, quantiles, start_of)
    params = dict(initial_window=initial_window, step=step, window=window)
    params.update(train_length=train_length, refit_every=refit_every, forecaster=repr(forecaster))
    cutoffs = pd.DatetimeIndex(index[positions])
    target = target if isinstance(target, str) else "Close"  # only read from yfinance frames
    table.attrs["target"] = target  # so that the table alone still tells simulate the field
    return BacktestResult(table, quantiles, cutoffs, horizon, params, target)


def _assemble(
    frame: pd.DataFrame,
    positions: list[int],
    futures: dict[int, pd.DatetimeIndex],
    outputs: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    quantiles: tuple[float, ...],
    start_of: Any,
) -> pd.DataFrame:
    """Long forecasts table from the per-cutoff arrays, next to actuals, origin and scale.

    ``outputs`` holds, per cutoff, the positions of the series forecast (those started at
    the cutoff), their quantile array and their point forecast.
    """
    values = frame.to_numpy(dtype="float64")
    last_observed = frame.ffill().to_numpy(dtype="float64")
    blocks = []
    for pos, (cols, q_array, point) in zip(positions, outputs, strict=True):
        n_steps, n_series = len(futures[pos]), len(cols)
        steps = np.repeat(np.arange(1, n_steps + 1), n_series)
        scale = _naive_scale(values[start_of(pos) : pos + 1, cols])
        columns = [np.full(steps.size, pos), pos + steps, np.tile(cols, n_steps)]
        columns += [steps, point.ravel(), np.tile(last_observed[pos, cols], n_steps)]
        columns += [np.tile(scale, n_steps), q_array.reshape(steps.size, len(quantiles))]
        blocks.append(np.column_stack(columns))
    block = np.concatenate(blocks)  # there is always at least one cutoff
    pos, row, col, step = block[:, :4].astype(np.int64).T
    columns = {
        "cutoff": frame.index[pos],
        "timestamp": frame.index[row],
        "series": frame.columns[col],
        "step": step,
        "actual": values[row, col],
        "forecast": block[:, 4],
    }
    columns.update({_quantile_column(q): block[:, 7 + k] for k, q in enumerate(quantiles)})
    columns.update(origin=block[:, 5], scale=block[:, 6])
    table = pd.DataFrame(columns)  # built at once: many quantile columns fragment inserts
    table = table.sort_values(["cutoff", "series", "step"], kind="stable")
    return table.reset_index(drop=True)


# ----------------------------------------------------------------------------- compare


@dataclass
class Comparison:
    """Backtests of several models on identical cutoffs.

    Attributes
    ----------
    leaderboard : DataFrame
        One row per model (index ``model``), overall metric columns as in
        :meth:`BacktestResult.metrics`, plus ``dm_statistic`` and ``dm_pvalue``
        (Diebold-Mariano test of squared one-step errors against the baseline, on their
        differential averaged over the series at each cutoff; NaN
        for the baseline itself) when the baseline is among the models. Sorted by
        ``mase`` (best first).
    results : dict of str to BacktestResult
        The backtest of each model, e.g. ``comparison.results["naive"]``.
    baseline : str or None
        Name of the DM baseline, None if it was not among the models.
    """

    leaderboard: pd.DataFrame
    results: dict[str, BacktestResult]
    baseline: str | None = None

    def metrics(self, by: str | Sequence[str] | None = ("series", "step")) -> pd.DataFrame:
        """Per-model :meth:`BacktestResult.metrics` grouped ``by`` (as there): a DataFrame
        indexed ``(model, *by)`` with its columns."""
        tables = {name: result.metrics(by=by) for name, result in self.results.items()}
        return pd.concat(tables, names=["model"])

    def __repr__(self) -> str:
        return f"Comparison(baseline={self.baseline!r})\n{self.leaderboard!r}"


def compare(
    forecasters: Mapping[str, Any],
    data: pd.DataFrame | pd.Series,
    *,
    baseline: str | None = "naive",
    **backtest_kwargs: Any,
) -> Comparison:
    """Backtest several forecasters on identical cutoffs and rank them.

    Parameters
    ----------
    forecasters : mapping of str to forecaster
        E.g. ``{"tsnode": TSNodeForecaster(), "naive": NaiveForecaster()}``. Models are
        labelled ``str(key)``, so two keys must not read the same (``1`` and ``"1"``).
    data : Series or DataFrame
        The history, as for :func:`backtest`.
    baseline : str or None, default "naive"
        Name of the model the others are tested against (Diebold-Mariano on squared
        one-step-ahead errors, the loss differential averaged over the series at each
        cutoff, since same-cutoff errors are correlated). The default is skipped when no model
        is named "naive"; another name must be one of the models (a ValueError otherwise).
    **backtest_kwargs
        Passed to :func:`backtest` (``horizon`` and ``initial_window`` are required; an
        unknown keyword is a TypeError before any backtest). ``min_observations`` is set to
        the largest minimum of the models, so all are scored on the same rows.

    Returns
    -------
    Comparison
        ``.leaderboard`` (one row per model, sorted by MASE) and ``.results``. A model's error
        propagates with a note naming it.

    Raises
    ------
    TypeError
        ``forecasters`` is not a non-empty mapping, a value lacks the forecaster API, or a
        keyword is not one of :func:`backtest`'s.
    ValueError
        Two keys read the same ``str()``, or the models would forecast different price
        fields of ``data`` (their ``target``); and whatever :func:`backtest` raises.

    Warns
    -----
    Warning
        The warnings of the models' backtests, metrics and DM tests, each issued once at the
        caller's line with the models it concerns appended (``[compare: models 'a', 'b']``).
    """
    if not isinstance(forecasters, Mapping) or len(forecasters) == 0:
        raise TypeError(
            "`forecasters` must be a non-empty mapping of model name to forecaster, got "
            f"{type(forecasters).__name__}; e.g. {{'naive': NaiveForecaster()}}."
        )
    by_label: dict[str, list[Any]] = {}
    for name in forecasters:
        by_label.setdefault(str(name), []).append(name)
    clashes = [keys for keys in by_label.values() if len(keys) > 1]
    if clashes:
        raise ValueError(
            f"`forecasters` keys must have distinct str() names (the models are labelled by "
            f"str(key)), got keys {clashes[0]!r} that all read {str(clashes[0][0])!r}; rename "
            "one of them, e.g. {'naive': ..., 'drift': ...}."
        )
    for name, forecaster in forecasters.items():
        _check_forecaster(forecaster, name=f"forecasters[{name!r}]")
    _check_baseline(baseline, list(by_label))
    _check_same_target({str(k): f for k, f in forecasters.items()}, data)
    # every model is scored on the same (cutoff, series) rows: those all of them can forecast
    need = max(_required_observations(f) for f in forecasters.values())
    user_need = backtest_kwargs.pop("min_observations", None)
    if user_need is not None:
        hint = "Pass e.g. min_observations=20, or None for the models' minimum."
        need = max(need, _check_int(user_need, "min_observations", minimum=1, hint=hint))
    _check_backtest_keywords(backtest, backtest_kwargs)
    results, rows = {}, {}
    collector = WarningCollector()  # each warning once, at the caller's line, naming models
    try:
        for name, forecaster in forecasters.items():
            with collector.collecting(str(name)):
                try:
                    results[str(name)] = backtest(
                        forecaster, data, min_observations=need, **backtest_kwargs
                    )
                    rows[str(name)] = results[str(name)].metrics(by=None).iloc[0]
                except Exception as exc:
                    add_note(exc, f"tsnode.compare: raised by the model {str(name)!r}.")
                    raise
        board = pd.DataFrame.from_dict(rows, orient="index")
        board.index.name = "model"
        base = baseline if baseline in results else None
        tests = {}
        for n, r in results.items():
            if base is not None and n != base:
                with collector.collecting(n):
                    tests[n] = _dm_test(r, results[base])
        tests[base] = (np.nan, np.nan)
    finally:  # also when a model raised: its warnings may say why
        collector.reissue(stacklevel=2)
    if base is not None:
        board["dm_statistic"] = [tests[n][0] for n in board.index]
        board["dm_pvalue"] = [tests[n][1] for n in board.index]
    board["count"] = board["count"].astype("int64")
    board = board.sort_values("mase", kind="stable", na_position="last")
    return Comparison(leaderboard=board, results=results, baseline=base)
