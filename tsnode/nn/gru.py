"""`GapGRU`: a discrete-time GRU that is told the time gap (the "RNN-Δt" ablation).

It is the natural rival of the Latent ODE: the same batch format, but the hidden state only jumps
at observations; time enters as an input feature. Rubanova et al. (2019) call it RNN-Δt.

Batch format (shared with :class:`tsnode.nn.LatentODE`):

- ``times (B, T)``: float, normalised time, each row sorted; shorter series are padded at the end
  by repeating their last time with mask 0;
- ``values (B, T, D)``: float; entries where ``mask`` is 0 are ignored (they may even be NaN);
- ``mask (B, T, D)``: 1 where observed, 0 otherwise.

Each step reads ``[value * mask, mask, Δt]`` (``Δt`` = time since the previous step, 0 at the
first). The output head reads the hidden state *and the gap to the step being predicted*, so a
forecast over a long weekend can be wider than one over a night. By default (``residual=True``) the
predicted mean is the last observed value plus a learned change, which suits random-walk-like
data such as log prices.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["GapGRU"]


def _check_batch(times: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, d: int) -> None:
    for name, x in (("times", times), ("values", values), ("mask", mask)):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(
                f"{name} must be a floating-point torch.Tensor, got "
                f"{type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}."
            )
    if values.dim() != 3 or values.shape[-1] != d:
        raise ValueError(
            f"values must have shape (batch, n_times, {d}), got {tuple(values.shape)}. "
            "Add a trailing feature axis with values.unsqueeze(-1) for univariate data."
        )
    if mask.shape != values.shape:
        raise ValueError(
            f"mask must have the shape of values {tuple(values.shape)}, got {tuple(mask.shape)}."
        )
    if times.shape != values.shape[:2]:
        raise ValueError(
            f"times must have shape (batch, n_times) = {tuple(values.shape[:2])}, got "
            f"{tuple(times.shape)}."
        )
    if times.shape[1] < 1:
        raise ValueError("the batch has no time steps; pass at least one observation per row.")
    if times.shape[1] > 1 and bool((times[:, 1:] < times[:, :-1]).any()):
        raise ValueError("times must be sorted (non-decreasing) along each row.")


class GapGRU(nn.Module):
    """GRU over irregular observations with the time gap as an input.

    Parameters
    ----------
    input_dim : int
        Features per observation D.
    hidden_size : int, default 32
        GRU hidden units.
    min_std : float, default 1e-3
        Floor added to the predicted standard deviation (``softplus(raw) + min_std``).
    residual : bool, default True
        Predict the mean as the last observed value (0 before any observation) plus a learned
        change, instead of the value itself.

    Examples
    --------
    >>> import torch
    >>> net = GapGRU(1, hidden_size=8)
    >>> times = torch.linspace(0, 1, 5).repeat(2, 1)
    >>> values, mask = torch.randn(2, 5, 1), torch.ones(2, 5, 1)
    >>> mean, std = net(times, values, mask)
    >>> mean.shape, std.shape
    (torch.Size([2, 5, 1]), torch.Size([2, 5, 1]))
    """

    def __init__(
        self,
        input_dim: int,
        *,
        hidden_size: int = 32,
        min_std: float = 1e-3,
        residual: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (("input_dim", input_dim), ("hidden_size", hidden_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}.")
        if not (isinstance(min_std, (int, float)) and min_std >= 0):
            raise ValueError(f"min_std must be a float >= 0, got {min_std!r}.")
        self.input_dim = input_dim
        self.hidden_size = hidden_size
        self.min_std = float(min_std)
        self.residual = bool(residual)
        self.gru = nn.GRU(2 * input_dim + 1, hidden_size, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(hidden_size + 1, hidden_size),
            nn.Tanh(),
            nn.Linear(hidden_size, 2 * input_dim),
        )

    # ------------------------------------------------------------------ pieces
    @staticmethod
    def _inputs(
        times: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """GRU inputs ``(B, T, 2D + 1)`` and the gaps ``Δt (B, T)`` (0 at the first step), in
        ``values``' dtype (differenced in the times' own precision first)."""
        gaps = torch.zeros_like(times)
        gaps[:, 1:] = times[:, 1:] - times[:, :-1]
        gaps = gaps.to(values.dtype)
        observed = mask > 0
        clean = torch.where(observed, values, torch.zeros_like(values))
        return torch.cat([clean, observed.to(values.dtype), gaps.unsqueeze(-1)], dim=-1), gaps

    @staticmethod
    def _last_observed(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Carry the last observed value forward along time, 0 before the first; (B, T, D)."""
        observed = mask > 0
        steps = torch.arange(values.shape[1], device=values.device).view(1, -1, 1)
        idx = torch.where(observed, steps, torch.full_like(steps, -1)).cummax(dim=1).values
        clean = torch.where(observed, values, torch.zeros_like(values))
        carried = clean.gather(1, idx.clamp(min=0))
        return torch.where(idx >= 0, carried, torch.zeros_like(carried))

    def _head(
        self, hidden: torch.Tensor, gap_next: torch.Tensor, last: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raw = self.head(torch.cat([hidden, gap_next.unsqueeze(-1)], dim=-1))
        mean, raw_std = raw.split(self.input_dim, dim=-1)
        if self.residual:
            mean = mean + last
        return mean, F.softplus(raw_std) + self.min_std

    # ------------------------------------------------------------------ API
    def forward(
        self, times: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One-step-ahead predictive Gaussians.

        Parameters
        ----------
        times : Tensor, shape (B, T)
        values, mask : Tensor, shape (B, T, D)

        Returns
        -------
        mean, std : Tensor, shape (B, T, D)
            Entry ``t`` predicts the value at step ``t + 1`` from steps ``<= t`` and the gap
            ``times[:, t + 1] - times[:, t]``. The last entry has no target (its gap is taken as 0).
        """
        _check_batch(times, values, mask, self.input_dim)
        inputs, gaps = self._inputs(times, values, mask)
        hidden, _ = self.gru(inputs)
        gap_next = torch.zeros_like(gaps)
        gap_next[:, :-1] = gaps[:, 1:]
        return self._head(hidden, gap_next, self._last_observed(values, mask))

    def loss(self, times: torch.Tensor, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Gaussian negative log-likelihood of each observed value given the past.

        Averaged over the observed targets ``mask[:, 1:]`` (the first step has no past).

        Parameters
        ----------
        times : Tensor, shape (B, T)
        values, mask : Tensor, shape (B, T, D)

        Returns
        -------
        Tensor, shape ()
            The mean negative log-likelihood.
        """
        mean, std = self(times, values, mask)
        target_mask = mask[:, 1:] > 0
        n_targets = target_mask.sum()
        if int(n_targets) == 0:
            raise ValueError(
                "no observed targets: every row needs at least two observed time steps for a "
                "one-step-ahead loss."
            )
        target = torch.where(target_mask, values[:, 1:], mean[:, :-1].detach())
        z = (target - mean[:, :-1]) / std[:, :-1]
        nll = 0.5 * z**2 + torch.log(std[:, :-1]) + 0.5 * math.log(2 * math.pi)
        return (nll * target_mask).sum() / n_targets

    def rollout(
        self,
        times_ctx: torch.Tensor,
        values_ctx: torch.Tensor,
        mask_ctx: torch.Tensor,
        future_times: torch.Tensor,
        n_samples: int,
        *,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample future paths autoregressively after conditioning on a context.

        The hidden state is taken at each row's last step with any observed feature; each future
        step draws from the predictive Gaussian (with the gap to that step), then feeds the draw
        back with mask 1 and its gap.

        Parameters
        ----------
        times_ctx : Tensor, shape (B, T)
        values_ctx, mask_ctx : Tensor, shape (B, T, D)
            Each row needs at least one observed step.
        future_times : Tensor, shape (B, H)
            Sorted times after each row's last observed time (same time units as ``times_ctx``).
        n_samples : int
            Paths per row.
        generator : torch.Generator, optional
            For reproducible draws.

        Returns
        -------
        Tensor, shape (n_samples, B, H, D)
        """
        _check_batch(times_ctx, values_ctx, mask_ctx, self.input_dim)
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        b = times_ctx.shape[0]
        if not isinstance(future_times, torch.Tensor) or future_times.dim() != 2:
            raise ValueError(
                f"future_times must be a tensor of shape (batch={b}, horizon), got "
                f"{getattr(future_times, 'shape', type(future_times).__name__)}."
            )
        if future_times.shape[0] != b or future_times.shape[1] < 1:
            raise ValueError(
                f"future_times must have shape ({b}, horizon >= 1), got {tuple(future_times.shape)}."
            )
        any_obs = (mask_ctx > 0).any(dim=-1)  # (B, T)
        if not bool(any_obs.any(dim=1).all()):
            raise ValueError("every context row needs at least one observed value.")
        steps = torch.arange(times_ctx.shape[1], device=times_ctx.device)
        last_idx = torch.where(any_obs, steps, torch.full_like(steps, -1)).max(dim=1).values
        rows = torch.arange(b, device=times_ctx.device)
        t_last = times_ctx[rows, last_idx]
        future_times = future_times.to(times_ctx)
        if bool((future_times[:, 0] < t_last).any()) or bool(
            (future_times[:, 1:] < future_times[:, :-1]).any()
        ):
            raise ValueError(
                "future_times must be sorted and start at or after each row's last observed time."
            )

        inputs, _ = self._inputs(times_ctx, values_ctx, mask_ctx)
        hidden_seq, _ = self.gru(inputs)
        hidden = hidden_seq[rows, last_idx]  # (B, hidden)
        last = self._last_observed(values_ctx, mask_ctx)[rows, last_idx]  # (B, D)

        s, d = n_samples, self.input_dim
        hidden = hidden.repeat(s, 1)  # (S*B, hidden), sample-major
        last = last.repeat(s, 1)
        prev_time = t_last.repeat(s)
        future = future_times.repeat(s, 1)  # (S*B, H)
        ones = torch.ones_like(last)
        out = []
        for k in range(future.shape[1]):
            gap = (future[:, k] - prev_time).to(last.dtype)
            mean, std = self._head(hidden, gap, last)
            noise = torch.randn(
                mean.shape, generator=generator, device=mean.device, dtype=mean.dtype
            )
            draw = mean + std * noise
            out.append(draw)
            step_in = torch.cat([draw, ones, gap.unsqueeze(-1)], dim=-1).unsqueeze(1)
            _, h_new = self.gru(step_in, hidden.unsqueeze(0).contiguous())
            hidden = h_new[0]
            last = draw
            prev_time = future[:, k]
        samples = torch.stack(out, dim=1)  # (S*B, H, D)
        return samples.view(s, b, future.shape[1], d)
