"""Latent ODE (Rubanova et al. 2019): ODE-RNN encoder, latent Neural ODE, Gaussian readout.

Generative model::

    z0 ~ N(0, I)                      latent state at the reference time t0
    z(t) = ODESolve(f, z0, t0 -> t)   at any query time, before or after t0
    x(t) ~ N(mu(z(t)), sigma(z(t))^2) readout, per feature

Inference: ``q(z0 | observations)`` from the reverse-time :class:`ODERNNEncoder`. Training
maximises the ELBO (or the IWAE bound) with a KL weight that the caller anneals from 0 to 1.

Observation noise: by default it is *learned and heteroscedastic* — the readout emits a standard
deviation for every query time from the latent state, so forecast uncertainty can grow with the
horizon. Pass ``obs_std=<float>`` for the paper's fixed noise instead.

Time: any unit; ``t0`` is subtracted and ``time_scale`` divided out before a solver sees it.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from tsnode.nn._checks import (
    check_decode_inputs,
    check_fixed_steps,
    check_rows_sorted,
    check_size,
    check_targets,
    check_tensors,
)
from tsnode.nn.encoder import ODERNNEncoder
from tsnode.nn.ode import FIXED_STEP_SOLVERS, NeuralODE, check_positive

__all__ = ["LatentODE", "ELBOResult", "LatentODEOutput"]


class LatentODEOutput(NamedTuple):
    """Result of :meth:`LatentODE.forward`.

    pred_mean, pred_std : (n_samples, B, Q, D) readout mean and std at the query times.
    z0 : (n_samples, B, latent_dim) the sampled initial states.
    z0_mean, z0_std : (B, latent_dim) the posterior q(z0).
    """

    pred_mean: torch.Tensor
    pred_std: torch.Tensor
    z0: torch.Tensor
    z0_mean: torch.Tensor
    z0_std: torch.Tensor


class ELBOResult(NamedTuple):
    """Training objective pieces, all scalars.

    loss : negative (annealed) bound per observed target value, what to minimise.
    log_likelihood : mean over series of the expected log-likelihood per observed value.
    kl : mean over series of KL(q(z0) || N(0, I)).
    """

    loss: torch.Tensor
    log_likelihood: torch.Tensor
    kl: torch.Tensor


def _mlp(n_in: int, n_units: int, n_layers: int, n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(n_layers):
        layers += [nn.Linear(width, n_units), nn.Tanh()]
        width = n_units
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class _LatentField(nn.Module):
    """Autonomous latent vector field ``dz/dt = f(z)``."""

    def __init__(self, latent_dim: int, units: int, layers: int) -> None:
        super().__init__()
        self.net = _mlp(latent_dim, units, layers, latent_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _own_targets(
    target_values: torch.Tensor, target_mask: torch.Tensor
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """Each series' own target positions on the union grid, packed to the left.

    ``target_values``/``target_mask (B, Q, D)`` -> ``index (B, K)`` (``K`` = most targets of any
    series) and the targets gathered to ``(B, K, D)``, padding masked out. Returns
    ``(None, target_values, target_mask)`` unchanged when packing would save little.
    """
    observed = target_mask.amax(dim=-1) > 0  # (B, Q)
    counts = observed.sum(dim=1)
    n_keep = int(counts.max()) if counts.numel() else 0
    if n_keep == 0 or n_keep > 0.8 * observed.shape[1]:
        return None, target_values, target_mask
    # Stable sort puts each row's observed positions first, in time order.
    index = torch.argsort((~observed).to(torch.int8), dim=1, stable=True)[:, :n_keep]
    valid = torch.arange(n_keep, device=index.device) < counts.unsqueeze(1)  # (B, K)
    picked = index.unsqueeze(-1).expand(-1, -1, target_values.shape[-1])
    values = target_values.gather(1, picked)
    mask = target_mask.gather(1, picked) * valid.unsqueeze(-1).to(target_mask.dtype)
    return index, values, mask


class LatentODE(nn.Module):
    """Latent ODE encoder–decoder for irregularly sampled, partially observed series.

    Parameters
    ----------
    input_dim : int
        Number of observed features ``D`` per time point.
    latent_dim : int, default 16
    hidden_dim : int, default 32
        ODE-RNN encoder hidden size.
    ode_units, ode_layers : int, default 64 and 2
        Width and depth of the latent vector field MLP (tanh); ``ode_layers=0`` is linear.
    encoder_units : int, default 64
        Width of the encoder's hidden-state vector field.
    readout_units : int, default 32
        Width of the readout MLP's hidden layer (0 means a linear readout).
    solver, sensitivity, rtol, atol, options
        Latent ODE solver settings, see :class:`tsnode.nn.NeuralODE`.
    encoder_method : {"euler", "midpoint", "rk4"}, default "euler"
    encoder_substeps : int, default 1
    encoder_gap_input : bool, default False
        Give the encoder's GRU the gap and the time since ``t0`` at each observation, see
        :class:`tsnode.nn.ODERNNEncoder` (``gap_input``).
    encoder_init_std : float, optional
        Initial posterior std of ``q(z0)``, see :class:`tsnode.nn.ODERNNEncoder`
        (``init_std``). 0.01 avoids a training plateau where the decoder ignores ``z0``.
    obs_std : float, optional
        Fixed observation noise; default ``None`` learns a heteroscedastic noise.
    min_std : float, default 1e-3
        Floor of the learned observation std.
    time_scale : float, default 1.0
        Internal time is ``(t - t0) / time_scale``; choose it so windows span O(1).
    anchored : bool, default False
        For data expressed relative to its value at ``t0`` (what ``TSNodeForecaster`` does: log
        prices minus the last observed one). The readout mean is shifted to be exactly 0 at
        ``t0`` and the learned noise grows like a diffusion away from it,
        ``std(t) = sqrt(min_std**2 + |t - t0| / time_scale * sigma(z(t))**2)``, so one-day
        forecasts are tight and uncertainty widens with the horizon.
    """

    def __init__(
        self,
        input_dim: int,
        *,
        latent_dim: int = 16,
        hidden_dim: int = 32,
        ode_units: int = 64,
        ode_layers: int = 2,
        encoder_units: int = 64,
        readout_units: int = 32,
        solver: str = "dopri5",
        sensitivity: str = "autograd",
        rtol: float = 1e-3,
        atol: float = 1e-4,
        options: dict | None = None,
        encoder_method: str = "euler",
        encoder_substeps: int = 1,
        encoder_gap_input: bool = False,
        encoder_init_std: float | None = None,
        obs_std: float | None = None,
        min_std: float = 1e-3,
        time_scale: float = 1.0,
        anchored: bool = False,
    ) -> None:
        super().__init__()
        self.time_scale = check_positive("time_scale", time_scale, "1.0")
        if obs_std is not None and (
            isinstance(obs_std, bool)
            or not isinstance(obs_std, numbers.Real)
            or not 0 < obs_std < math.inf
        ):
            raise ValueError(
                f"obs_std must be positive or None (learned), got {obs_std!r}; pass a finite "
                "float > 0 such as obs_std=0.1, or None to learn the noise."
            )
        self.min_std = check_positive("min_std", min_std, "1e-3")
        self.input_dim = input_dim = check_size("input_dim", input_dim)
        self.latent_dim = latent_dim = check_size("latent_dim", latent_dim)
        ode_units = check_size("ode_units", ode_units)
        ode_layers = check_size("ode_layers", ode_layers, minimum=0, note=" (0: a linear field)")
        note = " (0: a linear readout)"
        readout_units = check_size("readout_units", readout_units, minimum=0, note=note)
        check_size("encoder_units", encoder_units)
        check_size("encoder_substeps", encoder_substeps)
        self.obs_std = None if obs_std is None else float(obs_std)
        self.anchored = bool(anchored)
        self.encoder = ODERNNEncoder(
            input_dim,
            latent_dim,
            hidden_dim=hidden_dim,
            ode_units=encoder_units,
            method=encoder_method,
            n_substeps=encoder_substeps,
            gap_input=encoder_gap_input,
            init_std=encoder_init_std,
        )
        self.ode = NeuralODE(
            _LatentField(latent_dim, ode_units, ode_layers),
            solver=solver,
            sensitivity=sensitivity,
            rtol=rtol,
            atol=atol,
            options=options,
        )
        n_out = input_dim if obs_std is not None else 2 * input_dim
        if readout_units > 0:
            self.readout = _mlp(latent_dim, readout_units, 1, n_out)
        else:
            self.readout = nn.Linear(latent_dim, n_out)

    @property
    def nfe_forward(self) -> int:
        """Latent vector-field evaluations of the last :meth:`decode` (both time directions)."""
        return getattr(self, "_nfe_end", 0) - getattr(self, "_nfe_start", 0)

    @property
    def nfe_backward(self) -> int:
        """Evaluations since the last decode ended: the adjoint's backward pass (0 with autograd)."""
        return self.ode.field.nfe - getattr(self, "_nfe_end", 0)

    # ------------------------------------------------------------------ pieces
    def _normalise(self, t: torch.Tensor, t0: torch.Tensor) -> torch.Tensor:
        return (t - t0) / self.time_scale

    def encode(
        self,
        times: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
        t0: float | torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior ``q(z0)`` at ``t0`` (default ``times.min()``).

        Shapes: ``times (T,)`` or ``(B, T)``, ``values``/``mask`` ``(B, T, D)``, ``t0`` scalar
        or ``(B,)`` (one reference time per series, as :class:`ODERNNEncoder` allows; decoding
        then needs one call per distinct ``t0``); returns mean and std of shape
        ``(B, latent_dim)``. Integer ``times`` are converted to float64 (float32 on MPS; exact,
        a fractional ``t0`` kept); floating ones keep their own precision.
        """
        check_tensors(times=times, values=values, mask=mask)
        times = times.to(self._time_dtype(times))  # a no-op for floating times
        if t0 is None:
            t0 = times.min()
        t0 = torch.as_tensor(t0, dtype=times.dtype, device=times.device)
        batch = values.shape[0] if values.dim() == 3 else "batch"
        if t0.dim() == 1 and t0.shape[0] == batch:
            t0 = t0.unsqueeze(-1)  # (B, 1): each series' times relative to its own t0
        elif t0.dim() != 0:
            raise ValueError(
                f"t0 must be a scalar or have shape ({batch},) (one reference time per series), "
                f"got shape {tuple(t0.shape)}."
            )
        # Subtract in the times' own precision, then convert (large float64 times stay exact).
        local = self._normalise(times, t0).to(values.dtype)
        return self.encoder(local, values, mask, t0=0.0)

    def _time_dtype(self, t: torch.Tensor) -> torch.dtype:
        """``t``'s dtype; float64 (MPS: float32) for integer times, exact like int64 epochs."""
        mps = t.device.type == "mps"
        return t.dtype if t.is_floating_point() else torch.float32 if mps else torch.float64

    def _scalar_t0(self, t0: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``t0`` as a 0-d tensor in ``like``'s (floating) time dtype and device, or ValueError."""
        t0 = torch.as_tensor(t0, dtype=self._time_dtype(like), device=like.device)
        if t0.numel() != 1:
            raise ValueError(
                f"t0 must be a scalar (one reference time for the batch) to decode, got shape "
                f"{tuple(t0.shape)}. Per-series reference times are supported by encode() only: "
                "decode the series that share a t0 together, one call per distinct t0."
            )
        return t0.reshape(())

    def _step_size(self) -> float | None:
        options = self.ode.options or {}
        if self.ode.solver in FIXED_STEP_SOLVERS and options.get("step_size"):
            return float(options["step_size"])
        return None

    def _solve(self, z0: torch.Tensor, s: torch.Tensor, direction: float) -> torch.Tensor:
        """Latent states at normalised times ``direction * s`` (adaptive solvers: dense output).

        ``s`` increasing and >= 0. Returns a tensor of shape ``(len(s), *z0.shape)``.
        """
        positive = s[s > 0]
        if positive.numel() == 0:
            return z0.unsqueeze(0).expand(s.numel(), *z0.shape)
        grid = torch.cat([s.new_zeros(1), positive])
        traj = self.ode(z0, direction * grid)
        return torch.cat(
            [z0.unsqueeze(0).expand(s.numel() - positive.numel(), *z0.shape), traj[1:]]
        )

    def _grid_trajectory(
        self, z0: torch.Tensor, lowest: float, highest: float, step: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fixed-step solution on the solver's own grid over ``[lowest, highest]`` (contains 0).

        One solve backwards from 0 and one forwards, each on whole steps of ``step``: the last
        one ends at or past the extreme query (it is not shortened to end on it), so the path
        does not depend on how far the queries reach (a shorter horizon gives the same states).
        Returns the increasing signed grid ``(G,)`` and the states on it ``(G, *z0.shape)``.
        """
        grids, trajs = [], []
        for extent, direction in ((-lowest, -1.0), (highest, 1.0)):
            if extent <= 0:
                continue
            n_steps = check_fixed_steps(
                extent,
                step,
                what=f"Decoding {'before' if direction < 0 else 'after'} t0 (in units of "
                f"time_scale={self.time_scale:g}, with a fixed step options['step_size'])",
                fix="Use a larger options['step_size'] or a larger time_scale (TSNodeForecaster: "
                "step_size, time_scale_days), or query times closer to t0.",
            )
            grid = torch.arange(n_steps + 1, dtype=z0.dtype, device=z0.device) * step
            grid[-1] = max(float(grid[-1]), extent)
            traj = self.ode(z0, direction * grid)  # (n_steps + 1, *batch, L)
            if direction < 0:
                grids.append(-grid.flip(0)[:-1])  # without 0, given by the forward piece
                trajs.append(traj.flip(0)[:-1])
            else:
                grids.append(grid)
                trajs.append(traj)
        if highest <= 0:  # only past queries: close the grid at 0 with z0
            grids.append(z0.new_zeros(1))
            trajs.append(z0.unsqueeze(0))
        return torch.cat(grids), torch.cat(trajs)

    def decode(
        self,
        z0: torch.Tensor,
        t_query: torch.Tensor,
        t0: float | torch.Tensor = 0.0,
        *,
        index: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Solve the latent ODE from ``z0`` at ``t0`` to ``t_query`` and read out.

        Parameters
        ----------
        z0 : Tensor, shape (*batch, latent_dim)
            The last batch axis (size B) indexes series.
        t_query : Tensor, shape (Q,)
            Strictly increasing query times, on either side of ``t0``; integer ones are
            converted to float64 (float32 on MPS).
        t0 : float or scalar Tensor
        index : LongTensor, shape (B, K), optional
            Read out only at ``t_query[index[b]]`` for series ``b`` (e.g. each series' own
            observed times on a union grid) instead of at all ``Q`` times for every series;
            the readout and likelihood then cost ``B * K`` instead of ``B * Q`` evaluations.

        Returns
        -------
        mean, std : Tensor, shape (*batch, Q, D), or (*batch, K, D) with ``index``

        Raises
        ------
        TypeError
            ``z0`` or ``t_query`` is not a tensor, ``z0`` not of the weights' dtype, or
            ``index`` not an integer tensor.
        ValueError
            Mis-shaped inputs, an unsorted ``t_query``, ``index`` entries outside
            ``[0, Q)``, or a fixed-step solve of too many steps.
        """
        check_decode_inputs(z0, t_query, index, self.latent_dim, next(self.parameters()).dtype)
        t0 = self._scalar_t0(t0, t_query)
        s = self._normalise(t_query.to(t0.dtype), t0).to(device=z0.device, dtype=z0.dtype)
        self._nfe_start = self.ode.field.nfe
        try:
            z, s = self._latent_states(z0, s, index)
        finally:  # also after a failed solve, so that the counters describe the attempt
            self._nfe_end = self.ode.field.nfe
        out = self.readout(z)
        if self.anchored:
            # Shift so the mean is exactly 0 at t0: z(t0) = z0 by construction.
            at_t0 = self.readout(z0).unsqueeze(-2)
            n_mean = self.input_dim
            out = torch.cat([out[..., :n_mean] - at_t0[..., :n_mean], out[..., n_mean:]], dim=-1)
        if self.obs_std is not None:
            return out, torch.full_like(out, self.obs_std)
        mean, raw = out.chunk(2, dim=-1)
        if self.anchored:
            elapsed = s.abs().unsqueeze(-1)  # (Q, 1) or (B, K, 1): broadcasts over *batch
            return mean, torch.sqrt(self.min_std**2 + elapsed * F.softplus(raw) ** 2)
        return mean, F.softplus(raw) + self.min_std

    def _latent_states(
        self, z0: torch.Tensor, s: torch.Tensor, index: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent states at the normalised query times ``s (Q,)``.

        Returns ``z (*batch, Q, L)`` and ``s``, or ``(*batch, K, L)`` and ``s (B, K)`` with a
        ``(B, K)`` ``index`` (each series' own query times).
        """
        step = self._step_size()
        if step is not None and bool((s != 0).any()):
            # Fixed-step solvers: one solve on their own step grid, queries linearly interpolated
            # in one gather (as torchdiffeq does, without one autograd node per query time, which
            # made the backward quadratic); with an index, only each series' own query times.
            grid, traj = self._grid_trajectory(z0, float(s.min()), float(s.max()), step)
            wanted = s if index is None else s[index.to(s.device)]  # (Q,) or (B, K)
            right = torch.searchsorted(grid, wanted.contiguous(), right=True)
            right = right.clamp(1, grid.numel() - 1)
            left = right - 1
            weight = ((wanted - grid[left]) / (grid[right] - grid[left])).clamp(0.0, 1.0)
            traj = traj.movedim(0, -2)  # (*batch, G, L)
            if index is None:
                z_left, z_right = traj[..., left, :], traj[..., right, :]
            else:
                shape = (*traj.shape[:-2], left.shape[-1], traj.shape[-1])
                z_left = traj.gather(-2, left.unsqueeze(-1).expand(shape))
                z_right = traj.gather(-2, right.unsqueeze(-1).expand(shape))
            z = z_left + weight.unsqueeze(-1) * (z_right - z_left)  # (*batch, Q or K, L)
            s = wanted
        else:
            pieces = []
            before = s[s < 0]
            if before.numel():  # reverse time: from 0 down to the earliest query
                pieces.append(self._solve(z0, -before.flip(0), direction=-1.0).flip(0))
            after = s[s >= 0]
            if after.numel():
                pieces.append(self._solve(z0, after, direction=1.0))
            z = torch.cat(pieces, dim=0).movedim(0, -2)  # (*batch, Q, L)
            if index is not None:
                picked = index.to(z.device).unsqueeze(-1).expand(*z.shape[:-2], -1, z.shape[-1])
                z = z.gather(-2, picked)  # (*batch, K, L)
                s = s[index.to(s.device)]  # (B, K)
        return z, s

    # ------------------------------------------------------------------ model
    def forward(
        self,
        times: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
        t_query: torch.Tensor,
        *,
        n_samples: int = 1,
        t0: float | torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        index: torch.Tensor | None = None,
    ) -> LatentODEOutput:
        """Encode the observations, sample ``z0`` and decode at ``t_query``.

        ``times (T,)|(B, T)``, ``values``/``mask (B, T, D)``, ``t_query (Q,)`` increasing.
        Returns :class:`LatentODEOutput` with ``pred_mean``/``pred_std`` of shape
        ``(n_samples, B, Q, D)`` (``(n_samples, B, K, D)`` with a ``(B, K)`` ``index``, see
        :meth:`decode`). ``t0`` is a scalar here (default ``times.min()``).
        """
        check_size("n_samples", n_samples)
        check_tensors(times=times, values=values, mask=mask, t_query=t_query)
        t0 = self._scalar_t0(times.min() if t0 is None else t0, times)
        z0_mean, z0_std = self.encode(times, values, mask, t0=t0)
        eps = torch.randn(
            (n_samples, *z0_mean.shape),
            dtype=z0_mean.dtype,
            device=z0_mean.device,
            generator=generator,
        )
        z0 = z0_mean + z0_std * eps
        pred_mean, pred_std = self.decode(z0, t_query, t0=t0, index=index)
        return LatentODEOutput(pred_mean, pred_std, z0, z0_mean, z0_std)

    def elbo(
        self,
        times: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
        t_query: torch.Tensor,
        target_values: torch.Tensor,
        target_mask: torch.Tensor,
        *,
        n_samples: int = 3,
        kl_weight: float = 1.0,
        iwae: bool = False,
        t0: float | torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> ELBOResult:
        """Negative evidence lower bound of the targets given the observations.

        Parameters
        ----------
        times, values, mask
            Encoder input, shapes ``(T,)|(B, T)`` and ``(B, T, D)``.
        t_query : Tensor, shape (Q,)
            Union of the target times, increasing.
        target_values, target_mask : Tensor, shape (B, Q, D)
            Targets on the ``t_query`` grid; only entries with mask 1 count. Targets may include
            the encoder's own points (reconstruction) and later points (extrapolation).
        n_samples : int
            Number of ``z0`` samples per series, at least 1.
        kl_weight : float
            Annealing weight of the KL term (0 → 1 during training).
        iwae : bool
            Use the importance-weighted bound of Burda et al. over the ``n_samples`` samples.
        t0 : float or scalar Tensor, optional
            Reference time of ``z0`` (default ``times.min()``), as in :meth:`forward`.
        generator : torch.Generator, optional
            Source of the ``z0`` noise (on the weights' device); default torch's global one.

        Returns
        -------
        ELBOResult
        """
        check_tensors(times=times, values=values, mask=mask, t_query=t_query)
        check_targets(target_values, target_mask, values, t_query, self.input_dim)
        index, target_values, target_mask = _own_targets(target_values, target_mask)
        out = self.forward(
            times,
            values,
            mask,
            t_query,
            n_samples=n_samples,
            t0=t0,
            index=index,
            generator=generator,
        )
        target_mask = target_mask.to(out.pred_mean.dtype)
        target = torch.where(target_mask > 0, target_values, torch.zeros_like(target_values))
        log_prob = (
            -0.5 * ((target - out.pred_mean) / out.pred_std) ** 2
            - torch.log(out.pred_std)
            - 0.5 * math.log(2 * math.pi)
        )
        log_lik = (log_prob * target_mask).sum(dim=(-1, -2))  # (S, B)
        n_obs = target_mask.sum(dim=(-1, -2)).clamp_min(1.0)  # (B,)
        mean, std = out.z0_mean, out.z0_std
        kl = 0.5 * (mean**2 + std**2 - 1.0 - 2.0 * torch.log(std)).sum(-1)  # (B,)
        if iwae:
            eps = (out.z0 - mean) / std
            log_q = (-0.5 * eps**2 - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)
            log_p = (-0.5 * out.z0**2 - 0.5 * math.log(2 * math.pi)).sum(-1)
            log_w = log_lik + kl_weight * (log_p - log_q)
            bound = torch.logsumexp(log_w, dim=0) - math.log(n_samples)  # (B,)
        else:
            bound = log_lik.mean(0) - kl_weight * kl
        loss = -bound.sum() / n_obs.sum()
        return ELBOResult(loss, (log_lik.mean(0) / n_obs).mean(), kl.mean())

    @torch.no_grad()
    def sample(
        self,
        times: torch.Tensor,
        values: torch.Tensor,
        mask: torch.Tensor,
        t_query: torch.Tensor,
        *,
        n_samples: int = 100,
        t0: float | torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        index: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Posterior predictive samples at ``t_query``, observation noise included.

        With ``anchored=True`` the noise after ``t0`` follows a standardised Brownian path
        (``W(s) / sqrt(s)``), so every marginal is exactly ``N(mean, std**2)`` while successive
        points are correlated like a random walk: sample paths are usable for path-dependent
        risk (drawdowns). Otherwise the noise is independent across time points.

        With a ``(B, K)`` ``index`` (see :meth:`decode`) each series is sampled at its own
        query times ``t_query[index[b]]`` and gets its own draws per own query position, so a
        shorter horizon gives the same paths truncated, series by series. With ``anchored=True``
        each row of ``index`` must be sorted (non-decreasing: the path runs through its times in
        order), else ``ValueError``.

        Returns a tensor of shape ``(n_samples, B, Q, D)``, or ``(n_samples, B, K, D)``.
        """
        check_tensors(times=times, values=values, mask=mask, t_query=t_query)
        t0 = times.min() if t0 is None else torch.as_tensor(t0, dtype=self._time_dtype(times))
        out = self.forward(
            times,
            values,
            mask,
            t_query,
            n_samples=n_samples,
            t0=t0,
            generator=generator,
            index=index,
        )
        mean = out.pred_mean
        # One draw per query time, in time order: the draws at the first k query times do not
        # depend on how many later times are asked for, so a shorter horizon gives the same
        # paths, truncated. (One draw for all times would not: torch's normal sampler
        # transforms uniforms in blocks whose layout depends on the total size.)
        per_time = (*mean.shape[:-2], mean.shape[-1])
        noise = torch.stack(
            [
                torch.randn(per_time, dtype=mean.dtype, device=mean.device, generator=generator)
                for _ in range(mean.shape[-2])
            ],
            dim=-2,
        )
        if self.anchored:
            s = self._normalise(t_query, t0.to(t_query.device)).to(mean.device, mean.dtype)
            if index is not None:
                check_rows_sorted(index)
                s = s[index.to(s.device)]  # (B, K): each series' own query times
            after = s > 0
            if bool(after.any()):
                # Brownian increments over each series' own gaps after t0 (0 before t0).
                elapsed = s.clamp_min(0.0)
                gaps = torch.diff(elapsed, dim=-1, prepend=torch.zeros_like(elapsed[..., :1]))
                increments = noise * gaps.sqrt().unsqueeze(-1)
                brownian = increments.cumsum(dim=-2) / elapsed.clamp_min(1e-30).sqrt().unsqueeze(-1)
                noise = torch.where(after.unsqueeze(-1), brownian, noise)
        return mean + out.pred_std * noise
