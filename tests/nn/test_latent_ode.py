"""Tests for `tsnode.nn.latent_ode.LatentODE`: batching, decoding, ELBO/IWAE, time handling."""

from __future__ import annotations

import math

import pytest
import torch

from tsnode.nn.latent_ode import ELBOResult, LatentODE, LatentODEOutput
from tsnode.nn.ode import SolverError

TIGHT = {"solver": "dopri5", "rtol": 1e-10, "atol": 1e-12}


def _model(dtype: torch.dtype = torch.float64, seed: int = 0, **kwargs) -> LatentODE:
    torch.manual_seed(seed)
    options = {
        "latent_dim": 3,
        "hidden_dim": 6,
        "ode_units": 8,
        "ode_layers": 1,
        "encoder_units": 8,
        "readout_units": 8,
    }
    options.update(kwargs)
    return LatentODE(2, **options).to(dtype)


def _irregular_batch(seed: int = 0, n_series: int = 3):
    """Per-series ``(times (T_b,), values (1, T_b, 2), mask)`` and the union-grid layout."""
    g = torch.Generator().manual_seed(seed)
    per_series = []
    for b in range(n_series):
        n = 4 + b
        times = torch.sort(torch.rand(n, generator=g, dtype=torch.float64) * 2.0).values
        values = torch.randn(1, n, 2, generator=g, dtype=torch.float64)
        mask = torch.ones(1, n, 2, dtype=torch.float64)
        mask[0, 1, 1] = 0.0
        per_series.append((times, values, mask))
    union = torch.unique(torch.cat([s[0] for s in per_series]))
    values = torch.full((n_series, len(union), 2), float("nan"), dtype=torch.float64)
    mask = torch.zeros(n_series, len(union), 2, dtype=torch.float64)
    for b, (times, v, m) in enumerate(per_series):
        idx = torch.searchsorted(union, times)
        values[b, idx], mask[b, idx] = v[0], m[0]
    return per_series, union, values, mask


def _sine_problem(n_series: int = 8, n_times: int = 10, dtype=torch.float32):
    g = torch.Generator().manual_seed(42)
    times = torch.linspace(0.0, 2.0, n_times, dtype=dtype)
    phase = torch.rand(n_series, 1, generator=g, dtype=dtype) * 2 * math.pi
    values = torch.stack([torch.sin(2 * times + phase), torch.cos(2 * times + phase)], dim=-1)
    return times, values, torch.ones_like(values)


# ----------------------------------------------------------------------------- batching


def test_batch_equals_per_series_decoded_means():
    per_series, union, values, mask = _irregular_batch()
    model = _model(**TIGHT)
    t0 = torch.tensor(0.0, dtype=torch.float64)
    t_query = torch.tensor([-0.5, 0.3, 1.1, 2.5, 4.0], dtype=torch.float64)
    out = model(union, values, mask, t_query, n_samples=4, t0=t0)
    assert out.pred_mean.shape == (4, 3, 5, 2)
    batch_mean, _ = model.decode(out.z0_mean, t_query, t0=t0)
    for b, (times, v, m) in enumerate(per_series):
        z0_mean, z0_std = model.encode(times, v, m, t0=t0)
        torch.testing.assert_close(out.z0_mean[b : b + 1], z0_mean, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(out.z0_std[b : b + 1], z0_std, rtol=1e-10, atol=1e-12)
        alone_mean, _ = model.decode(z0_mean, t_query, t0=t0)
        # The batch shares adaptive steps; both solves are within the solver tolerance.
        torch.testing.assert_close(batch_mean[b : b + 1], alone_mean, rtol=1e-8, atol=1e-9)


def test_forward_decodes_its_own_z0_samples():
    _, union, values, mask = _irregular_batch(seed=1)
    model = _model(**TIGHT)
    t_query = torch.linspace(0.0, 3.0, 4, dtype=torch.float64)
    out = model(union, values, mask, t_query, n_samples=5)
    assert isinstance(out, LatentODEOutput)
    assert out.z0.shape == (5, 3, 3)
    assert out.z0_mean.shape == out.z0_std.shape == (3, 3)
    mean, std = model.decode(out.z0, t_query, t0=union.min())
    torch.testing.assert_close(out.pred_mean, mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out.pred_std, std, rtol=1e-12, atol=1e-12)


def test_times_of_shape_b_t():
    times, values, mask = _sine_problem(n_series=3, dtype=torch.float64)
    model = _model(**TIGHT)
    t_query = times[-3:] + 1.0
    shared = model(times, values, mask, t_query, t0=0.0)
    rows = model(times.expand(3, -1).clone(), values, mask, t_query, t0=0.0)
    torch.testing.assert_close(rows.z0_mean, shared.z0_mean, rtol=0, atol=0)


# ----------------------------------------------------------------------------- decode


def test_decode_before_between_and_after_observations():
    model = _model(**TIGHT)
    z0 = torch.randn(4, 2, 3, dtype=torch.float64)  # (*batch, latent)
    t0 = 1.0
    t_query = torch.tensor([-1.0, 0.5, 1.0, 1.7, 2.2, 6.0], dtype=torch.float64)
    mean, std = model.decode(z0, t_query, t0=t0)
    assert mean.shape == std.shape == (4, 2, 6, 2)
    assert torch.isfinite(mean).all() and (std > 0).all()
    # Pieces decoded separately agree with the joint decode.
    before, _ = model.decode(z0, t_query[:2], t0=t0)
    after, _ = model.decode(z0, t_query[3:], t0=t0)
    torch.testing.assert_close(mean[..., :2, :], before, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(mean[..., 3:, :], after, rtol=1e-9, atol=1e-10)
    # At t0 the latent state is z0 itself.
    readout = model.readout(z0)
    torch.testing.assert_close(mean[..., 2, :], readout[..., :2], rtol=0, atol=0)
    at_t0, _ = model.decode(z0, torch.tensor([t0], dtype=torch.float64), t0=t0)
    torch.testing.assert_close(at_t0[..., 0, :], readout[..., :2], rtol=0, atol=0)


def test_decode_backwards_then_forwards_is_consistent():
    model = _model(**TIGHT)
    z0 = torch.randn(3, 3, dtype=torch.float64)
    # Solve to t = -1 (reverse time), then decode from there forward to t = 0.8.
    z_back = model.ode(z0, torch.tensor([0.0, -1.0], dtype=torch.float64))[-1]
    direct, _ = model.decode(z0, torch.tensor([0.8], dtype=torch.float64), t0=0.0)
    via_past, _ = model.decode(z_back, torch.tensor([0.8], dtype=torch.float64), t0=-1.0)
    torch.testing.assert_close(via_past, direct, rtol=1e-8, atol=1e-9)


def test_decode_bad_query_times():
    model = _model()
    z0 = torch.zeros(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="t_query must be a non-empty 1-D tensor"):
        model.decode(z0, torch.zeros(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="t_query must be a non-empty 1-D tensor"):
        model.decode(z0, torch.zeros(0, dtype=torch.float64))
    with pytest.raises(ValueError, match="t_query must be strictly increasing"):
        model.decode(z0, torch.tensor([0.0, 2.0, 1.0], dtype=torch.float64))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="time_scale must be a positive float, got 0"):
        LatentODE(1, time_scale=0)
    with pytest.raises(ValueError, match="obs_std must be positive or None"):
        LatentODE(1, obs_std=-0.1)
    with pytest.raises(ValueError, match="solver='dopri55' is not a known ODE solver"):
        LatentODE(1, solver="dopri55")


# ----------------------------------------------------------------------------- ELBO


def _elbo(model, n_samples=3, seed=0, **kwargs):
    times, values, mask = _sine_problem(n_series=4, dtype=next(model.parameters()).dtype)
    torch.manual_seed(seed)
    return model.elbo(times, values, mask, times, values, mask, n_samples=n_samples, **kwargs)


def test_elbo_is_finite_and_decreases_with_adam():
    times, values, mask = _sine_problem()
    model = _model(torch.float32, latent_dim=4, solver="rk4", options={"step_size": 0.5})
    optimiser = torch.optim.Adam(model.parameters(), lr=5e-2)
    torch.manual_seed(0)
    losses = []
    for _ in range(20):
        optimiser.zero_grad()
        result = model.elbo(times, values, mask, times, values, mask, n_samples=2)
        assert isinstance(result, ELBOResult)
        assert all(torch.isfinite(x) and x.dim() == 0 for x in result)
        result.loss.backward()
        optimiser.step()
        losses.append(result.loss.item())
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < first - 0.05, losses


def test_gradients_flow_to_encoder_and_decoder():
    model = _model()
    _elbo(model).loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    for prefix in ("encoder.gru", "encoder.field", "encoder.to_posterior", "ode.", "readout"):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(prefix)]
        assert grads and any(g.abs().sum() > 0 for g in grads), prefix


def test_kl_weight_zero_removes_the_kl_term():
    model = _model()
    times, values, mask = _sine_problem(n_series=4, dtype=torch.float64)
    n_obs = mask.sum()
    with_kl = _elbo(model, kl_weight=1.0)
    without = _elbo(model, kl_weight=0.0)
    assert with_kl.kl > 0
    torch.testing.assert_close(without.kl, with_kl.kl, rtol=0, atol=0)  # still reported
    torch.testing.assert_close(without.log_likelihood, with_kl.log_likelihood, rtol=0, atol=0)
    # Every series has the same number of targets here, so loss = -(ll - w * kl) per value.
    per_series = n_obs / values.shape[0]
    torch.testing.assert_close(without.loss, -without.log_likelihood, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        with_kl.loss - without.loss, with_kl.kl / per_series, rtol=1e-10, atol=1e-12
    )
    half = _elbo(model, kl_weight=0.5)
    torch.testing.assert_close(
        half.loss - without.loss, 0.5 * with_kl.kl / per_series, rtol=1e-10, atol=1e-12
    )


def test_iwae_bound():
    model = _model()
    iwae = _elbo(model, n_samples=4, iwae=True)
    assert all(torch.isfinite(x) for x in iwae)
    iwae.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    # Same z0 samples, no prior/posterior term: log-mean-exp >= mean (Jensen).
    plain = _elbo(model, n_samples=4, kl_weight=0.0)
    tight = _elbo(model, n_samples=4, kl_weight=0.0, iwae=True)
    assert tight.loss <= plain.loss
    # With a single sample the two bounds coincide when the KL term is off.
    one_plain = _elbo(model, n_samples=1, kl_weight=0.0)
    one_iwae = _elbo(model, n_samples=1, kl_weight=0.0, iwae=True)
    torch.testing.assert_close(one_iwae.loss, one_plain.loss, rtol=1e-12, atol=1e-12)


def test_fixed_obs_std():
    model = _model(obs_std=0.25)
    times, values, mask = _sine_problem(n_series=2, dtype=torch.float64)
    out = model(times, values, mask, times, n_samples=2)
    assert out.pred_mean.shape == (2, 2, len(times), 2)
    torch.testing.assert_close(out.pred_std, torch.full_like(out.pred_mean, 0.25), rtol=0, atol=0)
    result = _elbo(model)
    assert torch.isfinite(result.loss)
    result.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    learned = _model()
    assert learned.readout[-1].out_features == 4 and model.readout[-1].out_features == 2


def test_masked_targets_do_not_count():
    model = _model()
    times, values, mask = _sine_problem(n_series=4, dtype=torch.float64)
    target_mask = mask.clone()
    target_mask[:, ::2] = 0.0
    corrupted = torch.where(target_mask > 0, values, torch.full_like(values, float("nan")))
    torch.manual_seed(0)
    a = model.elbo(times, values, mask, times, values, target_mask)
    torch.manual_seed(0)
    b = model.elbo(times, values, mask, times, corrupted, target_mask)
    assert torch.isfinite(b.loss)
    torch.testing.assert_close(a.loss, b.loss, rtol=0, atol=0)


# ----------------------------------------------------------------------------- time handling


def test_large_time_offset_gives_the_same_result():
    times, values, mask = _sine_problem(n_series=3, dtype=torch.float64)
    model = _model(**TIGHT)
    t_query = torch.linspace(-0.5, 3.0, 6, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    base = model(times, values, mask, t_query, n_samples=2, generator=generator)
    generator = torch.Generator().manual_seed(0)
    shifted = model(times + 1e6, values, mask, t_query + 1e6, n_samples=2, generator=generator)
    for a, b in zip(base, shifted, strict=True):
        assert torch.isfinite(b).all()
        torch.testing.assert_close(b, a, rtol=1e-8, atol=1e-9)


def test_time_scale_makes_units_irrelevant():
    times, values, mask = _sine_problem(n_series=3, dtype=torch.float64)
    t_query = torch.linspace(0.0, 3.0, 5, dtype=torch.float64)
    days = _model(**TIGHT)
    seconds = _model(**TIGHT, time_scale=86_400.0)
    seconds.load_state_dict(days.state_dict())
    a = days(times, values, mask, t_query, generator=torch.Generator().manual_seed(1))
    b = seconds(
        times * 86_400.0,
        values,
        mask,
        t_query * 86_400.0,
        generator=torch.Generator().manual_seed(1),
    )
    torch.testing.assert_close(b.pred_mean, a.pred_mean, rtol=1e-8, atol=1e-9)


# ----------------------------------------------------------------------------- sampling


def test_sample_shape_reproducibility_and_noise():
    times, values, mask = _sine_problem(n_series=2, dtype=torch.float64)
    model = _model()
    t_query = torch.linspace(2.0, 3.0, 4, dtype=torch.float64)
    a = model.sample(
        times, values, mask, t_query, n_samples=50, generator=torch.Generator().manual_seed(0)
    )
    b = model.sample(
        times, values, mask, t_query, n_samples=50, generator=torch.Generator().manual_seed(0)
    )
    assert a.shape == (50, 2, 4, 2)
    assert not a.requires_grad
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert (a.std(dim=0) > 0).all()


def test_inputs_are_not_modified():
    times, values, mask = _sine_problem(n_series=2, dtype=torch.float64)
    values[0, 3] = float("nan")
    mask[0, 3] = 0.0
    copies = [x.clone() for x in (times, values, mask)]
    model = _model()
    model.elbo(times, values, mask, times, values, mask).loss.backward()
    for x, c in zip((times, values, mask), copies, strict=True):
        assert torch.allclose(x, c, equal_nan=True)


def test_anchored_samples_are_random_walk_paths_with_exact_marginals():
    """Anchored sampling: Brownian-correlated noise after t0, same marginals as the model."""
    import numpy as np

    torch.manual_seed(0)
    model = LatentODE(
        1,
        latent_dim=4,
        hidden_dim=8,
        ode_units=16,
        solver="rk4",
        options={"step_size": 0.25},
        anchored=True,
    )
    times = torch.linspace(-1.0, 0.0, 8)
    values = torch.zeros(1, 8, 1)
    mask = torch.ones_like(values)
    query = torch.linspace(0.1, 2.0, 20)
    gen = torch.Generator().manual_seed(1)
    samples = model.sample(times, values, mask, query, n_samples=4000, t0=0.0, generator=gen)
    path = samples[:, 0, :, 0].double().numpy()
    increments = np.diff(path, axis=1)
    # Increments of a random walk are (nearly) uncorrelated; levels are strongly correlated.
    assert abs(np.corrcoef(increments[:, 8], increments[:, 9])[0, 1]) < 0.15
    assert np.corrcoef(path[:, 10], path[:, 11])[0, 1] > 0.7


@pytest.mark.parametrize("anchored", [False, True])
def test_decode_index_reads_out_each_series_own_times(anchored):
    torch.manual_seed(0)
    model = LatentODE(
        1, latent_dim=4, hidden_dim=8, anchored=anchored, solver="rk4", options={"step_size": 0.1}
    ).double()
    z0 = torch.randn(2, 3, 4, dtype=torch.float64)  # (S, B, L)
    t_query = torch.linspace(-1.0, 1.0, 9, dtype=torch.float64)
    index = torch.tensor([[0, 3, 8], [1, 2, 5], [4, 6, 7]])
    full_mean, full_std = model.decode(z0, t_query, 0.0)
    mean, std = model.decode(z0, t_query, 0.0, index=index)
    assert mean.shape == (2, 3, 3, 1)
    for b in range(3):
        torch.testing.assert_close(mean[:, b], full_mean[:, b, index[b]], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(std[:, b], full_std[:, b, index[b]], rtol=1e-12, atol=1e-12)


def test_elbo_packs_sparse_targets_without_changing_the_loss():
    import tsnode.nn.latent_ode as module

    torch.manual_seed(0)
    model = LatentODE(
        1, latent_dim=4, hidden_dim=8, anchored=True, solver="euler", options={"step_size": 0.1}
    ).double()
    b, q = 4, 20
    t_query = torch.linspace(-1.0, 0.5, q, dtype=torch.float64)
    target_mask = (torch.rand(b, q, 1) < 0.3).double()
    target_mask[:, -1] = 1.0
    target_values = torch.randn(b, q, 1, dtype=torch.float64)
    times = t_query[:10].repeat(b, 1)
    values, mask = torch.randn(b, 10, 1, dtype=torch.float64), torch.ones(b, 10, 1).double()
    index, packed_values, packed_mask = module._own_targets(target_values, target_mask)
    assert index is not None and packed_mask.sum() == target_mask.sum()
    args = (times, values, mask, t_query, target_values, target_mask)
    torch.manual_seed(1)
    packed = model.elbo(*args, n_samples=2, t0=0.0)
    original = module._own_targets
    try:
        module._own_targets = lambda v, m: (None, v, m)
        torch.manual_seed(1)
        dense = model.elbo(*args, n_samples=2, t0=0.0)
    finally:
        module._own_targets = original
    torch.testing.assert_close(packed.loss, dense.loss, rtol=1e-12, atol=1e-12)


def test_samples_for_a_shorter_horizon_are_the_same_paths_truncated():
    torch.manual_seed(0)
    model = LatentODE(
        1, latent_dim=4, hidden_dim=8, anchored=True, solver="midpoint", options={"step_size": 0.5}
    )
    times = torch.linspace(-2.0, 0.0, 10)
    values, mask = torch.randn(2, 10, 1), torch.ones(2, 10, 1)
    query = torch.tensor([0.03, 0.07, 0.1, 0.13, 0.17, 0.6, 0.9])

    def draw(n_times):
        generator = torch.Generator().manual_seed(1)
        return model.sample(
            times, values, mask, query[:n_times], n_samples=7, t0=0.0, generator=generator
        )

    longest = draw(7)
    for n_times in (1, 3, 5):
        torch.testing.assert_close(draw(n_times), longest[:, :, :n_times], rtol=0, atol=0)


# ----------------------------------------------------------------------------- audit regressions


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"min_std": -1.0}, ValueError, "min_std must be a positive float, got -1.0"),
        ({"min_std": 0.0}, ValueError, "min_std must be a positive float"),
        ({"min_std": float("nan")}, ValueError, "min_std must be a positive float"),
        ({"min_std": None}, TypeError, "min_std must be a positive float"),
        ({"obs_std": float("inf")}, ValueError, "obs_std must be positive or None"),
        ({"time_scale": float("inf")}, ValueError, "time_scale must be a positive float"),
        ({"time_scale": True}, TypeError, "time_scale must be a positive float"),
    ],
)
def test_constructor_rejects_bad_noise_and_time_scale(kwargs, error, match):
    with pytest.raises(error, match=match):
        LatentODE(1, **kwargs)


@pytest.mark.parametrize(
    ("n_samples", "error"), [(0, ValueError), (-2, ValueError), (1.5, TypeError)]
)
def test_n_samples_must_be_a_positive_int(n_samples, error):
    with pytest.raises(error, match="n_samples must be a positive int"):
        _elbo(_model(), n_samples=n_samples)


def test_encode_with_one_t0_per_series():
    per_series, union, values, mask = _irregular_batch(seed=11)
    model = _model(time_scale=2.0)
    t0 = torch.tensor([-1.0, 0.5, 3.0], dtype=torch.float64)
    mean, std = model.encode(union, values, mask, t0=t0)
    for b, (times, v, m) in enumerate(per_series):
        mean_b, std_b = model.encode(times, v, m, t0=t0[b])
        torch.testing.assert_close(mean[b : b + 1], mean_b, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(std[b : b + 1], std_b, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match=r"t0 must be a scalar or have shape \(3,\)"):
        model.encode(union, values, mask, t0=torch.zeros(2, dtype=torch.float64))
    # Decoding needs one reference time for the batch: a clear error, not a size mismatch.
    with pytest.raises(ValueError, match=r"t0 must be a scalar .* encode\(\) only"):
        model(union, values, mask, union, t0=t0)
    with pytest.raises(ValueError, match=r"t0 must be a scalar .* to decode"):
        model.decode(mean, union, t0=t0)


def test_nfe_counters_after_a_failed_decode():
    model = _model(options={"max_num_steps": 2})
    z0 = torch.full((2, 3), 5.0, dtype=torch.float64)
    with pytest.raises(SolverError):
        model.decode(z0, torch.tensor([0.0, 50.0], dtype=torch.float64))
    assert model.nfe_forward > 0 and model.nfe_backward == 0
