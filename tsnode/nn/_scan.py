"""Fused reverse-time ODE-RNN scan with a hand-written backward pass (Euler steps).

The ODE-RNN encoder alternates, at every time point and for the whole batch at once, a few Euler
steps of the hidden-state field ``f(h) = W2 tanh(W1 h + b1) + b2`` with a GRU update. Recorded by
autograd, each of the ~120 steps of a window costs a dozen graph nodes, and the per-node overhead
of the autograd engine dominates at these small sizes (batch 64, hidden 32). This module runs the
same arithmetic as one :class:`torch.autograd.Function`:

- the forward pass runs without building a graph and keeps only the states the backward needs;
- the backward pass walks the steps in reverse order, propagating only the state gradient
  ``dL/dh`` step by step and accumulating every parameter gradient in place
  (e.g. ``dW_hh += dgates_t^T h_t``), without recording anything.

The results equal the autograd version of the scan (``tsnode.nn.encoder._reverse_scan``) up to
floating-point rounding; ``tests/nn/test_encoder.py`` checks values and gradients in float64
(``torch.autograd.gradcheck``) against it. Gradients with respect to the step sizes (the
observation times) are not computed: the encoder only uses this path when they need none.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable
from torch.nn import functional as F

__all__ = ["euler_gru_scan"]


class _EulerGRUScan(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        h: torch.Tensor,
        inputs: torch.Tensor,
        steps: torch.Tensor,
        observed: torch.Tensor,
        w1: torch.Tensor,
        b1: torch.Tensor,
        w2: torch.Tensor,
        b2: torch.Tensor,
        w_ih: torch.Tensor,
        w_hh: torch.Tensor,
        b_ih: torch.Tensor,
        b_hh: torch.Tensor,
        n_substeps: int,
    ) -> torch.Tensor:
        n_times = inputs.shape[1]
        hidden = h.shape[1]
        # Per-step slices, taken once. (The input projection is done per step: one product for
        # all steps needs a large fresh buffer, which measured slower.)
        xs, step_list, obs_list = inputs.unbind(1), steps.unbind(1), observed.unbind(1)
        moves = (steps != 0).any(dim=0).flatten().tolist()
        everyone = observed.all(dim=0).flatten().tolist()
        anyone = observed.any(dim=0).flatten().tolist()
        ode_saved: list[tuple[int, torch.Tensor, torch.Tensor]] = []  # (i, h before, tanh layer)
        gru_saved: list[tuple[torch.Tensor, ...]] = []  # (h before, r, z, n, W_hn h + b_hn)
        for i in range(n_times - 1, -1, -1):
            if moves[i]:
                step = step_list[i]
                for _ in range(n_substeps):
                    act = torch.tanh(F.linear(h, w1, b1))
                    ode_saved.append((i, h, act))
                    h = torch.addcmul(h, step, F.linear(act, w2, b2))
            if not anyone[i]:  # no update at this step (the carry to t0)
                gru_saved.append(())
                continue
            gi = F.linear(xs[i], w_ih, b_ih)
            gh = F.linear(h, w_hh, b_hh)
            r, z = torch.sigmoid(gi[:, : 2 * hidden] + gh[:, : 2 * hidden]).chunk(2, dim=1)
            gh_n = gh[:, 2 * hidden :]
            n = torch.tanh(torch.addcmul(gi[:, 2 * hidden :], r, gh_n))
            updated = torch.addcmul(n, z, h - n)  # (1 - z) n + z h
            gru_saved.append((h, r, z, n, gh_n))
            h = updated if everyone[i] else torch.where(obs_list[i], updated, h)
        ctx.n_times = n_times
        ctx.ode_saved = ode_saved
        ctx.gru_saved = gru_saved
        ctx.moves, ctx.everyone = moves, everyone
        ctx.anyone = anyone
        ctx.save_for_backward(inputs, steps, observed, w1, w2, w_ih, w_hh)
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        inputs, steps, observed, w1, w2, w_ih, w_hh = ctx.saved_tensors
        ode_saved, gru_saved = ctx.ode_saved, ctx.gru_saved
        # Parameter gradients are accumulated in place step by step: concatenating all steps
        # for one large product was slower, the large fresh buffers cost more than the products.
        grad_w_ih, grad_w_hh = torch.zeros_like(w_ih), torch.zeros_like(w_hh)
        grad_w1, grad_w2 = torch.zeros_like(w1), torch.zeros_like(w2)
        sum_d_in = grad.new_zeros(grad.shape[0], w_ih.shape[0])
        sum_d_gh = torch.zeros_like(sum_d_in)
        sum_d_out = torch.zeros_like(grad)
        sum_d_pre = grad.new_zeros(grad.shape[0], w1.shape[0])
        grad_inputs = torch.zeros_like(inputs) if ctx.needs_input_grad[1] else None
        zero = grad.new_zeros(())
        xs, step_list, obs_list = inputs.unbind(1), steps.unbind(1), observed.unbind(1)
        k = len(ode_saved)  # ode_saved[k - 1] is the last Euler step taken in the forward pass
        for i in range(ctx.n_times):
            if ctx.anyone[i]:  # the GRU update at step i
                h, r, z, n, gh_n = gru_saved[ctx.n_times - 1 - i]
                if ctx.everyone[i]:
                    through, passed = grad, None
                else:
                    through = torch.where(obs_list[i], grad, zero)
                    passed = grad - through
                d_n = through * (1.0 - z) * (1.0 - n * n)  # w.r.t. the pre-activation of n
                d_r = d_n * gh_n * r * (1.0 - r)
                d_z = through * (h - n) * z * (1.0 - z)
                d_gi = torch.cat([d_r, d_z, d_n], dim=1)
                d_gh = torch.cat([d_r, d_z, d_n * r], dim=1)
                grad_w_ih.addmm_(d_gi.t(), xs[i])
                sum_d_in += d_gi
                if grad_inputs is not None:
                    grad_inputs[:, i] = d_gi @ w_ih
                grad_w_hh.addmm_(d_gh.t(), h)
                sum_d_gh += d_gh
                grad = torch.addmm(through * z, d_gh, w_hh)
                if passed is not None:
                    grad = grad + passed
            while k and ode_saved[k - 1][0] == i:
                k -= 1
                _, h_before, act = ode_saved[k]
                d_y = grad * step_list[i]
                d_p = (d_y @ w2) * (1.0 - act * act)
                grad_w2.addmm_(d_y.t(), act)
                sum_d_out += d_y
                grad_w1.addmm_(d_p.t(), h_before)
                sum_d_pre += d_p
                grad = torch.addmm(grad, d_p, w1)
        grad_b_ih, grad_b_hh = sum_d_in.sum(0), sum_d_gh.sum(0)
        grad_b1, grad_b2 = sum_d_pre.sum(0), sum_d_out.sum(0)
        return (
            grad,
            grad_inputs,
            None,
            None,
            grad_w1,
            grad_b1,
            grad_w2,
            grad_b2,
            grad_w_ih,
            grad_w_hh,
            grad_b_ih,
            grad_b_hh,
            None,
        )


def euler_gru_scan(
    h: torch.Tensor,
    inputs: torch.Tensor,
    steps: torch.Tensor,
    observed: torch.Tensor,
    w1: torch.Tensor,
    b1: torch.Tensor,
    w2: torch.Tensor,
    b2: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    n_substeps: int,
) -> torch.Tensor:
    """Reverse-time ODE-RNN scan: Euler steps of the hidden field, then a GRU update.

    For ``i = T-1, ..., 0``: ``n_substeps`` times ``h <- h + steps[:, i] * f(h)`` with
    ``f(h) = w2 @ tanh(w1 @ h + b1) + b2``, then ``h <- GRUCell(inputs[:, i], h)`` where
    ``observed[:, i]`` (``h`` unchanged elsewhere). Weights follow :class:`torch.nn.GRUCell`
    (gate order r, z, n) and :class:`torch.nn.Linear`.

    Parameters
    ----------
    h : Tensor, shape (B, H)
        State before the scan (at the last time point).
    inputs : Tensor, shape (B, T, I)
        GRU inputs per step.
    steps : Tensor, shape (B, T, 1)
        Signed Euler step (gap / n_substeps) taken before the update at each time point; 0 leaves
        the state unchanged. No gradient flows to it.
    observed : BoolTensor, shape (B, T, 1)
        Where the GRU update applies.
    w1, b1, w2, b2 : Tensor
        The field's layers, shapes ``(U, H)``, ``(U,)``, ``(H, U)``, ``(H,)``.
    w_ih, w_hh, b_ih, b_hh : Tensor
        GRU cell weights, shapes ``(3H, I)``, ``(3H, H)``, ``(3H,)``, ``(3H,)``.
    n_substeps : int

    Returns
    -------
    Tensor, shape (B, H)
        The state after the update at the first time point.
    """
    return _EulerGRUScan.apply(
        h, inputs, steps, observed, w1, b1, w2, b2, w_ih, w_hh, b_ih, b_hh, int(n_substeps)
    )
