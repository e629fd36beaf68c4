"""Input checks shared by the torch modules of :mod:`tsnode.nn` (torch only, no pandas).

Everything here is cheap: Python-side checks of types, shapes and numbers, or vectorised tensor
reductions whose result the caller reads in the single device synchronisation it already does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import torch

__all__ = [
    "MAX_FIXED_STEPS",
    "check_fixed_steps",
    "check_size",
    "check_step_size_option",
    "check_tensor",
    "check_tensors",
    "check_decode_inputs",
    "check_rows_sorted",
    "check_targets",
]

#: Most steps one fixed-step integration (or one fixed step grid) may take. tsnode's own largest
#: use is far below: ``TSNodeForecaster``'s default ``step_size=0.5`` in units of
#: ``time_scale_days=30`` needs about 9,300 steps for its longest horizon (100,000 sessions), and
#: the encoder carries a daily 60-row context to ``t0`` in about 12 steps of 0.25. One solve of
#: 100,000 steps already takes tens of seconds and gigabytes of autograd memory for a batch of 64;
#: beyond it a mis-scaled time axis would hang or exhaust memory instead of failing.
MAX_FIXED_STEPS = 100_000


def check_size(name: str, value: Any, *, minimum: int = 1, note: str = "") -> int:
    """Return ``value`` as an int if it is an integer (numpy ints too) ``>= minimum``.

    Raises ``TypeError`` for non-integers and bools, ``ValueError`` below ``minimum``.
    """
    word = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be {word}{note}, got {type(value).__name__} {value!r}; pass e.g. "
            f"{name}={max(minimum, 1) * 8}."
        )
    if value < minimum:
        raise ValueError(
            f"{name} must be {word}{note}, got {value!r}; pass e.g. {name}={max(minimum, 1) * 8}."
        )
    return int(value)


def check_positive(name: str, value: float, example: str = "1e-3") -> float:
    """Return ``value`` as a float if it is a finite real number > 0 (numpy scalars included).

    Raises ``TypeError`` for non-numbers and bools, ``ValueError`` for NaN, inf and values <= 0.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a positive float, got {type(value).__name__} {value!r}; pass e.g. "
            f"{name}={example}."
        )
    if not 0 < float(value) < math.inf:
        raise ValueError(
            f"{name} must be a positive float, got {value!r}; expected a finite number > 0, "
            f"e.g. {name}={example}."
        )
    return float(value)


def check_step_size_option(options: Mapping[str, Any] | None, name: str = "options") -> None:
    """``ValueError``/``TypeError`` unless ``options["step_size"]`` is absent, None or finite > 0."""
    if not options or options.get("step_size") is None:
        return
    value = options["step_size"]
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    check_positive(f"{name}['step_size']", value, example="0.1")


def check_fixed_steps(span: float, step: float, *, what: str, fix: str) -> int:
    """Number of fixed steps of length ``step`` over ``span``; ``ValueError`` above the cap.

    ``what`` describes the integration (e.g. ``"integrating from t[0]=0 to t[-1]=1e9"``) and
    ``fix`` says how to shorten it; both go into the message, which also states the span, the
    step size, the step count and :data:`MAX_FIXED_STEPS`.
    """
    n_steps = abs(span) / step
    if math.isfinite(n_steps) and n_steps <= MAX_FIXED_STEPS:
        return max(1, math.ceil(n_steps - 1e-9))
    count = f"{n_steps:,.0f}" if n_steps < 1e15 else f"{n_steps:.3g}"
    count = count if math.isfinite(n_steps) else "infinitely many"
    raise ValueError(
        f"{what} spans {abs(span):.6g} time units; in steps of {step:.6g} that is {count} fixed "
        f"steps, more than the {MAX_FIXED_STEPS:,} allowed per integration (it would run for "
        "hours or exhaust memory: the step is too small for the span, or the times are "
        f"mis-scaled). {fix}"
    )


def check_tensor(name: str, value: Any, *, floating: bool = False) -> torch.Tensor:
    """Return ``value`` if it is a torch.Tensor (of a floating dtype with ``floating``)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(value).__name__}; convert it with "
            f"torch.as_tensor({name}, dtype=torch.float32)."
        )
    if floating and not value.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {value.dtype}; convert it with "
            f"{name}.float() (or .double() for a float64 model)."
        )
    return value


def check_tensors(**tensors: Any) -> None:
    """``TypeError`` naming the first keyword argument that is not a torch.Tensor."""
    for name, value in tensors.items():
        check_tensor(name, value)


def check_decode_inputs(
    z0: Any, t_query: Any, index: Any, latent_dim: int, dtype: torch.dtype
) -> None:
    """Check :meth:`LatentODE.decode`'s inputs, with one device synchronisation.

    ``z0 (*batch, latent_dim)`` of the model's ``dtype``, ``t_query (Q,)`` strictly increasing,
    ``index (B, K)`` of positions in ``[0, Q)`` (``B`` = ``z0.shape[-2]``).
    """
    check_tensors(z0=z0, t_query=t_query)
    if t_query.dim() != 1 or t_query.numel() == 0:
        raise ValueError(f"t_query must be a non-empty 1-D tensor, got {tuple(t_query.shape)}.")
    if z0.dim() == 0 or z0.shape[-1] != latent_dim or z0.dtype != dtype:
        raise (ValueError if z0.dim() == 0 or z0.shape[-1] != latent_dim else TypeError)(
            f"z0 must be a {dtype} tensor of shape (*batch, latent_dim={latent_dim}), got "
            f"{z0.dtype} of shape {tuple(z0.shape)}; sample it from the model's encoder, or "
            f"convert with z0.to({dtype}) (or the model with model.to(z0.dtype))."
        )
    n_query = t_query.numel()
    flags = [(t_query[1:] > t_query[:-1]).all()] if n_query > 1 else []
    if index is not None:
        flags.append(_index_in_range(index, z0, n_query).to(t_query.device))
    ok = torch.stack(flags).tolist() if flags else []
    if n_query > 1 and not ok[0]:
        raise ValueError("t_query must be strictly increasing (sorted, no duplicates).")
    if index is not None and not ok[-1]:
        low, high = int(index.min()), int(index.max())
        raise ValueError(
            f"index holds positions from {low} to {high}, but t_query has {n_query} times: "
            f"every entry must lie in [0, {n_query - 1}]. Index each series' own times in "
            "t_query (e.g. torch.searchsorted(t_query, own_times))."
        )


def _index_in_range(index: Any, z0: torch.Tensor, n_query: int) -> torch.Tensor:
    """Check the type and shape of ``decode``'s ``index``; return a 0-d bool "in range" tensor
    (no synchronisation: the caller reads it together with its other checks)."""
    if not isinstance(index, torch.Tensor) or index.is_floating_point() or index.is_complex():
        got = index.dtype if isinstance(index, torch.Tensor) else type(index).__name__
        raise TypeError(
            f"index must be an integer (long) torch.Tensor of shape (batch, K) holding positions "
            f"in t_query, got {got}; build it with torch.as_tensor(positions, dtype=torch.long)."
        )
    batch = z0.shape[-2] if z0.dim() >= 2 else None
    if index.dim() != 2 or index.shape[0] != batch:
        raise ValueError(
            f"index must have shape (batch, K) = ({batch}, K), one row of t_query positions per "
            f"series of z0 (shape {tuple(z0.shape)}); got shape {tuple(index.shape)}."
        )
    if index.numel() == 0:
        return torch.ones((), dtype=torch.bool, device=index.device)
    return ((index >= 0) & (index < n_query)).all()


def check_rows_sorted(index: torch.Tensor) -> None:
    """``ValueError`` unless every row of ``index (B, K)`` is non-decreasing (in time order)."""
    if index.shape[-1] < 2:
        return
    unsorted = (index[..., 1:] < index[..., :-1]).any(dim=-1)  # (B,)
    if bool(unsorted.any()):
        row = int(unsorted.nonzero()[0, 0])
        shown = index[row].tolist()
        raise ValueError(
            f"index rows must be increasing (each series' own query positions in time order), "
            f"but row {row} is {shown[:8]}{'...' if len(shown) > 8 else ''}: with anchored=True "
            "the noise is a Brownian path through each row's times in order. Sort each row "
            "(index.sort(dim=1).values) and reorder anything aligned with it the same way."
        )


def check_targets(
    target_values: Any, target_mask: Any, values: torch.Tensor, t_query: torch.Tensor, dim: int
) -> None:
    """``TypeError``/``ValueError`` unless both targets are tensors of shape ``(B, Q, D)``."""
    check_tensor("target_values", target_values, floating=True)
    check_tensor("target_mask", target_mask)
    if values.dim() != 3 or t_query.dim() != 1:
        return  # the encoder and decode() report those shapes
    expected = (values.shape[0], t_query.shape[0], dim)
    for name, tensor in (("target_values", target_values), ("target_mask", target_mask)):
        if tuple(tensor.shape) != expected:
            raise ValueError(
                f"{name} must have shape (batch, len(t_query), input_dim) = {expected} (the "
                f"targets on the t_query grid, for the {expected[0]} series of values), got "
                f"{tuple(tensor.shape)}. Lay each series' targets out on the union grid t_query, "
                "with mask 0 where a series has no target."
            )
