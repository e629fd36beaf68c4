"""Tests of tsnode.base.BaseForecaster with a small Gaussian random-walk subclass."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tsnode.base import BaseForecaster


class Toy(BaseForecaster):
    """Last value plus standard normal noise; records hook calls."""

    def __init__(self, *, target="Close", calendar="XNYS", random_state=None, min_obs=2):
        self.target = target
        self.calendar = calendar
        self.random_state = random_state
        self.min_obs = min_obs

    def _min_observations(self) -> int:
        return self.min_obs

    def _n_quantile_samples(self) -> int:
        return 400

    def _fit(self, frame):
        self.fit_frame_ = frame
        self.last_ = frame.ffill().iloc[-1].to_numpy()
        self.updates_ = []

    def _sample(self, index, n_samples):
        noise = self._rng().standard_normal((n_samples, len(index), len(self.last_)))
        return self.last_ + np.cumsum(noise, axis=1)

    def _update(self, frame):
        self.updates_.append(frame)
        self.last_ = pd.concat([self.y_, frame]).ffill().iloc[-1].to_numpy()


class NoUpdate(Toy):
    _update = BaseForecaster._update


class BadShape(Toy):
    def _predict_quantiles(self, index, quantiles):
        return np.zeros((len(index), 1, 1))


class Crossing(Toy):
    def _predict_quantiles(self, index, quantiles):
        # Deliberately decreasing in q: the base class must sort.
        q = np.asarray(quantiles)
        return np.broadcast_to(-q, (len(index), self.n_series_, len(q))).copy()


@pytest.fixture
def y() -> pd.DataFrame:
    idx = pd.bdate_range("2024-01-02", periods=30, name="Date")
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {"AAPL": 100 + rng.normal(size=30).cumsum(), "MSFT": 300 + rng.normal(size=30).cumsum()},
        index=idx,
    )
    df.iloc[-2:, 1] = np.nan
    return df


def test_fit_sets_attributes(y):
    f = Toy().fit(y)
    assert list(f.columns_) == ["AAPL", "MSFT"]
    assert f.n_series_ == 2
    assert f.last_timestamp_ == y.index[-1]
    pd.testing.assert_index_equal(f.index_, y.index)
    pd.testing.assert_frame_equal(f.y_, y)
    assert f.series_last_timestamp_["AAPL"] == y.index[-1]
    assert f.series_last_timestamp_["MSFT"] == y.index[-3]
    assert f.fit(y) is f


def test_fit_does_not_mutate_and_y_is_a_copy(y):
    before = y.copy()
    f = Toy().fit(y)
    f.y_.iloc[0, 0] = -1.0
    f.fit_frame_.iloc[1, 0] = -1.0
    pd.testing.assert_frame_equal(y, before)


def test_fit_uses_target_for_yfinance_frames(y):
    cols = pd.MultiIndex.from_product(
        [["Close", "Open"], ["AAPL", "MSFT"]], names=["Price", "Ticker"]
    )
    raw = pd.DataFrame(np.hstack([y.to_numpy(), y.to_numpy() + 1]), index=y.index, columns=cols)
    pd.testing.assert_frame_equal(Toy().fit(raw).y_, y)
    pd.testing.assert_frame_equal(Toy(target="Open").fit(raw).y_, y + 1)


def test_min_observations_hook(y):
    with pytest.raises(ValueError, match=r"'MSFT' has 28.*at least 29"):
        Toy(min_obs=29).fit(y)


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.predict(3),
        lambda f: f.predict_quantiles(3),
        lambda f: f.predict_interval(3),
        lambda f: f.sample(3),
        lambda f: f.update(pd.Series([1.0], index=pd.DatetimeIndex(["2030-01-01"]))),
    ],
)
def test_not_fitted(call):
    with pytest.raises(NotFittedError):
        call(Toy())


def test_predict_quantiles_layout_and_monotone(y):
    f = Toy(random_state=0).fit(y)
    out = f.predict_quantiles(5, quantiles=[0.9, 0.1, 0.5, 0.25])
    assert out.columns.names == ["series", "quantile"]
    assert list(out.columns) == [(s, q) for s in ["AAPL", "MSFT"] for q in (0.1, 0.25, 0.5, 0.9)]
    assert out.index.name == "Date" and len(out) == 5
    assert out.index[0] == pd.Timestamp("2024-02-13")
    for s in ["AAPL", "MSFT"]:
        assert (np.diff(out[s].to_numpy(), axis=1) >= 0).all()


def test_quantiles_sorted_even_if_hook_crosses(y):
    out = Crossing().fit(y).predict_quantiles(2, quantiles=(0.1, 0.9))
    assert (
        (out.xs(0.1, axis=1, level="quantile") <= out.xs(0.9, axis=1, level="quantile")).all().all()
    )


def test_predict_is_median(y):
    f = Toy(random_state=3).fit(y)
    med = f.predict_quantiles(4, quantiles=(0.5,)).xs(0.5, axis=1, level="quantile")
    pred = f.predict(4)
    pd.testing.assert_frame_equal(pred, med.rename_axis(columns=None), check_names=False)
    assert list(pred.columns) == ["AAPL", "MSFT"]
    np.testing.assert_allclose(pred.iloc[0].to_numpy(), f.last_, atol=0.3)


def test_predict_interval(y):
    f = Toy(random_state=0).fit(y)
    out = f.predict_interval(3, coverage=0.8)
    assert list(out.columns) == [(s, b) for s in ["AAPL", "MSFT"] for b in ["lower", "upper"]]
    q = f.predict_quantiles(3, quantiles=(0.1, 0.9))
    np.testing.assert_allclose(out.to_numpy(), q.to_numpy(), rtol=1e-12)
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="coverage"):
            f.predict_interval(3, coverage=bad)


def test_bad_quantiles(y):
    f = Toy().fit(y)
    with pytest.raises(ValueError, match="between 0 and 1"):
        f.predict_quantiles(2, quantiles=(0.0, 0.5))
    with pytest.raises(ValueError, match="duplicates"):
        f.predict_quantiles(2, quantiles=(0.5, 0.5))


def test_sample_shape_and_reproducible(y):
    f = Toy(random_state=7).fit(y)
    s = f.sample(4, n_samples=11)
    assert s.shape == (11, 4, 2)
    np.testing.assert_array_equal(s, f.sample(4, n_samples=11))
    pd.testing.assert_frame_equal(f.predict_quantiles(3), f.predict_quantiles(3))
    assert not np.array_equal(s, Toy(random_state=8).fit(y).sample(4, n_samples=11))
    with pytest.raises(ValueError, match="n_samples"):
        f.sample(3, n_samples=0)


def test_a_huge_sample_is_refused_by_name_before_drawing(y):
    f = Toy(random_state=7).fit(y)
    with pytest.raises(ValueError, match=r"n_samples=10\*\*12|n_samples=1000000000000 .*GiB"):
        f.sample(3, n_samples=10**12)


def test_quantiles_beyond_the_sample_resolution_warn_at_the_caller(y):
    f = Toy(random_state=7).fit(y)  # 400 sample paths per quantile call
    with pytest.warns(UserWarning, match=r"beyond what 400 sample paths resolve") as record:
        f.predict_interval(2, coverage=0.999)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f.predict_interval(2, coverage=0.99)  # 0.005 >= 1/400: resolved
        f.predict_interval(2, coverage=0.995)  # (1 - 0.995) / 2 is 1/400 up to rounding


def test_random_state_validation(y):
    with pytest.raises(TypeError, match="random_state"):
        Toy(random_state="seed").fit(y).sample(2)
    gen = Toy(random_state=np.random.default_rng(0)).fit(y)
    assert not np.array_equal(gen.sample(2, 3), gen.sample(2, 3))


def test_horizon_variants(y):
    f = Toy(calendar=None).fit(y)
    out = f.predict(2)
    # median spacing of business days is 1 day
    assert list(out.index) == [pd.Timestamp("2024-02-13"), pd.Timestamp("2024-02-14")]
    idx = pd.DatetimeIndex(["2024-03-01", "2024-04-01"])
    out = f.predict(idx)
    assert list(out.index) == list(idx) and out.index.name == "Date"
    with pytest.raises(ValueError, match="strictly after"):
        f.predict(pd.DatetimeIndex(["2024-01-05"]))
    with pytest.raises(TypeError, match="horizon"):
        f.predict(2.5)


def test_tz_aware_fit_predicts_tz_aware(y):
    yt = y.tz_localize("America/New_York")
    out = Toy().fit(yt).predict(3)
    assert str(out.index.tz) == "America/New_York" and out.index.name == "Date"


def test_warnings_point_at_the_caller(y):
    with pytest.warns(UserWarning, match="not sorted") as record:
        Toy().fit(y.iloc[::-1])
    assert record[0].filename == __file__
    intraday = pd.Series(
        np.arange(10.0), index=pd.date_range("2024-01-02 10:00", periods=10, freq="h")
    )
    f = Toy().fit(intraday)
    with pytest.warns(UserWarning, match="under one day") as record:
        out = f.predict(2)
    assert record[0].filename == __file__
    assert out.index[0] == intraday.index[-1] + pd.Timedelta("1h")


def test_bad_hook_shape(y):
    with pytest.raises(RuntimeError, match="shape"):
        BadShape().fit(y).predict(2)


def test_update_moves_forward_and_calls_hook(y):
    f = Toy().fit(y.iloc[:20])
    new = y.iloc[20:][["MSFT", "AAPL"]]  # column order does not matter
    before = new.copy()
    f.update(new)
    pd.testing.assert_frame_equal(new, before)
    assert len(f.updates_) == 1
    assert list(f.updates_[0].columns) == ["AAPL", "MSFT"]
    pd.testing.assert_frame_equal(f.y_, y)
    assert f.last_timestamp_ == y.index[-1]
    pd.testing.assert_index_equal(f.index_, y.index)
    assert f.series_last_timestamp_["MSFT"] == y.index[-3]
    assert f.predict(1).index[0] > y.index[-1]


def test_update_with_all_nan_series_keeps_its_last_timestamp(y):
    f = Toy().fit(y)
    new = pd.DataFrame(
        {"AAPL": [1.0], "MSFT": [np.nan]}, index=pd.DatetimeIndex(["2024-03-01"], name="Date")
    )
    f.update(new)
    assert f.series_last_timestamp_["AAPL"] == pd.Timestamp("2024-03-01")
    assert f.series_last_timestamp_["MSFT"] == y.index[-3]


def test_update_validation(y):
    f = Toy().fit(y)
    later = pd.DatetimeIndex(["2024-03-01"])
    with pytest.raises(ValueError, match=r"missing \['MSFT'\], unexpected \['IBM'\]"):
        f.update(pd.DataFrame({"AAPL": [1.0], "IBM": [2.0]}, index=later))
    with pytest.raises(ValueError, match=r"strictly after.*2024-02-12.*2024-02-01"):
        f.update(
            pd.DataFrame({"AAPL": [1.0], "MSFT": [2.0]}, index=pd.DatetimeIndex(["2024-02-01"]))
        )
    with pytest.raises(ValueError, match="tz"):
        f.update(pd.DataFrame({"AAPL": [1.0], "MSFT": [2.0]}, index=later.tz_localize("UTC")))
    with pytest.raises(TypeError, match="DatetimeIndex"):
        f.update(pd.DataFrame({"AAPL": [1.0], "MSFT": [2.0]}))
    # regression: the no-new-rows idiom y[y.index > last_timestamp_] got a message about
    # failed yfinance downloads
    with pytest.raises(ValueError, match=r"update got no rows.*skip the call"):
        f.update(y[y.index > f.last_timestamp_])
    # nothing changed after the failures
    pd.testing.assert_frame_equal(f.y_, y)
    assert f.updates_ == []


def test_update_not_supported_message(y):
    f = NoUpdate().fit(y)
    with pytest.raises(NotImplementedError, match="refit"):
        f.update(
            pd.DataFrame({"AAPL": [1.0], "MSFT": [2.0]}, index=pd.DatetimeIndex(["2024-03-01"]))
        )


def test_update_single_series_with_unnamed_series():
    s = pd.Series(np.arange(1.0, 11.0), index=pd.bdate_range("2024-01-02", periods=10), name="SPY")
    f = Toy().fit(s)
    f.update(pd.Series([11.0], index=pd.DatetimeIndex(["2024-01-16"])))
    assert f.y_["SPY"].iloc[-1] == 11.0


def test_clone_and_params():
    f = Toy(random_state=3, calendar=None)
    g = clone(f)
    assert g.get_params() == f.get_params()
    assert not hasattr(g, "columns_")


class Overflowing(Toy):
    """A diverged model: some sample paths overflow."""

    def _sample(self, index, n_samples):
        out = super()._sample(index, n_samples)
        out[0, -1, 0] = np.inf
        out[1, -1, 0] = np.nan
        return out


def test_non_finite_forecasts_raise_an_actionable_error(y):
    # regression: NaN quantiles and inf samples were returned (and scored) silently
    model = Overflowing(random_state=0).fit(y)
    for call in (lambda: model.sample(3, n_samples=5), lambda: model.predict_quantiles(3)):
        with pytest.raises(FloatingPointError, match=r"non-finite .*smaller learning_rate"):
            call()


def test_update_in_another_time_zone_warns_when_daily_bars_move(y):
    # regression: Monday's New York bar silently became Sunday 19:00 of the fitted zone
    fitted = Toy(random_state=0).fit(y.tz_localize("America/New_York").iloc[:-3])
    rows = y.iloc[-3:]
    with pytest.warns(UserWarning, match=r"daily bars in tz Europe/London .*tz_localize\(None\)"):
        fitted.update(rows.tz_localize("Europe/London"))
    again = Toy(random_state=0).fit(y.tz_localize("America/New_York").iloc[:-3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same wall dates in the fitted zone: no warning
        again.update(rows.tz_localize("America/New_York").tz_convert("UTC"))


def test_update_in_the_same_zone_at_another_time_of_day_does_not_warn(y):
    fitted = Toy(random_state=0).fit(y.tz_localize("America/New_York").iloc[:-3])
    rows = y.iloc[-3:].tz_localize("America/New_York")
    rows.index = rows.index + pd.Timedelta(hours=16)  # closes stamped 16:00, same zone
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.update(rows)


def test_a_subclass_may_use_a_random_state_the_base_class_does_not_know(y):
    # regression: BaseForecaster.fit checked random_state with _rng (int, None or a Generator),
    # refusing the RandomState of a subclass that uses sklearn's check_random_state itself
    from sklearn.utils import check_random_state

    class SklearnSeeded(Toy):
        def _sample(self, index, n_samples):
            noise = check_random_state(self.random_state).standard_normal(
                (n_samples, len(index), len(self.last_))
            )
            return self.last_ + np.cumsum(noise, axis=1)

    model = SklearnSeeded(random_state=np.random.RandomState(0)).fit(y)
    assert model.predict(2).notna().all().all()
