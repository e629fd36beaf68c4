"""Tests of GRUForecaster (tiny settings: a couple of epochs on short series)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tsnode.baselines._gru import GRUForecaster
from tsnode.datasets import make_gbm
from tsnode.nn.gru import GapGRU

TINY = dict(epochs=2, context_length=10, hidden_size=8, batch_size=64, progress=False)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    frame = make_gbm(2, n_days=80, sigma=0.3, random_state=0)
    frame.iloc[5, 0] = np.nan  # a missing observation
    frame.iloc[-2:, 1] = np.nan  # s1 stops two sessions early
    return frame


@pytest.fixture(scope="module")
def fitted(prices) -> GRUForecaster:
    return GRUForecaster(random_state=0, **TINY).fit(prices)


def test_fit_attributes_and_input_untouched(fitted, prices):
    fresh = make_gbm(2, n_days=80, sigma=0.3, random_state=0)
    fresh.iloc[5, 0] = np.nan
    fresh.iloc[-2:, 1] = np.nan
    pd.testing.assert_frame_equal(prices, fresh)  # fit did not modify its input
    assert isinstance(fitted.model_, GapGRU)
    assert len(fitted.history_["loss"]) == 2
    assert all(np.isfinite(fitted.history_["loss"]))
    assert fitted.origin_ == prices.index[0]
    assert list(fitted.columns_) == ["s0", "s1"]


def test_output_shapes_and_positive_prices(fitted):
    q = fitted.predict_quantiles(4, quantiles=(0.1, 0.5, 0.9))
    assert q.shape == (4, 6)
    assert q.index[0] > fitted.last_timestamp_
    for s in ["s0", "s1"]:
        assert (np.diff(q[s].to_numpy(), axis=1) >= 0).all()
    samples = fitted.sample(4, n_samples=9)
    assert samples.shape == (9, 4, 2)
    assert np.isfinite(samples).all() and (samples > 0).all()
    pred = fitted.predict(4)
    assert pred.shape == (4, 2) and list(pred.columns) == ["s0", "s1"]
    assert (fitted.predict_interval(4).shape) == (4, 4)


def test_forecast_starts_near_last_price(fitted, prices):
    # The residual head anchors the mean on the last observed (scaled) value.
    median = fitted.predict(1).iloc[0]
    last = prices.ffill().iloc[-1]
    assert ((median / last - 1).abs() < 0.15).all()


def test_reproducible_with_random_state(fitted, prices):
    torch_state = torch.get_rng_state().clone()
    b = GRUForecaster(random_state=0, **TINY).fit(prices)
    assert torch.equal(torch.get_rng_state(), torch_state)  # global torch RNG untouched
    assert fitted.history_ == b.history_
    np.testing.assert_array_equal(fitted.sample(3, n_samples=5), b.sample(3, n_samples=5))
    # repeated calls with an int random_state give the same draws
    np.testing.assert_array_equal(b.sample(3, n_samples=5), b.sample(3, n_samples=5))
    c = GRUForecaster(random_state=4, **TINY).fit(prices)
    assert not np.allclose(b.sample(3, n_samples=5), c.sample(3, n_samples=5))


def test_clone_and_keyword_only():
    model = GRUForecaster(hidden_size=4, calendar=None, random_state=2)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert copy.get_params()["hidden_size"] == 4
    with pytest.raises(TypeError):
        GRUForecaster(16)


def test_scaler_is_cloned(prices):
    from tsnode.preprocessing import LogScaler

    scaler = LogScaler()
    model = GRUForecaster(scaler=scaler, random_state=0, **TINY).fit(prices)
    assert model.scaler_ is not scaler
    assert not hasattr(scaler, "n_features_in_")  # the user's scaler stays unfitted


def test_update_moves_the_origin(prices):
    train, new = prices.iloc[:-10], prices.iloc[-10:]
    model = GRUForecaster(random_state=0, **TINY).fit(train)
    weights = {k: v.clone() for k, v in model.model_.state_dict().items()}
    before = model.predict(3)
    assert model.update(new) is model
    after = model.predict(3)
    assert model.last_timestamp_ == prices.index[-1]
    assert after.index[0] > prices.index[-1] and before.index[0] <= prices.index[-1]
    for k, v in model.model_.state_dict().items():
        assert torch.equal(v, weights[k]), k
    # the forecast now starts from the new last observed prices
    last = prices.ffill().iloc[-1]
    assert ((after.iloc[0] / last - 1).abs() < 0.15).all()
    # updating equals fitting on everything and swapping in the same weights
    full = clone(model).set_params(epochs=1).fit(prices)
    full.model_.load_state_dict(model.model_.state_dict())
    full.scaler_ = model.scaler_
    full.origin_ = model.origin_
    np.testing.assert_allclose(full.sample(3, n_samples=4), model.sample(3, n_samples=4))


def test_explicit_future_index_and_irregular_gaps(fitted):
    index = pd.DatetimeIndex(
        [fitted.last_timestamp_ + pd.Timedelta(days=d) for d in (1, 10, 40)], name="Date"
    )
    q = fitted.predict_quantiles(index, quantiles=(0.1, 0.9))
    assert list(q.index) == list(index)


def test_short_series_are_padded():
    frame = make_gbm(1, n_days=6, random_state=1)
    model = GRUForecaster(random_state=0, **TINY).fit(frame)  # fewer rows than a window
    assert model.sample(2, n_samples=3).shape == (3, 2, 1)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        GRUForecaster().predict(3)


@pytest.mark.parametrize(
    "param, value",
    [
        ("hidden_size", 0),
        ("context_length", -1),
        ("epochs", 1.5),
        ("batch_size", True),
        ("learning_rate", 0.0),
        ("time_scale_days", float("nan")),
    ],
)
def test_bad_params(prices, param, value):
    with pytest.raises((ValueError, TypeError), match=param):
        GRUForecaster(**{**TINY, param: value}).fit(prices)


def test_non_positive_update_rejected(fitted):
    index = pd.bdate_range(fitted.last_timestamp_ + pd.Timedelta(days=1), periods=2, name="Date")
    bad = pd.DataFrame({"s0": [-1.0, 100.0], "s1": [100.0, 100.0]}, index=index)
    with pytest.raises(ValueError):
        fitted.update(bad)
    assert fitted.last_timestamp_ < index[0]  # nothing was appended


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"scaler": "x"}, TypeError, "scaler must be None or a scikit-learn transformer"),
        ({"device": 3}, TypeError, "device must be a string"),
        ({"device": "nope"}, ValueError, "is not a torch device"),
    ],
)
def test_bad_scaler_or_device_is_refused_before_fitting(prices, params, error, match):
    with pytest.raises(error, match=match):
        GRUForecaster(**TINY, **params).fit(prices)


def test_an_unknown_calendar_is_refused_at_fit_not_at_predict():
    y = make_gbm(1, n_days=80, random_state=0)
    with pytest.raises(ValueError, match=r"unknown calendar='nyse'"):
        GRUForecaster(calendar="nyse", epochs=1).fit(y)


def test_a_diverged_training_warns_at_the_caller():
    # regression: learning_rate=1e3 gave a training loss of 1e13 and forecasts of 0.0 for a
    # $100 stock without a word
    y = make_gbm(1, n_days=120, random_state=0)
    model = GRUForecaster(hidden_size=4, epochs=2, progress=False, random_state=0)
    match = r"training failed to fit.*learning_rate.*default 0\.01"
    with pytest.warns(RuntimeWarning, match=match) as record:
        model.set_params(learning_rate=1e3).fit(y)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model.set_params(learning_rate=3e-3).fit(y)  # a healthy fit stays silent


def test_too_many_paths_names_no_parameter_the_gru_lacks(monkeypatch):
    model = GRUForecaster(hidden_size=4, epochs=1, progress=False, random_state=0)
    model.fit(make_gbm(1, n_days=60, random_state=0))
    monkeypatch.setattr("tsnode.base._MAX_SAMPLE_BYTES", 1000)
    with pytest.raises(ValueError, match="a shorter horizon or fewer series") as info:
        model.predict(3)
    assert "n_predict_samples" not in str(info.value)


def test_a_non_finite_training_loss_is_a_training_error(monkeypatch):
    # regression: a plain RuntimeError, which `except tsnode.TrainingError` (documented for
    # a loss that became NaN/inf, and what TSNodeForecaster raises) did not catch
    from tsnode import TrainingError
    from tsnode.nn.gru import GapGRU

    monkeypatch.setattr(GapGRU, "loss", lambda self, *args: torch.tensor(float("inf")))
    model = GRUForecaster(hidden_size=4, epochs=2, progress=False, random_state=0)
    with pytest.raises(TrainingError, match="training diverged"):
        model.fit(make_gbm(1, n_days=80, random_state=0))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"progress": "no"}, TypeError, "progress must be True or False"),
        ({"epochs": "5"}, TypeError, "epochs must be a positive int, got '5' of type str"),
        ({"epochs": 0}, ValueError, "epochs must be a positive int, got 0"),
        ({"learning_rate": "0.01"}, TypeError, "learning_rate must be a positive finite"),
        ({"time_scale_days": None}, TypeError, "time_scale_days must be a positive finite"),
        ({"learning_rate": -1.0}, ValueError, "learning_rate must be a positive finite"),
    ],
)
def test_parameter_types_and_values_are_told_apart(params, error, match):
    # regression: progress="no" was accepted (and showed a bar); a wrong type was a
    # ValueError here but a TypeError in TSNodeForecaster
    with pytest.raises(error, match=match):
        GRUForecaster(**{**TINY, **params}).fit(make_gbm(1, n_days=60, random_state=0))


def test_non_finite_samples_are_a_floating_point_error(monkeypatch):
    # as TSNodeForecaster: an overflowing network gave sklearn's "Input contains infinity"
    from tsnode.nn.gru import GapGRU

    model = GRUForecaster(hidden_size=4, epochs=1, progress=False, random_state=0)
    model.fit(make_gbm(1, n_days=60, random_state=0))

    def overflowing(self, times, values, mask, future, n_samples, generator=None):
        return torch.full((n_samples, values.shape[0], future.shape[-1], 1), float("inf"))

    monkeypatch.setattr(GapGRU, "rollout", overflowing)
    with pytest.raises(FloatingPointError, match="non-finite sample values"):
        model.sample(3, n_samples=5)
