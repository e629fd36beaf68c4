"""Checks of :class:`~tsnode.nn.NeuralODE`'s solver settings (torch only, private).

Solver and sensitivity names, and the ``options``/``adjoint_options`` mappings handed to
torchdiffeq: the keys each solver takes (torchdiffeq only warns about others and ignores them),
``max_num_steps``, ``norm`` and ``step_size``; and the evaluation budget that makes
``max_num_steps`` a cap on a whole solve (torchdiffeq applies it to each output interval).
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from tsnode.nn._checks import check_step_size_option

__all__ = [
    "ADAPTIVE_SOLVERS",
    "FIXED_STEP_SOLVERS",
    "SOLVERS",
    "SENSITIVITIES",
    "DEFAULT_MAX_NUM_STEPS",
    "EVALUATIONS_PER_STEP",
    "OPTION_KEYS",
    "check_options",
    "check_sensitivity",
    "check_solver",
    "did_you_mean",
    "evaluation_budget",
]

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

#: Adaptive solvers give up after this many steps in one solve instead of running (almost) forever.
DEFAULT_MAX_NUM_STEPS = 20_000
# torchdiffeq stores max_num_steps as an int32.
_LARGEST_MAX_NUM_STEPS = 2**31 - 1

#: Vector-field evaluations per step (accepted or rejected) of the adaptive solvers: the stages of
#: the Runge-Kutta tableau after the first, which reuses the last evaluation of the previous step
#: (torchdiffeq's ``len(tableau.alpha)``). ``scipy_solver`` has no steps tsnode can see: it is
#: allowed 12 evaluations per step of ``max_num_steps``.
EVALUATIONS_PER_STEP: dict[str, int] = {
    "dopri8": 13,
    "dopri5": 6,
    "bosh3": 3,
    "fehlberg2": 2,
    "adaptive_heun": 1,
    "scipy_solver": 12,
}

# The options each torchdiffeq (0.2.x) solver takes: the keyword arguments of its __init__ ("norm"
# is set by odeint for every solver; rtol/atol are odeint's, NeuralODE's own arguments here).
_RUNGE_KUTTA_KEYS = (
    "max_num_steps",
    "first_step",
    "min_step",
    "max_step",
    "step_t",
    "jump_t",
    "safety",
    "ifactor",
    "dfactor",
    "dtype",
    "norm",
)
_GRID_KEYS = ("step_size", "grid_constructor", "interp", "perturb", "norm")
_ADAMS_KEYS = (*_GRID_KEYS, "max_order", "max_iters")
_SCIPY_KEYS = ("max_num_steps", "solver", "min_step", "max_step", "grid_points", "eps", "norm")
#: Option keys each solver accepts (``scipy_solver``'s ``max_num_steps`` is tsnode's own).
OPTION_KEYS: dict[str, tuple[str, ...]] = {
    **{name: _RUNGE_KUTTA_KEYS for name in ("dopri8", "dopri5", "bosh3", "fehlberg2")},
    "adaptive_heun": _RUNGE_KUTTA_KEYS,
    "scipy_solver": _SCIPY_KEYS,
    **{name: _GRID_KEYS for name in ("euler", "midpoint", "heun2", "heun3", "rk4")},
    "explicit_adams": _ADAMS_KEYS,
    "implicit_adams": (*_ADAMS_KEYS, "implicit"),
    "fixed_adams": (*_ADAMS_KEYS, "implicit"),
}


def did_you_mean(value: str, valid: Sequence[str]) -> str:
    """A " Did you mean ...?" hint naming the valid names closest to ``value`` (any case)."""
    lowered = {name.lower(): name for name in valid}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=2)
    return f" Did you mean {' or '.join(repr(lowered[c]) for c in close)}?" if close else ""


def check_solver(solver: str) -> str:
    """Return ``solver`` if torchdiffeq knows it, else raise a helpful ``ValueError``."""
    if not isinstance(solver, str):
        raise TypeError(
            f"solver must be a string naming a torchdiffeq method, got {type(solver).__name__} "
            f"{solver!r}. Valid names: {', '.join(SOLVERS)}."
        )
    if solver not in SOLVERS:
        raise ValueError(
            f"solver={solver!r} is not a known ODE solver.{did_you_mean(solver, SOLVERS)} "
            f"Valid names: {', '.join(SOLVERS)}."
        )
    return solver


def check_sensitivity(sensitivity: str) -> str:
    """Return ``sensitivity`` if it is ``"autograd"`` or ``"adjoint"``, else raise ``ValueError``."""
    if not isinstance(sensitivity, str):
        raise TypeError(
            f"sensitivity must be the string 'autograd' or 'adjoint', got "
            f"{type(sensitivity).__name__} {sensitivity!r}."
        )
    if sensitivity not in SENSITIVITIES:
        raise ValueError(
            f"sensitivity={sensitivity!r} is not supported.{did_you_mean(sensitivity, SENSITIVITIES)}"
            " Expected 'autograd' (backpropagate through the solver: fast, memory grows with the "
            "number of steps) or 'adjoint' (O(1) memory in the number of steps, slower)."
        )
    return sensitivity


def check_options(options: Mapping[str, Any] | None, name: str, solver: str) -> None:
    """``ValueError``/``TypeError`` unless ``options`` suits ``solver``.

    Every key must be one the solver takes (with a did-you-mean hint otherwise); ``step_size``
    must be finite and > 0, ``max_num_steps`` an int from 1 to 2**31 - 1, and ``norm`` a callable
    (or, in ``adjoint_options``, the string ``"seminorm"``). ``name`` is ``"options"`` or
    ``"adjoint_options"``, used in the messages.
    """
    if not options:
        return
    accepted = OPTION_KEYS[solver]
    for key in options:
        if key not in accepted:
            _refuse_key(key, name, solver, accepted)
    check_step_size_option(options, name)
    if "max_num_steps" in options:
        _check_max_num_steps(options["max_num_steps"], name)
    if "norm" in options:
        _check_norm(options["norm"], name)
    for key, (low, high, integer, meaning) in _NUMBER_OPTIONS.items():
        if key in options and not (key == "first_step" and options[key] is None):
            _check_number(options[key], f"{name}[{key!r}]", low, high, integer, meaning)
    for key, allowed in _CHOICE_OPTIONS.items():  # names only: scipy takes an OdeSolver class
        if isinstance(options.get(key), str) and options[key] not in allowed:
            raise ValueError(
                f"{name}[{key!r}] must be one of {', '.join(map(repr, allowed))}, got "
                f"{options[key]!r}.{did_you_mean(str(options[key]), allowed)}"
            )


# Numeric options torchdiffeq takes without checking them (a bad value fails deep inside it, is
# misread as stiff dynamics, or gives NaN): (lowest value, highest value, whole numbers only,
# what the option is); a lowest value written as ">x" excludes x.
_NUMBER_OPTIONS: dict[str, tuple[str, float, bool, str]] = {
    "first_step": (">0", math.inf, False, "the first step of an adaptive solve; None: chosen"),
    "min_step": ("0", math.inf, False, "the smallest step (0 for none)"),
    "max_step": (">0", math.inf, False, "the largest step"),
    "safety": (">0", math.inf, False, "the step-size safety factor"),
    "ifactor": ("1", math.inf, False, "the largest factor a step grows by"),
    "dfactor": (">0", 1.0, False, "the largest factor a step shrinks by"),
    "max_order": ("2", 12.0, True, "the order of the Adams method (1 fails in torchdiffeq)"),
    "max_iters": ("1", math.inf, True, "the corrector iterations of an implicit Adams step"),
}
_CHOICE_OPTIONS: dict[str, tuple[str, ...]] = {
    "interp": ("linear", "cubic"),
    "solver": ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA"),  # scipy_solver's method
}


def _check_number(
    value: Any, where: str, low: str, high: float, integer: bool, meaning: str
) -> None:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    strict, bound = low.startswith(">"), float(low.lstrip(">"))
    expected = f"{'a whole number' if integer else 'a number'} {'>' if strict else '>='} {bound:g}"
    expected += f" and <= {high:g}" if math.isfinite(high) else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{where} ({meaning}) must be {expected}, got {type(value).__name__} {value!r}."
        )
    above = value > bound if strict else value >= bound
    if (
        math.isnan(value)
        or not above
        or value > high
        or (integer and not float(value).is_integer())
    ):
        raise ValueError(f"{where} ({meaning}) must be {expected}, got {value!r}.")


def _refuse_key(key: object, name: str, solver: str, accepted: Sequence[str]) -> None:
    kind = "adaptive" if solver in ADAPTIVE_SOLVERS else "fixed-step"
    extra = ""
    if key in ("rtol", "atol"):
        extra = f" Tolerances are NeuralODE's own arguments: pass NeuralODE(..., {key}=...)."
    elif key == "max_num_steps":
        extra = (
            " A fixed-step solver has no step budget: its steps are set by step_size (a solve of "
            "more than 100,000 steps is refused before it starts); drop the key."
        )
    elif key == "step_size":
        extra = (
            " Adaptive solvers choose their own steps: bound them with max_step or first_step, "
            "or use a fixed-step solver such as solver='rk4'."
        )
    raise ValueError(
        f"{name}[{key!r}] is not an option of the {kind} {solver!r} solver (torchdiffeq would "
        f"ignore it).{did_you_mean(str(key), accepted)}{extra} The options {solver!r} takes: "
        f"{', '.join(accepted)}."
    )


def _check_max_num_steps(value: Any, name: str) -> None:
    where = f"{name}['max_num_steps']"
    expected = f"an int from 1 to {_LARGEST_MAX_NUM_STEPS:,} (the most steps of one solve)"
    fix = (
        "pass e.g. {'max_num_steps': 100000}, or leave the key out for tsnode's default of "
        f"{DEFAULT_MAX_NUM_STEPS:,}. There is no unlimited setting: the cap turns a stiff solve "
        "into a SolverError instead of a hang."
    )
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()  # a one-element tensor, which torchdiffeq takes too
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where} must be {expected}, got {type(value).__name__} {value!r}; {fix}")
    # a whole float (1e5) is an int to torchdiffeq, which converts it
    if not (math.isfinite(value) and float(value).is_integer()):
        raise ValueError(f"{where} must be {expected}, got {value!r}; {fix}")
    if not 1 <= value <= _LARGEST_MAX_NUM_STEPS:
        raise ValueError(f"{where} must be {expected}, got {value!r}; {fix}")


def _check_norm(norm: Any, name: str) -> None:
    adjoint = name == "adjoint_options"
    if callable(norm) or (adjoint and norm == "seminorm"):
        return
    if adjoint:
        hint = did_you_mean(norm, ["seminorm"]) if isinstance(norm, str) else ""
        raise (ValueError if isinstance(norm, str) else TypeError)(
            f"adjoint_options['norm'] must be 'seminorm' or a callable norm (tensor tuple -> "
            f"0-d tensor), got {type(norm).__name__} {norm!r}.{hint} Drop the key for the default."
        )
    seminorm = (
        " The string 'seminorm' is understood only by the adjoint's backward solve: pass "
        "adjoint_options={'norm': 'seminorm'} with sensitivity='adjoint' (already its default "
        "for adaptive solvers)."
        if isinstance(norm, str)
        else ""
    )
    raise TypeError(
        f"{name}['norm'] must be a callable norm (tensor -> 0-d tensor), got "
        f"{type(norm).__name__} {norm!r}.{seminorm} Drop the key for the default RMS norm."
    )


def evaluation_budget(solver: str, max_num_steps: int, n_times: int) -> int:
    """Vector-field evaluations allowed in one solve of at most ``max_num_steps`` steps.

    ``EVALUATIONS_PER_STEP[solver]`` per step, plus 3 per output time for torchdiffeq's starts:
    2 evaluations open a Runge-Kutta solve (the initial slope and the first step's choice), the
    adjoint's backward pass opens one solve per output interval and, when ``t`` requires grad,
    evaluates the field once more per time. So a solve over one interval reaches torchdiffeq's
    own cap first, and one over many output times is stopped at the same total.
    """
    per_step = EVALUATIONS_PER_STEP[solver]
    if solver == "scipy_solver":
        return per_step * int(max_num_steps)
    return per_step * int(max_num_steps) + 3 * int(n_times)
