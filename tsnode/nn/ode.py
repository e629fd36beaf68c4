"""`NeuralODE`: a thin, validated `nn.Module` over torchdiffeq.

The module integrates ``dx/dt = func(t, x)`` (or ``func(x)`` for an autonomous field)
with any torchdiffeq solver, backpropagating either through the solver internals
(``sensitivity="autograd"``) or with the O(1)-memory adjoint method
(``sensitivity="adjoint"``). It counts function evaluations and turns the solver's
internal failures into :class:`SolverError` with advice on how to recover.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

__all__ = ["NeuralODE", "SolverError", "SOLVERS", "ADAPTIVE_SOLVERS", "FIXED_STEP_SOLVERS"]

#: Solvers with error control (accept ``rtol``/``atol``; the adjoint seminorm applies).
ADAPTIVE_SOLVERS: tuple[str, ...] = (
    "dopri8",
    "dopri5",
    "bosh3",
    "fehlberg2",
    "adaptive_heun",
    "scipy_solver",
)
#: Fixed-grid solvers (take ``options={"step_size": h}`` or step on the output grid).
FIXED_STEP_SOLVERS: tuple[str, ...] = (
    "euler",
    "midpoint",
    "heun2",
    "heun3",
    "rk4",
    "explicit_adams",
    "implicit_adams",
    "fixed_adams",
)
#: Every solver name accepted by :class:`NeuralODE` (all of torchdiffeq's methods).
SOLVERS: tuple[str, ...] = ADAPTIVE_SOLVERS + FIXED_STEP_SOLVERS
SENSITIVITIES: tuple[str, ...] = ("autograd", "adjoint")

# Adaptive solvers give up after this many steps instead of running (almost) forever.
_DEFAULT_MAX_NUM_STEPS = 20_000
# Order of explicit_adams unless options say otherwise (torchdiffeq's default 12 is unstable).
_EXPLICIT_ADAMS_MAX_ORDER = 4


class SolverError(RuntimeError):
    """The ODE solver could not integrate the vector field (step size underflow, too many steps).

    Usual causes are stiff or exploding dynamics. Remedies, cheapest first: loosen ``rtol``/``atol``,
    use a fixed-step solver (``solver="rk4"`` with ``options={"step_size": h}``), add weight decay or
    smoother activations to the vector field, or lower the learning rate.
    """


def check_solver(solver: str) -> str:
    """Return ``solver`` if torchdiffeq knows it, else raise a helpful ``ValueError``."""
    if not isinstance(solver, str):
        raise TypeError(
            f"solver must be a string naming a torchdiffeq method, got {type(solver).__name__} "
            f"{solver!r}. Valid names: {', '.join(SOLVERS)}."
        )
    if solver not in SOLVERS:
        close = difflib.get_close_matches(solver, SOLVERS, n=2)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"solver={solver!r} is not a known ODE solver.{hint} Valid names: {', '.join(SOLVERS)}."
        )
    return solver


def check_sensitivity(sensitivity: str) -> str:
    """Return ``sensitivity`` if it is ``"autograd"`` or ``"adjoint"``, else raise ``ValueError``."""
    if sensitivity not in SENSITIVITIES:
        raise ValueError(
            f"sensitivity={sensitivity!r} is not supported; expected 'autograd' (backpropagate "
            "through the solver: fast, memory grows with the number of steps) or 'adjoint' "
            "(O(1) memory in the number of steps, slower)."
        )
    return sensitivity


def _is_time_dependent(func: nn.Module) -> bool:
    """Detect whether ``func`` takes ``(t, x)`` (True) or only ``(x)`` (False).

    The rule: count the positional parameters of ``func.forward`` (or ``func`` itself for a plain
    callable) that have no default. Two or more means ``func(t, x)``; exactly one means ``func(x)``.
    """
    target = func.forward if isinstance(func, nn.Module) else func
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # builtins without a signature: assume the torchdiffeq form
        return True
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values()):
        return True
    if len(positional) == 0:
        raise TypeError(
            "func must accept the state as a positional argument: func(t, x) for a time-dependent "
            "field or func(x) for an autonomous one; its signature is "
            f"{type(func).__name__}{signature}."
        )
    return len(positional) >= 2


class _CountingField(nn.Module):
    """Wraps the user's vector field: uniform ``(t, x)`` call, NFE counting, shape checks."""

    def __init__(self, func: nn.Module, time_dependent: bool) -> None:
        super().__init__()
        self.func = func
        self.time_dependent = time_dependent
        self.nfe = 0

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        dx = self.func(t, x) if self.time_dependent else self.func(x)
        if not isinstance(dx, torch.Tensor) or dx.shape != x.shape:
            got = tuple(dx.shape) if isinstance(dx, torch.Tensor) else type(dx).__name__
            raise ValueError(
                f"func returned {got} for a state of shape {tuple(x.shape)}; a vector field "
                "must return dx/dt with exactly the shape of the state x."
            )
        return dx


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
    rtol, atol : float
        Relative and absolute tolerances of adaptive solvers (ignored by fixed-step ones).
    options : mapping, optional
        Passed to torchdiffeq, e.g. ``{"step_size": 0.1}`` for fixed-step solvers or
        ``{"max_num_steps": 1000}`` for adaptive ones (tsnode's default cap is 20,000 steps, so a
        stiff field fails with :class:`SolverError` instead of hanging). ``explicit_adams``
        defaults to ``{"max_order": 4}`` (torchdiffeq's order 12 is numerically unstable).
    adjoint_options : mapping, optional
        Options for the backward (adjoint) solve; default ``{"norm": "seminorm"}`` for adaptive
        solvers.

    Attributes
    ----------
    nfe_forward : int
        Function evaluations during the last forward solve.
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
                f"func must be an nn.Module (or callable) vector field, got {type(func).__name__}."
            )
        if not isinstance(func, nn.Module):
            raise TypeError(
                f"func must be an nn.Module so its parameters can be trained and found by the "
                f"adjoint; got {type(func).__name__}. Wrap plain functions in an nn.Module."
            )
        for name, value in (("rtol", rtol), ("atol", atol)):
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"{name} must be a positive float, got {value!r}.")
        if options is not None and not isinstance(options, Mapping):
            raise TypeError(f"options must be a dict or None, got {type(options).__name__}.")
        self.solver = check_solver(solver)
        self.sensitivity = check_sensitivity(sensitivity)
        self.rtol = float(rtol)
        self.atol = float(atol)
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
        """Function evaluations since the last forward solve ended: the adjoint's backward pass.

        Zero with ``sensitivity="autograd"``, whose backward replays the recorded graph.
        """
        return self.field.nfe - self._nfe_mark

    @property
    def func(self) -> nn.Module:
        """The user's vector field."""
        return self.field.func

    def _solver_options(self) -> dict[str, Any]:
        options = dict(self.options or {})
        if self.solver in ADAPTIVE_SOLVERS and self.solver != "scipy_solver":
            options.setdefault("max_num_steps", _DEFAULT_MAX_NUM_STEPS)
        if self.solver == "explicit_adams":
            # torchdiffeq's default max_order=12 gives an Adams-Bashforth method whose stability
            # region is tiny: it diverges on dx/dt = -x over [0, 2] with step_size=0.1. AB4 is
            # the classic stable choice; users can still pass their own max_order.
            options.setdefault("max_order", _EXPLICIT_ADAMS_MAX_ORDER)
        return options

    def forward(self, x0: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        """Integrate from ``x0`` at ``t[0]`` to every time in ``t``.

        Parameters
        ----------
        x0 : Tensor, shape (*state_shape)
            Initial state, any floating dtype; typically ``(batch, features)``.
        t : Tensor, shape (n_times,), optional
            Strictly increasing (forward in time) or strictly decreasing (reverse time) output
            times, with ``t[0]`` the time of ``x0``. Default: integrate over ``[0, 1]``.

        Returns
        -------
        Tensor
            With ``t=None``, the final state, shape ``(*state_shape)``. Otherwise the trajectory,
            shape ``(n_times, *state_shape)``, whose first entry is ``x0``.
        """
        if not isinstance(x0, torch.Tensor) or not x0.is_floating_point():
            raise TypeError(
                "x0 must be a floating-point torch.Tensor, got "
                f"{type(x0).__name__}{'' if not isinstance(x0, torch.Tensor) else ' of dtype ' + str(x0.dtype)}."
                " Convert with torch.as_tensor(x0, dtype=torch.float32)."
            )
        return_last = t is None
        t = self._check_times(t, x0)
        # field.nfe counts every evaluation ever made; marks delimit the last forward solve.
        self._nfe_start = self.field.nfe
        self._nfe_mark = self.field.nfe
        options = self._solver_options()
        try:
            if self.sensitivity == "adjoint":
                adjoint_options = self.adjoint_options
                if adjoint_options is None:
                    adjoint_options = {k: v for k, v in options.items() if k != "norm"}
                    if self.solver in ADAPTIVE_SOLVERS and self.solver != "scipy_solver":
                        adjoint_options["norm"] = "seminorm"
                out = odeint_adjoint(
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
        except AssertionError as error:  # torchdiffeq signals solver failure with asserts
            raise self._solver_error(error) from error
        except RuntimeError as error:
            if "max_num_steps" in str(error):
                raise self._solver_error(error) from error
            raise
        self._nfe_mark = self.field.nfe
        return out[-1] if return_last else out

    def _check_times(self, t: torch.Tensor | None, x0: torch.Tensor) -> torch.Tensor:
        if t is None:
            return torch.tensor([0.0, 1.0], dtype=x0.dtype, device=x0.device)
        t = torch.as_tensor(t)
        if not t.is_floating_point():
            t = t.to(x0.dtype)
        if t.dim() != 1 or t.numel() < 2:
            raise ValueError(
                f"t must be a 1-D tensor of at least 2 times, got shape {tuple(t.shape)}. "
                "Pass e.g. torch.linspace(0, 1, 10), or t=None to integrate over [0, 1]."
            )
        if not torch.isfinite(t).all():
            raise ValueError("t contains NaN or inf; all output times must be finite.")
        diffs = t[1:] - t[:-1]
        if not ((diffs > 0).all() or (diffs < 0).all()):
            raise ValueError(
                "t must be strictly increasing (forward in time) or strictly decreasing (reverse "
                f"time), got {t.tolist()[:8]}{'...' if t.numel() > 8 else ''}. Sort the times and "
                "remove duplicates."
            )
        return t.to(device=x0.device, dtype=x0.dtype)

    def _solver_error(self, error: BaseException) -> SolverError:
        return SolverError(
            f"The {self.solver!r} solver failed ({error}). This usually means stiff or exploding "
            f"dynamics. Try, in order: looser tolerances (rtol={self.rtol:g}, atol={self.atol:g}); "
            "a fixed-step solver, e.g. solver='rk4' with options={'step_size': 0.05}; weight decay "
            "or a smaller learning rate; smoother activations (tanh/softplus) in the vector field."
        )

    def extra_repr(self) -> str:
        return (
            f"solver={self.solver!r}, sensitivity={self.sensitivity!r}, rtol={self.rtol:g}, "
            f"atol={self.atol:g}, options={self.options}"
        )
