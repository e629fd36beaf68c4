"""Test-time refinement of a Latent ODE's initial state (semi-amortised inference).

The amortised encoder ``q(z0 | x)`` of a :class:`~tsnode.nn.LatentODE` is one network for all
series; on very sparse series it can miss the observations it was given by a wide margin (the
*amortisation gap*, Cremer et al. 2018). :func:`refine_z0` closes it per series, as in
semi-amortised VAEs (Kim et al. 2018): starting from draws around the encoder's posterior, a
few Adam steps on each ``z0`` minimise the negative log joint density of the observed values::

    U(z0) = -log p(x_obs | z0) - log N(z0; 0, I)

Several restarts per series explore different modes (with two or three observations of a
sinusoid, several frequencies fit). Each restart gets a weight ``softmax(-U / temperature)``
over the restarts: ``temperature = 1`` keeps the best fit (the MAP estimate), a large one
averages the restarts equally; in between, restarts that fit the data much worse are dropped
while comparable fits share the weight, so averaged forecasts hedge between plausible modes.

The model's weights are not changed (only the ``z0`` tensors are optimised).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from tsnode.nn.latent_ode import LatentODE, _own_targets

__all__ = ["RefinedZ0", "refine_z0"]


class RefinedZ0(NamedTuple):
    """Result of :func:`refine_z0`.

    z0 : (n_restarts, B, latent_dim) refined initial states.
    weights : (n_restarts, B) restart weights, summing to 1 over restarts for every series.
    energy : (n_restarts, B) final ``U(z0)`` of every restart (lower fits better).
    """

    z0: torch.Tensor
    weights: torch.Tensor
    energy: torch.Tensor


def _check_positive(name: str, value: object, kind: type) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive {kind.__name__}, got {value!r}.")
    if kind is int and int(value) != value:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")


def refine_z0(
    model: LatentODE,
    times: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    *,
    t0: float | torch.Tensor | None = None,
    n_restarts: int = 16,
    n_steps: int = 100,
    lr: float = 0.05,
    init_spread: float = 0.5,
    temperature: float = 100.0,
    generator: torch.Generator | None = None,
) -> RefinedZ0:
    """Refine ``z0`` for every series by gradient steps on its log joint density.

    Parameters
    ----------
    model : LatentODE
        A trained model; its parameters are left untouched (and their ``requires_grad`` flags
        restored).
    times : Tensor, shape (T,)
        Increasing union grid of the observation times.
    values, mask : Tensor, shape (B, T, D)
        Observations and their mask (1 observed, 0 missing), as for :meth:`LatentODE.encode`.
    t0 : float or scalar Tensor, optional
        Reference time of ``z0``; default ``times.min()``.
    n_restarts : int, default 16
        Starting points per series, ``mean + (std + init_spread) * eps`` with ``eps ~ N(0, I)``
        and ``(mean, std)`` the encoder's posterior.
    n_steps : int, default 100
        Adam steps (every restart and series moves independently).
    lr : float, default 0.05
        Adam learning rate, in latent units.
    init_spread : float, default 0.5
        Extra spread of the starting points around the encoder's mean.
    temperature : float, default 100.0
        Temperature of the restart weights (see the module docstring).
    generator : torch.Generator, optional
        For reproducible starting points.

    Returns
    -------
    RefinedZ0
        Decode with ``model.decode(result.z0, t_query, t0)`` and average over restarts with
        ``result.weights``.
    """
    if not isinstance(model, LatentODE):
        raise TypeError(f"model must be a LatentODE, got {type(model).__name__}.")
    _check_positive("n_restarts", n_restarts, int)
    _check_positive("n_steps", n_steps, int)
    _check_positive("lr", lr, float)
    _check_positive("temperature", temperature, float)
    if (
        isinstance(init_spread, bool)
        or not isinstance(init_spread, (int, float))
        or not (init_spread >= 0 and math.isfinite(init_spread))
    ):
        raise ValueError(f"init_spread must be a non-negative float, got {init_spread!r}.")
    if times.dim() != 1:
        raise ValueError(f"times must be the 1-D union grid (T,), got {tuple(times.shape)}.")
    t0 = times.min() if t0 is None else torch.as_tensor(t0, dtype=times.dtype)
    mask = mask.to(values.dtype)
    index, targets, target_mask = _own_targets(values, mask)
    targets = torch.where(target_mask > 0, targets, torch.zeros_like(targets))

    flags = [p.requires_grad for p in model.parameters()]
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            mean, std = model.encode(times, values, mask, t0=t0)
            eps = torch.randn(
                (int(n_restarts), *mean.shape),
                dtype=mean.dtype,
                device=mean.device,
                generator=generator,
            )
        z0 = (mean + (std + float(init_spread)) * eps).detach().requires_grad_(True)

        def energy(z: torch.Tensor) -> torch.Tensor:
            pred_mean, pred_std = model.decode(z, times, t0, index=index)
            nll = 0.5 * ((targets - pred_mean) / pred_std) ** 2 + torch.log(pred_std)
            return (nll * target_mask).sum(dim=(-1, -2)) + 0.5 * (z**2).sum(-1)  # (S, B)

        optimiser = torch.optim.Adam([z0], lr=float(lr))
        with torch.enable_grad():
            for _ in range(int(n_steps)):
                optimiser.zero_grad()
                energy(z0).sum().backward()
                optimiser.step()
        with torch.no_grad():
            final = energy(z0)
    finally:
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)
    final = torch.nan_to_num(final, nan=float("inf"))
    weights = torch.softmax(-final / float(temperature), dim=0)
    # A series whose every restart diverged gets equal weights rather than NaN.
    weights = torch.where(torch.isfinite(final).any(dim=0), weights, 1.0 / int(n_restarts))
    return RefinedZ0(z0.detach(), weights, final)
