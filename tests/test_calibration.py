"""Tests of tsnode._calibration (numpy only, fast): the map, its fit and the held-out points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tsnode._calibration import (
    IDENTITY,
    apply_calibration,
    check_calibration,
    fit_calibration,
    holdout_points,
)


def random_walk_forecasts(
    spread: float, drift_per_day: float = 0.0, n_points: int = 3000, n_samples: int = 200
):
    """Forecasts of a driftless unit random walk at 1..20 days whose samples are ``spread``
    times too wide and drift by ``drift_per_day`` (their median moves, the truth does not)."""
    rng = np.random.default_rng(0)
    elapsed = rng.integers(1, 21, size=n_points).astype(float)
    targets = rng.standard_normal(n_points) * np.sqrt(elapsed)
    samples = (
        drift_per_day * elapsed[:, None]
        + spread * rng.standard_normal((n_points, n_samples)) * np.sqrt(elapsed)[:, None]
    )
    return samples, targets, elapsed


def test_identity_leaves_samples_unchanged():
    samples = np.random.default_rng(1).standard_normal((50, 7))
    out = apply_calibration(dict(IDENTITY), samples, np.arange(1.0, 8.0))
    np.testing.assert_array_equal(out, samples)
    assert out is not samples


@pytest.mark.parametrize("fit_slope", [False, True])
def test_too_wide_forecasts_get_a_spread_near_one_half(fit_slope):
    samples, targets, elapsed = random_walk_forecasts(spread=2.0)
    cal = fit_calibration(samples, targets, elapsed, fit_slope=fit_slope, fit_drift=False)
    assert math.exp(cal["log_spread"]) == pytest.approx(0.5, abs=0.05)
    assert abs(cal["slope"]) < 0.05
    assert cal["drift"] == 1.0
    assert cal["crps_after"] < cal["crps_before"]
    assert cal["n_points"] == len(targets)


def test_calibrated_forecasts_cover_at_nominal_rates():
    samples, targets, elapsed = random_walk_forecasts(spread=2.0)
    cal = fit_calibration(samples, targets, elapsed)
    out = apply_calibration(cal, samples.T, elapsed).T  # points as "times": same map
    lo, hi = np.quantile(out, [0.1, 0.9], axis=1)
    assert np.mean((targets >= lo) & (targets <= hi)) == pytest.approx(0.8, abs=0.03)


def test_a_spurious_median_drift_is_shrunk_away():
    samples, targets, elapsed = random_walk_forecasts(spread=1.0, drift_per_day=0.5)
    cal = fit_calibration(samples, targets, elapsed)
    assert cal["drift"] < 0.15
    assert math.exp(cal["log_spread"]) == pytest.approx(1.0, abs=0.1)


def test_a_real_drift_is_kept():
    samples, targets, elapsed = random_walk_forecasts(spread=1.0)
    cal = fit_calibration(samples + 0.5 * elapsed[:, None], targets + 0.5 * elapsed, elapsed)
    assert cal["drift"] > 0.9


def test_map_keeps_the_order_of_samples_and_continuity_of_paths():
    rng = np.random.default_rng(2)
    paths = np.cumsum(rng.standard_normal((100, 20)), axis=1)  # (samples, times)
    cal = {"log_spread": math.log(0.7), "slope": -0.3, "drift": 0.2, "n_points": 1}
    out = apply_calibration(cal, paths, np.arange(1.0, 21.0))
    np.testing.assert_array_equal(np.argsort(out, axis=0), np.argsort(paths, axis=0))
    q = np.quantile(out, [0.05, 0.1, 0.5, 0.9, 0.95], axis=0)
    assert (np.diff(q, axis=0) >= 0).all()
    np.testing.assert_allclose(np.median(out, axis=0), 0.2 * np.median(paths, axis=0))
    assert np.isfinite(out).all()


def test_too_few_points_give_the_identity():
    samples, targets, elapsed = random_walk_forecasts(spread=2.0, n_points=9)
    assert fit_calibration(samples, targets, elapsed) == IDENTITY
    empty = fit_calibration(np.zeros((0, 5)), np.zeros(0), np.zeros(0))
    assert empty == IDENTITY


def test_weights_and_non_finite_points():
    samples, targets, elapsed = random_walk_forecasts(spread=2.0)
    targets[:5] = np.nan
    cal = fit_calibration(samples, targets, elapsed, weights=np.full(len(targets), 3.0))
    assert cal["n_points"] == len(targets) - 5
    assert math.exp(cal["log_spread"]) == pytest.approx(0.5, abs=0.05)


def test_check_calibration():
    assert check_calibration({}) == IDENTITY
    assert check_calibration({"drift": 0, "log_spread": 1})["drift"] == 0.0
    with pytest.raises(ValueError, match="must be a dict"):
        check_calibration([1, 2])
    with pytest.raises(ValueError, match=r"\['slope'\] must be a finite number"):
        check_calibration({"slope": float("nan")})
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        check_calibration({"drift": 1.5})


def test_holdout_points_use_only_the_held_back_tail():
    days = np.arange(30.0)
    vals = np.arange(30.0) * 10
    calls = {}

    def decode(contexts, queries):
        calls["contexts"], calls["queries"] = contexts, queries
        # "samples" equal to the truth: targets and samples must line up
        return [np.tile(vals[q.astype(int)], (4, 1)) for q in queries]

    samples, targets, elapsed, weights, rw_scale = holdout_points(
        [(days, vals)], [25], decode, context_length=6, forecast_length=3, n_samples=4
    )
    # origins 24..28: every held-back value (25..29) is a target, never a training one
    assert [c[0][-1] for c in calls["contexts"]] == [24, 25, 26, 27, 28]
    assert all(len(c[0]) == 6 for c in calls["contexts"])
    assert [len(q) for q in calls["queries"]] == [3, 3, 3, 2, 1]
    assert samples.shape == (12, 4)
    np.testing.assert_array_equal(samples[:, 0], targets)
    np.testing.assert_array_equal(targets, 10 * elapsed)
    np.testing.assert_allclose(weights, 0.1)
    # the training part moves by exactly 10 a step: the random walk's spread is 0
    np.testing.assert_allclose(rw_scale, 0.0)


def test_holdout_points_give_a_series_that_never_moved_no_weight():
    days = np.arange(30.0)
    moving, flat = (days, np.arange(30.0) * 2.0), (days, np.full(30, 50.0))
    _, _, _, weights, _ = holdout_points(
        [moving, flat],
        [15, 15],
        lambda c, q: [np.zeros((2, len(x))) for x in q],
        context_length=5,
        forecast_length=3,
        n_samples=2,
    )
    assert set(np.unique(weights)) == {0.0, 0.5}  # flat: 0, moving: 1 / its move of 2
    # fit_calibration leaves zero-weight points out
    samples = np.random.default_rng(0).standard_normal((len(weights), 50))
    targets = np.random.default_rng(1).standard_normal(len(weights))
    elapsed = np.ones(len(weights))
    with_flat = fit_calibration(samples, targets, elapsed, weights=weights)
    keep = weights > 0
    without = fit_calibration(samples[keep], targets[keep], elapsed[keep], weights=weights[keep])
    assert with_flat["n_points"] == without["n_points"] == keep.sum()
    assert with_flat["log_spread"] == pytest.approx(without["log_spread"])


def test_holdout_points_without_a_tail_or_with_too_many_origins():
    days = np.arange(50.0)
    none = holdout_points(
        [(days, days)], [50], lambda c, q: [], context_length=5, forecast_length=2, n_samples=3
    )
    assert none[0].shape == (0, 3) and none[1].shape == (0,)
    seen = []

    def decode(contexts, queries):
        seen.extend(c[0][-1] for c in contexts)
        return [np.zeros((3, len(q))) for q in queries]

    holdout_points(
        [(days, days)],
        [10],
        decode,
        context_length=5,
        forecast_length=2,
        n_samples=3,
        max_origins=7,
    )
    assert len(seen) == 7 and seen[0] == 9 and seen[-1] == 48


def test_the_random_walk_prior_shrinks_a_short_tail_more_than_a_long_one():
    samples, targets, elapsed = random_walk_forecasts(spread=1.0)
    samples, targets = samples + 0.5 * elapsed[:, None], targets + 0.5 * elapsed  # real drift
    free = fit_calibration(samples, targets, elapsed)
    short = fit_calibration(samples, targets, elapsed, prior_windows=16.0, n_windows=15.0)
    long = fit_calibration(samples, targets, elapsed, prior_windows=16.0, n_windows=1500.0)
    assert short["drift"] < long["drift"] <= free["drift"] + 1e-6
    assert long["drift"] > 0.9  # enough evidence overrides the prior
    assert short["drift"] < 0.7  # little evidence: the median is pulled towards the last value
    # crps_after is the held-out CRPS (prior left out): the prior can only cost on that data
    assert short["crps_after"] >= free["crps_after"] - 1e-9


def test_the_prior_alone_is_minimised_by_the_identity_spread_and_no_drift():
    samples, targets, elapsed = random_walk_forecasts(spread=2.0)
    cal = fit_calibration(samples, targets, elapsed, prior_windows=1e6, n_windows=1.0)
    assert abs(cal["log_spread"]) < 0.02 and abs(cal["slope"]) < 0.02
    assert cal["drift"] < 0.05


def test_a_random_walk_scale_prior_pulls_the_spread_to_that_scale():
    # model samples twice too wide; the prior's targets are at 1.5x the model's spread
    samples, targets, elapsed = random_walk_forecasts(spread=2.0)
    scale = 1.5 * 2.0 * np.sqrt(elapsed)
    cal = fit_calibration(
        samples, targets, elapsed, prior_windows=1e6, n_windows=1.0, prior_scale=scale
    )
    assert np.exp(cal["log_spread"]) == pytest.approx(1.5, rel=0.03)
    assert abs(cal["slope"]) < 0.02 and cal["drift"] < 0.05
    # unusable scales (NaN, 0) fall back to the model's own spread: the identity again
    fallback = fit_calibration(
        samples,
        targets,
        elapsed,
        prior_windows=1e6,
        n_windows=1.0,
        prior_scale=np.where(elapsed > 10, np.nan, 0.0),
    )
    assert abs(fallback["log_spread"]) < 0.02 and abs(fallback["slope"]) < 0.02


def test_a_prior_scale_of_the_wrong_shape_is_refused():
    samples, targets, elapsed = random_walk_forecasts(spread=1.0, n_points=50)
    with pytest.raises(ValueError, match=r"prior_scale must have one value per point.*\(49,\)"):
        fit_calibration(samples, targets, elapsed, prior_windows=4.0, prior_scale=np.ones(49))


def test_holdout_points_random_walk_scale_is_the_naive_spread():
    days = np.arange(40.0)
    vals = np.cumsum(np.random.default_rng(3).standard_normal(40))
    _, _, _, _, rw_scale = holdout_points(
        [(days, vals)],
        [30],
        lambda c, q: [np.zeros((2, len(x))) for x in q],
        context_length=5,
        forecast_length=4,
        n_samples=2,
    )
    s = np.std(np.diff(vals[:30]), ddof=1)
    # origins 29..38: k = 1..4 for the first seven, then 3, 2, 1 observations remain
    expected = np.concatenate([s * np.sqrt(np.arange(1, 5))] * 7 + [s * np.sqrt([1, 2, 3])])
    np.testing.assert_allclose(rw_scale[: len(expected)], expected)
    assert len(rw_scale) == 7 * 4 + 3 + 2 + 1


def test_effective_windows():
    from tsnode._calibration import effective_windows

    assert effective_windows([76, 76, 76, 76], 20) == pytest.approx(15.2)
    assert effective_windows([0, -3], 20) == 0.0


def test_a_fixed_drift_of_zero_puts_the_median_on_the_last_value():
    samples, targets, elapsed = random_walk_forecasts(spread=1.0, drift_per_day=0.3)
    cal = fit_calibration(samples, targets, elapsed, fit_drift=False, drift=0.0)
    assert cal["drift"] == 0.0
    out = apply_calibration(cal, samples.T, elapsed).T
    np.testing.assert_allclose(np.median(out, axis=1), 0.0, atol=1e-12)
    assert cal["crps_after"] < cal["crps_before"]  # the spurious drift was costly


def test_a_fixed_drift_outside_the_unit_interval_is_refused():
    samples, targets, elapsed = random_walk_forecasts(spread=1.0, n_points=50)
    with pytest.raises(ValueError, match="drift must be in"):
        fit_calibration(samples, targets, elapsed, fit_drift=False, drift=1.5)
