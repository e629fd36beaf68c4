"""Training loop for the Latent ODE: ELBO, KL annealing, early stopping, NaN recovery, progress bar.

Torch only (no pandas). The forecaster hands it two callables that draw batches, so this module
knows nothing about prices or calendars.
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from tsnode._warnings import user_stacklevel
from tsnode.nn.latent_ode import LatentODE
from tsnode.nn.ode import NonFiniteStateError, SolverError

__all__ = [
    "Batch",
    "TrainingConfig",
    "TrainingError",
    "best_of_restarts",
    "cuda_devices",
    "kl_weight_at",
    "train_latent_ode",
    "validation_loss",
]


class TrainingError(RuntimeError):
    """Training could not continue: the loss became NaN/inf (TSNodeForecaster: even after
    recovery attempts; GRUForecaster: at once)."""


@dataclass
class Batch:
    """One batch of windows in the Latent ODE's layout.

    times : (B, C) encoder observation times (rows padded by repeating the last time).
    values, mask : (B, C, D) encoder values and observation mask.
    t_query : (Q,) increasing union of target times.
    target_values, target_mask : (B, Q, D) targets on the ``t_query`` grid.
    """

    times: torch.Tensor
    values: torch.Tensor
    mask: torch.Tensor
    t_query: torch.Tensor
    target_values: torch.Tensor
    target_mask: torch.Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(getattr(self, name).to(device) for name in self.__dataclass_fields__))


@dataclass
class TrainingConfig:
    """Settings of :func:`train_latent_ode` (see ``TSNodeForecaster`` for their meaning)."""

    epochs: int = 30
    steps_per_epoch: int = 20
    learning_rate: float = 3e-3
    weight_decay: float = 1e-5
    n_samples: int = 3
    iwae: bool = False
    kl_warmup_epochs: int = 5
    patience: int | None = 8
    grad_clip: float = 5.0
    max_nan_retries: int = 3
    progress: bool = True
    device: str = "cpu"
    description: str = "tsnode fit"
    history: dict[str, list[float]] = field(default_factory=dict)


def kl_weight_at(epoch: int, warmup_epochs: int) -> float:
    """Linear KL annealing: 0 at epoch 0, 1 from ``warmup_epochs`` on."""
    if warmup_epochs <= 0:
        return 1.0
    return min(1.0, epoch / warmup_epochs)


def _elbo(
    model: LatentODE,
    batch: Batch,
    config: TrainingConfig,
    kl_weight: float,
    generator: torch.Generator | None = None,
):
    return model.elbo(
        batch.times,
        batch.values,
        batch.mask,
        batch.t_query,
        batch.target_values,
        batch.target_mask,
        n_samples=config.n_samples,
        kl_weight=kl_weight,
        iwae=config.iwae,
        t0=0.0,
        generator=generator,
    )


def validation_loss(model: LatentODE, batches: list[Batch], config: TrainingConfig) -> float:
    """Mean negative ELBO (KL weight 1) of ``model`` over fixed ``batches``, in eval mode.

    The ``z0`` noise is drawn from a fixed seed, so two calls on the same weights, or on two
    models, compare like with like; torch's global generators (CPU and the model's GPU) are
    left as they were.

    Parameters
    ----------
    model : LatentODE
    batches : list of Batch
        Non-empty; moved to ``config.device``.
    config : TrainingConfig
        Supplies ``n_samples``, ``iwae`` and ``device``.

    Returns
    -------
    float
        Loss per observed target value, averaged over the batches (lower is better).
    """
    if not batches:
        raise ValueError("batches must hold at least one Batch, got an empty list.")
    device = torch.device(config.device)
    model.eval()
    # same z0 noise every call (comparable losses), from a generator of its own: torch's
    # global ones, and other threads' training noise, are left alone
    generator = torch.Generator(device=device).manual_seed(12345)
    with torch.no_grad():
        total = sum(_elbo(model, b.to(device), config, 1.0, generator).loss.item() for b in batches)
    return total / len(batches)


def _recover(
    model: LatentODE,
    optimizer: torch.optim.Optimizer,
    good_state: dict[str, Any],
    trouble: str,
    epoch: int,
    retries: int,
    config: TrainingConfig,
) -> int:
    """Restore the last good weights and halve the learning rate (``RuntimeWarning``); returns
    the new retry count, or raises :class:`TrainingError` past ``config.max_nan_retries``."""
    retries += 1
    if retries > config.max_nan_retries:
        raise TrainingError(
            f"{trouble} at epoch {epoch} and training stayed non-finite after "
            f"{config.max_nan_retries} recoveries (each restored the last good weights and "
            "halved the learning rate). Try a smaller learning_rate or weight_decay, a "
            "fixed-step solver (solver='rk4'), restarts (n_init=3: a diverging restart is "
            "skipped), or check the data for extreme values."
        )
    warnings.warn(
        f"{trouble} at epoch {epoch}; restoring the last good weights and halving the "
        f"learning rate (recovery {retries}/{config.max_nan_retries}).",
        RuntimeWarning,
        stacklevel=user_stacklevel(),  # fit's caller
    )
    model.load_state_dict(good_state)
    for group in optimizer.param_groups:
        group["lr"] *= 0.5
    optimizer.state.clear()
    return retries


def _finite_weights(model: torch.nn.Module) -> bool:
    """Whether every parameter of ``model`` is finite (one device sync)."""
    flags = [torch.isfinite(p).all() for p in model.parameters()]
    return bool(torch.stack(flags).all()) if flags else True


def cuda_devices(device: torch.device | str) -> list[int]:
    """The CUDA device indices whose generators ``torch.random.fork_rng`` must fork for work
    on ``device`` (empty for the CPU)."""
    device = torch.device(device)
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


_SEED_LOCK = threading.RLock()  # re-entrant: a load inside a seeded block (a warm start)


@contextlib.contextmanager
def seeded_torch(seed: int, device: torch.device | str) -> Iterator[None]:
    """Seed torch's CPU generator (and ``device``'s, for a GPU) for the block and restore
    them after, one thread at a time: fits in threads (a threading backend, Dask workers)
    neither reseed nor consume each other's streams, and the caller's generators, CUDA's
    included for a CPU fit, are left as they were. Keep the block short (model building);
    draw training noise from :func:`continued_generator`.
    """
    devices = cuda_devices(device)
    with _SEED_LOCK, torch.random.fork_rng(devices=devices):
        torch.default_generator.manual_seed(seed)
        for index in devices:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield


def continued_generator(seed: int, device: torch.device | str) -> torch.Generator:
    """A private generator on ``device`` that continues, inside :func:`seeded_torch`, the
    stream the block has drawn from (the CPU's; a GPU's is still at ``seed``)."""
    device = torch.device(device)
    if device.type == "cpu":
        generator = torch.Generator()
        generator.set_state(torch.get_rng_state())
        return generator
    return torch.Generator(device=device).manual_seed(seed)


def train_latent_ode(
    model: LatentODE,
    draw_batch: Callable[[], Batch],
    validation_batches: list[Batch],
    config: TrainingConfig,
    *,
    generator: torch.Generator | None = None,
) -> dict[str, list[float]]:
    """Maximise the ELBO of ``model`` with Adam; returns the training history.

    Parameters
    ----------
    model : LatentODE
        Trained in place; on return it holds the weights with the best validation loss (or the
        last weights when there is no validation data).
    draw_batch : callable
        Returns a fresh random training :class:`Batch` each call.
    validation_batches : list of Batch
        Fixed held-back batches for early stopping (may be empty).
    config : TrainingConfig
    generator : torch.Generator, optional
        Source of the training ``z0`` noise, on ``config.device`` (default torch's global
        one); see :func:`seeded_torch` and :func:`continued_generator`.

    Returns
    -------
    dict
        ``{"loss": [...], "val_loss": [...], "kl_weight": [...], "nfe": [...], "lr": [...]}``, one
        entry per epoch.

    Raises
    ------
    TrainingError
        When the loss is NaN/inf after ``max_nan_retries`` recoveries (each restores the last good
        weights and halves the learning rate).
    """
    device = torch.device(config.device)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    history: dict[str, list[float]] = {
        "loss": [],
        "val_loss": [],
        "kl_weight": [],
        "nfe": [],
        "lr": [],
    }
    best_state = copy.deepcopy(model.state_dict())
    good_state = best_state
    best_val = math.inf
    bad_epochs = 0
    nan_retries = 0
    validation_batches = [b.to(device) for b in validation_batches]
    bar = tqdm(
        range(config.epochs), desc=config.description, disable=not config.progress, leave=False
    )
    for epoch in bar:
        beta = kl_weight_at(epoch, config.kl_warmup_epochs)
        model.train()
        losses, nfes = [], []
        step = 0
        while step < config.steps_per_epoch:
            batch = draw_batch().to(device)
            try:
                result, trouble = _elbo(model, batch, config, beta, generator), None
            except NonFiniteStateError:  # adaptive solvers refuse what fixed-step ones pass on
                result, trouble = None, "The latent state became non-finite (NaN or inf)"
            if result is not None and not torch.isfinite(result.loss):
                trouble = f"The training loss became {result.loss.item()}"
            elif result is not None:
                optimizer.zero_grad(set_to_none=True)
                result.loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                if not _finite_weights(model):  # e.g. a huge learning rate or weight decay
                    trouble = "The weights became non-finite after an optimizer step"
            if trouble is not None:
                nan_retries = _recover(
                    model, optimizer, good_state, trouble, epoch, nan_retries, config
                )
                continue
            losses.append(result.loss.item())
            nfes.append(model.nfe_forward + model.nfe_backward)
            step += 1
        val_loss = math.nan
        if validation_batches:
            try:
                val_loss = validation_loss(model, validation_batches, config)
            except NonFiniteStateError:
                val_loss = math.nan
            if not math.isfinite(val_loss):  # finite weights that still overflow
                trouble = f"The validation loss became {val_loss}"
                nan_retries = _recover(
                    model, optimizer, good_state, trouble, epoch, nan_retries, config
                )
        good_state = copy.deepcopy(model.state_dict())
        train_loss = sum(losses) / len(losses)
        history["loss"].append(train_loss)
        history["val_loss"].append(val_loss)
        history["kl_weight"].append(beta)
        history["nfe"].append(sum(nfes) / len(nfes))
        history["lr"].append(optimizer.param_groups[0]["lr"])
        bar.set_postfix(loss=f"{train_loss:.3f}", val=f"{val_loss:.3f}")
        if not validation_batches:
            best_state = good_state
            continue
        # Only compare once the KL weight has reached 1: earlier bounds are not comparable.
        if beta < 1.0:
            best_state = good_state
            continue
        if val_loss < best_val - 1e-4:
            best_val = val_loss
            best_state = good_state
            bad_epochs = 0
        else:  # patience=None keeps the best weights but never stops early
            bad_epochs += 1
            if config.patience is not None and bad_epochs >= config.patience:
                break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return history


def best_of_restarts(
    train_restart: Callable[[int], tuple[LatentODE, dict[str, list[float]]]],
    *,
    n_init: int,
    scoring_batches: list[Batch],
    config: TrainingConfig,
) -> tuple[LatentODE, dict[str, list[float]], list[float]]:
    """Train ``n_init`` restarts and keep the one with the lowest :func:`validation_loss`.

    Parameters
    ----------
    train_restart : callable
        ``train_restart(r)`` trains restart ``r`` from its own initialisation and returns
        ``(model, history)``.
    n_init : int
        Number of restarts; with 1 the model is returned without ranking (its loss is still
        computed when ``scoring_batches`` is non-empty).
    scoring_batches : list of Batch
        Fixed batches the restarts are ranked on (may be empty for ``n_init=1``).
    config : TrainingConfig
        Its ``description`` is set to ``"<description> r/n"`` for each restart's progress bar.

    Returns
    -------
    model, history
        Of the kept restart.
    losses : list of float, length ``n_init``
        Each restart's loss; NaN for a failed restart or when nothing was scored.

    Raises
    ------
    TrainingError, SolverError
        A single fit's error, or the last restart's when every restart failed. With several
        restarts a failed one is skipped with a ``RuntimeWarning``.
    """
    base = config.description
    kept: tuple[float, LatentODE, dict[str, list[float]]] | None = None
    losses: list[float] = []
    error: Exception | None = None
    for restart in range(n_init):
        if n_init > 1:
            config.description = f"{base} {restart + 1}/{n_init}"
        try:
            model, history = train_restart(restart)
        except (TrainingError, SolverError) as failure:
            if n_init == 1:
                raise
            error = failure
            losses.append(math.nan)
            warnings.warn(
                f"Restart {restart + 1} of n_init={n_init} failed and is skipped: {failure}",
                RuntimeWarning,
                stacklevel=user_stacklevel(),  # fit's caller
            )
            continue
        finally:
            config.description = base
        loss = validation_loss(model, scoring_batches, config) if scoring_batches else math.nan
        losses.append(loss)
        rank = math.inf if math.isnan(loss) else loss  # a NaN loss never beats a finite one
        if kept is None or rank < kept[0]:
            kept = (rank, model, history)
    if kept is None:
        raise error  # type: ignore[misc]  # every restart failed
    return kept[1], kept[2], losses
