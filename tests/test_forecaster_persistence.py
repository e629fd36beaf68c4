"""TSNodeForecaster.save / load: exact round trips, no pickle, tampered files fail safely."""

from __future__ import annotations

import json
import os
import struct
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import RobustScaler

from tests._persistence_checks import assert_plain_json, assert_refused, edit_arrays, edit_config
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


def test_a_scipy_autograd_save_still_loads_and_forecasts(fitted, saved):
    # regression (review): the fit-only refusal of scipy_solver + autograd also refused the
    # saves made before it, as "corrupted"; forecasting needs no gradients
    def to_scipy(config):
        config["params"]["__dict__"].update(solver="scipy_solver", sensitivity="autograd")

    _edit_config(saved, to_scipy)
    loaded = TSNodeForecaster.load(saved)
    assert loaded.solver == "scipy_solver"
    assert np.isfinite(loaded.predict(3).to_numpy()).all()
    with pytest.raises(ValueError, match="scipy_solver.*cannot train"):
        loaded.fit(_prices())


def test_an_interrupted_overwrite_is_refused_not_mixed(fitted, saved, monkeypatch):
    # regression (scale audit): overwriting a save wrote the weights first and the config
    # last, so a Ctrl-C in between loaded as the new weights with the old config
    other = TSNodeForecaster(**dict(PARAMS, random_state=1)).fit(_prices())

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("tsnode._forecaster_io._write_data", interrupted)
    with pytest.raises(KeyboardInterrupt):
        other.save(saved)
    monkeypatch.undo()
    with pytest.raises(SerializationError, match="config.json is missing"):
        TSNodeForecaster.load(saved)
    other.save(saved)  # a complete save loads again
    pd.testing.assert_frame_equal(
        TSNodeForecaster.load(saved).predict_quantiles(3), other.predict_quantiles(3)
    )


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
            r"cannot load.*does not hold the network config\.json describes",
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
        (
            lambda p: _edit_config(p, lambda c: c["scaler_"]["fitted"].update({"_repr_html_": 1})),
            r"cannot load.*unexpected fitted attribute '_repr_html_'",
        ),
        (  # a method replaced by an edited value (numpy.object_ acts as the identity)
            lambda p: _edit_config(
                p, lambda c: c["scaler_"]["fitted"].update({"transform": {"__dtype__": "O"}})
            ),
            r"cannot load.*unexpected fitted attribute 'transform'",
        ),
        (
            lambda p: _edit_config(p, lambda c: c["scaler_"]["fitted"].update({"offset": 5.0})),
            r"cannot load.*fitted attribute 'offset' names a parameter",
        ),
        (
            lambda p: (p / "config.json").write_text("[" * 100_000 + "]" * 100_000),
            "not valid JSON",
        ),
        (
            lambda p: _edit_config(p, lambda c: c.update({"index_tz": "Mars/Olympus"})),
            # pandas >= 3 uses zoneinfo; pandas 2 (Python 3.10) pytz
            r"cannot load.*(ZoneInfoNotFoundError|UnknownTimeZoneError).*Mars/Olympus",
        ),
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
        "read-only-fitted-attribute",
        "fitted-method",
        "fitted-parameter",
        "deeply-nested-json",
        "unknown-time-zone",
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


# ---------------------------------------------------------------------------- caught at load
# Each of these saves used to load and then fail inside predict (torch, sklearn, narwhals) or
# forecast silently differently; load must refuse them, naming the bad file or field.
def _weights(edit):
    return lambda p: edit_arrays(p / "weights.safetensors", edit)


def _data(edit):
    return lambda p: edit_arrays(p / "data.safetensors", edit)


def _config(edit):
    return lambda p: edit_config(p, edit)


def _first_weight(value):
    def edit(arrays):
        next(iter(arrays.values())).reshape(-1)[0] = value

    return edit


def _history(rows, column, value):
    def edit(arrays):
        arrays["values"][rows, column] = value

    return edit


def _scaler_fitted(**values):
    return _config(lambda c: c["scaler_"]["fitted"].update(values))


def _calibration(**values):
    return _config(lambda c: c["calibration_"].update(values))


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (_weights(_first_weight(np.nan)), r"weights\.safetensors: tensor '.+' holds 1 NaN"),
        (_weights(_first_weight(np.inf)), r"weights\.safetensors: tensor '.+' holds 1 NaN or inf"),
        (_config(lambda c: c.update(origin_ns=None)), r"'origin_ns' is None .*expected an int"),
        (_config(lambda c: c.update(origin_ns="0")), r"'origin_ns' is '0' .*expected an int"),
        (
            _config(lambda c: c.update(origin_ns=c["origin_ns"] + 86_400 * 10**9)),
            r"'origin_ns' is \d+, expected \d+, the first timestamp of data\.safetensors",
        ),
        (_data(_history(slice(None), 1, np.nan)), r"data\.safetensors.*'s1'\] contain only NaN"),
        (_data(_history(3, 0, np.inf)), r"data\.safetensors.*'s0' contains an infinite value"),
        (_data(_history(5, 1, -np.inf)), r"'s1' contains an infinite value"),
        (_data(_history(slice(3, None), 1, np.nan)), r"too few observations.*at least 10"),
        (_config(lambda c: c.update(columns=["s0", "s0"])), r"duplicate column .*\['s0'\]"),
        (_config(lambda c: c.update(columns=["Open", "Close"])), r"'columns' .* not series names"),
        (_config(lambda c: c.update(columns="s0")), r"'columns' is 's0' of type str"),
        (_data(lambda a: a.update(values=a["values"].astype(np.float32))), "'values' has dtype"),
        (_scaler_fitted(feature_names_in_=3), r"scaler 'scaler_' fails .*TypeError"),
        (_scaler_fitted(mean_="x"), r"scaler 'scaler_' fails on the saved history"),
        (_scaler_fitted(mean_={"__float__": "nan"}), r"scaler 'scaler_' does not map .* finite"),
        (
            _config(lambda c: c.update(calibration_={"__dict__": {"drift": 0.5}})),
            r"'calibration_' has unknown keys \['__dict__'\]",
        ),
        (_calibration(spread=2.0), r"'calibration_' has unknown keys \['spread'\]"),
        (_calibration(n_points="50"), r"calibration_\['n_points'\] is '50'"),
        (_config(lambda c: c.update(history_=None)), r"'history_' is None .*expected a dict"),
        (_config(lambda c: c.update(restart_losses_=3)), r"'restart_losses_' is 3"),
        (_config(lambda c: c.update(index_unit="days")), r"'index_unit' is 'days'"),
    ],
    ids=[
        "nan-weight",
        "inf-weight",
        "null-origin",
        "str-origin",
        "shifted-origin",
        "all-nan-series",
        "inf-history",
        "minus-inf-history",
        "too-few-observations",
        "duplicate-columns",
        "price-field-columns",
        "columns-not-a-list",
        "float32-history",
        "scaler-int-for-array",
        "scaler-str-for-array",
        "scaler-nan-mean",
        "calibration-wrapped",
        "calibration-unknown-key",
        "calibration-n-points",
        "history-not-dict",
        "restart-losses-not-list",
        "unknown-index-unit",
    ],
)
def test_tampered_save_is_refused_at_load(saved, tamper, match):
    tamper(saved)
    assert_refused(TSNodeForecaster.load, saved, match)


def test_unobserved_values_in_the_history_still_load(fitted, saved):
    # NaN means "not observed": legal as long as each series keeps enough observations.
    assert fitted.y_.isna().any().any()
    edit_arrays(saved / "data.safetensors", _history(slice(0, 5), 0, np.nan))
    loaded = TSNodeForecaster.load(saved)
    assert loaded.y_.iloc[:5, 0].isna().all()
    assert np.isfinite(_quantiles(loaded).to_numpy()).all()


@pytest.mark.parametrize("device", ["cuda", "cuda:3", "mps", "xpu"])
def test_a_gpu_save_loads_on_a_cpu_only_machine_with_a_warning(fitted, saved, monkeypatch, device):
    # regression: a save made with device="cuda" (weights stored on the CPU) was refused as
    # "corrupted or edited" on a machine without a GPU; "mps"/"xpu" failed inside torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: device == "cuda:3")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    _edit_config(saved, lambda c: c["params"]["__dict__"].update({"device": device}))
    with pytest.warns(
        RuntimeWarning, match=f"device='{device}'.*loaded with device='cpu'"
    ) as record:
        loaded = TSNodeForecaster.load(saved)
    assert record[0].filename == __file__ and loaded.device == "cpu"
    pd.testing.assert_frame_equal(_quantiles(loaded), _quantiles(fitted))


def test_a_gpu_save_keeps_its_device_where_that_device_exists(monkeypatch, tmp_path):
    # regression: the availability check looked in torch.backends.cuda (which has no
    # is_available), so every "cuda" save was moved to the CPU, GPU or not
    from tsnode._forecaster_io import usable_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for device in ("cuda", "cuda:0", "cuda:1", "cpu"):
            assert usable_device({"device": device}, tmp_path) == {"device": device}
    with pytest.warns(RuntimeWarning, match="device='cuda:2'"):
        assert usable_device({"device": "cuda:2"}, tmp_path) == {"device": "cpu"}


def test_a_save_with_more_threads_than_this_machine_allows_loads_capped(
    fitted, monkeypatch, tmp_path
):
    # regression: num_threads=8 saved on a 2-core machine (limit 8) was refused at load on
    # a 1-core one as "corrupted or edited", and could not be saved again there
    model = TSNodeForecaster(**{**PARAMS, "num_threads": 8}).fit(_prices())
    path, expected = model.save(tmp_path / "threads"), _quantiles(model)
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    with pytest.warns(RuntimeWarning, match="num_threads=8, more than this machine allows") as rec:
        loaded = TSNodeForecaster.load(path)
    assert rec[0].filename == __file__ and loaded.num_threads == 4
    pd.testing.assert_frame_equal(_quantiles(loaded), expected)
    # an ensemble warns once for itself, not once more per member
    from tsnode import EnsembleForecaster

    monkeypatch.undo()
    ensemble = EnsembleForecaster(TSNodeForecaster(**{**PARAMS, "num_threads": 8}), n_members=2)
    path = ensemble.set_params(progress=False).fit(_prices()).save(tmp_path / "ensemble")
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    with pytest.warns(RuntimeWarning, match="more than this machine allows") as rec:
        EnsembleForecaster.load(path)
    assert [r.filename for r in rec] == [__file__]


def test_a_torch_device_and_a_calendar_object_can_be_saved(tmp_path):
    # regression: fit accepted device=torch.device(...) and an ExchangeCalendar, but save
    # gave a generic "cannot save an object of type torch.device" naming no parameter, and
    # set_params(device="cpu") was refused as a change since fit: only a refit helped
    import exchange_calendars as xcals

    from tsnode import EnsembleForecaster

    model = TSNodeForecaster(**{**PARAMS, "device": torch.device("cpu")}).fit(_prices())
    loaded = TSNodeForecaster.load(model.save(tmp_path / "device"))
    assert loaded.device == "cpu"
    pd.testing.assert_frame_equal(_quantiles(loaded), _quantiles(model))
    model.set_params(device="cpu")  # the same device: not a change since fit
    model.save(tmp_path / "device")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecations inside exchange-calendars
        calendar = xcals.get_calendar("XNYS", start="2010-01-04", end="2030-12-31")
    model = TSNodeForecaster(**{**PARAMS, "calendar": calendar}).fit(_prices())
    with pytest.raises(SerializationError, match=r"calendar=.*set_params\(calendar='XNYS'\)"):
        model.save(tmp_path / "calendar")
    assert not (tmp_path / "calendar").exists()
    loaded = TSNodeForecaster.load(model.set_params(calendar="XNYS").save(tmp_path / "calendar"))
    pd.testing.assert_frame_equal(_quantiles(loaded), _quantiles(model))
    ensemble = EnsembleForecaster(
        TSNodeForecaster(**{**PARAMS, "calendar": calendar}), n_members=2, progress=False
    ).fit(_prices())
    with pytest.raises(SerializationError, match="estimator__calendar='XNYS' for an ensemble"):
        ensemble.save(tmp_path / "ensemble")
    assert not (tmp_path / "ensemble").exists()


def test_config_is_strict_json_and_a_nan_history_round_trips(tmp_path):
    # regression: history_ and restart_losses_ of a fit without validation data were written
    # as bare NaN tokens, which strict JSON parsers (JavaScript's JSON.parse) refuse
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    model = TSNodeForecaster(**{**PARAMS, "validation_fraction": 0.0}).fit(_prices())
    assert np.isnan(model.history_["val_loss"]).all() and np.isnan(model.restart_losses_).all()
    path = model.save(tmp_path / "model")
    json.loads((path / "config.json").read_text(), parse_constant=refuse)
    loaded = TSNodeForecaster.load(path)
    np.testing.assert_array_equal(loaded.history_["val_loss"], model.history_["val_loss"])
    np.testing.assert_array_equal(loaded.restart_losses_, model.restart_losses_)
    assert loaded.history_["loss"] == model.history_["loss"]


@pytest.mark.filterwarnings("ignore:The provided functions are not strictly inverse:UserWarning")
def test_an_unsaveable_scaler_is_named_with_the_saveable_alternative(tmp_path):
    # regression: "cannot save an object of type numpy.ufunc without pickle", naming neither
    # the parameter nor an alternative
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    scaler = make_pipeline(FunctionTransformer(np.log, np.exp), StandardScaler())
    model = TSNodeForecaster(**{**PARAMS, "scaler": scaler}).fit(_prices())
    with pytest.raises(
        SerializationError, match=r"(?s)cannot save parameter scaler=.*LogScaler\(\)"
    ):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_save_refuses_directories_that_are_not_a_tsnode_save(tmp_path, monkeypatch):
    # regression: save() replaced another program's config.json, save("") wrote into the
    # current directory, and a parent that is a file raised a bare NotADirectoryError
    from tsnode.baselines import NaiveForecaster

    model = NaiveForecaster().fit(_prices())
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text('{"my": "project settings"}')
    with pytest.raises(SerializationError, match=r"not a tsnode save \(config\.json\)"):
        model.save(project)
    assert (project / "config.json").read_text() == '{"my": "project settings"}'
    assert sorted(p.name for p in project.iterdir()) == ["config.json"]
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="path is empty"):
        model.save("")
    with pytest.raises(SerializationError, match=r"not a tsnode save \(notes\.txt, project\)"):
        model.save(".")
    with pytest.raises(
        SerializationError, match=r"cannot save to .*notes.txt/model: NotADirectoryError: .*parents"
    ):
        model.save(tmp_path / "notes.txt" / "model")
    assert (tmp_path / "notes.txt").read_text() == "mine"
    # an earlier save (of another kind too) is overwritten, and so is an interrupted one
    model.save("saved")
    TSNodeForecaster(**PARAMS).fit(_prices()).save("saved")
    (tmp_path / "saved" / "config.json").unlink()  # interrupted: weights and data, no config
    assert isinstance(NaiveForecaster.load(model.save("saved")), NaiveForecaster)


def test_load_checks_the_weight_shapes_before_building_the_network(saved, monkeypatch):
    # regression (audit): a config edited to ode_units=2048, ode_layers=60 built (and
    # initialised) that network, 1.3 GB, before the weights were found not to fit it
    _edit_config(saved, lambda c: c["params"]["__dict__"].update({"ode_units": 2048}))
    built = []
    original = TSNodeForecaster._build_model

    def recording(self):
        model = original(self)
        built.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(TSNodeForecaster, "_build_model", recording)
    with pytest.raises(SerializationError, match=r"saved vs expected shapes: .*2048"):
        TSNodeForecaster.load(saved)
    assert built == ["meta"]  # nothing allocated


@pytest.mark.parametrize("model_class", ["tsnode", "gru"])
def test_load_leaves_the_callers_random_state_alone(tmp_path, model_class):
    # regression (audit): load built the network from torch's global generator, so a
    # seeded script drew other numbers after a load
    import torch

    from tsnode.baselines import GRUForecaster

    if model_class == "gru":
        model = GRUForecaster(hidden_size=4, epochs=1, progress=False).fit(_prices())
    else:
        model = TSNodeForecaster(**PARAMS).fit(_prices())
    path = model.save(tmp_path / "m")
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    type(model).load(path)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


def _set_scale(value):
    def edit(config):
        config["scaler_"]["fitted"]["scale_"]["__ndarray__"] = [value] * len(
            config["scaler_"]["fitted"]["scale_"]["__ndarray__"]
        )

    return edit


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda c: c["params"]["__dict__"].update({"time_scale_days": 1e-3}), "solver steps"),
        (lambda c: c["params"]["__dict__"].update({"step_size": 1e-9}), "solver steps"),
        (lambda c: c["calibration_"].update({"log_spread": 1000.0}), r"'log_spread'\] must be in"),
        (lambda c: c["calibration_"].update({"slope": -3.0}), r"'slope'\] must be in"),
        (_set_scale(1e-300), "beyond the float32 range"),
        (_set_scale(-0.35), "'scale_' must be positive"),
    ],
    ids=["time-scale", "step-size", "log-spread", "slope", "tiny-scale", "negative-scale"],
)
def test_edits_that_would_fail_in_predict_fail_at_load(saved, edit, match):
    # regression (audit): each loaded, then failed inside predict (an encoder's "112,000
    # fixed steps", a FloatingPointError advising a refit) or, for a negative scale, silently
    # changed the forecasts; docs/architecture.md promises a failure at load
    _edit_config(saved, edit)
    with pytest.raises(SerializationError, match=match):
        TSNodeForecaster.load(saved)


def test_save_accepts_clutter_and_interrupted_saves_and_names_a_dangling_link(tmp_path):
    # regression (review): a directory holding only .DS_Store, .gitkeep or Thumbs.db was
    # refused; a dangling symlink was blamed on its "parents"
    from tsnode.baselines import NaiveForecaster

    model = NaiveForecaster().fit(_prices())
    for clutter in (".DS_Store", ".gitkeep", "Thumbs.db"):
        target = tmp_path / clutter.strip(".")
        target.mkdir()
        (target / clutter).write_text("")
        NaiveForecaster.load(model.save(target))
    interrupted = model.save(tmp_path / "interrupted")
    (interrupted / "config.json").unlink()  # an overwrite stopped after removing the config
    NaiveForecaster.load(model.save(interrupted))
    # but a save-like name among the user's files is no save (second review)
    mixed = tmp_path / "mixed"
    (mixed / "member_3").mkdir(parents=True)
    (mixed / "thesis.docx").write_text("mine")
    with pytest.raises(SerializationError, match=r"not a tsnode save \(thesis\.docx\)"):
        model.save(mixed)
    assert sorted(p.name for p in mixed.iterdir()) == ["member_3", "thesis.docx"]
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(SerializationError, match=r"symbolic link to .*nowhere, which does not"):
        model.save(tmp_path / "dangling")
