"""Pickle-free persistence of a fitted neural forecaster (``TSNodeForecaster``, ``GRUForecaster``).

A saved model is a directory of three files:

- ``weights.safetensors``: the network's state dict;
- ``data.safetensors``: the observed history (float64 values, UTC nanosecond index) the
  forecasts are conditioned on;
- ``config.json``: the class name, constructor parameters, the fitted scaler (via
  :mod:`tsnode._serialization`), the calibration map (``null`` for classes without one),
  index metadata, the training history and the tsnode version.

The forecaster classes' ``save``/``load`` call :func:`save_forecaster`/:func:`load_forecaster`;
a class needs ``model_``, ``scaler_``, ``origin_``, ``history_``, ``_check_params`` and
``_build_model`` (the untrained network of its parameters).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from tsnode._calibration import IDENTITY, check_calibration
from tsnode._serialization import (
    SerializationError,
    from_jsonable,
    read_config,
    to_jsonable,
    write_config,
)

__all__ = ["save_forecaster", "load_forecaster"]

_FORMAT_VERSION = 1
_CONFIG_FILE = "config.json"
_WEIGHTS_FILE = "weights.safetensors"
_DATA_FILE = "data.safetensors"


def save_forecaster(forecaster: Any, path: str | os.PathLike) -> Path:
    """Write the fitted ``forecaster`` to the directory ``path`` (created if needed).

    Raises ``NotFittedError`` (before writing anything) if it is not fitted.
    """
    from safetensors.torch import save_file
    from sklearn.utils.validation import check_is_fitted

    from tsnode import __version__

    check_is_fitted(forecaster)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in forecaster.model_.state_dict().items()}
    save_file(weights, str(path / _WEIGHTS_FILE))
    index = forecaster.y_.index
    index_utc = index.tz_convert("UTC") if index.tz is not None else index
    data = {
        # DataFrame.to_numpy can be a non-contiguous view; safetensors refuses those.
        "values": torch.from_numpy(
            np.array(forecaster.y_.to_numpy(dtype=np.float64), copy=True, order="C")
        ),
        "index_ns": torch.as_tensor(index_utc.as_unit("ns").asi8.copy()),
    }
    save_file(data, str(path / _DATA_FILE))
    config = {
        "format": _FORMAT_VERSION,
        "class": type(forecaster).__name__,
        "tsnode_version": __version__,
        "params": to_jsonable(forecaster.get_params(deep=False)),
        "scaler_": to_jsonable(forecaster.scaler_),
        "calibration_": getattr(forecaster, "calibration_", None),
        "columns": [str(c) for c in forecaster.columns_],
        "index_name": index.name,
        "index_tz": None if index.tz is None else str(index.tz),
        "index_unit": index.unit,
        "origin_ns": int(pd.Timestamp(forecaster.origin_).as_unit("ns").value),
        "history_": forecaster.history_,
    }
    write_config(path / _CONFIG_FILE, config)
    return path


def load_forecaster(cls: type, path: str | os.PathLike) -> Any:
    """Rebuild a forecaster of class ``cls`` saved by :func:`save_forecaster`.

    Raises
    ------
    SerializationError
        If the directory is missing files or they are corrupted or tampered with.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    for name in (_CONFIG_FILE, _WEIGHTS_FILE, _DATA_FILE):
        if not (path / name).is_file():
            raise SerializationError(
                f"{path} is not a saved {cls.__name__}: {name} is missing. Save with "
                "forecaster.save(path) and pass the same directory to load."
            )
    config = read_config(
        path / _CONFIG_FILE, class_name=cls.__name__, format_version=_FORMAT_VERSION
    )
    try:
        params = from_jsonable(config["params"])
        forecaster = cls(**params)
        forecaster.scaler_ = from_jsonable(config["scaler_"])
        # Saved before calibration existed: the identity map reproduces those forecasts.
        # ``null``: the class has no calibration map (GRUForecaster).
        calibration = config.get("calibration_", IDENTITY)
        if calibration is not None:
            forecaster.calibration_ = check_calibration(calibration)
        weights = load_file(str(path / _WEIGHTS_FILE))
        data = load_file(str(path / _DATA_FILE))
        index = pd.DatetimeIndex(pd.to_datetime(data["index_ns"].numpy(), unit="ns"))
        if config["index_tz"] is not None:
            index = index.tz_localize("UTC").tz_convert(config["index_tz"])
        index = index.as_unit(config.get("index_unit", "ns"))  # forecasts keep the unit
        index.name = config["index_name"]
        frame = pd.DataFrame(data["values"].numpy(), index=index, columns=config["columns"])
        origin = pd.Timestamp(config["origin_ns"], unit="ns")
        if config["index_tz"] is not None:
            origin = origin.tz_localize("UTC").tz_convert(config["index_tz"])
        forecaster.origin_ = origin
        forecaster.history_ = config["history_"]
        forecaster._check_params()
        forecaster.model_ = forecaster._build_model()
        forecaster.model_.load_state_dict(weights)
    except SerializationError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as error:
        raise SerializationError(f"cannot load the model saved in {path}: {error}") from error
    forecaster.model_.to(forecaster.device).eval()
    forecaster._set_fitted_frame(frame)
    return forecaster
