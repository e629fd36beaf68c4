"""Tests for `tsnode.nn.ode.NeuralODE` against exact solutions, gradients, NFE and errors."""

from __future__ import annotations

import math
import re
import time

import pytest
import torch
from torch import nn

from tsnode.nn.ode import (
    ADAPTIVE_SOLVERS,
    FIXED_STEP_SOLVERS,
    SOLVERS,
    NeuralODE,
    NonFiniteStateError,
    SolverError,
)

# ----------------------------------------------------------------------------- vector fields


class LinearField(nn.Module):
    """dx/dt = A x for states of shape (batch, n); exact solution x(t) = x0 expm(A t)^T."""

    def __init__(self, a: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("a", a)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.a.T


class RateField(nn.Module):
    """dx/dt = k * x elementwise (growth for k > 0, decay for k < 0)."""

    def __init__(self, k: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("k", k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.k * x


class CosineField(nn.Module):
    """Time-dependent dx/dt = cos(t); from x(0) = 0 the solution is sin(t)."""

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.cos(t) * torch.ones_like(x)


class SquareField(nn.Module):
    """dx/dt = x**2; from x(0) = 1 the solution 1 / (1 - t) blows up at t = 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x**2


class WrongShapeField(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., :1]


class MLPField(nn.Module):
    def __init__(self, dim: int = 2, units: int = 8) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, units), nn.Tanh(), nn.Linear(units, dim))

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) + 0.1 * torch.sin(t)


A = torch.tensor([[-0.5, 1.0], [-1.0, -0.3]], dtype=torch.float64)
X0 = torch.tensor([[1.0, 0.5], [0.2, -1.0]], dtype=torch.float64)
K = torch.tensor([0.7, -1.3], dtype=torch.float64)
Y0 = torch.tensor([1.5, 2.0], dtype=torch.float64)
T = torch.linspace(0.0, 2.0, 5, dtype=torch.float64)


def _linear_problem():
    exact = torch.stack([X0 @ torch.linalg.matrix_exp(A * ti).T for ti in T])
    return LinearField(A), X0, exact


def _rate_problem():
    return RateField(K), Y0, Y0 * torch.exp(K * T[:, None])


PROBLEMS = {"linear_expm": _linear_problem, "growth_decay": _rate_problem}

# Per-solver settings: (solver kwargs, tolerance of the comparison with the exact solution).
# Adaptive solvers get tight rtol/atol; fixed-step ones a step size. The comparison tolerance is
# set about 10x above the error measured on these problems (torchdiffeq's dopri8, bosh3 and
# fehlberg2 undershoot their requested tolerance by a few orders; that is their error control).
_F64_ADAPTIVE = {"rtol": 1e-8, "atol": 1e-10}
_F32_ADAPTIVE = {"rtol": 1e-5, "atol": 1e-7}
SETTINGS: dict[str, dict[torch.dtype, tuple[dict, float]]] = {
    "dopri8": {torch.float64: (_F64_ADAPTIVE, 1e-4), torch.float32: (_F32_ADAPTIVE, 1e-3)},
    "dopri5": {torch.float64: (_F64_ADAPTIVE, 1e-6), torch.float32: (_F32_ADAPTIVE, 1e-3)},
    "bosh3": {
        torch.float64: ({"rtol": 1e-7, "atol": 1e-9}, 1e-4),
        torch.float32: (_F32_ADAPTIVE, 1e-3),
    },
    "fehlberg2": {
        torch.float64: ({"rtol": 1e-6, "atol": 1e-8}, 1e-3),
        torch.float32: (_F32_ADAPTIVE, 1e-2),
    },
    "adaptive_heun": {
        torch.float64: ({"rtol": 1e-5, "atol": 1e-7}, 1e-3),
        torch.float32: ({"rtol": 1e-5, "atol": 1e-7}, 1e-3),
    },
    "scipy_solver": {torch.float64: (_F64_ADAPTIVE, 1e-6), torch.float32: (_F32_ADAPTIVE, 1e-3)},
    "euler": {torch.float64: ({"options": {"step_size": 1e-3}}, 2e-3)},
    "midpoint": {torch.float64: ({"options": {"step_size": 1e-2}}, 1e-4)},
    "heun2": {torch.float64: ({"options": {"step_size": 1e-2}}, 1e-4)},
    "heun3": {torch.float64: ({"options": {"step_size": 1e-2}}, 1e-5)},
    "rk4": {torch.float64: ({"options": {"step_size": 1e-2}}, 1e-7)},
    "explicit_adams": {torch.float64: ({"options": {"step_size": 1e-2}}, 1e-5)},
    "implicit_adams": {torch.float64: ({"options": {"step_size": 1e-2}}, 1e-7)},
    "fixed_adams": {torch.float64: ({"options": {"step_size": 1e-2}}, 1e-7)},
}
for _name in FIXED_STEP_SOLVERS:  # float32: the step error is the same, plus float32 rounding
    _kw, _tol = SETTINGS[_name][torch.float64]
    SETTINGS[_name][torch.float32] = (_kw, max(_tol, 1e-4))


def test_settings_cover_every_solver():
    assert set(SETTINGS) == set(SOLVERS)
    assert set(SOLVERS) == set(ADAPTIVE_SOLVERS) | set(FIXED_STEP_SOLVERS)


# ----------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_solver_matches_exact_solution(solver, dtype, problem):
    field, x0, exact = PROBLEMS[problem]()
    kwargs, tol = SETTINGS[solver][dtype]
    ode = NeuralODE(field.to(dtype), solver=solver, **kwargs)
    out = ode(x0.to(dtype), T.to(dtype))
    assert out.dtype == dtype
    assert out.shape == (len(T), *x0.shape)
    torch.testing.assert_close(out, exact.to(dtype), rtol=tol, atol=tol)


def test_explicit_adams_default_order_is_stable():
    # torchdiffeq's own default (order 12) diverges here; NeuralODE defaults to order 4.
    ode = NeuralODE(RateField(torch.tensor([-1.0], dtype=torch.float64)), solver="explicit_adams")
    ode.options = {"step_size": 0.05}
    x0 = torch.ones(1, dtype=torch.float64)
    t = torch.tensor([0.0, 5.0], dtype=torch.float64)
    torch.testing.assert_close(ode(x0, t)[-1], torch.exp(-t[-1:]), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("solver", ["dopri5", "rk4"])
def test_time_dependent_field(solver, dtype):
    t = torch.linspace(0.0, 3.0, 7, dtype=dtype)
    options = {"step_size": 0.01} if solver == "rk4" else None
    ode = NeuralODE(CosineField(), solver=solver, rtol=1e-7, atol=1e-9, options=options)
    assert ode.field.time_dependent
    out = ode(torch.zeros(3, 1, dtype=dtype), t)
    expected = torch.sin(t)[:, None, None].expand(7, 3, 1)
    tol = 1e-6 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(out, expected, rtol=tol, atol=tol)


def test_signature_detection():
    class Autonomous(nn.Module):
        def forward(self, x, scale=1.0):
            return -scale * x

    class TimeDependent(nn.Module):
        def forward(self, t, x, extra=None):
            return -x

    class NoState(nn.Module):
        def forward(self):
            return None

    assert not NeuralODE(Autonomous()).field.time_dependent
    assert NeuralODE(TimeDependent()).field.time_dependent
    assert NeuralODE(MLPField()).field.time_dependent
    with pytest.raises(TypeError, match="func must accept the state"):
        NeuralODE(NoState())


# ----------------------------------------------------------------------------- API behaviour


def test_t_none_returns_final_state_with_x0_shape():
    field, _, _ = _rate_problem()
    x0 = torch.full((4, 3, 2), 0.5, dtype=torch.float64)
    ode = NeuralODE(field, rtol=1e-8, atol=1e-10)
    out = ode(x0)
    assert out.shape == x0.shape
    torch.testing.assert_close(out, x0 * torch.exp(K), rtol=1e-6, atol=1e-8)


def test_trajectory_shape_and_first_entry_is_x0():
    ode = NeuralODE(MLPField(dim=3))
    x0 = torch.randn(5, 3)
    t = torch.linspace(0, 1, 6)
    out = ode(x0, t)
    assert out.shape == (6, 5, 3)
    torch.testing.assert_close(out[0], x0, rtol=0, atol=0)


@pytest.mark.parametrize("sensitivity", ["autograd", "adjoint"])
def test_reverse_time_round_trip(sensitivity):
    torch.manual_seed(0)
    ode = NeuralODE(MLPField(), sensitivity=sensitivity, rtol=1e-9, atol=1e-11).double()
    x0 = torch.randn(4, 2, dtype=torch.float64)
    forward = ode(x0, torch.tensor([0.0, 0.7, 1.5], dtype=torch.float64))
    back = ode(forward[-1], torch.tensor([1.5, 0.7, 0.0], dtype=torch.float64))
    torch.testing.assert_close(back[1], forward[1], rtol=1e-7, atol=1e-7)
    torch.testing.assert_close(back[-1], x0, rtol=1e-7, atol=1e-7)


def test_reverse_time_exact_decay():
    field, _, _ = _rate_problem()
    x1 = torch.tensor([3.0, 0.25], dtype=torch.float64)
    t = torch.tensor([2.0, 1.0, 0.0], dtype=torch.float64)
    out = NeuralODE(field, rtol=1e-9, atol=1e-11)(x1, t)
    expected = x1 * torch.exp(K * (t[:, None] - 2.0))
    torch.testing.assert_close(out, expected, rtol=1e-7, atol=1e-9)


def test_inputs_are_not_modified():
    ode = NeuralODE(MLPField())
    x0 = torch.randn(3, 2)
    t = torch.linspace(0, 1, 4)
    x0_copy, t_copy = x0.clone(), t.clone()
    ode(x0, t).sum().backward()
    assert torch.equal(x0, x0_copy) and torch.equal(t, t_copy)


def test_integer_times_are_accepted():
    ode = NeuralODE(RateField(torch.tensor([-1.0])), rtol=1e-6, atol=1e-8)
    out = ode(torch.ones(1), torch.tensor([0, 1, 2]))
    torch.testing.assert_close(out[:, 0], torch.exp(-torch.arange(3.0)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("t", [torch.tensor([True, False]), torch.tensor([0j, 1j])])
def test_boolean_or_complex_times_are_refused(t):
    # regression: [True, False] was read as [1, 0] and integrated backwards in silence
    ode = NeuralODE(RateField(torch.tensor([-1.0])))
    with pytest.raises(TypeError, match=f"t must hold real times, got a {t.dtype} tensor"):
        ode(torch.ones(1), t)


# ----------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("solver", ["dopri5", "rk4"])
def test_adjoint_and_autograd_gradients_agree(solver):
    torch.manual_seed(1)
    options = {"step_size": 0.01} if solver == "rk4" else None
    field = MLPField(dim=3).double()
    x0 = torch.randn(4, 3, dtype=torch.float64)
    t = torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64)
    weights = torch.randn(3, 4, 3, dtype=torch.float64)
    grads = {}
    for sensitivity in ("autograd", "adjoint"):
        ode = NeuralODE(
            field, solver=solver, sensitivity=sensitivity, rtol=1e-10, atol=1e-12, options=options
        )
        x = x0.clone().requires_grad_(True)
        field.zero_grad()
        (ode(x, t) * weights).sum().backward()
        grads[sensitivity] = [x.grad] + [p.grad.clone() for p in field.parameters()]
    tol = 1e-7 if solver == "dopri5" else 1e-6  # rk4: adjoint vs discrete gradient is O(h^4)
    for g_autograd, g_adjoint in zip(grads["autograd"], grads["adjoint"], strict=True):
        torch.testing.assert_close(g_adjoint, g_autograd, rtol=tol, atol=tol)


def test_gradcheck_wrt_state_and_parameters_autograd():
    torch.manual_seed(2)
    ode = NeuralODE(MLPField(dim=2, units=4), solver="rk4", options={"step_size": 0.1}).double()
    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    names = [name for name, _ in ode.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in ode.parameters()]
    x0 = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)

    def solve(x, *param_values):
        return torch.func.functional_call(ode, dict(zip(names, param_values, strict=True)), (x, t))

    assert torch.autograd.gradcheck(solve, (x0, *params), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_gradcheck_wrt_state_adjoint():
    # The adjoint differentiates through the module's own parameters (adjoint_params), which
    # torch.func.functional_call cannot swap; its parameter gradients are checked against
    # autograd in test_adjoint_and_autograd_gradients_agree.
    torch.manual_seed(2)
    ode = NeuralODE(
        MLPField(dim=2, units=4), sensitivity="adjoint", rtol=1e-10, atol=1e-12
    ).double()
    t = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    x0 = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: ode(x, t), (x0,), eps=1e-6, atol=1e-5, rtol=1e-4)


# ----------------------------------------------------------------------------- NFE counters


def test_nfe_counters_autograd():
    ode = NeuralODE(MLPField(), sensitivity="autograd")
    out = ode(torch.randn(3, 2), torch.linspace(0, 1, 3))
    assert ode.nfe_forward > 0
    assert ode.nfe_backward == 0
    out.sum().backward()
    assert ode.nfe_backward == 0


def test_nfe_counters_adjoint():
    ode = NeuralODE(MLPField(), sensitivity="adjoint")
    out = ode(torch.randn(3, 2), torch.linspace(0, 1, 3))
    nfe_forward = ode.nfe_forward
    assert nfe_forward > 0
    assert ode.nfe_backward == 0
    out.sum().backward()
    assert ode.nfe_backward > 0
    assert ode.nfe_forward == nfe_forward  # the backward pass does not change the forward count


def test_nfe_resets_between_calls_and_fixed_step_count():
    ode = NeuralODE(MLPField(), solver="rk4", options={"step_size": 0.1})
    x0 = torch.randn(3, 2)
    ode(x0, torch.tensor([0.0, 1.0]))
    assert ode.nfe_forward == 40  # 10 steps x 4 stages
    ode(x0, torch.tensor([0.0, 0.5]))
    assert ode.nfe_forward == 20


def test_nfe_increases_with_tighter_tolerances():
    torch.manual_seed(3)
    field = MLPField()
    x0 = torch.randn(3, 2)
    t = torch.linspace(0, 2, 3)
    nfe = []
    for tol in (1e-2, 1e-5, 1e-8):
        ode = NeuralODE(field, rtol=tol, atol=tol * 1e-1)
        ode(x0, t)
        nfe.append(ode.nfe_forward)
    assert nfe[0] < nfe[1] < nfe[2], nfe


# ----------------------------------------------------------------------------- errors


def test_unknown_solver_lists_names_and_close_match():
    with pytest.raises(ValueError, match=r"solver='dopri'.*Did you mean .*'dopri5'") as info:
        NeuralODE(MLPField(), solver="dopri")
    message = str(info.value)
    assert all(name in message for name in SOLVERS)
    with pytest.raises(ValueError, match="Valid names: dopri8"):
        NeuralODE(MLPField(), solver="zzzz")
    with pytest.raises(TypeError, match="solver must be a string"):
        NeuralODE(MLPField(), solver=5)


def test_bad_sensitivity():
    with pytest.raises(ValueError, match=r"sensitivity='backprop'.*'autograd'.*'adjoint'"):
        NeuralODE(MLPField(), sensitivity="backprop")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rtol": 0.0}, ValueError, "rtol must be a positive float, got 0.0"),
        ({"atol": -1e-3}, ValueError, "atol must be a positive float"),
        ({"options": [("step_size", 0.1)]}, TypeError, "options must be a dict"),
    ],
)
def test_bad_constructor_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        NeuralODE(MLPField(), **kwargs)


def test_func_must_be_a_module():
    with pytest.raises(TypeError, match="Wrap plain functions in an nn.Module"):
        NeuralODE(lambda t, x: -x)
    with pytest.raises(TypeError, match="func must be an nn.Module"):
        NeuralODE(3.0)


def test_func_returning_wrong_shape():
    ode = NeuralODE(WrongShapeField())
    with pytest.raises(
        ValueError, match=re.escape("func returned (3, 1) for a state of shape (3, 2)")
    ):
        ode(torch.randn(3, 2), torch.linspace(0, 1, 3))


def test_x0_must_be_floating_tensor():
    ode = NeuralODE(MLPField())
    with pytest.raises(TypeError, match="x0 must be a floating-point torch.Tensor"):
        ode([[0.0, 1.0]])
    with pytest.raises(TypeError, match="dtype torch.int64"):
        ode(torch.ones(2, 2, dtype=torch.long))


@pytest.mark.parametrize(
    ("t", "match"),
    [
        (torch.tensor([0.0, 1.0, 0.5]), "strictly increasing .* or strictly decreasing"),
        (torch.tensor([0.0, 1.0, 1.0]), "remove duplicates"),
        (torch.linspace(0, 1, 6).reshape(2, 3), r"1-D tensor .* got shape \(2, 3\)"),
        (torch.tensor([0.5]), r"at least 2 times, got shape \(1,\)"),
        (torch.tensor([0.0, float("nan"), 1.0]), "NaN or inf"),
        (torch.tensor([0.0, float("inf")]), "NaN or inf"),
    ],
    ids=["non-monotonic", "duplicate", "2-D", "single", "nan", "inf"],
)
def test_bad_times(t, match):
    ode = NeuralODE(MLPField())
    with pytest.raises(ValueError, match=match):
        ode(torch.randn(3, 2), t)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_exploding_field_raises_solver_error_quickly(dtype):
    ode = NeuralODE(SquareField(), solver="dopri5")
    start = time.perf_counter()
    with pytest.raises(SolverError, match="'dopri5' solver failed") as info:
        ode(torch.ones(1, dtype=dtype), torch.tensor([0.0, 2.0], dtype=dtype))
    assert time.perf_counter() - start < 10.0
    message = str(info.value)
    assert "looser tolerances" in message and "solver='rk4'" in message
    assert isinstance(info.value, RuntimeError)


def test_step_budget_exhausted_raises_solver_error():
    ode = NeuralODE(MLPField(), rtol=1e-10, atol=1e-12, options={"max_num_steps": 5})
    with pytest.raises(SolverError, match="max_num_steps exceeded"):
        ode(torch.randn(3, 2), torch.linspace(0, 5, 3))


def test_ordinary_runtime_errors_are_not_swallowed():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom in the field")

    with pytest.raises(RuntimeError, match="boom in the field") as info:
        NeuralODE(Broken())(torch.ones(2))
    assert not isinstance(info.value, SolverError)


# ----------------------------------------------------------------------------- audit regressions


class CubicDecay(nn.Module):
    """dy/dt = -k y**3 with a trainable k: mild forward, but a stiff adjoint from y0 = 30."""

    def __init__(self) -> None:
        super().__init__()
        self.k = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return -self.k * y**3


def test_adjoint_backward_failure_raises_solver_error():
    ode = NeuralODE(CubicDecay(), sensitivity="adjoint", options={"max_num_steps": 80})
    y0 = torch.full((1, 1), 30.0, dtype=torch.float64, requires_grad=True)
    out = ode(y0, torch.tensor([0.0, 1.0], dtype=torch.float64))  # the forward solve succeeds
    with pytest.raises(SolverError, match="adjoint backward solve") as info:
        out.sum().backward()
    message = str(info.value)
    assert "max_num_steps exceeded" in message
    assert "adjoint_options=" in message and "sensitivity='autograd'" in message
    assert ode.nfe_backward > 0  # the failed backward attempt is counted as backward


def test_adjoint_gradients_through_autograd_grad_and_retained_graph():
    # The adjoint runs as a nested graph: torch.autograd.grad (no .grad accumulation), gradients
    # with respect to t, and a retained graph replayed twice must all behave as with autograd.
    torch.manual_seed(4)
    field = MLPField(dim=2, units=4).double()
    x0 = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.0, 0.6, 1.2], dtype=torch.float64, requires_grad=True)
    inputs = [x0, t, *field.parameters()]
    grads = {}
    for sensitivity in ("autograd", "adjoint"):
        ode = NeuralODE(field, sensitivity=sensitivity, rtol=1e-10, atol=1e-12)
        loss = ode(x0, t).pow(2).sum()
        first = torch.autograd.grad(loss, inputs, retain_graph=True)
        again = torch.autograd.grad(loss, inputs)
        for a, b in zip(first, again, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        grads[sensitivity] = first
    assert all(p.grad is None for p in field.parameters())
    for g_autograd, g_adjoint in zip(grads["autograd"], grads["adjoint"], strict=True):
        torch.testing.assert_close(g_adjoint, g_autograd, rtol=1e-6, atol=1e-7)


def test_adjoint_options_must_be_a_mapping():
    with pytest.raises(TypeError, match="adjoint_options must be a dict or None, got int 5"):
        NeuralODE(MLPField(), sensitivity="adjoint", adjoint_options=5)


def test_times_are_checked_in_the_dtype_of_x0():
    ode = NeuralODE(RateField(torch.tensor([-1.0])), rtol=1e-6, atol=1e-8)
    x0 = torch.ones(1, 1, dtype=torch.float32)
    big = torch.tensor([1e8, 1e8 + 1, 1e8 + 2], dtype=torch.float64)  # distinct in float64 only
    with pytest.raises(ValueError, match=r"not distinct in x0's dtype torch.float32") as info:
        ode(x0, big)
    assert "t - t[0]" in str(info.value) and "float64" in str(info.value)
    with pytest.raises(ValueError, match=r"t overflows in x0's dtype torch.float32"):
        ode(x0, torch.tensor([0.0, 1e300], dtype=torch.float64))
    # Shifted to start near 0, the same grid integrates fine in float32.
    out = ode(x0, big - big[0])
    torch.testing.assert_close(out[-1, 0], torch.exp(-torch.tensor([2.0])), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_x0_is_named_as_the_cause(bad):
    x0 = torch.zeros(4, 2)
    x0[2, 1] = bad
    with pytest.raises(
        NonFiniteStateError, match=r"x0 contains NaN or inf \(1 of 8 entries\)"
    ) as info:
        NeuralODE(MLPField())(x0, torch.linspace(0, 1, 3))
    # A ValueError (bad input), and still a SolverError for code that recovers from failed solves.
    assert isinstance(info.value, ValueError) and isinstance(info.value, SolverError)
    assert "stiff" not in str(info.value)
    # Fixed-step solvers propagate the NaN (the training loop detects divergence that way).
    out = NeuralODE(MLPField(), solver="rk4", options={"step_size": 0.5})(
        x0, torch.linspace(0, 1, 3)
    )
    assert not torch.isfinite(out[-1, 2]).all() and torch.isfinite(out[:, [0, 1, 3]]).all()


@pytest.mark.parametrize("sensitivity", ["autograd", "adjoint"])
def test_empty_batch_gives_an_empty_result(sensitivity):
    ode = NeuralODE(MLPField(), sensitivity=sensitivity)
    x0 = torch.zeros(0, 2, requires_grad=True)
    out = ode(x0, torch.linspace(0, 1, 4))
    assert out.shape == (4, 0, 2)
    assert ode(x0).shape == (0, 2)
    assert ode.nfe_forward == 0
    out.sum().backward()
    assert x0.grad.shape == (0, 2)


def test_half_precision_failure_names_the_dtype():
    ode = NeuralODE(RateField(torch.tensor([-1.0], dtype=torch.float16)))
    with pytest.raises(
        SolverError, match=r"x0 is torch.float16.*convert x0 and the field to float32"
    ):
        ode(torch.ones(2, 2, dtype=torch.float16), torch.tensor([0.0, 1.0]))


def test_nfe_counters_after_a_failed_solve():
    ode = NeuralODE(SquareField(), options={"max_num_steps": 10})
    x0 = torch.ones(1, dtype=torch.float64)
    with pytest.raises(SolverError):
        ode(x0, torch.tensor([0.0, 2.0], dtype=torch.float64))
    failed = ode.nfe_forward
    assert failed > 10  # the evaluations of the failed attempt, counted as forward
    assert ode.nfe_backward == 0
    ode(x0, torch.tensor([0.0, 0.01], dtype=torch.float64))  # a short solve succeeds
    assert 0 < ode.nfe_forward < failed
    assert ode.nfe_backward == 0


def test_misspelt_names_get_a_suggestion():
    with pytest.raises(ValueError, match=r"sensitivity='adjiont'.*Did you mean 'adjoint'\?"):
        NeuralODE(MLPField(), sensitivity="adjiont")
    with pytest.raises(ValueError, match=r"solver='RK4'.*Did you mean 'rk4'\?"):
        NeuralODE(MLPField(), solver="RK4")
    with pytest.raises(TypeError, match="sensitivity must be the string"):
        NeuralODE(MLPField(), sensitivity=None)


def test_tolerances_accept_real_numbers_only():
    np = pytest.importorskip("numpy")
    ode = NeuralODE(MLPField(), rtol=np.float32(1e-3), atol=np.float64(1e-5))
    assert (ode.rtol, ode.atol) == (pytest.approx(1e-3), 1e-5)
    assert isinstance(ode.rtol, float)
    assert NeuralODE(MLPField(), rtol=1).rtol == 1.0
    with pytest.raises(TypeError, match="rtol must be a positive float, got bool True"):
        NeuralODE(MLPField(), rtol=True)
    with pytest.raises(TypeError, match="atol must be a positive float, got str"):
        NeuralODE(MLPField(), atol="1e-4")
    for bad in (float("inf"), float("nan"), -1e-3, np.float32(0.0)):
        with pytest.raises(ValueError, match="rtol must be a positive float.*finite number > 0"):
            NeuralODE(MLPField(), rtol=bad)


class _Square(nn.Module):
    """dx/dt = x**2: from x0 = 1 it blows up at t = 1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x**2


def test_scipy_solver_on_a_blow_up_fails_within_its_evaluation_budget():
    # regression: scipy_solver had no step cap (LSODA ran until killed) and its failures were
    # ignored by torchdiffeq's wrapper
    ode = NeuralODE(_Square(), solver="scipy_solver", options={"max_num_steps": 50})
    start = time.perf_counter()
    with pytest.raises(SolverError, match=r"more than 600 evaluations|scipy stopped"):
        ode(torch.ones(2, 3), torch.tensor([0.0, 2.0]))
    assert time.perf_counter() - start < 20.0
    assert ode.nfe_forward <= 601


@pytest.mark.filterwarnings("ignore:The following arguments have no effect")  # RK45
def test_scipy_solver_that_gives_up_early_raises_instead_of_a_short_trajectory():
    # regression: RK45 stopped at the blow-up and a 3-time request returned 2 times silently
    ode = NeuralODE(_Square(), solver="scipy_solver", options={"solver": "RK45"})
    with pytest.raises(SolverError, match=r"scipy stopped after 1 of 2 output times"):
        ode(torch.ones(2, 3), torch.tensor([0.0, 0.5, 2.0]))
    with pytest.raises(SolverError, match="scipy stopped"):
        ode(torch.ones(2, 3))  # t=None: [0, 1], the blow-up time itself


def test_scipy_solver_refuses_to_backpropagate_with_autograd():
    # regression: the numpy solve returned a detached result, so a forecaster fitted with it
    # silently kept the vector field's initial weights
    ode = NeuralODE(MLPField(), solver="scipy_solver")
    x0, t = torch.ones(3, 2), torch.tensor([0.0, 0.5])
    with pytest.raises(ValueError, match="scipy_solver.*sensitivity='adjoint'"):
        ode(x0, t)
    with torch.no_grad():
        assert ode(x0, t).shape == (2, 3, 2)  # inference only: fine
    adjoint = NeuralODE(MLPField(), solver="scipy_solver", sensitivity="adjoint")
    adjoint(x0, t)[-1].sum().backward()
    assert all(p.grad is not None for p in adjoint.parameters())


def test_scipy_solver_with_a_non_finite_initial_state_names_it():
    ode = NeuralODE(_Square(), solver="scipy_solver")
    with pytest.raises(NonFiniteStateError, match="x0 contains NaN or inf"):
        ode(torch.tensor([1.0, float("nan")]), torch.tensor([0.0, 0.5]))
    # a finite solve still works, and the budget does not leak to another solver
    out = ode(torch.full((2,), 0.5, dtype=torch.float64), torch.tensor([0.0, 0.5]))
    torch.testing.assert_close(
        out[-1], torch.full((2,), 2.0 / 3.0, dtype=torch.float64), rtol=1e-3, atol=1e-3
    )
    ode.solver = "dopri5"
    assert ode(torch.full((2,), 0.5), torch.tensor([0.0, 0.5])).shape == (2, 2)


class _StiffBackward(nn.Module):
    """Slow rotation; a fast one (~1e5 rad per unit time) once `stiff` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))
        self.stiff = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.w * (1e5 if self.stiff else 1.0)
        return torch.stack([-w * x[..., 1], w * x[..., 0]], -1)


@pytest.mark.parametrize("adjoint_options", [None, {"norm": "seminorm"}])
def test_given_adjoint_options_keep_the_forward_step_cap(adjoint_options):
    # regression: adjoint_options without max_num_steps lost the cap (ran until killed)
    field = _StiffBackward()
    ode = NeuralODE(
        field,
        sensitivity="adjoint",
        options={"max_num_steps": 200},
        adjoint_options=adjoint_options,
    )
    out = ode(torch.ones(3, 2), torch.tensor([0.0, 1.0]))
    field.stiff = True
    with pytest.raises(SolverError, match="adjoint backward solve"):
        out.sum().backward()
    assert ode.nfe_backward < 5000


class _BlowUpBackward(nn.Module):
    """dx/dt = -x forward; the adjoint's backward solve sees dx/dt = -4 x**2, which blows up
    integrated back from t = 1 (x(1) = e**-1) before t = 0."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))
        self.backward_pass = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -4 * self.w * x**2 if self.backward_pass else -self.w * x


@pytest.mark.filterwarnings("ignore:The following arguments have no effect")  # RK45
@pytest.mark.parametrize(
    ("options", "adjoint_options"),
    [({"solver": "RK45"}, None), ({}, {"max_num_steps": 5})],
    ids=["scipy-gives-up", "adjoint-budget"],
)
def test_scipy_solver_adjoint_backward_failures_are_solver_errors(options, adjoint_options):
    # regression: a failed backward solve gave a bare shape RuntimeError, and a given
    # adjoint max_num_steps was passed to scipy and ignored
    field = _BlowUpBackward()
    ode = NeuralODE(
        field,
        solver="scipy_solver",
        sensitivity="adjoint",
        options=options,
        adjoint_options=adjoint_options,
    )
    out = ode(torch.ones(2, dtype=torch.float64), torch.tensor([0.0, 1.0]))
    field.backward_pass = True
    with pytest.raises(SolverError, match="adjoint backward solve"):
        out.sum().backward()
    if adjoint_options:
        assert ode.nfe_backward <= 61  # 12 evaluations x 5 steps, then stopped
    # the budget set for scipy does not stay on the field for another solver
    ode.solver, ode.options = "dopri5", None
    field.backward_pass = False
    ode(torch.ones(2), torch.tensor([0.0, 1.0]))
    assert ode.field.budget == 6 * 20_000 + 3 * 2  # dopri5's own cap, not scipy's


@pytest.mark.parametrize("solver", ["rk4", "midpoint", "euler"])
@pytest.mark.parametrize("times", [[0.0, 0.5, 1.0], [1.0, 0.5, 0.0], [0.2, 0.43, 1.07]])
def test_time_gradients_of_fixed_step_autograd_solves_match_the_adjoint(solver, times):
    # regression (audit): with output times on the step grid, torchdiffeq's fixed-step
    # interpolation gave d y(t_i) / d t = 0 (rk4, t=[0, .5, 1], step .25: 0 instead of -0.61)
    class Decay(torch.nn.Module):
        def forward(self, x):
            return -x

    grads = {}
    for sensitivity in ("autograd", "adjoint"):
        t = torch.tensor(times, dtype=torch.float64, requires_grad=True)
        ode = NeuralODE(
            Decay(), solver=solver, sensitivity=sensitivity, options={"step_size": 0.01}
        )
        y = ode(torch.ones(2, dtype=torch.float64), t)
        grads[sensitivity] = torch.autograd.grad(y[1].sum() + 3 * y[2].sum(), t)[0]
    exact_1, exact_2 = (math.exp(-(times[i] - times[0])) for i in (1, 2))  # y_i, any direction
    exact = 2 * torch.tensor([exact_1 + 3 * exact_2, -exact_1, -3 * exact_2])
    torch.testing.assert_close(grads["autograd"], exact.to(torch.float64), rtol=2e-2, atol=0)
    tolerance = 1e-8 if solver == "rk4" else 2e-2  # the two differ by the solver's own error
    torch.testing.assert_close(grads["autograd"], grads["adjoint"], rtol=tolerance, atol=1e-10)
    # the extra slopes are not solver steps (review: nfe_forward 17 for 16, nfe_backward 3)
    plain = NeuralODE(Decay(), solver=solver, options={"step_size": 0.01})
    plain(torch.ones(2, dtype=torch.float64), torch.tensor(times, dtype=torch.float64))
    ode = NeuralODE(Decay(), solver=solver, options={"step_size": 0.01})
    ode(torch.ones(2, dtype=torch.float64), torch.tensor(times, requires_grad=True))
    assert (ode.nfe_forward, ode.nfe_backward) == (plain.nfe_forward, 0)


def test_torchdiffeqs_own_step_cap_advises_a_larger_budget():
    # regression: "max_num_steps exceeded (2>=2)" came with advice about stiffness only
    class Fast(torch.nn.Module):
        def forward(self, t, x):
            return 10 * x

    ode = NeuralODE(Fast(), solver="dopri5", options={"max_num_steps": 2})
    with pytest.raises(
        SolverError, match=r"larger step budget, e\.g\. options=\{'max_num_steps': 20\}"
    ):
        ode(torch.ones(2), torch.tensor([0.0, 5.0]))
