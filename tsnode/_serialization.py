"""Pickle-free (de)serialisation of scikit-learn estimators to JSON-compatible objects.

An estimator becomes ``{"__estimator__": "module.Class", "params": {...}, "fitted": {...}}``.
Loading imports the class only from an allow-list of module prefixes (``sklearn.`` and
``tsnode.`` by default), rebuilds it from its parameters and sets the fitted attributes back.
Nothing is ever executed from the file itself, so a tampered file cannot run code: at worst it
fails with :class:`SerializationError`.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SerializationError",
    "to_jsonable",
    "from_jsonable",
    "saveable_params",
    "save_path",
    "write_config",
    "read_config",
    "ALLOWED_PREFIXES",
]

ALLOWED_PREFIXES: tuple[str, ...] = ("sklearn.", "tsnode.")


class SerializationError(ValueError):
    """A saved model could not be written or read back."""


def _is_estimator(obj: Any) -> bool:
    return hasattr(obj, "get_params") and hasattr(obj, "set_params")


def to_jsonable(obj: Any) -> Any:
    """Convert ``obj`` (estimators, arrays, containers, scalars) to JSON-compatible data."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):  # validators accept it like bool
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        if np.isfinite(value):
            return value
        return {"__float__": repr(value)}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            return {
                "__ndarray__": [to_jsonable(v) for v in obj.ravel().tolist()],
                "dtype": "object",
                "shape": list(obj.shape),
            }
        return {
            "__ndarray__": [to_jsonable(v) for v in obj.ravel().tolist()],
            "dtype": str(obj.dtype),
            "shape": list(obj.shape),
        }
    if isinstance(obj, (list, tuple)):
        return {"__sequence__": [to_jsonable(v) for v in obj], "tuple": isinstance(obj, tuple)}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise SerializationError(
                f"only dicts with str keys can be saved, got keys {list(obj)}."
            )
        return {"__dict__": {k: to_jsonable(v) for k, v in obj.items()}}
    if isinstance(obj, type) and obj.__module__.startswith(("numpy", "builtins")):
        return {"__dtype__": np.dtype(obj).str}
    if _is_estimator(obj):
        cls = type(obj)
        path = f"{cls.__module__}.{cls.__qualname__}"
        if not path.startswith(ALLOWED_PREFIXES):  # load would refuse it: say so now
            raise SerializationError(
                f"cannot save the {path} estimator: a save only holds scikit-learn and tsnode "
                "classes, since load never imports other code. Use one of theirs (e.g. "
                "LogScaler() or SeriesScaler(RobustScaler())), or refit instead of loading."
            )
        params = obj.get_params(deep=False)
        # Everything that is not a constructor parameter is fitted state (public `x_` and
        # private helpers such as PowerTransformer's `_scaler`).
        fitted = {
            k: to_jsonable(v)
            for k, v in vars(obj).items()
            if k not in params and not k.startswith("__")
        }
        return {
            "__estimator__": f"{cls.__module__}.{cls.__qualname__}",
            "params": {k: to_jsonable(v) for k, v in params.items()},
            "fitted": fitted,
        }
    raise SerializationError(
        f"cannot save an object of type {type(obj).__module__}.{type(obj).__qualname__} without "
        "pickle; only scikit-learn/tsnode estimators, numpy arrays and plain values are supported."
    )


def _import_class(path: str, allowed: tuple[str, ...]) -> type:
    if not path.startswith(allowed):
        raise SerializationError(
            f"refusing to load class {path!r}: only classes from {allowed} can be restored."
        )
    module_name, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise SerializationError(f"cannot find class {path!r} ({error}).") from error
    if not isinstance(cls, type) or not hasattr(cls, "get_params"):
        raise SerializationError(f"{path!r} is not an estimator class.")
    return cls


def from_jsonable(data: Any, *, allowed: tuple[str, ...] = ALLOWED_PREFIXES) -> Any:
    """Inverse of :func:`to_jsonable`."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [from_jsonable(v, allowed=allowed) for v in data]
    if not isinstance(data, dict):
        raise SerializationError(f"unexpected value of type {type(data).__name__} in saved model.")
    try:
        if "__float__" in data:
            return float(data["__float__"])
        if "__ndarray__" in data:
            values = [from_jsonable(v, allowed=allowed) for v in data["__ndarray__"]]
            dtype = np.dtype(data["dtype"])
            if dtype.kind not in "biufcUSO?":
                raise SerializationError(f"unsupported array dtype {dtype}.")
            return np.asarray(values, dtype=dtype).reshape(data["shape"])
        if "__sequence__" in data:
            items = [from_jsonable(v, allowed=allowed) for v in data["__sequence__"]]
            return tuple(items) if data.get("tuple") else items
        if "__dict__" in data:
            return {k: from_jsonable(v, allowed=allowed) for k, v in data["__dict__"].items()}
        if "__dtype__" in data:
            return np.dtype(data["__dtype__"]).type
        if "__estimator__" in data:
            cls = _import_class(data["__estimator__"], allowed)
            params = {k: from_jsonable(v, allowed=allowed) for k, v in data["params"].items()}
            estimator = cls(**params)
            for key, value in data["fitted"].items():
                # a name of the class (a method such as `transform`) or a parameter is never
                # written: restoring it would replace the method with the edited value
                if not key.isidentifier() or key.startswith("__") or hasattr(cls, key):
                    raise SerializationError(f"unexpected fitted attribute {key!r}.")
                if key in params:
                    raise SerializationError(f"fitted attribute {key!r} names a parameter.")
                setattr(estimator, key, from_jsonable(value, allowed=allowed))
            return estimator
    except SerializationError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
        # AttributeError: a `fitted` key naming a read-only attribute; RecursionError: nesting
        raise SerializationError(f"malformed saved value ({error}).") from error
    raise SerializationError(f"unrecognised entry with keys {sorted(data)} in saved model.")


def saveable_params(estimator: Any) -> dict[str, Any]:
    """``estimator.get_params(deep=False)`` with a numpy Generator ``random_state`` as None.

    A Generator's state is not a parameter to restore: a loaded model forecasts from its
    saved weights and seeds, and a refit of it draws fresh randomness.
    """
    params = estimator.get_params(deep=False)
    if isinstance(params.get("random_state"), np.random.Generator):
        params["random_state"] = None
    torch = sys.modules.get("torch")  # a torch.device exists only once torch is imported
    if torch is not None and isinstance(params.get("device"), torch.device):
        params["device"] = str(params["device"])  # the same device, as a plain value
    check_saveable_calendar(params.get("calendar"), when="save")
    return params


def params_to_jsonable(params: dict[str, Any]) -> Any:
    """:func:`to_jsonable` of constructor ``params``; a :class:`SerializationError` names the
    parameter that cannot be written (the scaler, a nested step's function, ...)."""
    try:
        return to_jsonable(params)
    except SerializationError:
        pass  # find the parameter to name
    for name, value in params.items():
        try:
            to_jsonable(value)
        except SerializationError as error:
            hint = (
                " For a log transform use tsnode.preprocessing.LogScaler() (saveable) instead "
                "of FunctionTransformer(np.log, np.exp)."
                if "ufunc" in str(error)
                else ""
            )
            raise SerializationError(
                f"cannot save parameter {name}={value!r}: {error}{hint}"
            ) from error
    return to_jsonable(params)


def check_saveable_calendar(calendar: Any, *, when: str) -> None:
    """Refuse a calendar other than a name or None, with the ``set_params`` that fixes it."""
    if calendar is None or isinstance(calendar, str):
        return
    name = getattr(calendar, "name", None)
    name = repr(name) if isinstance(name, str) else "'XNYS'"
    raise SerializationError(
        f"cannot {when} calendar={calendar!r} of type {type(calendar).__name__}: only an "
        f"exchange name (str) or None can be saved without pickle; call set_params(calendar="
        f"{name}) first (the same sessions; estimator__calendar={name} for an ensemble)."
    )


def save_path(path: Any, *, action: str) -> Path:
    """``path`` as a ``Path`` for ``action`` ("save" or "load") of a save directory.

    Raises ``TypeError`` unless it is a str or ``os.PathLike``, ``ValueError`` if it is
    empty; for "save", a :class:`SerializationError` if it names an existing file (a save is
    a directory) or a directory holding files that are not a tsnode save (they would be
    overwritten: another program's ``config.json``, the current directory).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or os.PathLike naming the save directory, got {path!r} of type "
            f"{type(path).__name__}; pass e.g. {action}('models/aapl')."
        )
    if not os.fspath(path):
        raise ValueError(
            f"path is empty; pass the save directory, e.g. {action}('models/aapl') ('.' names "
            "the current directory)."
        )
    path = Path(path)
    if action == "save" and path.exists() and not path.is_dir():
        raise SerializationError(
            f"cannot save to {path}: it is an existing file, and a save is a directory; pass "
            "another path (an existing directory holding an earlier save is overwritten)."
        )
    if action == "save" and path.is_symlink() and not path.exists():
        raise SerializationError(
            f"cannot save to {path}: it is a symbolic link to {os.readlink(path)}, which does "
            "not exist; create that directory, or pass another path."
        )
    if action == "save" and path.is_dir():
        _check_overwritable(path)
    return path


# The entries a save writes in its directory (an ensemble's members are member_<i>/ saves).
_SAVE_ENTRIES = re.compile(
    r"(config\.json|ensemble\.json|(config|ensemble)\.json\.tmp|weights\.safetensors"
    r"|data\.safetensors|member_\d+)"
)


def _is_save_entry(entry: Path) -> bool:
    """A file a save writes (an ensemble's members: ``member_<i>`` directories)."""
    if not _SAVE_ENTRIES.fullmatch(entry.name):
        return False
    return entry.is_dir() == entry.name.startswith("member_")


def _is_tsnode_config(file: Path) -> bool:
    try:
        config = json.loads(file.read_text())
    except (OSError, ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        return False
    return isinstance(config, dict) and {"format", "class", "tsnode_version"} <= config.keys()


def _check_overwritable(path: Path) -> None:
    """Refuse to save into a directory holding another program's config or, with no tsnode
    config there, any file a save does not write (an interrupted save's own files are fine).
    Hidden entries and system clutter (.DS_Store, .gitkeep, Thumbs.db, lost+found) are fine."""
    configs = [path / name for name in CONFIG_FILES if (path / name).exists()]
    foreign = [file.name for file in configs if not _is_tsnode_config(file)]
    if not configs:
        clutter = {"Thumbs.db", "desktop.ini", "lost+found", "__MACOSX"}
        foreign = sorted(
            e.name
            for e in path.iterdir()
            if not (e.name.startswith(".") or e.name in clutter or _is_save_entry(e))
        )
    if foreign:
        shown = ", ".join(foreign[:3]) + (
            f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        )
        raise SerializationError(
            f"cannot save to {path}: it holds files that are not a tsnode save ({shown}), "
            "which saving would overwrite or mix with; pass a new or empty directory (e.g. "
            f"{path / 'model'}), or one that holds an earlier save to overwrite it."
        )


def make_save_dir(path: Path) -> None:
    """Create the save directory ``path`` (and its parents) and remove any old config.

    Removing the config of any earlier save first is the first step of an overwrite, so an
    old save of any kind is never loaded from the new one's directory, and an interrupted
    overwrite is refused as incomplete. An ``OSError`` (a parent that is a file, no
    permission) becomes a :class:`SerializationError` naming ``path``.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        remove_configs(path)
    except OSError as error:
        raise SerializationError(
            f"cannot save to {path}: {type(error).__name__}: {error.strerror or error}; pass a "
            "path whose parents are directories you can write to."
        ) from error


# Every kind of save's config (TSNodeForecaster, GRU and baselines: config.json;
# EnsembleForecaster: ensemble.json).
FORECASTER_CONFIG = "config.json"
ENSEMBLE_CONFIG = "ensemble.json"
CONFIG_FILES = (FORECASTER_CONFIG, ENSEMBLE_CONFIG)


def remove_configs(path: Path) -> None:
    """Remove the config of any save in ``path``: the first step of an overwrite, so that an
    old save of any kind is never loaded from the new one's directory, and an interrupted
    overwrite is refused as incomplete."""
    for name in CONFIG_FILES:
        (path / name).unlink(missing_ok=True)


def missing_config(path: Path, name: str, class_name: str, how: str) -> SerializationError:
    """The error for a directory without the config ``name`` of a saved ``class_name``,
    naming the class saved there instead when another kind of config is present."""
    found = ""
    for other in CONFIG_FILES if name in CONFIG_FILES else ():
        if other != name and (path / other).is_file():
            try:
                saved = json.loads((path / other).read_text()).get("class")
            except (OSError, ValueError, AttributeError):
                saved = None
            if isinstance(saved, str) and saved.isidentifier():
                found = f" It holds a saved {saved} ({other}): load it with {saved}.load(path)."
    return SerializationError(
        f"{path} is not a saved {class_name}: {name} is missing.{found} Save with "
        f"{how}.save(path) and pass the same directory to load."
    )


_NONFINITE = ("nan", "inf", "-inf")


def _finite_json(value: Any) -> Any:
    """``value`` with every NaN/inf float (a training history's NaN ``val_loss``) written as
    ``{"__float__": "nan"}``, as :func:`to_jsonable` writes them: strict JSON, which bare
    ``NaN`` tokens are not (JavaScript's ``JSON.parse`` refuses them)."""
    if isinstance(value, float) and not np.isfinite(value):
        return {"__float__": str(value)}
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(v) for v in value]
    return value


def _nonfinite_float(entry: dict) -> Any:
    """``json.loads`` hook: ``{"__float__": "nan"}`` back to a float (older saves hold bare
    ``NaN`` tokens, which ``json`` reads as well)."""
    if len(entry) == 1 and entry.get("__float__") in _NONFINITE:
        return float(entry["__float__"])
    return entry


def write_config(file: Path, body: dict[str, Any], *, class_name: str, format_version: int) -> None:
    """Write the config of a saved ``class_name`` as JSON to ``file``, atomically.

    The file holds ``format``, ``class`` and ``tsnode_version`` (what :func:`read_config`
    checks) followed by ``body``. It is written to a temporary file, then renamed, so a
    crash never leaves a truncated config.
    """
    from tsnode import __version__

    config = {"format": format_version, "class": class_name, "tsnode_version": __version__}
    tmp = file.with_name(file.name + ".tmp")
    text = json.dumps(_finite_json({**config, **body}), indent=1, allow_nan=False)
    tmp.write_text(text)
    os.replace(tmp, file)


def read_config(file: Path, *, class_name: str, format_version: int) -> dict[str, Any]:
    """Read a JSON config written by :func:`write_config` for a saved ``class_name``.

    Raises
    ------
    SerializationError
        If the file is not valid JSON, describes another class or has another format version.
    """
    try:
        config = json.loads(file.read_text(), object_hook=_nonfinite_float)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise SerializationError(
            f"{file} is not valid JSON ({error}); the save is corrupted, save the model again."
        ) from error
    saved = config.get("class") if isinstance(config, dict) else None
    if saved != class_name:
        hint = (
            f"it holds a saved {saved}; load it with {saved}.load(path)"
            if isinstance(saved, str) and saved.isidentifier()
            else f"pass the directory written by {class_name}.save(path)"
        )
        raise SerializationError(f"{file} does not describe a saved {class_name}: {hint}.")
    if config.get("format") != format_version:
        raise SerializationError(
            f"unsupported save format {config.get('format')!r} in {file} (this tsnode reads "
            f"format {format_version}); load it with the tsnode version that saved it "
            f"({config.get('tsnode_version', 'unknown')}) or save the model again."
        )
    return config
