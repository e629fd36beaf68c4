"""Windows of irregular series → Latent ODE batches (numpy and torch; no pandas).

:class:`~tsnode.forecaster.TSNodeForecaster` turns each price series into ``(days, values)``
arrays; this module cuts them into training spans and held-back validation windows, and lays
windows out as :class:`~tsnode.training.Batch` tensors on times relative to each window's last
context observation; :func:`decode_samples` draws a fitted model's forecasts from contexts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from tsnode.training import Batch

__all__ = ["decode_samples", "make_batch", "split_series", "window_sampler"]

Series = tuple[np.ndarray, np.ndarray]
# Samples x series x query times decoded per call: bounds decode_samples' memory (~1.4 GB).
DECODE_BUDGET = 4_000_000
Window = tuple[np.ndarray, np.ndarray, int]


def make_batch(windows: list[Window]) -> Batch:
    """Windows ``(days, values, n_context)`` → a :class:`Batch` on relative times and values.

    Parameters
    ----------
    windows : list of (days, values, n_context)
        ``days`` and ``values`` have shape (n_obs,); the first ``n_context`` observations are
        the encoder's context, all of them are targets.

    Returns
    -------
    Batch
        ``times``/``values``/``mask`` of shape (B, C[, 1]) with C the longest context,
        ``t_query`` of shape (Q,) (the union of relative times), targets (B, Q, 1). Times are
        relative to each window's last context observation, values to its value there; the
        caller adds that value back to decoded samples.
    """
    n_ctx_max = max(n for _, _, n in windows)
    # float32 before np.unique: differences of float64 day counts (tz-aware data across a
    # DST change, intraday data) give near-equal times that would collide as float32 and
    # make the query grid non-increasing.
    # Model time zero is each window's last context observation: forecasts integrate
    # forward from there (few solver steps), the context is reconstructed backwards.
    rel = [(days - days[n - 1]).astype(np.float32) for days, _, n in windows]
    union = np.unique(np.concatenate(rel))
    b, q = len(windows), len(union)
    times = np.zeros((b, n_ctx_max))
    values = np.zeros((b, n_ctx_max, 1))
    mask = np.zeros((b, n_ctx_max, 1))
    target_values = np.zeros((b, q, 1))
    target_mask = np.zeros((b, q, 1))
    for i, ((_, raw, n_ctx), r) in enumerate(zip(windows, rel, strict=True)):
        # Values are taken relative to the last context value (the anchor): the model
        # learns moves, not levels, so it is translation invariant in (log) price.
        vals = raw - raw[n_ctx - 1]
        times[i, :n_ctx] = r[:n_ctx]
        times[i, n_ctx:] = r[n_ctx - 1]
        values[i, :n_ctx, 0] = vals[:n_ctx]
        mask[i, :n_ctx, 0] = 1.0
        pos = np.searchsorted(union, r)
        target_values[i, pos, 0] = vals
        target_mask[i, pos, 0] = 1.0
    as_t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return Batch(
        as_t(times),
        as_t(values),
        as_t(mask),
        as_t(union),
        as_t(target_values),
        as_t(target_mask),
    )


def split_series(
    series: list[Series],
    *,
    context_length: int,
    forecast_length: int,
    validation_fraction: float,
) -> tuple[list[Series], list[Window], list[int]]:
    """Training spans, early-stopping windows and the first held-back index of each series.

    The last ``validation_fraction`` of each series' observations (at least
    ``forecast_length`` when that fits) is held back when the rest still holds one full
    window of ``context_length + forecast_length`` observations; validation windows start
    every ``forecast_length`` observations and see the context before the tail.

    Returns
    -------
    train_spans : list of (days, values)
        Each series without its held-back tail.
    val_windows : list of (days, values, n_context)
    tail_starts : list of int
        Index of each series' first held-back observation (its length when none is held).
    """
    c, h = int(context_length), int(forecast_length)
    train_spans, val_windows, tail_starts = [], [], []
    for days, vals in series:
        n = len(days)
        n_val = int(round(validation_fraction * n)) if validation_fraction else 0
        n_val = max(n_val, min(h, n_val * 4)) if n_val else 0
        end = n - n_val
        if n_val and end >= c + h:  # enough history: hold the tail back
            for start in range(end - c, n - 1 - min(h, n_val) + 1, max(1, h)):
                stop = min(start + c + h, n)
                if stop - start > c:
                    val_windows.append((days[start:stop], vals[start:stop], c))
        else:
            end = n
        train_spans.append((days[:end], vals[:end]))
        tail_starts.append(end)
    return train_spans, val_windows, tail_starts


def window_sampler(
    train_spans: list[Series],
    rng: np.random.Generator,
    *,
    context_length: int,
    forecast_length: int,
    batch_size: int,
) -> Callable[[], Batch]:
    """A function that draws a random training :class:`Batch` from ``rng`` at each call.

    Each of the ``batch_size`` windows comes from a span picked with probability proportional
    to its length, and is a random run of ``context_length + forecast_length`` consecutive
    observations of it; a shorter span is used whole, its last quarter (at most
    ``forecast_length`` observations) as the forecast part.
    """
    c, h = int(context_length), int(forecast_length)
    lengths = np.array([len(d) for d, _ in train_spans], dtype=float)
    weights = lengths / lengths.sum()

    def window_of(days: np.ndarray, vals: np.ndarray) -> Window:
        n = len(days)
        if n >= c + h:
            start = int(rng.integers(0, n - (c + h) + 1))
            return days[start : start + c + h], vals[start : start + c + h], c
        n_future = max(1, min(h, n // 4))
        return days, vals, n - n_future

    def draw_batch() -> Batch:
        picks = rng.choice(len(train_spans), size=int(batch_size), p=weights)
        return make_batch([window_of(*train_spans[k]) for k in picks])

    return draw_batch


def decode_samples(
    model: Any,
    contexts: list[Series],
    queries: list[np.ndarray],
    n_samples: int,
    context_length: int,
    generator: torch.Generator,
) -> list[np.ndarray]:
    """Posterior samples of ``model`` (a ``LatentODE``) at each context's query days.

    Parameters
    ----------
    contexts : list of (days, values)
        Observed series in model units; the last ``context_length`` observations of each are
        encoded.
    queries : list of ndarray
        Absolute days to decode for each context, after (or at) its last observation.
    n_samples, context_length : int
    generator : torch.Generator
        On the model's device; drives every draw.

    Returns
    -------
    list of ndarray, one of shape ``(n_samples, len(query))`` per context, in model units.
    """
    c = context_length
    device = next(model.parameters()).device
    results = []
    # Series per decode call: 20,000 // n_samples, fewer where that chunk's dense tensors
    # (samples x series x query times, ~100 floats each) exceed DECODE_BUDGET; one series
    # alone beyond it is decoded in pieces of samples.
    lo = 0
    while lo < len(contexts):
        chunk = max(1, 20_000 // max(1, n_samples))
        while True:
            part = contexts[lo : lo + chunk]
            starts = [days[-1] for days, _ in part]
            rel_q = [
                (q - s).astype(np.float32)  # float32 grid, see make_batch
                for q, s in zip(queries[lo : lo + chunk], starts, strict=True)
            ]
            union = np.unique(np.concatenate(rel_q))
            own = len({len(r) for r in rel_q}) == 1
            width = max(1, len(rel_q[0]) if own else len(union))
            if n_samples * len(part) * width <= DECODE_BUDGET or chunk == 1:
                break
            chunk = max(1, min(chunk - 1, DECODE_BUDGET // (max(1, n_samples) * width)))
        lo += len(part)
        piece = max(1, DECODE_BUDGET // width)
        batch = make_batch([(days[-c:], vals[-c:], len(days[-c:])) for days, vals in part])
        positions = [np.searchsorted(union, r) for r in rel_q]
        # Each series is sampled at its own query times (its own draws per position, so a
        # shorter horizon gives the same paths truncated, within the budget); ragged queries
        # use the union.
        draws = []
        for first in range(0, n_samples, piece):  # one piece unless a series is too large
            with torch.no_grad():
                out = model.sample(
                    batch.times.to(device),
                    batch.values.to(device),
                    batch.mask.to(device),
                    torch.as_tensor(union, dtype=torch.float32, device=device),
                    n_samples=min(piece, n_samples - first),
                    t0=0.0,
                    generator=generator,
                    index=torch.as_tensor(np.stack(positions), device=device) if own else None,
                )  # (S, B, K, 1) or (S, B, Q, 1)
            draws.append(out[..., 0].cpu().numpy().astype(np.float64))
        out = np.concatenate(draws, axis=0) if len(draws) > 1 else draws[0]
        for i, pos in enumerate(positions):
            anchor = part[i][1][-1]  # last context value, see make_batch
            results.append((out[:, i] if own else out[:, i, pos]) + anchor)
    return results
