"""Tests for tsnode.nn.refine_z0 (test-time refinement of a Latent ODE's z0)."""

from __future__ import annotations

import pytest
import torch

from tsnode.nn import LatentODE, encode_bank, refine_z0


def _model(obs_std: float | None = 0.05) -> LatentODE:
    torch.manual_seed(0)
    return LatentODE(
        1,
        latent_dim=3,
        hidden_dim=8,
        ode_units=8,
        ode_layers=1,
        encoder_units=8,
        readout_units=8,
        solver="euler",
        options={"step_size": 0.1},
        obs_std=obs_std,
    ).double()


def _data(n_series: int = 5, n_times: int = 20, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    times = torch.linspace(0.0, 2.0, n_times, dtype=torch.float64)
    phase = torch.rand(n_series, 1, 1, generator=g, dtype=torch.float64) * 6.0
    values = torch.sin(3.0 * times[None, :, None] + phase)
    mask = (torch.rand(n_series, n_times, 1, generator=g) < 0.4).to(torch.float64)
    mask[:, 0] = 1.0
    return times, values, mask


def _energy(model, z, times, values, mask):
    mean, std = model.decode(z, times, 0.0)
    nll = 0.5 * ((values - mean) / std) ** 2 + torch.log(std)
    return (nll * mask).sum(dim=(-1, -2)) + 0.5 * (z**2).sum(-1)


@pytest.mark.parametrize("obs_std", [0.05, None])
def test_refinement_lowers_the_energy_of_the_encoder_guess(obs_std):
    model = _model(obs_std)
    times, values, mask = _data()
    g = torch.Generator().manual_seed(1)
    fit = refine_z0(model, times, values, mask, t0=0.0, n_restarts=4, n_steps=60, generator=g)
    with torch.no_grad():
        mean, _ = model.encode(times, values, mask, t0=0.0)
        before = _energy(model, mean, times, values, mask)  # (B,)
        after = _energy(model, fit.z0, times, values, mask)  # (S, B)
    assert fit.z0.shape == (4, 5, 3)
    assert fit.weights.shape == fit.energy.shape == (4, 5)
    torch.testing.assert_close(fit.energy, after, rtol=1e-10, atol=1e-10)
    assert (after.min(dim=0).values < before).all()


def test_weights_sum_to_one_and_a_small_temperature_keeps_the_best_fit():
    model = _model()
    times, values, mask = _data(seed=2)
    g = torch.Generator().manual_seed(0)
    fit = refine_z0(
        model, times, values, mask, n_restarts=6, n_steps=5, temperature=1e-6, generator=g
    )
    torch.testing.assert_close(fit.weights.sum(0), torch.ones(5, dtype=torch.float64))
    best = fit.energy.argmin(dim=0)
    torch.testing.assert_close(
        fit.weights, torch.nn.functional.one_hot(best, 6).T.to(torch.float64)
    )
    flat = refine_z0(model, times, values, mask, n_restarts=6, n_steps=5, temperature=1e12)
    torch.testing.assert_close(flat.weights, torch.full((6, 5), 1 / 6, dtype=torch.float64))


def test_mean_path_is_the_weighted_mean_of_the_decoded_restarts():
    model = _model()
    times, values, mask = _data()
    fit = refine_z0(model, times, values, mask, n_restarts=4, n_steps=5, t0=0.0)
    query = torch.linspace(0.0, 3.0, 7, dtype=torch.float64)
    paths = model.decode(fit.z0, query, 0.0)[0]  # (4, 5, 7, 1)
    expected = torch.einsum("rb,rbqd->bqd", fit.weights, paths)
    torch.testing.assert_close(fit.mean_path(model, query, 0.0), expected, rtol=1e-12, atol=1e-12)
    # One restart of weight 1: the decoded mean itself.
    single = fit._replace(z0=fit.z0[:1], weights=torch.ones_like(fit.weights[:1]))
    torch.testing.assert_close(
        single.mean_path(model, query), model.decode(fit.z0[0], query, 0.0)[0], rtol=0, atol=0
    )


def test_model_weights_inputs_and_flags_are_untouched():
    model = _model()
    times, values, mask = _data(seed=3)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    copies = (times.clone(), values.clone(), mask.clone())
    model.readout[0].weight.requires_grad_(False)  # a frozen layer stays frozen
    with torch.no_grad():  # works inside no_grad too
        refine_z0(model, times, values, mask, n_restarts=2, n_steps=3)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)
    for original, copy in zip((times, values, mask), copies, strict=True):
        torch.testing.assert_close(original, copy, rtol=0, atol=0)
    assert not model.readout[0].weight.requires_grad
    assert all(p.requires_grad for n, p in model.named_parameters() if n != "readout.0.weight")
    assert all(p.grad is None for p in model.parameters())


def test_reproducible_with_a_generator():
    model = _model()
    times, values, mask = _data(seed=4)
    a = refine_z0(model, times, values, mask, n_steps=3, generator=torch.Generator().manual_seed(7))
    b = refine_z0(model, times, values, mask, n_steps=3, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a.z0, b.z0, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_restarts": 0}, "n_restarts"),
        ({"n_steps": 2.5}, "n_steps"),
        ({"lr": -1.0}, "lr"),
        ({"temperature": 0.0}, "temperature"),
        ({"init_spread": -0.1}, "init_spread"),
        ({"init_spread": float("nan")}, "init_spread"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    times, values, mask = _data()
    with pytest.raises(ValueError, match=match):
        refine_z0(_model(), times, values, mask, **kwargs)


def test_rejects_a_non_latent_ode_and_per_series_times():
    times, values, mask = _data()
    with pytest.raises(TypeError, match="LatentODE"):
        refine_z0(torch.nn.Linear(1, 1), times, values, mask)
    with pytest.raises(ValueError, match="union grid"):
        refine_z0(_model(), times.expand(5, -1), values, mask)


# --------------------------------------------------------------------------- candidates
def _bank_and_data(n_bank: int = 40, n_series: int = 5):
    """A bank of random states and series decoded exactly from some of its members (a sharp
    likelihood, so that the generating member has the lowest energy despite the prior term)."""
    model = _model(1e-3)
    g = torch.Generator().manual_seed(3)
    bank = torch.randn(n_bank, 3, generator=g, dtype=torch.float64)
    members = torch.arange(n_series) * 7 % n_bank
    times = torch.linspace(0.0, 2.0, 20, dtype=torch.float64)
    with torch.no_grad():
        values = model.decode(bank[members], times, 0.0)[0]  # (B, T, 1)
    mask = (torch.rand(n_series, 20, 1, generator=g) < 0.5).to(torch.float64)
    mask[:, 0] = 1.0
    return model, bank, members, times, values, mask


def test_candidates_search_finds_the_member_that_generated_each_series():
    model, bank, members, times, values, mask = _bank_and_data()
    fit = refine_z0(model, times, values, mask, t0=0.0, candidates=bank, n_restarts=1, n_steps=0)
    torch.testing.assert_close(fit.z0[0], bank[members], rtol=0.0, atol=0.0)


def test_candidates_keep_the_lowest_energy_members_in_order():
    model, bank, _, times, values, mask = _bank_and_data()
    fit = refine_z0(model, times, values, mask, t0=0.0, candidates=bank, n_restarts=4, n_steps=0)
    with torch.no_grad():
        all_energy = _energy(model, bank[:, None, :], times, values, mask)  # (K, B)
    expected = all_energy.sort(dim=0).values[:4]
    torch.testing.assert_close(fit.energy, expected, rtol=1e-10, atol=1e-10)
    assert ((fit.z0[:, :, None, :] == bank[None, None]).all(-1).any(-1)).all()  # bank members


def test_candidates_screening_in_chunks_matches_one_pass(monkeypatch):
    import tsnode.nn.refine as refine

    model, bank, _, times, values, mask = _bank_and_data()
    whole = refine_z0(model, times, values, mask, t0=0.0, candidates=bank, n_restarts=3, n_steps=0)
    monkeypatch.setattr(refine, "_SCREEN_ELEMENTS", 1)  # one series per pass
    parts = refine_z0(model, times, values, mask, t0=0.0, candidates=bank, n_restarts=3, n_steps=0)
    torch.testing.assert_close(parts.z0, whole.z0, rtol=0.0, atol=0.0)


def test_steps_after_the_candidates_search_lower_the_energy():
    model, bank, _, times, _, mask = _bank_and_data()
    times, values, mask = _data()  # sinusoids: no bank member fits them exactly
    kwargs = dict(t0=0.0, candidates=bank, n_restarts=3)
    start = refine_z0(model, times, values, mask, n_steps=0, **kwargs)
    moved = refine_z0(model, times, values, mask, n_steps=30, **kwargs)
    assert (moved.energy.min(0).values < start.energy.min(0).values).all()


def test_candidates_leave_the_bank_untouched():
    model, bank, _, times, values, mask = _bank_and_data()
    before = bank.clone()
    refine_z0(model, times, values, mask, t0=0.0, candidates=bank, n_restarts=2, n_steps=5)
    torch.testing.assert_close(bank, before, rtol=0.0, atol=0.0)


@pytest.mark.parametrize(
    ("candidates", "error", "match"),
    [
        ([[0.0, 0.0, 0.0]] * 20, TypeError, "candidates must be a torch.Tensor"),
        (torch.zeros(20, 2, dtype=torch.float64), ValueError, r"\(K, 3\), got \(20, 2\)"),
        (torch.zeros(20, dtype=torch.float64), ValueError, "shape"),
        (torch.zeros(3, 3, dtype=torch.float64), ValueError, "n_restarts=16"),
        (torch.full((20, 3), float("nan"), dtype=torch.float64), ValueError, "finite"),
    ],
)
def test_bad_candidates_are_explained(candidates, error, match):
    times, values, mask = _data()
    with pytest.raises(error, match=match):
        refine_z0(_model(), times, values, mask, candidates=candidates)


def test_zero_steps_is_allowed_and_negative_steps_are_not():
    times, values, mask = _data()
    model = _model()
    fit = refine_z0(model, times, values, mask, n_restarts=2, n_steps=0)
    assert fit.z0.shape == (2, 5, 3)
    with pytest.raises(ValueError, match="n_steps must be a non-negative int"):
        refine_z0(model, times, values, mask, n_steps=-1)


# --------------------------------------------------------------------------- encode_bank
def test_encode_bank_is_the_encoder_means_in_any_batch_size():
    model = _model()
    times, values, mask = _data(n_series=7)
    with torch.no_grad():
        expected = model.encode(times, values, mask, t0=0.0)[0]
    for batch_size in (1, 3, 512):
        bank = encode_bank(model, times, values, mask, t0=0.0, batch_size=batch_size)
        assert bank.shape == (7, 3) and not bank.requires_grad
        torch.testing.assert_close(bank, expected, rtol=1e-12, atol=1e-12)
    default_t0 = encode_bank(model, times + 1.0, values, mask)  # t0 = times.min()
    torch.testing.assert_close(default_t0, expected, rtol=1e-10, atol=1e-10)


def test_encode_bank_feeds_refine_z0():
    model = _model()
    times, values, mask = _data(n_series=20)
    bank = encode_bank(model, times, values, mask, t0=0.0)
    fit = refine_z0(model, times, values[:3], mask[:3], t0=0.0, candidates=bank, n_steps=2)
    assert fit.z0.shape == (16, 3, 3)


def test_encode_bank_rejects_bad_arguments():
    times, values, mask = _data()
    with pytest.raises(TypeError, match="LatentODE"):
        encode_bank(torch.nn.Linear(1, 1), times, values, mask)
    with pytest.raises(ValueError, match="batch_size"):
        encode_bank(_model(), times, values, mask, batch_size=0)
    with pytest.raises(ValueError, match="union grid"):
        encode_bank(_model(), times.expand(5, -1), values, mask)
