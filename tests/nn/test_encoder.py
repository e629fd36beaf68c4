"""Tests for the reverse-time ODE-RNN encoder and its fixed-step integrator."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tsnode.nn.encoder import ODERNNEncoder, fixed_step


class Decay(nn.Module):
    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return -h


def _irregular_batch(seed: int = 0, n_series: int = 4, n_features: int = 2):
    """Series with their own irregular times, and the same data laid out on the union grid.

    Returns the per-series ``(times (T_b,), values (1, T_b, D), mask (1, T_b, D))`` and the
    union-grid ``times (T,)``, ``values``/``mask`` ``(B, T, D)`` (NaN where unobserved).
    """
    g = torch.Generator().manual_seed(seed)
    per_series = []
    for b in range(n_series):
        n = 3 + b  # different lengths
        times = torch.sort(torch.rand(n, generator=g, dtype=torch.float64) * 4.0).values
        values = torch.randn(1, n, n_features, generator=g, dtype=torch.float64)
        mask = (torch.rand(1, n, n_features, generator=g) < 0.7).to(torch.float64)
        mask[0, :, 0] = 1.0  # every time point has at least one observed feature
        per_series.append((times, values, mask))
    union = torch.unique(torch.cat([s[0] for s in per_series]))
    values = torch.full((n_series, len(union), n_features), float("nan"), dtype=torch.float64)
    mask = torch.zeros(n_series, len(union), n_features, dtype=torch.float64)
    for b, (times, v, m) in enumerate(per_series):
        idx = torch.searchsorted(union, times)
        values[b, idx] = v[0]
        mask[b, idx] = m[0]
    return per_series, union, values, mask


def _encoder(method: str = "euler", n_substeps: int = 1, n_features: int = 2) -> ODERNNEncoder:
    torch.manual_seed(0)
    return ODERNNEncoder(
        n_features, 3, hidden_dim=6, ode_units=8, method=method, n_substeps=n_substeps
    ).double()


# ----------------------------------------------------------------------------- fixed_step


@pytest.mark.parametrize(("method", "tol"), [("euler", 2e-2), ("midpoint", 1e-3), ("rk4", 1e-7)])
def test_fixed_step_accuracy_forward_and_backward(method, tol):
    h = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    dt = torch.tensor([[0.8], [-0.6]], dtype=torch.float64)
    out = fixed_step(Decay(), h, dt, 20, method)
    torch.testing.assert_close(out, h * torch.exp(-dt), rtol=tol, atol=tol)


@pytest.mark.parametrize("method", ["euler", "midpoint", "rk4"])
def test_fixed_step_zero_gap_is_identity(method):
    h = torch.randn(3, 4, dtype=torch.float64)
    out = fixed_step(nn.Linear(4, 4).double(), h, torch.zeros(3, 1, dtype=torch.float64), 2, method)
    assert torch.equal(out, h)


def test_fixed_step_more_steps_is_more_accurate():
    h = torch.ones(1, 1, dtype=torch.float64)
    dt = torch.ones(1, 1, dtype=torch.float64)
    errors = [abs(fixed_step(Decay(), h, dt, n, "euler").item() - math.exp(-1)) for n in (1, 4, 16)]
    assert errors[0] > errors[1] > errors[2]


# ----------------------------------------------------------------------------- encoder


def test_output_shapes_and_positive_std():
    enc = ODERNNEncoder(2, 5, hidden_dim=7)
    values = torch.randn(4, 6, 2)
    mean, std = enc(torch.linspace(0, 1, 6), values, torch.ones_like(values))
    assert mean.shape == std.shape == (4, 5)
    assert mean.dtype == torch.float32
    assert (std > 0).all()


@pytest.mark.parametrize(
    ("method", "n_substeps", "gap_input"),
    [
        ("euler", 1, False),
        ("rk4", 3, False),
        ("midpoint", 2, False),
        ("euler", 4, True),
        ("rk4", 2, True),
    ],
)
def test_batch_equals_per_series_on_union_grid(method, n_substeps, gap_input):
    per_series, union, values, mask = _irregular_batch()
    enc = _gap_encoder(method, n_substeps) if gap_input else _encoder(method, n_substeps)
    t0 = torch.tensor(-0.5, dtype=torch.float64)  # before every observation
    mean, std = enc(union, values, mask, t0=t0)
    for b, (times, v, m) in enumerate(per_series):
        mean_b, std_b = enc(times, v, m, t0=t0)
        torch.testing.assert_close(mean[b : b + 1], mean_b, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(std[b : b + 1], std_b, rtol=1e-10, atol=1e-12)


def test_per_series_times_of_shape_b_t_match_union_grid():
    per_series, union, values, mask = _irregular_batch(seed=1)
    enc = _encoder("rk4", 2)
    t0 = 0.0
    expected = enc(union, values, mask, t0=t0)
    # Own times per row, padded at the end by repeating the last time with mask 0.
    n_max = max(len(s[0]) for s in per_series)
    times = torch.zeros(len(per_series), n_max, dtype=torch.float64)
    own_values = torch.full((len(per_series), n_max, 2), float("nan"), dtype=torch.float64)
    own_mask = torch.zeros(len(per_series), n_max, 2, dtype=torch.float64)
    for b, (t, v, m) in enumerate(per_series):
        n = len(t)
        times[b, :n], times[b, n:] = t, t[-1]
        own_values[b, :n], own_mask[b, :n] = v[0], m[0]
    got = enc(times, own_values, own_mask, t0=t0)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


def test_masked_values_have_no_effect():
    _, union, values, mask = _irregular_batch(seed=2)
    enc = _encoder()
    reference = enc(union, torch.nan_to_num(values, nan=0.0), mask)
    for fill in (float("nan"), 1e6, -3.0, float("inf")):
        changed = torch.where(mask > 0, values, torch.full_like(values, fill))
        got = enc(union, changed, mask)
        for g, r in zip(got, reference, strict=True):
            assert torch.isfinite(g).all()
            torch.testing.assert_close(g, r, rtol=0, atol=0)


def test_nan_in_masked_values_gives_finite_gradients():
    _, union, values, mask = _irregular_batch(seed=3)
    enc = _encoder()
    values = values.clone().requires_grad_(True)
    mean, std = enc(union, values, mask)
    (mean.sum() + std.sum()).backward()
    for p in enc.parameters():
        assert torch.isfinite(p.grad).all()
    assert torch.isfinite(values.grad).all()
    assert (values.grad[mask == 0] == 0).all()


def test_inputs_are_not_modified():
    _, union, values, mask = _irregular_batch(seed=4)
    copies = [x.clone() for x in (union, values, mask)]
    _encoder()(union, values, mask)
    for x, c in zip((union, values, mask), copies, strict=True):
        assert torch.equal(x, c) or torch.allclose(x, c, equal_nan=True)


def test_default_t0_is_the_earliest_time():
    _, union, values, mask = _irregular_batch(seed=5)
    enc = _encoder()
    default = enc(union, values, mask)
    explicit = enc(union, values, mask, t0=union.min())
    for d, e in zip(default, explicit, strict=True):
        torch.testing.assert_close(d, e, rtol=0, atol=0)


def test_per_series_t0():
    per_series, union, values, mask = _irregular_batch(seed=6)
    enc = _encoder()
    t0 = torch.tensor([-1.0, 0.0, 0.5, 2.0], dtype=torch.float64)
    mean, _ = enc(union, values, mask, t0=t0)
    for b, (times, v, m) in enumerate(per_series):
        mean_b, _ = enc(times, v, m, t0=t0[b])
        torch.testing.assert_close(mean[b : b + 1], mean_b, rtol=1e-10, atol=1e-12)


def test_series_without_observations_gives_finite_output():
    _, union, values, mask = _irregular_batch(seed=7)
    mask = mask.clone()
    mask[1] = 0.0
    mean, std = _encoder()(union, values, mask)
    assert torch.isfinite(mean).all() and torch.isfinite(std).all()


def test_observation_times_matter():
    _, union, values, mask = _irregular_batch(seed=8)
    enc = _encoder()
    mean, _ = enc(union, values, mask, t0=0.0)
    stretched, _ = enc(2.0 * union, values, mask, t0=0.0)
    assert not torch.allclose(mean, stretched)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"method='dopri5' is not supported"):
        ODERNNEncoder(1, 2, method="dopri5")
    with pytest.raises(ValueError, match="n_substeps must be a positive int, got 0"):
        ODERNNEncoder(1, 2, n_substeps=0)
    enc = ODERNNEncoder(2, 3)
    values = torch.randn(4, 5, 2)
    with pytest.raises(ValueError, match=r"values and mask must both have shape"):
        enc(torch.linspace(0, 1, 5), values, torch.ones(4, 5, 1))
    with pytest.raises(ValueError, match=r"values and mask must both have shape"):
        enc(torch.linspace(0, 1, 5), values[0], torch.ones(5, 2))
    with pytest.raises(ValueError, match=r"times must have shape \(5,\) or \(4, 5\)"):
        enc(torch.linspace(0, 1, 6), values, torch.ones_like(values))
    with pytest.raises(ValueError, match=r"times must have shape \(5,\) or \(4, 5\)"):
        enc(torch.zeros(3, 5), values, torch.ones_like(values))


# ----------------------------------------------------------------------------- fused Euler scan
def _scan_case(n_substeps: int):
    g = torch.Generator().manual_seed(n_substeps)
    b, t, h, u, i = 5, 9, 4, 6, 2
    state = torch.randn(b, h, dtype=torch.float64, generator=g)
    inputs = torch.randn(b, t, i, dtype=torch.float64, generator=g)
    dt = -torch.rand(b, t, dtype=torch.float64, generator=g)
    dt[0, 3] = 0.0  # one series does not move at step 3
    dt[:, 5] = 0.0  # nobody moves at step 5
    observed = torch.rand(b, t, generator=g) > 0.3
    observed[:, 2] = True  # everyone observed at step 2
    observed[:, 6] = False  # nobody observed at step 6 (like the carry to t0)
    shapes = [(u, h), (u,), (h, u), (h,), (3 * h, i), (3 * h, h), (3 * h,), (3 * h,)]
    weights = [0.5 * torch.randn(*s, dtype=torch.float64, generator=g) for s in shapes]
    return state, inputs, dt, observed, weights


@pytest.mark.parametrize("n_substeps", [1, 3])
def test_fused_euler_scan_equals_the_autograd_loop(n_substeps):
    from tsnode.nn import encoder

    state, inputs, dt, observed, weights = _scan_case(n_substeps)
    leaves = [x.clone().requires_grad_() for x in (state, inputs, *weights)]
    # dt requiring grad forces the plain autograd loop: the reference.
    reference = encoder._reverse_scan(
        leaves[0],
        leaves[1],
        dt.clone().requires_grad_(),
        observed,
        *leaves[2:],
        n_substeps,
        "euler",
    )
    fused = encoder._reverse_scan(
        leaves[0], leaves[1], dt, observed, *leaves[2:], n_substeps, "euler"
    )
    torch.testing.assert_close(fused, reference, rtol=1e-12, atol=1e-12)
    weight = torch.randn_like(fused)
    grads_ref = torch.autograd.grad((reference * weight).sum(), leaves)
    grads_fused = torch.autograd.grad((fused * weight).sum(), leaves)
    for got, want in zip(grads_fused, grads_ref, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_fused_euler_scan_gradcheck_and_retain_graph():
    from tsnode.nn._scan import euler_gru_scan

    state, inputs, dt, observed, weights = _scan_case(2)
    leaves = [x.clone().requires_grad_() for x in (state, inputs, *weights)]
    steps, obs = (dt / 2).unsqueeze(-1), observed.unsqueeze(-1)

    def scan(h, x, *w):
        return euler_gru_scan(h, x, steps, obs, *w, 2)

    assert torch.autograd.gradcheck(scan, leaves, atol=1e-8)
    out = scan(*leaves).sum()
    first = torch.autograd.grad(out, leaves, retain_graph=True)
    second = torch.autograd.grad(out, leaves)
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_sparse_union_grid_scans_only_the_largest_own_count(monkeypatch):
    """Each row's observations are moved to the front: the scan is as long as the longest row
    (plus the carry to t0), not the union grid, and values and gradients are unchanged."""
    import tsnode.nn.encoder as encoder_module

    per_series, union, values, mask = _irregular_batch(seed=3)
    enc = _encoder("euler", 2)
    seen = []
    real_scan = encoder_module._reverse_scan

    def spy(h, inputs, *args):
        seen.append(inputs.shape[1])
        return real_scan(h, inputs, *args)

    monkeypatch.setattr(encoder_module, "_reverse_scan", spy)
    t0 = torch.tensor(-0.5, dtype=torch.float64)
    values = values.clone().requires_grad_(True)
    mean, std = enc(union, values, mask, t0=t0)
    (mean.sum() + std.sum()).backward()
    n_carry = max(math.ceil(float(s[0][0] - t0) / enc.max_step) for s in per_series)
    assert seen[0] == max(len(s[0]) for s in per_series) + n_carry < len(union) + n_carry
    for b, (times, v, m) in enumerate(per_series):
        v = v.clone().requires_grad_(True)
        mean_b, std_b = enc(times, v, m, t0=t0)
        torch.testing.assert_close(mean[b : b + 1], mean_b, rtol=1e-10, atol=1e-12)
        (mean_b.sum() + std_b.sum()).backward()
        idx = torch.searchsorted(union, times)
        got = torch.nan_to_num(values.grad[b, idx]) * m[0]
        torch.testing.assert_close(got, torch.nan_to_num(v.grad[0]) * m[0], rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------------- gap_input


def _gap_encoder(method: str = "euler", n_substeps: int = 1) -> ODERNNEncoder:
    torch.manual_seed(0)
    return ODERNNEncoder(
        2, 3, hidden_dim=6, ode_units=8, method=method, n_substeps=n_substeps, gap_input=True
    ).double()


def test_gap_input_widens_the_gru_input_by_two():
    assert _gap_encoder().gru.input_size == 2 * 2 + 2
    assert _encoder().gru.input_size == 2 * 2


def test_gap_input_is_invariant_to_shifting_times_and_t0_together():
    _, union, values, mask = _irregular_batch(seed=4)
    enc = _gap_encoder("euler", 2)
    expected = enc(union, values, mask, t0=-0.5)
    got = enc(union + 10.0, values, mask, t0=9.5)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-10)


def test_latent_ode_passes_gap_input_to_its_encoder():
    from tsnode.nn.latent_ode import LatentODE

    torch.manual_seed(0)
    model = LatentODE(1, latent_dim=2, hidden_dim=4, encoder_gap_input=True, solver="euler")
    assert model.encoder.gap_input and model.encoder.gru.input_size == 4
    times = torch.linspace(0.0, 1.0, 5)
    values = torch.randn(3, 5, 1)
    loss = model.elbo(
        times, values, torch.ones_like(values), times, values, torch.ones_like(values)
    )
    loss.loss.backward()
    assert all(p.grad is not None for p in model.encoder.gru.parameters())


# ----------------------------------------------------------------------------- init_std
@pytest.mark.parametrize("init_std", [0.01, 0.3, 50.0])
def test_init_std_sets_the_initial_posterior_std(init_std):
    torch.manual_seed(0)
    enc = ODERNNEncoder(1, 3, hidden_dim=8, ode_units=8, init_std=init_std)
    times = torch.linspace(0.0, 1.0, 6)
    values = torch.randn(5, 6, 1)
    _, std = enc(times, values, torch.ones_like(values))
    torch.testing.assert_close(std, torch.full_like(std, init_std), rtol=0.15, atol=1e-4)


def test_init_std_none_keeps_the_default_initialisation():
    torch.manual_seed(0)
    default = ODERNNEncoder(1, 3, hidden_dim=8, ode_units=8)
    torch.manual_seed(0)
    explicit = ODERNNEncoder(1, 3, hidden_dim=8, ode_units=8, init_std=None)
    for a, b in zip(default.parameters(), explicit.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_init_std_leaves_the_posterior_mean_layer_alone():
    torch.manual_seed(0)
    default = ODERNNEncoder(1, 3, hidden_dim=8, ode_units=8)
    torch.manual_seed(0)
    narrow = ODERNNEncoder(1, 3, hidden_dim=8, ode_units=8, init_std=0.01)
    a, b = default.to_posterior[-1], narrow.to_posterior[-1]
    torch.testing.assert_close(a.weight[:3], b.weight[:3], rtol=0, atol=0)
    torch.testing.assert_close(a.bias[:3], b.bias[:3], rtol=0, atol=0)


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), float("inf"), "0.01", True])
def test_init_std_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="init_std"):
        ODERNNEncoder(1, 3, init_std=bad)


def test_latent_ode_passes_init_std_to_its_encoder():
    from tsnode.nn import LatentODE

    model = LatentODE(1, latent_dim=2, hidden_dim=4, encoder_init_std=0.05, solver="euler")
    assert model.encoder.init_std == 0.05


def test_init_std_makes_the_encoder_signal_comparable_to_the_z0_noise_at_initialisation():
    # Why the option exists: with PyTorch's default start the posterior std (~0.7) is ~50x the
    # spread of the posterior means across series, so a sampled z0 is almost all noise.
    times = torch.linspace(0.0, 1.0, 8)
    values = torch.randn(64, 8, 1, generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(values)
    ratios = {}
    for init_std in (None, 0.01):
        torch.manual_seed(0)
        enc = ODERNNEncoder(1, 4, hidden_dim=16, ode_units=16, init_std=init_std)
        with torch.no_grad():
            mean, std = enc(times, values, mask)
        ratios[init_std] = float(mean.std(0).mean() / std.mean())
    # spread of the means / posterior std: ~0.02 by default, ~1-2 with init_std=0.01
    assert ratios[None] < 0.1 < 0.5 < ratios[0.01]


# ----------------------------------------------------------------------------- audit regressions


@pytest.mark.parametrize("per_series", [False, True], ids=["union", "per-series"])
def test_decreasing_times_are_rejected(per_series):
    enc = _encoder()
    values = torch.randn(2, 3, 2, dtype=torch.float64)
    times = torch.tensor([2.0, 1.0, 0.0], dtype=torch.float64)
    if per_series:
        times = torch.tensor([[0.0, 1.0, 2.0], [0.0, 2.0, 1.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="times must be non-decreasing"):
        enc(times, values, torch.ones_like(values))
    # Ties (padding by repeating the last time) are allowed.
    padded = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
    mean, _ = enc(padded, values, torch.ones_like(values))
    assert torch.isfinite(mean).all()


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_series_without_observations_gets_the_initial_state_posterior(method):
    # Its posterior must not depend on the time grid the batch is laid out on.
    _, union, values, mask = _irregular_batch(seed=9)
    mask = mask.clone()
    mask[1] = 0.0
    enc = _encoder(method)
    expected = enc.to_posterior(torch.zeros(1, enc.hidden_dim, dtype=torch.float64))
    expected_mean, expected_raw = expected.chunk(2, dim=-1)
    for times, t0 in ((union, None), (union + 10.0, 0.0), (3.0 * union, -2.0)):
        mean, std = enc(times, values, mask, t0=t0)
        torch.testing.assert_close(mean[1:2], expected_mean, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(
            std[1:2], torch.nn.functional.softplus(expected_raw) + 1e-4, rtol=1e-12, atol=1e-12
        )
    alone = enc(union, values[1:2], mask[1:2], t0=0.0)
    torch.testing.assert_close(alone[0], expected_mean, rtol=1e-12, atol=1e-12)


def test_bad_batches_name_the_argument():
    enc = ODERNNEncoder(2, 3)
    times = torch.linspace(0, 1, 5)
    values = torch.randn(4, 5, 2)
    mask = torch.ones_like(values)
    with pytest.raises(ValueError, match=r"values has shape \(0, 5, 2\).*at least one series"):
        enc(times, values[:0], mask[:0])
    with pytest.raises(ValueError, match=r"at least one series and one time point"):
        enc(times[:0], values[:, :0], mask[:, :0])
    with pytest.raises(ValueError, match=r"values has 3 features .* input_dim=2"):
        enc(times, torch.randn(4, 5, 3), torch.ones(4, 5, 3))
    with pytest.raises(
        ValueError, match=r"t0 must be a scalar or have shape \(4,\).*got shape \(5,\)"
    ):
        enc(times, values, mask, t0=torch.zeros(5))
    with pytest.raises(ValueError, match=r"t0 must be a scalar or have shape \(4,\)"):
        enc(times, values, mask, t0=torch.zeros(4, 1))
