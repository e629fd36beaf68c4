"""Tests of TSNodeForecaster (issue #3): inputs, outputs, estimator contract, errors.

Persistence lives in ``tests/test_forecaster_persistence.py``. Every model here is tiny; the
expensive fit happens once per module (``fitted``), the layout-equivalence checks use one-step
"micro" fits on a small frame.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import RobustScaler

import tsnode.forecaster as forecaster_module
import tsnode.nn.ode as ode_module
import tsnode.training as training_module
from tsnode._calibration import IDENTITY, effective_windows, fit_calibration
from tsnode._forecaster_params import device_available
from tsnode.datasets import make_gbm
from tsnode.forecaster import TSNodeForecaster
from tsnode.nn.latent_ode import ELBOResult
from tsnode.nn.ode import SolverError
from tsnode.preprocessing import LogScaler, SeriesScaler
from tsnode.training import TrainingError

PARAMS = dict(
    epochs=2,
    steps_per_epoch=2,
    batch_size=16,
    context_length=20,
    forecast_length=5,
    latent_dim=4,
    hidden_dim=8,
    ode_units=16,
    n_predict_samples=30,
    progress=False,
    random_state=0,
)
# One Adam step, no validation: enough to exercise the whole pipeline deterministically.
MICRO = dict(PARAMS, epochs=1, steps_per_epoch=1, batch_size=8, validation_fraction=0.0)
N_FIT = 130  # make_gbm's 130th business day from 2015-01-02 is Thursday 2015-07-02
FIT_END = pd.Timestamp("2015-07-02")


def make_prices() -> pd.DataFrame:
    """3 irregular series (dropped rows, NaN cells, a late start, an early end), 140 days."""
    y = make_gbm(3, n_days=N_FIT + 10, drop_fraction=0.0, random_state=0)
    rng = np.random.default_rng(1)
    inner = rng.choice(np.arange(1, N_FIT - 1), size=12, replace=False)
    keep = np.ones(len(y), dtype=bool)
    keep[inner] = False
    y = y.iloc[keep].copy()
    y.iloc[:25, 1] = np.nan  # s1 starts later
    y.loc[y.index[y.index <= FIT_END][-8:], "s2"] = np.nan  # s2 ends earlier (in the fit part)
    y.iloc[[30, 31, 50], 0] = np.nan  # scattered missing cells
    return y


def small_wide() -> pd.DataFrame:
    """Two tickers, 60 irregular business days (for the layout-equivalence fits)."""
    y = make_gbm(2, n_days=70, drop_fraction=0.1, random_state=3)
    return y.set_axis(["AAPL", "MSFT"], axis=1)


def as_yf_download(wide: pd.DataFrame) -> pd.DataFrame:
    """`yf.download(tickers)` layout: Price x Ticker, fields and tickers sorted."""
    fields = ["Close", "High", "Low", "Open", "Volume"]
    tickers = sorted(wide.columns)
    cols = pd.MultiIndex.from_product([fields, tickers], names=["Price", "Ticker"])
    data = {}
    for field, ticker in cols:
        close = wide[ticker].to_numpy()
        if field == "Volume":
            data[(field, ticker)] = np.arange(len(wide), dtype=np.int64) * 100 + 1000
        else:
            data[(field, ticker)] = close * {"Close": 1.0, "High": 1.01, "Low": 0.99}.get(
                field, 1.002
            )
    return pd.DataFrame(data, index=wide.index.copy(), columns=cols)


def as_yf_by_ticker(wide: pd.DataFrame) -> pd.DataFrame:
    """`yf.download(tickers, group_by='ticker')`: Ticker x Price, tickers NOT sorted."""
    sorted_frame = as_yf_download(wide)
    fields = ["Open", "High", "Low", "Close", "Volume"]
    tickers = list(reversed(sorted(wide.columns)))
    cols = pd.MultiIndex.from_tuples(
        [(t, f) for t in tickers for f in fields], names=["Ticker", "Price"]
    )
    data = {(t, f): sorted_frame[(f, t)].to_numpy() for t, f in cols}
    return pd.DataFrame(data, index=wide.index.copy(), columns=cols)


def as_yf_flat(series: pd.Series) -> pd.DataFrame:
    """Single ticker, `multi_level_index=False`: flat Close/High/Low/Open/Volume."""
    close = series.to_numpy()
    return pd.DataFrame(
        {
            "Close": close,
            "High": close * 1.01,
            "Low": close * 0.99,
            "Open": close * 1.002,
            "Volume": np.arange(len(series), dtype=np.int64) + 1000,
        },
        index=series.index.copy(),
    )


def quantiles_of(estimator: TSNodeForecaster, horizon=4) -> pd.DataFrame:
    return estimator.predict_quantiles(horizon, quantiles=(0.1, 0.5, 0.9))


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return make_prices()


@pytest.fixture(scope="module")
def train(prices) -> pd.DataFrame:
    return prices[prices.index <= FIT_END]


@pytest.fixture(scope="module")
def fitted(train) -> TSNodeForecaster:
    model = TSNodeForecaster(**PARAMS)
    assert model.fit(train) is model
    return model


@pytest.fixture(scope="module")
def wide_reference() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The small wide frame and the micro model's quantile forecast on it."""
    wide = small_wide()
    model = TSNodeForecaster(**MICRO).fit(wide)
    return wide, quantiles_of(model)


def assert_same_forecast(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_index_equal(a.index, b.index)
    pd.testing.assert_index_equal(a.columns, b.columns)
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------- input layouts
def test_series_input_equals_one_column_frame():
    wide = small_wide()[["AAPL"]]
    from_series = quantiles_of(TSNodeForecaster(**MICRO).fit(wide["AAPL"]))
    from_frame = quantiles_of(TSNodeForecaster(**MICRO).fit(wide))
    assert_same_forecast(from_series, from_frame)
    assert list(from_series.columns.get_level_values("series").unique()) == ["AAPL"]


@pytest.mark.parametrize("layout", [as_yf_download, as_yf_by_ticker])
def test_yfinance_multiindex_layouts_equal_wide_frame(wide_reference, layout):
    wide, expected = wide_reference
    frame = layout(wide)
    before = frame.copy(deep=True)
    got = quantiles_of(TSNodeForecaster(**MICRO).fit(frame))
    assert_same_forecast(got, expected)
    pd.testing.assert_frame_equal(frame, before)


def test_yfinance_flat_single_ticker_equals_series():
    series = small_wide()["AAPL"].rename("y")
    got = quantiles_of(TSNodeForecaster(**MICRO).fit(as_yf_flat(series)))
    expected = quantiles_of(TSNodeForecaster(**MICRO).fit(series))
    assert_same_forecast(got, expected)


def test_yfinance_ticker_history_tz_aware_equals_series():
    """`yf.Ticker(t).history()`: flat fields incl. Dividends/Stock Splits, tz-aware index."""
    series = small_wide()["AAPL"].rename("y").tz_localize("America/New_York")
    history = as_yf_flat(series)[["Open", "High", "Low", "Close", "Volume"]].assign(
        Dividends=0.0, **{"Stock Splits": 0.0}
    )
    got = quantiles_of(TSNodeForecaster(**MICRO).fit(history))
    expected = quantiles_of(TSNodeForecaster(**MICRO).fit(series))
    assert_same_forecast(got, expected)
    assert str(got.index.tz) == "America/New_York"


def test_target_picks_another_price_field(wide_reference):
    wide, _ = wide_reference
    frame = as_yf_download(wide)
    got = quantiles_of(TSNodeForecaster(**dict(MICRO, target="High")).fit(frame))
    expected = quantiles_of(TSNodeForecaster(**MICRO).fit(wide * 1.01))
    assert_same_forecast(got, expected)


def test_nan_cells_are_masked_not_filled():
    """NaN rows of a single series behave exactly like rows that do not exist.

    Forward filling would feed repeated values to the model and change the forecast.
    """
    series = small_wide()["AAPL"]
    with_nan = series.copy()
    with_nan.iloc[[5, 6, 7, 20, 33]] = np.nan
    dropped = with_nan.dropna()
    got = quantiles_of(TSNodeForecaster(**MICRO).fit(with_nan))
    expected = quantiles_of(TSNodeForecaster(**MICRO).fit(dropped))
    assert_same_forecast(got, expected)
    filled = quantiles_of(TSNodeForecaster(**MICRO).fit(with_nan.ffill()))
    assert not np.allclose(filled.to_numpy(), got.to_numpy())


def test_tz_aware_input_keeps_tz_and_matches_same_instants_in_utc():
    wide = small_wide()
    ny = wide.tz_localize("America/New_York")
    utc = ny.tz_convert("UTC")
    model_ny = TSNodeForecaster(**MICRO).fit(ny)
    model_utc = TSNodeForecaster(**MICRO).fit(utc)
    pred = model_ny.predict(5)
    assert str(pred.index.tz) == "America/New_York"
    assert pred.index.name == "Date"
    assert (pred.index.day_of_week < 5).all()
    assert (pred.index.normalize() == pred.index).all()  # midnight, like the data
    assert pred.index[0] > ny.index[-1]
    # Same instants in another zone: identical model clock, identical forecast.
    horizon = pd.DatetimeIndex(["2015-04-20 16:00", "2015-05-01 09:30"], tz="America/New_York")
    a = model_ny.predict_quantiles(horizon)
    b = model_utc.predict_quantiles(horizon.tz_convert("UTC"))
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-12)
    assert str(b.index.tz) == "UTC"


def test_tz_naive_prediction_index(fitted, train):
    pred = fitted.predict(3)
    assert pred.index.tz is None
    assert pred.index.name == train.index.name == "Date"
    assert pred.index.dtype == train.index.dtype


def test_series_of_different_lengths_and_start_dates(fitted, train):
    counts = train.notna().sum()
    assert counts.nunique() == 3  # the fixture really has three lengths
    pred = fitted.predict(4)
    assert list(pred.columns) == ["s0", "s1", "s2"]
    assert np.isfinite(pred.to_numpy()).all()
    # s2 stopped 8 rows before the others but is forecast on the same common future dates.
    assert fitted.series_last_timestamp_["s2"] < fitted.last_timestamp_
    assert pred.index[0] > fitted.last_timestamp_


def test_unsorted_timestamps_warn_and_give_the_sorted_forecast():
    wide = small_wide()
    shuffled = wide.iloc[np.random.default_rng(0).permutation(len(wide))]
    before = shuffled.copy(deep=True)
    with pytest.warns(UserWarning, match="not sorted") as record:
        model = TSNodeForecaster(**MICRO).fit(shuffled)
    assert record[0].filename == __file__  # regression: pointed at forecaster.py (its fit)
    assert_same_forecast(quantiles_of(model), quantiles_of(TSNodeForecaster(**MICRO).fit(wide)))
    pd.testing.assert_frame_equal(shuffled, before)


# ---------------------------------------------------------------------------- outputs
def test_predict_follows_the_nyse_calendar(fitted):
    pred = fitted.predict(5)
    assert pred.shape == (5, 3)
    # 2015-07-03 (Friday) is the Independence Day holiday, then a weekend.
    expected = pd.DatetimeIndex(
        ["2015-07-06", "2015-07-07", "2015-07-08", "2015-07-09", "2015-07-10"], name="Date"
    ).as_unit(pred.index.unit)
    pd.testing.assert_index_equal(pred.index, expected)
    values = pred.to_numpy()
    assert np.isfinite(values).all() and (values > 0).all()
    assert pd.testing.assert_index_equal(pred.columns, fitted.columns_) is None


def test_predict_is_the_median_quantile(fitted):
    pred = fitted.predict(4)
    median = fitted.predict_quantiles(4, quantiles=[0.5]).xs(0.5, axis=1, level="quantile")
    np.testing.assert_allclose(pred.to_numpy(), median.to_numpy(), rtol=1e-12)


def test_calendar_none_continues_observed_spacing(fitted):
    model = copy.deepcopy(fitted).set_params(calendar=None)
    pred = model.predict(6)
    assert (fitted.index_.day_of_week < 5).all()  # weekday data with holidays missing
    # continues on business days: no weekend, one session after another
    expected = pd.DatetimeIndex(pd.bdate_range(fitted.last_timestamp_, periods=7)[1:], freq=None)
    pd.testing.assert_index_equal(pred.index, expected, check_names=False)


def test_explicit_datetimeindex_horizon_at_any_spacing(fitted):
    last = fitted.last_timestamp_
    horizon = pd.DatetimeIndex(
        [last + pd.Timedelta(hours=3), last + pd.Timedelta(days=2), last + pd.Timedelta(days=40)]
    )
    pred = fitted.predict(horizon)
    pd.testing.assert_index_equal(pred.index, horizon.rename("Date"))
    assert np.isfinite(pred.to_numpy()).all() and (pred.to_numpy() > 0).all()


def test_predict_quantiles_structure_and_monotone(fitted):
    levels = [0.9, 0.05, 0.5, 0.25]
    q = fitted.predict_quantiles(7, quantiles=levels)
    assert q.columns.names == ["series", "quantile"]
    assert list(q.columns) == [(s, lv) for s in ["s0", "s1", "s2"] for lv in sorted(levels)]
    values = q.to_numpy().reshape(7, 3, 4)
    assert (np.diff(values, axis=-1) >= 0).all()
    assert (values > 0).all()
    assert (values[..., -1] > values[..., 0]).all()  # a real spread, not a point mass


def test_predict_interval_bounds(fitted):
    interval = fitted.predict_interval(5, coverage=0.8)
    assert interval.columns.names == ["series", "bound"]
    assert list(interval.columns) == [
        (s, b) for s in ["s0", "s1", "s2"] for b in ["lower", "upper"]
    ]
    lower = interval.xs("lower", axis=1, level="bound")
    upper = interval.xs("upper", axis=1, level="bound")
    assert (lower.to_numpy() <= upper.to_numpy()).all()
    with pytest.warns(UserWarning, match=r"levels 0.01, 0.99 lie beyond what 30 sample"):
        wide = fitted.predict_interval(5, coverage=0.98)
    assert (wide.xs("upper", axis=1, level="bound") >= upper).all().all()


def test_sample_shape_and_units(fitted):
    samples = fitted.sample(4, n_samples=7)
    assert samples.shape == (7, 4, 3)
    assert samples.dtype == np.float64
    assert np.isfinite(samples).all() and (samples > 0).all()
    # Same scale as the data: last prices are within a factor 2 of every sample path.
    last = fitted.y_.ffill().iloc[-1].to_numpy()
    assert (np.abs(np.log(samples / last)) < np.log(2)).all()


def test_repeated_predictions_are_identical(fitted):
    pd.testing.assert_frame_equal(quantiles_of(fitted), quantiles_of(fitted))


def test_reconstruct_fitted_index(fitted, train):
    rec = fitted.reconstruct()
    pd.testing.assert_index_equal(rec.index, train.index)
    pd.testing.assert_index_equal(rec.columns, fitted.columns_)
    values = rec.to_numpy()
    assert not np.isnan(values).any() and (values > 0).all()
    # A reconstruction, not noise: within 30% of the observed prices.
    ratio = (rec / train).stack().dropna()
    assert ((ratio > 0.7) & (ratio < 1.3)).all()
    # Each time is decoded from the window ending at the next observation, where the posterior
    # is sharpest: observed prices come back to within 0.1% everywhere. Blocks of
    # context_length decoded from their own last observation were 5% off at their start, and
    # the path jumped at every block edge.
    np.testing.assert_array_less(np.abs(np.log(ratio)), 1e-3)


def test_reconstruct_custom_in_sample_index(fitted, train):
    index = pd.DatetimeIndex(
        [train.index[3] + pd.Timedelta(hours=12), train.index[40], train.index[-2]], name="Date"
    )
    rec = fitted.reconstruct(index)
    pd.testing.assert_index_equal(rec.index, index)
    assert rec.shape == (3, 3) and np.isfinite(rec.to_numpy()).all()
    with pytest.raises(TypeError, match="DatetimeIndex"):
        fitted.reconstruct(list(index))
    with pytest.raises(ValueError, match="tz"):
        fitted.reconstruct(index.tz_localize("UTC"))
    with pytest.raises(ValueError, match="index is empty"):
        fitted.reconstruct(pd.DatetimeIndex([]))
    for outside in (train.index[0] - pd.Timedelta(days=1), train.index[-1] + pd.Timedelta(days=1)):
        with pytest.raises(ValueError, match=r"outside the fitted span.*use predict\(horizon\)"):
            fitted.reconstruct(pd.DatetimeIndex([train.index[5], outside]))
    with pytest.raises(ValueError, match="1 NaT value"):
        fitted.reconstruct(pd.DatetimeIndex([train.index[0], pd.NaT]))
    for bad in (index[::-1], index.append(index[-1:])):
        with pytest.raises(ValueError, match=r"sorted and free of duplicates"):
            fitted.reconstruct(bad)


def test_update_conditions_without_changing_weights(fitted, prices):
    model = copy.deepcopy(fitted)
    weights = {k: v.clone() for k, v in model.model_.state_dict().items()}
    scaler_mean = model.scaler_.mean_.copy()
    new = prices[prices.index > FIT_END]
    before = new.copy(deep=True)
    before_pred = model.predict(3)
    assert model.update(new) is model
    pd.testing.assert_frame_equal(new, before)
    after = model.model_.state_dict()
    assert after.keys() == weights.keys()
    for key, value in weights.items():
        assert torch.equal(after[key], value), key
    np.testing.assert_array_equal(model.scaler_.mean_, scaler_mean)  # scaler not refitted
    assert model.last_timestamp_ == new.index[-1]
    pd.testing.assert_index_equal(model.index_, prices.index)
    pred = model.predict(3)
    assert pred.index[0] > new.index[-1]
    assert not pred.index.isin(before_pred.index).any()
    # The forecast is conditioned on the new observations: the model moved with the data.
    assert not np.allclose(pred.to_numpy(), before_pred.to_numpy())


def test_update_then_predict_equals_predict_from_extended_history(fitted, prices):
    """update(new) conditions exactly like a model holding the whole history (same weights)."""
    updated = copy.deepcopy(fitted).update(prices[prices.index > FIT_END])
    rebuilt = copy.deepcopy(fitted)
    rebuilt._set_fitted_frame(prices.astype(np.float64))
    pd.testing.assert_frame_equal(quantiles_of(updated), quantiles_of(rebuilt))


def test_update_errors(fitted, prices):
    model = copy.deepcopy(fitted)
    new = prices[prices.index > FIT_END]
    with pytest.raises(ValueError, match="fitted series"):
        model.update(new.rename(columns={"s0": "other"}))
    with pytest.raises(ValueError, match="fitted series"):
        model.update(new[["s0", "s1"]])
    with pytest.raises(ValueError, match="strictly after the last fitted timestamp"):
        model.update(prices.iloc[-15:])
    with pytest.raises(ValueError, match="tz"):
        model.update(new.tz_localize("UTC"))
    assert model.last_timestamp_ == fitted.last_timestamp_  # failed updates change nothing


# ---------------------------------------------------------------------------- estimator contract
def test_get_set_params_and_clone():
    model = TSNodeForecaster(**PARAMS)
    params = model.get_params()
    for key, value in PARAMS.items():
        assert params[key] == value
    assert set(params) >= {"solver", "scaler", "calendar", "device", "target", "latent_dim"}
    assert model.set_params(latent_dim=3, calendar=None) is model
    assert model.latent_dim == 3 and model.calendar is None
    cloned = clone(model)
    assert cloned is not model and cloned.get_params() == model.get_params()
    with pytest.raises(ValueError, match="Invalid parameter"):
        model.set_params(no_such_parameter=1)


def test_clone_of_fitted_model_is_unfitted(fitted):
    cloned = clone(fitted)
    assert not hasattr(cloned, "model_")
    with pytest.raises(NotFittedError):
        cloned.predict(2)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.predict(3),
        lambda m: m.predict_quantiles(3),
        lambda m: m.predict_interval(3),
        lambda m: m.sample(3),
        lambda m: m.update(small_wide()),
        lambda m: m.reconstruct(),
        lambda m, tmp=None: m.save("unused-dir-never-created"),
    ],
    ids=[
        "predict",
        "predict_quantiles",
        "predict_interval",
        "sample",
        "update",
        "reconstruct",
        "save",
    ],
)
def test_not_fitted_errors(call, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFittedError):
        call(TSNodeForecaster(**PARAMS))
    assert not (tmp_path / "unused-dir-never-created").exists()


def test_fitted_attributes_end_with_underscore(fitted):
    params = set(fitted.get_params(deep=False))
    public = {k for k in vars(fitted) if not k.startswith("_")}
    extra = public - params
    assert extra, "fit set no attributes"
    assert all(k.endswith("_") for k in extra), sorted(extra)
    assert {"model_", "scaler_", "history_", "origin_", "columns_", "index_"} <= extra
    assert {"last_timestamp_", "n_series_"} <= extra
    assert fitted.n_series_ == 3
    unfitted = TSNodeForecaster(**PARAMS)
    assert not [k for k in vars(unfitted) if k.endswith("_")]


def test_history_has_per_epoch_lists(fitted):
    history = fitted.history_
    assert set(history) >= {"loss", "val_loss", "kl_weight", "nfe", "lr"}
    n_epochs = len(history["loss"])
    assert 1 <= n_epochs <= PARAMS["epochs"]
    for key, values in history.items():
        assert isinstance(values, list) and len(values) == n_epochs, key
    assert np.isfinite(history["loss"]).all()
    assert np.isfinite(history["val_loss"]).all()  # the fixture holds validation data back


def test_progress_bar(capsys):
    series = small_wide()["AAPL"]
    TSNodeForecaster(**MICRO).fit(series)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    TSNodeForecaster(**dict(MICRO, progress=True)).fit(series)
    assert "tsnode fit" in capsys.readouterr().err


def test_random_state_reproducibility():
    wide = small_wide()
    a = quantiles_of(TSNodeForecaster(**dict(MICRO, random_state=7)).fit(wide))
    b = quantiles_of(TSNodeForecaster(**dict(MICRO, random_state=7)).fit(wide))
    c = quantiles_of(TSNodeForecaster(**dict(MICRO, random_state=8)).fit(wide))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_a_year_ahead_forecast_truncates_to_the_shorter_one(fitted):
    # within the decode budget (tsnode._windows.DECODE_BUDGET) a year-ahead forecast is
    # decoded in the same chunks as a shorter one, so it truncates to it exactly
    year = fitted.predict_quantiles(250)
    pd.testing.assert_frame_equal(fitted.predict_quantiles(40), year.iloc[:40], check_freq=False)


def test_a_shorter_horizon_gives_the_same_forecast_truncated(fitted):
    longest = fitted.sample(6, n_samples=40)
    quantiles = fitted.predict_quantiles(6, quantiles=[0.1, 0.5, 0.9])
    for horizon in (1, 3):
        np.testing.assert_array_equal(fitted.sample(horizon, n_samples=40), longest[:, :horizon])
        pd.testing.assert_frame_equal(
            fitted.predict_quantiles(horizon, quantiles=[0.1, 0.5, 0.9]),
            quantiles.iloc[:horizon],
            check_freq=False,
        )


def test_input_frame_is_never_modified(prices):
    frame = prices[prices.index <= FIT_END].copy()
    frame.index = frame.index.tz_localize("America/New_York")
    frame["s0"] = frame["s0"].astype("float32")
    snapshot = copy.deepcopy(frame)
    model = TSNodeForecaster(**MICRO).fit(frame)
    model.predict(2)
    model.reconstruct()
    pd.testing.assert_frame_equal(frame, snapshot, check_exact=True, check_freq=True)
    assert frame.index.tz == snapshot.index.tz and frame.index.name == "Date"
    assert frame.dtypes.tolist() == snapshot.dtypes.tolist()
    assert model.y_ is not frame and not np.shares_memory(model.y_.to_numpy(), frame.to_numpy())


def test_scaler_is_cloned_and_fitted_on_training_data_only(train):
    user_scaler = LogScaler()
    model = TSNodeForecaster(**dict(MICRO, scaler=user_scaler)).fit(train)
    assert model.scaler_ is not user_scaler
    assert model.scaler is user_scaler
    assert not hasattr(user_scaler, "mean_")  # the user's object stays unfitted
    reference = LogScaler().fit(train)
    np.testing.assert_allclose(model.scaler_.mean_, reference.mean_, rtol=1e-12)
    np.testing.assert_allclose(model.scaler_.scale_, reference.scale_, rtol=1e-12)


def test_custom_scaler_end_to_end(train):
    scaler = SeriesScaler(RobustScaler())
    model = TSNodeForecaster(**dict(MICRO, scaler=scaler)).fit(train)
    assert isinstance(model.scaler_, SeriesScaler) and model.scaler_ is not scaler
    assert len(model.scaler_.transformers_) == 3
    assert not hasattr(scaler, "transformers_")
    pred = model.predict(3)
    q = quantiles_of(model)
    assert np.isfinite(pred.to_numpy()).all()
    assert (np.diff(q.to_numpy().reshape(4, 3, 3), axis=-1) >= 0).all()
    # The prices are ~100: a working inverse transform gives forecasts of that size.
    assert ((pred > 30) & (pred < 300)).all().all()
    assert not model.reconstruct().isna().any().any()


# ---------------------------------------------------------------------------- bad input
def _good_frame(n: int = 40) -> pd.DataFrame:
    return small_wide().iloc[:n].copy()


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: _good_frame().iloc[:0], ValueError, "empty"),
        (lambda: _good_frame().iloc[:, :0], ValueError, "empty"),
        (lambda: _good_frame().assign(AAPL="x"), TypeError, "'AAPL' has dtype"),
        (lambda: _good_frame().reset_index(drop=True), TypeError, "DatetimeIndex"),
        (
            lambda: _good_frame().set_axis(_good_frame().index.strftime("%Y-%m-%d"), axis=0),
            TypeError,
            "DatetimeIndex",
        ),
        (
            lambda: pd.concat([_good_frame(), _good_frame().iloc[[5]]]).sort_index(),
            ValueError,
            "duplicate timestamps",
        ),
        (lambda: _good_frame().assign(MSFT=np.nan), ValueError, "only NaN"),
        (lambda: _good_frame().replace(_good_frame().iloc[7, 0], np.inf), ValueError, "infinite"),
        (lambda: _good_frame().replace(_good_frame().iloc[7, 0], 0.0), ValueError, "Zero values"),
        (lambda: _good_frame().replace(_good_frame().iloc[7, 0], -3.0), ValueError, "Negative"),
        (lambda: _good_frame(9), ValueError, "at least 10"),
        (
            lambda: _good_frame().assign(AAPL=lambda d: d.AAPL.where(d.index > d.index[33])),
            ValueError,
            "'AAPL' has 6.*at least 10",
        ),
        (lambda: [1.0, 2.0, 3.0], TypeError, "pandas Series or DataFrame"),
    ],
    ids=[
        "no-rows",
        "no-columns",
        "non-numeric",
        "range-index",
        "string-index",
        "duplicate-timestamps",
        "all-nan-series",
        "inf",
        "zero-price",
        "negative-price",
        "too-short",
        "one-series-too-short",
        "list",
    ],
)
def test_bad_fit_input(make, error, match):
    model = TSNodeForecaster(**MICRO)
    with pytest.raises(error, match=match):
        model.fit(make())
    # A failed fit leaves no half-fitted estimator behind.
    with pytest.raises(NotFittedError):
        model.predict(2)


def test_unknown_yfinance_target_lists_available_fields(wide_reference):
    wide, _ = wide_reference
    model = TSNodeForecaster(**dict(MICRO, target="Adj Close"))
    with pytest.raises(ValueError, match=r"target='Adj Close'.*'Close', 'High', 'Low'"):
        model.fit(as_yf_download(wide))
    with pytest.raises(ValueError, match=r"target='close'.*available"):
        TSNodeForecaster(**dict(MICRO, target="close")).fit(as_yf_flat(wide["AAPL"]))


@pytest.mark.parametrize(
    ("horizon", "error", "match"),
    [
        (0, ValueError, "positive int"),
        (-3, ValueError, "positive int"),
        (2.0, TypeError, "positive int"),
        ("5", TypeError, "positive int"),
        (True, TypeError, "positive int"),
        ([1, 2], TypeError, "DatetimeIndex"),
    ],
)
def test_bad_horizon(fitted, horizon, error, match):
    for method in (
        fitted.predict,
        fitted.predict_quantiles,
        fitted.predict_interval,
        fitted.sample,
    ):
        with pytest.raises(error, match=match):
            method(horizon)


def test_datetimeindex_horizon_must_be_after_last_observation(fitted):
    last = fitted.last_timestamp_
    with pytest.raises(ValueError, match="strictly after the last observed timestamp"):
        fitted.predict(pd.DatetimeIndex([last, last + pd.Timedelta(days=1)]))
    with pytest.raises(ValueError, match="strictly after the last observed timestamp"):
        fitted.predict(pd.DatetimeIndex([last - pd.Timedelta(days=5)]))
    with pytest.raises(ValueError, match="tz"):
        fitted.predict(pd.DatetimeIndex([last + pd.Timedelta(days=1)]).tz_localize("UTC"))


def test_bad_quantiles_coverage_and_n_samples(fitted):
    with pytest.raises(ValueError, match="quantile"):
        fitted.predict_quantiles(2, quantiles=[0.0, 0.5])
    with pytest.raises(ValueError, match="coverage"):
        fitted.predict_interval(2, coverage=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(2, n_samples=0)


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("context_length", 0, "context_length must be an int >= 1, got 0"),
        ("forecast_length", 2.5, "forecast_length must be an int >= 1"),
        ("latent_dim", True, "latent_dim must be an int"),
        ("learning_rate", -1, "learning_rate must be a positive finite number, got -1"),
        ("learning_rate", float("nan"), "learning_rate must be a positive finite number"),
        ("time_scale_days", 0.0, "time_scale_days must be a positive finite number"),
        ("weight_decay", -0.1, "weight_decay must be a finite number >= 0, got -0.1"),
        ("weight_decay", float("inf"), "weight_decay must be a finite number >= 0, got inf"),
        ("weight_decay", "0.1", "weight_decay must be a number, got '0.1' of type str"),
        ("validation_fraction", 0.7, r"validation_fraction must be in \[0, 0.5\)"),
        ("epochs", "3", "epochs must be an int >= 1, got '3' of type str; pass e.g. epochs=1"),
        ("num_threads", 10**6, "num_threads must be at most"),
        ("patience", 0, "patience must be an int >= 1"),
        ("solver", "runge_kutta", "not a known ODE solver"),
        ("solver", "dopri", r"Did you mean .*'dopri5'"),
        ("sensitivity", "backprop", "sensitivity='backprop' is not supported"),
        ("solver", "scipy_solver", "scipy_solver.*cannot train.*sensitivity='adjoint'"),
        ("device", 3, "device must be a string"),
        ("device", "gpu", "device='gpu' is not a torch device"),
        ("random_state", -1, "random_state must be None or an int"),
        ("random_state", "a", "random_state must be None or an int"),
        ("random_state", np.random.default_rng(0), "numpy Generator is not supported"),
        ("iwae", "yes", "iwae must be True or False"),
        ("progress", "no", "progress must be True or False"),
        ("calibrate", "yes", "calibrate must be True or False"),
        ("scaler", "log", "scaler must be None or a scikit-learn transformer"),
        ("scaler", LogScaler, r"got the class LogScaler; pass LogScaler\(\)"),
    ],
)
def test_bad_parameters(param, value, match):
    model = TSNodeForecaster(**dict(MICRO, **{param: value}))  # __init__ only stores
    assert getattr(model, param) is value
    with pytest.raises((ValueError, TypeError), match=match) as info:
        model.fit(_good_frame())
    if param == "random_state":  # regression: a str was a ValueError, unlike elsewhere
        assert info.type is (ValueError if value == -1 else TypeError)
    with pytest.raises(NotFittedError):
        model.predict(2)


def test_numpy_scalar_parameters_are_accepted():
    params = dict(MICRO, learning_rate=np.float32(0.01), context_length=np.int64(20))
    params.update(random_state=np.int64(3), iwae=np.bool_(False))
    params.update(weight_decay=np.float32(1e-5), validation_fraction=np.float64(0.1))
    model = TSNodeForecaster(**params).fit(_good_frame())
    assert np.isfinite(model.predict(2).to_numpy()).all()


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("n_predict_samples", 0, "n_predict_samples must be an int >= 1, got 0"),
        ("context_length", 0, "context_length must be an int >= 1, got 0"),
    ],
)
def test_parameters_changed_after_fit_are_checked_at_predict(fitted, param, value, match):
    model = copy.deepcopy(fitted).set_params(**{param: value})
    with pytest.raises(ValueError, match=match):
        model.predict(2)
    with pytest.raises(ValueError, match=match):
        model.reconstruct()


def test_intraday_data_with_a_daily_time_scale_warns_at_the_caller():
    idx = pd.date_range("2024-01-02 09:30", periods=80, freq="min", tz="America/New_York")
    y = pd.Series(100 + np.cumsum(np.random.default_rng(0).normal(0, 0.1, 80)), idx, name="x")
    match = r"43,200 observed spacings.*time_scale_days=0.0208"
    with pytest.warns(UserWarning, match=match) as record:
        TSNodeForecaster(**dict(MICRO, calendar=None)).fit(y)
    assert [r.filename for r in record if "observed spacings" in str(r.message)] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # about 30 spacings per unit: no warning
        TSNodeForecaster(**dict(MICRO, calendar=None, time_scale_days=0.02)).fit(y)


@pytest.mark.parametrize(
    "params, match",
    [
        (
            {"time_scale_days": 1e-3},
            r"time_scale_days=0.001 and step_size=0.5 make about 2,000 solver steps",
        ),
        ({"time_scale_days": 1e-9}, r"make about 2,000,000,000 solver steps"),
        ({"step_size": 1e-6}, r"step_size=1e-06 make about 33,333 solver steps"),
        ({"time_scale_days": 1e-4, "solver": "dopri5"}, r"10,000 model time units \(adaptive"),
    ],
)
def test_a_time_scale_needing_thousands_of_steps_per_gap_is_refused_at_once(params, match, train):
    # Before: minutes of solving, or a 208 GB allocation inside the encoder.
    with pytest.raises(ValueError, match=match + r".*time_scale_days=\d"):
        TSNodeForecaster(**dict(MICRO, **params)).fit(train)


def test_a_solver_failure_at_predict_names_what_to_refit_with():
    from tsnode.nn.ode import NeuralODE, SolverError

    model = TSNodeForecaster(**dict(MICRO, solver="dopri5")).fit(_good_frame())
    ode = next(m for m in model.model_.modules() if isinstance(m, NeuralODE))
    ode.options = {"max_num_steps": 1}  # a step budget no forecast can meet
    ode.rtol = ode.atol = 1e-12
    with pytest.raises(SolverError, match=r"while forecasting.*solver='dopri5'.*refit with"):
        model.predict(5)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    model = TSNodeForecaster(**dict(MICRO, device="cuda"))
    with pytest.raises(ValueError, match="device='cuda'.*no CUDA GPU.*device='cpu'"):
        model.fit(_good_frame())


@pytest.mark.parametrize("device", ["meta", "cuda:7", "xpu"])
def test_a_device_this_machine_lacks_is_a_clear_error(device):
    if device != "meta" and device_available(torch.device(device)):
        pytest.skip(f"this machine has {device}")
    model = TSNodeForecaster(**dict(MICRO, device=device))
    with pytest.raises(ValueError, match=f"device='{device}'.*device='cpu'"):
        model.fit(_good_frame())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_end_to_end(tmp_path):
    wide = _good_frame(60)
    model = TSNodeForecaster(**dict(MICRO, device="cuda")).fit(wide)
    assert next(model.model_.parameters()).device.type == "cuda"
    pred = model.predict(3)
    assert np.isfinite(pred.to_numpy()).all() and (pred.to_numpy() > 0).all()
    q1, q2 = quantiles_of(model), quantiles_of(model)
    pd.testing.assert_frame_equal(q1, q2)
    assert not model.reconstruct().isna().any().any()
    model.update(small_wide().iloc[60:])
    loaded = TSNodeForecaster.load(model.save(tmp_path / "gpu"))
    assert next(loaded.model_.parameters()).device.type == "cuda"
    pd.testing.assert_frame_equal(quantiles_of(loaded), quantiles_of(model))


# ---------------------------------------------------------------------------- numerical trouble
def test_nan_loss_raises_training_error(monkeypatch):
    def nan_elbo(model, batch, config, kl_weight, generator=None):
        nan = torch.tensor(float("nan"), requires_grad=True)
        return ELBOResult(nan, nan.detach(), nan.detach())

    monkeypatch.setattr(training_module, "_elbo", nan_elbo)
    model = TSNodeForecaster(**MICRO)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the recovery attempts warn
        with pytest.raises(TrainingError, match="learning_rate"):
            model.fit(_good_frame())


def test_solver_failure_raises_solver_error(fitted, monkeypatch):
    def failing_odeint(*args, **kwargs):
        raise AssertionError("underflow in dt 0.0")  # how torchdiffeq reports it

    monkeypatch.setattr(ode_module, "odeint", failing_odeint)
    with pytest.raises(SolverError, match="solver failed"):
        TSNodeForecaster(**MICRO).fit(_good_frame())
    with pytest.raises(SolverError, match="rtol"):
        fitted.predict(2)


# ---------------------------------------------------------------------------- calibration
@pytest.mark.slow
def test_interval_coverage_on_gbm():
    """80% intervals cover roughly 80% of held-out GBM prices (8 series x 20 sessions).

    The bound is loose on purpose (160 correlated points, a small model): 55-98%.
    """
    y = make_gbm(8, n_days=400, mu=0.05, sigma=0.2, drop_fraction=0.1, random_state=11)
    train, test = y.iloc[:-20], y.iloc[-20:]
    model = TSNodeForecaster(
        epochs=12,
        steps_per_epoch=15,
        batch_size=32,
        context_length=40,
        forecast_length=20,
        latent_dim=8,
        hidden_dim=16,
        ode_units=32,
        n_predict_samples=200,
        progress=False,
        random_state=0,
    ).fit(train)
    interval = model.predict_interval(test.index, coverage=0.8)
    lower = interval.xs("lower", axis=1, level="bound").to_numpy()
    upper = interval.xs("upper", axis=1, level="bound").to_numpy()
    actual = test.to_numpy()
    coverage = float(((lower <= actual) & (actual <= upper)).mean())
    assert 0.55 <= coverage <= 0.98, f"80% interval covered {coverage:.1%} of held-out points"


# ---------------------------------------------------------------------------- post-hoc map
CAL = dict(MICRO, validation_fraction=0.25)


def test_calibration_off_or_without_validation_is_the_identity():
    wide = small_wide()
    snapshot = wide.copy()
    on = TSNodeForecaster(**CAL).fit(wide)
    off = TSNodeForecaster(**dict(CAL, calibrate=False)).fit(wide)
    no_val = TSNodeForecaster(**dict(CAL, validation_fraction=0.0)).fit(wide)
    pd.testing.assert_frame_equal(wide, snapshot, check_exact=True)
    assert off.calibration_ == IDENTITY and no_val.calibration_ == IDENTITY
    assert on.calibration_["n_points"] > 10 and on.calibration_ != IDENTITY
    # calibration runs after training and samples with its own generator: the identity map
    # on the calibrated model reproduces the uncalibrated forecasts exactly
    on.calibration_ = dict(IDENTITY)
    pd.testing.assert_frame_equal(quantiles_of(on), quantiles_of(off), check_exact=True)


class _TooWide(TSNodeForecaster):
    """Predictive distribution: a driftless Gaussian random walk twice as wide as the data."""

    def _decode_samples(self, contexts, queries, n_samples, seed_offset, **kwargs):
        steps = [np.diff(v) for _, v in self._scaled_series(self.y_)]
        sigma = float(np.std(np.concatenate(steps)))  # scaled std of a one-day move
        rng = np.random.default_rng(seed_offset)
        return [
            vals[-1]
            + 2.0 * sigma * np.sqrt(q - days[-1]) * rng.standard_normal((n_samples, len(q)))
            for (days, vals), q in zip(contexts, queries, strict=True)
        ]


def test_a_twice_too_wide_model_gets_a_spread_near_one_half():
    y = make_gbm(3, n_days=300, sigma=0.3, random_state=4)
    y.index = pd.date_range("2015-01-01", periods=len(y), freq="D")  # one-day steps
    model = _TooWide(**dict(CAL, n_predict_samples=200, calendar=None)).fit(y)
    # the CRPS-optimal multiplier of the held-out forecasts is 0.5 ...
    series = model._scaled_series(model.y_)
    samples, targets, elapsed, weights, _ = model._holdout_forecasts(
        series, model._split(series)[2]
    )
    full = fit_calibration(samples, targets, elapsed, weights=weights)
    assert np.exp(full["log_spread"]) == pytest.approx(0.5, abs=0.08)
    assert abs(full["slope"]) < 0.15
    # ... and the default shrinks it towards 1 by the random-walk prior chosen on the tuning
    # period (16 pseudo windows against this tail's 3 x 75 / 5 = 45 held-out ones)
    options = forecaster_module._CALIBRATION_OPTIONS
    tail = [len(d) - s for (d, _), s in zip(series, model._split(series)[2], strict=True)]
    n_windows = effective_windows(tail, model.forecast_length)
    expected = fit_calibration(
        samples, targets, elapsed, weights=weights, n_windows=n_windows, **options
    )
    cal = model.calibration_
    assert cal["n_points"] == full["n_points"] > 500
    assert cal["log_spread"] == pytest.approx(expected["log_spread"])
    assert full["log_spread"] < cal["log_spread"] < 0.0  # narrowed, but less than the free fit
    assert cal["crps_after"] < cal["crps_before"]
    strength = cal["log_spread"] / full["log_spread"]
    # the map reaches the public outputs: the interval is about 0.5**strength as wide
    narrow = model.predict_interval(10, coverage=0.8)
    model.calibration_ = dict(IDENTITY)
    wide = model.predict_interval(10, coverage=0.8)
    ratio = (
        narrow.xs("upper", axis=1, level="bound") - narrow.xs("lower", axis=1, level="bound")
    ) / (wide.xs("upper", axis=1, level="bound") - wide.xs("lower", axis=1, level="bound"))
    assert float(np.median(ratio.to_numpy())) == pytest.approx(0.5**strength, abs=0.08)


def test_calibration_applies_to_every_output_consistently(fitted, train):
    model = copy.deepcopy(fitted)
    model.calibration_ = {"log_spread": np.log(0.5), "slope": 0.0, "drift": 0.0, "n_points": 1}
    last = train.ffill().iloc[-1]
    # drift 0: the median is the last observed price, in predict, quantiles and samples (up
    # to the mean of the two middle prices of an even number of samples)
    point = model.predict(4)
    np.testing.assert_allclose(point.to_numpy(), np.tile(last.to_numpy(), (4, 1)), rtol=1e-5)
    q = quantiles_of(model)
    np.testing.assert_allclose(q.xs(0.5, axis=1, level="quantile"), point, rtol=1e-12)
    assert (np.diff(q.to_numpy().reshape(4, -1, 3), axis=-1) >= 0).all()
    paths = model.sample(4, n_samples=model.n_predict_samples)  # the batch the map centres on
    np.testing.assert_allclose(np.median(paths, axis=0), np.tile(last, (4, 1)), rtol=1e-5)
    assert np.isfinite(paths).all() and (paths > 0).all()
    # spread 0.5: log-interval half as wide as the uncalibrated one (around the same median)
    interval = model.predict_interval(4, coverage=0.8)
    model.calibration_ = dict(IDENTITY)
    raw = quantiles_of(model)

    def log_width(f: pd.DataFrame) -> np.ndarray:
        upper, lower = (np.log(f.xs(k, axis=1, level="quantile")) for k in (0.9, 0.1))
        return (upper - lower).to_numpy()

    np.testing.assert_allclose(log_width(q), 0.5 * log_width(raw), rtol=0.02, atol=1e-9)
    assert (interval.xs("lower", axis=1, level="bound") <= point).all().all()


@pytest.mark.parametrize("n_samples", [1, 2])
def test_calibrated_paths_have_one_distribution_whatever_their_number(fitted, n_samples):
    # The map's centre comes from n_predict_samples paths, not from the paths asked for:
    # centred on their own median, one path had no spread and two about 1/sqrt(2) of it.
    model = copy.deepcopy(fitted)
    model.calibration_ = {"log_spread": 0.0, "slope": 0.0, "drift": 0.0, "n_points": 1}
    draws = []
    for seed in range(400 // n_samples):
        draws.append(model.set_params(random_state=seed).sample(4, n_samples=n_samples))
    few = np.log(np.concatenate(draws)[:, -1])
    many = np.log(model.set_params(random_state=0).sample(4, n_samples=4000)[:, -1])
    np.testing.assert_allclose(few.std(axis=0), many.std(axis=0), rtol=0.2)
    one = model.sample(4, n_samples=1)[0]
    assert not np.allclose(one, np.tile(fitted.y_.ffill().iloc[-1], (4, 1)))


def test_a_solver_failure_in_training_gives_advice_in_the_forecasters_parameters(monkeypatch):
    # regression: NeuralODE's advice (options=..., smoother activations) reached the user
    def fail(*args, **kwargs):
        raise SolverError("step size underflow; pass options={'step_size': 0.05}")

    monkeypatch.setattr("tsnode.forecaster.train_latent_ode", fail)
    model = TSNodeForecaster(**dict(MICRO, solver="dopri5", rtol=1e-6))
    with pytest.raises(SolverError, match=r"in fit \(solver='dopri5', rtol=1e-06") as info:
        model.fit(_good_frame())
    assert "looser rtol/atol" in str(info.value) and "set_params" not in str(info.value)
    assert isinstance(info.value.__cause__, SolverError)


def test_decoding_in_small_pieces_gives_the_same_forecast_shapes(fitted, monkeypatch):
    # regression (scale audit): decode memory grew with series x samples x horizon unbounded
    # (predict(1000) on 50 series peaked at +3.1 GB); a budget now splits series and samples
    expected = fitted.sample(7, n_samples=30)
    monkeypatch.setattr("tsnode._windows.DECODE_BUDGET", 200)  # < one series' 30 x 7 draws
    pieces = fitted.sample(7, n_samples=30)
    assert pieces.shape == expected.shape and np.isfinite(pieces).all()
    ratio = np.std(np.log(pieces[:, -1]), axis=0) / np.std(np.log(expected[:, -1]), axis=0)
    assert ((ratio > 0.4) & (ratio < 2.5)).all()  # the same distribution, other draws


def test_reconstruct_works_in_blocks_of_timestamps(fitted, monkeypatch):
    # regression (scale audit): reconstruct held every posterior draw of every series and
    # timestamp at once (200 series x 1000 rows: +1.5 GB)
    whole = fitted.reconstruct()
    monkeypatch.setattr("tsnode.base._MAX_RECONSTRUCT_DRAWS", 7 * 30 * fitted.n_series_)
    blocks = fitted.reconstruct()  # blocks of 7 timestamps
    pd.testing.assert_index_equal(blocks.index, whole.index)
    observed = fitted.y_.notna().to_numpy()
    np.testing.assert_allclose(blocks.to_numpy()[observed], whole.to_numpy()[observed], rtol=0.05)


def test_quantiles_from_too_many_paths_are_a_clear_error(fitted):
    # regression (scale audit): predict skipped sample()'s 8 GiB check and died in torch
    model = copy.deepcopy(fitted).set_params(n_predict_samples=10**9)
    with pytest.raises(ValueError, match=r"1000000000 sample paths .* GiB.*n_predict_samples"):
        model.predict(20)


def test_an_overflowing_network_is_a_floating_point_error_everywhere(fitted):
    # regression: sample() raised sklearn's "Input contains infinity" from the scaler and
    # reconstruct() returned NaN (read as "missing") instead of the documented error
    model = copy.deepcopy(fitted)
    with torch.no_grad():
        for parameter in model.model_.parameters():
            parameter.mul_(1e30)
    for call in (
        lambda: model.predict_quantiles(3),
        lambda: model.sample(3, n_samples=5),
        model.reconstruct,
    ):
        with pytest.raises(FloatingPointError, match="non-finite"):
            call()


def test_calibration_is_reproducible_and_kept_by_update():
    wide = small_wide()
    a = TSNodeForecaster(**CAL).fit(wide.iloc[:-5])
    b = TSNodeForecaster(**CAL).fit(wide.iloc[:-5])
    assert a.calibration_ == b.calibration_
    before = dict(a.calibration_)
    a.update(wide.iloc[-5:])
    assert a.calibration_ == before
    pd.testing.assert_frame_equal(quantiles_of(a), quantiles_of(b.update(wide.iloc[-5:])))


def test_a_diverged_training_warns_at_the_caller(train):
    # regression: learning_rate=1 ended at a loss of 1e7 and gave absurd intervals silently
    with pytest.warns(
        RuntimeWarning, match=r"training failed to fit.*learning_rate too large"
    ) as rec:
        TSNodeForecaster(**dict(MICRO, epochs=2, steps_per_epoch=3, learning_rate=5.0)).fit(train)
    assert [r.filename for r in rec if "failed to fit" in str(r.message)] == [__file__]


def test_reconstruct_after_a_bad_n_predict_samples_names_the_parameter(fitted):
    # regression: reconstruct gave Python's "int() argument must be ..." where predict named
    # the parameter
    model = copy.deepcopy(fitted).set_params(n_predict_samples=None)
    with pytest.raises(TypeError, match="n_predict_samples must be an int >= 1"):
        model.reconstruct()


def test_a_one_off_bad_tick_is_warned_about_at_fit():
    # regression: one price x10 (a decimal slip) widened that series' intervals ~6x and
    # narrowed another's ~2x through the shared model, without a word
    from tsnode._forecaster_params import _warn_spikes

    prices = make_gbm(2, n_days=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_spikes(prices)  # real moves, crashes included, are not ticks
        crash = prices.copy()
        crash.iloc[150:, 0] *= 0.5  # a real crash stays down
        _warn_spikes(crash)
    bad = prices.copy()
    bad.iloc[200, 0] *= 10
    with pytest.warns(UserWarning, match=r"like bad ticks: 's0' at .* between .*set a wrong price"):
        TSNodeForecaster(**MICRO).fit(bad)
    # fuzz: with 40-50% unchanged prices the spread of all moves shrank ~10x and ordinary
    # moves of 2-3% were flagged; it is now the spread of the moves made
    rng = np.random.default_rng(7)
    moves = 0.02 * rng.standard_t(5, 999) / np.sqrt(5 / 3)
    moves[rng.random(999) < 0.45] = 0.0
    index = pd.bdate_range("2015-01-01", periods=1000)
    illiquid = pd.DataFrame({"x": 50 * np.exp(np.r_[0, np.cumsum(moves)])}, index=index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_spikes(illiquid)
    # review: a series with mostly unchanged prices (MAD 0) must warn too
    rng = np.random.default_rng(1)
    steps = np.where(rng.random(300) < 0.6, 0.0, rng.normal(0, 0.01, 300))
    stale = pd.DataFrame({"p": 20 * np.exp(np.cumsum(steps))}, index=prices.index)
    stale.iloc[150, 0] *= 10
    with pytest.warns(UserWarning, match="like bad ticks: 'p'"):
        _warn_spikes(stale)


@pytest.mark.parametrize("model_class", ["tsnode", "gru"])
@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:The provided functions are not strictly inverse:UserWarning")
def test_a_scaler_that_loses_the_prices_is_refused_before_training(model_class):
    # regression: FunctionTransformer(np.log) without inverse_func forecast 4.66 for a $107
    # stock, in log units; PCA(1) on 2 series trained, then failed inside pandas at predict
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import FunctionTransformer

    from tsnode.baselines import GRUForecaster

    def make(scaler):
        if model_class == "gru":
            return GRUForecaster(hidden_size=4, epochs=1, progress=False, scaler=scaler)
        return TSNodeForecaster(**dict(MICRO, scaler=scaler))

    with pytest.raises(ValueError, match="does not map the training prices back"):
        make(FunctionTransformer(np.log)).fit(_good_frame())
    with pytest.raises(ValueError, match="maps the 2 series to 1 columns"):
        make(PCA(n_components=1)).fit(_good_frame())
    # regression: PCA(2) keeps the shape and inverts exactly, but mixes the series
    with pytest.raises(ValueError, match="mixes the series: changing series 'AAPL' changes"):
        make(PCA(n_components=2)).fit(_good_frame())
    negative = _good_frame() - _good_frame().mean()  # sqrt gives NaN below zero
    with pytest.raises(ValueError, match=r"\(NaN where y is not, or the reverse, at \d+ values\)"):
        make(FunctionTransformer(np.sqrt, inverse_func=np.square)).fit(negative)
    exact = FunctionTransformer(np.log, inverse_func=np.exp)
    assert make(exact).fit(_good_frame()).predict(2).notna().all().all()
    # rounding is no wrong inverse: zeros coming back as 4e-16 (LogScaler(offset=1) on a
    # series with zeros, StandardScaler on returns) were refused by a first version
    zeros = _good_frame() - _good_frame().min() + np.array([0.0, 0.3])
    assert make(LogScaler(offset=1.0)).fit(zeros).predict(2).notna().all().all()


def test_a_scaler_flat_beyond_the_training_range_warns():
    # QuantileTransformer pins every forecast interval to the history's min and max
    from sklearn.preprocessing import QuantileTransformer

    model = TSNodeForecaster(**dict(MICRO, scaler=QuantileTransformer(n_quantiles=20)))
    with pytest.warns(UserWarning, match="not strictly increasing") as record:
        model.fit(_good_frame())
    assert record[0].filename == __file__


@pytest.mark.parametrize("model_class", ["tsnode", "gru"])
def test_a_series_that_never_moves_warns(model_class):
    # regression (audit): a price fixed at 100 next to a random walk got a 5-step 90%
    # interval of [80.3, 94.2] (GRU) or [92.4, 107.2] (tsnode), wider than the walk's, with
    # no word: the scaler has no scale for it, so its spread is the model's noise
    from tsnode.baselines import GRUForecaster

    frame = _good_frame().assign(PEG=100.0)
    make = (
        (lambda: GRUForecaster(hidden_size=4, epochs=1, progress=False))
        if model_class == "gru"
        else (lambda: TSNodeForecaster(**MICRO))
    )
    with pytest.warns(UserWarning, match=r"1 series never moves in the training data \('PEG'\)"):
        make().fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same frame with PEG moving once: no warning
        frame.iloc[-1, -1] = 100.5
        make().fit(frame)


def test_an_rtol_below_float32_precision_warns_at_fit():
    # regression (audit): dopri5 with rtol=1e-12 took ~25,000 evaluations (15 s) per training
    # step, about 2 hours for a default fit, without a word
    empty = _good_frame().iloc[:0]  # the warning comes first; the empty frame ends the fit
    with pytest.warns(UserWarning, match=r"rtol=1e-12 is below the precision of the float32"):
        with pytest.raises(ValueError, match="empty"):
            TSNodeForecaster(solver="dopri5", rtol=1e-12).fit(empty)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fixed-step solvers ignore rtol
        with pytest.raises(ValueError, match="empty"):
            TSNodeForecaster(solver="midpoint", rtol=1e-12).fit(empty)


def test_one_predict_sample_is_refused_at_fit_only():
    # regression: n_predict_samples=1 (no spread) was accepted, and fit warned ~22,000 times
    # (a 0/0 in the calibration fit); a model saved with it before still loads and predicts
    with pytest.raises(ValueError, match="n_predict_samples must be an int >= 2, got 1"):
        TSNodeForecaster(**dict(MICRO, n_predict_samples=1)).fit(_good_frame())
    model = TSNodeForecaster(**MICRO).fit(_good_frame()).set_params(n_predict_samples=1)
    with pytest.raises(ValueError, match="n_predict_samples must be an int >= 2, got 1"):
        model.predict_quantiles(2)  # zero-width intervals otherwise (review)
    assert model.sample(2, n_samples=1).shape == (1, 2, 2)  # explicit sample counts still work
