"""`GRUForecaster`: the discrete-time ablation of the Latent ODE (a GRU told the time gap).

Same data handling as :class:`tsnode.TSNodeForecaster`: each series keeps only its observed rows
(NaN rows are dropped, not filled), timestamps become float days, and the network reads the gap
between consecutive observations in units of ``time_scale_days``. What changes is the dynamics:
the hidden state jumps at observations instead of following an ODE between them. If the Latent
ODE cannot beat this model, continuous time is not earning its keep.

One global univariate :class:`tsnode.nn.gru.GapGRU` is trained over all series on windows of
``context_length + 1`` consecutive observations (one-step-ahead Gaussian likelihood). Forecasts
condition on each series' last ``context_length`` observations and sample paths autoregressively
at the future timestamps; each path is mapped back to prices before quantiles are taken.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from tqdm.auto import tqdm

from tsnode._forecaster_params import (
    check_device,
    check_fitted_scaler,
    check_scaler,
    warn_if_diverged,
)
from tsnode.base import BaseForecaster
from tsnode.calendar import check_calendar
from tsnode.nn.gru import GapGRU
from tsnode.training import TrainingError, seeded_torch

__all__ = ["GRUForecaster"]

_DAY = pd.Timedelta(days=1)


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be a positive int, got {value!r} of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


def _check_float(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"{name} must be a positive finite number, got {value!r} of type "
            f"{type(value).__name__}."
        )
    if not math.isfinite(float(value)) or not value > 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def _default_scaler() -> Any:
    from tsnode.preprocessing import LogScaler

    return LogScaler()


class GRUForecaster(BaseForecaster):
    """Probabilistic forecaster built on a GRU that reads the time gap between observations.

    Parameters
    ----------
    hidden_size : int, default 32
        GRU hidden units.
    context_length : int, default 60
        Observations per series the GRU reads before a forecast (training windows have
        ``context_length + 1`` observations).
    epochs : int, default 30
        Passes over all training windows (one window starts at every observation).
    batch_size : int, default 64
    learning_rate : float, default 1e-2
        Adam learning rate. A training whose final loss is above 5 (healthy fits reach about
        -2 to 1) warns that it failed to fit (a ``RuntimeWarning``).
    time_scale_days : float, default 30.0
        Calendar days per unit of model time (a weekend is a gap of 0.1).
    scaler : transformer, optional
        A scikit-learn transformer applied per series with an exact inverse (else refused at
        fit), DataFrame in and out, NaN-tolerant
        (default ``LogScaler()``: standardised log prices). Cloned and fitted on the training
        data only. With it a series' forecast spread follows its price range over the
        history: in a multi-series fit, a series with a much shorter history gets too narrow
        intervals. ``LogScaler(scale_by="volatility")`` (tsnode's default) fixes that but, at
        this baseline's default settings, made its real-price forecasts far worse (20-day
        MASE 2.6x the random walk's, ``benchmarks/results/gru_volscale/prices.md``).
    target : str, default "Close"
        Price field picked from yfinance-shaped frames.
    calendar : str or None, default "XNYS"
        Exchange calendar of integer horizons; None continues the observed spacing.
    random_state : int, numpy Generator or None
        Seeds weight initialisation, window order and sampling; the series' column order is
        part of the data (windows are listed by position).
    device : str or torch.device, default "cpu"
        Torch device, e.g. "cuda".
    progress : bool, default True
        Show a tqdm bar with the training loss.

    Attributes
    ----------
    model_ : GapGRU
    scaler_ : the fitted transformer
    history_ : dict with the per-epoch mean training ``"loss"`` (Gaussian NLL, scaled units)
    origin_ : pd.Timestamp, time zero of the model's clock (first fitted timestamp)

    Examples
    --------
    >>> from tsnode.datasets import make_gbm
    >>> prices = make_gbm(n_days=120, random_state=0)
    >>> model = GRUForecaster(epochs=2, context_length=20, progress=False, random_state=0)
    >>> model.fit(prices).predict(3).shape
    (3, 1)
    """

    def __init__(
        self,
        *,
        hidden_size: int = 32,
        context_length: int = 60,
        epochs: int = 30,
        batch_size: int = 64,
        learning_rate: float = 1e-2,
        time_scale_days: float = 30.0,
        scaler: Any = None,
        target: str = "Close",
        calendar: str | None = "XNYS",
        random_state: int | np.random.Generator | None = None,
        device: str | torch.device = "cpu",
        progress: bool = True,
    ) -> None:
        self.hidden_size = hidden_size
        self.context_length = context_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.time_scale_days = time_scale_days
        self.scaler = scaler
        self.target = target
        self.calendar = calendar
        self.random_state = random_state
        self.device = device
        self.progress = progress

    # ------------------------------------------------------------------ checks and helpers
    def _min_observations(self) -> int:
        return 3

    def _with_defaults(self) -> GRUForecaster:
        return self._with_default("scaler", _default_scaler)

    def _check_params(self) -> None:
        for name in ("hidden_size", "context_length", "epochs", "batch_size"):
            _check_int(name, getattr(self, name))
        for name in ("learning_rate", "time_scale_days"):
            _check_float(name, getattr(self, name))
        if not isinstance(self.progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True or False, got {self.progress!r}.")
        check_scaler(self.scaler)
        check_device(self.device)
        check_calendar(self.calendar)

    def _build_model(self) -> GapGRU:
        """The untrained network of these parameters (``fit`` seeds it; ``load`` fills it)."""
        return GapGRU(1, hidden_size=int(self.hidden_size))

    def _time_scale(self) -> float:
        """Days per model time unit: the fit-time value once fitted (the network learnt in it)."""
        return float(self._fitted_param("time_scale_days"))

    def _seed(self) -> int:
        return int(self._rng().integers(0, 2**31 - 1))

    def _scaled_series(self, frame: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
        """Observed ``(days since origin_, scaled value)`` of each series, NaN rows dropped."""
        scaled = np.asarray(self.scaler_.transform(frame), dtype=np.float64)
        days = np.asarray((frame.index - self.origin_) / _DAY, dtype=np.float64)
        out = []
        for j in range(scaled.shape[1]):
            keep = np.isfinite(scaled[:, j])
            out.append((days[keep], scaled[keep, j]))
        return out

    def _batch(
        self, windows: list[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
        """Windows of (days, values) → ``times (B, T)``, ``values, mask (B, T, 1)`` and the
        start day of each window ``(B,)``; times are relative to the window start, in model
        units, and short windows are padded at the end (last time repeated, mask 0)."""
        width = max(len(d) for d, _ in windows)
        b = len(windows)
        times, values, mask = np.zeros((b, width)), np.zeros((b, width, 1)), np.zeros((b, width, 1))
        starts = np.array([d[0] for d, _ in windows])
        for i, (d, v) in enumerate(windows):
            n = len(d)
            rel = (d - d[0]) / self._time_scale()
            times[i, :n], times[i, n:] = rel, rel[-1]
            values[i, :n, 0], mask[i, :n, 0] = v, 1.0
        device = next(self.model_.parameters()).device  # the fit-time device (frozen)
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=device)  # noqa: E731
        return as_t(times), as_t(values), as_t(mask), starts

    # ------------------------------------------------------------------ fit
    def _fit(self, frame: pd.DataFrame) -> None:
        self._check_params()
        self.scaler_ = clone(self.scaler) if self.scaler is not None else _default_scaler()
        self.scaler_.fit(frame)
        check_fitted_scaler(self.scaler_, frame)
        self.origin_ = frame.index[0]
        series = self._scaled_series(frame)
        rng = self._rng()
        length = int(self.context_length) + 1
        # one window per start position (whole series when shorter than a window)
        starts = [
            (j, s) for j, (d, _) in enumerate(series) for s in range(max(1, len(d) - length + 1))
        ]

        with seeded_torch(int(rng.integers(0, 2**31 - 1)), "cpu"):  # built on the CPU
            self.model_ = self._build_model()
        self.model_.to(self.device).train()
        optimizer = torch.optim.Adam(self.model_.parameters(), lr=float(self.learning_rate))
        bs = int(self.batch_size)
        self.history_: dict[str, list[float]] = {"loss": []}
        bar = tqdm(
            range(int(self.epochs)),
            desc=type(self).__name__,
            disable=not self.progress,
            leave=False,
        )
        for _ in bar:
            order = rng.permutation(len(starts))
            total, count = 0.0, 0
            for lo in range(0, len(order), bs):
                picks = [starts[k] for k in order[lo : lo + bs]]
                windows = [
                    (series[j][0][s : s + length], series[j][1][s : s + length]) for j, s in picks
                ]
                times, values, mask, _ = self._batch(windows)
                optimizer.zero_grad()
                loss = self.model_.loss(times, values, mask)
                if not torch.isfinite(loss):
                    raise TrainingError(  # a RuntimeError, as TSNodeForecaster's
                        f"{type(self).__name__} training diverged (loss {loss.item()}). Lower "
                        f"learning_rate (now {self.learning_rate}) or check the data for "
                        "extreme values."
                    )
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.model_.parameters(), 10.0)
                optimizer.step()
                total += loss.item() * len(picks)
                count += len(picks)
            self.history_["loss"].append(total / count)
            bar.set_postfix(loss=f"{total / count:.4f}")
        self.model_.eval()
        warn_if_diverged(self, self.history_, failed_loss=5.0, typical="-2 to 1", final=True)

    # ------------------------------------------------------------------ predict
    def _n_quantile_samples(self) -> int:
        return 500

    def _sample(self, index: pd.DatetimeIndex, n_samples: int) -> np.ndarray:
        self._check_live_params()  # set_params may have changed e.g. context_length since fit
        c = int(self.context_length)
        contexts = [(d[-c:], v[-c:]) for d, v in self._scaled_series(self.y_)]
        times, values, mask, starts = self._batch(contexts)
        future_days = np.asarray((index - self.origin_) / _DAY, dtype=np.float64)
        future = (future_days[None, :] - starts[:, None]) / self._time_scale()
        future_t = torch.as_tensor(future, dtype=torch.float32, device=times.device)
        generator = torch.Generator(device=times.device).manual_seed(self._seed())
        with torch.no_grad():
            draws = self.model_.rollout(
                times, values, mask, future_t, int(n_samples), generator=generator
            )  # (S, N, H, 1)
        scaled = draws[..., 0].permute(0, 2, 1).cpu().numpy().astype(np.float64)  # (S, H, N)
        self._check_finite_output(scaled, "sample values")  # before the scaler rejects them
        flat = pd.DataFrame(scaled.reshape(-1, self.n_series_), columns=self.columns_)
        prices = np.asarray(self.scaler_.inverse_transform(flat), dtype=np.float64)
        return prices.reshape(scaled.shape)

    def _update(self, frame: pd.DataFrame) -> None:
        # Weights stay fixed; the base class appends the rows to y_, so the next forecast
        # conditions on the last context_length observations including them. Transform once
        # here to reject invalid rows (e.g. non-positive prices for LogScaler) early.
        self._check_live_params()
        self.scaler_.transform(frame)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Save the fitted model to the directory ``path`` (created if needed).

        Writes ``weights.safetensors`` (GRU weights), ``data.safetensors`` (the observed
        history forecasts condition on) and ``config.json`` (parameters, scaler state,
        metadata, tsnode version). No pickle is involved.

        Returns
        -------
        Path
            The directory.

        Raises
        ------
        SerializationError
            If a parameter frozen by ``fit`` was changed since (set it back or refit), or
            ``path`` is a file or holds files that are not a tsnode save; nothing is written.
            TypeError (ValueError) if ``path`` is not a str or PathLike (is empty).
        """
        from tsnode._forecaster_io import save_forecaster

        return save_forecaster(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> GRUForecaster:
        """Load a model saved with :meth:`save`; its forecasts equal the original's.

        Returns
        -------
        GRUForecaster
            Fitted, with the saved weights, scaler and history.

        Raises
        ------
        SerializationError
            If the directory is missing files or they are corrupted or tampered with.
        """
        from tsnode._forecaster_io import load_forecaster

        return load_forecaster(cls, path)
