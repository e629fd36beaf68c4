"""Scores of a backtest's forecasts table (used by :class:`tsnode.backtesting.BacktestResult`).

Never imports torch.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from tsnode._folds import _quantile_column
from tsnode._warnings import user_stacklevel

__all__ = ["_dm_test", "_outer_interval", "_score", "_warn_unscored"]


def _outer_interval(quantiles: tuple[float, ...]) -> tuple[float, float, str] | None:
    """Outermost symmetric pair ``(lower, upper, label)``: (0.1, 0.9) -> label "80"."""
    for q in quantiles:
        if q >= 0.5:
            break
        for p in quantiles:
            if math.isclose(p, 1.0 - q, abs_tol=1e-9):
                return q, p, f"{round(100.0 * (p - q), 6):g}"
    return None


def _score_columns(quantiles: tuple[float, ...]) -> list[str]:
    """The keys of :func:`_score`'s rows, in order."""
    interval = _outer_interval(quantiles)
    names = ["mae", "rmse", "mape", "smape", "mase", "crps", "pinball"]
    names += [f"coverage_{interval[2]}", f"width_{interval[2]}"] if interval else []
    return [*names, "directional_accuracy", "count"]


def _score(group: pd.DataFrame, quantiles: tuple[float, ...]) -> dict[str, float]:
    """All metrics of one group of rows of a forecasts table (NaN, count 0, when it is empty:
    no row has an actual, e.g. only a last cutoff whose target row is NaN)."""
    from tsnode import metrics as m

    if len(group) == 0:
        warnings.warn(
            "no forecast row has an actual value to score (the targets of every cutoff are "
            "NaN or past the data): the scores are NaN, with count 0.",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
        return {**dict.fromkeys(_score_columns(quantiles)[:-1], np.nan), "count": 0}
    y = group["actual"].to_numpy(dtype="float64")
    f = group["forecast"].to_numpy(dtype="float64")
    y_q = group[[_quantile_column(q) for q in quantiles]].to_numpy(dtype="float64")
    scale = group["scale"].to_numpy(dtype="float64")
    ok = np.isfinite(scale) & (scale > 0)
    row: dict[str, float] = {
        "mae": float(m.mae(y, f)),
        "rmse": float(m.rmse(y, f)),
        "mape": float(m.mape(y, f)),
        "smape": float(m.smape(y, f)),
        # each row scaled by the in-sample naive error of its own cutoff
        "mase": float(m.mase(y[ok], f[ok], scale=scale[ok])) if ok.any() else np.nan,
        # a point forecaster (no quantiles) has no probabilistic score
        "crps": float(m.crps_from_quantiles(y, y_q, quantiles)) if quantiles else np.nan,
        "pinball": float(m.pinball_loss(y, y_q, quantiles)) if quantiles else np.nan,
    }
    interval = _outer_interval(quantiles)
    if interval is not None:
        lower = group[_quantile_column(interval[0])].to_numpy(dtype="float64")
        upper = group[_quantile_column(interval[1])].to_numpy(dtype="float64")
        row[f"coverage_{interval[2]}"] = float(m.coverage(y, lower, upper))
        row[f"width_{interval[2]}"] = float(m.interval_width(lower, upper))
    origin = group["origin"].to_numpy(dtype="float64")
    has_origin = np.isfinite(origin)
    row["directional_accuracy"] = (
        float(m.directional_accuracy(y[has_origin], f[has_origin], origin[has_origin]))
        if has_origin.any()
        else np.nan
    )
    row["count"] = len(group)
    return row


def _warn_unscored(scored: pd.DataFrame, quantiles: tuple[float, ...]) -> None:
    """Warn when rows with an actual have a NaN forecast or quantile: the metrics drop them
    (NaN pairs), so ``count`` would overstate what they were computed on; and when MASE has
    to leave rows out (no naive error in their training window)."""
    columns = ["forecast", *(_quantile_column(q) for q in quantiles)]
    _warn_rows(
        scored,
        scored[columns].isna().any(axis=1).to_numpy(),
        "have a NaN forecast or quantile",
        "the scores leave them out, so `count` overstates their support. The forecaster "
        "failed there; check its training (e.g. a smaller learning_rate) or its output.",
    )
    scale = scored["scale"].to_numpy(dtype="float64")
    _warn_rows(
        scored,
        ~(np.isfinite(scale) & (scale > 0)),
        "have no MASE scale",
        "their training window had fewer than 2 observations or a price that never moved, "
        "so the one-step naive error is undefined or 0 and MASE leaves them out (the other "
        "metrics keep them).",
    )


def _warn_rows(scored: pd.DataFrame, rows: np.ndarray, what: str, why: str) -> None:
    """A RuntimeWarning counting the ``rows`` (bool mask) of ``scored`` that ``what``,
    naming the first one's series and cutoff, then ``why``."""
    if rows.any():
        first = scored[rows].iloc[0]
        warnings.warn(
            f"{int(rows.sum())} of {len(scored)} scored rows {what} (first: series "
            f"{first['series']!r} at cutoff {first['cutoff']}): {why}",
            RuntimeWarning,
            stacklevel=user_stacklevel(),  # BacktestResult/Comparison.metrics' caller
        )


def _dm_test(model: Any, base: Any) -> tuple[float, float]:
    """DM test of ``model`` vs ``base`` (two BacktestResults) on their one-step errors at
    matching rows (the squared error differential averaged over the series at each cutoff)."""
    from tsnode.metrics import diebold_mariano

    keys = ["series", "cutoff", "timestamp", "step"]
    a = model.forecasts.loc[model.forecasts["step"] == 1, [*keys, "actual", "forecast"]]
    b = base.forecasts.loc[base.forecasts["step"] == 1, [*keys, "forecast"]]
    joined = a.merge(b, on=keys, suffixes=("_model", "_base")).sort_values(["series", "cutoff"])
    joined = joined.dropna(subset=["actual", "forecast_model", "forecast_base"])
    if joined["cutoff"].nunique() < 3:  # the test needs 3 cutoffs
        warnings.warn(
            f"no Diebold-Mariano test (dm_statistic and dm_pvalue are NaN): it needs one-step "
            f"forecasts of both models at 3 or more cutoffs, got {joined['cutoff'].nunique()}."
            " Use a smaller initial_window or step.",
            RuntimeWarning,
            stacklevel=user_stacklevel(),
        )
        return np.nan, np.nan
    errors = joined["actual"].to_numpy()[:, None] - joined[["forecast_model", "forecast_base"]]
    # series forecast at the same cutoff are correlated: one mean differential per cutoff
    result = diebold_mariano(
        *errors.to_numpy().T, horizon=1, loss="squared", groups=joined["cutoff"].to_numpy()
    )
    return float(result.statistic), float(result.pvalue)


def _check_baseline(baseline: Any, names: list[str]) -> None:
    """``compare``'s ``baseline``: None, a model's name, or the default "naive" (which may be
    absent: no DM test then); a misspelt or wrong-typed one was ignored in silence."""
    if baseline is None or (
        isinstance(baseline, str) and (baseline in names or baseline == "naive")
    ):
        return
    raise (ValueError if isinstance(baseline, str) else TypeError)(
        f"`baseline` must be None or one of the models' names {names}, got {baseline!r}; pass "
        f"e.g. baseline={names[0]!r}."
    )
