"""Regression tests: bad inputs to the nn layer fail early with errors naming the argument.

Covers the step cap on fixed-step integrations (a mis-scaled time axis used to hang or exhaust
memory), ``options["step_size"]`` validation, non-finite encoder inputs, tensor types and dtypes,
target/index shapes and constructor sizes.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from tsnode.nn import _checks
from tsnode.nn.encoder import ODERNNEncoder
from tsnode.nn.latent_ode import LatentODE
from tsnode.nn.ode import NeuralODE, SolverError

SMALL = {"latent_dim": 3, "hidden_dim": 6, "ode_units": 8, "encoder_units": 8, "readout_units": 8}


def _field() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))


def _batch(n_series: int = 2, n_times: int = 5):
    g = torch.Generator().manual_seed(0)
    times = torch.linspace(0.0, 1.0, n_times)
    values = torch.randn(n_series, n_times, 1, generator=g)
    return times, values, torch.ones(n_series, n_times, 1)


# ------------------------------------------------------------------------- B2: step cap
def test_encoder_carry_to_a_far_t0_is_refused_quickly():
    enc = ODERNNEncoder(1, 4)
    times, values, mask = _batch()
    start = time.perf_counter()
    with pytest.raises(ValueError) as info:
        enc(times, values, mask, t0=1e6)  # used to raise std::bad_alloc (or run for minutes)
    assert time.perf_counter() - start < 5.0
    message = str(info.value)
    for part in ("t0", "spans 1e+06 time units", "steps of 0.25", "4,000,000 fixed steps"):
        assert part in message
    assert "100,000" in message and "time_scale" in message and "max_step" in message
    assert not isinstance(info.value, SolverError)  # a bad input, not a failed solve


def test_encoder_carry_counts_substeps_and_overflowing_gaps(monkeypatch):
    monkeypatch.setattr(_checks, "MAX_FIXED_STEPS", 100)
    times, values, mask = _batch()
    ODERNNEncoder(1, 4)(times, values, mask, t0=20.0)  # 80 carry steps: allowed
    with pytest.raises(ValueError, match=r"n_substeps=2\).*160 fixed steps"):
        ODERNNEncoder(1, 4, n_substeps=2)(times, values, mask, t0=20.0)
    with pytest.raises(ValueError, match="infinitely many fixed steps"):
        far = torch.full_like(times, 3e38)  # t0 - times overflows float32
        ODERNNEncoder(1, 4)(far, values, mask, t0=-3e38)
    with pytest.raises(ValueError, match=r"1\.2e\+39 fixed steps"):
        ODERNNEncoder(1, 4)(times, values, mask, t0=-3e38)
    with pytest.raises(ValueError, match="n_substeps=101 is more steps"):
        ODERNNEncoder(1, 4, n_substeps=101)


@pytest.mark.parametrize("sensitivity", ["autograd", "adjoint"])
def test_neural_ode_refuses_too_many_fixed_steps(sensitivity):
    ode = NeuralODE(_field(), solver="euler", sensitivity=sensitivity, options={"step_size": 1e-9})
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"spans 1 time units.*1e-09.*1,000,000,000 fixed steps"):
        ode(torch.randn(3, 2), torch.linspace(0.0, 1.0, 3))  # used to hang / exhaust memory
    assert time.perf_counter() - start < 5.0


def test_neural_ode_step_cap_boundary_and_exemptions(monkeypatch):
    monkeypatch.setattr(_checks, "MAX_FIXED_STEPS", 10)
    x0 = torch.randn(3, 2)
    ode = NeuralODE(_field(), solver="rk4", options={"step_size": 0.1})
    assert ode(x0, torch.tensor([0.0, 1.0])).shape == (2, 3, 2)  # 10 steps
    assert ode(x0, torch.tensor([0.0, -1.0])).shape == (2, 3, 2)  # reverse time too
    with pytest.raises(ValueError, match="15 fixed steps, more than the 10 allowed"):
        ode(x0, torch.tensor([0.0, 1.5]))
    adjoint = NeuralODE(
        _field(),
        solver="rk4",
        sensitivity="adjoint",
        options={"step_size": 0.1},
        adjoint_options={"step_size": 0.01},
    )
    with pytest.raises(ValueError, match="100 fixed steps"):  # the backward solve's steps
        adjoint(x0, torch.tensor([0.0, 1.0]))
    # Steps on the output grid (no step_size) and adaptive solvers are not capped.
    assert NeuralODE(_field(), solver="euler")(x0, torch.linspace(0, 1, 50)).shape[0] == 50
    assert NeuralODE(_field(), solver="dopri5")(x0, torch.tensor([0.0, 5.0])).shape[0] == 2


def test_latent_ode_decode_refuses_too_many_fixed_steps():
    model = LatentODE(1, **SMALL, solver="midpoint", options={"step_size": 0.5}, time_scale=1e-9)
    times, values, mask = _batch()
    with pytest.raises(ValueError, match=r"Decoding after t0.*time_scale=1e-09.*fixed steps"):
        model.sample(times * 30, values, mask, times * 30 + 31.0, n_samples=2)
    tiny = LatentODE(1, **SMALL, solver="euler", options={"step_size": 1e-7})
    with pytest.raises(ValueError, match=r"Decoding before t0.*10,000,000 fixed steps"):
        tiny.decode(torch.zeros(2, 3), torch.tensor([-1.0, 0.0]))


# -------------------------------------------------------------------- B4: step_size option
@pytest.mark.parametrize(
    "step, error",
    [(0, ValueError), (-0.1, ValueError), (float("nan"), ValueError), (float("inf"), ValueError)]
    + [("0.1", TypeError), (True, TypeError)],
)
def test_step_size_option_is_validated_up_front(step, error):
    match = r"options\['step_size'\] must be a positive"
    with pytest.raises(error, match=match):
        NeuralODE(_field(), solver="euler", options={"step_size": step})
    with pytest.raises(error, match=match):
        LatentODE(1, solver="rk4", options={"step_size": step})
    with pytest.raises(error, match=r"adjoint_options\['step_size'\]"):
        NeuralODE(_field(), solver="euler", adjoint_options={"step_size": step})


def test_step_size_set_after_construction_is_checked_at_solve():
    ode = NeuralODE(_field(), solver="euler", options={"step_size": 0.1})
    ode.options = {"step_size": 0}
    with pytest.raises(ValueError, match=r"options\['step_size'\] must be a positive.*got 0"):
        ode(torch.randn(3, 2), torch.linspace(0.0, 1.0, 3))
    ode.options = {"step_size": None}  # None: step on the output grid, as before
    assert ode(torch.randn(3, 2), torch.linspace(0.0, 1.0, 3)).shape == (3, 3, 2)


# ----------------------------------------------------------- A4/B8: encoder inputs
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_encoder_refuses_non_finite_observed_values(bad):
    enc = ODERNNEncoder(1, 4)
    times, values, mask = _batch()
    values[1, 2, 0] = bad
    with pytest.raises(
        ValueError, match=r"values contains NaN or inf where mask is 1.*\[1, 2, 0\]"
    ):
        enc(times, values, mask)
    model = LatentODE(1, **SMALL)
    with pytest.raises(ValueError, match="values contains NaN or inf where mask is 1"):
        model.elbo(times, values, mask, times, values, mask)
    # A missing value (mask 0) may hold NaN: the posterior is that of a zero there.
    mask[1, 2, 0] = 0.0
    clean = values.nan_to_num(0.0, posinf=0.0)
    got, want = enc(times, values, mask), enc(times, clean, mask)
    assert torch.equal(got[0], want[0]) and torch.isfinite(got[0]).all()


def test_encoder_refuses_non_finite_times_and_t0():
    enc = ODERNNEncoder(1, 4)
    times, values, mask = _batch()
    broken = times.clone()
    broken[2] = float("nan")
    with pytest.raises(ValueError, match=r"times contains NaN or inf \(1 of 5 entries\)"):
        enc(broken, values, mask)
    for t0 in (float("nan"), float("inf"), torch.tensor([0.0, float("nan")])):
        with pytest.raises(ValueError, match="t0 contains NaN or inf"):
            enc(times, values, mask, t0=t0)


def test_encoder_input_types_and_dtypes():
    enc = ODERNNEncoder(1, 4)
    times, values, mask = _batch()
    with pytest.raises(TypeError, match="times must be a torch.Tensor, got list"):
        enc(times.tolist(), values, mask)
    with pytest.raises(TypeError, match="values must be a torch.Tensor, got ndarray"):
        enc(times, values.numpy(), mask)
    with pytest.raises(TypeError, match="mask must be a torch.Tensor"):
        enc(times, values, None)
    with pytest.raises(TypeError, match="values must be a floating-point tensor"):
        enc(times, values.long(), mask)
    with pytest.raises(TypeError, match=r"values has dtype torch.float64 but the encoder's .*"):
        enc(times, values.double(), mask)
    # Times of another dtype are fine: gaps are taken in the finer dtype, then cast.
    want = enc(times, values, mask)
    for other in (times.double(), torch.arange(5) * 0.25):
        got = enc(other, values, mask)
        assert got[0].dtype == torch.float32
        torch.testing.assert_close(got[0], want[0])
    assert enc.double()(times, values.double(), mask)[0].dtype == torch.float64


# ------------------------------------------------------------- B8: LatentODE inputs
def test_latent_ode_refuses_non_tensor_inputs():
    model = LatentODE(1, **SMALL)
    times, values, mask = _batch()
    with pytest.raises(TypeError, match="t_query must be a torch.Tensor, got list"):
        model.sample(times, values, mask, [1.0, 2.0], n_samples=2)
    with pytest.raises(TypeError, match="times must be a torch.Tensor, got list"):
        model.sample(times.tolist(), values, mask, times, n_samples=2)
    with pytest.raises(TypeError, match="t_query must be a torch.Tensor"):
        model(times, values, mask, [1.0])
    with pytest.raises(TypeError, match="times must be a torch.Tensor"):
        model.encode(list(times), values, mask)
    with pytest.raises(TypeError, match="z0 must be a torch.Tensor"):
        model.decode([[0.0, 0.0, 0.0]], times)
    with pytest.raises(TypeError, match="target_values must be a torch.Tensor"):
        model.elbo(times, values, mask, times, values.tolist(), mask)


def test_elbo_refuses_mis_shaped_targets():
    model = LatentODE(1, **SMALL)
    times, values, mask = _batch()
    with pytest.raises(
        ValueError, match=r"target_values must have shape .* = \(2, 5, 1\).*\(2, 3, 1\)"
    ):
        model.elbo(times, values, mask, times, values[:, :3], mask[:, :3])
    with pytest.raises(ValueError, match=r"target_mask must have shape .* got \(1, 5, 1\)"):
        model.elbo(times, values, mask, times, values, mask[:1])
    assert torch.isfinite(model.elbo(times, values, mask, times, values, mask).loss)


@pytest.mark.parametrize("solver, options", [("dopri5", None), ("rk4", {"step_size": 0.1})])
def test_decode_checks_index(solver, options):
    model = LatentODE(1, **SMALL, solver=solver, options=options)
    z0, t_query = torch.zeros(2, 3), torch.linspace(0.0, 1.0, 5)
    with pytest.raises(ValueError, match=r"index holds positions from 0 to 9.*\[0, 4\]"):
        model.decode(z0, t_query, index=torch.tensor([[0, 9], [1, 2]]))
    with pytest.raises(ValueError, match=r"positions from -1 to 2"):
        model.decode(z0, t_query, index=torch.tensor([[0, -1], [1, 2]]))
    with pytest.raises(TypeError, match="index must be an integer"):
        model.decode(z0, t_query, index=torch.tensor([[0.0, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"index must have shape \(batch, K\) = \(2, K\)"):
        model.decode(z0, t_query, index=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="t_query must be strictly increasing"):
        model.decode(z0, t_query.flip(0), index=torch.tensor([[0, 1], [1, 2]]))
    mean, _ = model.decode(z0, t_query, index=torch.tensor([[0, 4], [1, 2]]))
    assert mean.shape == (2, 2, 1)


def test_decode_checks_z0():
    model = LatentODE(1, **SMALL)
    t_query = torch.linspace(0.0, 1.0, 5)
    with pytest.raises(
        ValueError, match=r"z0 must be a torch.float32 tensor of shape \(\*batch, latent_dim=3\)"
    ):
        model.decode(torch.zeros(2, 4), t_query)
    with pytest.raises(TypeError, match=r"z0 must be a torch.float32 tensor.*got torch.float64"):
        model.decode(torch.zeros(2, 3, dtype=torch.float64), t_query)


# ------------------------------------------------------------- B8: constructor sizes
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"hidden_dim": 0}, ValueError, "hidden_dim must be a positive int, got 0"),
        ({"latent_dim": 0}, ValueError, "latent_dim must be a positive int, got 0"),
        ({"hidden_dim": -1}, ValueError, "hidden_dim must be a positive int, got -1"),
        ({"latent_dim": -2}, ValueError, "latent_dim must be a positive int, got -2"),
        ({"ode_units": 0}, ValueError, "ode_units must be a positive int"),
        ({"encoder_units": 0}, ValueError, "encoder_units must be a positive int"),
        ({"encoder_substeps": 0}, ValueError, "encoder_substeps must be a positive int"),
        ({"readout_units": -1}, ValueError, r"readout_units must be an int >= 0 \(0: a linear"),
        ({"ode_layers": -1}, ValueError, r"ode_layers must be an int >= 0 \(0: a linear field"),
        ({"hidden_dim": 2.5}, TypeError, "hidden_dim must be a positive int, got float 2.5"),
        ({"latent_dim": True}, TypeError, "latent_dim must be a positive int, got bool"),
        ({"readout_units": None}, TypeError, "readout_units must be an int >= 0"),
    ],
)
def test_latent_ode_constructor_sizes(kwargs, error, match):
    with pytest.raises(error, match=match):
        LatentODE(1, **kwargs)


def test_latent_ode_constructor_edge_sizes_still_work():
    with pytest.raises(ValueError, match="input_dim must be a positive int, got 0"):
        LatentODE(0)
    linear = LatentODE(1, **dict(SMALL, readout_units=0), ode_layers=0)
    assert isinstance(linear.readout, nn.Linear)
    sized = LatentODE(np.int64(1), latent_dim=np.int64(2), hidden_dim=np.int32(4))
    assert sized.latent_dim == 2 and type(sized.latent_dim) is int


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        ((0, 2), {}, ValueError, "input_dim must be a positive int, got 0"),
        ((1, 0), {}, ValueError, "latent_dim must be a positive int, got 0"),
        ((1, 2), {"hidden_dim": 0}, ValueError, "hidden_dim must be a positive int, got 0"),
        ((1, 2), {"ode_units": -3}, ValueError, "ode_units must be a positive int, got -3"),
        ((1, 2), {"n_substeps": 1.5}, TypeError, "n_substeps must be a positive int, got float"),
    ],
)
def test_encoder_constructor_sizes(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        ODERNNEncoder(*args, **kwargs)
