import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tsnode.datasets import PeriodicData, make_gbm, make_ou, make_periodic, make_spiral


# --------------------------------------------------------------------------- spiral
def test_spiral_shapes_dtypes_and_balance():
    X, y = make_spiral(1000, random_state=0)
    assert X.shape == (1000, 2) and X.dtype == torch.float32
    assert y.shape == (1000,) and y.dtype == torch.int64
    assert set(y.tolist()) == {0, 1}
    assert int(y.sum()) == 500
    assert torch.isfinite(X).all()


@given(n=st.integers(2, 301), seed=st.integers(0, 2**31 - 1))
@settings(max_examples=25, deadline=None)
def test_spiral_balanced_for_any_size(n, seed):
    _, y = make_spiral(n, random_state=seed)
    assert abs(int((y == 1).sum()) - int((y == 0).sum())) <= 1


def test_spiral_class1_is_class0_rotated_by_pi():
    # Without noise, the class-1 cloud is the negated class-0 cloud: each class-1 point has a
    # class-0 neighbour on the same spiral after rotation; check via radius/angle relation.
    X, y = make_spiral(2000, noise=0.0, random_state=1)
    for label, offset in ((0, 0.0), (1, math.pi)):
        pts = X[y == label].double()
        radius = pts.norm(dim=1)
        s = radius - 0.25
        angle = torch.atan2(pts[:, 1], pts[:, 0])
        expected = 2 * math.pi * s + offset
        diff = torch.remainder(angle - expected + math.pi, 2 * math.pi) - math.pi
        assert diff.abs().max() < 1e-5
    assert X.norm(dim=1).min() >= 0.25 - 1e-6 and X.norm(dim=1).max() <= 1.25 + 1e-6


def test_spiral_reproducible_and_seed_dependent():
    a = make_spiral(100, random_state=3)
    b = make_spiral(100, random_state=3)
    c = make_spiral(100, random_state=4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_spiral_does_not_touch_global_rng():
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (global state)
    torch_state = torch.get_rng_state().clone()
    make_spiral(50, random_state=None)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_points": 1}, "n_points"),
        ({"noise": -0.1}, "noise"),
        ({"n_turns": 0}, "n_turns"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_spiral_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_spiral(**kwargs)


def test_spiral_random_state_type_error():
    with pytest.raises(TypeError, match="random_state"):
        make_spiral(10, random_state="seed")


# --------------------------------------------------------------------------- periodic
def test_periodic_shapes_and_grid():
    data = make_periodic(50, n_points=40, random_state=0)
    assert isinstance(data, PeriodicData)
    assert data.times.shape == (40,)
    for name in ("values", "truth", "mask"):
        tensor = getattr(data, name)
        assert tensor.shape == (50, 40, 1), name
        assert tensor.dtype == torch.float32
    assert data.times[0] == 0.0
    assert (data.times[1:] >= data.times[:-1]).all()
    assert data.times.max() <= 5.0
    assert set(data.mask.unique().tolist()) <= {0.0, 1.0}


def test_periodic_observed_fraction_and_minimum():
    data = make_periodic(30, n_points=100, observed_fraction=0.3, random_state=1)
    per_series = data.mask.sum(dim=(1, 2))
    assert torch.all(per_series == 30)
    sparse = make_periodic(30, n_points=100, observed_fraction=0.001, random_state=1)
    assert torch.all(sparse.mask.sum(dim=(1, 2)) == 2)
    full = make_periodic(3, n_points=10, observed_fraction=1.0, random_state=1)
    assert torch.all(full.mask == 1)


def test_periodic_masks_differ_between_series():
    data = make_periodic(20, n_points=50, random_state=2)
    assert len({tuple(m.flatten().tolist()) for m in data.mask}) > 1


def test_periodic_truth_is_a_sinusoid_and_noise_level():
    data = make_periodic(200, n_points=100, noise=0.05, amplitude=2.0, random_state=3)
    assert data.truth.abs().max() <= 2.0 + 1e-5
    resid = (data.values - data.truth).flatten()
    assert abs(resid.std().item() - 0.05) < 0.005
    # frequency within range: a sinusoid with f in [0.4, 0.8] over [0, 5] crosses zero 4-8 times
    signs = torch.sign(data.truth[..., 0])
    crossings = (signs[:, 1:] * signs[:, :-1] < 0).sum(dim=1)
    assert crossings.min() >= 3 and crossings.max() <= 9


def test_periodic_dense_grid_stays_strictly_increasing_in_float32():
    # 20,000 uniform draws on [0, 5] round to equal float32 times without the fix
    data = make_periodic(2, n_points=20000, random_state=0)
    assert data.times.dtype == torch.float32
    assert (torch.diff(data.times) > 0).all()


def test_periodic_reproducible():
    a = make_periodic(5, random_state=7)
    b = make_periodic(5, random_state=7)
    for x, z in zip(a, b, strict=True):
        assert torch.equal(x, z)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"observed_fraction": 0.0}, "observed_fraction"),
        ({"observed_fraction": 1.5}, "observed_fraction"),
        ({"n_points": 1}, "n_points"),
        ({"t_max": -1.0}, "t_max"),
        ({"freq_range": (0.8, 0.4)}, "freq_range"),
        ({"freq_range": 3}, "freq_range"),
    ],
)
def test_periodic_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_periodic(3, **kwargs)


# --------------------------------------------------------------------------- GBM
def test_gbm_frame_layout():
    frame = make_gbm(3, n_days=50, random_state=0)
    assert frame.shape == (50, 3)
    assert list(frame.columns) == ["s0", "s1", "s2"]
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.name == "Date"
    assert frame.index[0] == pd.Timestamp("2015-01-02")
    assert (frame.index.day_of_week < 5).all()
    assert (frame.iloc[0] == 100.0).all()
    assert (frame > 0).all().all()
    assert frame.dtypes.eq(np.float64).all()
    assert frame.attrs["sigma"] == 0.2 and frame.attrs["model"] == "gbm"


def test_gbm_drop_fraction_makes_irregular_rows():
    full = make_gbm(2, n_days=200, random_state=1)
    sparse = make_gbm(2, n_days=200, drop_fraction=0.25, random_state=1)
    assert len(sparse) == 150
    assert sparse.index.is_monotonic_increasing and sparse.index.is_unique
    # dropped after simulation: the kept rows are the same prices
    pd.testing.assert_frame_equal(sparse, full.loc[sparse.index])


def test_gbm_reproducible():
    pd.testing.assert_frame_equal(make_gbm(2, random_state=5), make_gbm(2, random_state=5))
    assert not make_gbm(1, random_state=5).equals(make_gbm(1, random_state=6))


def test_gbm_sigma_mle_with_irregular_gaps():
    sigma, mu = 0.3, 0.1
    frame = make_gbm(4, n_days=5000, mu=mu, sigma=sigma, drop_fraction=0.3, random_state=11)
    dt = np.asarray(np.diff(frame.index) / pd.Timedelta(days=1), dtype=float) / 365.25
    assert dt.max() > 3.5 / 365.25  # real gaps beyond weekends
    r = np.diff(np.log(frame.to_numpy()), axis=0)  # (n - 1, 4)
    drift = r.sum(axis=0) / dt.sum()  # MLE of mu - sigma^2 / 2
    sigma2 = np.mean((r - drift * dt[:, None]) ** 2 / dt[:, None], axis=0)
    sigma_hat = np.sqrt(sigma2.mean())
    assert sigma_hat == pytest.approx(sigma, rel=0.03)


def test_gbm_weekend_gaps_count_as_time():
    # With sigma only, the variance of Monday returns (3 calendar days) is ~3x that of others.
    frame = make_gbm(20, n_days=3000, mu=0.0, sigma=0.4, random_state=2)
    r = np.diff(np.log(frame.to_numpy()), axis=0)
    monday = frame.index[1:].day_of_week == 0
    ratio = r[monday].var() / r[~monday].var()
    assert 2.6 < ratio < 3.4


# --------------------------------------------------------------------------- OU
def test_ou_layout_and_start():
    frame = make_ou(2, n_days=30, x0=1.5, random_state=0)
    assert frame.shape == (30, 2) and frame.index.name == "Date"
    assert (frame.iloc[0] == 1.5).all()
    assert frame.attrs["stationary_std"] == pytest.approx(0.3 / math.sqrt(10))


def test_ou_stationary_std_and_mean():
    theta, sigma, mu = 5.0, 0.3, 1.0
    frame = make_ou(20, n_days=4000, theta=theta, mu=mu, sigma=sigma, x0=mu, random_state=4)
    values = frame.to_numpy()[250:]  # discard a year of burn-in
    assert values.std() == pytest.approx(sigma / math.sqrt(2 * theta), rel=0.05)
    assert values.mean() == pytest.approx(mu, abs=0.02)


def test_ou_mean_reversion_from_far_start():
    frame = make_ou(200, n_days=300, theta=5.0, sigma=0.0, x0=2.0, random_state=0)
    # deterministic decay: after one year (≈ 365 calendar days) x = 2 e^{-5 * t}
    t_years = (frame.index[-1] - frame.index[0]).days / 365.25
    assert frame.iloc[-1, 0] == pytest.approx(2.0 * math.exp(-5.0 * t_years), rel=1e-9)


@pytest.mark.parametrize(
    "func, kwargs, match",
    [
        (make_gbm, {"sigma": -0.1}, "sigma"),
        (make_gbm, {"s0": 0.0}, "s0"),
        (make_gbm, {"drop_fraction": 1.0}, "drop_fraction"),
        (make_gbm, {"n_days": 1}, "n_days"),
        (make_gbm, {"start": "not a date"}, "start"),
        (make_ou, {"theta": 0.0}, "theta"),
        (make_ou, {"n_series": 0}, "n_series"),
        (make_ou, {"mu": float("nan")}, "mu"),
    ],
)
def test_gbm_ou_bad_input(func, kwargs, match):
    with pytest.raises(ValueError, match=match):
        func(**kwargs)


@pytest.mark.parametrize(
    "func, kwargs, match",
    [
        (make_gbm, {"n_series": "3"}, "n_series must be an int >= 1, got '3' of type str"),
        (make_gbm, {"n_days": 3.5}, "n_days must be an int >= 2, got 3.5 of type float"),
        (make_ou, {"theta": "fast"}, "theta must be a number, got 'fast' of type str"),
        (make_periodic, {"n_series": True}, "n_series must be an int >= 1, got True"),
        (make_spiral, {"noise": None}, "noise must be a number, got None"),
    ],
)
def test_wrong_types_raise_type_error(func, kwargs, match):
    # regression: a value of the wrong type raised ValueError, like an out-of-range one
    with pytest.raises(TypeError, match=match):
        func(**kwargs)
