"""Tests for tsnode.trading: known-answer equity curves, costs, next-bar execution, stats."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsnode.trading import STAT_NAMES, Simulation, simulate

C = 5.0 / 1e4  # the default 5 bps


def make_prices(columns: dict[str, list[float]], start: str = "2024-01-01") -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    index = pd.bdate_range(start, periods=n)
    return pd.DataFrame(columns, index=index, dtype="float64")


def make_forecasts(
    prices: pd.DataFrame,
    *,
    horizon: int = 1,
    every: int = 1,
    forecast=None,
    spread: float = 0.01,
) -> pd.DataFrame:
    """A backtest-shaped long table; ``forecast(actual, origin) -> value`` (default: perfect)."""
    rows = []
    values = prices.to_numpy()
    for pos in range(0, len(prices) - 1, every):
        for j, name in enumerate(prices.columns):
            origin = values[pos, j]
            for step in range(1, horizon + 1):
                if pos + step >= len(prices):
                    break
                actual = values[pos + step, j]
                f = actual if forecast is None else forecast(actual, origin)
                rows.append(
                    {
                        "cutoff": prices.index[pos],
                        "timestamp": prices.index[pos + step],
                        "series": name,
                        "step": step,
                        "actual": actual,
                        "forecast": f,
                        "q0.1": f * (1 - spread),
                        "q0.5": f,
                        "q0.9": f * (1 + spread),
                        "origin": origin,
                        "scale": 1.0,
                    }
                )
    return pd.DataFrame(rows)


def test_perfect_constant_sign_forecast_known_equity():
    prices = make_prices({"A": [100 * 1.01**i for i in range(10)]})
    sim = simulate(make_forecasts(prices), prices)  # cutoffs at bars 0..8
    # positions: entered at the close of bar 1, closed at the final bar 9
    np.testing.assert_array_equal(sim.positions["A"].to_numpy(), [0] + [1] * 8 + [0])
    # bar 1: entry cost only; bars 2..8: +1 %; bar 9: +1 %, then the exit cost on that
    # bar's closing equity
    expected_returns = [-C] + [0.01] * 7 + [1.01 * (1 - C) - 1]
    np.testing.assert_allclose(sim.returns.to_numpy(), expected_returns, rtol=0, atol=1e-12)
    expected_equity = np.cumprod([1.0, *(1 + np.array(expected_returns))])
    np.testing.assert_allclose(sim.equity.to_numpy(), expected_equity, rtol=1e-12)
    assert sim.equity.iloc[0] == 1.0
    assert sim.equity.iloc[-1] == pytest.approx((1 - C) * 1.01**8 * (1 - C), rel=1e-12)
    np.testing.assert_allclose(sim.gross_returns.to_numpy(), [0.0] + [0.01] * 8, atol=1e-12)
    # always long == buy-and-hold, costs included
    pd.testing.assert_series_equal(sim.equity, sim.benchmark_equity, check_names=False)
    assert list(sim.equity.index) == list(prices.index)
    assert list(sim.returns.index) == list(prices.index[1:])


def test_perfect_forecast_cannot_earn_the_next_bar_move():
    # the only move is bar 2 -> 3; the decision at cutoff 2 is entered at the close of bar 3
    prices = make_prices({"A": [100.0, 100.0, 100.0, 110.0, 110.0, 110.0, 110.0]})
    sim = simulate(make_forecasts(prices), prices, cost_bps=0.0)
    assert sim.positions["A"].iloc[3] == 1.0  # long from the close of bar 3 ...
    np.testing.assert_allclose(sim.equity.to_numpy(), 1.0, atol=1e-15)  # ... earning nothing
    assert sim.benchmark_equity.iloc[-1] == pytest.approx(1.1, rel=1e-12)


def test_decision_at_t_earns_the_move_from_t_plus_1_to_t_plus_2():
    # the only move is bar 3 -> 4; the step-2 forecast made at bar 2 sees it coming
    prices = make_prices({"A": [100.0, 100.0, 100.0, 100.0, 110.0, 110.0]})
    sim = simulate(make_forecasts(prices, horizon=2), prices, step=2, cost_bps=0.0)
    np.testing.assert_array_equal(sim.positions["A"].to_numpy(), [0, 0, 0, 1, 1, 0])
    np.testing.assert_allclose(sim.returns.to_numpy(), [0, 0, 0, 0.1, 0], atol=1e-12)
    assert sim.equity.iloc[-1] == pytest.approx(1.1, rel=1e-12)
    # with step=1 the same forecasts only see the move when it is too late
    late = simulate(make_forecasts(prices, horizon=2), prices, step=1, cost_bps=0.0)
    assert late.equity.iloc[-1] == pytest.approx(1.0, abs=1e-15)


def test_costs_reduce_returns_by_the_exact_amount():
    rng = np.random.default_rng(0)
    prices = make_prices({"A": list(100 * np.exp(np.cumsum(0.01 * rng.standard_normal(60))))})
    noisy = lambda actual, origin: origin * (1 + rng.normal(0, 0.01))  # noqa: E731
    table = make_forecasts(prices, forecast=noisy)
    free = simulate(table, prices, allow_short=True, cost_bps=0.0)
    paid = simulate(table, prices, allow_short=True, cost_bps=7.0, slippage_bps=3.0)
    pd.testing.assert_frame_equal(free.positions, paid.positions)
    change = paid.positions["A"].diff().abs().to_numpy()[1:]
    assert np.any(change == 2.0)  # the test covers flips
    np.testing.assert_allclose(paid.gross_returns, free.returns, rtol=0, atol=1e-15)
    # each change pays 10 bps of the equity at the close where it happens (after that bar)
    expected = (1 + free.returns) * (1 - 10e-4 * change) - 1
    np.testing.assert_allclose(paid.returns, expected, rtol=0, atol=1e-12)
    n_changes = np.count_nonzero(change)
    assert paid.stats().loc["n_trades", "strategy"] == n_changes


def test_decisions_do_not_depend_on_whether_a_later_price_exists():
    from tsnode import DriftForecaster, backtest

    idx = pd.bdate_range("2021-01-04", periods=20)
    prices = pd.DataFrame({"a": 100 * 1.01 ** np.arange(20.0)}, index=idx)
    holed = prices.copy()
    holed.iloc[15, 0] = np.nan  # only a value after cutoff 14 differs
    positions = []
    for data in (prices, holed):
        result = backtest(
            DriftForecaster(calendar=None), data, horizon=2, initial_window=10, progress=False
        )
        positions.append(simulate(result, data, cost_bps=0.0).positions["a"].to_numpy())
    np.testing.assert_array_equal(positions[0], positions[1])


def test_the_last_cutoffs_without_a_forecast_at_step_decide_nothing():
    from tsnode import DriftForecaster, backtest

    idx = pd.bdate_range("2021-01-04", periods=30)
    rng = np.random.default_rng(0)
    prices = pd.DataFrame({"a": 100 * np.exp(np.cumsum(0.01 + 0.005 * rng.random(30)))}, idx)
    result = backtest(
        DriftForecaster(calendar=None), prices, horizon=4, initial_window=10, progress=False
    )
    # an always-long model (the drift is positive) equals buy-and-hold at every step, even
    # though the last cutoffs have no step-4 forecast
    for step in (1, 4):
        sim = simulate(result, prices, step=step)
        assert (sim.positions["a"].iloc[1:-1] == 1).all()
        pd.testing.assert_series_equal(sim.equity, sim.benchmark_equity, check_names=False)


def test_a_cost_is_charged_on_the_equity_at_the_close_of_the_trade():
    # long from the close of bar 1 to the exit at bar 3 (decided at cutoff 2: forecast down)
    idx = pd.bdate_range("2021-01-04", periods=6)
    prices = pd.DataFrame({"x": [100.0, 110, 121, 110, 121, 133.1]}, index=idx)
    table = pd.DataFrame(
        {
            "cutoff": idx[:4],
            "series": "x",
            "step": 1,
            "forecast": [101.0, 111, 120, 111],
            "origin": prices["x"].to_numpy()[:4],
        }
    )
    sim = simulate(table, prices, cost_bps=100.0)
    np.testing.assert_array_equal(sim.positions["x"].to_numpy()[:4], [0, 1, 1, 0])
    # entry: 1 - 1%; bar 2: +10%; bar 3: -1/11 then 1% of the equity at that close
    assert sim.equity.iloc[3] == pytest.approx(0.99 * 1.1 * (10 / 11) * 0.99, rel=1e-12)


def test_positions_are_held_between_cutoffs():
    rng = np.random.default_rng(1)
    prices = make_prices({"A": list(100 + np.cumsum(rng.standard_normal(31)))})
    flip = iter([1.01, 0.99] * 20)
    table = make_forecasts(prices, every=3, forecast=lambda a, o: o * next(flip))
    sim = simulate(table, prices, allow_short=True, cost_bps=0.0)
    pos = sim.positions["A"].to_numpy()
    # cutoffs at bars 0, 3, ..., 27 executed at 1, 4, ..., 28; the last is held 3 bars,
    # but prices end at bar 30, so the simulation ends (and closes) there
    assert len(pos) == 31 and pos[0] == 0 and pos[-1] == 0
    expected = np.zeros(31)
    for k, bar in enumerate(range(1, 30, 3)):
        expected[bar : bar + 3] = 1.0 if k % 2 == 0 else -1.0
    expected[-1] = 0.0
    np.testing.assert_array_equal(pos, expected)
    assert sim.params["hold_last"] == 3


def test_hold_last_limits_the_simulation():
    prices = make_prices({"A": [100 * 1.01**i for i in range(12)]})
    table = make_forecasts(prices)
    table = table[table["cutoff"] <= prices.index[4]]  # cutoffs 0..4, executed at 1..5
    sim = simulate(table, prices, hold_last=2)
    assert sim.equity.index[-1] == prices.index[7]
    assert simulate(table, prices).equity.index[-1] == prices.index[6]  # default: spacing 1


def test_equal_weight_sleeves_with_and_without_shorts():
    n = 8
    prices = make_prices(
        {"A": [100 * 1.01**i for i in range(n)], "B": [50 * 0.99**i for i in range(n)]}
    )
    table = make_forecasts(prices)
    long_only = simulate(table, prices, cost_bps=0.0)
    # A long from bar 1, earns 1 % on bars 2..7; B stays flat
    sleeve_a = 1.01**6
    assert long_only.equity.iloc[-1] == pytest.approx((sleeve_a + 1.0) / 2, rel=1e-12)
    np.testing.assert_array_equal(long_only.positions["B"].to_numpy(), 0.0)
    shorts = simulate(table, prices, cost_bps=0.0, allow_short=True)
    # B is sold short at the close of bar 1 and the shares are held (not re-sized every
    # bar): the sleeve is worth 2 - P7 / P1 when covered
    assert shorts.equity.iloc[-1] == pytest.approx((1.01**6 + 2 - 0.99**6) / 2, rel=1e-12)
    # buy-and-hold: unrebalanced equal-weight sleeves, entered at the close of bar 1
    bh = (1.01**6 + 0.99**6) / 2
    assert shorts.benchmark_equity.iloc[-1] == pytest.approx(bh, rel=1e-12)


def test_quantile_rule_and_threshold():
    prices = make_prices({"A": [100.0, 101.0, 102.0, 103.0, 104.0, 105.0]})
    # forecast +0.5 % above the origin, q0.1 below the origin (spread 1 %)
    table = make_forecasts(prices, forecast=lambda a, o: o * 1.005, spread=0.01)
    assert (simulate(table, prices).positions["A"].iloc[1:-1] == 1).all()
    assert (simulate(table, prices, rule="quantile").positions["A"] == 0).all()
    assert (simulate(table, prices, threshold=0.01).positions["A"] == 0).all()
    confident = make_forecasts(prices, forecast=lambda a, o: o * 1.05, spread=0.01)
    assert (simulate(confident, prices, rule="quantile").positions["A"].iloc[1:-1] == 1).all()
    bearish = make_forecasts(prices, forecast=lambda a, o: o * 0.95, spread=0.01)
    sim = simulate(bearish, prices, rule="quantile", allow_short=True)
    assert (sim.positions["A"].iloc[1:-1] == -1).all()


@pytest.mark.parametrize("allow_short", [False, True])
@pytest.mark.parametrize("noise", [1e-15, -1e-15, 1e-10, -1e-9])
def test_no_change_forecast_with_float_noise_never_trades(noise, allow_short):
    # a random-walk forecast (forecast == origin) back from scaler round trips
    prices = make_prices({"A": [100.0, 101.0, 99.0, 102.0, 98.0, 103.0]})
    table = make_forecasts(prices, forecast=lambda a, o: o * (1 + noise), spread=0.0)
    for rule in ("sign", "quantile"):
        sim = simulate(table, prices, rule=rule, allow_short=allow_short)
        assert (sim.positions["A"] == 0).all()
        np.testing.assert_array_equal(sim.equity.to_numpy(), np.ones(len(prices)))
        np.testing.assert_array_equal(sim.returns.to_numpy(), np.zeros(len(prices) - 1))
        assert sim.stats().loc["n_trades", "strategy"] == 0


def test_tiny_but_real_expected_return_still_trades():
    prices = make_prices({"A": [100 * 1.01**i for i in range(6)]})
    up = simulate(make_forecasts(prices, forecast=lambda a, o: o * (1 + 1e-6)), prices)
    assert (up.positions["A"].iloc[1:-1] == 1).all()
    down = make_forecasts(prices, forecast=lambda a, o: o * (1 - 1e-6))
    assert (simulate(down, prices, allow_short=True).positions["A"].iloc[1:-1] == -1).all()


def test_missing_or_nan_forecast_means_flat():
    prices = make_prices({"A": [100 * 1.01**i for i in range(6)]})
    table = make_forecasts(prices)
    table.loc[table["cutoff"] == prices.index[2], "forecast"] = np.nan
    table = table[table["cutoff"] != prices.index[3]]
    sim = simulate(table, prices)
    # NaN at cutoff 2 -> flat from bar 3; no cutoff 3: still flat; cutoff 4 closed at the end
    np.testing.assert_array_equal(sim.positions["A"].to_numpy(), [0, 1, 1, 0, 0, 0])


def test_stats_hand_computed():
    prices = make_prices({"A": [100.0, 100.0, 110.0, 99.0, 108.9]})
    table = make_forecasts(prices, forecast=lambda a, o: o * 1.1)  # always long
    sim = simulate(table, prices, cost_bps=0.0, periods_per_year=4)
    np.testing.assert_allclose(sim.returns.to_numpy(), [0.0, 0.1, -0.1, 0.1], atol=1e-12)
    stats = sim.stats()
    assert list(stats.index) == list(STAT_NAMES)
    assert list(stats.columns) == ["strategy", "buy_and_hold"]
    s = stats["strategy"]
    std = math.sqrt(((-0.025) ** 2 + 0.075**2 + 0.125**2 + 0.075**2) / 3)
    expected = {
        "total_return": 0.089,
        "cagr": 0.089,  # four bars at four bars per year
        "annual_volatility": std * 2,
        "sharpe": 0.025 / std * 2,
        "sortino": 0.025 / math.sqrt(0.01 / 4) * 2,
        "max_drawdown": 0.99 / 1.1 - 1,
        "max_drawdown_duration": 2,
        "calmar": 0.089 / 0.1,
        "hit_rate": 2 / 3,
        "turnover": 2 / 4,
        "exposure": 3 / 4,
        "n_trades": 2,
    }
    for name, value in expected.items():
        assert s[name] == pytest.approx(value, rel=1e-9), name
    pd.testing.assert_series_equal(stats["buy_and_hold"], s, check_names=False)


def test_inputs_not_mutated_and_duck_typed_result():
    prices = make_prices({"A": [100 * 1.01**i for i in range(8)]})
    table = make_forecasts(prices)
    p0, t0 = prices.copy(), table.copy()
    sim = simulate(SimpleNamespace(forecasts=table), prices["A"], cost_bps=1.0)
    assert isinstance(sim, Simulation)
    pd.testing.assert_frame_equal(prices, p0)
    pd.testing.assert_frame_equal(table, t0)
    assert "final equity" in repr(sim)


def test_cutoffs_off_the_price_bars_execute_at_the_next_bar():
    prices = make_prices({"A": [100 * 1.01**i for i in range(6)]})
    table = make_forecasts(prices)
    table["cutoff"] = table["cutoff"] + pd.Timedelta(hours=12)  # between bars
    sim = simulate(table, prices, cost_bps=0.0)
    np.testing.assert_array_equal(sim.positions["A"].to_numpy(), [0, 1, 1, 1, 1, 0])


def test_timezone_aware_prices():
    prices = make_prices({"A": [100 * 1.01**i for i in range(6)]})
    prices.index = prices.index.tz_localize("America/New_York")
    sim = simulate(make_forecasts(prices), prices)
    assert sim.equity.index.tz is not None
    naive = make_forecasts(prices)
    naive["cutoff"] = naive["cutoff"].dt.tz_localize(None)
    with pytest.raises(ValueError, match="time zones"):
        simulate(naive, prices)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rule": "momentum"}, ValueError, "`rule`"),
        ({"step": 3}, ValueError, "`step`=3 is not in"),
        ({"step": 0}, ValueError, "`step`"),
        ({"step": 1.0}, TypeError, "`step` must be a positive int, got 1.0"),
        ({"cost_bps": -1.0}, ValueError, "`cost_bps`"),
        ({"slippage_bps": "1"}, TypeError, "`slippage_bps`"),
        ({"threshold": -0.1}, ValueError, "`threshold`"),
        ({"periods_per_year": 0}, ValueError, "`periods_per_year`"),
        ({"allow_short": 1}, TypeError, "`allow_short`"),
        ({"hold_last": 0}, ValueError, "`hold_last`"),
    ],
)
def test_parameter_validation(kwargs, error, match):
    prices = make_prices({"A": [100 * 1.01**i for i in range(6)]})
    with pytest.raises(error, match=match):
        simulate(make_forecasts(prices), prices, **kwargs)


def test_input_validation():
    prices = make_prices({"A": [100 * 1.01**i for i in range(6)]})
    table = make_forecasts(prices)
    with pytest.raises(TypeError, match="`result`"):
        simulate([1, 2], prices)
    with pytest.raises(ValueError, match="lacks the columns \\['origin'\\]"):
        simulate(table.drop(columns="origin"), prices)
    with pytest.raises(ValueError, match="empty"):
        simulate(table.iloc[:0], prices)
    with pytest.raises(ValueError, match="no column for the series \\['A'\\]"):
        simulate(table, prices.rename(columns={"A": "B"}))
    with pytest.raises(ValueError, match="starts at"):
        simulate(table, prices.iloc[2:])
    with pytest.raises(ValueError, match="quantile columns"):
        simulate(table.drop(columns=["q0.1", "q0.5", "q0.9"]), prices, rule="quantile")
    with pytest.raises(TypeError, match="`prices`"):
        simulate(table, prices.to_numpy())
    with pytest.raises(ValueError, match="several rows"):
        simulate(pd.concat([table, table]), prices)


@pytest.mark.parametrize(
    ("kwargs", "limit"),
    [
        ({"cost_bps": 20000.0}, "10000"),
        ({"cost_bps": 10000}, "10000"),
        ({"cost_bps": 6000.0, "slippage_bps": 4000.0}, "10000"),
        ({"cost_bps": 5000.0, "allow_short": True}, "5000"),
        ({"cost_bps": 2500.0, "slippage_bps": 2500.0, "allow_short": True}, "5000"),
    ],
)
def test_costs_of_100_percent_or_more_are_refused(kwargs, limit):
    # regression: 20000 bps took the equity 1 -> -1 and then reported a profit
    prices = make_prices({"A": [100 * 1.01**i for i in range(8)]})
    with pytest.raises(ValueError, match=rf"`cost_bps` \+ `slippage_bps` must be < {limit} bps"):
        simulate(make_forecasts(prices), prices, **kwargs)
    with pytest.raises(ValueError, match="`slippage_bps`"):
        simulate(make_forecasts(prices), prices, slippage_bps=-1.0)


def test_costs_just_below_the_limit_keep_the_equity_positive():
    prices = make_prices({"A": [100, 101, 99, 102, 98, 103, 97, 104]})
    flips = make_forecasts(prices, forecast=lambda a, o: o * (1.02 if a > o else 0.98))
    long_only = simulate(flips, prices, cost_bps=9999.0)
    shorts = simulate(flips, prices, cost_bps=4999.0, allow_short=True)
    for sim in (long_only, shorts):
        assert (sim.equity > 0).all() and (sim.benchmark_equity > 0).all()
        stats = sim.stats()  # costs of almost 100% per trade: a loss, never a "profit"
        assert stats.loc["total_return", "strategy"] < 0.0
        assert stats.loc["cagr", "strategy"] < 0.0


@pytest.mark.parametrize("bad", [0.0, -5.0])
def test_non_positive_prices_are_refused_with_series_and_timestamp(bad):
    prices = make_prices(
        {"A": [100 * 1.01**i for i in range(8)], "B": [50 * 1.01**i for i in range(8)]}
    )
    table = make_forecasts(prices)
    broken = prices.copy()
    broken.iloc[5, 1] = bad
    broken.iloc[6, 1] = np.nan  # NaN stays allowed (unobserved); the bad value is at row 5
    expected = rf"`prices` must be > 0 where observed, but series 'B' has {bad!r} at 2024-01-08"
    with pytest.raises(ValueError, match=expected):
        simulate(table, broken)
    pd.testing.assert_frame_equal(broken.iloc[:5], prices.iloc[:5])  # input not modified
    # a bad value in a column that is not traded does not matter
    sim = simulate(table[table["series"] == "A"], broken)
    assert list(sim.positions.columns) == ["A"]


def test_nan_prices_are_still_forward_filled():
    prices = make_prices({"A": [100 * 1.01**i for i in range(8)]})
    gappy = prices.copy()
    gappy.iloc[4, 0] = np.nan
    sim = simulate(make_forecasts(prices), gappy, cost_bps=0.0)
    assert np.isfinite(sim.equity).all()
    assert sim.returns.loc[prices.index[4]] == 0.0  # no price: no move


def test_missing_row_of_one_series_means_flat_for_that_series():
    prices = make_prices(
        {"A": [100 * 1.01**i for i in range(6)], "B": [50 * 1.01**i for i in range(6)]}
    )
    table = make_forecasts(prices)
    table = table[~((table["cutoff"] == prices.index[2]) & (table["series"] == "B"))]
    sim = simulate(table, prices)
    np.testing.assert_array_equal(sim.positions["A"].to_numpy(), [0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(sim.positions["B"].to_numpy(), [0, 1, 1, 0, 1, 0])


def test_cutoff_where_nothing_was_forecast_means_flat():
    # a sliding window over a 5-row halt forecasts nothing at 5 cutoffs; the decision made
    # before the halt ran on through them and earned the +30% reopening (docs: flat)
    import warnings

    from tsnode import backtest
    from tsnode.baselines import DriftForecaster

    idx = pd.bdate_range("2024-01-01", periods=40)
    prices = pd.Series(100.0 + np.arange(40), index=idx, name="s")
    prices.iloc[20:25] = np.nan
    prices.iloc[25:] += 30
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = backtest(
            DriftForecaster(),
            prices,
            horizon=1,
            initial_window=10,
            window="sliding",
            train_length=5,
            progress=False,
        )
    silent = [c for c in result.cutoffs if c not in set(result.forecasts["cutoff"])]
    assert silent == list(idx[22:27])  # under 3 observations in the window
    sim = simulate(result, prices, cost_bps=0)
    np.testing.assert_array_equal(sim.positions["s"].loc[idx[23] : idx[27]].to_numpy(), 0.0)
    assert sim.returns.loc[idx[25]] == 0.0  # the reopening is not earned
    assert sim.positions["s"].loc[idx[22]] == 1.0  # the decision before the halt holds a bar
    # the bare table does not carry the silent cutoffs: documented, unchanged
    assert simulate(result.forecasts, prices, cost_bps=0).positions["s"].loc[idx[25]] == 1.0


class _DriftFake:
    """Minimal duck-typed forecaster: straight line through the first and last value."""

    def get_params(self, deep: bool = True) -> dict:
        return {}

    def set_params(self, **params) -> _DriftFake:
        return self

    def fit(self, y: pd.DataFrame) -> _DriftFake:
        self.y_ = y.copy()
        return self

    def update(self, y: pd.DataFrame) -> _DriftFake:
        self.y_ = pd.concat([self.y_, y])
        return self

    def predict_quantiles(self, horizon, quantiles=(0.1, 0.5, 0.9)) -> pd.DataFrame:
        last = self.y_.iloc[-1].to_numpy()
        slope = (last - self.y_.iloc[0].to_numpy()) / (len(self.y_) - 1)
        steps = np.arange(1, len(horizon) + 1)[:, None]
        center = last + slope * steps
        cols = pd.MultiIndex.from_product([self.y_.columns, list(quantiles)])
        values = np.stack([center + 2 * (q - 0.5) * np.sqrt(steps) for q in quantiles], -1)
        return pd.DataFrame(values.reshape(len(horizon), -1), index=horizon, columns=cols)


def test_end_to_end_with_backtest():
    from tsnode.backtesting import backtest

    rng = np.random.default_rng(3)
    walk = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal((60, 2)), axis=0))
    data = make_prices({"A": list(walk[:, 0]), "B": list(walk[:, 1])})
    result = backtest(_DriftFake(), data, horizon=3, initial_window=20, step=2, progress=False)
    sim = simulate(result, data, allow_short=True, step=2)
    assert sim.equity.index[0] == result.cutoffs[0]
    assert set(np.unique(sim.positions.to_numpy())) <= {-1.0, 0.0, 1.0}
    assert sim.params["hold_last"] == 2
    stats = sim.stats()
    assert stats.shape == (len(STAT_NAMES), 2)
    assert np.isfinite(stats.loc[["total_return", "sharpe", "turnover"]].to_numpy()).all()
    # the same table passed directly gives the same simulation
    pd.testing.assert_series_equal(
        simulate(result.forecasts, data, allow_short=True, step=2).equity, sim.equity
    )


@settings(max_examples=25, deadline=None)
@given(
    moves=st.lists(st.floats(-0.05, 0.05), min_size=4, max_size=25),
    signs=st.lists(st.sampled_from([0.98, 1.0, 1.02]), min_size=25, max_size=25),
    cost=st.floats(0.0, 50.0),
)
def test_invariants_costs_never_help_and_gross_ignores_costs(moves, signs, cost):
    prices = make_prices({"A": list(100 * np.cumprod([1.0, *(1 + np.array(moves))]))})
    it = iter(signs)
    table = make_forecasts(prices, forecast=lambda a, o: o * next(it))
    free = simulate(table, prices, allow_short=True, cost_bps=0.0)
    paid = simulate(table, prices, allow_short=True, cost_bps=cost)
    np.testing.assert_allclose(paid.gross_returns, free.returns, atol=1e-12)
    assert (paid.returns <= free.returns + 1e-12).all()
    assert paid.equity.iloc[-1] <= free.equity.iloc[-1] + 1e-12
    assert paid.positions.iloc[0].eq(0).all() and paid.positions.iloc[-1].eq(0).all()


def test_a_short_is_held_not_resized_every_bar():
    # regression: the short was re-sized to the sleeve's equity every bar, so a short sold
    # at 100 and covered at 100 ended at 0.98 after 100 -> 110 -> 100 (and at 0 after 50)
    prices = make_prices({"A": [100.0, 100.0, 110.0, 100.0, 100.0]})
    table = make_forecasts(prices, forecast=lambda a, o: 0.9 * o)
    table = table[table["cutoff"] == prices.index[0]]
    sim = simulate(table, prices, allow_short=True, cost_bps=0.0, hold_last=3)
    np.testing.assert_array_equal(sim.positions["A"].to_numpy(), [0, -1, -1, -1, 0])
    np.testing.assert_allclose(sim.equity.to_numpy(), [1.0, 1.0, 0.9, 1.0, 1.0], atol=1e-12)
    paid = simulate(table, prices, allow_short=True, cost_bps=10.0, hold_last=3)
    assert paid.equity.iloc[-1] == pytest.approx(0.999 * 0.999, rel=1e-12)


def test_a_short_that_loses_the_whole_sleeve_stays_at_zero_with_a_warning():
    # regression: the equity went negative (-0.5) and a further rise turned it positive
    prices = make_prices(
        {"A": [100.0, 100.0, 250.0, 750.0, 750.0], "B": [10.0, 10.0, 10.0, 10.0, 10.0]}
    )
    table = make_forecasts(prices, forecast=lambda a, o: 0.9 * o)
    table = table[table["cutoff"] == prices.index[0]]
    with pytest.warns(RuntimeWarning, match=r"series 'A' lost the whole sleeve at 2024-01-03"):
        sim = simulate(table, prices, allow_short=True, cost_bps=0.0, hold_last=3)
    np.testing.assert_allclose(sim.equity.to_numpy(), [1.0, 1.0, 0.5, 0.5, 0.5], atol=1e-12)
    assert (sim.equity >= 0).all()
    stats = sim.stats()["strategy"]
    assert stats["max_drawdown"] == pytest.approx(-0.5) and stats["total_return"] == -0.5
    alone = table[table["series"] == "A"]
    with pytest.warns(RuntimeWarning, match="lost the whole sleeve"):
        wiped = simulate(alone, prices[["A"]], allow_short=True, cost_bps=0.0, hold_last=3)
    np.testing.assert_array_equal(wiped.equity.to_numpy(), [1.0, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(wiped.returns.to_numpy(), [0.0, -1.0, 0.0, 0.0])
    # the wiped-out sleeve holds nothing from the bar it lost everything
    np.testing.assert_array_equal(wiped.positions["A"].to_numpy(), [0, -1, 0, 0, 0])
    assert wiped.stats().loc["exposure", "strategy"] == pytest.approx(0.25)


def test_non_numeric_forecasts_are_a_clear_error():
    # regression: a text forecast failed inside pandas ("could not convert string to float")
    prices = make_prices({"A": [10.0, 11, 12, 13, 14, 15, 16, 17, 18, 19]})
    table = make_forecasts(prices)
    table["forecast"] = "up"
    with pytest.raises(ValueError, match="`forecast` must hold numbers"):
        simulate(table, prices)
    table = make_forecasts(prices)
    table["forecast"] = table["forecast"].astype(object)  # numbers as objects still work
    assert isinstance(simulate(table, prices), Simulation)
