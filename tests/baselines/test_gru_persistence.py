"""GRUForecaster.save / load: exact round trips, no pickle, wrong or broken saves fail safely."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from tests._persistence_checks import assert_refused, edit_arrays, edit_config
from tsnode import EnsembleForecaster, TSNodeForecaster
from tsnode._serialization import SerializationError
from tsnode.baselines import GRUForecaster
from tsnode.datasets import make_gbm

TINY = dict(epochs=2, context_length=10, hidden_size=8, batch_size=64, progress=False)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    frame = make_gbm(2, n_days=80, sigma=0.3, drop_fraction=0.1, random_state=3)
    frame.iloc[10:13, 1] = np.nan
    return frame


@pytest.fixture(scope="module")
def fitted(prices) -> GRUForecaster:
    return GRUForecaster(random_state=0, **TINY).fit(prices)


def _assert_same_forecasts(loaded: GRUForecaster, model: GRUForecaster) -> None:
    q = (0.1, 0.5, 0.9)
    pd.testing.assert_frame_equal(
        loaded.predict_quantiles(5, quantiles=q),
        model.predict_quantiles(5, quantiles=q),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(loaded.predict(3), model.predict(3), check_exact=True)
    np.testing.assert_array_equal(loaded.sample(3, n_samples=4), model.sample(3, n_samples=4))


def test_round_trip_gives_identical_forecasts_and_state(fitted, tmp_path):
    path = fitted.save(tmp_path / "gru")
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json",
        "data.safetensors",
        "weights.safetensors",
    ]
    loaded = GRUForecaster.load(path)
    _assert_same_forecasts(loaded, fitted)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.history_ == fitted.history_
    assert loaded.origin_ == fitted.origin_
    pd.testing.assert_frame_equal(loaded.y_, fitted.y_, check_exact=True)
    for name, tensor in fitted.model_.state_dict().items():
        torch.testing.assert_close(loaded.model_.state_dict()[name], tensor, rtol=0, atol=0)
    assert not hasattr(loaded, "calibration_")  # the GRU has no calibration map


def test_config_is_plain_json_naming_the_class(fitted, tmp_path):
    config = json.loads((fitted.save(tmp_path / "gru") / "config.json").read_text())
    assert config["class"] == "GRUForecaster"
    assert config["calibration_"] is None
    assert config["params"]["__dict__"]["hidden_size"] == 8


def test_tz_aware_updated_model_round_trips_and_updates_alike(prices, tmp_path):
    frame = prices.tz_localize("America/New_York")
    model = GRUForecaster(random_state=1, **TINY).fit(frame.iloc[:-5])
    loaded = GRUForecaster.load(model.save(tmp_path / "gru"))
    _assert_same_forecasts(loaded, model)
    assert loaded.y_.index.tz == model.y_.index.tz
    model.update(frame.iloc[-5:])
    loaded.update(frame.iloc[-5:])
    _assert_same_forecasts(loaded, model)


def test_save_before_fit_raises_not_fitted(tmp_path):
    with pytest.raises(NotFittedError):
        GRUForecaster(**TINY).save(tmp_path / "gru")


def test_unsaveable_parameter_is_refused_before_writing(prices, tmp_path):
    model = GRUForecaster(random_state=0, **TINY).fit(prices)
    model.set_params(progress=lambda: True)  # JSON cannot hold a function
    with pytest.raises(SerializationError, match="without pickle"):
        model.save(tmp_path / "gru")
    assert not (tmp_path / "gru").exists()


def test_missing_file_is_explained(fitted, tmp_path):
    path = fitted.save(tmp_path / "gru")
    (path / "weights.safetensors").unlink()
    with pytest.raises(SerializationError, match="not a saved GRUForecaster: weights"):
        GRUForecaster.load(path)


def test_a_save_of_another_class_is_refused(fitted, prices, tmp_path):
    gru_path = fitted.save(tmp_path / "gru")
    with pytest.raises(SerializationError, match="does not describe a saved TSNodeForecaster"):
        TSNodeForecaster.load(gru_path)
    tiny_tsnode = dict(
        epochs=1, steps_per_epoch=1, batch_size=4, context_length=10, forecast_length=3,
        latent_dim=2, hidden_dim=4, ode_units=4, n_predict_samples=10, progress=False,
    )  # fmt: skip
    tsnode_path = TSNodeForecaster(**tiny_tsnode).fit(prices).save(tmp_path / "tsnode")
    with pytest.raises(SerializationError, match="does not describe a saved GRUForecaster"):
        GRUForecaster.load(tsnode_path)


def test_mismatched_weights_are_a_serialization_error(fitted, tmp_path):
    path = fitted.save(tmp_path / "gru")
    config = json.loads((path / "config.json").read_text())
    config["params"]["__dict__"]["hidden_size"] = 16  # the stored weights are for 8 units
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        SerializationError,
        match=r"(?s)cannot load the GRUForecaster saved in .*does not hold the network.*"
        r"gru\.weight_ih_l0: \(24, 3\) vs \(48, 3\)",
    ):
        GRUForecaster.load(path)


def test_gru_ensemble_saves_and_loads(prices, tmp_path):
    ensemble = EnsembleForecaster(
        GRUForecaster(**TINY), n_members=2, random_state=0, progress=False
    ).fit(prices)
    loaded = EnsembleForecaster.load(ensemble.save(tmp_path / "ens"))
    assert all(isinstance(m, GRUForecaster) for m in loaded.members_)
    pd.testing.assert_frame_equal(
        loaded.predict_quantiles(4, quantiles=(0.1, 0.9)),
        ensemble.predict_quantiles(4, quantiles=(0.1, 0.9)),
        check_exact=True,
    )


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (
            lambda p: edit_arrays(
                p / "weights.safetensors",
                lambda w: next(iter(w.values())).reshape(-1).__setitem__(0, np.nan),
            ),
            r"weights\.safetensors: tensor '.+' holds 1 NaN",
        ),
        (
            lambda p: edit_arrays(
                p / "data.safetensors", lambda d: d["values"].__setitem__((2, 1), np.inf)
            ),
            r"data\.safetensors.*'s1' contains an infinite value",
        ),
        (lambda p: edit_config(p, lambda c: c.update(origin_ns=None)), r"'origin_ns' is None"),
        (
            lambda p: edit_config(p, lambda c: c["scaler_"]["fitted"].update(feature_names_in_=3)),
            r"scaler 'scaler_' fails",
        ),
    ],
    ids=["nan-weight", "inf-history", "null-origin", "scaler-int-for-array"],
)
def test_tampered_save_is_refused_at_load(fitted, tmp_path, tamper, match):
    path = fitted.save(tmp_path / "gru")
    tamper(path)
    assert_refused(GRUForecaster.load, path, match)


def test_a_generator_random_state_is_saved_as_none(tmp_path):
    # regression: the save refused the Generator without naming random_state; the baselines
    # and the ensemble save it as None
    y = make_gbm(1, n_days=100, random_state=0)
    rng = np.random.default_rng(0)
    model = GRUForecaster(epochs=1, context_length=10, progress=False, random_state=rng).fit(y)
    loaded = GRUForecaster.load(model.save(tmp_path / "gru"))
    assert loaded.random_state is None
    # the same weights; only the sampling noise behind the median differs (no seed)
    np.testing.assert_allclose(loaded.predict(3), model.predict(3), rtol=0.05)
