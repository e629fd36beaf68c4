"""Tests of the closed-form baselines: Naive, Drift and GBM forecasters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri
from sklearn.base import clone

from tsnode.baselines import DriftForecaster, GBMForecaster, NaiveForecaster
from tsnode.datasets import make_gbm

ALL = [NaiveForecaster, DriftForecaster, GBMForecaster]
DAY = pd.Timedelta(days=1)


@pytest.fixture
def prices() -> pd.DataFrame:
    idx = pd.bdate_range("2024-01-02", periods=60, name="Date")
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "A": 100 * np.exp(np.cumsum(rng.normal(0.001, 0.02, 60))),
            "B": 50 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 60))),
        },
        index=idx,
    )
    df.iloc[-3:, 1] = np.nan  # B stops three sessions early
    df.iloc[10, 0] = np.nan
    return df


# ---------------------------------------------------------------------------- shared contract
@pytest.mark.parametrize("cls", ALL)
def test_api_contract(cls, prices):
    before = prices.copy()
    f = cls(random_state=0).fit(prices)
    pd.testing.assert_frame_equal(prices, before)
    q = f.predict_quantiles(5, quantiles=(0.05, 0.25, 0.5, 0.75, 0.95))
    assert q.shape == (5, 10)
    for s in ["A", "B"]:
        assert (np.diff(q[s].to_numpy(), axis=1) >= 0).all()
    pred = f.predict(5)
    np.testing.assert_allclose(pred.to_numpy(), q.xs(0.5, axis=1, level="quantile").to_numpy())
    assert f.sample(5, n_samples=7).shape == (7, 5, 2)
    iv = f.predict_interval(5, coverage=0.5)
    np.testing.assert_allclose(iv.to_numpy(), q.loc[:, (slice(None), [0.25, 0.75])].to_numpy())


@pytest.mark.parametrize("cls", ALL)
def test_clone_and_keyword_only(cls):
    f = cls(target="Open", calendar=None, random_state=4)
    g = clone(f)
    assert g.get_params() == {"target": "Open", "calendar": None, "random_state": 4}
    with pytest.raises(TypeError):
        cls("Open")


@pytest.mark.parametrize("cls", ALL)
def test_reproducible_with_random_state(cls, prices):
    f = cls(random_state=11).fit(prices)
    np.testing.assert_array_equal(f.sample(4, 20), f.sample(4, 20))
    g = cls(random_state=11).fit(prices)
    np.testing.assert_array_equal(f.sample(4, 20), g.sample(4, 20))
    pd.testing.assert_frame_equal(f.predict_quantiles(4), g.predict_quantiles(4))


@pytest.mark.parametrize("cls", ALL)
def test_samples_match_closed_form_quantiles(cls, prices):
    f = cls(random_state=1).fit(prices)
    s = f.sample(6, n_samples=20_000)
    q = f.predict_quantiles(6, quantiles=(0.1, 0.5, 0.9))
    empirical = np.moveaxis(np.quantile(s, (0.1, 0.5, 0.9), axis=0), 0, -1).reshape(6, -1)
    spread = (q.to_numpy()[:, 2::3] - q.to_numpy()[:, 0::3]).repeat(3, axis=1)
    np.testing.assert_array_less(np.abs(empirical - q.to_numpy()), 0.05 * spread + 1e-9)


@pytest.mark.parametrize("cls", ALL)
def test_too_few_observations(cls):
    y = pd.Series([1.0, 2.0], index=pd.bdate_range("2024-01-02", periods=2))
    with pytest.raises(ValueError, match="at least 3"):
        cls().fit(y)


@pytest.mark.parametrize("cls", [NaiveForecaster, GBMForecaster])
def test_positive_prices_required(cls, prices):
    bad = prices.copy()
    bad.iloc[5, 1] = -1.0
    with pytest.raises(ValueError, match=r"'B'.*non-positive.*2024-01-09"):
        cls().fit(bad)
    f = cls().fit(prices)
    with pytest.raises(ValueError, match="non-positive"):
        f.update(pd.DataFrame({"A": [0.0], "B": [1.0]}, index=pd.DatetimeIndex(["2024-06-03"])))


def test_drift_accepts_negative_values():
    y = pd.Series([-1.0, 0.0, -2.0, 1.0], index=pd.bdate_range("2024-01-02", periods=4))
    assert np.isfinite(DriftForecaster().fit(y).predict(2).to_numpy()).all()


# ---------------------------------------------------------------------------- Naive
def _step_sigma(changes, k):
    """The random-walk estimate: changes over k steps have k times the one-step variance."""
    m = changes.sum() / k.sum()
    return np.sqrt(np.sum((changes - m * k) ** 2 / k) / (len(changes) - 1))


def _steps_of_a(prices):
    """Sessions spanned by A's changes: 2 across its missing 2024-01-16 (after the holiday
    2024-01-15, a row of its own: one step), 1 elsewhere."""
    k = np.ones(prices["A"].count() - 1)
    k[9] = 2.0
    return k


def test_naive_known_answer(prices):
    f = NaiveForecaster().fit(prices)
    a = prices["A"].dropna().to_numpy()
    b = prices["B"].dropna().to_numpy()
    sig_a = _step_sigma(np.diff(np.log(a)), _steps_of_a(prices))
    sig_b = np.std(np.diff(np.log(b)), ddof=1)  # consecutive sessions: the sample std
    np.testing.assert_allclose(f.sigma_, [sig_a, sig_b], rtol=1e-12)
    pred = f.predict(4)
    # the median is the last value exactly, not exp(log(last)) with rounding noise
    np.testing.assert_array_equal(pred["A"], a[-1])
    np.testing.assert_array_equal(pred["B"], b[-1])
    q = f.predict_quantiles(4, quantiles=(0.1, 0.9))
    k = np.arange(1, 5)
    z = ndtri(0.9)
    np.testing.assert_allclose(q[("A", 0.9)], a[-1] * np.exp(sig_a * np.sqrt(k) * z), rtol=1e-12)
    # B ended 3 fitted sessions early: its steps are 4, 5, 6, 7
    np.testing.assert_allclose(
        q[("B", 0.1)], b[-1] * np.exp(-sig_b * np.sqrt(k + 3) * z), rtol=1e-12
    )


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
def test_a_datetime_horizon_counts_the_sessions_up_to_each_time(cls, prices):
    f = cls().fit(prices)
    levels = (0.1, 0.5, 0.9)
    sessions = f.predict_quantiles(300, quantiles=levels)
    far = pd.DatetimeIndex([sessions.index[0], sessions.index[251]])
    q = f.predict_quantiles(far, quantiles=levels)
    np.testing.assert_allclose(q.to_numpy(), sessions.iloc[[0, 251]].to_numpy(), rtol=1e-12)
    # a time before the next session (the Saturday after a Friday) is that session
    f = cls().fit(prices.loc[:"2024-03-22"])  # a Friday
    monday = f.predict_quantiles(1, quantiles=levels)
    saturday = f.predict_quantiles(pd.DatetimeIndex(["2024-03-23"]), quantiles=levels)
    np.testing.assert_allclose(saturday.to_numpy(), monday.to_numpy(), rtol=1e-12)


def test_without_a_calendar_a_datetime_horizon_counts_the_observed_spacing(prices):
    f = NaiveForecaster(calendar=None).fit(prices.iloc[:, :1])
    a = prices["A"].dropna()
    spacing = DAY  # bdate_range: the median spacing is one day
    # the fit counts steps in the same unit: a weekend change spans 3 days
    k = np.diff(a.index) / spacing
    assert set(k) == {1.0, 2.0, 3.0}
    sigma = _step_sigma(np.diff(np.log(a.to_numpy())), k)
    np.testing.assert_allclose(f.sigma_[0], sigma, rtol=1e-12)
    a = a.to_numpy()
    times = pd.DatetimeIndex([f.last_timestamp_ + 2.5 * spacing, f.last_timestamp_ + 40 * DAY])
    q = f.predict_quantiles(times, quantiles=(0.9,))
    k = np.array([2.5, 40.0])
    np.testing.assert_allclose(q[("A", 0.9)], a[-1] * np.exp(sigma * np.sqrt(k) * ndtri(0.9)))


def test_naive_update_moves_origin_keeps_sigma(prices):
    f = NaiveForecaster().fit(prices)
    sigma = f.sigma_.copy()
    new = pd.DataFrame(
        {"A": [123.0, np.nan], "B": [np.nan, 45.0]},
        index=pd.DatetimeIndex(["2024-03-26", "2024-03-27"], name="Date"),
    )
    f.update(new)
    np.testing.assert_array_equal(f.sigma_, sigma)
    pred = f.predict(2)
    np.testing.assert_allclose(pred.iloc[0].to_numpy(), [123.0, 45.0])
    q = f.predict_quantiles(1, quantiles=(0.9,))
    # A's last observation is one row before the end: step 2
    np.testing.assert_allclose(
        q[("A", 0.9)].iloc[0], 123.0 * np.exp(sigma[0] * np.sqrt(2) * ndtri(0.9))
    )
    np.testing.assert_allclose(q[("B", 0.9)].iloc[0], 45.0 * np.exp(sigma[1] * ndtri(0.9)))


# ---------------------------------------------------------------------------- Drift
def test_drift_linear_series_exact():
    idx = pd.bdate_range("2024-01-02", periods=20, name="Date")
    y = pd.DataFrame({"lin": 5.0 + 2.0 * np.arange(20)}, index=idx)
    f = DriftForecaster(random_state=0).fit(y)
    expected = 5.0 + 2.0 * np.arange(20, 25)
    np.testing.assert_allclose(f.predict(5)["lin"], expected, atol=1e-9)
    q = f.predict_quantiles(5, quantiles=(0.01, 0.99))
    np.testing.assert_allclose(q[("lin", 0.01)], expected, atol=1e-9)
    np.testing.assert_allclose(q[("lin", 0.99)], expected, atol=1e-9)
    np.testing.assert_allclose(f.sample(5, 3)[:, :, 0], np.tile(expected, (3, 1)), atol=1e-9)


def test_drift_known_answer(prices):
    f = DriftForecaster().fit(prices)
    a = prices["A"].dropna().to_numpy()
    k_a = _steps_of_a(prices)
    drift = (a[-1] - a[0]) / k_a.sum()  # per session: A's observations span 59 of them
    sigma = _step_sigma(np.diff(a) - drift * k_a, k_a)
    np.testing.assert_allclose(f.drift_[0], drift, rtol=1e-12)
    np.testing.assert_allclose(f.sigma_[0], sigma, rtol=1e-12)
    q = f.predict_quantiles(3, quantiles=(0.2, 0.5))
    k = np.arange(1, 4)
    np.testing.assert_allclose(q[("A", 0.5)], a[-1] + k * drift, rtol=1e-12)
    np.testing.assert_allclose(
        q[("A", 0.2)], a[-1] + k * drift + sigma * np.sqrt(k) * ndtri(0.2), rtol=1e-12
    )
    b = prices["B"].dropna().to_numpy()
    drift_b = (b[-1] - b[0]) / (len(b) - 1)
    np.testing.assert_allclose(f.predict(1)["B"].iloc[0], b[-1] + 4 * drift_b, rtol=1e-12)


# ---------------------------------------------------------------------------- GBM
def _simulate_gbm(n, mu, sigma, seed):
    rng = np.random.default_rng(seed)
    gaps = rng.choice([1, 1, 1, 1, 2, 3, 4], size=n - 1)  # irregular calendar-day gaps
    days = np.concatenate([[0], np.cumsum(gaps)])
    dt = np.diff(days) / 365.25
    r = (mu - sigma**2 / 2) * dt + sigma * np.sqrt(dt) * rng.standard_normal(n - 1)
    logp = np.log(100.0) + np.concatenate([[0.0], np.cumsum(r)])
    idx = pd.Timestamp("1990-01-01") + pd.to_timedelta(days, unit="D")
    return pd.Series(np.exp(logp), index=pd.DatetimeIndex(idx), name="gbm"), days[-1] / 365.25


def test_gbm_parameter_recovery_irregular_spacing():
    mu, sigma = 0.08, 0.25
    y, years = _simulate_gbm(6000, mu, sigma, seed=3)
    f = GBMForecaster().fit(y)
    assert abs(f.sigma_[0] - sigma) < 0.05 * sigma
    assert abs(f.mu_[0] - mu) < 4 * sigma / np.sqrt(years)


def test_gbm_closed_form_mle_and_forecast():
    idx = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-06", "2024-01-10"])
    y = pd.Series([100.0, 101.0, 99.0, 102.0, 104.0], index=idx)
    f = GBMForecaster().fit(y)
    dt = np.array([1, 3, 1, 4]) / 365.25
    r = np.diff(np.log(y.to_numpy()))
    m = r.sum() / dt.sum()
    s2 = np.mean((r - m * dt) ** 2 / dt)
    np.testing.assert_allclose(f.sigma_[0], np.sqrt(s2), rtol=1e-12)
    np.testing.assert_allclose(f.mu_[0], m + s2 / 2, rtol=1e-12)
    horizon = pd.DatetimeIndex(["2024-01-12", "2024-02-09"])
    q = f.predict_quantiles(horizon, quantiles=(0.1, 0.5))
    tau = np.array([2, 30]) / 365.25
    np.testing.assert_allclose(q[("y", 0.5)], 104.0 * np.exp(m * tau), rtol=1e-12)
    np.testing.assert_allclose(
        q[("y", 0.1)], 104.0 * np.exp(m * tau + np.sqrt(s2 * tau) * ndtri(0.1)), rtol=1e-12
    )


def test_gbm_uses_calendar_time_from_each_series_last_observation(prices):
    f = GBMForecaster().fit(prices)
    out = f.predict(1)
    b = prices["B"].dropna()
    days = (out.index[0] - b.index[-1]) / DAY
    m = f.mu_[1] - f.sigma_[1] ** 2 / 2
    np.testing.assert_allclose(out["B"].iloc[0], b.iloc[-1] * np.exp(m * days / 365.25), rtol=1e-12)


def test_gbm_update_keeps_parameters_moves_origin(prices):
    f = GBMForecaster().fit(prices)
    mu, sigma = f.mu_.copy(), f.sigma_.copy()
    t = pd.Timestamp("2024-04-01")
    f.update(pd.DataFrame({"A": [80.0], "B": [60.0]}, index=pd.DatetimeIndex([t], name="Date")))
    np.testing.assert_array_equal(f.mu_, mu)
    np.testing.assert_array_equal(f.sigma_, sigma)
    out = f.predict(pd.DatetimeIndex(["2024-04-03"]))
    m = mu - sigma**2 / 2
    np.testing.assert_allclose(out.iloc[0].to_numpy(), [80.0, 60.0] * np.exp(m * 2 / 365.25))


def test_gbm_tz_aware(prices):
    yt = prices.tz_localize("America/New_York")
    out = GBMForecaster().fit(yt).predict_quantiles(3)
    assert str(out.index.tz) == "America/New_York"
    assert np.isfinite(out.to_numpy()).all()


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster, GBMForecaster])
def test_an_unknown_calendar_name_is_named_as_such(cls, prices):
    # regression: the unknown name was reported as a calendar that "cannot cover the fitted
    # history", with the advice to pass the calendar by name
    with pytest.raises(ValueError, match=r"unknown calendar='nyse'.*'XNYS'"):
        cls(calendar="nyse").fit(prices)


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster, GBMForecaster])
@pytest.mark.parametrize(
    ("state", "error"), [("abc", TypeError), (1.5, TypeError), (-1, ValueError)]
)
def test_a_bad_random_state_is_refused_at_fit(cls, state, error):
    # regression: fit, predict and predict_quantiles went through; only sample refused it
    y = make_gbm(1, n_days=40, random_state=0)
    model = cls(random_state=state)
    with pytest.raises(error, match="random_state"):
        model.fit(y)
    assert not hasattr(model, "y_")
