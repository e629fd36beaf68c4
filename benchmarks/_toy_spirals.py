"""Section 2 of ``bench_toy.py``: latent spirals (Chen et al. 2018), their models, losses,
predictions and one benchmark run (see ``bench_toy``'s docstring)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from _toy_training import KL_RAMP, VALIDATION_SEED_OFFSET, train_best_of, validation_loss
from torch import nn

from tsnode.nn.gru import GapGRU
from tsnode.nn.latent_ode import LatentODE

PAPER_SPIRAL = {
    "latent_ode": {30: 0.1642, 50: 0.1502, 100: 0.1346},
    "rnn": {30: 0.3937, 50: 0.3202, 100: 0.1813},
}
SPIRAL_STEP = 0.05
SPIRAL_MODELS = ("latent_ode", "gru")


def spiral_budget(base: float, n_obs: int) -> float:
    """CPU seconds per spiral model and run: ``base`` at 30 observed points, growing with the
    number of observed points (``base * (70 + n_obs) / 100``: 72 s at 50, 102 s at 100 for
    ``base`` 60). Every encoder step scans the observed points, so with a flat budget the
    100/100 Latent ODE got about half the optimiser steps of the 30/100 one and ended
    undertrained (RMSE 0.152, worse than at 30/100). Both models of a run get the same budget.
    """
    return base * (70 + n_obs) / 100


def make_spirals(
    n_spirals: int, *, n_obs: int, rng: np.random.Generator, n_total: int = 1000
) -> dict[str, torch.Tensor]:
    """Chen et al.'s spirals: 200-point windows, ``n_obs`` of the first 100 points observed.

    Returns ``times (200,)``, ``obs_times (N, n_obs)``, ``obs_values (N, n_obs, 2)``,
    ``obs_index (N, n_obs)`` (positions on the 100-point grid), ``noisy (N, 200, 2)`` and
    ``truth (N, 200, 2)``.
    """
    n_window, n_ctx = 200, 100
    orig_ts = np.linspace(0.0, 6.0 * np.pi, num=n_total)
    a, b, stop = 0.0, 0.3, 6.0 * np.pi
    zs_cw = stop + 1.0 - orig_ts
    r_cw = a + b * 50.0 / zs_cw
    cw = np.stack([r_cw * np.cos(zs_cw) - 5.0, r_cw * np.sin(zs_cw)], axis=1)
    r_cc = a + b * orig_ts
    cc = np.stack([r_cc * np.cos(orig_ts) + 5.0, r_cc * np.sin(orig_ts)], axis=1)
    # Start after the first 100 points (as the example) and leave room for the 200-point window.
    starts = rng.integers(n_ctx, n_total - n_window + 1, size=n_spirals)
    clockwise = rng.random(n_spirals) > 0.5
    truth = np.stack(
        [(cw if c else cc)[s : s + n_window] for s, c in zip(starts, clockwise, strict=True)]
    )
    noisy = truth + 0.1 * rng.standard_normal(truth.shape)
    keys = rng.random((n_spirals, n_ctx))
    obs_index = np.sort(np.argsort(keys, axis=1)[:, :n_obs], axis=1)
    times = orig_ts[:n_window]
    f = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    return {
        "times": f(times),
        "obs_times": f(times[obs_index]),
        "obs_values": f(np.take_along_axis(noisy, obs_index[..., None], axis=1)),
        "obs_index": torch.as_tensor(obs_index),
        "noisy": f(noisy),
        "truth": f(truth),
    }


def spiral_model(name: str, quick: bool) -> nn.Module:
    if name == "latent_ode":
        return LatentODE(
            2,
            latent_dim=8,
            hidden_dim=25,
            ode_units=32,
            ode_layers=1,
            encoder_units=32,
            readout_units=32,
            solver="euler",
            options={"step_size": SPIRAL_STEP},
            obs_std=0.1,
        )
    return GapGRU(2, hidden_size=25)


def spiral_loss(name: str, model: nn.Module, data: dict[str, torch.Tensor]) -> Callable:
    """Training on whole windows: the observed points of the first 100 and the next 100 points.

    The Latent ODE encodes the observed points and reconstructs them *and* the training window's
    100 future (noisy) points; the GRU's one-step NLL runs over the same sequence (observed
    points, then the 100 future points). Test windows' futures are never seen.
    """
    grid = data["times"]
    n = data["obs_values"].shape[0]
    target = torch.zeros(n, 200, 2)
    target_mask = torch.zeros(n, 200, 2)
    rows = torch.arange(n)[:, None]
    target[rows, data["obs_index"]] = data["obs_values"]
    target_mask[rows, data["obs_index"]] = 1.0
    target[:, 100:] = data["future"]
    target_mask[:, 100:] = 1.0
    seq_t = torch.cat([data["obs_times"], grid[100:].expand(n, -1)], dim=1)
    seq_v = torch.cat([data["obs_values"], data["future"]], dim=1)

    def loss(idx: torch.Tensor, step: int, progress: float) -> torch.Tensor:
        if name == "gru":
            return model.loss(seq_t[idx], seq_v[idx], torch.ones_like(seq_v[idx]))
        t, v = data["obs_times"][idx], data["obs_values"][idx]
        kl_weight = min(1.0, progress / KL_RAMP)
        return model.elbo(
            t,
            v,
            torch.ones_like(v),
            grid,
            target[idx],
            target_mask[idx],
            n_samples=1,
            kl_weight=kl_weight,
            t0=0.0,
        ).loss

    return loss


@torch.no_grad()
def spiral_predict(
    name: str, model: nn.Module, data: dict[str, torch.Tensor], generator: torch.Generator
) -> torch.Tensor:
    """Predicted means at the 100 future points, ``(N, 100, 2)``."""
    model.eval()
    t, v = data["obs_times"], data["obs_values"]
    future = data["times"][100:]
    if name == "latent_ode":
        out = model(t, v, torch.ones_like(v), future, n_samples=16, t0=0.0, generator=generator)
        return out.pred_mean.mean(0)
    paths = model.rollout(
        t, v, torch.ones_like(v), future.expand(v.shape[0], -1), 32, generator=generator
    )
    return paths.mean(0)


def run_spiral(args: argparse.Namespace, n_obs: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    data = make_spirals(args.n_spirals + args.n_spirals_test, n_obs=n_obs, rng=rng)
    cut = args.n_spirals
    # Standardise with the training observations' per-coordinate mean and std (the same for
    # both models); RMSE is computed back in the original units.
    loc = data["obs_values"][:cut].mean(dim=(0, 1))
    scale = data["obs_values"][:cut].std(dim=(0, 1))
    scaled = dict(
        data,
        obs_values=(data["obs_values"] - loc) / scale,
        future=(data["noisy"][:, 100:] - loc) / scale,
    )
    train = {k: v if k == "times" else v[:cut] for k, v in scaled.items()}
    val_rng = np.random.default_rng(seed + VALIDATION_SEED_OFFSET)
    val = make_spirals(args.n_spirals_val, n_obs=n_obs, rng=val_rng)
    val = dict(
        val,
        obs_values=(val["obs_values"] - loc) / scale,
        future=(val["noisy"][:, 100:] - loc) / scale,
    )
    test = {k: v if k == "times" else v[cut:] for k, v in data.items()}
    test_in = {k: v if k == "times" else v[cut:] for k, v in scaled.items()}
    results: dict[str, Any] = {}
    for name in SPIRAL_MODELS:
        model, info, g = train_best_of(
            lambda name=name: spiral_model(name, args.quick),
            lambda model, name=name: spiral_loss(name, model, train),
            lambda model, name=name: validation_loss(
                spiral_loss(name, model, val), model, args.n_spirals_val
            ),
            restarts=args.restarts,
            seed=seed,
            n_train=cut,
            batch_size=args.batch_size,
            budget_s=spiral_budget(args.spiral_budget, n_obs),
            lr=args.lr,
        )
        pred = spiral_predict(name, model, test_in, g) * scale + loc
        info["rmse"] = float(((pred - test["noisy"][:, 100:]) ** 2).mean().sqrt())
        info["rmse_truth"] = float(((pred - test["truth"][:, 100:]) ** 2).mean().sqrt())
        results[name] = info
        print(
            f"spiral n_obs={n_obs} seed={seed} {name:>10s}: rmse {info['rmse']:.4f} "
            f"(vs truth {info['rmse_truth']:.4f}, {info['steps']} steps, "
            f"restart {info['kept_restart']} kept at {info['best_at']:.2f})",
            flush=True,
        )
    return results
