"""Tests for tsnode.metrics: every metric against hand-computed values."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from tsnode import metrics as m

TOL = dict(rel=1e-12, abs=1e-12)


# ----------------------------------------------------------------------------- point metrics


def test_point_metrics_hand_computed():
    y, f = [1.0, 2.0, 3.0], [2.0, 2.0, 5.0]  # errors 1, 0, 2
    assert m.mae(y, f) == pytest.approx(1.0, **TOL)
    assert m.rmse(y, f) == pytest.approx(math.sqrt(5.0 / 3.0), **TOL)
    # |2-1|/2, |4-5|/4, 0 -> (0.5 + 0.25 + 0) / 3
    assert m.mape([2.0, 4.0, 5.0], [1.0, 5.0, 5.0]) == pytest.approx(0.25, **TOL)
    # 2*2/(1+3) = 1, 0 -> 0.5
    assert m.smape([1.0, 2.0], [3.0, 2.0]) == pytest.approx(0.5, **TOL)
    assert m.smape([0.0], [0.0]) == 0.0
    assert m.smape([1.0], [-1.0]) == pytest.approx(2.0, **TOL)  # upper bound


def test_point_metrics_accept_pandas_and_2d():
    y = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    f = np.array([[1.0, 3.0], [3.0, 4.0]])  # rows (1, 3), (2, 4): errors 0, 0, 1, 0
    assert m.mae(y, f) == pytest.approx(0.25, **TOL)


def test_nan_pairs_are_dropped():
    y = [1.0, np.nan, 3.0, 4.0]
    f = [2.0, 5.0, np.nan, 4.0]
    assert m.mae(y, f) == pytest.approx(0.5, **TOL)  # pairs (1,2) and (4,4)
    assert m.rmse(y, f) == pytest.approx(math.sqrt(0.5), **TOL)


def test_all_nan_returns_nan_with_warning():
    with pytest.warns(RuntimeWarning, match="nothing left to score"):
        assert math.isnan(m.mae([np.nan], [1.0]))


def test_mape_zero_actual_is_infinite_with_warning():
    with pytest.warns(RuntimeWarning, match="zeros"):
        assert m.mape([0.0, 1.0], [1.0, 1.0]) == math.inf
    assert m.mape([0.0, 2.0], [0.0, 1.0]) == pytest.approx(0.25, **TOL)  # 0/0 pair scores 0


def test_mase_with_y_train_and_scale():
    y, f = [1.0, 2.0, 3.0], [2.0, 2.0, 5.0]  # |errors| 1, 0, 2 -> MAE 1
    # naive errors of [1, 3, 2, 5]: 2, 1, 3 -> mean 2
    assert m.mase(y, f, y_train=[1.0, 3.0, 2.0, 5.0]) == pytest.approx(0.5, **TOL)
    assert m.mase(y, f, y_train=[1.0, np.nan, 3.0, 2.0, 5.0]) == pytest.approx(0.5, **TOL)
    assert m.mase(y, f, scale=4.0) == pytest.approx(0.25, **TOL)
    # per-element scale: 1/1, 0/2, 2/4 -> (1 + 0 + 0.5) / 3
    assert m.mase(y, f, scale=[1.0, 2.0, 4.0]) == pytest.approx(0.5, **TOL)


def test_mase_errors():
    with pytest.raises(ValueError, match="exactly one of `scale`"):
        m.mase([1.0], [1.0])
    with pytest.raises(ValueError, match="exactly one of `scale`"):
        m.mase([1.0], [1.0], scale=1.0, y_train=[1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        m.mase([1.0], [2.0], y_train=[3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="positive"):
        m.mase([1.0], [2.0], scale=0.0)
    with pytest.raises(ValueError, match="y_train"):
        m.mase([1.0], [2.0], y_train=[3.0])
    with pytest.raises(ValueError, match="`scale` of shape"):
        m.mase([1.0, 2.0], [2.0, 2.0], scale=[1.0, 2.0, 3.0])


@pytest.mark.parametrize("func", [m.mae, m.rmse, m.mape, m.smape])
def test_point_metric_validation(func):
    with pytest.raises(ValueError, match="`y_pred` has shape"):
        func([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="`y_true` is empty"):
        func([], [])
    with pytest.raises(TypeError, match="`y_true`"):
        func(["a"], [1.0])


def test_inputs_not_mutated():
    y = np.array([1.0, np.nan, 3.0])
    f = pd.Series([2.0, 2.0, np.nan])
    q = np.array([[0.0, 2.0], [1.0, 3.0], [np.nan, 4.0]])
    y0, f0, q0 = y.copy(), f.copy(), q.copy()
    m.mae(y, f)
    m.mase(y, f, y_train=y)
    m.pinball_loss(y, q, (0.1, 0.9))
    m.pit_values(y, q, (0.1, 0.9))
    m.crps_from_samples(y, q.T)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(q, q0)
    pd.testing.assert_series_equal(f, f0)


# ----------------------------------------------------------------------------- probabilistic


def test_pinball_and_crps_from_quantiles_hand_computed():
    y = [1.0, 5.0]
    yq = [[0.0, 2.0], [2.0, 4.0]]
    # row 1: diffs 1, -1 -> 0.1*1 = 0.1, (0.9-1)*(-1) = 0.1
    # row 2: diffs 3, 1  -> 0.1*3 = 0.3, 0.9*1 = 0.9
    assert m.pinball_loss(y, yq, (0.1, 0.9)) == pytest.approx(0.35, **TOL)
    assert m.crps_from_quantiles(y, yq, (0.1, 0.9)) == pytest.approx(0.7, **TOL)


def test_crps_from_quantiles_median_only_is_mae():
    y, f = np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 5.0])
    assert m.crps_from_quantiles(y, f, [0.5]) == pytest.approx(m.mae(y, f), **TOL)
    assert m.pinball_loss(y, f[:, None], [0.5]) == pytest.approx(0.5, **TOL)


def test_quantile_inputs_multidimensional():
    y = np.zeros((2, 3))
    yq = np.stack([np.full((2, 3), -1.0), np.full((2, 3), 1.0)], axis=-1)
    # every element: 0.1 * 1 (lower: diff +1) and 0.1 * 1 (upper: (0.9-1)*(-1))
    assert m.pinball_loss(y, yq, [0.1, 0.9]) == pytest.approx(0.1, **TOL)


@pytest.mark.parametrize(
    ("quantiles", "match"),
    [
        ((0.0, 0.9), "strictly between 0 and 1"),
        ((0.1, 1.0), "strictly between 0 and 1"),
        ((0.9, 0.1), "sorted strictly increasing"),
        ((0.1, 0.5, 0.9), "has 3 levels"),
        ((), "non-empty"),
    ],
)
def test_quantile_validation(quantiles, match):
    with pytest.raises(ValueError, match=match):
        m.pinball_loss([1.0, 2.0], [[0.0, 2.0], [1.0, 3.0]], quantiles)


def test_quantile_shape_validation():
    with pytest.raises(ValueError, match="`y_quantiles` must have shape"):
        m.crps_from_quantiles([1.0, 2.0, 3.0], [[0.0, 2.0], [1.0, 3.0]], (0.1, 0.9))


def test_crps_from_samples_hand_computed():
    # samples {0, 2}, y = 1: E|X-y| = 1, E|X-X'| = (0+2+2+0)/4 = 1 -> 1 - 0.5 = 0.5
    assert m.crps_from_samples([1.0], [[0.0], [2.0]]) == pytest.approx(0.5, **TOL)
    # samples {0, 1, 3}, y = 3: E|X-y| = 5/3; sum_{i,j}|xi-xj| = 12 -> 12/9/2 = 2/3 -> 1
    assert m.crps_from_samples([3.0], [[0.0], [1.0], [3.0]]) == pytest.approx(1.0, **TOL)
    # a single sample is the absolute error
    assert m.crps_from_samples([1.0, 2.0], [[3.0, 2.5]]) == pytest.approx(1.25, **TOL)


def test_crps_from_samples_ignores_nan_draws():
    x = np.array([[0.0, 0.0], [2.0, 2.0], [np.nan, 4.0]])
    # column 1: {0, 2}, y = 1 -> 0.5; column 2: {0, 2, 4}, y = 1:
    # E|X-y| = (1+1+3)/3 = 5/3, sum|xi-xj| = 2*(2+4+2) = 16 -> 16/9/2 = 8/9
    expected = (0.5 + (5.0 / 3.0 - 8.0 / 9.0)) / 2.0
    assert m.crps_from_samples([1.0, 1.0], x) == pytest.approx(expected, **TOL)


def _crps_brute(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    term1 = np.mean(np.abs(x - y[None, :]), axis=0)
    term2 = np.mean(np.abs(x[:, None, :] - x[None, :, :]), axis=(0, 1))
    return term1 - 0.5 * term2


@settings(max_examples=50, deadline=None)
@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(1, 12), st.integers(1, 4)),
        elements=st.floats(-100, 100, allow_nan=False),
    ),
    data=st.data(),
)
def test_crps_sorted_formula_matches_brute_force(x, data):
    y = np.array(
        data.draw(st.lists(st.floats(-100, 100), min_size=x.shape[1], max_size=x.shape[1]))
    )
    expected = float(np.mean(_crps_brute(y, x)))
    assert m.crps_from_samples(y, x) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert m.crps_from_samples(y, x) >= -1e-9


def test_crps_normal_closed_form():
    # CRPS(N(0,1), 0) = 2 phi(0) - 1/sqrt(pi)
    exact = 2.0 * stats.norm.pdf(0.0) - 1.0 / math.sqrt(math.pi)
    draws = stats.norm.ppf((np.arange(4000) + 0.5) / 4000)[:, None]
    assert m.crps_from_samples([0.0], draws) == pytest.approx(exact, abs=1e-3)
    levels = (np.arange(199) + 1) / 200
    q = stats.norm.ppf(levels)[None, :]
    assert m.crps_from_quantiles([0.0], q, levels) == pytest.approx(exact, abs=2e-3)


def test_samples_shape_validation():
    with pytest.raises(ValueError, match="leading samples axis"):
        m.crps_from_samples([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="`samples` must have shape"):
        m.crps_from_samples([1.0, 2.0], np.zeros((5, 3)))


def test_coverage_and_width_hand_computed():
    y = [1.0, 2.0, 3.0, 4.0]
    lo = [0.0, 2.0, 4.0, 0.0]
    hi = [1.0, 3.0, 5.0, 3.0]
    assert m.coverage(y, lo, hi) == pytest.approx(0.5, **TOL)  # bounds inclusive
    assert m.interval_width(lo, hi) == pytest.approx(1.5, **TOL)
    with pytest.warns(RuntimeWarning, match="`lower` > `upper`"):
        m.coverage([1.0], [2.0], [0.0])
    with pytest.raises(ValueError, match="`upper` has shape"):
        m.coverage(y, lo, hi[:2])


def test_directional_accuracy_treats_rounding_noise_as_no_move():
    origin = np.full(4, 56.1374)
    no_move = np.exp(np.log(origin))  # 56.13740000000001: a log round trip
    assert not np.array_equal(no_move, origin)
    y = origin + np.array([1.0, -1.0, 0.5, 0.0])
    # a no-move forecast calls no direction: right only where the price did not move
    assert m.directional_accuracy(y, no_move, origin) == pytest.approx(0.25, **TOL)
    assert m.directional_accuracy(y, no_move, origin, rtol=0.0) != pytest.approx(0.25)
    # a move above the tolerance is a call
    assert m.directional_accuracy(y, origin * (1 + 1e-8), origin) == pytest.approx(0.5, **TOL)
    with pytest.raises(ValueError, match="`rtol` must be a finite number >= 0, got -1"):
        m.directional_accuracy(y, no_move, origin, rtol=-1)
    with pytest.raises(TypeError, match="`rtol` must be a finite number >= 0, got '0'"):
        m.directional_accuracy(y, no_move, origin, rtol="0")


def test_directional_accuracy_hand_computed():
    y = [11.0, 9.0, 10.0, 12.0]  # moves +, -, 0, +
    f = [12.0, 11.0, 10.0, 10.0]  # moves +, +, 0, 0 -> hit, miss, hit, miss
    assert m.directional_accuracy(y, f, 10.0) == pytest.approx(0.5, **TOL)
    assert m.directional_accuracy(y, f, [10.0, 10.0, 10.0, 13.0]) == pytest.approx(
        0.75, **TOL
    )  # last: actual -1, forecast -3 -> hit
    with pytest.raises(ValueError, match="`origin` of shape"):
        m.directional_accuracy(y, f, [1.0, 2.0])


# ----------------------------------------------------------------------------- PIT


def test_pit_values_hand_computed():
    q = (0.1, 0.5, 0.9)
    x = [0.0, 10.0, 20.0]
    y = np.array([5.0, 10.0, 15.0, -1.0, -5.0, 22.0, 100.0])
    expected = [0.3, 0.5, 0.7, 0.06, 0.0, 0.98, 1.0]
    np.testing.assert_allclose(m.pit_values(y, [x] * len(y), q), expected, rtol=0, atol=1e-12)


def test_pit_values_crossed_and_tied_quantiles():
    q = (0.1, 0.5, 0.9)
    # crossed quantiles are sorted first: [20, 10, 0] -> [0, 10, 20]
    assert m.pit_values([5.0], [[20.0, 10.0, 0.0]], q)[0] == pytest.approx(0.3, **TOL)
    # tie: the CDF jumps; a value on the tie gets the upper level, outside -> 0/1 tails
    tied = [[1.0, 1.0, 1.0]]
    np.testing.assert_allclose(
        m.pit_values([0.0, 1.0, 2.0], tied * 3, q), [0.0, 0.9, 1.0], atol=1e-12
    )
    with pytest.raises(ValueError, match="at least 2 levels"):
        m.pit_values([1.0], [[1.0]], (0.5,))


def test_pit_values_uniform_for_calibrated_forecast():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(20000)
    levels = np.linspace(0.05, 0.95, 19)
    q = np.tile(stats.norm.ppf(levels), (y.size, 1))
    pit = m.pit_values(y, q, levels)
    inner = pit[(pit > 0.05) & (pit < 0.95)]
    counts, _ = np.histogram(inner, bins=9, range=(0.05, 0.95))
    np.testing.assert_allclose(counts / y.size, 0.1, atol=0.01)


def test_pit_from_samples_hand_computed():
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    assert m.pit_from_samples([2.5], x)[0] == pytest.approx(0.5, **TOL)
    assert m.pit_from_samples([2.0], x)[0] == pytest.approx(0.375, **TOL)  # tie counts half
    out = m.pit_from_samples([0.0, np.nan, 5.0], np.tile(x, (1, 3)))
    np.testing.assert_allclose(out, [0.0, 1.0])


# ----------------------------------------------------------------------------- DM test


E_MODEL = [1.0, -2.0, 3.0, 0.0, 1.0]
E_BASE = [2.0, 1.0, -1.0, 2.0, 1.0]


def test_diebold_mariano_hand_computed_h1():
    # d = e1^2 - e2^2 = [-3, 3, 8, -4, 0]; mean 0.8; centred [-3.8, 2.2, 7.2, -4.8, -0.8]
    # gamma0 = (14.44 + 4.84 + 51.84 + 23.04 + 0.64) / 5 = 18.96; V = 18.96 / 5 = 3.792
    dm = 0.8 / math.sqrt(3.792)
    hln = dm * math.sqrt((5 + 1 - 2) / 5)
    res = m.diebold_mariano(E_MODEL, E_BASE)
    assert isinstance(res, m.DMResult)
    assert res.statistic == pytest.approx(hln, rel=1e-12)
    assert res.statistic == pytest.approx(0.3674522, rel=1e-6)
    assert res.pvalue == pytest.approx(2 * stats.t.sf(hln, df=4), rel=1e-12)
    # swapping the models flips the sign, keeps the p-value
    swapped = m.diebold_mariano(E_BASE, E_MODEL)
    assert swapped.statistic == pytest.approx(-hln, rel=1e-12)
    assert swapped.pvalue == pytest.approx(res.pvalue, rel=1e-12)


def test_diebold_mariano_groups_average_the_differentials_per_time_label():
    rng = np.random.default_rng(5)
    e1, e2 = rng.standard_normal(40), rng.standard_normal(40)
    labels = np.repeat(np.arange(10), 4)[rng.permutation(40)]  # 4 series x 10 cutoffs
    d = e1**2 - e2**2
    per_label = np.array([d[labels == k].mean() for k in range(10)])
    # the grouped test equals the plain test on the per-label mean differentials
    expected = m.diebold_mariano(
        np.sqrt(np.clip(per_label, 0, None)), np.sqrt(np.clip(-per_label, 0, None))
    )
    got = m.diebold_mariano(e1, e2, groups=labels)
    assert got.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert got.pvalue == pytest.approx(expected.pvalue, rel=1e-12)
    # NaN pairs are dropped with their labels
    e1_nan = e1.copy()
    e1_nan[labels == 3] = np.nan
    keep = labels != 3
    pd_ = m.diebold_mariano(e1[keep], e2[keep], groups=labels[keep])
    assert m.diebold_mariano(e1_nan, e2, groups=labels).statistic == pytest.approx(pd_.statistic)
    with pytest.raises(ValueError, match="`groups` must hold one label per error"):
        m.diebold_mariano(e1, e2, groups=labels[:5])


def test_diebold_mariano_hand_computed_h2():
    # gamma1 = (2.2*-3.8 + 7.2*2.2 + -4.8*7.2 + -0.8*-4.8) / 5 = -23.24 / 5 = -4.648
    # V = (18.96 + 2 * -4.648) / 5 = 1.9328; HLN factor sqrt((5 + 1 - 4 + 2/5) / 5)
    dm = 0.8 / math.sqrt(1.9328) * math.sqrt(2.4 / 5)
    res = m.diebold_mariano(E_MODEL, E_BASE, horizon=2)
    assert res.statistic == pytest.approx(dm, rel=1e-12)
    assert res.statistic == pytest.approx(0.3986733, rel=1e-6)
    assert res.pvalue == pytest.approx(2 * stats.t.sf(dm, df=4), rel=1e-12)


def test_diebold_mariano_absolute_loss():
    # d = |e1| - |e2| = [-1, 1, 2, -2, 0]; mean 0; statistic 0, p-value 1
    res = m.diebold_mariano(E_MODEL, E_BASE, loss="absolute")
    assert res.statistic == pytest.approx(0.0, abs=1e-15)
    assert res.pvalue == pytest.approx(1.0, **TOL)


def test_diebold_mariano_detects_better_model():
    rng = np.random.default_rng(1)
    e_base = rng.standard_normal(300) * 2.0
    e_model = rng.standard_normal(300)
    res = m.diebold_mariano(e_model, e_base)
    assert res.statistic < 0
    assert res.pvalue < 1e-6


@pytest.mark.parametrize("shift", [0.1, 0.5, 1e-3])
@pytest.mark.parametrize("loss", ["absolute", "squared"])
def test_diebold_mariano_constant_differential_up_to_rounding_is_nan(shift, loss):
    # |e - 0.1| - |e| is -0.1 only up to rounding: the noise (~1e-17) is not a variance
    # (it gave statistic -1.25e15, p 5e-104, while a shift of 0.5 rounds exactly to NaN)
    e_base = np.arange(1.0, 9.0)
    e_model = e_base - shift if loss == "absolute" else np.sqrt(e_base**2 - shift)
    for horizon in (1, 2):
        with pytest.warns(RuntimeWarning, match="constant") as rec:
            res = m.diebold_mariano(e_model, e_base, loss=loss, horizon=horizon)
        assert math.isnan(res.statistic) and math.isnan(res.pvalue)
        # no "falling back to horizon=1" first: the differential is constant at any horizon
        assert len(rec) == 1, [str(r.message) for r in rec]
    # a genuine (tiny) variation is still tested
    jitter = 1e-9 * np.array([1.0, -1.0, 2.0, 0.0, -2.0, 1.0, 0.5, -0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = m.diebold_mariano(e_base - 0.1 + jitter, e_base, loss="absolute")
    assert res.statistic < -1e6 and res.pvalue < 1e-6


def test_diebold_mariano_edge_cases():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = m.diebold_mariano([1.0, np.nan, 2.0, 3.0], [1.5, 0.0, 2.5, 2.0])  # NaN dropped
    assert np.isfinite(res.statistic)
    with pytest.warns(RuntimeWarning, match="constant"):
        res = m.diebold_mariano([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert math.isnan(res.statistic) and math.isnan(res.pvalue)
    with pytest.raises(ValueError, match="`loss`"):
        m.diebold_mariano(E_MODEL, E_BASE, loss="huber")
    with pytest.raises(ValueError, match="`horizon`"):
        m.diebold_mariano(E_MODEL, E_BASE, horizon=0)
    with pytest.raises(TypeError, match="`horizon` must be a positive int, got 1.5"):
        m.diebold_mariano(E_MODEL, E_BASE, horizon=1.5)
    with pytest.raises(ValueError, match="`horizon`=5 is too large"):
        m.diebold_mariano(E_MODEL, E_BASE, horizon=5)
    with pytest.raises(ValueError, match="at least 3"):
        m.diebold_mariano([1.0, 2.0], [2.0, 1.0])
    with pytest.raises(ValueError, match="`errors_baseline` has shape"):
        m.diebold_mariano(E_MODEL, E_BASE[:4])


def test_diebold_mariano_negative_variance_falls_back():
    # strongly alternating differential: gamma1 < -gamma0 / 2 makes the h=2 variance negative
    e1 = np.array([2.0, 0.0] * 5)
    e2 = np.array([0.0, 1.0] * 5)
    with pytest.warns(RuntimeWarning, match="falling back to horizon=1"):
        res = m.diebold_mariano(e1, e2, horizon=2)
    n = 10
    d = e1**2 - e2**2
    dm = d.mean() / math.sqrt(np.mean((d - d.mean()) ** 2) / n) * math.sqrt((n - 1) / n)
    assert res.statistic == pytest.approx(dm, rel=1e-12)


def test_public_names_importable():
    for name in m.__all__:
        assert callable(getattr(m, name)), name


def test_rmse_of_huge_errors_does_not_overflow():
    # regression: rmse([1e160, 0], [0, 0]) was inf (the squares overflow float64)
    assert m.rmse([1e160, 0.0], [0.0, 0.0]) == pytest.approx(1e160 / math.sqrt(2), rel=1e-12)
    assert m.rmse([1.0, 2.0, 3.0], [1.5, 2.0, 2.0]) == pytest.approx(math.sqrt(1.25 / 3))
    assert m.rmse([1.0, 2.0], [1.0, 2.0]) == 0.0


def test_pit_values_with_a_subnormal_quantile_gap_stays_quiet():
    # regression (property tests): numpy's "overflow encountered in divide" leaked out,
    # although the value (clipped to 1) was right
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pit = m.pit_values([1e6], [[0.0, 5e-324]], [0.1, 0.9])
    assert pit.tolist() == [1.0]
