"""tsnode: probabilistic forecasting of irregular financial time series with Latent Neural ODEs.

Public names are imported lazily (PEP 562), so ``import tsnode.metrics`` does not pull in torch.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("tsnode")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

_LAZY = {
    "TSNodeForecaster": "tsnode.forecaster",
    "EnsembleForecaster": "tsnode.ensemble",
    "NeuralODE": "tsnode.nn.ode",
    "SolverError": "tsnode.nn.ode",
    "LatentODE": "tsnode.nn.latent_ode",
    "ODERNNEncoder": "tsnode.nn.encoder",
    "TrainingError": "tsnode.training",
    "LogScaler": "tsnode.preprocessing",
    "SeriesScaler": "tsnode.preprocessing",
    "NaiveForecaster": "tsnode.baselines",
    "DriftForecaster": "tsnode.baselines",
    "GBMForecaster": "tsnode.baselines",
    "GRUForecaster": "tsnode.baselines",
    "backtest": "tsnode.backtesting",
    "compare": "tsnode.backtesting",
    "BacktestResult": "tsnode.backtesting",
    "Comparison": "tsnode.backtesting",
    "simulate": "tsnode.trading",
    "Simulation": "tsnode.trading",
    "BaseForecaster": "tsnode.base",
    "future_index": "tsnode.calendar",
    "check_monotone": "tsnode.preprocessing",
    "DataError": "tsnode.data",
    "SerializationError": "tsnode._serialization",
    "make_spiral": "tsnode.datasets",
    "make_periodic": "tsnode.datasets",
    "make_gbm": "tsnode.datasets",
    "make_ou": "tsnode.datasets",
    "load_prices": "tsnode.data",
    "load_sample": "tsnode.data",
    "list_samples": "tsnode.data",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tsnode' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
