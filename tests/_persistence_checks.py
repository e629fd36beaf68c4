"""Shared assertions of the persistence tests."""

from __future__ import annotations

from typing import Any

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
