"""Windows of irregular series → Latent ODE batches (tsnode._windows): layout invariants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tsnode._windows import make_batch, split_series, window_sampler


def _series(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    days = np.cumsum(rng.choice([1.0, 1.0, 1.0, 3.0, 4.0], size=n))  # weekends, holidays
    return days, np.cumsum(rng.normal(0, 0.01, size=n))


@st.composite
def windows(draw):
    out = []
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(2, 30))
        days, vals = _series(n, draw(st.integers(0, 10_000)))
        out.append((days, vals, draw(st.integers(1, n))))
    return out


@settings(max_examples=60, deadline=None)
@given(windows())
def test_make_batch_places_every_value_relative_to_its_anchor(wins):
    batch = make_batch(wins)
    union = batch.t_query.numpy()
    assert np.all(np.diff(union) > 0)
    for i, (days, vals, n_ctx) in enumerate(wins):
        rel = (days - days[n_ctx - 1]).astype(np.float32)
        pos = np.searchsorted(union, rel)
        np.testing.assert_array_equal(union[pos], rel)
        expected = (vals - vals[n_ctx - 1]).astype(np.float32)
        torch.testing.assert_close(
            batch.target_values[i, pos, 0], torch.from_numpy(expected), rtol=0, atol=0
        )
        assert batch.target_mask[i].sum() == len(days)
        assert batch.mask[i].sum() == n_ctx
        assert batch.times[i, n_ctx - 1] == 0 and batch.values[i, n_ctx - 1, 0] == 0
        # padding repeats the last context time, so encoder times never decrease
        assert torch.all(batch.times[i, n_ctx:] == 0)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(5, 400), min_size=1, max_size=4),
    context=st.integers(2, 60),
    horizon=st.integers(1, 20),
    fraction=st.sampled_from([0.0, 0.05, 0.1, 0.3]),
)
def test_split_series_partitions_each_series(lengths, context, horizon, fraction):
    series = [_series(n, k) for k, n in enumerate(lengths)]
    spans, val_windows, tail_starts = split_series(
        series, context_length=context, forecast_length=horizon, validation_fraction=fraction
    )
    for (days, vals), (span_days, span_vals), start in zip(series, spans, tail_starts, strict=True):
        np.testing.assert_array_equal(span_days, days[:start])
        np.testing.assert_array_equal(span_vals, vals[:start])
        if start < len(days):  # a tail is held back only behind one full training window
            assert start >= context + horizon
    for days, _, n_ctx in val_windows:
        assert n_ctx == context and len(days) > context and len(days) <= context + horizon
    held = [start < len(d) for (d, _), start in zip(series, tail_starts, strict=True)]
    assert bool(val_windows) == any(held)
    if fraction == 0.0:
        assert tail_starts == lengths and val_windows == []


def test_split_series_validation_windows_forecast_only_the_tail():
    days, vals = _series(300, 0)
    (span,), wins, (start,) = split_series(
        [(days, vals)], context_length=40, forecast_length=10, validation_fraction=0.1
    )
    assert start == 270 and len(span[0]) == 270
    # each window's context is the 40 observations before its first target, and the targets
    # start at the tail and step by the forecast length
    assert [w[0][40] for w in wins] == [days[270 + 10 * k] for k in range(3)]
    assert all(len(w[0]) == 50 for w in wins)


def test_window_sampler_is_reproducible_and_respects_the_lengths():
    spans = [_series(200, 0), _series(30, 1)]  # the second is shorter than one window
    kwargs = dict(context_length=40, forecast_length=10, batch_size=32)
    a = window_sampler(spans, np.random.default_rng(5), **kwargs)
    b = window_sampler(spans, np.random.default_rng(5), **kwargs)
    for _ in range(3):
        first, second = a(), b()
        torch.testing.assert_close(first.target_values, second.target_values, rtol=0, atol=0)
        torch.testing.assert_close(first.times, second.times, rtol=0, atol=0)
    batch = a()
    n_targets = batch.target_mask.sum(dim=(1, 2))
    n_context = batch.mask.sum(dim=(1, 2))
    assert set(n_targets.tolist()) == {50.0, 30.0}
    assert set(n_context[n_targets == 30].tolist()) == {30.0 - 7}  # last quarter forecast
    assert set(n_context[n_targets == 50].tolist()) == {40.0}


def test_window_sampler_picks_spans_in_proportion_to_their_length():
    # daily and two-daily spacing tell the spans apart: a window's first context time is
    # -4 days (long span) or -8 days (short span)
    long_span = (np.arange(900, dtype=float), np.zeros(900))
    short_span = (2 * np.arange(100, dtype=float), np.zeros(100))
    draw = window_sampler(
        [long_span, short_span],
        np.random.default_rng(0),
        context_length=5,
        forecast_length=5,
        batch_size=4000,
    )
    first_times = draw().times[:, 0]
    assert set(first_times.tolist()) == {-4.0, -8.0}
    assert (first_times == -4.0).float().mean().item() == pytest.approx(0.9, abs=0.015)
