"""Constructor-parameter checks of :class:`~tsnode.forecaster.TSNodeForecaster`."""

from __future__ import annotations

import contextlib
import inspect
import numbers
import os
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from tsnode._validation import _is_int
from tsnode._warnings import user_stacklevel
from tsnode.calendar import check_calendar
from tsnode.nn.ode import FIXED_STEP_SOLVERS, SolverError, check_sensitivity, check_solver

__all__ = [
    "check_device",
    "check_params",
    "check_scaler",
    "check_time_scale",
    "check_forecast_samples",
    "check_trainable",
    "default_scaler",
    "device_available",
    "forecast_solver_error",
    "torch_threads",
    "warn_if_diverged",
]


_MAX_THREADS_PER_CORE = 4


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be an int >= {minimum}, got {value!r} of type "
            f"{type(value).__name__}; pass e.g. {name}={max(minimum, 1)}."
        )
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)


def _check_real(name: str, value: Any) -> float:
    # numbers.Real accepts numpy scalars such as np.float32(0.01)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}.")
    return float(value)


def _check_positive_float(name: str, value: Any) -> float:
    if not 0 < _check_real(name, value) < np.inf:  # NaN and inf are refused
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def default_scaler() -> Any:
    """``TSNodeForecaster``'s scaler when ``scaler=None``."""
    from tsnode.preprocessing import LogScaler

    return LogScaler(scale_by="volatility")


def check_scaler(scaler: Any) -> None:
    """TypeError unless ``scaler`` is None or a transformer with ``inverse_transform``."""
    if isinstance(scaler, type):
        raise TypeError(
            f"scaler must be a transformer instance, got the class {scaler.__name__}; pass "
            f"{scaler.__name__}() (with parentheses)."
        )
    if scaler is not None and not all(
        hasattr(scaler, m) for m in ("get_params", "fit", "transform", "inverse_transform")
    ):
        raise TypeError(
            f"scaler must be None or a scikit-learn transformer with inverse_transform (e.g. "
            f"tsnode.preprocessing.LogScaler()), got {scaler!r}."
        )


def _refuse_mixing(scaler: Any, frame: pd.DataFrame, scaled: np.ndarray) -> None:
    """ValueError when changing one series changes another's scaled values (``PCA(n)``
    keeps the shape but mixes the series: each forecast would depend on the others' scale).
    Probed on the first, middle and last series."""
    n = frame.shape[1]
    for j in sorted({0, n // 2, n - 1}) if n > 1 else []:
        moved = frame.copy()
        moved.iloc[:, j] = moved.iloc[:, j] * 1.25 + 0.5 * moved.iloc[:, j].abs().max()
        try:
            changed = np.asarray(scaler.transform(moved), dtype=np.float64)
        except ValueError:  # e.g. a scaler refusing values beyond its fitted range: no probe
            return
        others = np.delete(changed, j, axis=1)
        if not np.allclose(others, np.delete(scaled, j, axis=1), rtol=1e-9, equal_nan=True):
            raise ValueError(
                f"scaler={scaler!r} mixes the series: changing series {frame.columns[j]!r} "
                "changes the others' scaled values. It must transform each series on its own "
                "(as LogScaler, StandardScaler or SeriesScaler(...) do), not mix them (as PCA "
                "does)."
            )


def check_fitted_scaler(scaler: Any, frame: pd.DataFrame) -> None:
    """Check a scaler just fitted on the training prices ``frame (n_timestamps, n_series)``.

    Refused (``ValueError``, before training): a scaler that does not give one column per
    series (``PCA(1)``: the forecasts could not be mapped back) or mixes them (``PCA(n)``),
    or whose ``inverse_transform`` does not give the prices back (``FunctionTransformer(np.log)`` without ``inverse_func``:
    forecasts in log units). Warned (``UserWarning``): one that is flat beyond the fitted
    range (``QuantileTransformer``: intervals would stop at the historical min and max),
    training prices that never move (their intervals would be the model's noise), and
    one-off prices like bad ticks (:func:`_warn_spikes`).
    """
    from tsnode.preprocessing import check_monotone

    scaled = np.asarray(scaler.transform(frame), dtype=np.float64)
    if scaled.shape != frame.shape:
        raise ValueError(
            f"scaler={scaler!r} maps the {frame.shape[1]} series to {scaled.shape[-1]} "
            "columns; it must transform each series into one column of its own (as LogScaler "
            "or StandardScaler do), not mix them (as PCA does)."
        )
    _refuse_mixing(scaler, frame, scaled)
    scaled = pd.DataFrame(scaled, index=frame.index, columns=frame.columns)
    back = np.asarray(scaler.inverse_transform(scaled), dtype=np.float64)
    prices = frame.to_numpy(dtype=np.float64)
    if back.shape != prices.shape:
        raise ValueError(
            f"scaler={scaler!r} maps {frame.shape[1]} series back to shape {back.shape}; its "
            "inverse_transform must give one column per series."
        )
    # a wrong-units inverse is off by order 1; rounding (a zero back as 4e-16, a Box-Cox
    # inverse's 1e-5) is not: relative to each value and, for zeros, to its column's size
    size = np.nanmax(np.abs(prices), axis=0, initial=0.0)
    with np.errstate(invalid="ignore"):
        error = np.abs(back - prices) - 1e-4 * np.abs(prices) - 1e-9 * size
    nan_mismatch = np.isnan(back) != np.isnan(prices)
    if (error > 0).any() or nan_mismatch.any():
        if nan_mismatch.any():
            detail = f"NaN where y is not, or the reverse, at {int(nan_mismatch.sum())} values"
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.abs(back - prices) / np.maximum(np.abs(prices), 1e-300)
            detail = f"largest relative error {np.nanmax(rel, initial=0.0):.3g}"
        raise ValueError(
            f"scaler={scaler!r} does not map the training prices back: inverse_transform("
            f"transform(y)) differs from y ({detail}), so forecasts "
            "would come back in the wrong units. Give it an exact inverse (e.g. "
            "FunctionTransformer(np.log, inverse_func=np.exp, check_inverse=False)) or use "
            "tsnode.preprocessing.LogScaler()."
        )
    if not check_monotone(scaler, frame):
        warnings.warn(
            f"scaler={scaler!r} is not strictly increasing over (and a little beyond) the "
            "training range, e.g. flat outside it like QuantileTransformer: forecasts and "
            "their intervals are clipped at the historical min and max. Prefer a scaler that "
            "extrapolates (LogScaler, StandardScaler).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    # flat up to rounding (57.5627 and 57.5627 * (1 + 1e-14): the scalers' scale is 1 then
    # too); no catch_warnings for all-NaN columns (it swaps process-wide state under threads)
    seen = ~np.isnan(prices).all(axis=0)
    top = np.nanmax(np.abs(prices[:, seen]), axis=0, initial=0.0)
    spread = np.nanmax(prices[:, seen], axis=0, initial=-np.inf) - np.nanmin(
        prices[:, seen], axis=0, initial=np.inf
    )
    flat = np.zeros(prices.shape[1], dtype=bool)
    flat[seen] = spread <= 1e-10 * top
    if flat.any():
        names = [str(name) for name in frame.columns[flat]]
        shown = ", ".join(repr(n) for n in names[:5]) + (" ..." if len(names) > 5 else "")
        warnings.warn(
            f"{len(names)} series never {'moves' if len(names) == 1 else 'move'} in the "
            f"training data ({shown}): the scaler learns no scale of its moves, so its "
            "forecast intervals come from the model's noise, not from the data (even wider "
            "than a volatile stock's). Forecast such series with NaiveForecaster, or fit on a "
            "period where they trade.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    _warn_spikes(frame)


def _warn_spikes(frame: pd.DataFrame) -> None:
    """Warn about one-off prices: a log move of over 10 robust standard deviations (1.4826
    MADs) undone by the next one, as a bad tick (a decimal slip) gives, and real crashes do
    not. One such tick sets a series' volatility scale (its intervals widen several-fold)
    and, through the shared model, moves the other series' forecasts."""
    found = []
    for name in frame.columns:
        prices = frame[name].dropna()
        if len(prices) < 5 or not (prices > 0).all():
            continue
        moves = np.diff(np.log(prices.to_numpy(dtype=np.float64)))
        # the spread of the moves made: unchanged prices (stale, forward-filled) would shrink
        # it until ordinary moves look like ticks
        moving = moves[moves != 0]
        mad = 1.4826 * np.median(np.abs(moving - np.median(moving))) if moving.size else 0.0
        big = np.abs(moves) > 10 * mad if mad > 0 else np.zeros(len(moves), dtype=bool)
        undone = np.abs(moves[:-1] + moves[1:]) < 0.2 * np.minimum(
            np.abs(moves[:-1]), np.abs(moves[1:])
        )
        spikes = np.flatnonzero(big[:-1] & big[1:] & undone)
        if spikes.size:
            i = int(spikes[0]) + 1
            found.append(
                f"{name!r} at {prices.index[i]} ({prices.iloc[i]:.6g} between "
                f"{prices.iloc[i - 1]:.6g} and {prices.iloc[i + 1]:.6g})"
            )
    if found:
        warnings.warn(
            f"one-off prices that the next observation undoes, like bad ticks: "
            f"{'; '.join(found[:3])}{' ...' if len(found) > 3 else ''}. Each sets its "
            "series' scale of moves (widening its intervals) and, through the shared model, "
            "shifts the other series' forecasts. Check the data; set a wrong price to NaN.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def device_available(device: torch.device) -> bool:
    """Whether this machine has ``device`` (cpu; cuda, xpu, mps with the index if given)."""
    if device.type == "cpu":
        return True
    backend = getattr(torch, device.type, None)  # torch.cuda, torch.xpu; mps: torch.backends
    available = getattr(backend if device.type != "mps" else torch.backends.mps, "is_available", 0)
    count = getattr(backend, "device_count", lambda: 1)
    return bool(available and available() and (device.index is None or device.index < count()))


def check_device(device: Any) -> None:
    """TypeError/ValueError unless ``device`` names a torch device this machine has."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', got {device!r}.")
    try:
        parsed = torch.device(device)
    except RuntimeError as error:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda' or 'cuda:0'."
        ) from error
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but torch reports no CUDA GPU; use device='cpu' or "
            "install a CUDA build of torch."
        )
    if not device_available(parsed):
        raise ValueError(
            f"device={device!r} is not available on this machine (torch reports no such "
            f"{parsed.type} device); use device='cpu', or one of the devices torch lists."
        )


def check_params(est: Any) -> None:
    """Check every constructor parameter of ``est``; ValueError/TypeError naming the bad one."""
    check_calendar(est.calendar)
    for name in (
        "latent_dim",
        "hidden_dim",
        "ode_units",
        "ode_layers",
        "context_length",
        "forecast_length",
        "epochs",
        "n_init",
        "steps_per_epoch",
        "batch_size",
        "n_samples_train",
        "n_predict_samples",  # >= 2 to fit (check_trainable); 1 loads as saved before
    ):
        _check_positive_int(name, getattr(est, name))
    _check_positive_int("kl_warmup_epochs", est.kl_warmup_epochs, minimum=0)
    for name in ("rtol", "atol", "step_size", "time_scale_days", "learning_rate"):
        _check_positive_float(name, getattr(est, name))
    # float32 weights: a decay beyond its range overflows inside the optimizer
    if not 0 <= _check_real("weight_decay", est.weight_decay) < float(np.finfo(np.float32).max):
        raise ValueError(
            f"weight_decay must be a finite number >= 0, got {est.weight_decay!r}; the "
            "default is 1e-5."
        )
    if not 0 <= _check_real("validation_fraction", est.validation_fraction) < 0.5:
        raise ValueError(
            f"validation_fraction must be in [0, 0.5), got {est.validation_fraction!r}; "
            "0 disables early stopping and calibration, the default is 0.1."
        )
    if est.patience is not None:
        _check_positive_int("patience", est.patience)
    if est.num_threads is not None:
        limit = thread_limit()
        if _check_positive_int("num_threads", est.num_threads) > limit:
            raise ValueError(
                f"num_threads must be at most {limit} ({_MAX_THREADS_PER_CORE} per CPU core of "
                f"this machine), got {est.num_threads!r}; pass e.g. num_threads=1 or None "
                "(torch's default)."
            )
    check_solver(est.solver)
    check_sensitivity(est.sensitivity)
    for name in ("iwae", "progress", "calibrate"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {getattr(est, name)!r}.")
    state = est.random_state
    if state is not None and (
        isinstance(state, (bool, np.bool_)) or not isinstance(state, numbers.Integral)
    ):
        raise TypeError(
            f"random_state must be None or an int in [0, 2**32), got {state!r} of type "
            f"{type(state).__name__}; pass e.g. random_state=0 (a numpy Generator is not "
            "supported: the seed is saved)."
        )
    if state is not None and not 0 <= state < 2**32:
        raise ValueError(
            f"random_state must be None or an int in [0, 2**32), got {state!r}; pass e.g. "
            "random_state=0."
        )
    check_scaler(est.scaler)
    check_device(est.device)


def check_forecast_samples(n_predict_samples: Any) -> int:
    """``n_predict_samples`` for fit and quantile forecasts: one path has no spread (a
    zero-width interval, and a calibration fit dividing by 0 at every step); a save with 1
    still loads (``check_params`` takes >= 1), to be set higher before forecasting."""
    return _check_positive_int("n_predict_samples", n_predict_samples, minimum=2)


def check_trainable(est: Any) -> None:
    """ValueError for parameters that can be saved and loaded but not trained (``fit`` only);
    a UserWarning for an adaptive solver's ``rtol`` below float32's precision."""
    if est.solver == "scipy_solver" and est.sensitivity == "autograd":
        raise ValueError(
            "solver='scipy_solver' solves in numpy, so sensitivity='autograd' cannot train "
            "through it (the latent dynamics would keep their initial weights); pass "
            "sensitivity='adjoint' with it, or another solver."
        )
    check_forecast_samples(est.n_predict_samples)
    eps = float(np.finfo(np.float32).eps)
    if est.solver not in FIXED_STEP_SOLVERS and est.rtol < eps:
        warnings.warn(
            f"rtol={est.rtol!r} is below the precision of the float32 network ({eps:.2g}): "
            f"the {est.solver!r} solver shrinks its steps towards what it cannot reach (with "
            "rtol=1e-12, ~25,000 evaluations and 15 s per training step, against ~46 and "
            "0.1 s at 1e-6). Use rtol >= 1e-6 (default 1e-3).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def forecast_solver_error(error: SolverError, est: Any, *, training: bool = False) -> SolverError:
    """The :class:`SolverError` a forecaster raises when its network's solve fails, in
    training (``training=True``) or when forecasting with the fitted network.

    ``NeuralODE``'s advice names its own arguments (``options``, ...); a forecaster's user can
    only refit with other constructor parameters, which this message names instead.
    """
    cause = error.__cause__ or error
    value = getattr(est, "_fitted_param", lambda name: getattr(est, name))  # fit-time values
    solver = value("solver")
    step = f", step_size={value('step_size')!r}" if solver in FIXED_STEP_SOLVERS else ""
    where = "in fit" if training else "while forecasting with the fitted network"
    note = (
        ""
        if training
        else ("Parameters changed with set_params after fit do not reach the fitted network: ")
    )
    return SolverError(
        f"The ODE solver failed {where} (solver={solver!r}, rtol={value('rtol')!r}, "
        f"atol={value('atol')!r}{step}): {type(cause).__name__}: {cause}. {note}refit with a "
        "fixed-step solver (solver='midpoint', the default, or 'rk4') and a smaller step_size, "
        "or with looser rtol/atol for an adaptive solver. If it persists, the dynamics are "
        "unstable: refit with a smaller learning_rate, more weight_decay, or n_init=3 "
        "(restarts; a failed one is skipped)."
    )


# More observations than this per model time unit (time_scale_days) and the default network
# cannot grow its noise and dynamics fast enough: intervals come out too narrow.
_MAX_STEPS_PER_TIME_UNIT = 300
# The daily default (30 days, step 0.5) takes one solver step per 15 observed spacings.
_MAX_SOLVER_STEPS_PER_SPACING = 1000


def _check_solver_steps(est: Any, spacing_days: float) -> None:
    """ValueError when one observed spacing needs over ``_MAX_SOLVER_STEPS_PER_SPACING`` steps.

    A tiny ``time_scale_days`` (or ``step_size``) makes every gap between observations many
    model time units: the fit would run for hours or exhaust memory instead of failing.
    """
    units = spacing_days / float(est.time_scale_days)
    fixed = est.solver in FIXED_STEP_SOLVERS
    steps = units / float(est.step_size) if fixed else units
    if steps > _MAX_SOLVER_STEPS_PER_SPACING:
        given = f"time_scale_days={est.time_scale_days!r}" + (
            f" and step_size={est.step_size!r}" if fixed else ""
        )
        what = "solver steps" if fixed else "model time units (adaptive solver)"
        raise ValueError(
            f"{given} make about {steps:,.0f} {what} between two observations (the data's "
            f"typical spacing is {spacing_days:g} days); at most "
            f"{_MAX_SOLVER_STEPS_PER_SPACING:,} are allowed, as the fit would take hours or run "
            "out of memory. Pass a time scale of about 30 spacings, "
            f"time_scale_days={30 * spacing_days:.3g}"
            + (", and a step_size near the default 0.5." if fixed else ".")
        )


def _spacing_days(index: Any) -> float | None:
    """The median positive spacing of ``index`` in days (None without two distinct times)."""
    deltas = index[1:] - index[:-1]
    deltas = deltas[deltas > pd.Timedelta(0)]
    return deltas.median() / pd.Timedelta(days=1) if len(deltas) else None


def check_solver_steps(est: Any, index: Any) -> None:
    """The ``ValueError`` of :func:`check_time_scale` alone (for a loaded model's history)."""
    spacing_days = _spacing_days(index)
    if spacing_days is not None:
        _check_solver_steps(est, spacing_days)


def check_time_scale(est: Any, index: Any) -> None:
    """Warn when ``time_scale_days`` spans hundreds of the observed spacing (intraday data);
    raise ``ValueError`` when it is so small that the solver needs thousands of steps per gap.

    On minute bars the default 30 days is 43,200 steps per model time unit; measured on
    synthetic GBM bars the 80% intervals were 25-50% too narrow, and about 30 observed spacings
    per unit restored them. The warning points at the user's line (``user_stacklevel``).
    """
    spacing_days = _spacing_days(index)
    if spacing_days is None:
        return
    _check_solver_steps(est, spacing_days)
    steps = float(est.time_scale_days) / spacing_days
    if steps > _MAX_STEPS_PER_TIME_UNIT:
        warnings.warn(
            f"time_scale_days={est.time_scale_days!r} spans {steps:,.0f} observed spacings "
            f"({spacing_days * 86400:g} s each): the model's noise and dynamics grow too slowly "
            "per step and the forecast intervals come out too narrow (25-50% on intraday "
            f"test data). Pass about 30 spacings, time_scale_days={30 * spacing_days:.3g}.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


# On scaled prices a trained model's loss (negative ELBO per point) is of order 1 (-1 to 5 on
# the shipped samples, whatever the scaler); beyond this the fit failed (learning_rate=1 gave
# validation losses of 1e3 to 1e8, intraday data with a daily time scale 5e3).
_FAILED_LOSS = 100.0


def warn_if_diverged(
    est: Any,
    history: dict[str, list[float]],
    *,
    failed_loss: float = _FAILED_LOSS,
    typical: str = "-1 to 5",
    final: bool = False,
    kept_losses: Sequence[float] = (),
) -> None:
    """RuntimeWarning when the kept weights' loss is far above what a fit reaches.

    ``kept_losses``: the restarts' losses on fixed batches (``best_of_restarts``; NaN when
    unscored); the kept weights are the lowest's, so that is the loss checked. Without any,
    the best (lowest) finite validation loss, or training loss without validation data: one
    noisy epoch of a healthy fit does not trigger it; with ``final``, the last epoch's (a
    model that keeps its last weights). Defaults: the Latent ODE's ELBO loss;
    ``GRUForecaster``'s one-step likelihood passes its own.
    """
    val = [x for x in history.get("val_loss", []) if np.isfinite(x)]
    losses = val or [x for x in history.get("loss", []) if np.isfinite(x)]
    loss = (losses[-1] if final else min(losses)) if losses else -np.inf
    which = ("final " if final else "best ") + ("validation" if val else "training")
    scored = [float(x) for x in kept_losses if not np.isnan(x)]
    if scored:  # the weights kept may not be the best epoch's (e.g. the last of a KL warm-up)
        loss, which = min(scored), "kept model's " + ("validation" if val else "scoring")
    if loss > failed_loss:
        warnings.warn(
            f"training failed to fit: the {which} loss is {loss:.3g} (a fit on "
            f"scaled daily prices reaches about {typical}), so the forecasts are unreliable. "
            "Usual causes: a learning_rate too large for the data (now "
            f"{est.learning_rate!r}, default {_default(est, 'learning_rate')!r}), or a "
            f"time_scale_days (now "
            f"{est.time_scale_days!r}) far from about 30 observed spacings. history_ holds the "
            "losses per epoch.",
            RuntimeWarning,
            stacklevel=user_stacklevel(),  # the user's line, also inside backtest/ensembles
        )


def _default(est: Any, name: str) -> Any:
    """The default of ``est``'s constructor parameter ``name``."""
    return inspect.signature(type(est)).parameters[name].default


def thread_limit() -> int:
    """The largest ``num_threads`` on this machine (4 per CPU core: a huge value crashed torch)."""
    return _MAX_THREADS_PER_CORE * (os.cpu_count() or 1)


def usable_threads(params: dict[str, Any], path: Any, *, stacklevel: int = 4) -> dict[str, Any]:
    """``params`` with a saved ``num_threads`` above this machine's limit (a save from a
    machine with more cores) capped to the limit, with a warning at ``stacklevel``; the
    thread count changes speed, not forecasts."""
    threads, limit = params.get("num_threads"), thread_limit()
    if not _is_int(threads) or threads <= limit:
        return params  # absent, within the limit, or a wrong type the parameter check names
    warnings.warn(
        f"{path} was saved with num_threads={threads}, more than this machine allows "
        f"({limit}, {_MAX_THREADS_PER_CORE} per CPU core); it is loaded with "
        f"num_threads={limit} (same forecasts). Change it with set_params(num_threads=...).",
        RuntimeWarning,
        stacklevel=stacklevel,
    )
    return {**params, "num_threads": limit}


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``n_threads`` torch intra-op threads, then restore the setting."""
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
