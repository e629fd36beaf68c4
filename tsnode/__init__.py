"""tsnode: probabilistic forecasting of irregular financial time series with Latent Neural ODEs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tsnode")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
