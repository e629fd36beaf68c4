"""TSNodeForecaster.save / load: exact round trips, no pickle, tampered files fail safely."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import RobustScaler

from tests._persistence_checks import assert_plain_json
from tsnode._serialization import SerializationError
from tsnode.datasets import make_gbm
from tsnode.forecaster import TSNodeForecaster
from tsnode.preprocessing import SeriesScaler

PARAMS = dict(
    epochs=1,
    steps_per_epoch=2,
    batch_size=8,
    context_length=20,
    forecast_length=5,
    latent_dim=4,
    hidden_dim=8,
    ode_units=16,
    n_predict_samples=30,
    progress=False,
    random_state=0,
)
FILES = ("config.json", "weights.safetensors", "data.safetensors")


def _prices(tz: str | None = None) -> pd.DataFrame:
    y = make_gbm(2, n_days=80, drop_fraction=0.1, random_state=5)
    y.iloc[10:14, 1] = np.nan
    return y.tz_localize(tz) if tz else y


@pytest.fixture(scope="module")
def fitted() -> TSNodeForecaster:
    return TSNodeForecaster(**PARAMS).fit(_prices())


@pytest.fixture()
def saved(fitted, tmp_path):
    return fitted.save(tmp_path / "model")


def _quantiles(model: TSNodeForecaster) -> pd.DataFrame:
    return model.predict_quantiles(5, quantiles=(0.1, 0.5, 0.9))


def _assert_round_trip(model: TSNodeForecaster, path) -> TSNodeForecaster:
    loaded = TSNodeForecaster.load(model.save(path))
    pd.testing.assert_frame_equal(_quantiles(loaded), _quantiles(model), check_exact=True)
    pd.testing.assert_frame_equal(loaded.predict(3), model.predict(3), check_exact=True)
    np.testing.assert_array_equal(loaded.sample(3, n_samples=4), model.sample(3, n_samples=4))
    pd.testing.assert_frame_equal(loaded.reconstruct(), model.reconstruct(), check_exact=True)
    return loaded


def _estimator_paths(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["__estimator__"]] if "__estimator__" in value else []
        return found + [p for item in value.values() for p in _estimator_paths(item)]
    if isinstance(value, list):
        return [p for item in value for p in _estimator_paths(item)]
    return []


# ---------------------------------------------------------------------------- round trips
def test_save_writes_three_files_and_returns_the_path(saved):
    assert sorted(p.name for p in saved.iterdir()) == sorted(FILES)


def test_load_gives_identical_forecasts(fitted, tmp_path):
    loaded = _assert_round_trip(fitted, tmp_path / "m")
    assert loaded.get_params() == fitted.get_params()
    pd.testing.assert_frame_equal(loaded.y_, fitted.y_, check_exact=True)
    pd.testing.assert_index_equal(loaded.index_, fitted.index_)
    assert loaded.last_timestamp_ == fitted.last_timestamp_
    assert loaded.origin_ == fitted.origin_
    assert loaded.history_ == fitted.history_
    pd.testing.assert_series_equal(loaded.series_last_timestamp_, fitted.series_last_timestamp_)
    for key, value in fitted.model_.state_dict().items():
        assert torch.equal(loaded.model_.state_dict()[key], value), key
    assert not loaded.model_.training


def test_calibration_round_trip(fitted, saved):
    assert fitted.calibration_["n_points"] > 0  # the fixture holds a validation tail back
    config = json.loads((saved / "config.json").read_text())
    assert config["calibration_"] == fitted.calibration_  # plain JSON, no pickle
    loaded = TSNodeForecaster.load(saved)
    assert loaded.calibration_ == fitted.calibration_
    np.testing.assert_array_equal(loaded.sample(3, n_samples=20), fitted.sample(3, n_samples=20))


def test_save_without_calibration_loads_with_the_identity(fitted, saved):
    _edit_config(saved, lambda c: c.pop("calibration_"))
    loaded = TSNodeForecaster.load(saved)
    assert loaded.calibration_["n_points"] == 0
    assert (loaded.calibration_["log_spread"], loaded.calibration_["slope"]) == (0.0, 0.0)
    assert loaded.calibration_["drift"] == 1.0


def test_round_trip_tz_aware_and_updated(tmp_path):
    prices = _prices("America/New_York")
    model = TSNodeForecaster(**PARAMS).fit(prices.iloc[:-5]).update(prices.iloc[-5:])
    loaded = _assert_round_trip(model, tmp_path / "tz")
    assert str(loaded.index_.tz) == "America/New_York"
    assert loaded.index_.name == "Date"
    assert loaded.last_timestamp_ == prices.index[-1]


def test_round_trip_with_custom_scaler(tmp_path):
    model = TSNodeForecaster(**dict(PARAMS, scaler=SeriesScaler(RobustScaler()))).fit(_prices())
    loaded = _assert_round_trip(model, tmp_path / "robust")
    assert isinstance(loaded.scaler, SeriesScaler)
    assert isinstance(loaded.scaler.transformer, RobustScaler)
    assert isinstance(loaded.scaler_, SeriesScaler)
    np.testing.assert_array_equal(
        loaded.scaler_.transformers_[1].center_, model.scaler_.transformers_[1].center_
    )


def test_loaded_model_can_be_updated_and_saved_again(fitted, tmp_path):
    loaded = TSNodeForecaster.load(fitted.save(tmp_path / "a"))
    last = loaded.last_timestamp_
    new = pd.DataFrame(
        {"s0": [101.0, 102.0], "s1": [99.0, np.nan]},
        index=pd.DatetimeIndex(
            [last + pd.Timedelta(days=3), last + pd.Timedelta(days=4)], name="Date"
        ),
    )
    loaded.update(new)
    again = _assert_round_trip(loaded, tmp_path / "b")
    assert again.last_timestamp_ == new.index[-1]


def test_save_overwrites_an_existing_save(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    other = TSNodeForecaster(**dict(PARAMS, random_state=1)).fit(_prices())
    other.save(tmp_path / "m")
    loaded = TSNodeForecaster.load(tmp_path / "m")
    pd.testing.assert_frame_equal(_quantiles(loaded), _quantiles(other))


# ---------------------------------------------------------------------------- no pickle
def test_saved_files_contain_no_pickle(saved):
    for name in ("weights.safetensors", "data.safetensors"):
        raw = (saved / name).read_bytes()
        # safetensors: an 8-byte little-endian header length, a JSON header, raw tensor bytes.
        (n_header,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8 : 8 + n_header])
        assert_plain_json(header)
        ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
        assert len(raw) == 8 + n_header + max(ends)  # nothing else in the file
        for key, info in header.items():
            if key != "__metadata__":
                assert info["dtype"] in {"F32", "F64", "I64"}, (key, info)
        assert not raw.startswith(b"\x80")  # pickle PROTO opcode
        assert not raw.startswith(b"PK")  # torch.save's zip container
    text = (saved / "config.json").read_text()
    config = json.loads(text)
    assert_plain_json(config)
    assert config["class"] == "TSNodeForecaster"
    assert all(p.startswith(("tsnode.", "sklearn.")) for p in _estimator_paths(config))
    for marker in ("__reduce__", "py/object", "pickle", "builtins.eval"):
        assert marker not in text


# ---------------------------------------------------------------------------- tampering
def _edit_config(path, edit) -> None:
    config = json.loads((path / "config.json").read_text())
    edit(config)
    (path / "config.json").write_text(json.dumps(config))


def _set_scaler_class(target: str):
    def edit(config):
        config["scaler_"]["__estimator__"] = target

    return edit


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (lambda p: (p / "weights.safetensors").write_bytes(b"\x00garbage" * 20), "cannot load"),
        (lambda p: (p / "weights.safetensors").write_bytes(os.urandom(7)), "cannot load"),
        (
            lambda p: (p / "data.safetensors").write_bytes(
                (p / "data.safetensors").read_bytes()[:-16]
            ),
            "cannot load",
        ),
        (lambda p: (p / "config.json").write_text("{not json"), "not valid JSON"),
        (lambda p: (p / "config.json").write_bytes(b"\xff\xfe\x00"), "not valid JSON"),
        (lambda p: (p / "config.json").write_text("[1, 2]"), "does not describe"),
        (lambda p: _edit_config(p, lambda c: c.update({"class": "Other"})), "does not describe"),
        (lambda p: _edit_config(p, lambda c: c.update({"format": 99})), "unsupported save format"),
        (lambda p: _edit_config(p, lambda c: c.pop("origin_ns")), "cannot load"),
        (
            lambda p: _edit_config(p, lambda c: c["params"]["__dict__"].update({"latent_dim": 7})),
            "cannot load",
        ),
        (
            lambda p: _edit_config(p, lambda c: c["params"]["__dict__"].update({"evil": 1})),
            "cannot load",
        ),
        (
            lambda p: _edit_config(
                p, lambda c: c["params"]["__dict__"].update({"context_length": -4})
            ),
            "cannot load",
        ),
        (lambda p: _edit_config(p, lambda c: c.update({"columns": ["only-one"]})), "cannot load"),
        (lambda p: _edit_config(p, _set_scaler_class("os.system")), "refusing to load class"),
        (lambda p: _edit_config(p, _set_scaler_class("builtins.eval")), "refusing to load class"),
        (
            lambda p: _edit_config(p, _set_scaler_class("tsnode.forecaster.os.system")),
            "not an estimator class|cannot find class",
        ),
        (
            lambda p: _edit_config(p, lambda c: c["calibration_"].update({"drift": 5.0})),
            r"cannot load.*drift",
        ),
        (lambda p: _edit_config(p, lambda c: c.update({"calibration_": [1]})), "cannot load"),
        (lambda p: (p / "weights.safetensors").unlink(), "weights.safetensors is missing"),
        (lambda p: (p / "data.safetensors").unlink(), "data.safetensors is missing"),
        (lambda p: (p / "config.json").unlink(), "config.json is missing"),
    ],
    ids=[
        "garbage-weights",
        "short-weights",
        "truncated-data",
        "invalid-json",
        "binary-json",
        "json-not-object",
        "wrong-class",
        "wrong-format",
        "missing-key",
        "shape-mismatch",
        "unknown-param",
        "invalid-param",
        "wrong-columns",
        "os-system",
        "builtins-eval",
        "module-attribute",
        "bad-calibration",
        "calibration-not-dict",
        "missing-weights",
        "missing-data",
        "missing-config",
    ],
)
def test_tampered_save_raises_serialization_error(saved, tamper, match, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(a) or 0)
    tamper(saved)
    with pytest.raises(SerializationError, match=match):
        TSNodeForecaster.load(saved)
    assert calls == []


def test_load_missing_directory(tmp_path):
    with pytest.raises(SerializationError, match="is missing"):
        TSNodeForecaster.load(tmp_path / "nowhere")


def test_serialization_error_is_a_value_error():
    assert issubclass(SerializationError, ValueError)


def test_save_before_fit(tmp_path):
    with pytest.raises(NotFittedError):
        TSNodeForecaster(**PARAMS).save(tmp_path / "x")
    assert not (tmp_path / "x").exists()
