"""Section 1 of ``bench_toy.py``: the irregular periodic set (Rubanova et al. 2019), its
models, losses, read-outs and one benchmark run (see ``bench_toy``'s docstring)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import torch
from _toy_training import KL_RAMP, VALIDATION_SEED_OFFSET, train_best_of, validation_loss
from torch import nn

from tsnode.datasets import PeriodicData, make_periodic
from tsnode.nn.encoder import ODERNNEncoder, fixed_step
from tsnode.nn.gru import GapGRU
from tsnode.nn.latent_ode import LatentODE
from tsnode.nn.refine import encode_bank, refine_z0

T_MAX = 5.0
T_SPLIT = T_MAX / 2
#: Fixed Euler step of the latent ODE (time units of the data). Periodic: the grid's mean spacing
#: (100 points on [0, 5]); spirals: about 2.6 grid spacings (200 points on [0, 3.77]). Queries
#: between steps are linearly interpolated (:meth:`LatentODE._solve`). At these sizes a step
#: costs about what an early dopri5 step costs, but it does not grow during training (dopri5
#: averaged ~8 training steps per CPU-second over 25 s, Euler ~15) and the model learns its own
#: discrete dynamics.
PERIODIC_STEP = 0.05
PERIODIC_TRAINED = ("latent_ode", "ode_rnn", "gru")
PERIODIC_MODELS = (
    "latent_ode",
    "latent_ode_refined",
    "latent_ode_bank",
    "ode_rnn",
    "gru",
    "gru_maskfwd",
    "gru_bank",
)
#: The GRU read-outs the periodic targets compare against (the best of them per task).
GRU_READOUTS = ("gru", "gru_maskfwd", "gru_bank")
#: Adam steps of the bank read-out (``refine_z0(candidates=...)``) after its search of the bank,
#: chosen on validation seeds 7 and 9 (10, 30 or 100; ``tune_toy.md``).
BANK_STEPS = 10
#: The Latent ODE's read-out checked against the periodic targets: z0 searched in the bank of
#: training encodings, then refined per test series (:func:`tsnode.nn.refine_z0` with
#: ``candidates``), chosen on validation seeds 7, 8 and 9 with ``benchmarks/tune_toy.py`` before
#: the benchmark's seeds were run with it (``latent_ode_refined`` was the choice before).
PERIODIC_TARGET_MODEL = "latent_ode_bank"


class ForwardODERNN(nn.Module):
    """ODE-RNN run forward in time with a linear readout of the hidden state.

    Reuses the hidden-state field and GRU cell of :class:`ODERNNEncoder` (its ``to_posterior``
    head is not used). ``forward`` returns, for every grid time, the readout of the hidden state
    evolved to that time *before* the observation there updates it: a one-step-ahead (filtered)
    prediction that never sees the value it predicts.
    """

    def __init__(self, input_dim: int, *, hidden_dim: int, ode_units: int) -> None:
        super().__init__()
        self.cell = ODERNNEncoder(input_dim, 1, hidden_dim=hidden_dim, ode_units=ode_units)
        self.readout = nn.Linear(hidden_dim, input_dim)

    def forward(
        self, times: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """``times (T,)``, ``values``/``mask (B, T, D)`` → predictions ``(B, T, D)``."""
        batch = values.shape[0]
        clean = torch.where(mask > 0, values, torch.zeros_like(values))
        inputs = torch.cat([clean, mask], dim=-1)
        observed = mask.amax(dim=-1, keepdim=True) > 0  # (B, T, 1)
        h = values.new_zeros(batch, self.cell.hidden_dim)
        states = []
        for i in range(times.shape[0]):
            if i > 0:
                dt = (times[i] - times[i - 1]).expand(batch, 1)
                h = fixed_step(self.cell.field, h, dt, self.cell.n_substeps, self.cell.method)
            states.append(h)
            h = torch.where(observed[:, i], self.cell.gru(inputs[:, i], h), h)
        return self.readout(torch.stack(states, dim=1))


# --------------------------------------------------------------------------- periodic
def first_half(times: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mask restricted to ``times <= T_SPLIT``; ``times (T,)``, ``mask (N, T, 1)``."""
    return mask * (times <= T_SPLIT).to(mask.dtype)[None, :, None]


def inside_span(mask: torch.Tensor) -> torch.Tensor:
    """Hidden grid points strictly between each series' first and last observation, (N, T, 1)."""
    seen = mask[..., 0] > 0
    pos = torch.arange(seen.shape[1]).expand_as(seen)
    first = torch.where(seen, pos, seen.shape[1]).min(dim=1, keepdim=True).values
    last = torch.where(seen, pos, -1).max(dim=1, keepdim=True).values
    return ((~seen) & (pos > first) & (pos < last)).unsqueeze(-1)


def has_context(times: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Series with at least one observation in the first half, bool ``(N,)``."""
    return first_half(times, mask).sum(dim=(1, 2)) > 0


def periodic_model(name: str, quick: bool, **latent_overrides: Any) -> nn.Module:
    """The periodic set's networks; ``latent_overrides`` replace LatentODE keywords (tuning)."""
    width = 8 if quick else 64
    if name == "latent_ode":
        kwargs: dict[str, Any] = dict(
            latent_dim=4,  # chosen on validation seeds 7-9 over 10 (tune_toy.md)
            encoder_init_std=0.01,  # no decode-the-mean plateau (tune_toy.md)
            hidden_dim=width,
            ode_units=width,
            ode_layers=1,
            encoder_units=width,
            readout_units=width,
            solver="euler",
            options={"step_size": PERIODIC_STEP},
            obs_std=0.01,
            encoder_substeps=4,
        )
        return LatentODE(1, **(kwargs | latent_overrides))
    if name == "ode_rnn":
        return ForwardODERNN(1, hidden_dim=width, ode_units=width)
    return GapGRU(1, hidden_size=width)


def periodic_loss(name: str, model: nn.Module, data: PeriodicData) -> Callable:
    times, grid = data.times, data.times.expand(data.values.shape[0], -1)

    def loss(idx: torch.Tensor, step: int, progress: float) -> torch.Tensor:
        values, mask = data.values[idx], data.mask[idx]
        if name == "gru":
            return model.loss(grid[idx], values, mask)
        encoder_mask = mask if step % 2 == 0 else first_half(times, mask)
        if name == "latent_ode":
            kl_weight = min(1.0, progress / KL_RAMP)
            return model.elbo(
                times, values, encoder_mask, times, values, mask, n_samples=1, kl_weight=kl_weight
            ).loss
        pred = model(times, values, encoder_mask)
        return ((pred - values) ** 2 * mask).sum() / mask.sum()

    return loss


@torch.no_grad()
def gru_bank(model: GapGRU, data: PeriodicData) -> tuple[torch.Tensor, torch.Tensor]:
    """The GRU's one-step predictive mean and std at every grid time of every series of
    ``data`` (all points fed), each ``(N, T, 1)``: the candidate paths of ``gru_bank``."""
    model.eval()
    grid = data.times.expand(data.values.shape[0], -1)
    mean, std = (
        torch.cat([x[:, :1], x[:, :-1]], dim=1)  # entry j-1 predicts point j
        for x in model(grid, data.values, data.mask)
    )
    return mean, std


def bank_search(
    bank: tuple[torch.Tensor, torch.Tensor],
    values: torch.Tensor,
    mask: torch.Tensor,
    *,
    k: int = 16,
    temperature: float = 100.0,
    chunk: int = 25,
) -> torch.Tensor:
    """Weighted mean of the ``k`` bank paths that best explain each series' observed points.

    ``bank``: candidate means and stds ``(K, T, 1)``; ``values``, ``mask``: ``(N, T, 1)``.
    A candidate's energy is the Gaussian NLL of the series' observed values (the data term of
    :func:`tsnode.nn.refine_z0`'s energy); the ``k`` lowest are weighted by
    ``softmax(-energy / temperature)``, as there. Returns ``(N, T, 1)``.
    """
    mean, std = bank
    k = min(k, mean.shape[0])
    out = []
    for start in range(0, values.shape[0], chunk):
        v, m = values[start : start + chunk, None], mask[start : start + chunk, None]
        nll = 0.5 * ((v - mean[None]) / std[None]) ** 2 + torch.log(std[None])
        energy = (nll * m).sum(dim=(-1, -2))  # (chunk, K)
        best, idx = torch.topk(energy, k, dim=1, largest=False)
        weights = torch.softmax(-best / temperature, dim=1)  # (chunk, k)
        out.append((weights[:, :, None, None] * mean[idx]).sum(1))
    return torch.cat(out)


def encoder_bank(model: LatentODE, data: PeriodicData) -> torch.Tensor:
    """The encoder's posterior means of every series of ``data`` (all points seen), ``(N, L)``:
    the bank of the ``latent_ode_bank`` read-out (training series only)."""
    model.eval()
    return encode_bank(model, data.times, data.values, data.mask, t0=0.0, batch_size=500)


@torch.no_grad()
def periodic_predict(
    name: str,
    model: nn.Module,
    test: PeriodicData,
    generator: torch.Generator,
    bank: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Read-out name -> interpolation and extrapolation predictions at every grid time, each
    ``(N, T, 1)``. ``bank``: for the Latent ODE, :func:`encoder_bank` of the training set (the
    ``latent_ode_bank`` read-out); for the GRU, :func:`gru_bank` of it (``gru_bank``)."""
    times, values, mask = test.times, test.values, test.mask
    enc_first = first_half(times, mask)
    model.eval()
    if name == "latent_ode":
        readouts: dict[str, list[torch.Tensor]] = {name: [], f"{name}_refined": []}
        if bank is not None:
            readouts[f"{name}_bank"] = []
        for m in (mask, enc_first):
            draws = model(times, values, m, times, n_samples=16, t0=0.0, generator=generator)
            readouts[name].append(draws.pred_mean.mean(0))
            fits = {
                f"{name}_refined": refine_z0(model, times, values, m, t0=0.0, generator=generator)
            }
            if bank is not None:
                fits[f"{name}_bank"] = refine_z0(
                    model, times, values, m, t0=0.0, candidates=bank, n_steps=BANK_STEPS
                )
            for key, fit in fits.items():
                readouts[key].append(fit.mean_path(model, times, 0.0))
        return {key: (pair[0], pair[1]) for key, pair in readouts.items()}
    if name == "ode_rnn":
        return {name: (model(times, values, mask), model(times, values, enc_first))}
    grid = times.expand(values.shape[0], -1)

    def one_step(m: torch.Tensor) -> torch.Tensor:
        mean, _ = model(grid, values, m)
        return torch.cat([mean[:, :1], mean[:, :-1]], dim=1)  # entry j-1 predicts point j

    interp = one_step(mask)
    ctx = times <= T_SPLIT
    rows = has_context(times, mask)  # rollout needs an observation to start from
    future = times[~ctx].expand(int(rows.sum()), -1)
    paths = model.rollout(
        grid[rows][:, ctx],
        values[rows][:, ctx],
        mask[rows][:, ctx],
        future,
        32,
        generator=generator,
    )
    extrap = torch.cat([interp[:, ctx], torch.zeros_like(interp[:, ~ctx])], dim=1)
    extrap[rows.nonzero()[:, 0][:, None], (~ctx).nonzero()[:, 0]] = paths.mean(0)
    out = {"gru": (interp, extrap), "gru_maskfwd": (interp, one_step(enc_first))}
    if bank is not None:
        out["gru_bank"] = (bank_search(bank, values, mask), bank_search(bank, values, enc_first))
    return out


def periodic_split(
    n_train: int, n_test: int, fraction: float, seed: int, n_points: int = 100
) -> tuple[PeriodicData, PeriodicData, torch.Tensor, torch.Tensor]:
    """Training and test sets of one periodic run, and the test points each task scores.

    Returns ``train``, ``test``, ``interp_at`` and ``extrap_at`` (bool masks ``(N_test, T, 1)``).
    Extrapolation is scored on the series with an observation in the first half (a GRU rollout
    needs one; at 10% observed about 1 series in 1000 has none), the same for all models.
    """
    data = make_periodic(
        n_train + n_test,
        n_points=n_points,
        t_max=T_MAX,
        observed_fraction=fraction,
        noise=0.01,
        random_state=seed,
    )
    train = PeriodicData(data.times, *(x[:n_train] for x in data[1:]))
    test = PeriodicData(data.times, *(x[n_train:] for x in data[1:]))
    interp_at = inside_span(test.mask)
    context = has_context(test.times, test.mask)
    extrap_at = (test.times > T_SPLIT)[None, :, None] & context[:, None, None]
    return train, test, interp_at, extrap_at


def periodic_validation(n: int, fraction: float, seed: int, n_points: int = 100) -> PeriodicData:
    """``n`` validation series for :func:`train_for`'s checkpoint choice: drawn like
    :func:`periodic_split`'s, from ``seed + VALIDATION_SEED_OFFSET``; never scored."""
    return make_periodic(
        n,
        n_points=n_points,
        t_max=T_MAX,
        observed_fraction=fraction,
        noise=0.01,
        random_state=seed + VALIDATION_SEED_OFFSET,
    )


def run_periodic(args: argparse.Namespace, fraction: float, seed: int) -> dict[str, Any]:
    n_points = 30 if args.quick else 100
    cut = args.n_periodic
    train, test, interp_at, extrap_at = periodic_split(
        cut, args.n_periodic_test, fraction, seed, n_points
    )
    val = periodic_validation(args.n_periodic_val, fraction, seed, n_points)
    results: dict[str, Any] = {"n_extrap_series": int(has_context(test.times, test.mask).sum())}
    for name in PERIODIC_TRAINED:
        model, info, g = train_best_of(
            lambda name=name: periodic_model(name, args.quick),
            lambda model, name=name: periodic_loss(name, model, train),
            lambda model, name=name: validation_loss(
                periodic_loss(name, model, val), model, len(val.values)
            ),
            restarts=args.restarts,
            seed=seed,
            n_train=cut,
            batch_size=args.batch_size,
            budget_s=args.periodic_budget,
            lr=args.lr,
        )
        bank = {"latent_ode": encoder_bank, "gru": gru_bank}.get(name, lambda *_: None)(
            model, train
        )
        for variant, (interp, extrap) in periodic_predict(name, model, test, g, bank).items():
            cell = dict(info)
            cell["interp_mse"] = float(((interp - test.truth)[interp_at] ** 2).mean())
            cell["extrap_mse"] = float(((extrap - test.truth)[extrap_at] ** 2).mean())
            results[variant] = cell
            print(
                f"periodic f={fraction:.0%} seed={seed} {variant:>11s}: interp "
                f"{cell['interp_mse']:.4f}  extrap {cell['extrap_mse']:.4f}  ({cell['steps']} steps, "
                f"restart {cell['kept_restart']} kept at {cell['best_at']:.2f}, "
                f"final loss {cell['final_loss']:.1f})",
                flush=True,
            )
    return results
