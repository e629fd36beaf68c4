"""Pickle-free persistence of the closed-form baselines (``NaiveForecaster``,
``DriftForecaster``, ``GBMForecaster``): a directory with ``data.safetensors`` (the observed
history and the fitted float64 arrays such as ``last_value_`` and ``sigma_``) and
``config.json`` (class name, parameters, index metadata, version), written and checked with
the helpers :mod:`tsnode._forecaster_io` shares with the neural forecasters.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsnode._forecaster_io import (
    _CONFIG_FILE,
    _DATA_FILE,
    _HISTORY_KEYS,
    _load_error,
    _open_save,
    _read_data,
    _read_history,
    _write_save,
)
from tsnode._serialization import (
    SerializationError,
    check_saveable_calendar,
    from_jsonable,
    params_to_jsonable,
    saveable_params,
)
from tsnode.calendar import check_calendar

__all__ = ["save_baseline", "load_baseline"]


def _baseline_params(forecaster: Any) -> dict[str, Any]:
    """The constructor parameters to save, checked to be restorable without pickle.

    A numpy Generator ``random_state`` is saved as None, see :func:`saveable_params`.
    """
    params = saveable_params(forecaster)
    _check_baseline_params(params, when="save")
    return params


def _check_baseline_params(params: dict[str, Any], *, when: str) -> None:
    if when == "load":  # saveable_params checked it on save; an edited name fails here
        check_saveable_calendar(params.get("calendar"), when=when)
        check_calendar(params.get("calendar"))
    state = params.get("random_state")
    if state is not None and (
        isinstance(state, (bool, np.bool_)) or not isinstance(state, (int, np.integer))
    ):
        raise SerializationError(
            f"cannot {when} random_state={state!r} of type {type(state).__name__}: only an int, "
            "None or a numpy Generator (saved as None) can be saved; pass e.g. random_state=0."
        )


def save_baseline(forecaster: Any, path: str | os.PathLike, arrays: Sequence[str]) -> Path:
    """Write the fitted closed-form ``forecaster`` to the directory ``path`` (created if needed).

    Parameters
    ----------
    forecaster : BaseForecaster
        A fitted baseline; ``arrays`` names its fitted float64 arrays of shape (n_series,).
    path : str or PathLike
        The directory (an existing save there is overwritten).
    arrays : sequence of str
        Fitted attributes to store in ``data.safetensors`` next to the history.

    Returns
    -------
    Path
        The directory.

    Raises
    ------
    NotFittedError
        If ``forecaster`` is not fitted (nothing is written).
    SerializationError
        If a parameter cannot be saved without pickle (nothing is written).
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(forecaster)
    forecaster._check_unchanged_params()
    params = params_to_jsonable(_baseline_params(forecaster))
    fitted = {name: np.asarray(getattr(forecaster, name), dtype=np.float64) for name in arrays}
    spacing = getattr(forecaster, "spacing_", None)  # the unit of the steps, see load
    extra = None if spacing is None else {"spacing_ns": int(spacing.as_unit("ns").value)}
    return _write_save(forecaster, path, params=params, arrays=fitted, extra=extra)


def load_baseline(cls: type, path: str | os.PathLike, arrays: Sequence[str]) -> Any:
    """Rebuild a closed-form forecaster of class ``cls`` saved by :func:`save_baseline`.

    Parameters
    ----------
    cls : type
        The forecaster class; a save of another class is refused.
    path : str or PathLike
        The directory passed to :func:`save_baseline`.
    arrays : sequence of str
        The fitted arrays ``cls`` saves, each of shape (n_series,).

    Returns
    -------
    An instance of ``cls`` with the saved parameters, history and fitted arrays.

    Raises
    ------
    SerializationError
        If the directory is missing files, holds another class's save, or its files are
        corrupted or tampered with.
    """
    from safetensors import SafetensorError

    path, config = _open_save(cls, path, (_CONFIG_FILE, _DATA_FILE))
    try:
        params = from_jsonable(config["params"])
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict, got {type(params).__name__}")
        _check_baseline_params(params, when="load")
        forecaster = cls(**params)
        data = _read_data(path / _DATA_FILE)
        unexpected = sorted(set(data) - {*_HISTORY_KEYS, *arrays})
        if unexpected:
            raise ValueError(
                f"{_DATA_FILE} has unexpected arrays {unexpected} (expected {list(arrays)})"
            )
        frame = _read_history(data, config, forecaster._min_observations())
        fitted = {}
        for name in arrays:
            if name not in data:
                raise ValueError(f"{_DATA_FILE} has no {name!r} array")
            value = data[name]
            if value.dtype != np.float64 or value.shape != (frame.shape[1],):
                raise ValueError(
                    f"{_DATA_FILE}: {name} has dtype {value.dtype} and shape {value.shape}, "
                    f"expected float64 of shape ({frame.shape[1]},)"
                )
            if not np.isfinite(value).all():
                raise ValueError(f"{_DATA_FILE}: {name} holds NaN or infinite values: {value}")
            fitted[name] = value
        last = frame.ffill().iloc[-1].to_numpy(dtype=np.float64)  # what fit and update store
        if "last_value_" in fitted and not np.array_equal(fitted["last_value_"], last):
            raise ValueError(f"{_DATA_FILE}: last_value_ is not the history's last values {last}")
        # the fit-time spacing (rows added by update may have another); absent from saves
        # before it was stored, which then use the history's, as they did
        spacing = config.get("spacing_ns")
        if spacing is not None:
            if isinstance(spacing, bool) or not isinstance(spacing, int) or spacing <= 0:
                raise ValueError(
                    f"{_CONFIG_FILE}: 'spacing_ns' is {spacing!r}, expected an int > 0"
                )
            fitted["spacing_"] = pd.Timedelta(spacing, unit="ns").as_unit(frame.index.unit)
    except (KeyError, TypeError, ValueError, SafetensorError) as error:  # SerializationError too
        raise _load_error(cls, path, error) from error
    forecaster._set_fitted_frame(frame)
    forecaster._record_fit_params()
    for name, value in fitted.items():
        setattr(forecaster, name, value)
    return forecaster
