"""ODE-RNN encoder (Rubanova et al. 2019) run in reverse time over irregular observations.

Between two observations of a series the hidden state follows ``dh/dt = f(h)``, integrated with a
few inline fixed steps (vectorised: every series in the batch steps across its *own* gap at once);
at each observation a GRU cell takes ``[value * mask, mask]``. The final state, carried back to the
reference time ``t0``, is mapped to the mean and standard deviation of ``q(z0)``.

Each series only ever steps between its own observation times, so a batch gives the same result
as running every series alone, whatever union of time points the batch is laid out on.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from tsnode.nn import _checks
from tsnode.nn._checks import check_fixed_steps, check_size, check_tensor
from tsnode.nn._scan import euler_gru_scan

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


def _field(h: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor):
    return F.linear(torch.tanh(F.linear(h, w1, b1)), w2, b2)


def _reverse_scan(
    h: torch.Tensor,
    inputs: torch.Tensor,
    dt: torch.Tensor,
    observed: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    n_substeps: int,
    method: str,
) -> torch.Tensor:
    """The ODE-RNN scan from the last time point to the first, on raw weights.

    With Euler steps (the default) it runs as one fused autograd function with a hand-written
    backward pass (:mod:`tsnode.nn._scan`); midpoint and rk4 use the plain autograd loop below.
    (Scripting that loop with TorchScript measured only 10-20% faster on CPU and the API is
    deprecated, so it stays plain Python; all per-series bookkeeping is done before the loop.)

    ``inputs (B, T, 2D)``, ``dt (B, T)`` signed gap to integrate before the update at each step,
    ``observed (B, T)`` bool. Returns the final hidden state ``(B, H)``.
    """
    if method == "euler" and not dt.requires_grad:
        # Same arithmetic as the loop below, with a hand-written backward pass (2-3x faster).
        steps = (dt / n_substeps).unsqueeze(-1)
        args = (w1, b1, w2, b2, w_ih, w_hh, b_ih, b_hh, n_substeps)
        return euler_gru_scan(h, inputs, steps, observed.unsqueeze(-1), *args)
    # Per-step slices and Python-side flags are prepared once, outside the loop.
    steps = (dt / n_substeps).unsqueeze(-1).unbind(1)  # T tensors (B, 1)
    step_inputs = inputs.unbind(1)  # T tensors (B, 2D)
    masks = observed.unsqueeze(-1).unbind(1)  # T tensors (B, 1)
    moves = (dt != 0).any(dim=0).tolist()  # does any series integrate before step i?
    everyone = observed.all(dim=0).tolist()  # is every series observed at step i?
    anyone = observed.any(dim=0).tolist()
    for i in range(inputs.shape[1] - 1, -1, -1):
        if moves[i]:
            step = steps[i]
            for _ in range(n_substeps):
                if method == "euler":
                    h = torch.addcmul(h, step, _field(h, w1, b1, w2, b2))
                elif method == "midpoint":
                    half = torch.addcmul(h, 0.5 * step, _field(h, w1, b1, w2, b2))
                    h = torch.addcmul(h, step, _field(half, w1, b1, w2, b2))
                else:
                    k1 = _field(h, w1, b1, w2, b2)
                    k2 = _field(h + 0.5 * step * k1, w1, b1, w2, b2)
                    k3 = _field(h + 0.5 * step * k2, w1, b1, w2, b2)
                    k4 = _field(h + step * k3, w1, b1, w2, b2)
                    h = h + step / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        if not anyone[i]:
            continue
        updated = torch.gru_cell(step_inputs[i], h, w_ih, w_hh, b_ih, b_hh)
        h = updated if everyone[i] else torch.where(masks[i], updated, h)
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
    max_step : float, default 0.25
        Longest step when carrying the final state from the first observation to ``t0``
        (a long stretch when ``t0`` is the window's last time).
    gap_input : bool, default False
        Also give the GRU cell, at each observation, the time since the series' next
        observation (the gap just integrated over; 0 at its last one) and the time since
        ``t0``, as two extra inputs ``[value * mask, mask, gap, t - t0]``. The hidden ODE
        carries that information implicitly; stating it helps very sparse series.
    init_std : float, optional
        Start the posterior std near this value: the std outputs of the last layer get the
        bias ``softplus⁻¹(init_std)`` and a tenth of their default weights. By default (None)
        PyTorch's initialisation gives stds of about 0.7, so early in training a sampled
        ``z0`` is mostly noise and a decoder can settle on ignoring it (a plateau at the
        data's mean); a small value such as 0.01 makes ``z0`` carry the encoder's signal from
        the first step, while the KL term still widens the posterior as training goes on.
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
        max_step: float = 0.25,
        gap_input: bool = False,
        init_std: float | None = None,
    ) -> None:
        super().__init__()
        if init_std is not None and not (
            isinstance(init_std, (int, float))
            and not isinstance(init_std, bool)
            and 0 < init_std < math.inf
        ):
            raise ValueError(
                f"init_std must be a positive finite float or None (default initialisation), "
                f"got {init_std!r}; try init_std=0.01."
            )
        if method not in _FIXED_METHODS:
            raise ValueError(
                f"encoder method={method!r} is not supported; expected one of {_FIXED_METHODS}."
            )
        self.input_dim = check_size("input_dim", input_dim)
        self.latent_dim = check_size("latent_dim", latent_dim)
        self.hidden_dim = hidden_dim = check_size("hidden_dim", hidden_dim)
        ode_units = check_size("ode_units", ode_units)
        self.method = method
        self.n_substeps = check_size("n_substeps", n_substeps)
        if self.n_substeps > _checks.MAX_FIXED_STEPS:
            raise ValueError(
                f"n_substeps={n_substeps} is more steps per gap than the "
                f"{_checks.MAX_FIXED_STEPS:,} allowed per integration; a few (1-4) are enough, "
                "e.g. n_substeps=2."
            )
        if not max_step > 0:
            raise ValueError(f"max_step must be positive, got {max_step!r}.")
        self.max_step = float(max_step)
        self.gap_input = bool(gap_input)
        self.field = nn.Sequential(
            nn.Linear(hidden_dim, ode_units), nn.Tanh(), nn.Linear(ode_units, hidden_dim)
        )
        self.gru = nn.GRUCell(2 * self.input_dim + (2 if self.gap_input else 0), hidden_dim)
        self.to_posterior = nn.Sequential(
            nn.Linear(hidden_dim, hidden_dim), nn.Tanh(), nn.Linear(hidden_dim, 2 * latent_dim)
        )
        self.init_std = None if init_std is None else float(init_std)
        if self.init_std is not None:
            last = self.to_posterior[-1]
            with torch.no_grad():
                last.weight[self.latent_dim :] *= 0.1
                raw = self.init_std if self.init_std > 20 else math.log(math.expm1(self.init_std))
                last.bias[self.latent_dim :] = raw  # softplus(raw) = init_std

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
            Finite observation times, non-decreasing along T: the union grid shared by the
            batch, or one row per series (pad the end by repeating the last time, with mask 0).
            Any dtype; gaps are computed in the finer of its and ``values``' dtype.
        values : Tensor, shape (B, T, D)
            Observed values, in the dtype of the encoder's weights; entries where ``mask == 0``
            are ignored (they may be NaN), the others must be finite.
        mask : Tensor, shape (B, T, D)
            1 where observed, 0 where missing.
        t0 : float or Tensor of shape () or (B,), optional
            Finite reference time of ``z0``; default ``times.min()``. The state is carried from
            each series' first observation to ``t0`` in steps of at most ``max_step``.

        Returns
        -------
        mean, std : Tensor, shape (B, latent_dim)
            Parameters of the diagonal Gaussian ``q(z0)``. A series with no observation gets
            the posterior of the initial (zero) hidden state, whatever the time grid.

        Raises
        ------
        TypeError
            If ``times``, ``values`` or ``mask`` is not a tensor, or ``values`` is not of the
            weights' floating dtype.
        ValueError
            On an empty batch, a feature count other than ``input_dim``, times of the wrong
            shape or not sorted, NaN/inf in ``times``, ``t0`` or an observed value, a ``t0`` of
            the wrong shape, or a carry to ``t0`` of more than
            :data:`tsnode.nn._checks.MAX_FIXED_STEPS` steps (a mis-scaled time axis).
        """
        times = check_tensor("times", times)
        values = check_tensor("values", values, floating=True)
        mask = check_tensor("mask", mask)
        if values.dim() != 3 or mask.shape != values.shape:
            raise ValueError(
                f"values and mask must both have shape (batch, time, features); got values "
                f"{tuple(values.shape)} and mask {tuple(mask.shape)}."
            )
        batch, n_times, n_features = values.shape
        if batch == 0 or n_times == 0:
            raise ValueError(
                f"values has shape {tuple(values.shape)}: the encoder needs at least one series "
                "and one time point (batch >= 1, time >= 1). Skip empty batches before encoding."
            )
        if n_features != self.input_dim:
            raise ValueError(
                f"values has {n_features} features (shape {tuple(values.shape)}) but the encoder "
                f"was built with input_dim={self.input_dim}; pass values of shape (batch, time, "
                f"{self.input_dim}) or build the encoder with input_dim={n_features}."
            )
        weights = self.gru.weight_ih.dtype
        if values.dtype != weights:
            raise TypeError(
                f"values has dtype {values.dtype} but the encoder's weights are {weights}; convert "
                f"one to the other: values.to({weights}) or encoder.to({values.dtype}) (e.g. "
                "encoder.double() for float64)."
            )
        if times.shape not in ((n_times,), (batch, n_times)):
            raise ValueError(
                f"times must have shape ({n_times},) or ({batch}, {n_times}) to match values "
                f"{tuple(values.shape)}; got {tuple(times.shape)}."
            )
        # Time arithmetic in the finer of the two dtypes (gaps are cast to values' dtype later).
        time_dtype = torch.promote_types(times.dtype, values.dtype)
        given_times = times = times.to(device=values.device, dtype=time_dtype)
        times = times.expand(batch, n_times)
        if t0 is None:
            t0 = times.min()
        t0 = torch.as_tensor(t0, dtype=time_dtype, device=values.device)
        if t0.dim() == 0:
            t0 = t0.expand(batch)
        elif t0.shape != (batch,):
            raise ValueError(
                f"t0 must be a scalar or have shape ({batch},) (one reference time per series), "
                f"got shape {tuple(t0.shape)}."
            )
        mask = mask.to(values.dtype)
        bad_values = ~torch.isfinite(values) & (mask > 0)
        # All input checks share one device synchronisation: the scan assumes finite times in
        # time order and finite observed values.
        flags = [~torch.isfinite(times).all(), ~torch.isfinite(t0).all(), bad_values.any()]
        decreasing = (torch.diff(times, dim=-1) < 0).any() if n_times > 1 else None
        flags.append(torch.zeros_like(flags[-1]) if decreasing is None else decreasing)
        bad_times, bad_t0, bad_value, unsorted = torch.stack(flags).tolist()
        if bad_times or bad_t0:
            name, tensor = ("times", given_times) if bad_times else ("t0", t0)
            n_bad, size = int((~torch.isfinite(tensor)).sum()), tensor.numel()
            raise ValueError(
                f"{name} contains NaN or inf ({n_bad} of {size} entries); every observation time "
                "and t0 must be finite. Drop the rows with missing times (or, for padding, repeat "
                "a series' last time with mask 0)."
            )
        if bad_value:
            where = tuple(bad_values.nonzero()[0].tolist())
            raise ValueError(
                f"values contains NaN or inf where mask is 1 ({int(bad_values.sum())} of "
                f"{values.numel()} entries, the first at values{list(where)} = "
                f"{values[where].item()}): observed values must be finite. Set the mask to 0 "
                "where a value is missing (NaN is allowed there), e.g. mask = mask * "
                "values.isfinite()."
            )
        if unsorted:
            raise ValueError(
                "times must be non-decreasing along the time axis (sorted, oldest first); got a "
                "decreasing step. Sort the time points (and values/mask with them), e.g. "
                "order = times.argsort(); times, values, mask = times[order], values[:, order], "
                "mask[:, order]."
            )
        clean = torch.where(mask > 0, values, torch.zeros_like(values))
        inputs = torch.cat([clean, mask], dim=-1)  # (B, T, 2D)
        observed = mask.amax(dim=-1) > 0  # (B, T)

        # Each series steps only between its own observations: in reverse time, the gap at an
        # observation is to the series' next observation (later in time). Computed for every
        # step at once, before the scan.
        inf = torch.full_like(times, float("inf"))
        obs_times = torch.where(observed, times, inf)
        later = torch.flip(torch.cummin(torch.flip(obs_times, [1]), dim=1).values, [1])
        next_obs = torch.cat([later[:, 1:], inf[:, :1]], dim=1)  # first observation after i
        started = observed & torch.isfinite(next_obs)
        dt = torch.where(started, times - torch.where(started, next_obs, times), 0.0)
        dt = dt.to(values.dtype)  # the gaps, computed in the times' precision
        if self.gap_input:
            since_t0 = torch.where(observed, times - t0.unsqueeze(1), 0.0).to(values.dtype)
            inputs = torch.cat([inputs, -dt.unsqueeze(-1), since_t0.unsqueeze(-1)], dim=-1)
        first_obs = later[:, 0]
        # A series with no observation keeps the initial state (no carry to t0), so its posterior
        # is the same whatever time grid the batch is laid out on.
        t_state = torch.where(torch.isfinite(first_obs), first_obs, t0)
        # Time points where no series is observed change nothing: skip them.
        keep = observed.any(dim=0)
        if not bool(keep.all()):
            inputs, dt, observed = inputs[:, keep], dt[:, keep], observed[:, keep]
        # Sparse batches (each series observing a different few points of a long union grid):
        # move every series' own observations to the front, in time order, and drop the columns
        # left with no observation at all. Unobserved entries have dt = 0 and no update, so the
        # arithmetic per series is unchanged, but the scan runs over the largest per-series
        # count instead of the whole grid (10 columns instead of 100 at 10% observed).
        n_cols = int(observed.sum(dim=1).max()) if batch else 0
        if n_cols < observed.shape[1]:
            order = torch.argsort((~observed).to(torch.int8), dim=1, stable=True)[:, :n_cols]
            observed = observed.gather(1, order)
            dt = dt.gather(1, order)
            inputs = inputs.gather(1, order.unsqueeze(-1).expand(-1, -1, inputs.shape[-1]))
        # Then the state is carried from each series' first observation to t0 in steps of at
        # most `max_step` (per series, so a batch still equals each series alone). The carry
        # steps run as extra leading scan columns with no observation (the scan runs from the
        # last column to the first), so they share the scan's fused Euler path.
        gap = (t0 - t_state).unsqueeze(1)  # (B, 1)
        n_carry = torch.clamp(torch.ceil(gap.abs() / self.max_step), min=1)
        longest, span = torch.stack([n_carry.max(), gap.abs().max()]).tolist()
        check_fixed_steps(
            span,
            self.max_step / self.n_substeps,
            what=f"Carrying the encoder state from a series' first observation to t0 "
            f"(max_step={self.max_step:g}, n_substeps={self.n_substeps})",
            fix="Pass a t0 near the observations, or rescale the times so that a window spans "
            "a few units (LatentODE: a larger time_scale; TSNodeForecaster: a larger "
            "time_scale_days), or build the encoder with a larger max_step.",
        )
        columns = torch.arange(int(longest), device=gap.device, dtype=gap.dtype)
        carry_dt = torch.where(columns < n_carry, gap / n_carry, torch.zeros_like(gap))
        dt = torch.cat([carry_dt.to(dt.dtype), dt], dim=1)
        inputs = torch.cat([inputs.new_zeros(batch, columns.numel(), inputs.shape[-1]), inputs], 1)
        observed = torch.cat([observed.new_zeros(batch, columns.numel()), observed], dim=1)
        h = values.new_zeros(batch, self.hidden_dim)
        h = _reverse_scan(
            h,
            inputs,
            dt,
            observed,
            self.field[0].weight,
            self.field[0].bias,
            self.field[2].weight,
            self.field[2].bias,
            self.gru.weight_ih,
            self.gru.weight_hh,
            self.gru.bias_ih,
            self.gru.bias_hh,
            self.n_substeps,
            self.method,
        )
        mean, raw_std = self.to_posterior(h).chunk(2, dim=-1)
        return mean, F.softplus(raw_std) + 1e-4
