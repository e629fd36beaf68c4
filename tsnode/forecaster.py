"""`TSNodeForecaster`: pandas in, probabilistic pandas out, a Latent ODE inside.

This is the one module where pandas meets torch. Timestamps become float days since the first
fitted timestamp; every training window is shifted so that its last context observation is at
time 0 (the encoder runs back from it, the forecast runs forward) and the Latent ODE divides by
``time_scale_days`` internally, so weekends, holidays and missing rows are plain gaps in
continuous time: nothing is padded, nothing is forward-filled.

One global univariate model is fitted over all series: each training window is a run of
``context_length + forecast_length`` consecutive observations of one series; the encoder sees the
first ``context_length`` and the ELBO scores all of them (reconstruction and extrapolation).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from tsnode._calibration import (
    IDENTITY,
    apply_calibration,
    effective_windows,
    fit_calibration,
    holdout_points,
    is_identity,
)
from tsnode._forecaster_params import (
    check_fitted_scaler,
    check_forecast_samples,
    check_params,
    check_time_scale,
    check_trainable,
    default_scaler,
    forecast_solver_error,
    torch_threads,
    warn_if_diverged,
)
from tsnode._validation import check_in_sample_index
from tsnode._windows import decode_samples, make_batch, split_series, window_sampler
from tsnode.base import BaseForecaster
from tsnode.nn.latent_ode import LatentODE
from tsnode.nn.ode import FIXED_STEP_SOLVERS, NonFiniteStateError, SolverError
from tsnode.training import (
    Batch,
    TrainingConfig,
    best_of_restarts,
    continued_generator,
    seeded_torch,
    train_latent_ode,
)

__all__ = ["TSNodeForecaster"]

_DAY = pd.Timedelta(days=1)
# What the calibration fits (chosen on the tuning period, benchmarks/tune_prices.py:
# "prior16" in results/tune_prices_long.md).
_CALIBRATION_OPTIONS = {"fit_slope": True, "fit_drift": True, "prior_windows": 16.0}


class TSNodeForecaster(BaseForecaster):
    """Probabilistic forecaster for irregular price series built on a Latent ODE.

    Parameters
    ----------
    latent_dim, hidden_dim : int, default 16 and 32
        Size of the latent state and of the ODE-RNN encoder's hidden state.
    ode_units, ode_layers : int, default 64 and 2
        The latent vector field MLP (tanh).
    solver : str, default "midpoint"
        Latent ODE solver, any torchdiffeq name. Fixed-step solvers step every ``step_size``
        (in units of ``time_scale_days``); adaptive ones (``"dopri5"``) use ``rtol``/``atol``.
        The default, midpoint with ``step_size=0.5``, costs one vector-field evaluation per
        0.25 time units, a quarter of ``"rk4"`` at 0.25; on the tuning period of the
        real-price benchmark it forecast as well as rk4 and better than euler at 0.25
        (``benchmarks/results/tune_prices_solvers.md``).
    sensitivity : {"autograd", "adjoint"}, default "autograd"
        ``solver="scipy_solver"`` solves in numpy and trains only with ``"adjoint"`` (``fit``
        refuses it with ``"autograd"``).
    rtol, atol : float
        Tolerances of adaptive solvers.
    step_size : float, default 0.5
        Step of fixed-step solvers, in model time units (0.5 × 30 days = 15 days).
    context_length : int, default 60
        Observations the encoder sees before a forecast.
    forecast_length : int, default 20
        Observations after the context scored during training (the extrapolation target).
    time_scale_days : float, default 30.0
        Calendar days per model time unit (keeps solver times O(1)). ``fit`` refuses a value
        (with ``step_size``) needing over 1,000 solver steps between two observations, and
        warns when even the best loss stays above 100 (a failed fit).
    epochs, steps_per_epoch, batch_size : int
        Training budget: ``epochs × steps_per_epoch`` Adam steps on random windows.
    n_init : int, default 1
        Independent trainings (restarts) from different initial weights and batch orders, each
        with the full ``epochs`` budget; the one with the lowest validation loss (negative
        ELBO on the held-back windows, or on fixed training windows when none are held back)
        is kept and calibrated, the others are discarded. Fit time grows ``n_init``-fold. A
        restart whose training fails (:class:`~tsnode.training.TrainingError`,
        :class:`~tsnode.nn.ode.SolverError`) is skipped with a ``RuntimeWarning``; the fit
        fails only if all do. Restart 0 is the ``n_init=1`` fit, so raising ``n_init`` never
        keeps a model with a higher validation loss than the plain fit's.
    learning_rate, weight_decay : float
    n_samples_train : int, default 1
        ``z0`` samples per window in the ELBO.
    iwae : bool, default False
        Use the importance-weighted bound.
    kl_warmup_epochs : int, default 5
        KL weight rises linearly from 0 to 1 over these epochs.
    validation_fraction : float, default 0.1
        Share of each series' last observations held back for early stopping (0 disables).
    patience : int or None, default 5
        Epochs without validation improvement before stopping (None: never stop early).
    n_predict_samples : int, default 200
        Posterior samples behind ``predict``/``predict_quantiles`` (at least 2).
    scaler : transformer, optional
        A scikit-learn transformer applied per series, with an exact inverse (``fit`` refuses
        one that does not give the training prices back or mixes series). Cloned and fitted on the
        training data only. Default ``LogScaler(scale_by="volatility")``: log prices divided by
        each series' annualised volatility, so a forecast's spread follows the series'
        volatility whatever its history's length or price range (the former ``LogScaler()``
        gave a series listed 120 sessions ago 5x too narrow intervals next to a long one).
        Chosen on the benchmark's tuning period (``results/tune_prices_round8{,b}.md``).
    target : str, default "Close"
        Price field picked from yfinance-shaped frames.
    calendar : str or None, default "XNYS"
        Exchange calendar of integer horizons; None continues the observed spacing.
    random_state : int or None
        Seeds weight initialisation, window sampling and posterior sampling. The same seed
        and data give identical forecasts (also in threads or processes); the series' column
        order is part of the data (windows are drawn by position).
    num_threads : int or None, default 1
        Torch intra-op threads while fitting and sampling (restored afterwards). One thread is
        fastest for tsnode's many small operations and never oversubscribes a busy machine;
        raise it for very large prediction batches; ``None`` leaves torch's setting alone.
    device : str or torch.device, default "cpu"
        Torch device, e.g. "cuda".
    progress : bool, default True
        Show a tqdm bar with the loss while fitting.
    calibrate : bool, default True
        After training, forecast the held-back validation tail (every observation of it is a
        forecast origin conditioned on its own context, at most 600 origins) and fit the map
        that minimises the CRPS of those forecasts: a spread multiplier around the median, a
        power of the time since the last observation, and a shrinkage of the median move
        towards the last observed value; see :mod:`tsnode._calibration`. The fit is
        penalised by a random-walk prior (model spread, no median move) worth 16 forecast
        windows, against the tail's ~``n_tail / forecast_length`` independent ones, so a
        short tail moves the map less. This form and strength were chosen on the tuning
        period of the real-price benchmark, 2005-03 .. 2011-02
        (``benchmarks/results/tune_prices_long.md``).
        The map acts on the sample paths, hence on ``sample``, ``predict``,
        ``predict_quantiles`` and ``predict_interval`` alike (quantiles stay monotone, paths
        stay continuous), centred on the median of ``n_predict_samples`` paths whatever the
        number asked for; ``update`` keeps it, ``reconstruct`` ignores it. It costs about 15%
        of a fit. Without validation data (``validation_fraction=0``, or series too short to
        hold a tail back) the map is the identity, as with ``calibrate=False``.

    Attributes
    ----------
    model_ : LatentODE
    scaler_ : the fitted transformer
    history_ : dict of per-epoch lists (loss, val_loss, kl_weight, nfe, lr)
        Of the kept restart.
    restart_losses_ : list of float, length ``n_init``
        Validation loss of each restart (NaN for a failed one, and for a single fit without
        validation data); the kept restart is the one with the lowest.
    origin_ : pd.Timestamp, time zero of the model's clock
    calibration_ : dict
        The fitted calibration map: ``log_spread``, ``slope``, ``drift`` (identity: 0, 0, 1),
        ``n_points`` (held-out forecast points it was fitted on, 0 for the identity) and, when
        fitted, the validation CRPS before and after (``crps_before``/``crps_after``, in units
        of each series' mean one-step move).

    Notes
    -----
    Quantiles are computed from posterior sample paths *after* each sample is mapped back to
    prices with ``scaler_.inverse_transform``; this is exact for any per-series transform with an
    exact inverse, monotone or not (quantiles of a transformed sample are not the transformed quantiles in general, which
    is why tsnode never transforms quantiles directly).
    """

    def __init__(
        self,
        *,
        latent_dim: int = 16,
        hidden_dim: int = 32,
        ode_units: int = 64,
        ode_layers: int = 2,
        solver: str = "midpoint",
        sensitivity: str = "autograd",
        rtol: float = 1e-3,
        atol: float = 1e-4,
        step_size: float = 0.5,
        context_length: int = 60,
        forecast_length: int = 20,
        time_scale_days: float = 30.0,
        epochs: int = 20,
        n_init: int = 1,
        steps_per_epoch: int = 25,
        batch_size: int = 64,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-5,
        n_samples_train: int = 1,
        iwae: bool = False,
        kl_warmup_epochs: int = 5,
        validation_fraction: float = 0.1,
        patience: int | None = 5,
        n_predict_samples: int = 200,
        scaler: Any = None,
        target: str = "Close",
        calendar: str | None = "XNYS",
        random_state: int | None = None,
        num_threads: int | None = 1,
        device: str | torch.device = "cpu",
        progress: bool = True,
        calibrate: bool = True,
    ) -> None:
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.ode_units = ode_units
        self.ode_layers = ode_layers
        self.solver = solver
        self.sensitivity = sensitivity
        self.rtol = rtol
        self.atol = atol
        self.step_size = step_size
        self.context_length = context_length
        self.forecast_length = forecast_length
        self.time_scale_days = time_scale_days
        self.epochs = epochs
        self.n_init = n_init
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.n_samples_train = n_samples_train
        self.iwae = iwae
        self.kl_warmup_epochs = kl_warmup_epochs
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.n_predict_samples = n_predict_samples
        self.scaler = scaler
        self.target = target
        self.calendar = calendar
        self.random_state = random_state
        self.num_threads = num_threads
        self.device = device
        self.progress = progress
        self.calibrate = calibrate

    # ------------------------------------------------------------------ validation
    def _min_observations(self) -> int:
        return 10

    def _with_defaults(self) -> TSNodeForecaster:
        return self._with_default("scaler", default_scaler)

    def _check_params(self) -> None:
        check_params(self)

    # ------------------------------------------------------------------ helpers
    def _torch_seed(self, offset: int = 0) -> int:
        state = None if self.random_state is None else int(self.random_state)  # None: fresh
        return int(np.random.SeedSequence(state).generate_state(1)[0]) + offset

    def _days(self, index: pd.DatetimeIndex) -> np.ndarray:
        return np.asarray((index - self.origin_) / _DAY, dtype=np.float64)

    def _scaled_series(self, frame: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
        """Observed (days, scaled value) arrays of each series, NaN rows dropped."""
        scaled = self.scaler_.transform(frame)
        scaled = np.asarray(scaled, dtype=np.float64)
        days = self._days(frame.index)
        out = []
        for j in range(scaled.shape[1]):
            keep = np.isfinite(scaled[:, j])
            out.append((days[keep], scaled[keep, j]))
        return out

    def _build_model(self) -> LatentODE:
        options = (
            {"step_size": float(self.step_size)} if self.solver in FIXED_STEP_SOLVERS else None
        )
        return LatentODE(
            1,
            latent_dim=self.latent_dim,
            hidden_dim=self.hidden_dim,
            ode_units=self.ode_units,
            ode_layers=self.ode_layers,
            solver=self.solver,
            sensitivity=self.sensitivity,
            rtol=self.rtol,
            atol=self.atol,
            options=options,
            time_scale=float(self.time_scale_days),
            anchored=True,
        )

    def _split(
        self, series: list[tuple[np.ndarray, np.ndarray]]
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[tuple], list[int]]:
        """Training spans, early-stopping windows and first held-back indices, see
        :func:`tsnode._windows.split_series`."""
        return split_series(
            series,
            context_length=int(self.context_length),
            forecast_length=int(self.forecast_length),
            validation_fraction=float(self.validation_fraction),
        )

    # ------------------------------------------------------------------ fit
    def fit(self, y: pd.Series | pd.DataFrame) -> TSNodeForecaster:
        """Fit the Latent ODE on price history ``y`` (see :meth:`BaseForecaster.fit`).

        Parameters are checked before anything is stored, and a fit that fails (bad data,
        non-positive prices for the log scaler, :class:`~tsnode.training.TrainingError`,
        :class:`~tsnode.nn.ode.SolverError`) leaves the forecaster unfitted rather than half
        fitted, so later calls raise ``NotFittedError`` instead of using stale state.

        Parameters
        ----------
        y : Series or DataFrame
            Prices, shape (n_timestamps, n_series) for a wide frame, or a yfinance frame.

        Returns
        -------
        self

        Warns
        -----
        UserWarning
            As :meth:`BaseForecaster.fit`; also for a ``time_scale_days`` of hundreds of
            observed spacings, a series that never moves, or a one-off price (a bad tick).
        RuntimeWarning
            A restart that failed and was skipped (``n_init > 1``), and a training whose best
            loss stays above 100 (a failed fit).
        """
        self._clear_fitted()
        self._check_params()
        check_trainable(self)
        return super().fit(y)

    def _fit(self, frame: pd.DataFrame) -> None:
        with torch_threads(self.num_threads):
            self._train(frame)

    def _train(self, frame: pd.DataFrame) -> None:
        self._check_params()
        check_time_scale(self, frame.index)
        self.scaler_ = clone(self.scaler) if self.scaler is not None else default_scaler()
        self.scaler_.fit(frame)
        check_fitted_scaler(self.scaler_, frame)
        self.origin_ = frame.index[0]
        series = self._scaled_series(frame)
        train_spans, val_windows, tail_starts = self._split(series)
        val_batches = self._validation_batches(val_windows)
        n_init = int(self.n_init)
        config = TrainingConfig(
            epochs=int(self.epochs),
            steps_per_epoch=int(self.steps_per_epoch),
            learning_rate=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
            n_samples=int(self.n_samples_train),
            iwae=bool(self.iwae),
            kl_warmup_epochs=int(self.kl_warmup_epochs),
            patience=self.patience,
            progress=bool(self.progress),
            device=str(self.device),
        )
        # Restarts are ranked on the validation windows, else on 4 fixed training batches.
        scoring = val_batches
        if n_init > 1 and not scoring:
            draw = self._sampler(train_spans, [2**31, self._torch_seed() % 2**31])
            scoring = [draw() for _ in range(4)]

        def train_restart(restart: int) -> tuple[LatentODE, dict[str, list[float]]]:
            numpy_seed, torch_seed = self._restart_seeds(restart)
            draw_batch = self._sampler(train_spans, numpy_seed)
            # The seed drives initialisation and training noise (a private generator) without
            # touching the caller's or other threads' generators.
            with seeded_torch(torch_seed, self.device):
                model = self._build_model().to(self.device)
                generator = continued_generator(torch_seed, self.device)
            try:
                return model, train_latent_ode(
                    model, draw_batch, val_batches, config, generator=generator
                )
            except NonFiniteStateError:
                raise
            except SolverError as error:  # advice in this forecaster's parameters
                raise forecast_solver_error(error, self, training=True) from error

        self.model_, self.history_, losses = best_of_restarts(
            train_restart, n_init=n_init, scoring_batches=scoring, config=config
        )
        self.restart_losses_ = losses
        warn_if_diverged(self, self.history_, kept_losses=losses, final=not val_batches)
        self.calibration_ = dict(IDENTITY)
        if self.calibrate:
            samples, targets, elapsed, weights, _ = self._holdout_forecasts(series, tail_starts)
            n_tail = [len(d) - start for (d, _), start in zip(series, tail_starts, strict=True)]
            self.calibration_ = fit_calibration(
                samples,
                targets,
                elapsed,
                weights=weights,
                n_windows=effective_windows(n_tail, int(self.forecast_length)),
                **_CALIBRATION_OPTIONS,
            )

    def _validation_batches(self, val_windows: list[tuple]) -> list[Batch]:
        """Fixed early-stopping and restart-ranking batches: at most 512 validation windows,
        evenly spread over the list (which runs series by series), in batches of
        ``batch_size``."""
        keep = np.unique(np.linspace(0, len(val_windows) - 1, 512).round().astype(int))
        windows = val_windows if len(val_windows) <= 512 else [val_windows[i] for i in keep]
        bs = int(self.batch_size)
        return [make_batch(windows[i : i + bs]) for i in range(0, len(windows), bs)]

    def _restart_seeds(self, restart: int) -> tuple[int | None, int]:
        """(numpy seed, torch seed) of restart ``restart``; restart 0 is the plain fit's."""
        if restart == 0:
            state = None if self.random_state is None else int(self.random_state)
            return state, self._torch_seed()
        if self.random_state is None:
            fresh = np.random.SeedSequence().generate_state(2)
            return int(fresh[0]), int(fresh[1])
        seeds = np.random.SeedSequence([int(self.random_state), restart]).generate_state(2)
        return int(seeds[0]), int(seeds[1])

    def _sampler(self, train_spans: list[tuple[np.ndarray, np.ndarray]], seed: Any) -> Any:
        """Random training batches drawn from ``np.random.default_rng(seed)``."""
        return window_sampler(
            train_spans,
            np.random.default_rng(seed),
            context_length=int(self.context_length),
            forecast_length=int(self.forecast_length),
            batch_size=int(self.batch_size),
        )

    def _holdout_forecasts(
        self, series: list[tuple[np.ndarray, np.ndarray]], tail_starts: list[int]
    ) -> tuple[np.ndarray, ...]:
        """Uncalibrated forecasts of the held-back tails, see :func:`holdout_points`."""
        n_samples = int(self.n_predict_samples)
        return holdout_points(
            series,
            tail_starts,
            lambda contexts, queries: self._decode_samples(
                contexts, queries, n_samples, 3, in_fit=True
            ),
            context_length=int(self.context_length),
            forecast_length=int(self.forecast_length),
            n_samples=n_samples,
        )

    # ------------------------------------------------------------------ predict
    def _n_quantile_samples(self) -> int:
        self._check_live_params()  # set_params may have changed n_predict_samples since fit
        return check_forecast_samples(self.n_predict_samples)

    def _decode_samples(
        self,
        contexts: list[tuple[np.ndarray, np.ndarray]],
        queries: list[np.ndarray],
        n_samples: int,
        seed_offset: int,
        *,
        in_fit: bool = False,
    ) -> list[np.ndarray]:
        """Posterior samples in scaled units, one ``(n_samples, len(query))`` array per
        (context, query days) pair, see :func:`~tsnode._windows.decode_samples`; ``in_fit``:
        the held-back tails' forecasts that ``fit`` calibrates on."""
        device = next(self.model_.parameters()).device
        generator = torch.Generator(device=device).manual_seed(self._torch_seed(seed_offset))
        try:
            with torch_threads(self.num_threads):
                return decode_samples(
                    self.model_, contexts, queries, n_samples, int(self.context_length), generator
                )
        except NonFiniteStateError:
            raise
        except SolverError as error:
            raise forecast_solver_error(error, self, training=in_fit) from error

    def _inverse(self, scaled: np.ndarray, what: str = "sample values") -> np.ndarray:
        """Map ``(..., n_series)`` scaled values back to prices column by column."""
        self._check_finite_output(scaled, what)  # before the scaler rejects them
        shape = scaled.shape
        flat = pd.DataFrame(scaled.reshape(-1, shape[-1]), columns=self.columns_)
        prices = self.scaler_.inverse_transform(flat)
        return np.asarray(prices, dtype=np.float64).reshape(shape)

    def _sample(self, index: pd.DatetimeIndex, n_samples: int) -> np.ndarray:
        self._check_live_params()  # set_params may have changed e.g. context_length since fit
        contexts = self._scaled_series(self.y_)
        query = self._days(index)
        calibration = getattr(self, "calibration_", IDENTITY)
        # Centred on n_predict_samples paths' median: few paths' own median shrinks them.
        n_ref = n_samples if is_identity(calibration) else int(self.n_predict_samples)
        draws = self._decode_samples(contexts, [query] * len(contexts), max(n_samples, n_ref), 1)
        samples = []
        for (days, vals), paths in zip(contexts, draws, strict=True):
            rel = paths - vals[-1]
            center = np.median(rel[:n_ref], axis=0)
            rel = apply_calibration(calibration, rel[:n_samples], query - days[-1], center=center)
            samples.append(rel + vals[-1])
        scaled = np.stack(samples, axis=-1)  # (S, H, N)
        return self._inverse(scaled)

    def _update(self, frame: pd.DataFrame) -> None:
        # Weights stay fixed: the next forecast is conditioned on the last `context_length`
        # observations, which now include these rows. Transform once to validate them early.
        self.scaler_.transform(frame)

    def reconstruct(self, index: pd.DatetimeIndex | None = None) -> pd.DataFrame:
        """Posterior median at in-sample timestamps, filling missing values.

        Parameters
        ----------
        index : DatetimeIndex, optional
            Timestamps to reconstruct, within the fitted (and updated) span; default the fitted
            index. Sorted, unique, no NaT (ValueError otherwise). Each is decoded from the
            ``context_length`` observations ending at the next observation.

        Returns
        -------
        DataFrame of shape (len(index), n_series) in price units.

        Raises
        ------
        FloatingPointError
            If a reconstructed value is NaN or inf (an overflowing model).

        Warns
        -----
        UserWarning
            If frozen parameters were changed by ``set_params`` since fit.
        """
        check_is_fitted(self)
        self._warn_changed_params()
        self._check_live_params()  # a bad n_predict_samples set after fit: its own message
        return self._blockwise_median(index, [self], int(self.n_predict_samples))

    def _reconstruction_samples(
        self, index: pd.DatetimeIndex | None
    ) -> tuple[np.ndarray, pd.DatetimeIndex]:
        """Posterior draws behind :meth:`reconstruct`: ``(n_predict_samples, len(index),
        n_series)`` in price units, and the (validated) index."""
        check_is_fitted(self)
        self._check_live_params()
        index = check_in_sample_index(self.y_.index if index is None else index, self.y_.index)
        query = self._days(index)
        c = int(self.context_length)
        contexts, queries, owners = [], [], []
        for j, (days, vals) in enumerate(self._scaled_series(self.y_)):
            # The posterior is sharpest at a window's last observation (the decoder runs back
            # from it), so each query time is decoded from the c observations ending at the
            # first observation at or after it: a continuous path, no block edges.
            ends = np.minimum(np.searchsorted(days, query, side="left"), len(days) - 1)
            for end in np.unique(ends):
                sel = np.flatnonzero(ends == end)
                start = max(0, end + 1 - c)
                contexts.append((days[start : end + 1], vals[start : end + 1]))
                queries.append(np.unique(query[sel]))
                owners.append((j, sel))
        n_samples = int(self.n_predict_samples)
        samples = self._decode_samples(contexts, queries, n_samples, 2)
        out = np.full((n_samples, len(index), self.n_series_), np.nan)
        for (j, sel), q, s in zip(owners, queries, samples, strict=True):
            out[:, sel, j] = s[:, np.searchsorted(q, query[sel])]
        return self._inverse(out, "reconstructed values"), index

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Save the fitted model to the directory ``path`` (created if needed).

        Writes ``weights.safetensors`` (network weights), ``data.safetensors`` (the observed
        history used for conditioning) and ``config.json`` (parameters, scaler state,
        calibration map, metadata, tsnode version). No pickle is involved.

        Returns
        -------
        Path
            The directory.

        Raises
        ------
        SerializationError
            If a parameter frozen by ``fit`` was changed since (set it back or refit), one
            cannot be saved (an ``ExchangeCalendar``: pass its name; a scaler holding
            functions), or ``path`` is a file or holds files that are not a tsnode save;
            nothing is written. TypeError/ValueError if ``path`` is not a str/PathLike/empty.
        """
        from tsnode._forecaster_io import save_forecaster

        return save_forecaster(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TSNodeForecaster:
        """Load a model saved with :meth:`save`; its forecasts equal the original's.

        Models saved before calibration existed load with the identity calibration.

        Raises
        ------
        SerializationError
            If the directory is missing files, they are corrupted or tampered with, or it holds
            the save of another class (named). A saved ``num_threads`` above this machine's
            limit loads capped, with a ``RuntimeWarning``.
        """
        from tsnode._forecaster_io import load_forecaster

        return load_forecaster(cls, path)
