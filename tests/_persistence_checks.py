"""Shared assertions and tampering helpers of the persistence tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tsnode._serialization import SerializationError

PLAIN_JSON = (dict, list, str, int, float, bool, type(None))


def assert_plain_json(value: Any, path: str = "config") -> None:
    """Every node of ``value`` is a plain JSON type (no pickled or custom objects)."""
    assert isinstance(value, PLAIN_JSON), f"{path} is {type(value).__name__}"
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            assert_plain_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            assert_plain_json(item, f"{path}[{i}]")


def edit_config(path: Path, edit: Callable[[dict], Any]) -> None:
    """Apply ``edit`` to the parsed ``config.json`` of the save in ``path`` and write it back."""
    config = json.loads((path / "config.json").read_text())
    edit(config)
    (path / "config.json").write_text(json.dumps(config))


def edit_arrays(file: Path, edit: Callable[[dict[str, np.ndarray]], Any]) -> None:
    """Apply ``edit`` to the (writable copies of the) arrays of the safetensors ``file``."""
    arrays = {k: v.copy() for k, v in load_file(str(file)).items()}
    edit(arrays)
    save_file(arrays, str(file))


def assert_refused(load: Callable[[Path], Any], path: Path, match: str) -> SerializationError:
    """``load(path)`` raises a SerializationError matching ``match`` that names the directory,
    says the save is corrupted or was edited, and how to fix it."""
    with pytest.raises(SerializationError, match=match) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert "corrupted or was edited" in message and "forecaster.save(path)" in message
    return info.value
