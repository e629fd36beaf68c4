"""`NeuralODE`: a thin, validated `nn.Module` over torchdiffeq.

The module integrates ``dx/dt = func(t, x)`` (or ``func(x)`` for an autonomous field)
with any torchdiffeq solver, backpropagating either through the solver internals
(``sensitivity="autograd"``) or with the O(1)-memory adjoint method
(``sensitivity="adjoint"``). It counts function evaluations and turns the solver's
internal failures into :class:`SolverError` with advice on how to recover.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torchdiffeq import odeint, odeint_adjoint

from tsnode.nn._checks import check_fixed_steps, check_positive
from tsnode.nn._field import (
    _CountingField,
    _is_scipy_failure,
    _is_solver_failure,
    _is_time_dependent,
    _needs_grad,
    _quiet_scipy_min_step,
)
from tsnode.nn._options import (
    ADAPTIVE_SOLVERS,
    DEFAULT_MAX_NUM_STEPS,
    EVALUATIONS_PER_STEP,
    FIXED_STEP_SOLVERS,
    SOLVERS,
    check_options,
    check_sensitivity,
    check_solver,
    evaluation_budget,
)

__all__ = [
    "NeuralODE",
    "SolverError",
    "NonFiniteStateError",
    "SOLVERS",
    "ADAPTIVE_SOLVERS",
    "FIXED_STEP_SOLVERS",
]

# Order of explicit_adams unless options say otherwise (torchdiffeq's default 12 is unstable).
_EXPLICIT_ADAMS_MAX_ORDER = 4


class SolverError(RuntimeError):
    """The ODE solver could not integrate the vector field (step size underflow, too many steps).

    Usual causes are stiff or exploding dynamics. Remedies, cheapest first: loosen ``rtol``/``atol``,
    use a fixed-step solver (``solver="rk4"`` with ``options={"step_size": h}``), add weight decay or
    smoother activations to the vector field, or lower the learning rate.
    """


class NonFiniteStateError(SolverError, ValueError):
    """The solver failed because the initial state ``x0`` contains NaN or inf.

    Both a :class:`SolverError` (code that recovers from failed solves, like the training loop,
    still catches it) and a ``ValueError`` (the real cause is a bad input value, not stiffness).
    """


class _AdjointGuard(torch.autograd.Function):
    """``odeint_adjoint`` run as a nested graph, so that its backward solve can report failures.

    torchdiffeq's adjoint solves the adjoint ODE inside its own autograd node, where a failed
    solve escapes as a bare ``AssertionError``. This function runs the adjoint forward with its
    own graph and, in its backward pass, asks that graph for the gradients of ``x0``, ``t`` and
    the parameters, turning a solver failure into :class:`SolverError`.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        ode: NeuralODE,
        options: dict[str, Any],
        x0: torch.Tensor,
        t: torch.Tensor,
        *params: torch.Tensor,
    ) -> torch.Tensor:
        inner_x0 = x0.detach().requires_grad_(x0.requires_grad)
        inner_t = t.detach().requires_grad_(t.requires_grad)
        with torch.enable_grad():
            out = ode._adjoint_solve(inner_x0, inner_t, options)
        ctx.ode, ctx.budget = ode, ode._backward_budget  # (budget, note) of the backward solve
        ctx.inner = (out, (inner_x0, inner_t, *params))
        return out.detach()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        out, inputs = ctx.inner
        wanted = [i for i, need in enumerate(ctx.needs_input_grad[2:]) if need]
        grads: list[torch.Tensor | None] = [None] * len(inputs)
        if wanted and out.requires_grad:
            field, scipy = ctx.ode.field, ctx.ode.solver == "scipy_solver"
            field.budget_start = field.nfe  # the backward solve's own budget
            field.budget, field.budget_note = ctx.budget
            try:
                with _quiet_scipy_min_step(ctx.ode):
                    found = torch.autograd.grad(
                        out,
                        [inputs[i] for i in wanted],
                        grad,
                        allow_unused=True,
                        retain_graph=True,  # the outer graph may be retained and replayed
                    )
            except (AssertionError, RuntimeError, ValueError) as error:
                if _is_solver_failure(error) or (scipy and _is_scipy_failure(error)):
                    raise ctx.ode._solver_error(error, backward=True) from error
                raise
            for i, g in zip(wanted, found, strict=True):
                grads[i] = g
        return (None, None, *grads)


class NeuralODE(nn.Module):
    """Neural ordinary differential equation ``dx/dt = func(t, x)`` solved with torchdiffeq.

    Parameters
    ----------
    func : nn.Module
        The vector field. ``func(t, x)`` (time-dependent) or ``func(x)`` (autonomous); which one is
        detected from the number of required positional arguments of ``func.forward``. It must
        return a tensor with the shape of ``x``.
    solver : str, default "dopri5"
        Any torchdiffeq method: adaptive ``dopri8, dopri5, bosh3, fehlberg2, adaptive_heun,
        scipy_solver`` or fixed-step ``euler, midpoint, heun2, heun3, rk4, explicit_adams,
        implicit_adams, fixed_adams``.
    sensitivity : {"autograd", "adjoint"}, default "autograd"
        How gradients are computed. ``"autograd"`` backpropagates through the solver (fast,
        memory grows with the number of steps). ``"adjoint"`` solves the adjoint ODE backwards
        (memory constant in the number of steps); for adaptive solvers it uses the seminorm of
        Kidger et al. (2021) by default, which skips error control on the parameter adjoint.
        ``scipy_solver`` solves in numpy and needs ``"adjoint"`` to backpropagate (with
        ``"autograd"`` a solve that requires gradients raises ``ValueError``). A solve that
        records no gradients (``torch.no_grad()``, ``torch.inference_mode()``, or nothing
        requires grad) is the plain forward solve, with the same result, for either.
    rtol, atol : float
        Relative and absolute tolerances of adaptive solvers (ignored by fixed-step ones).
    options : mapping, optional
        Passed to torchdiffeq, e.g. ``{"step_size": 0.1}`` for fixed-step solvers or
        ``{"max_num_steps": 1000}`` for adaptive ones. ``max_num_steps`` (an int >= 1, default
        20,000) caps the steps of the whole solve, over all output times, so a stiff field fails
        with :class:`SolverError` instead of hanging: the solve is stopped after that many steps'
        worth of field evaluations (6 per step for dopri5, 13 for dopri8, 3 for bosh3, 2 for
        fehlberg2, 1 for adaptive_heun, 12 for ``scipy_solver``, plus 3 per output time;
        torchdiffeq's own cap, applied to each output interval, stays). A solve scipy gives up
        on raises :class:`SolverError`; its method defaults to ``{"solver": "RK45"}`` (explicit:
        torchdiffeq's LSODA may need a dense Jacobian of the whole flattened state, n^2 floats,
        and run out of memory). ``explicit_adams`` defaults to ``{"max_order": 4}``
        (torchdiffeq's order 12 is numerically unstable). A ``step_size`` must be a positive
        finite float; a fixed-step solve of more than 100,000 steps (``|t[-1] - t[0]| /
        step_size``) is refused with a ``ValueError`` before it starts. ``norm`` must be a
        callable. Keys the solver does not take (which torchdiffeq would ignore with a warning,
        e.g. a misspelt ``"stepsize"``) are refused with a ``ValueError``.
    adjoint_options : mapping, optional
        Options for the backward (adjoint) solve, checked like ``options``; default:
        ``options`` plus ``{"norm": "seminorm"}`` for adaptive solvers. Given ones keep the
        forward solve's ``max_num_steps`` and ``max_order`` unless they set their own. A
        failed backward solve also raises :class:`SolverError`.

    Attributes
    ----------
    nfe_forward : int
        Function evaluations during the last forward solve (the failed attempt, after a
        :class:`SolverError`).
    nfe_backward : int
        Function evaluations during the last backward pass (adjoint only; with autograd the
        backward pass replays the recorded graph and evaluates ``func`` zero times).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> field = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    >>> out = NeuralODE(field, sensitivity="adjoint", solver="dopri5")(torch.randn(8, 2))
    >>> out.shape
    torch.Size([8, 2])
    """

    def __init__(
        self,
        func: nn.Module,
        *,
        solver: str = "dopri5",
        sensitivity: str = "autograd",
        rtol: float = 1e-3,
        atol: float = 1e-4,
        options: Mapping[str, Any] | None = None,
        adjoint_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not callable(func):
            raise TypeError(
                f"func must be an nn.Module vector field, got {type(func).__name__}; wrap a "
                "plain function in an nn.Module."
            )
        if not isinstance(func, nn.Module):
            raise TypeError(
                f"func must be an nn.Module so its parameters can be trained and found by the "
                f"adjoint; got {type(func).__name__}. Wrap plain functions in an nn.Module."
            )
        for name, value in (("options", options), ("adjoint_options", adjoint_options)):
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(
                    f"{name} must be a dict or None, got {type(value).__name__} {value!r}; pass "
                    "e.g. {'max_num_steps': 1000}."
                )
        self.solver = check_solver(solver)
        check_options(options, "options", self.solver)
        check_options(adjoint_options, "adjoint_options", self.solver)
        self.sensitivity = check_sensitivity(sensitivity)
        self.rtol = check_positive("rtol", rtol)
        self.atol = check_positive("atol", atol, "1e-4")
        self.options = dict(options) if options is not None else None
        self.adjoint_options = dict(adjoint_options) if adjoint_options is not None else None
        self.field = _CountingField(func, _is_time_dependent(func))
        self._nfe_start = 0
        self._nfe_mark = 0

    @property
    def nfe_forward(self) -> int:
        """Function evaluations during the last forward solve."""
        return self._nfe_mark - self._nfe_start

    @property
    def nfe_backward(self) -> int:
        """Function evaluations since the last forward solve ended (or failed): the adjoint's backward.

        Zero with ``sensitivity="autograd"``, whose backward replays the recorded graph.
        """
        return self.field.nfe - self._nfe_mark

    @property
    def func(self) -> nn.Module:
        """The user's vector field."""
        return self.field.func

    def _solver_options(self) -> dict[str, Any]:
        check_solver(self.solver)  # also after `ode.solver = ...` or `ode.options = ...`
        check_options(self.options, "options", self.solver)
        check_options(self.adjoint_options, "adjoint_options", self.solver)
        options = dict(self.options or {})
        if self.solver in ADAPTIVE_SOLVERS:  # checked whole: 1e5, Fraction(100), tensor(100)
            options["max_num_steps"] = int(options.get("max_num_steps", DEFAULT_MAX_NUM_STEPS))
        if self.solver == "explicit_adams":
            # torchdiffeq's default max_order=12 gives an Adams-Bashforth method whose stability
            # region is tiny: it diverges on dx/dt = -x over [0, 2] with step_size=0.1. AB4 is
            # the classic stable choice; users can still pass their own max_order.
            options.setdefault("max_order", _EXPLICIT_ADAMS_MAX_ORDER)
        if self.solver == "scipy_solver":
            # torchdiffeq's default, LSODA, may switch to a stiff method whose dense Jacobian of
            # the flattened state needs n^2 floats (122 GiB for 200 paths x 100 series x 16)
            options.setdefault("solver", "RK45")
        return options

    def forward(self, x0: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        """Integrate from ``x0`` at ``t[0]`` to every time in ``t``.

        Parameters
        ----------
        x0 : Tensor, shape (*state_shape)
            Initial state, any floating dtype; typically ``(batch, features)``. An empty batch
            gives an empty result. NaN/inf make adaptive solvers fail with
            :class:`NonFiniteStateError`; fixed-step solvers propagate them.
        t : Tensor, shape (n_times,), optional
            Strictly increasing (forward in time) or strictly decreasing (reverse time) output
            times, with ``t[0]`` the time of ``x0``; cast to x0's dtype, in which they must stay
            distinct and finite. Default: integrate over ``[0, 1]``.

        Returns
        -------
        Tensor
            With ``t=None``, the final state, shape ``(*state_shape)``. Otherwise the trajectory,
            shape ``(n_times, *state_shape)``, whose first entry is ``x0``.

        Raises
        ------
        SolverError
            If the solver fails, in this solve or (adjoint) in the backward solve.
        ValueError
            If a fixed-step solve would take more than 100,000 steps of ``step_size``, or
            ``scipy_solver`` with ``sensitivity="autograd"`` is asked for gradients.
        """
        if not isinstance(x0, torch.Tensor) or not x0.is_floating_point():
            raise TypeError(
                "x0 must be a floating-point torch.Tensor, got "
                f"{type(x0).__name__}{'' if not isinstance(x0, torch.Tensor) else ' of dtype ' + str(x0.dtype)}."
                " Convert with torch.as_tensor(x0, dtype=torch.float32)."
            )
        return_last = t is None
        t, span = self._check_inputs(x0, t)
        # field.nfe counts every evaluation ever made; marks delimit the last forward solve (an
        # attempted one too: the marks are set even when the solver fails).
        self._nfe_start = self.field.nfe
        self._nfe_mark = self.field.nfe
        if x0.numel() == 0:  # an empty batch: nothing to integrate
            out = x0.unsqueeze(0).expand(t.numel(), *x0.shape).clone()
            return out[-1] if return_last else out
        options = self._solver_options()
        scipy = self.solver == "scipy_solver"
        min_step = options.get("min_step")
        if min_step is not None and float(min_step) > span:  # torchdiffeq's result: all NaN
            raise ValueError(
                f"options['min_step']={float(min_step):g} is longer than the whole solve "
                f"(|t[-1] - t[0]| = {span:g}); pass a smaller min_step, or none."
            )
        if scipy:
            # torchdiffeq's scipy wrapper ignores a failed solve (and max_num_steps): check the
            # state first, bound the evaluations, check the result's length after
            if not bool(torch.isfinite(x0).all()):
                raise self._solver_error(RuntimeError("non-finite initial state"), x0)
            if self.sensitivity == "autograd" and _needs_grad(x0, self.field, t):
                raise ValueError(
                    "solver='scipy_solver' solves in numpy, so sensitivity='autograd' cannot "
                    "backpropagate through it (the result would carry no gradient); use "
                    "sensitivity='adjoint', or solve under torch.no_grad() for inference only."
                )
        # The step cap of the whole solve (torchdiffeq's max_num_steps holds per output interval,
        # and scipy ignores it), as a budget of field evaluations.
        self.field.budget, self.field.budget_note = None, ""
        if self.solver in ADAPTIVE_SOLVERS:
            steps = options.pop("max_num_steps") if scipy else options["max_num_steps"]
            self.field.budget, self.field.budget_note = self._budget(steps, t.numel(), "options")
            self.field.budget_start = self.field.nfe
        # Without gradients to record, the adjoint's forward is the plain solve (the adjoint's
        # graph cannot be built under torch.inference_mode()).
        adjoint = self.sensitivity == "adjoint" and _needs_grad(x0, self.field, t)
        # Fixed steps (forward, and the adjoint's backward solve) are counted before solving.
        backward = self.adjoint_options if adjoint else None
        sizes = [o.get("step_size") for o in (options, backward) if o]
        sizes = [float(h) for h in sizes if h is not None and self.solver in FIXED_STEP_SOLVERS]
        if sizes:
            if not math.isfinite(span):  # overflowed in t's dtype (float16): measure in Python
                span = abs(float(t[-1]) - float(t[0]))
            check_fixed_steps(
                span,
                min(sizes),
                what=f"Integrating from t[0] to t[-1] with the fixed-step {self.solver!r} solver",
                fix="Use a larger options['step_size'] (adjoint_options' too), or rescale time so "
                "the span is shorter (divide t by a time scale; LatentODE: a larger time_scale, "
                "TSNodeForecaster: a larger time_scale_days), or an adaptive solver ('dopri5').",
            )
        # torchdiffeq's fixed-step solvers give d y(t_i) / d t = 0 at output times on the step
        # grid (its interpolation returns the grid value): solve at detached times and add
        # the exact first-order terms, dy(t_i)/dt_i = f(t_i, y_i) and, through x0,
        # dy(t_i)/dt_0 = -(dy(t_i)/dx0) f(t_0, x0); the values are unchanged.
        times = t
        fixed = self.solver in FIXED_STEP_SOLVERS
        if fixed and not adjoint and t.requires_grad and torch.is_grad_enabled():
            t = t.detach()
            with torch.no_grad():
                slope0 = self.field.slope(t[0], x0)
            x0 = x0 - (times[0] - t[0]) * slope0
        try:
            with _quiet_scipy_min_step(self):
                if adjoint:
                    params = tuple(self.field.parameters())
                    out = _AdjointGuard.apply(self, options, x0, t, *params)
                else:
                    out = odeint(
                        self.field,
                        x0,
                        t,
                        rtol=self.rtol,
                        atol=self.atol,
                        method=self.solver,
                        options=options,
                    )
        except (AssertionError, RuntimeError) as error:
            if _is_solver_failure(error):
                raise self._solver_error(error, x0) from error
            raise
        except MemoryError as error:  # e.g. scipy's implicit methods on a large state
            raise SolverError(
                f"The {self.solver!r} solve of a state of {x0.numel()} values ran out of memory "
                f"({error}); implicit scipy methods (options['solver'] 'LSODA', 'BDF', 'Radau') "
                "hold a dense n x n Jacobian. Use options={'solver': 'RK45'} (the default) or "
                "a torch solver such as 'dopri5', or solve smaller batches."
            ) from error
        finally:
            self._nfe_mark = self.field.nfe
        if scipy and out.shape[0] != t.numel():
            reached = out.shape[0] - 1
            raise self._solver_error(
                RuntimeError(f"scipy stopped after {reached} of {t.numel() - 1} output times"), x0
            )
        if times is not t:  # the t-gradient terms of a fixed-step solve (see above)
            with torch.no_grad():
                slopes = torch.stack([self.field.slope(t[i], out[i]) for i in range(t.numel())])
            shift = (times - t).reshape(-1, *([1] * (out.dim() - 1)))
            out = out + shift.to(out.dtype) * slopes
        return out[-1] if return_last else out

    def _adjoint_solve(
        self, x0: torch.Tensor, t: torch.Tensor, options: dict[str, Any]
    ) -> torch.Tensor:
        """``odeint_adjoint`` with this module's settings; see :class:`_AdjointGuard`."""
        if self.adjoint_options is None:
            adjoint_options = {k: v for k, v in options.items() if k != "norm"}
            if self.solver in ADAPTIVE_SOLVERS and self.solver != "scipy_solver":
                adjoint_options["norm"] = "seminorm"
        else:  # the user's options, with the same caps as the forward solve's by default
            adjoint_options = dict(self.adjoint_options)
            for key in ("max_num_steps", "max_order"):
                if key in options:
                    adjoint_options.setdefault(key, options[key])
        # The field enforces the backward solve's step cap too (see forward); scipy's has no
        # steps in adjoint_options by default, and then keeps the forward one.
        self._backward_budget = (self.field.budget, self.field.budget_note)
        if self.solver in ADAPTIVE_SOLVERS:
            pop = self.solver == "scipy_solver"
            steps = (adjoint_options.pop if pop else adjoint_options.get)("max_num_steps", None)
            given = "max_num_steps" in (self.adjoint_options or {})
            if steps:
                name = "adjoint_options" if given else "options"
                self._backward_budget = self._budget(steps, t.numel(), name)
        return odeint_adjoint(
            self.field,
            x0,
            t,
            rtol=self.rtol,
            atol=self.atol,
            method=self.solver,
            options=options,
            adjoint_options=adjoint_options,
            adjoint_params=tuple(self.field.parameters()),
        )

    def _budget(self, steps: int, n_times: int, name: str) -> tuple[int, str]:
        """The field evaluations that ``steps`` steps over ``n_times`` times allow, and why."""
        per_step = EVALUATIONS_PER_STEP[self.solver]
        starts = "" if self.solver == "scipy_solver" else " + 3 per output time"
        note = (
            f"{self.solver} takes {per_step} per step: {per_step} x {name}['max_num_steps']="
            f"{steps}{starts}; the cap counts the steps of the whole solve, over all output times"
        )
        return evaluation_budget(self.solver, steps, n_times), note

    def _check_inputs(self, x0: torch.Tensor, t: torch.Tensor | None) -> tuple[torch.Tensor, float]:
        """Check ``t`` is finite and strictly monotonic in x0's dtype; return ``t`` cast and
        its span ``|t[-1] - t[0]|``.

        The times are checked *after* the cast to x0's dtype and device (what the solver sees):
        distinct float64 times can collapse to duplicates, or overflow, in float32. All checks
        share one device synchronisation. ``x0`` itself is only inspected when a solve fails
        (see :meth:`_solver_error`): a non-finite state must keep flowing through fixed-step
        solvers as NaN, which is how the training loop detects and recovers from divergence.
        """
        if t is None:
            t = torch.tensor([0.0, 1.0], dtype=x0.dtype, device=x0.device)
        raw = torch.as_tensor(t)
        if raw.dtype == torch.bool or raw.is_complex():
            raise TypeError(
                f"t must hold real times, got a {raw.dtype} tensor; pass e.g. [0.0, 1.0]."
            )
        if raw.dim() != 1 or raw.numel() < 2:
            raise ValueError(
                f"t must be a 1-D tensor of at least 2 times, got shape {tuple(raw.shape)}. "
                "Pass e.g. torch.linspace(0, 1, 10), or t=None to integrate over [0, 1]."
            )
        t = raw.to(device=x0.device, dtype=x0.dtype)
        diffs = t[1:] - t[:-1]
        checks = [torch.isfinite(t).all(), (diffs > 0).all(), (diffs < 0).all()]
        checks = [c.to(t.dtype) for c in checks] + [(t[-1] - t[0]).abs()]
        t_finite, increasing, decreasing, span = torch.stack(checks).tolist()
        in_dtype = f"in x0's dtype {x0.dtype}" if raw.dtype != x0.dtype else ""
        if not t_finite:
            if in_dtype and bool(torch.isfinite(raw).all()):
                raise ValueError(
                    f"t overflows {in_dtype} (largest |t| = {raw.abs().max().item():g}, the dtype's "
                    f"maximum is {torch.finfo(x0.dtype).max:g}). Shift the times to start near 0 "
                    "(t - t[0]) and rescale them, or use float64 for x0 and the field."
                )
            raise ValueError("t contains NaN or inf; all output times must be finite.")
        if not (increasing or decreasing):
            shown = f"{raw.tolist()[:8]}{'...' if raw.numel() > 8 else ''}"
            raw_diffs = raw[1:] - raw[:-1]
            if in_dtype and bool((raw_diffs > 0).all() or (raw_diffs < 0).all()):
                raise ValueError(
                    f"t = {shown} is strictly monotonic, but its times are not distinct {in_dtype}: "
                    "neighbouring times round to the same value. Shift the times to start near 0 "
                    "(t - t[0]), or use float64 for x0 and the field."
                )
            raise ValueError(
                "t must be strictly increasing (forward in time) or strictly decreasing (reverse "
                f"time), got {shown}. Sort the times and remove duplicates."
            )
        return t, span

    def _solver_error(
        self, error: BaseException, x0: torch.Tensor | None = None, *, backward: bool = False
    ) -> SolverError:
        """A :class:`SolverError` for a failed forward solve from ``x0`` (or ``backward`` solve).

        Checks the failed solve's ``x0`` (only now, off the hot path): a non-finite initial state
        gives a :class:`NonFiniteStateError` instead of advice about stiffness.
        """
        if x0 is not None and not bool(torch.isfinite(x0).all()):
            n_bad = int((~torch.isfinite(x0)).sum())
            return NonFiniteStateError(
                f"The {self.solver!r} solver failed ({error}) because x0 contains NaN or inf "
                f"({n_bad} of {x0.numel()} entries): the initial state must be finite. Check the "
                "data or the encoder that produced it (torch.isfinite(x0).all(dim=-1) finds the "
                "rows); in training, non-finite weights are the usual cause: lower the learning "
                "rate. (Fixed-step solvers propagate the NaN instead of failing.)"
            )
        if backward:
            return SolverError(
                f"The {self.solver!r} solver failed in the adjoint backward solve ({error}); the "
                "forward solve succeeded, but the adjoint ODE integrated back from t[-1] to t[0] "
                "is often stiffer. Try, in order: a larger step budget or another solver for the "
                "backward solve, e.g. adjoint_options={'max_num_steps': 100000, 'norm': "
                "'seminorm'}; sensitivity='autograd' (backpropagates through the forward solve, "
                f"no backward solve); looser tolerances (rtol={self.rtol:g}, atol={self.atol:g}, "
                "shared by the adjoint); weight decay or a smaller learning rate."
            )
        precision = ""
        dtype = None if x0 is None else x0.dtype
        if dtype in (torch.float16, torch.bfloat16) and self.solver in ADAPTIVE_SOLVERS:
            eps = torch.finfo(dtype).eps
            precision = (
                f" x0 is {dtype}, whose precision (eps = {eps:g}) is too coarse for adaptive "
                f"error control at these tolerances: convert x0 and the field to float32 (or "
                f"float64), or use tolerances well above {eps:g} or a fixed-step solver."
            )
        usually = "Otherwise it usually means" if precision else "This usually means"
        budget = ""
        if "max_num_steps" in str(error):  # torchdiffeq's own per-interval cap
            steps = (self.options or {}).get("max_num_steps", DEFAULT_MAX_NUM_STEPS)
            budget = (
                f"if the dynamics are merely fast, a larger step budget, e.g. "
                f"options={{'max_num_steps': {10 * int(steps)}}} (now {steps}); "
            )
        return SolverError(
            f"The {self.solver!r} solver failed ({error}).{precision} {usually} stiff or "
            f"exploding dynamics. Try, in order: {budget}looser tolerances (rtol={self.rtol:g}, "
            f"atol={self.atol:g}); a fixed-step solver, e.g. solver='rk4' with "
            "options={'step_size': 0.05}; weight decay or a smaller learning rate; smoother "
            "activations (tanh/softplus) in the vector field."
        )

    def extra_repr(self) -> str:
        return (
            f"solver={self.solver!r}, sensitivity={self.sensitivity!r}, rtol={self.rtol:g}, "
            f"atol={self.atol:g}, options={self.options}"
        )
