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

With ``candidates`` (a bank of plausible initial states, e.g. the encoder's posterior means of
the training series: draws from the *aggregate posterior*, the prior the data actually fill,
cf. Hoffman & Johnson 2016 and the VampPrior of Tomczak & Welling 2018), the restarts start
instead from the candidates of lowest ``U(z0)`` for each series. This is a global search over
trajectories the model produced for real series: on very sparse series the decoder is flexible
enough to fit a few points with implausible paths, which local steps from the encoder's guess
find first. On the periodic benchmark at 10% observed (validation seeds 7 / 8 / 9,
``benchmarks/results/tune_toy.md``), restarts around the encoder's guess reached an
extrapolation MSE of 0.112 / 0.025 / 0.194, the bank's best 16 candidates plus 10 steps
0.060 / 0.015 / 0.131. A few steps polish the chosen candidates; many can drift back to such
over-fits (30 or 100 steps did no better than 10 there).

The model's weights are not changed (only the ``z0`` tensors are optimised).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from tsnode.nn._checks import check_tensor
from tsnode.nn.latent_ode import LatentODE, _own_targets

__all__ = ["RefinedZ0", "encode_bank", "refine_z0"]

#: Elements of the temporaries when screening ``candidates`` (memory bound, see
#: :func:`_screen_candidates`).
_SCREEN_ELEMENTS = 2**24


class RefinedZ0(NamedTuple):
    """Result of :func:`refine_z0`.

    z0 : (n_restarts, B, latent_dim) refined initial states.
    weights : (n_restarts, B) restart weights, summing to 1 over restarts for every series.
    energy : (n_restarts, B) final ``U(z0)`` of every restart (lower fits better).
    t0 : () the reference time of ``z0``, the ``t0`` :func:`refine_z0` used (``None`` in a
        result built by hand without it).
    """

    z0: torch.Tensor
    weights: torch.Tensor
    energy: torch.Tensor
    t0: torch.Tensor | None = None

    def mean_path(
        self, model: LatentODE, t_query: torch.Tensor, t0: float | torch.Tensor | None = None
    ) -> torch.Tensor:
        """The restart-weighted mean of the decoded means: the point prediction.

        Parameters
        ----------
        model : LatentODE
            The model that was refined.
        t_query : Tensor, shape (Q,)
            Strictly increasing query times.
        t0 : float or scalar Tensor, optional
            The time of z0; default the stored ``self.t0`` (the ``t0`` :func:`refine_z0` used,
            ``times.min()`` unless given), or 0.0 if there is none.

        Returns
        -------
        Tensor, shape (B, Q, D)
            ``sum_r weights[r, b] * mean_r[b]`` over the restarts ``r``. Gradients flow
            unless the caller runs it under ``torch.no_grad()``.
        """
        if t0 is None:
            t0 = 0.0 if self.t0 is None else self.t0
        paths = model.decode(self.z0, t_query, t0)[0]  # (n_restarts, B, Q, D)
        return (self.weights[:, :, None, None] * paths).sum(0)


def _check_positive(name: str, value: object, kind: type, *, allow_zero: bool = False) -> None:
    word = "non-negative" if allow_zero else "positive"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (value >= 0 if allow_zero else value > 0)
    ):
        raise ValueError(f"{name} must be a {word} {kind.__name__}, got {value!r}.")
    if kind is int and int(value) != value:
        raise ValueError(f"{name} must be a {word} int, got {value!r}.")


def _energy(
    pred_mean: torch.Tensor,
    pred_std: torch.Tensor,
    targets: torch.Tensor,
    target_mask: torch.Tensor,
    z: torch.Tensor,
) -> torch.Tensor:
    """``U(z0)``: Gaussian NLL of the masked targets (summed over the last two axes, times and
    dimensions) plus the standard normal prior's ``|z|^2 / 2``; all inputs broadcast."""
    nll = 0.5 * ((targets - pred_mean) / pred_std) ** 2 + torch.log(pred_std)
    return (nll * target_mask).sum(dim=(-1, -2)) + 0.5 * (z**2).sum(-1)


def _check_model_and_grid(model: object, times: torch.Tensor) -> torch.Tensor:
    """Check ``model`` and ``times``; return ``times``, integer ones as float64 (float32 on
    MPS), so that a fractional ``t0`` is not truncated to an integer dtype."""
    if not isinstance(model, LatentODE):
        raise TypeError(f"model must be a LatentODE, got {type(model).__name__}.")
    check_tensor("times", times)
    if times.dim() != 1:
        raise ValueError(f"times must be the 1-D union grid (T,), got {tuple(times.shape)}.")
    return times.to(model._time_dtype(times))  # a no-op for floating times


def _check_candidates(candidates: object, latent_dim: int, n_restarts: int) -> torch.Tensor:
    if not isinstance(candidates, torch.Tensor):
        raise TypeError(
            f"candidates must be a torch.Tensor of shape (K, {latent_dim}), "
            f"got {type(candidates).__name__}."
        )
    if candidates.dim() != 2 or candidates.shape[1] != latent_dim:
        raise ValueError(
            f"candidates must have shape (K, latent_dim) = (K, {latent_dim}), got "
            f"{tuple(candidates.shape)}; e.g. the encoder means of the training series, "
            "encode_bank(model, times, values, mask)."
        )
    if candidates.shape[0] < n_restarts:
        raise ValueError(
            f"candidates holds {candidates.shape[0]} states but n_restarts={n_restarts} are "
            "drawn from it; pass more candidates or lower n_restarts."
        )
    if not bool(torch.isfinite(candidates).all()):
        raise ValueError("candidates must be finite (it holds NaN or inf).")
    return candidates.detach()


def _screen_candidates(
    model: LatentODE,
    candidates: torch.Tensor,
    times: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    t0: torch.Tensor,
    n_keep: int,
) -> torch.Tensor:
    """The ``n_keep`` candidates of lowest ``U`` for each series, ``(n_keep, B, latent_dim)``.

    All series share the union grid and ``t0``, so each candidate is decoded once, ``(K, T, D)``,
    and scored against every series' observations; candidates and series are taken in chunks
    so that no temporary exceeds about ``_SCREEN_ELEMENTS`` elements.
    """
    observed = torch.where(mask > 0, values, torch.zeros_like(values))
    per_candidate = times.numel() * values.shape[-1]
    n_decode = max(1, _SCREEN_ELEMENTS // max(1, per_candidate))  # candidates per decode
    with torch.no_grad():
        energies = []
        for c_lo in range(0, candidates.shape[0], n_decode):
            z = candidates[c_lo : c_lo + n_decode]
            mean, std = model.decode(z.unsqueeze(1), times, t0)  # (k, 1, T, D)
            mean, std = mean[:, 0], std[:, 0]
            n_series = max(1, _SCREEN_ELEMENTS // max(1, mean.numel()))  # series per pass
            rows = []
            for lo in range(0, values.shape[0], n_series):
                v, m = observed[lo : lo + n_series], mask[lo : lo + n_series]
                rows.append(_energy(mean[:, None], std[:, None], v[None], m[None], z[:, None]))
            energies.append(torch.cat(rows, dim=1))  # (k, B)
        energy = torch.nan_to_num(torch.cat(energies), nan=float("inf"))  # (K, B)
        best = energy.topk(n_keep, dim=0, largest=False).indices  # (n_keep, B)
    return candidates[best]


def encode_bank(
    model: LatentODE,
    times: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    *,
    t0: float | torch.Tensor | None = None,
    batch_size: int = 512,
) -> torch.Tensor:
    """The encoder's posterior means of many series: a bank for ``refine_z0(candidates=...)``.

    Parameters
    ----------
    model : LatentODE
    times : Tensor, shape (T,)
        Union grid of the series' observation times.
    values, mask : Tensor, shape (N, T, D)
        The series (typically the training set, every observed point encoded).
    t0 : float or scalar Tensor, optional
        Reference time of the states; default ``times.min()``. Use the same ``t0`` as in
        :func:`refine_z0`.
    batch_size : int, default 512
        Series encoded per call (memory bound only).

    Returns
    -------
    Tensor, shape (N, latent_dim)
    """
    times = _check_model_and_grid(model, times)
    _check_positive("batch_size", batch_size, int)
    t0 = times.min() if t0 is None else t0
    size = int(batch_size)
    with torch.no_grad():
        means = [
            model.encode(times, values[lo : lo + size], mask[lo : lo + size], t0=t0)[0]
            for lo in range(0, values.shape[0], size)
        ]
    return torch.cat(means)


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
    candidates: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> RefinedZ0:
    """Refine ``z0`` for every series by gradient steps on its log joint density.

    Parameters
    ----------
    model : LatentODE
        A trained model; its parameters are left untouched (and their ``requires_grad`` flags
        restored).
    times : Tensor, shape (T,)
        Increasing union grid of the observation times (integer ones are converted to
        float64, float32 on MPS).
    values, mask : Tensor, shape (B, T, D)
        Observations and their mask (1 observed, 0 missing), as for :meth:`LatentODE.encode`.
    t0 : float or scalar Tensor, optional
        Reference time of ``z0``; default ``times.min()``. Stored in the result, where
        :meth:`RefinedZ0.mean_path` finds it.
    n_restarts : int, default 16
        Starting points per series, ``mean + (std + init_spread) * eps`` with ``eps ~ N(0, I)``
        and ``(mean, std)`` the encoder's posterior; or, with ``candidates``, the
        ``n_restarts`` candidates of lowest ``U(z0)``.
    n_steps : int, default 100
        Adam steps (every restart and series moves independently); 0 keeps the starting
        points (with ``candidates``: a pure search of the bank).
    lr : float, default 0.05
        Adam learning rate, in latent units.
    init_spread : float, default 0.5
        Extra spread of the starting points around the encoder's mean.
    temperature : float, default 100.0
        Temperature of the restart weights (see the module docstring).
    candidates : Tensor, shape (K, latent_dim), optional
        A bank of initial states to start from instead of the encoder's posterior, ``K >=
        n_restarts`` (see the module docstring), e.g. :func:`encode_bank` of the training
        series. Its states must refer to the same ``t0``.
        Screening costs one decode of the ``K`` candidates on ``times``.
    generator : torch.Generator, optional
        For reproducible starting points (not used with ``candidates``).

    Returns
    -------
    RefinedZ0
        Decode with ``model.decode(result.z0, t_query, result.t0)`` and average over restarts
        with ``result.weights``, or call ``result.mean_path(model, t_query)``.
    """
    times = _check_model_and_grid(model, times)
    _check_positive("n_restarts", n_restarts, int)
    _check_positive("n_steps", n_steps, int, allow_zero=True)
    _check_positive("lr", lr, float)
    _check_positive("temperature", temperature, float)
    if (
        isinstance(init_spread, bool)
        or not isinstance(init_spread, (int, float))
        or not (init_spread >= 0 and math.isfinite(init_spread))
    ):
        raise ValueError(f"init_spread must be a non-negative float, got {init_spread!r}.")
    if candidates is not None:
        candidates = _check_candidates(candidates, model.latent_dim, int(n_restarts))
    t0 = times.min() if t0 is None else torch.as_tensor(t0, dtype=times.dtype)
    mask = mask.to(values.dtype)
    index, targets, target_mask = _own_targets(values, mask)
    targets = torch.where(target_mask > 0, targets, torch.zeros_like(targets))

    flags = [p.requires_grad for p in model.parameters()]
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        if candidates is None:
            with torch.no_grad():
                mean, std = model.encode(times, values, mask, t0=t0)
                eps = torch.randn(
                    (int(n_restarts), *mean.shape),
                    dtype=mean.dtype,
                    device=mean.device,
                    generator=generator,
                )
            start = mean + (std + float(init_spread)) * eps
        else:
            bank = candidates.to(device=values.device, dtype=values.dtype)
            start = _screen_candidates(model, bank, times, values, mask, t0, int(n_restarts))
        z0 = start.detach().clone().requires_grad_(True)

        def energy(z: torch.Tensor) -> torch.Tensor:
            pred_mean, pred_std = model.decode(z, times, t0, index=index)
            return _energy(pred_mean, pred_std, targets, target_mask, z)  # (S, B)

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
    return RefinedZ0(z0.detach(), weights, final, t0.reshape(()))
