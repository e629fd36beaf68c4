"""Training protocol of the toy benchmarks (``bench_toy.py``, ``tune_toy.py``): a CPU-time
budget, validation checkpoints and restarts kept by validation loss."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

#: KL weight ramp of the Latent ODE losses: 0 to 1 over this share of the budget.
KL_RAMP = 0.25
#: Validation checks per training run (:func:`train_for`), spread from the end of the KL ramp.
VALIDATION_CHECKS = 20
#: Validation series are drawn like the training and test series, from seed + this offset
#: (no overlap with the benchmark's or ``tune_toy``'s seeds).
VALIDATION_SEED_OFFSET = 10_000
#: z0 noise of every validation pass (the same draw each check: comparable losses).
VALIDATION_NOISE_SEED = 12_345
#: Independent trainings per model and run (``--restarts``); restart ``r`` draws its weights and
#: batch order from seed ``seed + RESTART_SEED_STRIDE * r`` (restart 0: the seed itself).
RESTART_SEED_STRIDE = 1000


def train_for(
    loss_fn: Callable[[torch.Tensor, int, float], torch.Tensor],
    model: nn.Module,
    *,
    n_train: int,
    batch_size: int,
    budget_s: float,
    lr: float,
    generator: torch.Generator,
    validate: Callable[[], float] | None = None,
    n_checks: int = VALIDATION_CHECKS,
    check_from: float = KL_RAMP,
) -> dict[str, float]:
    """Adam on ``loss_fn(batch_idx, step, progress)`` until ``budget_s`` CPU seconds are spent.

    ``progress`` in [0, 1] is the share of the budget used; it drives the cosine learning-rate
    decay (``lr`` down to ``lr / 10``) and, in the Latent ODE losses, the KL annealing.

    With ``validate`` (no arguments, returns the loss on held-out validation series), the
    validation loss is measured ``n_checks`` times, evenly spaced from ``check_from`` (the end
    of the KL ramp: earlier bounds are not comparable) to the end of the budget, and once more
    at the end; the model keeps the weights with the lowest one, as ``tsnode.training`` does.
    The checks run inside the CPU budget.
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    start = time.process_time()
    wall = time.perf_counter()
    step, progress, losses = 0, 0.0, []
    order = torch.randperm(n_train, generator=generator)
    cursor = 0
    checks = [check_from + (1.0 - check_from) * i / n_checks for i in range(n_checks)]
    best: dict[str, Any] = {"val_loss": math.inf, "at": None, "state": None}

    def check() -> float:
        value = validate()
        if value < best["val_loss"]:
            best.update(val_loss=value, at=progress, state=copy.deepcopy(model.state_dict()))
        return value

    while progress < 1.0:
        if cursor + batch_size > n_train:
            order, cursor = torch.randperm(n_train, generator=generator), 0
        idx = order[cursor : cursor + batch_size]
        cursor += batch_size
        for group in optimiser.param_groups:
            group["lr"] = lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))
        loss = loss_fn(idx, step, progress)
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
        losses.append(float(loss.detach()))
        step += 1
        progress = min(1.0, (time.process_time() - start) / budget_s)
        if validate is not None and checks and progress >= checks[0]:
            check()
            checks = [c for c in checks if c > progress]
    tail = losses[-max(1, len(losses) // 10) :]
    info: dict[str, Any] = {
        "steps": step,
        "cpu_s": time.process_time() - start,
        "wall_s": time.perf_counter() - wall,
        "final_loss": float(np.mean(tail)),
        "n_params": sum(p.numel() for p in model.parameters()),
    }
    if validate is not None:
        info["val_loss_last"] = check()
        info["val_loss"] = best["val_loss"]
        info["best_at"] = best["at"]
        model.load_state_dict(best["state"])
    return info


def train_best_of(
    make_model: Callable[[], nn.Module],
    make_loss: Callable[[nn.Module], Callable[[torch.Tensor, int, float], torch.Tensor]],
    make_validate: Callable[[nn.Module], Callable[[], float]],
    *,
    restarts: int,
    seed: int,
    **train_kwargs: Any,
) -> tuple[nn.Module, dict[str, Any], torch.Generator]:
    """:func:`train_for` ``restarts`` times from independent weights and batch orders; keep the
    run with the lowest validation loss (its best checkpoint).

    Restart ``r`` seeds the global RNG and its batch-order generator with
    ``seed + RESTART_SEED_STRIDE * r``, so ``restarts=1`` is a single training from ``seed``.
    Each restart gets the whole ``budget_s``: a model's total CPU time is ``restarts`` budgets,
    the same for every model. Returns the kept model, its training info (plus
    ``restart_val_losses``, the best validation loss of every restart, and ``kept_restart``)
    and its generator, which carries on into prediction.
    """
    if restarts < 1:
        raise ValueError(f"restarts must be at least 1, got {restarts}")
    kept: tuple[nn.Module, dict[str, Any], torch.Generator] | None = None
    val_losses = []
    for r in range(restarts):
        init = seed + RESTART_SEED_STRIDE * r
        torch.manual_seed(init)
        model = make_model()
        generator = torch.Generator().manual_seed(init)
        info = train_for(
            make_loss(model),
            model,
            generator=generator,
            validate=make_validate(model),
            **train_kwargs,
        )
        val_losses.append(info["val_loss"])
        if kept is None or info["val_loss"] < kept[1]["val_loss"]:
            kept = (model, info | {"kept_restart": r}, generator)
    model, info, generator = kept
    return model, info | {"restart_val_losses": val_losses}, generator


def validation_loss(
    loss_fn: Callable[[torch.Tensor, int, float], torch.Tensor], model: nn.Module, n: int
) -> Callable[[], float]:
    """The ``validate`` callable of :func:`train_for`: ``loss_fn`` on all ``n`` validation
    series at full KL weight, averaged over an even and an odd step (the periodic losses
    alternate whole-window and first-half encoder masks), with the same noise every call.
    The global random state is restored afterwards, so validating does not shift training.
    """
    everything = torch.arange(n)

    @torch.no_grad()
    def validate() -> float:
        state = torch.get_rng_state()
        torch.manual_seed(VALIDATION_NOISE_SEED)
        try:
            return 0.5 * sum(float(loss_fn(everything, step, 1.0)) for step in (0, 1))
        finally:
            torch.set_rng_state(state)

    return validate
