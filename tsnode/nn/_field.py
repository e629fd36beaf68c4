"""The vector-field side of :class:`~tsnode.nn.NeuralODE` (torch only, private).

The wrapper that counts evaluations and enforces a solve's step budget, the detection of
``func(t, x)`` versus ``func(x)``, and the classification of solver failures.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn


def _is_solver_failure(error: BaseException) -> bool:
    """torchdiffeq signals a failed solve with asserts (step underflow, step budget exhausted)."""
    return isinstance(error, AssertionError) or (
        isinstance(error, RuntimeError) and "max_num_steps" in str(error)
    )


@contextlib.contextmanager
def _quiet_scipy_min_step(ode: Any) -> Iterator[None]:
    """Hide scipy's "no effect ... `min_step`" warning during ``ode``'s ``scipy_solver`` solve.

    torchdiffeq passes ``min_step=0`` to every scipy method, and scipy warns on each solve that
    it has no effect for all but LSODA. The filter names exactly that message; it is added for
    the solve and removed after, in place: a ``catch_warnings`` block would swap the whole
    process's filters (unsafe under threads). A user's own ``min_step`` still warns.
    """
    if ode.solver != "scipy_solver" or "min_step" in (ode.options or {}):
        yield
        return
    warnings.filterwarnings("ignore", message=_MIN_STEP_WARNING, category=UserWarning)
    entry = warnings.filters[0]
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # another thread's solve removed it already
            warnings.filters.remove(entry)
        getattr(warnings, "_filters_mutated", lambda: None)()  # as filterwarnings does


_MIN_STEP_WARNING = r"The following arguments have no effect for a chosen solver: `min_step`\."


def _is_scipy_failure(error: BaseException) -> bool:
    """scipy_solver's failures inside torchdiffeq: a short result reshaped (RuntimeError),
    or scipy's refusal of a non-finite state (ValueError)."""
    text = str(error)
    return (isinstance(error, RuntimeError) and "is invalid for input of size" in text) or (
        isinstance(error, ValueError) and "must be finite" in text
    )


def _is_time_dependent(func: nn.Module) -> bool:
    """Detect whether ``func`` takes ``(t, x)`` (True) or only ``(x)`` (False).

    The rule: count the positional parameters of ``func.forward`` (or ``func`` itself for a plain
    callable) that have no default. Two or more means ``func(t, x)``; exactly one means ``func(x)``
    (also with ``*args`` after it); none, with ``*args``, means ``func(t, x)``.
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
    if (
        any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values())
        and len(positional) != 1
    ):  # forward(*args): torchdiffeq's (t, x); forward(x, *args) is autonomous
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
        # max_num_steps for a whole adaptive solve (torchdiffeq caps each output interval, and
        # scipy_solver not at all): the field stops the solve after `budget` evaluations from
        # `budget_start` (None: unlimited); `budget_note` explains the number in the message
        self.budget: int | None = None
        self.budget_start = 0
        self.budget_note = ""

    def slope(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``dx/dt`` at ``(t, x)`` outside any solve: not counted, no step budget."""
        return self.func(t, x) if self.time_dependent else self.func(x)

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        if self.budget is not None and self.nfe - self.budget_start > self.budget:
            raise RuntimeError(
                f"max_num_steps exceeded: more than {self.budget} evaluations of the vector field "
                f"in one solve ({self.budget_note})"
            )
        dx = self.func(t, x) if self.time_dependent else self.func(x)
        if not isinstance(dx, torch.Tensor) or dx.shape != x.shape:
            got = tuple(dx.shape) if isinstance(dx, torch.Tensor) else type(dx).__name__
            raise ValueError(
                f"func returned {got} for a state of shape {tuple(x.shape)}; a vector field "
                "must return dx/dt with exactly the shape of the state x."
            )
        return dx


def _needs_grad(x0: torch.Tensor, field: nn.Module, t: torch.Tensor | None = None) -> bool:
    """Whether a solve from ``x0`` (at times ``t``) through ``field`` is recorded for
    backpropagation: never under ``torch.no_grad()`` or ``torch.inference_mode()``."""
    return torch.is_grad_enabled() and (
        x0.requires_grad
        or (t is not None and t.requires_grad)
        or any(p.requires_grad for p in field.parameters())
    )
