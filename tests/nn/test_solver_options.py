"""NeuralODE's solver settings: option checks, the step cap of a whole solve, inference mode."""

from __future__ import annotations

import fractions
import inspect
import math
import warnings

import numpy as np
import pytest
import scipy.integrate
import torch
from torch import nn
from torchdiffeq._impl.odeint import SOLVERS as TORCHDIFFEQ_SOLVERS

from tsnode.nn import LatentODE, NeuralODE, SolverError
from tsnode.nn._options import EVALUATIONS_PER_STEP, OPTION_KEYS, SOLVERS


class _Decay(nn.Module):
    """dx/dt = -k x: stiff for a large k (dopri5 then needs about k / 25 steps per time unit)."""

    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.k * x


class _Rotation(nn.Module):
    """A rotation at a trainable rate ``w * speed`` (neutrally stable both ways in time)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor(1.0))
        self.speed = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.w * self.speed
        return torch.stack([-w * x[..., 1], w * x[..., 0]], -1)


# ----------------------------------------------------------------------------- the step cap


def test_max_num_steps_caps_the_whole_solve_not_each_output_interval():
    # regression: torchdiffeq applies max_num_steps to each output interval, so 11 output times
    # allowed 10 x the cap (the audit's stiff field made ~75,000 steps, 451,550 evaluations, 50 s,
    # against a documented cap of 20,000 steps); now the solve stops at the cap's evaluations
    x0, t = torch.ones(1, 1), torch.linspace(0.0, 1.0, 11)
    one_interval = NeuralODE(_Decay(2000.0), options={"max_num_steps": 200})
    with torch.no_grad():
        one_interval(x0, t[:2])  # ~80 steps: within the cap
    assert one_interval.nfe_forward < 6 * 200
    ode = NeuralODE(_Decay(2000.0), options={"max_num_steps": 200})
    with pytest.raises(SolverError, match="max_num_steps exceeded") as info:
        with torch.no_grad():
            ode(x0, t)  # ~80 steps in each of 10 intervals: 800 in all
    budget = 6 * 200 + 3 * 11
    assert ode.nfe_forward == budget + 1
    message = str(info.value)
    assert f"more than {budget} evaluations" in message and "whole solve" in message
    assert "looser tolerances" in message  # the usual advice


def test_default_step_cap_applies_to_the_whole_solve():
    ode = NeuralODE(_Decay(1.0))
    ode(torch.ones(2, 1), torch.linspace(0.0, 1.0, 5))
    assert ode.field.budget == 6 * 20_000 + 3 * 5
    assert "whole solve" in ode.field.budget_note


@pytest.mark.parametrize("given", [False, True], ids=["from-options", "adjoint_options"])
def test_adjoint_backward_step_cap_covers_all_output_intervals(given):
    # regression: the adjoint's backward pass solves one interval at a time, each with its own
    # max_num_steps, so its cap also grew with the number of output times
    field = _Rotation()
    options = {} if given else {"max_num_steps": 200}
    adjoint_options = {"max_num_steps": 200, "norm": "seminorm"} if given else None
    ode = NeuralODE(field, sensitivity="adjoint", options=options, adjoint_options=adjoint_options)
    out = ode(torch.ones(3, 2), torch.linspace(0.0, 1.0, 11))
    field.speed = 1000.0  # ~90 steps per interval backwards, 900 in all
    with pytest.raises(SolverError, match="adjoint backward solve") as info:
        out.sum().backward()
    name = "adjoint_options" if given else "options"
    assert f"{name}['max_num_steps']=200" in str(info.value)
    assert ode.nfe_backward == 6 * 200 + 3 * 11 + 1


def test_evaluations_per_step_match_torchdiffeq_tableaus():
    for name, per_step in EVALUATIONS_PER_STEP.items():
        if name != "scipy_solver":
            assert len(TORCHDIFFEQ_SOLVERS[name].tableau.alpha) == per_step, name


# ----------------------------------------------------------------------------- inference mode


@pytest.mark.parametrize("solver", ["dopri5", "rk4"])
def test_adjoint_solves_under_inference_mode_with_the_same_values(solver):
    # regression: sensitivity="adjoint" built its graph under enable_grad and raised
    # "Inference tensors cannot be saved for backward" under torch.inference_mode()
    torch.manual_seed(0)
    field = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    options = {"step_size": 0.1} if solver == "rk4" else None
    adjoint = NeuralODE(field, solver=solver, sensitivity="adjoint", options=options)
    autograd = NeuralODE(field, solver=solver, options=options)
    x0, t = torch.randn(4, 2), torch.linspace(0.0, 1.0, 5)
    recorded = adjoint(x0, t)
    assert recorded.requires_grad
    with torch.inference_mode():
        inference = adjoint(x0, t)
    with torch.no_grad():
        no_grad = adjoint(x0, t)
        plain = autograd(x0, t)
    assert torch.equal(inference, recorded.detach())
    assert torch.equal(no_grad, recorded.detach())
    assert torch.equal(plain, recorded.detach())
    assert adjoint.nfe_backward == 0


def test_latent_ode_with_adjoint_runs_under_inference_mode():
    torch.manual_seed(0)
    sizes = dict(latent_dim=2, hidden_dim=4, ode_units=4, encoder_units=4, readout_units=4)
    model = LatentODE(1, **sizes, sensitivity="adjoint")
    times, t_query = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([2.5, 3.0])
    values = torch.randn(2, 3, 1)
    mask = torch.ones_like(values)
    with torch.inference_mode():
        out = model(times, values, mask, t_query, generator=torch.Generator().manual_seed(0))
    expected = model(times, values, mask, t_query, generator=torch.Generator().manual_seed(0))
    assert torch.equal(out.pred_mean, expected.pred_mean.detach())


# ----------------------------------------------------------------------------- option checks


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"max_num_steps": None}, TypeError, r"options\['max_num_steps'\] must be an int from 1"),
        ({"max_num_steps": math.inf}, ValueError, r"got inf.*no unlimited setting"),
        ({"max_num_steps": 2.5}, ValueError, r"got 2.5; pass e.g."),
        ({"max_num_steps": True}, TypeError, r"got bool True"),
        ({"max_num_steps": 0}, ValueError, r"an int from 1 to 2,147,483,647 \(.*\), got 0;"),
        ({"max_num_steps": 2**31}, ValueError, r"got 2147483648"),
        ({"norm": "seminorm"}, TypeError, r"adjoint_options=\{'norm': 'seminorm'\}"),
        ({"norm": 2}, TypeError, r"options\['norm'\] must be a callable norm .*got int 2\."),
        ({"max_num_step": 10}, ValueError, r"Did you mean 'max_num_steps' or"),
        ({"rtol": 1e-6}, ValueError, r"NeuralODE's own arguments: pass NeuralODE\(\.\.\., rtol="),
        ({"step_size": 0.1}, ValueError, r"'step_size'\] is not an option of the adaptive"),
    ],
)
def test_bad_options_are_refused_with_a_fix(options, error, match):
    # regression: None / inf / 0 gave raw torchdiffeq errors, a string norm "'str' object is not
    # callable", and unknown keys only torchdiffeq's warning (the option was ignored)
    with pytest.raises(error, match=match):
        NeuralODE(_Decay(1.0), options=options)
    ode = NeuralODE(_Decay(1.0))
    ode.options = options  # also when set after construction
    with pytest.raises(error, match=match):
        ode(torch.ones(1))


def test_misspelt_fixed_step_option_is_refused_instead_of_ignored():
    # regression: options={"stepsize": 1e-9} for rk4 ran on the output grid with a warning,
    # bypassing the fixed-step count check that step_size=1e-9 (1e9 steps) would fail
    with pytest.raises(ValueError, match=r"options\['stepsize'\].*Did you mean 'step_size'\?"):
        NeuralODE(_Decay(1.0), solver="rk4", options={"stepsize": 1e-9})
    with pytest.raises(ValueError, match="fixed-step solver has no step budget"):
        NeuralODE(_Decay(1.0), solver="rk4", options={"max_num_steps": 100})
    with pytest.raises(ValueError, match=r"adjoint_options\['max_order'\].*'euler'"):
        NeuralODE(_Decay(1.0), solver="euler", adjoint_options={"max_order": 3})


def test_adjoint_norm_must_be_seminorm_or_callable():
    NeuralODE(_Decay(1.0), sensitivity="adjoint", adjoint_options={"norm": "seminorm"})
    NeuralODE(_Decay(1.0), sensitivity="adjoint", adjoint_options={"norm": max})
    with pytest.raises(ValueError, match=r"'seminorm' or a callable.*Did you mean 'seminorm'"):
        NeuralODE(_Decay(1.0), sensitivity="adjoint", adjoint_options={"norm": "semi-norm"})
    with pytest.raises(TypeError, match=r"adjoint_options\['norm'\] must be 'seminorm'"):
        NeuralODE(_Decay(1.0), sensitivity="adjoint", adjoint_options={"norm": 1})


def _torchdiffeq_keys(solver: str) -> set[str]:
    """The keyword arguments torchdiffeq's solver class takes, along its __init__ chain."""
    keys: set[str] = set()
    for klass in TORCHDIFFEQ_SOLVERS[solver].__mro__:
        if "__init__" in vars(klass):
            parameters = inspect.signature(vars(klass)["__init__"]).parameters.values()
            keys |= {p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD}
    keys -= {"self", "func", "y0", "rtol", "atol"}  # odeint's own arguments
    keys |= {"norm"}  # odeint sets it for every solver, some pop it
    if solver == "explicit_adams":
        keys.discard("implicit")  # AdamsBashforth fixes it
    if solver == "scipy_solver":
        keys |= {"grid_points", "eps", "max_num_steps"}  # popped by torchdiffeq; tsnode's own
    return keys


@pytest.mark.parametrize("solver", SOLVERS)
def test_accepted_option_keys_are_exactly_torchdiffeqs(solver):
    assert set(OPTION_KEYS[solver]) == _torchdiffeq_keys(solver)


@pytest.mark.parametrize("solver", SOLVERS)
def test_default_options_raise_no_torchdiffeq_warning(solver):
    ode = NeuralODE(_Decay(1.0).double(), solver=solver, sensitivity="adjoint")
    x0 = torch.ones(2, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*Unexpected arguments")
        ode(x0, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)).sum().backward()


@pytest.mark.parametrize(
    "steps", [1e5, 100.0, torch.tensor(1000), np.int64(500), fractions.Fraction(100, 1)]
)
def test_whole_numbers_of_steps_are_accepted_as_torchdiffeq_does(steps):
    # regression: 1e5 and a 0-d tensor solved before the option checks and were refused by
    # them; Fraction(100, 1) passed the checks, then failed inside torchdiffeq
    ode = NeuralODE(_Decay(1.0), options={"max_num_steps": steps})
    out = ode(torch.ones(1), torch.linspace(0.0, 1.0, 3))
    torch.testing.assert_close(out[-1], torch.exp(torch.tensor([-1.0])), rtol=2e-3, atol=1e-5)


def test_scipy_solver_defaults_to_an_explicit_method_and_stays_quiet():
    # regression (audit): torchdiffeq's default LSODA asked for 30.5 GiB (a dense Jacobian
    # of the flattened (4000, 16) state) and raised a bare MemoryError; RK45 then warned
    # "no effect ... min_step" on every solve (torchdiffeq always passes min_step)
    torch.manual_seed(0)
    field = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16))
    ode = NeuralODE(field, solver="scipy_solver", sensitivity="adjoint")
    assert ode._solver_options()["solver"] == "RK45"
    x0 = torch.randn(4000, 16, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ode(x0, torch.linspace(0.0, 1.0, 5))
        filters = list(warnings.filters)
        out.square().mean().backward()  # the adjoint's backward solve is quiet too
        assert warnings.filters == filters  # the filter does not outlive the solve (review)
    assert out.shape == (5, 4000, 16) and torch.isfinite(x0.grad).all()
    with pytest.warns(UserWarning, match="no effect for a chosen solver: `min_step`"):
        scipy.integrate.solve_ivp(lambda t, y: -y, (0.0, 1.0), [1.0], min_step=0.1)
    with pytest.warns(UserWarning, match="no effect for a chosen solver: `min_step`"):
        own = NeuralODE(field, solver="scipy_solver", options={"min_step": 0.1})
        with torch.no_grad():
            own(torch.ones(2, 16), torch.linspace(0.0, 1.0, 3))  # the user's min_step warns


def test_running_out_of_memory_in_a_solve_is_a_solver_error(monkeypatch):
    import tsnode.nn.ode as ode_module

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 30.5 GiB")

    monkeypatch.setattr(ode_module, "odeint", out_of_memory)
    ode = NeuralODE(torch.nn.Linear(2, 2), solver="scipy_solver", options={"solver": "LSODA"})
    with pytest.raises(SolverError, match=r"ran out of memory .*30\.5 GiB.*'RK45'"):
        with torch.no_grad():
            ode(torch.zeros(3, 2), torch.linspace(0.0, 1.0, 3))


class _Shrink(nn.Module):
    def forward(self, x):
        return -x


@pytest.mark.parametrize(
    ("solver", "options", "error", "match"),
    [
        (
            "implicit_adams",
            {"step_size": 0.1, "max_order": 20},
            ValueError,
            r"'max_order'\].*got 20",
        ),
        ("explicit_adams", {"step_size": 0.1, "max_order": 0}, ValueError, r"'max_order'\].*got 0"),
        ("implicit_adams", {"step_size": 0.1, "max_iters": 0}, ValueError, r"'max_iters'\].*got 0"),
        ("dopri5", {"first_step": -1.0}, ValueError, r"'first_step'\].*> 0, got -1\.0"),
        ("dopri5", {"first_step": 0.0}, ValueError, r"'first_step'\].*> 0, got 0\.0"),
        ("dopri5", {"max_step": 0.0}, ValueError, r"'max_step'\].*> 0, got 0\.0"),
        ("dopri5", {"first_step": "a"}, TypeError, r"'first_step'\].*got str 'a'"),
        ("dopri5", {"ifactor": 0.5}, ValueError, r"'ifactor'\].*>= 1, got 0\.5"),
        ("dopri5", {"max_step": None}, TypeError, r"'max_step'\].*got NoneType None"),
        ("explicit_adams", {"step_size": 0.1, "max_order": 1}, ValueError, r"'max_order'\].*got 1"),
        ("dopri5", {"min_step": 1e9}, ValueError, r"min_step'\]=1e\+09 is longer than the whole"),
        ("scipy_solver", {"solver": "rk45"}, ValueError, r"Did you mean 'RK45'\?"),
        (
            "rk4",
            {"step_size": 0.1, "interp": "quadratic"},
            ValueError,
            r"'interp'\] must be one of",
        ),
    ],
)
def test_option_values_are_checked(solver, options, error, match):
    # regression (audit): "max_order must be at most 12" came back as a SolverError about
    # stiff dynamics, first_step=0 as a step underflow, max_iters=0 as UnboundLocalError,
    # min_step=1e9 as an all-NaN result without a word
    with pytest.raises(error, match=match):
        NeuralODE(_Shrink(), solver=solver, options=options)(torch.ones(3), torch.linspace(0, 1, 3))


@pytest.mark.parametrize(
    ("solver", "options"),
    [
        ("dopri5", {"first_step": 0.1, "max_step": math.inf, "min_step": 0, "safety": 0.9}),
        ("dopri5", {"first_step": None, "safety": 1.2, "ifactor": 1.0, "dfactor": 1.0}),
        ("scipy_solver", {"solver": scipy.integrate.RK45}),  # an OdeSolver class, as scipy's
        ("implicit_adams", {"step_size": 0.1, "max_order": 4}),
    ],
)
def test_valid_option_values_still_solve(solver, options):
    # regression (review): safety=1.2 and scipy's OdeSolver classes worked before the checks
    ode = NeuralODE(_Shrink(), solver=solver, options=options)
    out = ode(torch.ones(3), torch.linspace(0, 1, 3))
    torch.testing.assert_close(out[-1], torch.full((3,), math.exp(-1)), rtol=2e-3, atol=0)


def test_a_field_taking_the_state_then_args_is_autonomous():
    # regression (audit): forward(self, x, *args) was called as func(t, x), then failed with
    # "func returned () for a state of shape (2,)"; the documented rule makes it func(x)
    class WithArgs(nn.Module):
        def forward(self, x, *args):
            assert not args
            return -x

    class OnlyArgs(nn.Module):
        def forward(self, *args):
            t, x = args
            return -x

    for field in (WithArgs(), OnlyArgs()):
        out = NeuralODE(field)(torch.ones(2), torch.linspace(0, 1, 2))
        torch.testing.assert_close(out[-1], torch.full((2,), math.exp(-1)), rtol=1e-3, atol=0)
    with pytest.raises(TypeError, match="func must be an nn.Module vector field, got NoneType"):
        NeuralODE(None)
