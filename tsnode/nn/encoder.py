"""ODE-RNN encoder (Rubanova et al. 2019) run in reverse time over irregular observations.

Between two observations of a series the hidden state follows ``dh/dt = f(h)``, integrated with a
few inline fixed steps (vectorised: every series in the batch steps across its *own* gap at once);
at each observation a GRU cell takes ``[value * mask, mask]``. The final state, carried back to the
reference time ``t0``, is mapped to the mean and standard deviation of ``q(z0)``.

Each series only ever steps between its own observation times, so a batch gives the same result
as running every series alone, whatever union of time points the batch is laid out on.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ODERNNEncoder", "fixed_step"]

_FIXED_METHODS = ("euler", "midpoint", "rk4")


def fixed_step(
    field: nn.Module, h: torch.Tensor, dt: torch.Tensor, n_steps: int, method: str
) -> torch.Tensor:
    """Integrate the autonomous field ``dh/dt = field(h)`` over ``dt`` with ``n_steps`` steps.

    Parameters
    ----------
    field : nn.Module
        Maps a state of shape ``(batch, hidden)`` to its time derivative, same shape.
    h : Tensor, shape (batch, hidden)
        State at the start of the gap.
    dt : Tensor, shape (batch, 1)
        Signed length of each series' gap (negative in reverse time; zero leaves ``h`` unchanged).
    n_steps : int
        Number of equal steps per gap.
    method : {"euler", "midpoint", "rk4"}

    Returns
    -------
    Tensor, shape (batch, hidden)
    """
    step = dt / n_steps
    for _ in range(n_steps):
        if method == "euler":
            h = h + step * field(h)
        elif method == "midpoint":
            h = h + step * field(h + 0.5 * step * field(h))
        else:
            k1 = field(h)
            k2 = field(h + 0.5 * step * k1)
            k3 = field(h + 0.5 * step * k2)
            k4 = field(h + step * k3)
            h = h + step / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return h


class ODERNNEncoder(nn.Module):
    """Reverse-time ODE-RNN giving the approximate posterior ``q(z0)``.

    Parameters
    ----------
    input_dim : int
        Number of observed features ``D``.
    latent_dim : int
        Size of ``z0``.
    hidden_dim : int, default 32
        Size of the GRU hidden state.
    ode_units : int, default 64
        Width of the hidden layer of the hidden-state vector field.
    method : {"euler", "midpoint", "rk4"}, default "euler"
        Fixed-step method between observations.
    n_substeps : int, default 1
        Steps per gap between two observations.
    """

    def __init__(
        self,
        input_dim: int,
        latent_dim: int,
        *,
        hidden_dim: int = 32,
        ode_units: int = 64,
        method: str = "euler",
        n_substeps: int = 1,
    ) -> None:
        super().__init__()
        if method not in _FIXED_METHODS:
            raise ValueError(
                f"encoder method={method!r} is not supported; expected one of {_FIXED_METHODS}."
            )
        if int(n_substeps) < 1:
            raise ValueError(f"n_substeps must be a positive int, got {n_substeps!r}.")
        self.input_dim = int(input_dim)
        self.latent_dim = int(latent_dim)
        self.hidden_dim = int(hidden_dim)
        self.method = method
        self.n_substeps = int(n_substeps)
        self.field = nn.Sequential(
            nn.Linear(hidden_dim, ode_units), nn.Tanh(), nn.Linear(ode_units, hidden_dim)
        )
        self.gru = nn.GRUCell(2 * input_dim, hidden_dim)
        self.to_posterior = nn.Sequential(
            nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, 2 * latent_dim)
        )

    def forward(
        self,
        times: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
        t0: torch.Tensor | float | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch of irregularly observed series.

        Parameters
        ----------
        times : Tensor, shape (T,) or (B, T)
            Observation times, non-decreasing along T: the union grid shared by the batch, or
            one row per series (pad the end by repeating the last time, with mask 0).
        values : Tensor, shape (B, T, D)
            Observed values; entries where ``mask == 0`` are ignored (they may be NaN).
        mask : Tensor, shape (B, T, D)
            1 where observed, 0 where missing.
        t0 : float or Tensor of shape () or (B,), optional
            Reference time of ``z0``; default ``times.min()``.

        Returns
        -------
        mean, std : Tensor, shape (B, latent_dim)
            Parameters of the diagonal Gaussian ``q(z0)``.
        """
        if values.dim() != 3 or mask.shape != values.shape:
            raise ValueError(
                f"values and mask must both have shape (batch, time, features); got values "
                f"{tuple(values.shape)} and mask {tuple(mask.shape)}."
            )
        batch, n_times, _ = values.shape
        if times.shape == (n_times,):
            times = times.unsqueeze(0).expand(batch, n_times)
        if times.shape != (batch, n_times):
            raise ValueError(
                f"times must have shape ({n_times},) or ({batch}, {n_times}) to match values "
                f"{tuple(values.shape)}; got {tuple(times.shape)}."
            )
        mask = mask.to(values.dtype)
        clean = torch.where(mask > 0, values, torch.zeros_like(values))
        inputs = torch.cat([clean, mask], dim=-1)  # (B, T, 2D)
        observed = mask.amax(dim=-1) > 0  # (B, T)
        if t0 is None:
            t0 = times.min()
        t0 = torch.as_tensor(t0, dtype=values.dtype, device=values.device)
        t0 = t0.expand(batch) if t0.dim() == 0 else t0

        h = values.new_zeros(batch, self.hidden_dim)
        # Time of the state h for each series: starts at its last time (no observation yet).
        # The state starts as zeros at each series' last observation (nothing evolves before it).
        t_state = times[:, -1].clone()
        started = torch.zeros(batch, 1, dtype=torch.bool, device=values.device)
        zero = values.new_zeros(batch, 1)
        for i in range(n_times - 1, -1, -1):
            obs = observed[:, i : i + 1]  # (B, 1)
            dt = torch.where(obs & started, (times[:, i] - t_state).unsqueeze(1), zero)
            h = fixed_step(self.field, h, dt, self.n_substeps, self.method)
            h = torch.where(obs, self.gru(inputs[:, i], h), h)
            t_state = torch.where(obs.squeeze(1), times[:, i], t_state)
            started = started | obs
        h = fixed_step(self.field, h, (t0 - t_state).unsqueeze(1), self.n_substeps, self.method)
        mean, raw_std = self.to_posterior(h).chunk(2, dim=-1)
        return mean, F.softplus(raw_std) + 1e-4
