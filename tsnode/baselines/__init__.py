"""Baseline forecasters sharing the :class:`tsnode.base.BaseForecaster` API.

``GRUForecaster`` is imported lazily so that the closed-form baselines do not pull in torch.
"""

from typing import Any

from tsnode.baselines._simple import DriftForecaster, GBMForecaster, NaiveForecaster

__all__ = ["DriftForecaster", "GBMForecaster", "GRUForecaster", "NaiveForecaster"]


def __getattr__(name: str) -> Any:
    if name == "GRUForecaster":
        from tsnode.baselines._gru import GRUForecaster

        return GRUForecaster
    raise AttributeError(f"module 'tsnode.baselines' has no attribute {name!r}")
