"""Tests for tsnode.backtesting: walk-forward bookkeeping, no look-ahead, parallelism."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from tsnode.backtesting import BacktestResult, Comparison, backtest, compare
from tsnode.base import BaseForecaster
from tsnode.baselines import DriftForecaster, NaiveForecaster
from tsnode.datasets import make_gbm

# ----------------------------------------------------------------------------- fakes


def _quantile_frame(index, columns, center, quantiles, spread):
    """predict_quantiles-shaped frame: center (n_steps, n_series) + spread * (q - 0.5)."""
    center = np.asarray(center, dtype=float)
    cols = pd.MultiIndex.from_product([columns, list(quantiles)], names=["series", "quantile"])
    values = np.stack([center + spread * (q - 0.5) for q in quantiles], axis=-1)
    return pd.DataFrame(values.reshape(len(index), -1), index=index, columns=cols)


class MeanForecaster(BaseEstimator):
    """Forecast = mean of every value seen (fit + updates): depends on all data it sees."""

    def __init__(self, spread: float = 1.0):
        self.spread = spread

    def fit(self, y):
        self.seen_ = y.copy()
        return self

    def update(self, y):
        self.seen_ = pd.concat([self.seen_, y])
        return self

    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)):
        assert isinstance(horizon, pd.DatetimeIndex)
        assert horizon[0] > self.seen_.index[-1]
        center = np.tile(self.seen_.mean().to_numpy(), (len(horizon), 1))
        return _quantile_frame(horizon, self.seen_.columns, center, quantiles, self.spread)


class DriftFake(BaseEstimator):
    """Straight line through the first and last observation, per row (a drift model)."""

    def fit(self, y):
        self.first_ = y.iloc[0].to_numpy()
        self.last_ = y.iloc[-1].to_numpy()
        self.n_ = len(y)
        self.columns_ = y.columns
        return self

    def update(self, y):
        self.last_ = y.iloc[-1].to_numpy()
        self.n_ += len(y)
        return self

    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)):
        slope = (self.last_ - self.first_) / (self.n_ - 1)
        steps = np.arange(1, len(horizon) + 1)[:, None]
        center = self.last_ + slope * steps
        return _quantile_frame(horizon, self.columns_, center, quantiles, 2.0)

    def predict(self, horizon):
        q = self.predict_quantiles(horizon, quantiles=(0.5,))
        return q.droplevel("quantile", axis=1)


class RecorderForecaster(BaseEstimator):
    """q0.1 = rows fitted on, q0.5 = rows received by update, q0.9 = max of fitted data."""

    def fit(self, y):
        self.fit_rows_ = len(y)
        self.fit_max_ = y.max().to_numpy()
        self.update_rows_ = 0
        self.columns_ = y.columns
        return self

    def update(self, y):
        self.update_rows_ += len(y)
        return self

    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)):
        n = len(horizon)
        cols = pd.MultiIndex.from_product([self.columns_, list(quantiles)])
        values = np.empty((n, len(self.columns_), len(quantiles)))
        values[..., 0] = self.fit_rows_
        values[..., 1] = self.update_rows_
        values[..., 2] = self.fit_max_
        return pd.DataFrame(values.reshape(n, -1), index=horizon, columns=cols)


class PlainForecaster:
    """Duck-typed forecaster: no BaseEstimator, no update, no predict."""

    def fit(self, y):
        self.last_ = y.iloc[-1]
        return self

    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)):
        center = np.tile(self.last_.to_numpy(), (len(horizon), 1))
        return _quantile_frame(horizon, self.last_.index, center, quantiles, 0.0)


class LastValueBase(BaseForecaster):
    """Real BaseForecaster subclass without `_update` (update raises NotImplementedError)."""

    def __init__(self, calendar="XNYS"):
        self.calendar = calendar

    def _fit(self, frame):
        self.fit_rows_ = len(frame)

    def _predict_quantiles(self, index, quantiles):
        last = self.y_.ffill().iloc[-1].to_numpy()
        out = np.empty((len(index), len(last), len(quantiles)))
        out[:] = last[None, :, None] + np.asarray(quantiles) - 0.5
        return out


def _frame(n: int = 30, n_series: int = 2, seed: int = 0, tz=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2024-01-01", periods=n, tz=tz)
    values = 100 + np.cumsum(rng.normal(size=(n, n_series)), axis=0)
    return pd.DataFrame(values, index=index, columns=[f"s{j}" for j in range(n_series)])


BT = {"progress": False}


# ----------------------------------------------------------------------------- bookkeeping


def test_bookkeeping_exact_on_small_frame():
    data = pd.DataFrame(
        {"a": np.arange(10.0), "b": np.arange(10.0) * 10},
        index=pd.bdate_range("2024-01-01", periods=10),
    )
    res = backtest(MeanForecaster(), data, horizon=3, initial_window=5, step=2, **BT)
    assert isinstance(res, BacktestResult)
    assert list(res.cutoffs) == list(data.index[[4, 6, 8]])
    fc = res.forecasts
    expected_cols = ["cutoff", "timestamp", "series", "step", "actual", "forecast"]
    assert list(fc.columns) == [*expected_cols, "q0.1", "q0.5", "q0.9", "origin", "scale"]
    # cutoff row 8 keeps its partial horizon (one future row)
    assert fc.groupby("cutoff").size().tolist() == [6, 6, 2]
    first = fc[(fc["cutoff"] == data.index[4]) & (fc["series"] == "b")]
    assert list(first["timestamp"]) == list(data.index[5:8])
    assert first["step"].tolist() == [1, 2, 3]
    assert first["actual"].tolist() == [50.0, 60.0, 70.0]
    np.testing.assert_allclose(first["forecast"], 20.0, rtol=0, atol=1e-12)  # mean of 0..40
    np.testing.assert_allclose(first["q0.1"], 20.0 - 0.4, rtol=0, atol=1e-12)
    assert first["origin"].tolist() == [40.0] * 3
    assert first["scale"].tolist() == [10.0] * 3
    last = fc[fc["cutoff"] == data.index[8]]
    assert last["timestamp"].tolist() == [data.index[9]] * 2
    assert fc["step"].dtype == np.int64
    assert res.horizon == 3 and res.quantiles == (0.1, 0.5, 0.9)


def test_series_input_and_timezone_kept():
    data = _frame(20, 1, tz="America/New_York")["s0"].rename("price")
    res = backtest(DriftFake(), data, horizon=2, initial_window=10, **BT)
    assert set(res.forecasts["series"]) == {"price"}
    assert res.forecasts["timestamp"].dt.tz is not None
    assert res.cutoffs.tz is not None
    assert len(res.cutoffs) == 10


def test_quantile_columns_and_point_forecast_without_median():
    data = _frame(15)
    res = backtest(DriftFake(), data, horizon=2, initial_window=10, quantiles=(0.9, 0.05), **BT)
    fc = res.forecasts
    assert res.quantiles == (0.05, 0.9)
    assert {"q0.05", "q0.9"} <= set(fc.columns) and "q0.5" not in fc.columns
    # point forecast from predict(): the centre of the +-spread quantiles
    np.testing.assert_allclose(fc["forecast"], fc["q0.05"] + 2.0 * 0.45, rtol=0, atol=1e-9)
    # PlainForecaster has no predict: the 0.5 quantile is requested separately
    res2 = backtest(PlainForecaster(), data, horizon=2, initial_window=10, quantiles=(0.2,), **BT)
    np.testing.assert_allclose(res2.forecasts["forecast"], res2.forecasts["origin"], atol=0)


def test_linear_series_drift_has_zero_error():
    index = pd.bdate_range("2024-01-01", periods=40)
    data = pd.DataFrame(
        {"x": 3.0 + 2.0 * np.arange(40), "y": 50 - 0.5 * np.arange(40)}, index=index
    )
    for refit in (1, 4):
        fc = backtest(
            DriftFake(), data, horizon=5, initial_window=10, refit_every=refit, **BT
        ).forecasts
        np.testing.assert_allclose(fc["forecast"], fc["actual"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(fc.loc[fc["series"] == "x", "scale"], 2.0, rtol=0, atol=1e-12)


def test_nan_actuals_kept_unscored_origin_and_scale():
    data = _frame(25, 2, seed=3)
    data.iloc[[12, 13], 0] = np.nan
    data.iloc[16, 1] = np.nan
    result = backtest(MeanForecaster(), data, horizon=3, initial_window=10, **BT)
    fc = result.forecasts
    # forecasts of the unobserved values are kept, with a NaN actual ...
    unseen = fc["actual"].isna()
    s0_gap = (fc["series"] == "s0") & fc["timestamp"].isin(data.index[[12, 13]])
    s1_gap = (fc["series"] == "s1") & (fc["timestamp"] == data.index[16])
    pd.testing.assert_series_equal(unseen, s0_gap | s1_gap, check_names=False)
    assert fc.loc[unseen, "forecast"].notna().all()
    assert len(fc) == 2 * sum(min(3, 24 - c) for c in range(9, 24))  # every (cutoff, series, step)
    # ... and never scored
    assert result.metrics(by=()).loc["all", "count"] == len(fc) - unseen.sum()
    # cutoff at row 13: s0 last observed at row 11
    rows = fc[(fc["cutoff"] == data.index[13]) & (fc["series"] == "s0")]
    assert rows["origin"].iloc[0] == data.iloc[11, 0]
    observed = data.iloc[:14, 0].dropna().to_numpy()
    np.testing.assert_allclose(rows["scale"], np.mean(np.abs(np.diff(observed))), rtol=1e-12)
    expected_rows = sum(data.iloc[c + 1 : c + 4].notna().to_numpy().sum() for c in range(9, 24))
    assert (~unseen).sum() == expected_rows


def test_rows_of_a_series_not_yet_observed_are_left_out():
    data = _frame(25, 2, seed=3)
    data.iloc[:15, 1] = np.nan  # s1 starts at row 15
    data.iloc[[16, 17], 1] = np.nan
    fc = backtest(MeanForecaster(), data, horizon=3, initial_window=10, **BT).forecasts
    s1 = fc[fc["series"] == "s1"]
    # before row 15 s1 has no origin: only the rows with an actual (from 15 on) are kept
    assert (s1["origin"].notna() | s1["actual"].notna()).all()
    assert s1["actual"].isna().sum() > 0  # its later gaps are kept


# ----------------------------------------------------------------------------- no look-ahead


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=7, max_value=28),
    refit=st.integers(min_value=1, max_value=4),
    step=st.integers(min_value=1, max_value=3),
    sliding=st.booleans(),
)
def test_no_lookahead_changing_future_values(cut, refit, step, sliding):
    data = _frame(30, 2, seed=1)
    kw = dict(horizon=3, initial_window=8, step=step, refit_every=refit, **BT)
    if sliding:
        kw.update(window="sliding", train_length=6)
    before = backtest(MeanForecaster(), data, **kw).forecasts
    changed = data.copy()
    changed.iloc[cut + 1 :] = changed.iloc[cut + 1 :] * 10 + 1000
    after = backtest(MeanForecaster(), changed, **kw).forecasts
    cols = [
        "cutoff",
        "timestamp",
        "series",
        "step",
        "forecast",
        "q0.1",
        "q0.5",
        "q0.9",
        "origin",
        "scale",
    ]
    keep_b = before[before["cutoff"] <= data.index[cut]][cols].reset_index(drop=True)
    keep_a = after[after["cutoff"] <= data.index[cut]][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(keep_b, keep_a)
    # and the forecasts after the change do see it
    if (before["cutoff"] > data.index[cut]).any():
        assert not np.allclose(
            before.loc[before["cutoff"] > data.index[cut], "forecast"],
            after.loc[after["cutoff"] > data.index[cut], "forecast"],
        )


@pytest.mark.parametrize("window", ["expanding", "sliding"])
def test_fit_only_on_data_up_to_cutoff(window):
    data = pd.DataFrame({"v": np.arange(30.0)}, index=pd.bdate_range("2024-01-01", periods=30))
    kw = {"train_length": 5} if window == "sliding" else {}
    fc = backtest(
        RecorderForecaster(), data, horizon=2, initial_window=8, window=window, **kw, **BT
    ).forecasts
    pos = data.index.get_indexer(fc["cutoff"])
    # monotone data: the max it was fitted on is the value at the cutoff
    np.testing.assert_array_equal(fc["q0.9"], pos.astype(float))
    expected_len = pos + 1 if window == "expanding" else np.full(len(pos), 5)
    np.testing.assert_array_equal(fc["q0.1"], expected_len)


def test_refit_every_fits_once_then_updates_with_new_rows_only():
    data = pd.DataFrame({"v": np.arange(20.0)}, index=pd.bdate_range("2024-01-01", periods=20))
    fc = backtest(
        RecorderForecaster(), data, horizon=1, initial_window=5, step=2, refit_every=3, **BT
    ).forecasts
    # cutoffs rows 4, 6, 8 | 10, 12, 14 | 16, 18 -> fits at 4, 10, 16
    assert fc["q0.1"].tolist() == [5, 5, 5, 11, 11, 11, 17, 17]
    assert fc["q0.5"].tolist() == [0, 2, 4, 0, 2, 4, 0, 2]
    assert fc["q0.9"].tolist() == [4, 4, 4, 10, 10, 10, 16, 16]


def test_forecaster_without_update_is_refitted_with_one_warning():
    data = _frame(20)
    with pytest.warns(UserWarning, match="no `update` method") as record:
        res = backtest(PlainForecaster(), data, horizon=2, initial_window=10, refit_every=3, **BT)
    assert len([w for w in record if "update" in str(w.message)]) == 1
    assert res.params["refit_every"] == 1
    fc = res.forecasts
    np.testing.assert_allclose(fc["forecast"], fc["origin"], rtol=0, atol=0)


def test_input_and_forecaster_never_mutated():
    data = _frame(20)
    data.iloc[3, 1] = np.nan
    copy = data.copy()
    model = MeanForecaster(spread=2.0)
    backtest(model, data, horizon=3, initial_window=8, refit_every=2, **BT)
    pd.testing.assert_frame_equal(data, copy)
    assert not hasattr(model, "seen_") and model.spread == 2.0
    series = copy["s0"].copy()
    backtest(model, series, horizon=2, initial_window=8, **BT)
    pd.testing.assert_series_equal(series, copy["s0"])


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"horizon": 0}, ValueError, "horizon"),
        ({"horizon": -2}, ValueError, "horizon"),
        ({"horizon": 2.5}, TypeError, "horizon"),
        ({"horizon": True}, TypeError, "horizon"),
        ({"initial_window": 1}, ValueError, "initial_window"),
        ({"initial_window": 20}, ValueError, "initial_window.*19"),
        ({"step": 0}, ValueError, "step"),
        ({"refit_every": 0}, ValueError, "refit_every"),
        ({"window": "rolling"}, ValueError, "window"),
        ({"window": "sliding"}, ValueError, "train_length"),
        ({"window": "sliding", "train_length": 12}, ValueError, "train_length"),
        ({"window": "sliding", "train_length": 1}, ValueError, "train_length"),
        ({"quantiles": (0.1, 1.5)}, ValueError, "quantiles"),
        ({"quantiles": ()}, ValueError, "quantiles"),
        ({"quantiles": "0.5"}, TypeError, "quantiles"),
        ({"backend": "dask"}, ValueError, "Client"),
        ({"n_jobs": 0}, ValueError, "`n_jobs` must be a non-zero int or None, got 0"),
        ({"n_jobs": 1.5}, TypeError, "`n_jobs` must be a non-zero int"),
        ({"n_jobs": True}, TypeError, "`n_jobs` must be a non-zero int"),
    ],
)
def test_validation_errors_name_the_parameter(kwargs, exc, match):
    params = {"horizon": 2, "initial_window": 10, **BT, **kwargs}
    with pytest.raises(exc, match=match):
        backtest(MeanForecaster(), _frame(20), **params)


@pytest.mark.parametrize("missing", ["fit", "predict_quantiles"])
def test_forecaster_without_api_raises_type_error(missing):  # (no predict either)
    class Broken:
        def fit(self, y):
            return self

        def predict_quantiles(self, horizon, quantiles):
            return None

    setattr(Broken, missing, None)
    with pytest.raises(TypeError, match=missing):
        backtest(Broken(), _frame(20), horizon=1, initial_window=10, **BT)


class _PointOnly:
    """fit/predict only (no predict_quantiles): the last observed price, times 1.001."""

    def fit(self, y):
        self.last_ = y.ffill().iloc[-1] * 1.001
        return self

    def predict(self, horizon):
        values = [self.last_.to_numpy()] * len(horizon)
        return pd.DataFrame(values, index=horizon, columns=self.last_.index)


def test_a_point_forecaster_with_fit_and_predict_only_is_backtested():
    # regression: "must have a `predict_quantiles` method", though the house rule is that
    # backtesting accepts any object with fit/predict
    data = _frame(30, 2, seed=3)
    kw = dict(horizon=2, initial_window=20, **BT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = backtest(_PointOnly(), data, **kw)
        scores = result.metrics(by=None).iloc[0]
    naive = backtest(NaiveForecaster(), data, **kw)
    assert result.quantiles == () and not any(c.startswith("q") for c in result.forecasts)
    np.testing.assert_allclose(result.forecasts["forecast"], 1.001 * naive.forecasts["forecast"])
    assert np.isnan(scores["crps"]) and np.isnan(scores["pinball"]) and scores["mae"] > 0
    board = compare({"naive": NaiveForecaster(), "point": _PointOnly()}, data, **kw).leaderboard
    assert np.isnan(board.loc["point", "coverage_80"]) and np.isfinite(board.loc["point", "mae"])
    assert np.isfinite(board.loc["point", "dm_pvalue"])
    with pytest.raises(TypeError, match=r"must have a `predict_quantiles` or `predict` method"):
        backtest(type("FitOnly", (), {"fit": lambda self, y: self})(), data, **kw)
    # review: levels asked of a point forecaster were dropped in silence
    with pytest.warns(UserWarning, match=r"quantiles=\[0.1, 0.9\] are ignored: _PointOnly has no"):
        assert backtest(_PointOnly(), data, quantiles=(0.1, 0.9), **kw).quantiles == ()
    from tsnode.plotting import plot_calibration

    with pytest.raises(ValueError, match="no quantile column: a point forecaster's backtest"):
        plot_calibration(result)


def test_forecaster_class_instead_of_instance_raises():
    with pytest.raises(TypeError, match=r"MeanForecaster\(\)"):
        backtest(MeanForecaster, _frame(20), horizon=1, initial_window=10, **BT)


def test_train_length_ignored_with_expanding_warns():
    with pytest.warns(UserWarning, match="train_length"):
        backtest(MeanForecaster(), _frame(15), horizon=1, initial_window=10, train_length=5, **BT)


def test_bad_forecaster_output_is_reported():
    class Short(MeanForecaster):
        def predict_quantiles(self, horizon, quantiles=(0.5,)):
            return super().predict_quantiles(horizon[:1], quantiles)

    with pytest.raises(ValueError, match="rows"):
        backtest(Short(), _frame(20), horizon=3, initial_window=10, **BT)

    class NoMedianColumn(MeanForecaster):
        def predict_quantiles(self, horizon, quantiles=(0.5,)):
            return super().predict_quantiles(horizon, quantiles).iloc[:, :1]

    with pytest.raises(ValueError, match="quantile"):
        backtest(NoMedianColumn(), _frame(20), horizon=1, initial_window=10, **BT)


# ----------------------------------------------------------------------------- parallel, progress


def test_parallel_identical_to_sequential():
    data = _frame(40, 2, seed=5)
    kw = dict(horizon=4, initial_window=10, step=2, refit_every=3, **BT)
    seq = backtest(MeanForecaster(), data, n_jobs=1, **kw)
    par = backtest(MeanForecaster(), data, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(seq.forecasts, par.forecasts)
    pd.testing.assert_index_equal(seq.cutoffs, par.cutoffs)
    threads = backtest(MeanForecaster(), data, n_jobs=2, backend="threading", **kw)
    pd.testing.assert_frame_equal(seq.forecasts, threads.forecasts)


class _WarningMean(MeanForecaster):
    def fit(self, y):
        warnings.warn("a fold warning", UserWarning, stacklevel=2)
        if len(y) > 14:
            raise ValueError("a fold failure")
        return super().fit(y)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_fold_warnings_reach_the_caller_also_from_worker_processes(n_jobs):
    # regression: with n_jobs=2 the folds' warnings only reached the workers' stderr
    kw = dict(horizon=2, initial_window=10, step=2, refit_every=1, n_jobs=n_jobs, **BT)
    with pytest.warns(UserWarning, match="a fold warning") as record:
        backtest(_WarningMean(), _frame(14, 1, seed=5), **kw)
    if n_jobs == 2:  # re-issued once
        assert len([r for r in record if "a fold warning" in str(r.message)]) == 1
    with pytest.warns(UserWarning, match="a fold warning"):  # also when a fold fails
        with pytest.raises(ValueError, match="a fold failure"):
            backtest(_WarningMean(), _frame(20, 1, seed=5), **kw)


def test_threaded_folds_leave_the_warnings_machinery_intact():
    # regression (review): recording warnings in threads raced on process-wide state and
    # left every later warning of the process silenced
    from joblib import parallel_config

    filters = list(warnings.filters)
    kw = dict(horizon=2, initial_window=10, step=2, refit_every=1, n_jobs=2, **BT)
    with pytest.warns(UserWarning, match="a fold warning"):  # threads warn as usual
        with parallel_config(backend="threading"):
            backtest(_WarningMean(), _frame(14, 1, seed=5), **kw)
        backtest(_WarningMean(), _frame(14, 1, seed=5), backend="threading", **kw)
    assert warnings.filters == filters
    with pytest.warns(UserWarning, match="still heard"):
        warnings.warn("still heard", UserWarning, stacklevel=1)


def test_reissued_warnings_keep_their_module_for_the_callers_filters():
    from tsnode._warnings import reissue_recorded

    recorded = [("from mylib", UserWarning, "/somewhere/mylib.py", 3, "mylib")]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", module="mylib")
        reissue_recorded(recorded, stacklevel=1)
    assert caught == []


def test_reissued_warnings_without_a_module_are_shown():
    # regression: a model class defined in a script or notebook warns from a file with no
    # module ("<dynamic-code>" in a worker); module=None made CPython drop the warning
    from tsnode._warnings import reissue_recorded

    recorded = [("from a notebook", UserWarning, "<dynamic-code>", 7, None)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reissue_recorded(recorded, stacklevel=1)
    assert [str(w.message) for w in caught] == ["from a notebook"]
    assert caught[0].filename == "<dynamic-code>" and caught[0].lineno == 7


def test_dask_backend_runs_folds_on_the_cluster():
    distributed = pytest.importorskip("distributed")
    data = _frame(30, 2, seed=6)
    kw = dict(horizon=3, initial_window=10, refit_every=2, **BT)
    expected = backtest(MeanForecaster(), data, **kw).forecasts
    # two worker threads: with one, joblib's dask backend runs tasks in-process
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        distributed.get_task_stream(client) as tasks,
    ):
        res = backtest(MeanForecaster(), data, backend="dask", n_jobs=-1, **kw)
    assert len(tasks.data) > 0
    pd.testing.assert_frame_equal(res.forecasts, expected)


def test_progress_bar_over_folds(capsys):
    data = _frame(20)
    backtest(MeanForecaster(), data, horizon=1, initial_window=10, refit_every=3, progress=True)
    err = capsys.readouterr().err
    assert "4/4" in err and "fold" in err
    backtest(MeanForecaster(), data, horizon=1, initial_window=10, progress=False)
    assert capsys.readouterr().err == ""


def test_plain_duck_typed_forecaster_is_backtested():
    data = _frame(20)
    res = backtest(PlainForecaster(), data, horizon=2, initial_window=15, **BT)
    assert len(res.cutoffs) == 5  # rows 14..18
    assert "PlainForecaster" in res.params["forecaster"]


def test_invalid_data_names_the_parameter():
    data = _frame(20).reset_index(drop=True)
    with pytest.raises(TypeError, match="`data`.*DatetimeIndex"):
        backtest(MeanForecaster(), data, horizon=1, initial_window=10, **BT)


# ----------------------------------------------------------------------------- metrics


def _result(seed: int = 2, quantiles=(0.1, 0.5, 0.9)) -> BacktestResult:
    data = _frame(30, 2, seed=seed)
    return backtest(
        MeanForecaster(spread=3.0), data, horizon=3, initial_window=10, quantiles=quantiles, **BT
    )


def test_overall_metrics_known_answers():
    m = pytest.importorskip("tsnode.metrics")
    res = _result()
    fc = res.forecasts
    table = res.metrics(by=None)
    assert list(table.index) == ["all"]
    row = table.loc["all"]
    err = fc["actual"] - fc["forecast"]
    assert row["count"] == len(fc)
    np.testing.assert_allclose(row["mae"], err.abs().mean(), rtol=1e-12)
    np.testing.assert_allclose(row["rmse"], np.sqrt((err**2).mean()), rtol=1e-12)
    np.testing.assert_allclose(row["mase"], (err.abs() / fc["scale"]).mean(), rtol=1e-12)
    inside = (fc["actual"] >= fc["q0.1"]) & (fc["actual"] <= fc["q0.9"])
    np.testing.assert_allclose(row["coverage_80"], inside.mean(), rtol=1e-12)
    np.testing.assert_allclose(row["width_80"], 3.0 * 0.8, rtol=1e-12)
    y, f, yq = fc["actual"].to_numpy(), fc["forecast"].to_numpy(), fc[["q0.1", "q0.5", "q0.9"]]
    np.testing.assert_allclose(row["mape"], m.mape(y, f), rtol=1e-12)
    np.testing.assert_allclose(row["smape"], m.smape(y, f), rtol=1e-12)
    q = (0.1, 0.5, 0.9)
    np.testing.assert_allclose(row["crps"], m.crps_from_quantiles(y, yq.to_numpy(), q), rtol=1e-12)
    np.testing.assert_allclose(row["pinball"], m.pinball_loss(y, yq.to_numpy(), q), rtol=1e-12)
    da = m.directional_accuracy(y, f, fc["origin"].to_numpy())
    np.testing.assert_allclose(row["directional_accuracy"], da, rtol=1e-12)
    pd.testing.assert_frame_equal(res.metrics(by=()), table)


def test_grouped_metrics_match_manual_groups():
    pytest.importorskip("tsnode.metrics")
    res = _result()
    fc = res.forecasts
    table = res.metrics()
    assert table.index.names == ["series", "step"]
    assert len(table) == 2 * 3 and table["count"].sum() == len(fc)
    sub = fc[(fc["series"] == "s1") & (fc["step"] == 2)]
    np.testing.assert_allclose(
        table.loc[("s1", 2), "mae"], (sub["actual"] - sub["forecast"]).abs().mean(), rtol=1e-12
    )
    by_series = res.metrics(by="series")
    assert by_series.index.name == "series" and list(by_series.index) == ["s0", "s1"]
    with pytest.raises(ValueError, match="by"):
        res.metrics(by="model")


def test_drift_on_linear_series_scores_zero_error():
    pytest.importorskip("tsnode.metrics")
    index = pd.bdate_range("2024-01-01", periods=30)
    data = pd.DataFrame({"x": 3.0 + 2.0 * np.arange(30)}, index=index)
    row = backtest(DriftFake(), data, horizon=4, initial_window=8, **BT).metrics(by=None).iloc[0]
    assert row["mae"] == pytest.approx(0.0, abs=1e-9)
    assert row["mase"] == pytest.approx(0.0, abs=1e-9)
    assert row["directional_accuracy"] == pytest.approx(1.0)
    assert row["coverage_80"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("quantiles", "label"), [((0.05, 0.5, 0.95), "90"), ((0.025, 0.1, 0.9, 0.975), "95")]
)
def test_coverage_column_named_after_outermost_interval(quantiles, label):
    pytest.importorskip("tsnode.metrics")
    table = _result(quantiles=quantiles).metrics(by=None)
    assert f"coverage_{label}" in table.columns and f"width_{label}" in table.columns
    assert not any(c.startswith("coverage_") and c != f"coverage_{label}" for c in table.columns)
    no_pair = _result(quantiles=(0.25, 0.5)).metrics(by=None)
    assert not any(c.startswith("coverage") for c in no_pair.columns)


# ----------------------------------------------------------------------------- compare


def test_compare_leaderboard_on_identical_cutoffs():
    pytest.importorskip("tsnode.metrics")
    data = _frame(40, 2, seed=9)
    models = {"mean": MeanForecaster(), "drift": DriftFake(), "naive": PlainForecaster()}
    comp = compare(models, data, horizon=2, initial_window=15, **BT)
    assert isinstance(comp, Comparison)
    board = comp.leaderboard
    assert set(board.index) == set(models) and board.index.name == "model"
    assert board["mase"].is_monotonic_increasing
    assert {"mase", "crps", "coverage_80", "directional_accuracy", "dm_pvalue"} <= set(board)
    assert np.isnan(board.loc["naive", "dm_pvalue"])
    assert 0.0 <= board.loc["mean", "dm_pvalue"] <= 1.0
    assert comp.baseline == "naive"
    assert isinstance(comp.results["naive"], BacktestResult)
    pd.testing.assert_index_equal(comp.results["mean"].cutoffs, comp.results["naive"].cutoffs)
    solo = backtest(DriftFake(), data, horizon=2, initial_window=15, **BT)
    pd.testing.assert_frame_equal(comp.results["drift"].forecasts, solo.forecasts)
    stacked = comp.metrics(by="series")
    assert stacked.index.names == ["model", "series"] and len(stacked) == 6


def test_compare_without_baseline_and_errors():
    pytest.importorskip("tsnode.metrics")
    data = _frame(25)
    comp = compare(
        {"a": MeanForecaster(), "b": DriftFake()}, data, horizon=1, initial_window=15, **BT
    )
    assert comp.baseline is None and "dm_pvalue" not in comp.leaderboard
    with pytest.raises(TypeError, match="forecasters"):
        compare({}, data, horizon=1, initial_window=15)
    with pytest.raises(TypeError, match=r"forecasters\['bad'\].*predict_quantiles"):
        compare({"bad": object()}, data, horizon=1, initial_window=15)


def test_compare_refuses_keys_with_the_same_str_name():
    # regression: {1: ..., "1": ...} silently kept one model (a 1-row leaderboard)
    data = _frame(25)
    with pytest.raises(ValueError, match=r"keys \[1, '1'\] that all read '1'"):
        compare({1: MeanForecaster(), "1": DriftFake()}, data, horizon=1, initial_window=15)
    comp = compare({1: MeanForecaster(), 2: DriftFake()}, data, horizon=1, initial_window=15, **BT)
    assert sorted(comp.leaderboard.index) == ["1", "2"]


@pytest.mark.parametrize("by", [3, 1.5, ("series", 2), {"series"}])
def test_metrics_by_of_a_wrong_type_lists_the_allowed_values(by):
    # regression: by=3 failed with "'int' object is not iterable"
    result = backtest(MeanForecaster(), _frame(20), horizon=2, initial_window=10, **BT)
    with pytest.raises(TypeError, match=r"`by` must be a column name.*'series', 'step'"):
        result.metrics(by=by)
    assert result.metrics(by=["step"]).index.name == "step"
    assert list(result.metrics(by=None).index) == ["all"]


def test_base_forecaster_update_not_implemented_falls_back_to_refits():
    data = _frame(20)
    with pytest.warns(UserWarning, match="NotImplementedError") as record:
        res = backtest(LastValueBase(), data, horizon=2, initial_window=10, refit_every=3, **BT)
    assert len([w for w in record if "NotImplementedError" in str(w.message)]) == 1
    fc = res.forecasts
    # refitted at each cutoff: the median is the last value at the cutoff
    np.testing.assert_allclose(fc["forecast"], fc["origin"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(fc["q0.9"] - fc["q0.1"], 0.8, rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- real baselines


def _prices(n: int = 60, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2023-03-01", periods=n)
    log_prices = np.log([50.0, 120.0]) + np.cumsum(rng.normal(0, 0.02, size=(n, 2)), axis=0)
    return pd.DataFrame(np.exp(log_prices), index=index, columns=["AAA", "BBB"])


@pytest.mark.parametrize("refit_every", [1, 4])
def test_drift_forecaster_on_linear_series_has_zero_error(refit_every):
    from tsnode.baselines import DriftForecaster

    index = pd.bdate_range("2024-01-01", periods=30)
    data = pd.DataFrame({"x": 3.0 + 2.0 * np.arange(30), "y": 90.0 - 0.5 * np.arange(30)}, index)
    res = backtest(
        DriftForecaster(), data, horizon=4, initial_window=8, refit_every=refit_every, **BT
    )
    fc = res.forecasts
    np.testing.assert_allclose(fc["forecast"], fc["actual"], rtol=0, atol=1e-9)
    row = res.metrics(by=None).iloc[0]
    assert row["mae"] == pytest.approx(0.0, abs=1e-9)
    assert row["mase"] == pytest.approx(0.0, abs=1e-9)
    assert row["directional_accuracy"] == pytest.approx(1.0)


@pytest.mark.parametrize(("cut", "refit_every"), [(20, 1), (27, 3), (41, 5)])
def test_naive_forecaster_has_no_lookahead(cut, refit_every):
    from tsnode.baselines import NaiveForecaster

    data = _prices()
    kw = dict(horizon=3, initial_window=15, step=2, refit_every=refit_every, **BT)
    before = backtest(NaiveForecaster(), data, **kw).forecasts
    changed = data.copy()
    changed.iloc[cut + 1 :] *= np.linspace(0.5, 3.0, len(data) - cut - 1)[:, None]
    after = backtest(NaiveForecaster(), changed, **kw).forecasts
    cols = ["cutoff", "timestamp", "series", "step", "forecast", "q0.1", "q0.5", "q0.9"]
    early_b = before.loc[before["cutoff"] <= data.index[cut], cols].reset_index(drop=True)
    early_a = after.loc[after["cutoff"] <= data.index[cut], cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(early_b, early_a)
    late = before["cutoff"] > data.index[cut]
    assert not np.allclose(before.loc[late, "q0.9"], after.loc[late, "q0.9"])
    # the naive median is the last observed value at the cutoff
    np.testing.assert_allclose(before["forecast"], before["origin"], rtol=1e-12)


def test_compare_real_baselines():
    from tsnode.baselines import DriftForecaster, GBMForecaster, NaiveForecaster

    data = _prices(80, seed=11)
    models = {"gbm": GBMForecaster(), "drift": DriftForecaster(), "naive": NaiveForecaster()}
    comp = compare(models, data, horizon=5, initial_window=30, step=2, refit_every=5, **BT)
    board = comp.leaderboard
    assert list(board.index) == list(board.sort_values("mase").index)
    assert np.isnan(board.loc["naive", "dm_pvalue"])
    assert board.drop(index="naive")["dm_pvalue"].between(0, 1).all()
    assert (board["count"] == len(comp.results["naive"].forecasts)).all()
    assert board["coverage_80"].between(0, 1).all()
    for result in comp.results.values():
        pd.testing.assert_index_equal(result.cutoffs, comp.results["naive"].cutoffs)


def test_backtesting_module_never_imports_torch():
    import ast
    import inspect

    import tsnode.backtesting as module

    tree = ast.parse(inspect.getsource(module))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    forbidden = {"torch", "torchdiffeq", "tsnode.forecaster", "tsnode.training", "tsnode.nn"}
    assert not {name for name in imported if name.split(".")[0] in forbidden or name in forbidden}


@pytest.mark.slow
def test_tsnode_forecaster_backtest_has_no_lookahead():
    from tsnode.forecaster import TSNodeForecaster

    data = _prices(60, seed=8)
    model = TSNodeForecaster(
        latent_dim=2,
        hidden_dim=4,
        ode_units=8,
        ode_layers=1,
        context_length=10,
        forecast_length=3,
        epochs=1,
        steps_per_epoch=2,
        batch_size=4,
        n_predict_samples=20,
        patience=None,
        random_state=0,
    )
    kw = dict(horizon=2, initial_window=40, step=5, refit_every=2, **BT)
    before = backtest(model, data, **kw).forecasts
    cut = 45
    changed = data.copy()
    changed.iloc[cut + 1 :] *= 1.5
    after = backtest(model, changed, **kw).forecasts
    early = before["cutoff"] <= data.index[cut]
    assert early.sum() > 0
    pd.testing.assert_frame_equal(
        before.loc[early].drop(columns="actual"),
        after.loc[after["cutoff"] <= data.index[cut]].drop(columns="actual"),
    )
    assert not np.allclose(before.loc[~early, "q0.5"], after.loc[~early, "q0.5"])


def test_forecaster_errors_say_where_they_happened():
    class FailsLate(MeanForecaster):
        def fit(self, y):
            if len(y) > 12:
                raise ValueError("too many rows")
            return super().fit(y)

    data = _frame(20)
    with pytest.raises(ValueError, match="too many rows") as info:
        backtest(FailsLate(), data, horizon=1, initial_window=10, **BT)
    notes = " ".join(info.value.__notes__)  # set on Python 3.10 too (no add_note there)
    assert "cutoff" in notes
    assert str(data.index[12].date()) in notes and "fitting" in notes


def test_plot_draws_forecasts_against_actuals():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = backtest(MeanForecaster(), _frame(25), horizon=2, initial_window=10, **BT)
    fig = res.plot(series="s1", step=2)
    try:
        assert len(fig.axes) >= 1 and len(fig.axes[0].lines) >= 2
    finally:
        plt.close(fig)


def test_yfinance_frame_uses_the_forecasters_target_and_unsorted_warns():
    from tsnode.baselines import NaiveForecaster

    prices = _prices(30)
    fields = {"Close": prices, "Open": prices * 2.0}
    yf_frame = pd.concat(fields, axis=1, names=["Price", "Ticker"])
    res = backtest(NaiveForecaster(target="Open"), yf_frame, horizon=1, initial_window=20, **BT)
    assert set(res.forecasts["series"]) == {"AAA", "BBB"}
    row = res.forecasts.iloc[0]
    assert row["actual"] == prices.loc[row["timestamp"], row["series"]] * 2.0
    shuffled = prices.iloc[::-1]
    with pytest.warns(UserWarning, match="sort") as record:
        backtest(NaiveForecaster(), shuffled, horizon=1, initial_window=20, **BT)
    assert record[0].filename == __file__


def test_result_records_the_price_field_it_forecast():
    from tsnode.baselines import DriftForecaster, NaiveForecaster

    prices = _prices(30)
    yf_frame = pd.concat({"Close": prices, "Open": prices * 2.0}, axis=1, names=["Price", "Ticker"])
    res = backtest(NaiveForecaster(target="Open"), yf_frame, horizon=1, initial_window=20, **BT)
    assert res.target == "Open"
    assert res.forecasts.attrs["target"] == "Open"  # the table alone still says it
    assert backtest(NaiveForecaster(), prices, horizon=1, initial_window=20, **BT).target == "Close"
    plain = backtest(PlainForecaster(), prices, horizon=1, initial_window=20, **BT)
    assert plain.target == "Close"  # no `target` parameter: yfinance frames give "Close"
    board = compare(
        {"open": NaiveForecaster(target="Open"), "drift": DriftForecaster(target="Open")},
        yf_frame,
        horizon=1,
        initial_window=20,
        **BT,
    )
    assert {n: r.target for n, r in board.results.items()} == {"open": "Open", "drift": "Open"}


def test_public_names_importable_from_the_module_and_the_package():
    import tsnode
    import tsnode.backtesting as bt

    for name in bt.__all__:
        assert getattr(tsnode, name) is getattr(bt, name)
        assert getattr(bt, name).__module__ == "tsnode.backtesting"


class _HalfBroken(NaiveForecaster):
    """A random walk whose upper quantile is NaN at every other cutoff."""

    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)):
        out = super().predict_quantiles(horizon, quantiles)
        if len(self.y_) % 2:
            out.loc[:, (slice(None), max(quantiles))] = np.nan
        return out


def test_nan_forecasts_are_not_dropped_silently_from_the_scores():
    # regression: coverage and CRPS were computed on the rows left while `count` said all
    y = make_gbm(1, n_days=80, random_state=2)
    result = backtest(_HalfBroken(), y, horizon=2, initial_window=40, progress=False)
    with pytest.warns(RuntimeWarning, match=r"rows have a NaN forecast or quantile") as rec:
        result.metrics(by=None)
    assert rec[0].filename == __file__
    clean = backtest(NaiveForecaster(), y, horizon=2, initial_window=40, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean.metrics(by=None)


class _InfiniteAtOneCutoff(NaiveForecaster):
    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)):
        out = super().predict_quantiles(horizon, quantiles)
        if len(self.y_) == 42:
            out.iloc[1, 0] = np.inf
        return out


class _PointFromOtherColumns(NaiveForecaster):
    def predict(self, horizon):
        return super().predict(horizon).set_axis(["yhat"], axis=1)


def test_infinite_forecasts_are_refused_naming_the_series_and_time():
    # regression: inf was stored, then every metrics() call failed on "`y_pred` contains 2
    # infinite values" (an internal array) and simulate went long on it
    y = make_gbm(1, n_days=60, random_state=2)
    with pytest.raises(
        ValueError, match=r"predict_quantiles returned inf for series 's0' at 2015-03-04"
    ) as e:
        backtest(_InfiniteAtOneCutoff(), y, horizon=2, initial_window=40, progress=False)
    assert "cutoff" in " ".join(e.value.__notes__)


def test_point_forecasts_from_predict_must_name_the_series():
    # regression: a predict frame with other column names gave all-NaN point forecasts
    y = make_gbm(1, n_days=60, random_state=2)
    kw = dict(horizon=2, initial_window=40, quantiles=(0.1, 0.9), progress=False)
    with pytest.raises(ValueError, match=r"predict returned columns \['yhat'\] for the series"):
        backtest(_PointFromOtherColumns(), y, **kw)
    assert backtest(NaiveForecaster(), y, **kw).forecasts["forecast"].notna().all()


def test_compare_names_a_misspelt_required_keyword():
    # regression: horizn=1 was reported as "missing a required argument: 'horizon'"
    y = make_gbm(1, n_days=60, random_state=2)
    with pytest.raises(TypeError, match="no keyword 'horizn'; did you mean 'horizon'"):
        compare({"naive": NaiveForecaster()}, y, horizn=1, initial_window=30)
    with pytest.raises(TypeError, match="no keyword 'forecaster'. Its keywords"):
        compare({"naive": NaiveForecaster()}, y, horizon=1, initial_window=30, forecaster=1)


def test_compare_warns_when_too_few_cutoffs_for_the_dm_test():
    # regression: two cutoffs gave NaN DM columns without a word
    y = make_gbm(1, n_days=42, random_state=2)
    models = {"naive": NaiveForecaster(), "drift": DriftForecaster()}
    with pytest.warns(RuntimeWarning, match="no Diebold-Mariano test.*got 2") as rec:
        board = compare(models, y, horizon=1, initial_window=40, progress=False).leaderboard
    assert board["dm_pvalue"].isna().all() and rec[0].filename == __file__


def test_too_little_data_says_how_many_rows_are_needed():
    # regression: with 2 rows the error advised initial_window <= 1 (the minimum is 2)
    y = make_gbm(1, n_days=60, random_state=2).iloc[:2]
    with pytest.raises(ValueError, match="for data with 2 rows; 3 rows are needed"):
        backtest(NaiveForecaster(), y, horizon=1, initial_window=2, progress=False)


def test_compare_refuses_an_unknown_keyword_before_blaming_a_model():
    y = make_gbm(1, n_days=60, random_state=2)
    with pytest.raises(TypeError, match="compare passes its keywords to backtest.*'refit'") as err:
        compare({"naive": NaiveForecaster()}, y, horizon=2, initial_window=30, refit=True)
    assert not getattr(err.value, "__notes__", [])


def test_rows_without_a_mase_scale_are_not_dropped_silently():
    # regression: rows whose training window never moved (naive error 0) were left out of
    # MASE while `count` included them, without a word
    y = make_gbm(1, n_days=80, random_state=2)
    y.iloc[:45, 0] = 100.0
    result = backtest(NaiveForecaster(), y, horizon=2, initial_window=40, progress=False)
    with pytest.warns(RuntimeWarning, match=r"12 of 79 scored rows have no MASE scale") as rec:
        scores = result.metrics(by=None)
    assert rec[0].filename == __file__
    assert np.isfinite(scores.loc["all", "mase"]) and scores.loc["all", "count"] == 79
    # regression: through Comparison.metrics, and a metric's own warning through
    # BacktestResult.metrics, the warnings pointed into tsnode (_scoring.py, backtesting.py)
    with pytest.warns(RuntimeWarning, match="no MASE scale") as rec:
        comparison = compare({"naive": NaiveForecaster()}, y, horizon=2, initial_window=40)
    assert {r.filename for r in rec} == {__file__}
    with pytest.warns(RuntimeWarning, match="no MASE scale") as rec:
        comparison.metrics()
    assert {r.filename for r in rec} == {__file__}
    zeros = result.forecasts.assign(actual=0.0)
    with pytest.warns(RuntimeWarning, match="mape|no MASE scale") as rec:
        dataclasses.replace(result, forecasts=zeros).metrics(by=None)
    assert {r.filename for r in rec if "mape" in str(r.message)} == {__file__}


def test_compare_refuses_models_forecasting_different_fields():
    # regression: Naive on Close vs Naive on Open (= 2 x Close) had the same MASE but a DM
    # p-value of 1e-30, the Close forecasts being scored against the Open actuals
    close = make_gbm(1, n_days=40, random_state=0).rename(columns={"s0": "A"})
    fields = pd.concat({"Close": close, "Open": 2.0 * close}, axis=1)
    fields.columns.names = ["Price", "Ticker"]
    models = {"naive": NaiveForecaster(), "open": NaiveForecaster(target="Open")}
    with pytest.raises(ValueError, match=r"same price field.*target='Close' \('naive'\)"):
        compare(models, fields, horizon=2, initial_window=20, progress=False)
    # on a plain frame of prices `target` picks nothing: no error (two identical random
    # walks: the DM test is undefined)
    with pytest.warns(RuntimeWarning, match="loss differential is constant"):
        board = compare(models, close, horizon=2, initial_window=20, progress=False).leaderboard
    assert board["mase"].nunique() == 1


class _Shifted(NaiveForecaster):
    """Forecasts one business day later than asked (a third-party bug)."""

    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)):
        out = super().predict_quantiles(horizon, quantiles)
        out.index = out.index + pd.offsets.BDay(1)
        return out


def test_forecasts_for_other_timestamps_than_asked_are_refused():
    # regression: only the row count was checked, so shifted rows were scored silently
    y = make_gbm(1, n_days=40, random_state=0)
    with pytest.raises(ValueError, match="indexed by those timestamps") as err:
        backtest(_Shifted(), y, horizon=2, initial_window=20, progress=False)
    assert "while forecasting" in err.value.__notes__[0]


def test_compare_reissues_each_warning_once_at_the_callers_line_naming_the_models():
    # regression: warnings raised inside compare's backtests and metrics pointed at
    # tsnode/backtesting.py, once per model
    from tsnode import DriftForecaster

    y = make_gbm(1, n_days=80, random_state=2)
    y.iloc[:45, 0] = 100.0  # no naive scale in the first training windows
    models = {"naive": NaiveForecaster(), "drift": DriftForecaster()}
    with pytest.warns(RuntimeWarning, match="no MASE scale") as record:
        compare(models, y, horizon=2, initial_window=40, progress=False, baseline=None)
    mase = [r for r in record if "no MASE scale" in str(r.message)]
    assert len(mase) == 1 and mase[0].filename == __file__
    assert "[compare: models 'naive', 'drift']" in str(mase[0].message)


class _WarnsThenFails(NaiveForecaster):
    def _fit(self, frame):
        warnings.warn("explains the failure", UserWarning, stacklevel=2)
        raise ValueError("boom")


class _DetailWarning(UserWarning):
    def __init__(self, message, detail):
        super().__init__(message)
        self.detail = detail


class _WarnsWithDetail(NaiveForecaster):
    def _fit(self, frame):
        warnings.warn(_DetailWarning("with detail", detail=42), stacklevel=2)
        return super()._fit(frame)


def test_compare_keeps_warnings_of_a_failing_model_and_custom_warning_classes():
    # regression: a model's warnings were lost when it raised, a warning class with its own
    # __init__ crashed compare at the end, and filters set by the caller were overridden
    y = make_gbm(1, n_days=60, random_state=2)
    kwargs = dict(horizon=2, initial_window=40, progress=False, baseline=None)
    with pytest.warns(UserWarning, match="explains the failure"):
        with pytest.raises(ValueError, match="boom"):
            compare({"naive": NaiveForecaster(), "bad": _WarnsThenFails()}, y, **kwargs)
    with pytest.warns(_DetailWarning, match=r"with detail \[compare: model 'detail'\]") as rec:
        compare({"naive": NaiveForecaster(), "detail": _WarnsWithDetail()}, y, **kwargs)
    assert [r.message.detail for r in rec if r.category is _DetailWarning] == [42]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="with detail")
        compare({"detail": _WarnsWithDetail()}, y, **kwargs)  # ignored stays ignored


def test_error_notes_are_kept_without_add_note():
    # regression: on Python 3.10 (no BaseException.add_note) backtest and compare dropped the
    # cutoff and model name, so the CLI's one-line error lost them
    from types import SimpleNamespace

    from tsnode._warnings import add_note

    legacy = SimpleNamespace()  # like a 3.10 exception: no add_note method
    add_note(legacy, "first")
    add_note(legacy, "second")
    assert legacy.__notes__ == ["first", "second"]
    error = ValueError("boom")
    add_note(error, "note")
    assert error.__notes__ == ["note"]


def test_compare_names_the_model_that_failed():
    class Fails(MeanForecaster):
        def fit(self, y):
            raise ValueError("no luck")

    with pytest.raises(ValueError, match="no luck") as info:
        compare(
            {"mean": MeanForecaster(), "bad": Fails()},
            _frame(20),
            horizon=1,
            initial_window=10,
            **BT,
        )
    assert "tsnode.compare: raised by the model 'bad'." in info.value.__notes__


def test_forecaster_warnings_inside_a_sequential_backtest_point_at_the_callers_line():
    # regression (audit): the extreme-quantile, time-scale and failed-fit warnings had fixed
    # stacklevels, so inside backtest (n_jobs=1) or an ensemble they pointed into
    # tsnode/_folds.py or tsnode/ensemble.py
    from tests.test_forecaster import MICRO
    from tsnode import TSNodeForecaster

    y = make_gbm(1, n_days=60, random_state=0)
    model = TSNodeForecaster(**dict(MICRO, n_predict_samples=20))
    with pytest.warns(UserWarning, match="lie beyond what 20 sample paths resolve") as rec:
        backtest(model, y, horizon=2, initial_window=50, step=5, quantiles=(0.01, 0.5), **BT)
    assert {r.filename for r in rec if "sample paths resolve" in str(r.message)} == {__file__}


def test_compare_refuses_a_baseline_that_is_not_a_model():
    # regression (audit): baseline="Naive" or baseline=3 dropped the DM columns in silence
    models = {"naive": NaiveForecaster(), "mean": MeanForecaster()}
    kwargs = dict(horizon=1, initial_window=10, **BT)
    with pytest.raises(ValueError, match=r"`baseline` must be None or one of .*got 'Naive'"):
        compare(models, _frame(20), baseline="Naive", **kwargs)
    with pytest.raises(TypeError, match=r"`baseline` must be None or one of .*got 3"):
        compare(models, _frame(20), baseline=3, **kwargs)
    # the default "naive" may be absent: no DM test then
    board = compare({"mean": MeanForecaster()}, _frame(20), **kwargs).leaderboard
    assert "dm_pvalue" not in board.columns
    assert "dm_pvalue" in compare(models, _frame(20), baseline="mean", **kwargs).leaderboard


def test_backtest_checks_progress():
    # regression (audit): progress was never validated (any truthy object showed a bar)
    with pytest.raises(TypeError, match="`progress` must be True or False, got 'no'"):
        backtest(NaiveForecaster(), _frame(20), horizon=1, initial_window=10, progress="no")


def test_grouped_metrics_without_scored_rows_keep_their_columns_and_index():
    # regression (review): with no forecast row to score, metrics(by="series") was a frame
    # with no columns and an unnamed index, unlike every other result
    y = pd.Series(
        [100.0, 101.0, 102.0, 103.0, np.nan], index=pd.bdate_range("2024-01-01", periods=5)
    ).rename("A")
    result = backtest(NaiveForecaster(), y, horizon=1, initial_window=4, **BT)
    full = backtest(NaiveForecaster(), _frame(30), horizon=2, initial_window=20, **BT)
    for by in ("series", ["series", "step"]):
        empty, scored = result.metrics(by=by), full.metrics(by=by)
        assert empty.empty and list(empty.columns) == list(scored.columns)
        assert list(empty.index.names) == list(scored.index.names)
