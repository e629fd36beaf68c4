"""Baseline forecasters sharing the :class:`tsnode.base.BaseForecaster` API."""

from tsnode.baselines._gru import GRUForecaster as GRUForecaster
from tsnode.baselines._simple import DriftForecaster, GBMForecaster, NaiveForecaster

__all__ = ["DriftForecaster", "GBMForecaster", "NaiveForecaster"]
