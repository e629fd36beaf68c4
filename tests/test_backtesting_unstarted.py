"""Backtests of series that start (or stop) during the backtest: only the series with enough
observations in a cutoff's training window are fitted and forecast there."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator

from tsnode.backtesting import backtest, compare
from tsnode.baselines import DriftForecaster, NaiveForecaster
from tsnode.data import load_sample
from tsnode.trading import simulate

BT = {"progress": False}


def _late_start(n: int = 40, start: int = 15, seed: int = 0) -> pd.DataFrame:
    """Two random walks; ``late`` is unobserved before row ``start``."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2024-01-01", periods=n)
    walk = np.exp(np.log([50.0, 80.0]) + np.cumsum(rng.normal(0, 0.02, (n, 2)), axis=0))
    data = pd.DataFrame(walk, index=index, columns=["early", "late"])
    data.iloc[:start, 1] = np.nan
    return data


class Recorder(BaseEstimator):
    """Records what it is given; refuses all-NaN columns (like the real forecasters)."""

    calls: list = []

    def fit(self, y):
        assert y.notna().any().all(), "fitted on a series without any observation"
        Recorder.calls.append(("fit", y.index[-1], list(y.columns)))
        self.columns_, self.last_ = y.columns, y.ffill().iloc[-1].to_numpy()
        return self

    def update(self, y):
        assert list(y.columns) == list(self.columns_)
        Recorder.calls.append(("update", y.index[-1], list(y.columns)))
        self.last_ = np.where(y.ffill().iloc[-1].isna(), self.last_, y.ffill().iloc[-1])
        return self

    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)):
        cols = pd.MultiIndex.from_product([self.columns_, list(quantiles)])
        values = np.repeat(self.last_, len(quantiles))[None, :].repeat(len(horizon), axis=0)
        return pd.DataFrame(values, index=horizon, columns=cols)


def test_sample_series_listed_during_the_backtest():
    # regression: "series ['FB'] contain only NaN" raised while fitting at the first cutoff
    data = load_sample(["AAPL", "FB"]).loc["2012-01-01":]
    first_fb = data.index.get_loc(data["FB"].first_valid_index())
    for refit_every in (1, 3):
        result = backtest(
            NaiveForecaster(),
            data,
            horizon=5,
            initial_window=50,
            step=20,
            refit_every=refit_every,
            **BT,
        )
        fc = result.forecasts
        positions = data.index.get_indexer(result.cutoffs)
        # AAPL at every cutoff; FB from the first cutoff with 3 observations (Naive's minimum)
        assert fc.loc[fc["series"] == "AAPL", "cutoff"].nunique() == len(positions)
        fb_cutoffs = pd.DatetimeIndex(fc.loc[fc["series"] == "FB", "cutoff"].unique())
        expected = result.cutoffs[positions >= first_fb + 2]
        pd.testing.assert_index_equal(fb_cutoffs, expected, check_names=False)
        assert fc[["forecast", "origin", "scale"]].notna().all().all()
        np.testing.assert_allclose(fc["forecast"], fc["origin"], rtol=1e-12)
        assert np.isfinite(result.metrics().to_numpy(dtype=float)[:, :7]).all()


@pytest.mark.parametrize(("need", "forecaster"), [(3, NaiveForecaster()), (1, Recorder())])
def test_a_series_is_forecast_once_it_has_enough_observations(need, forecaster):
    data = _late_start(start=15)
    Recorder.calls = []
    fc = backtest(forecaster, data, horizon=3, initial_window=10, **BT).forecasts
    late = fc[fc["series"] == "late"]
    first = data.index.get_loc(late["cutoff"].min())
    assert first == 15 + need - 1
    assert fc.loc[fc["series"] == "early", "cutoff"].min() == data.index[9]
    assert late["origin"].notna().all()


def test_a_series_starting_between_refits_triggers_a_refit_then_updates():
    data = _late_start(start=15)
    Recorder.calls = []
    backtest(Recorder(), data, horizon=2, initial_window=10, step=2, refit_every=4, **BT)
    row = {t: i for i, t in enumerate(data.index)}
    calls = [(kind, row[t], cols) for kind, t, cols in Recorder.calls]
    # cutoffs 9, 11, 13, 15 | 17, 19, 21, 23 | ...: "late" is first observed at row 15
    assert calls[:8] == [
        ("fit", 9, ["early"]),
        ("update", 11, ["early"]),
        ("update", 13, ["early"]),
        ("fit", 15, ["early", "late"]),  # the set changed: refit, not update
        ("fit", 17, ["early", "late"]),  # the next fold
        ("update", 19, ["early", "late"]),
        ("update", 21, ["early", "late"]),
        ("update", 23, ["early", "late"]),
    ]


@pytest.mark.parametrize("refit_every", [1, 4])
def test_the_series_chosen_at_a_cutoff_never_depend_on_later_rows(refit_every):
    data = _late_start(start=20)
    kw = dict(horizon=3, initial_window=10, step=2, refit_every=refit_every, **BT)
    before = backtest(NaiveForecaster(), data, **kw).forecasts
    cut = data.index[17]
    changed = data.copy()
    changed.iloc[18:20, 1] = 75.0  # "late" now starts at row 18, after the cut
    after = backtest(NaiveForecaster(), changed, **kw).forecasts
    cols = ["cutoff", "timestamp", "series", "step", "forecast", "q0.1", "q0.9", "origin"]
    early_b = before.loc[before["cutoff"] <= cut, cols].reset_index(drop=True)
    early_a = after.loc[after["cutoff"] <= cut, cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(early_b, early_a)
    assert set(early_a["series"]) == {"early"}


def test_a_series_that_stops_leaves_a_sliding_window():
    data = _late_start(start=0)
    data.iloc[20:, 1] = np.nan  # "late" stops at row 19
    fc = backtest(
        NaiveForecaster(),
        data,
        horizon=2,
        initial_window=10,
        window="sliding",
        train_length=8,
        refit_every=3,
        **BT,
    ).forecasts
    last = data.index.get_loc(fc.loc[fc["series"] == "late", "cutoff"].max())
    assert last == 19 + 8 - 3  # its window still holds 3 observations (rows 17..19)


def test_cutoffs_before_any_series_started_forecast_nothing():
    data = _late_start(start=0)
    data.iloc[:12] = np.nan
    result = backtest(NaiveForecaster(), data, horizon=2, initial_window=10, **BT)
    assert len(result.cutoffs) == 39 - 9
    assert result.forecasts["cutoff"].min() == data.index[14]
    with pytest.raises(ValueError, match="no series of `data` has the 3 observation"):
        backtest(NaiveForecaster(), data.iloc[:14], horizon=1, initial_window=10, **BT)


def test_compare_and_simulate_on_a_late_start():
    data = load_sample(["AAPL", "FB"]).loc["2012-01-01":"2012-12-31"]
    models = {"naive": NaiveForecaster(), "drift": DriftForecaster()}
    kw = dict(horizon=5, initial_window=50, step=10, refit_every=3, **BT)
    comp = compare(models, data, **kw)
    board = comp.leaderboard
    assert set(board.index) == {"naive", "drift"}
    assert (board["count"] == board.loc["naive", "count"]).all()
    assert 0.0 <= board.loc["drift", "dm_pvalue"] <= 1.0
    sim = simulate(comp.results["drift"], data, allow_short=True)
    first_fb = comp.results["drift"].forecasts.query("series == 'FB'")["cutoff"].min()
    assert (sim.positions.loc[sim.positions.index <= first_fb, "FB"] == 0).all()
    stats = sim.stats()
    assert np.isfinite(stats.loc[["total_return", "sharpe", "max_drawdown"]].to_numpy()).all()


@pytest.mark.parametrize("kind", ["gru", "tsnode"])
def test_neural_forecasters_on_a_series_listed_mid_fold(kind):
    data = load_sample(["AAPL", "FB"]).loc["2012-01-01":].iloc[60:110]  # FB from row 35
    if kind == "gru":
        from tsnode.baselines import GRUForecaster

        model, need = (
            GRUForecaster(
                hidden_size=4,
                context_length=5,
                epochs=1,
                batch_size=8,
                random_state=0,
                progress=False,
            ),
            3,
        )
    else:
        from tsnode.forecaster import TSNodeForecaster

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
        need = 10
    # cutoffs 29, 34, 39 | 44, ...: FB is listed at row 35, inside the first fold
    result = backtest(model, data, horizon=2, initial_window=30, step=5, refit_every=3, **BT)
    fc = result.forecasts
    first = data.index.get_loc(fc.loc[fc["series"] == "FB", "cutoff"].min())
    positions = data.index.get_indexer(result.cutoffs)
    assert first == positions[positions >= 35 + need - 1][0]
    assert fc[["forecast", "q0.1", "q0.9"]].notna().all().all()


class _Picky(NaiveForecaster):
    """A random walk that needs 10 observations, like a model with a longer context."""

    def _min_observations(self) -> int:
        return 10


def test_compare_scores_every_model_on_the_same_rows_when_a_series_starts_late():
    data = _late_start(n=60, start=20)
    board = compare(
        {"naive": NaiveForecaster(), "picky": _Picky()},
        data,
        horizon=2,
        initial_window=25,
        progress=False,
        baseline=None,  # identical forecasts: no DM test
    )
    keys = ["cutoff", "series", "step"]
    rows = [
        r.forecasts[keys].sort_values(keys).reset_index(drop=True) for r in board.results.values()
    ]
    pd.testing.assert_frame_equal(rows[0], rows[1])
    assert board.leaderboard["count"].nunique() == 1
    # alone, the random walk forecasts the late series from its 3rd observation on
    alone = backtest(NaiveForecaster(), data, horizon=2, initial_window=25, progress=False)
    assert len(alone.forecasts) > len(rows[0])
    with pytest.raises(ValueError, match="min_observations"):
        backtest(NaiveForecaster(), data, horizon=2, initial_window=25, min_observations=0)
