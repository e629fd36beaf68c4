"""Pickle-free persistence of fitted forecasters (safetensors + JSON).

A saved neural forecaster (``TSNodeForecaster``, ``GRUForecaster``) is a directory of three
files:

- ``weights.safetensors``: the network's state dict;
- ``data.safetensors``: the observed history (float64 ``values``, UTC nanosecond ``index_ns``)
  the forecasts are conditioned on;
- ``config.json``: the class name, constructor parameters, the fitted scaler (via
  :mod:`tsnode._serialization`), the calibration map (``null`` for classes without one),
  index metadata, the training history and the tsnode version.

A saved closed-form baseline (``NaiveForecaster``, ``DriftForecaster``, ``GBMForecaster``) has
no weights: ``data.safetensors`` also holds its fitted float64 arrays (``last_value_``,
``sigma_``, ...) and ``config.json`` the class name, parameters, index metadata and version.

The history is written and read by :func:`_write_data`/:func:`_read_history` (metadata by
:func:`_index_config`, computed before anything is written), shared by both kinds; index
metadata (name, tz, unit, freq) and the column names live in ``config.json``.
torch is imported only to write or read network weights (the neural classes).

The neural classes' ``save``/``load`` call :func:`save_forecaster`/:func:`load_forecaster`
(needing ``model_``, ``scaler_``, ``origin_``, ``history_``, ``_check_params``, ``_build_model``);
the baselines call :mod:`tsnode._baseline_io` (built on this module's shared helpers).

Loading checks everything a forecast uses (the history as ``fit`` checks it, finite weights and
fitted arrays, the config's fields, the scaler; see :func:`load_forecaster`), so a corrupted or
edited save is refused with a :class:`SerializationError` naming the bad file or field instead
of failing inside ``predict`` or forecasting silently differently.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from tsnode._calibration import IDENTITY, check_calibration
from tsnode._serialization import (
    FORECASTER_CONFIG,
    SerializationError,
    from_jsonable,
    make_save_dir,
    missing_config,
    params_to_jsonable,
    read_config,
    save_path,
    saveable_params,
    to_jsonable,
    write_config,
)
from tsnode._validation import check_min_observations, to_wide_frame

__all__ = ["save_forecaster", "load_forecaster"]

_FORMAT_VERSION = 1
_CONFIG_FILE = FORECASTER_CONFIG
_WEIGHTS_FILE = "weights.safetensors"
_DATA_FILE = "data.safetensors"
_HISTORY_KEYS = ("values", "index_ns")
_INDEX_UNITS = ("s", "ms", "us", "ns")
#: Keys of a calibration map: those of IDENTITY and the CRPS that fit_calibration reports.
_CALIBRATION_KEYS = frozenset({*IDENTITY, "crps_before", "crps_after"})
_REQUIRED = object()


# ---------------------------------------------------------------------------- shared helpers
def _index_config(frame: pd.DataFrame) -> dict[str, Any]:
    """The config entries :func:`_read_history` needs to rebuild ``frame``'s columns and index:
    ``columns``, ``index_name``, ``index_tz``, ``index_unit`` and ``index_freq``.

    Raises :class:`SerializationError` if the index name is not a plain JSON value or the time
    zone has no name that reads back as the same zone (computed before anything is written).
    """
    index = frame.index
    if not (index.name is None or isinstance(index.name, (str, int, float, bool))):
        raise SerializationError(
            f"cannot save the index name {index.name!r} of type {type(index.name).__name__}: "
            "only a str, a number or None can be saved without pickle. Rename it (e.g. "
            "frame.index.name = 'Date'), then fit and save again."
        )
    return {
        "columns": [str(c) for c in frame.columns],
        "index_name": index.name,
        "index_tz": None if index.tz is None else _tz_string(index.tz),
        "index_unit": index.unit,
        "index_freq": _freq_string(index),
    }


def _tz_string(tz: Any) -> str:
    """A name of ``tz`` that pandas reads back as the same zone.

    Named zones (zoneinfo, pytz, dateutil) keep their name. A zone whose ``str`` pandas cannot
    parse (e.g. ``pytz.FixedOffset(60)``) but whose offset is the same in January and July of
    1990-2020 is saved as that fixed offset (``"UTC+01:00"``); any other is refused.
    """
    name = str(tz)
    try:  # pandas' own key: "dateutil/Europe/London" where str() gives tzfile('/usr/...')
        from pandas._libs.tslibs.timezones import get_timezone

        key = get_timezone(tz)
        name = key if isinstance(key, str) else name
    except Exception:  # a private helper: str(tz) is the fallback
        pass
    probes = [
        pd.Timestamp(f"{y}-{m:02d}-01", tz="UTC") for y in (1990, 2000, 2010, 2020) for m in (1, 7)
    ]
    offsets = [t.tz_convert(tz).utcoffset() for t in probes]
    try:
        if [t.tz_convert(name).utcoffset() for t in probes] == offsets:
            return name
    except (KeyError, ValueError, TypeError):
        pass
    if len(set(offsets)) == 1:
        minutes = int(offsets[0].total_seconds()) // 60
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    raise SerializationError(
        f"cannot save the time zone {name!r} of the fitted index: pandas cannot read that name "
        "back. Convert the frame to a named zone (e.g. frame.tz_convert('America/New_York')) "
        "or to UTC, then fit and save again."
    )


def _write_data(
    file: Path, frame: pd.DataFrame, arrays: dict[str, np.ndarray] | None = None
) -> None:
    """Write the history ``frame`` (and float64 ``arrays``) to the safetensors ``file``."""
    from safetensors.numpy import save_file

    index = frame.index
    index_utc = index.tz_convert("UTC") if index.tz is not None else index
    data = {
        # safetensors needs C-contiguous buffers; DataFrame.to_numpy can be a strided view.
        "values": np.ascontiguousarray(frame.to_numpy(dtype=np.float64)),
        "index_ns": np.ascontiguousarray(index_utc.as_unit("ns").asi8, dtype=np.int64),
    }
    for name, array in (arrays or {}).items():
        data[name] = np.ascontiguousarray(array, dtype=np.float64)
    save_file(data, str(file))


def _freq_string(index: pd.DatetimeIndex) -> str | None:
    """``index.freqstr`` if the string rebuilds the same offset (not e.g. custom holidays)."""
    if index.freq is None or to_offset(index.freqstr) != index.freq:
        return None
    return index.freqstr


def _read_data(file: Path) -> dict[str, np.ndarray]:
    """The arrays of the safetensors ``file`` (numpy, no torch)."""
    from safetensors.numpy import load_file

    return load_file(str(file))


def _config_field(
    config: dict[str, Any],
    key: str,
    kinds: tuple[type, ...],
    expected: str,
    default: Any = _REQUIRED,
) -> Any:
    """``config[key]``, checked to be one of ``kinds`` (a bool is no int here); ``default`` if
    absent and given. Raises ``ValueError`` naming the field and what was ``expected``."""
    if key not in config:
        if default is _REQUIRED:
            raise ValueError(f"{_CONFIG_FILE} has no {key!r} entry (expected {expected})")
        return default
    value = config[key]
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ValueError(
            f"{_CONFIG_FILE}: {key!r} is {value!r} of type {type(value).__name__}, expected "
            f"{expected}"
        )
    return value


def _diagnosis(error: Exception) -> str:
    """The diagnosis of a :mod:`tsnode._validation` message, without the advice (after "; ")
    meant for the caller of ``fit``."""
    return str(error).split("; ")[0].rstrip(".")


def _read_history(
    data: dict[str, np.ndarray], config: dict[str, Any], min_observations: int
) -> pd.DataFrame:
    """Rebuild the history frame written by :func:`_write_data`, checked as ``fit`` checks it.

    The frame must come back unchanged from :func:`~tsnode._validation.to_wide_frame` (NaN
    marks an unobserved value; +-inf, an entirely-NaN series or duplicate column names are
    refused) and hold ``min_observations`` values per series
    (:func:`~tsnode._validation.check_min_observations`).

    Raises ``KeyError``/``TypeError``/``ValueError`` naming the bad file or field; callers turn
    them into a :class:`SerializationError` naming the directory.
    """
    missing = [key for key in _HISTORY_KEYS if key not in data]
    if missing:
        raise ValueError(f"{_DATA_FILE} has no {missing} array(s)")
    values, index_ns = data["values"], data["index_ns"]
    if values.dtype != np.float64 or values.ndim != 2:
        raise ValueError(
            f"{_DATA_FILE}: 'values' has dtype {values.dtype} and shape {values.shape}, expected "
            "a float64 matrix of shape (n_timestamps, n_series)"
        )
    if index_ns.dtype != np.int64 or index_ns.shape != (values.shape[0],):
        raise ValueError(
            f"{_DATA_FILE}: 'index_ns' has dtype {index_ns.dtype} and shape {index_ns.shape}, "
            f"expected int64 of shape ({values.shape[0]},), one timestamp per row of 'values'"
        )
    columns = _config_field(config, "columns", (list,), "a list of series names")
    if len(columns) != values.shape[1] or not all(isinstance(c, str) for c in columns):
        raise ValueError(
            f"{_CONFIG_FILE}: 'columns' is {columns!r}, expected {values.shape[1]} str, one per "
            f"column of {_DATA_FILE}"
        )
    tz = _config_field(config, "index_tz", (str, type(None)), "a time zone name or null")
    unit = _config_field(config, "index_unit", (str,), f"one of {_INDEX_UNITS}", default="ns")
    if unit not in _INDEX_UNITS:
        raise ValueError(
            f"{_CONFIG_FILE}: 'index_unit' is {unit!r}, expected one of {_INDEX_UNITS}"
        )
    freq = _config_field(
        config, "index_freq", (str, type(None)), "a pandas frequency or null", default=None
    )
    name = _config_field(
        config, "index_name", (str, int, float, bool, type(None)), "a str, a number or null"
    )
    index = pd.DatetimeIndex(pd.to_datetime(index_ns, unit="ns"))
    if len(index) == 0 or not index.is_monotonic_increasing or not index.is_unique:
        raise ValueError(
            f"the index in {_DATA_FILE} is empty, unsorted or has duplicate timestamps"
        )
    if tz is not None:
        index = index.tz_localize("UTC").tz_convert(tz)
    index = index.as_unit(unit)  # forecasts keep the unit
    if freq is not None:
        index = pd.DatetimeIndex(index, freq=freq)  # checks it fits
    index.name = name
    frame = pd.DataFrame(values, index=index, columns=pd.Index(columns))
    try:
        checked = to_wide_frame(frame)
        check_min_observations(checked, min_observations)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"the history in {_DATA_FILE} (series names: {_CONFIG_FILE} 'columns') fails the "
            f"checks of fit: {_diagnosis(error)}"
            + (f" (at least {min_observations} needed)" if "too few" in str(error) else "")
        ) from error
    if list(checked.columns) != columns:  # e.g. columns renamed to yfinance price fields
        raise ValueError(
            f"{_CONFIG_FILE}: 'columns' {columns} are not series names that fit stores"
        )
    return checked


def _check_finite_weights(weights: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first tensor of ``weights`` with a NaN or an infinity."""
    import torch

    for name, tensor in weights.items():
        if not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        n_bad = int((~torch.isfinite(tensor)).sum())
        if n_bad:
            raise ValueError(
                f"{_WEIGHTS_FILE}: tensor {name!r} holds {n_bad} NaN or infinite value(s) of "
                f"{tensor.numel()} (a fitted network's weights are finite)"
            )


def _check_scaler(scaler: Any, frame: pd.DataFrame) -> None:
    """Check the restored ``scaler`` maps the history ``frame`` to finite values of its shape
    and back, as forecasting does; a fitted attribute of a wrong type or shape fails here
    (any exception becomes a ``ValueError`` naming ``scaler_``), not inside ``predict``."""
    observed = frame.notna().to_numpy()
    try:
        scaled = np.asarray(scaler.transform(frame), dtype=np.float64)
        back = None
        if scaled.shape == frame.shape and np.isfinite(scaled[observed]).all():
            restored = scaler.inverse_transform(pd.DataFrame(scaled, columns=frame.columns))
            back = np.asarray(restored, dtype=np.float64)
    except Exception as error:  # a tampered estimator can fail in any way
        raise ValueError(
            f"{_CONFIG_FILE}: the fitted scaler 'scaler_' fails on the saved history "
            f"({type(error).__name__}: {error})"
        ) from error
    if back is None or back.shape != frame.shape or not np.isfinite(back[observed]).all():
        raise ValueError(
            f"{_CONFIG_FILE}: the fitted scaler 'scaler_' does not map the saved history of "
            f"shape {frame.shape} to finite values of that shape and back"
        )
    if np.abs(scaled[observed]).max(initial=0.0) > np.finfo(np.float32).max:
        raise ValueError(
            f"{_CONFIG_FILE}: the fitted scaler 'scaler_' maps the saved history beyond the "
            "float32 range of the network"
        )
    scale = getattr(scaler, "scale_", None)  # LogScaler's and scikit-learn's are positive
    if isinstance(scale, np.ndarray) and scale.dtype.kind == "f" and not (scale > 0).all():
        raise ValueError(f"{_CONFIG_FILE}: the fitted scaler's 'scale_' must be positive")


def _read_calibration(calibration: Any) -> dict[str, Any]:
    """The saved calibration map, checked: only known keys (an unknown one would be silently
    dropped, leaving e.g. the identity), ``n_points`` an int >= 0, then
    :func:`~tsnode._calibration.check_calibration`."""
    if isinstance(calibration, dict):
        unknown = sorted(set(calibration) - _CALIBRATION_KEYS)
        if unknown:
            raise ValueError(
                f"{_CONFIG_FILE}: 'calibration_' has unknown keys {unknown}, expected only "
                f"{sorted(_CALIBRATION_KEYS)}"
            )
        n_points = calibration.get("n_points", 0)
        if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 0:
            raise ValueError(
                f"{_CONFIG_FILE}: calibration_['n_points'] is {n_points!r}, expected an int >= 0"
            )
        for key in ("crps_before", "crps_after"):
            value = calibration.get(key, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(
                    f"{_CONFIG_FILE}: calibration_[{key!r}] is {value!r}, expected a number"
                )
    try:
        return check_calibration(calibration)
    except ValueError as error:
        raise ValueError(f"{_CONFIG_FILE}: {str(error).rstrip('.')}") from error


def usable_device(params: dict[str, Any], path: Path, *, stacklevel: int = 4) -> dict[str, Any]:
    """``params`` with a saved ``device`` this machine lacks (``"cuda:1"`` with one GPU,
    ``"mps"``, ...) as ``"cpu"`` (the weights are stored on the CPU), and too many
    ``num_threads`` capped (:func:`usable_threads`), with warnings at ``stacklevel``
    (default: user -> Forecaster.load -> load_forecaster -> here)."""
    import torch  # neural forecasters only

    from tsnode._forecaster_params import device_available, usable_threads

    params = usable_threads(params, path, stacklevel=stacklevel + 1)
    device = params.get("device")
    if not isinstance(device, (str, torch.device)):
        return params  # absent, or a wrong type the parameter check names
    try:
        parsed = torch.device(device)
    except RuntimeError:
        return params
    if device_available(parsed):
        return params
    warnings.warn(
        f"{path} was saved with device={str(device)!r}, which this machine lacks; it is "
        "loaded with device='cpu' (the weights are stored on the CPU: same forecasts).",
        RuntimeWarning,
        stacklevel=stacklevel,
    )
    return {**params, "device": "cpu"}


def _load_error(cls: type, path: Path, error: Exception) -> SerializationError:
    """The :class:`SerializationError` of a save in ``path`` that fails with ``error``."""
    if type(error) is KeyError:  # not its subclasses (e.g. an unknown time zone)
        detail = f"missing entry {error}"
    elif type(error) in (ValueError, TypeError, SerializationError):
        detail = str(error)
    else:  # e.g. ZoneInfoNotFoundError, SafetensorError: the type says what failed
        detail = f"{type(error).__name__}: {error}"
    return SerializationError(
        f"cannot load the {cls.__name__} saved in {path}: {detail.rstrip('.')}. The save is "
        "corrupted or was edited; save the model again from a fitted forecaster with "
        "forecaster.save(path)."
    )


def _write_save(
    forecaster: Any,
    path: str | os.PathLike,
    *,
    params: Any,
    arrays: dict[str, np.ndarray] | None = None,
    weights: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a save directory: ``weights`` (if any), the history with ``arrays``, and
    ``config.json`` last (a complete save has a config). ``params`` are already JSON-ready;
    the index metadata is checked before anything is written. ``extra``: further config
    entries."""
    index_config = _index_config(forecaster.y_)
    path = save_path(path, action="save")
    # Overwriting: the old config goes first, so an interrupted save never loads as a mix of
    # the old config and the new weights (it is refused as incomplete instead).
    make_save_dir(path)
    if weights is not None:
        from safetensors.torch import save_file

        save_file(weights, str(path / _WEIGHTS_FILE))
    _write_data(path / _DATA_FILE, forecaster.y_, arrays)
    write_config(
        path / _CONFIG_FILE,
        {"params": params, **index_config, **(extra or {})},
        class_name=type(forecaster).__name__,
        format_version=_FORMAT_VERSION,
    )
    return path


def _open_save(cls: type, path: str | os.PathLike, names: Sequence[str]) -> tuple[Path, dict]:
    """The directory and its checked config, if ``names`` are all there and the config
    describes a save of ``cls`` in this format; a :class:`SerializationError` otherwise."""
    path = save_path(path, action="load")
    # the config first: another class's save is named as such, not blamed on a missing file
    if not (path / _CONFIG_FILE).is_file():
        raise missing_config(path, _CONFIG_FILE, cls.__name__, "forecaster")
    config = read_config(
        path / _CONFIG_FILE, class_name=cls.__name__, format_version=_FORMAT_VERSION
    )
    for name in names:
        if not (path / name).is_file():
            raise missing_config(path, name, cls.__name__, "forecaster")
    return path, config


# ---------------------------------------------------------------------------- neural forecasters
def save_forecaster(forecaster: Any, path: str | os.PathLike) -> Path:
    """Write the fitted neural ``forecaster`` to the directory ``path`` (created if needed).

    Raises ``NotFittedError`` if it is not fitted, and ``SerializationError`` if a parameter
    or the scaler cannot be written without pickle; in both cases before writing anything.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(forecaster)
    forecaster._check_unchanged_params()
    params = params_to_jsonable(saveable_params(forecaster))  # may refuse: nothing written
    extra = {
        "scaler_": to_jsonable(forecaster.scaler_),
        "calibration_": getattr(forecaster, "calibration_", None),
        "origin_ns": int(pd.Timestamp(forecaster.origin_).as_unit("ns").value),
        "history_": forecaster.history_,
        "restart_losses_": getattr(forecaster, "restart_losses_", None),
    }
    weights = {k: v.detach().cpu().contiguous() for k, v in forecaster.model_.state_dict().items()}
    return _write_save(forecaster, path, params=params, weights=weights, extra=extra)


def _model_holding(forecaster: Any, weights: dict[str, Any]) -> Any:
    """``forecaster``'s network with ``weights`` loaded.

    The shapes are checked on torch's meta device first, so that a config edited to describe
    a huge network allocates nothing before it is refused (a ``ValueError``). The network is
    built under :func:`tsnode.training.seeded_torch`: its initial weights, overwritten at
    once, are drawn without touching the caller's random state or other threads' fits.
    """
    import torch

    from tsnode.training import seeded_torch

    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in forecaster._build_model().state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        names = sorted(set(expected) ^ set(found)) or [
            k for k in expected if expected[k] != found[k]
        ]
        detail = ", ".join(
            f"{k}: {found.get(k, 'missing')} vs {expected.get(k, 'none')}" for k in names[:3]
        )
        raise ValueError(
            f"{_WEIGHTS_FILE} does not hold the network {_CONFIG_FILE} describes (saved vs "
            f"expected shapes: {detail})"
        )
    with seeded_torch(0, "cpu"):
        model = forecaster._build_model()
    model.load_state_dict(weights)
    return model


def load_forecaster(cls: type, path: str | os.PathLike) -> Any:
    """Rebuild a neural forecaster of class ``cls`` saved by :func:`save_forecaster`.

    Everything a forecast uses is checked here, so a tampered save fails at load rather than
    inside ``predict`` or with silently different forecasts: the history as ``fit`` checks it
    (see :func:`_read_history`), finite weights, the types of the config's scalar fields,
    ``origin_ns`` equal to the first saved timestamp (the model's clock starts there), only
    known calibration keys, and a transform round trip of the history through the scaler.

    Raises
    ------
    SerializationError
        If the directory is missing files or they are corrupted or tampered with; the message
        names the bad file or field.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path, config = _open_save(cls, path, (_CONFIG_FILE, _WEIGHTS_FILE, _DATA_FILE))
    try:
        params = from_jsonable(config["params"])
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict, got {type(params).__name__}")
        forecaster = cls(**usable_device(params, path))
        forecaster._check_params()
        forecaster.scaler_ = from_jsonable(config["scaler_"])
        # Saved before calibration existed: the identity map reproduces those forecasts.
        # ``null``: the class has no calibration map (GRUForecaster).
        calibration = config.get("calibration_", IDENTITY)
        if calibration is not None:
            forecaster.calibration_ = _read_calibration(calibration)
        weights = load_file(str(path / _WEIGHTS_FILE))
        _check_finite_weights(weights)
        data = _read_data(path / _DATA_FILE)
        frame = _read_history(data, config, forecaster._min_observations())
        origin_ns = _config_field(
            config, "origin_ns", (int,), "an int, the first fitted timestamp in UTC nanoseconds"
        )
        if origin_ns != int(data["index_ns"][0]):
            raise ValueError(
                f"{_CONFIG_FILE}: 'origin_ns' is {origin_ns}, expected {int(data['index_ns'][0])}"
                f", the first timestamp of {_DATA_FILE} (the model's clock starts there)"
            )
        origin = pd.Timestamp(origin_ns, unit="ns")
        if config["index_tz"] is not None:
            origin = origin.tz_localize("UTC").tz_convert(config["index_tz"])
        forecaster.origin_ = origin
        forecaster.history_ = _config_field(
            config, "history_", (dict,), "a dict of per-epoch training lists"
        )
        losses = _config_field(
            config, "restart_losses_", (list, type(None)), "a list of numbers or null", None
        )
        if losses is not None:  # absent: GRU, or saved before n_init
            forecaster.restart_losses_ = [float(v) for v in losses]
        _check_scaler(forecaster.scaler_, frame)
        if hasattr(forecaster, "solver"):  # fit's check (not GRUForecaster's)
            from tsnode._forecaster_params import check_solver_steps

            check_solver_steps(forecaster, frame.index)
        forecaster.model_ = _model_holding(forecaster, weights)
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as error:
        raise _load_error(cls, path, error) from error  # a SerializationError is a ValueError
    forecaster.model_.to(forecaster.device).eval()
    forecaster._set_fitted_frame(frame)
    forecaster._record_fit_params()
    return forecaster
