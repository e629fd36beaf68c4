"""Property-based tests (hypothesis) of the fast public components.

Invariants of the scalers, metrics, calendar, closed-form baselines, backtest and trading
simulation that must hold for *any* valid input, plus a few for one tiny Latent-ODE fit shared
by the module. Example counts are small (the file runs in well under a minute on 2 cores);
``database=None`` keeps hypothesis from writing an example database.

Three bugs these properties found are fixed, and their tests kept as regression checks:
``LogScaler(offset=1)`` lost small values (1e-17 came back as 0), ``smape`` was NaN for finite
inputs near the float maximum, and ``BacktestResult.metrics`` raised about an argument the
caller never passed when no forecast row had an actual value.
"""

from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.preprocessing import MinMaxScaler, RobustScaler

from tests.test_forecaster import MICRO  # one Adam step, no validation
from tsnode import metrics as m
from tsnode.backtesting import backtest, compare
from tsnode.baselines import DriftForecaster, GBMForecaster, NaiveForecaster
from tsnode.calendar import future_index, get_calendar
from tsnode.preprocessing import LogScaler, SeriesScaler, check_monotone
from tsnode.trading import simulate


def fast(n: int) -> settings:
    """Few examples, no deadline, no example database, and the same examples on every run
    (``derandomize``: a CI run never meets an example the last one did not)."""
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


@contextmanager
def quiet():
    """Silence the data warnings (sparse data, off-session dates, ...): not under test here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def levels_strategy(low: int = 1, high: int = 99, max_size: int = 5):
    """Strictly increasing quantile levels on a 0.01 grid (so that 1 - q stays exact)."""
    return st.sets(st.integers(low, high), min_size=1, max_size=max_size).map(
        lambda s: [x / 100 for x in sorted(s)]
    )


FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


# ============================================================================ scalers


@st.composite
def positive_frames(draw, lo: float = 1e-8, hi: float = 1e8, max_rows: int = 20):
    """Positive wide frames with NaN holes (each column observed at least once), columns in
    a random order."""
    n = draw(st.integers(1, max_rows))
    k = draw(st.integers(1, 3))
    values = draw(arrays(np.float64, (n, k), elements=st.floats(lo, hi)))
    missing = draw(arrays(np.bool_, (n, k)))
    missing[draw(st.integers(0, n - 1))] = False
    values = np.where(missing, np.nan, values)
    columns = draw(st.permutations([f"c{j}" for j in range(k)]))
    index = pd.date_range("2020-01-01", periods=n, freq="D")
    return pd.DataFrame(values, index=index, columns=columns)


LOG_SCALERS = [
    LogScaler(),
    LogScaler(standardize=False),
    LogScaler(scale_by="volatility"),
    LogScaler(offset=1.0),
    LogScaler(offset=0.5, scale_by="volatility"),
]


@pytest.mark.parametrize("scaler", LOG_SCALERS, ids=repr)
@fast(15)
@given(frame=positive_frames())
def test_log_scaler_round_trip_over_sixteen_decades(scaler, frame):
    before = frame.copy()
    fitted = clone(scaler).fit(frame)
    scaled = fitted.transform(frame)
    back = fitted.inverse_transform(scaled)
    pd.testing.assert_frame_equal(frame, before)  # never mutated
    assert list(scaled.columns) == list(frame.columns) and scaled.index.equals(frame.index)
    assert list(back.columns) == list(frame.columns) and back.index.equals(frame.index)
    pd.testing.assert_frame_equal(scaled.isna(), frame.isna())
    pd.testing.assert_frame_equal(back.isna(), frame.isna())
    assert np.isfinite(scaled.to_numpy()[frame.notna().to_numpy()]).all()
    # relative accuracy; with an offset, relative to x + offset (log(x + offset) cannot
    # resolve x below ~eps * offset: see the xfail below for offset=1)
    atol = 1e-9 * scaler.offset
    np.testing.assert_allclose(back.to_numpy(), frame.to_numpy(), rtol=1e-9, atol=atol)


@fast(10)
@given(x=st.floats(1e-15, 1e-6))
@example(x=1e-12)
def test_log_scaler_with_offset_keeps_small_values(x):
    X = np.array([[x], [2 * x]])
    scaler = LogScaler(offset=1.0, standardize=False).fit(X)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-9)


SCALERS_FOR_ORDER = [
    *LOG_SCALERS,
    SeriesScaler(),
    SeriesScaler(RobustScaler()),
    SeriesScaler(MinMaxScaler()),
]


@pytest.mark.parametrize("scaler", SCALERS_FOR_ORDER, ids=repr)
@fast(15)
@given(frame=positive_frames(lo=1e-3, hi=1e6), data=st.data())
def test_scalers_are_increasing_in_every_column(scaler, frame, data):
    fitted = clone(scaler).fit(frame)
    grid = data.draw(arrays(np.float64, (6, frame.shape[1]), elements=st.floats(1e-3, 1e6)))
    grid = np.sort(grid, axis=0)
    out = fitted.transform(pd.DataFrame(grid, columns=frame.columns)).to_numpy()
    # non-decreasing up to rounding (x and its next float can map to one value); strictly
    # increasing on check_monotone's well-separated grid
    assert (np.diff(out, axis=0) >= 0).all()
    separated = np.diff(grid, axis=0) > 1e-6 * np.abs(grid).max()
    assert (np.diff(out, axis=0)[separated] > 0).all()
    assert check_monotone(fitted, frame) is True


@st.composite
def moving_prices(draw):
    """Positive frames whose columns are constant or move by at least 1e-4 in log."""
    n = draw(st.integers(2, 25))
    k = draw(st.integers(1, 3))
    moves = draw(
        arrays(
            np.float64,
            (n, k),
            elements=st.one_of(st.just(0.0), st.floats(1e-4, 0.2), st.floats(-0.2, -1e-4)),
        )
    )
    start = draw(arrays(np.float64, k, elements=st.floats(0.01, 1e4)))
    values = start * np.exp(np.cumsum(moves, axis=0))
    missing = draw(arrays(np.bool_, (n, k)))
    missing[0] = False
    index = pd.date_range("2021-01-01", periods=n, freq="B")
    return pd.DataFrame(np.where(missing, np.nan, values), index=index)


@pytest.mark.parametrize("scale_by", ["level", "volatility"])
@fast(20)
@given(frame=moving_prices(), c=st.floats(1e-3, 1e3))
def test_log_scaler_ignores_the_currency_unit(scale_by, frame, c):
    # prices in cents or in dollars: the same scaled values (log c moves only the mean)
    a = LogScaler(scale_by=scale_by).fit(frame)
    b = LogScaler(scale_by=scale_by).fit(frame * c)
    np.testing.assert_allclose(b.mean_, a.mean_ + np.log(c), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.scale_, a.scale_, rtol=1e-6)
    np.testing.assert_allclose(
        b.transform(frame * c).to_numpy(), a.transform(frame).to_numpy(), rtol=1e-6, atol=1e-6
    )


# ============================================================================ metrics


@st.composite
def pairs_with_nans(draw, elements=FINITE):
    n = draw(st.integers(1, 25))
    y = draw(arrays(np.float64, n, elements=elements))
    f = draw(arrays(np.float64, n, elements=elements))
    y[draw(arrays(np.bool_, n))] = np.nan
    f[draw(arrays(np.bool_, n))] = np.nan
    return y, f


@fast(30)
@given(pair=pairs_with_nans(), data=st.data())
def test_point_metrics_drop_nan_pairs_and_ignore_order(pair, data):
    y, f = pair
    keep = ~(np.isnan(y) | np.isnan(f))
    assume(keep.any())
    y0, f0 = y.copy(), f.copy()
    order = np.array(data.draw(st.permutations(range(y.size))))
    for score in (m.mae, m.rmse, m.smape):
        value = score(y, f)
        assert value == pytest.approx(score(y[keep], f[keep]), rel=1e-12, abs=1e-12)
        assert value == pytest.approx(score(y[order], f[order]), rel=1e-12, abs=1e-12)
        assert value == pytest.approx(score(f, y), rel=1e-12, abs=1e-12)  # symmetric
        as_pandas = score(pd.Series(y), pd.Series(f))
        assert value == pytest.approx(as_pandas, rel=1e-12, abs=1e-12)
    np.testing.assert_array_equal(y, y0)  # never mutated
    np.testing.assert_array_equal(f, f0)
    assert m.rmse(y, f) >= m.mae(y, f) * (1 - 1e-12)
    assert 0.0 <= m.smape(y, f) <= 2.0


@fast(30)
@given(
    pair=pairs_with_nans(),
    a=st.floats(-1e3, 1e3).filter(lambda v: abs(v) > 1e-3),
    shift=st.floats(-1e3, 1e3),
)
def test_point_metrics_scale_and_shift(pair, a, shift):
    y, f = pair
    assume((~(np.isnan(y) | np.isnan(f))).any())
    assert m.rmse(a * y, a * f) == pytest.approx(abs(a) * m.rmse(y, f), rel=1e-9)
    assert m.mae(a * y, a * f) == pytest.approx(abs(a) * m.mae(y, f), rel=1e-9)
    assert m.smape(a * y, a * f) == pytest.approx(m.smape(y, f), rel=1e-9, abs=1e-12)
    scale = 1e-9 * (abs(shift) + np.nanmax(np.abs(np.r_[y, f])))
    assert m.mae(y + shift, f + shift) == pytest.approx(m.mae(y, f), abs=scale)


@fast(30)
@given(
    y=arrays(np.float64, st.integers(1, 20), elements=FINITE),
    data=st.data(),
    copies=st.integers(1, 6),
)
def test_a_point_mass_forecast_scores_its_absolute_error(y, data, copies):
    f = data.draw(arrays(np.float64, y.size, elements=FINITE))
    mae = m.mae(y, f)
    assert m.crps_from_quantiles(y, f, [0.5]) == pytest.approx(mae, rel=1e-12, abs=1e-12)
    assert m.crps_from_quantiles(y, f[:, None], [0.5]) == pytest.approx(mae, rel=1e-12, abs=1e-12)
    assert m.pinball_loss(y, f[:, None], [0.5]) == pytest.approx(mae / 2, rel=1e-12, abs=1e-12)
    identical = np.repeat(f[None, :], copies, axis=0)
    assert m.crps_from_samples(y, identical) == pytest.approx(mae, rel=1e-9, abs=1e-9)


@fast(30)
@given(n=st.integers(1, 10), levels=levels_strategy(), data=st.data())
def test_quantile_scores(n, levels, data):
    k = len(levels)
    y = data.draw(arrays(np.float64, n, elements=FINITE))
    q = np.sort(data.draw(arrays(np.float64, (n, k), elements=FINITE)), axis=1)
    q0 = q.copy()
    loss = m.pinball_loss(y, q, levels)
    assert loss >= 0.0
    assert m.crps_from_quantiles(y, q, levels) == pytest.approx(2 * loss, rel=1e-12)
    # mirror image: negate values, reverse the columns, levels tau -> 1 - tau
    mirrored = m.pinball_loss(-y, -q[:, ::-1], [1 - t for t in reversed(levels)])
    assert mirrored == pytest.approx(loss, rel=1e-9, abs=1e-9)
    np.testing.assert_array_equal(q, q0)
    if k >= 2:
        ys = np.sort(data.draw(arrays(np.float64, 8, elements=FINITE)))
        with quiet():  # a subnormal quantile gap overflows (y - lo) / width: clipped to 1
            pit = m.pit_values(y, q, levels)
            along = m.pit_values(ys, np.repeat(q[:1], 8, axis=0), levels)
        assert pit.shape == (n,) and ((pit >= 0) & (pit <= 1)).all()
        # the PIT of one forecast is non-decreasing in the realised value
        assert (np.diff(along) >= -1e-12).all()


@fast(30)
@given(n=st.integers(1, 6), n_samples=st.integers(1, 8), data=st.data())
def test_sample_scores(n, n_samples, data):
    y = data.draw(arrays(np.float64, n, elements=FINITE))
    x = data.draw(arrays(np.float64, (n_samples, n), elements=FINITE))
    crps = m.crps_from_samples(y, x)
    tol = 1e-9 * (1 + np.abs(x).max() + np.abs(y).max())
    assert -tol <= crps <= np.mean(np.abs(x - y)) + tol  # 0 <= CRPS <= E|X - y|
    order = np.array(data.draw(st.permutations(range(n_samples))))
    assert m.crps_from_samples(y, x[order]) == pytest.approx(crps, abs=tol)
    assert m.crps_from_samples(3 * y, 3 * x) == pytest.approx(3 * crps, abs=3 * tol)
    pit = m.pit_from_samples(y, x)
    assert ((pit >= 0) & (pit <= 1)).all()
    # NaN draws: each element is scored on its own non-NaN draws
    x[data.draw(arrays(np.bool_, x.shape))] = np.nan
    per_element, pits = [], []
    for j in range(n):
        draws = x[:, j][~np.isnan(x[:, j])]
        if draws.size:
            per_element.append(m.crps_from_samples([y[j]], draws[:, None]))
            pits.append(m.pit_from_samples([y[j]], draws[:, None])[0])
    with quiet():
        crps_nan, pit_nan = m.crps_from_samples(y, x), m.pit_from_samples(y, x)
    if per_element:
        assert crps_nan == pytest.approx(np.mean(per_element), abs=tol)
        np.testing.assert_allclose(pit_nan, pits)
    else:
        assert np.isnan(crps_nan) and pit_nan.size == 0


@fast(30)
@given(n=st.integers(1, 20), data=st.data())
def test_interval_scores(n, data):
    y = data.draw(arrays(np.float64, n, elements=FINITE))
    lower = data.draw(arrays(np.float64, n, elements=FINITE))
    upper = lower + data.draw(arrays(np.float64, n, elements=st.floats(0, 1e6)))
    assert 0.0 <= m.coverage(y, lower, upper) <= 1.0
    assert m.coverage(y, y, y) == 1.0
    assert m.coverage(y, np.minimum(lower, y), np.maximum(upper, y)) == 1.0
    assert m.interval_width(lower, upper) >= 0.0
    assert m.directional_accuracy(y, y, lower) == 1.0
    assert 0.0 <= m.directional_accuracy(y, upper, lower) <= 1.0


@fast(30)
@given(pair=pairs_with_nans(elements=st.floats(-100, 100)), data=st.data())
def test_mase_is_mae_over_the_naive_error(pair, data):
    y, f = pair
    assume((~(np.isnan(y) | np.isnan(f))).any())
    train = data.draw(arrays(np.float64, st.integers(2, 20), elements=st.floats(-100, 100)))
    naive = np.mean(np.abs(np.diff(train)))
    assume(naive > 1e-6)
    expected = m.mae(y, f) / naive
    assert m.mase(y, f, y_train=train) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert m.mase(y, f, scale=naive) == pytest.approx(expected, rel=1e-9, abs=1e-12)


ERRORS = st.floats(-100, 100).filter(lambda v: v == 0 or abs(v) > 1e-3)


@fast(30)
@given(n=st.integers(3, 25), data=st.data(), c=st.floats(1e-3, 1e3))
def test_diebold_mariano_symmetries(n, data, c):
    e1 = data.draw(arrays(np.float64, n, elements=ERRORS))
    e2 = data.draw(arrays(np.float64, n, elements=ERRORS))
    h = data.draw(st.integers(1, n - 1))
    loss = data.draw(st.sampled_from(["squared", "absolute"]))
    times = pd.date_range("2024-01-01", periods=n)
    with quiet():
        base = m.diebold_mariano(e1, e2, horizon=h, loss=loss)
        swapped = m.diebold_mariano(e2, e1, horizon=h, loss=loss)
        scaled = m.diebold_mariano(c * e1, c * e2, horizon=h, loss=loss)
        grouped = m.diebold_mariano(e1, e2, horizon=h, loss=loss, groups=times)
        doubled = m.diebold_mariano(
            np.repeat(e1, 2), np.repeat(e2, 2), horizon=h, loss=loss, groups=times.repeat(2)
        )
    if np.isnan(base.statistic):
        assert all(np.isnan(r.statistic) for r in (swapped, scaled, grouped, doubled))
        return
    assert 0.0 <= base.pvalue <= 1.0
    assert swapped.statistic == pytest.approx(-base.statistic, rel=1e-9)
    assert swapped.pvalue == pytest.approx(base.pvalue, rel=1e-9)
    assert scaled.statistic == pytest.approx(base.statistic, rel=1e-6)
    # one label per pair, or every pair twice under its label: the same test
    assert grouped.statistic == pytest.approx(base.statistic, rel=1e-9)
    assert doubled.statistic == pytest.approx(base.statistic, rel=1e-9)


@fast(10)
@given(y=st.floats(1e307, 1.7e308), f=st.floats(-1.7e308, -1e307))
@example(y=1e308, f=-1e308)
def test_smape_stays_in_its_range_for_every_finite_input(y, f):
    with quiet():
        assert 0.0 <= m.smape([y], [f]) <= 2.0


# ============================================================================ calendar

ZONES = [None, "UTC", "America/New_York", "Europe/London", "Asia/Tokyo", "America/Santiago"]


@st.composite
def timestamps(draw):
    day = draw(st.dates(pd.Timestamp("2010-01-01").date(), pd.Timestamp("2029-06-30").date()))
    seconds = draw(st.sampled_from([0, 0, 16 * 3600, 9 * 3600 + 1800, 86399]))
    stamp = pd.Timestamp(day) + pd.Timedelta(seconds=seconds)
    zone = draw(st.sampled_from(ZONES))
    if zone is not None:
        stamp = stamp.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
    return stamp


def check_future(out: pd.DatetimeIndex, last: pd.Timestamp, horizon: int) -> None:
    assert isinstance(out, pd.DatetimeIndex) and len(out) == horizon
    assert out.is_monotonic_increasing and out.is_unique
    assert (out > last).all()
    assert str(out.tz) == str(last.tz)


@fast(25)
@given(last=timestamps(), horizon=st.integers(1, 30), calendar=st.sampled_from(["XNYS", "24/7"]))
def test_future_index_gives_the_next_sessions(last, horizon, calendar):
    out = future_index(last, horizon, calendar=calendar)
    check_future(out, last, horizon)
    wall = last.tz_localize(None)
    cal = get_calendar(calendar, start=wall.normalize(), end=out[-1].tz_localize(None))
    sessions = cal.sessions.tz_localize(None) if cal.sessions.tz is not None else cal.sessions
    expected = sessions[sessions > wall.normalize()][:horizon]
    dates = out.tz_localize(None).normalize()
    assert (dates == expected).all()  # the very next sessions, none skipped
    # at the time of day of the last timestamp (unless the clocks skip that time)
    same_time = out.tz_localize(None) - dates == wall - wall.normalize()
    assert same_time.mean() >= 0.5


FREQUENCIES = ["D", "2D", "B", "W-FRI", "ME", "MS", "QE", "YE", "BME", "h", "4h", "15min"]


@fast(25)
@given(
    last=timestamps(),
    n=st.integers(3, 30),
    horizon=st.integers(1, 20),
    freq=st.sampled_from(FREQUENCIES),
)
def test_future_index_without_calendar_continues_a_regular_frequency(last, n, horizon, freq):
    try:
        observed = pd.date_range(end=last, periods=n, freq=freq)
    except (ValueError, pd.errors.OutOfBoundsDatetime):  # e.g. a time the clocks skip
        assume(False)
    assume(len(observed) == n and observed[-1] == last)
    # only where the observations identify the frequency (3 weekdays read as "D", not "B")
    with quiet():  # pandas 3 announces an offset instead of a string
        inferred = pd.infer_freq(observed)
    offset = pd.tseries.frequencies.to_offset
    assume(inferred is not None and offset(inferred) == offset(freq))
    with quiet():
        out = future_index(last, horizon, calendar=None, observed_index=observed)
    check_future(out, last, horizon)
    try:
        expected = pd.date_range(observed[0], periods=n + horizon, freq=freq)[n:]
    except ValueError:  # pandas cannot place a wall time the clocks skip or repeat
        return
    assert (out == expected).all()


@fast(25)
@given(
    last=timestamps(),
    gaps=st.lists(st.integers(1, 5000), min_size=1, max_size=15),
    unit=st.sampled_from([1, 60, 3600, 86400]),
    horizon=st.integers(1, 25),
)
def test_future_index_without_calendar_on_irregular_data(last, gaps, unit, horizon):
    offsets = np.cumsum([0, *gaps[::-1]])[::-1] * unit
    observed = pd.DatetimeIndex([last - pd.Timedelta(seconds=int(s)) for s in offsets])
    assume(observed.is_unique and observed.is_monotonic_increasing)
    with quiet():
        out = future_index(last, horizon, calendar=None, observed_index=observed)
    check_future(out, last, horizon)


# ============================================================================ baselines

BASELINES = [NaiveForecaster, DriftForecaster, GBMForecaster]
Q = (0.05, 0.25, 0.5, 0.75, 0.95)


@st.composite
def price_frames(draw, freqs=("B", "D", "W-FRI", "h"), zones=(None,), min_rows=4, ragged=True):
    """Positive prices (1-3 series) with NaN holes; with ``ragged`` a series may start late
    or stop early; every series has at least 3 observations."""
    n = draw(st.integers(min_rows, 25))
    k = draw(st.integers(1, 3))
    moves = draw(arrays(np.float64, (n, k), elements=st.floats(-0.2, 0.2)))
    start = draw(arrays(np.float64, k, elements=st.floats(0.5, 1e4)))
    values = start * np.exp(np.cumsum(moves, axis=0))
    missing = draw(arrays(np.bool_, (n, k)))
    missing[:3] = False
    if not ragged:
        missing[-1] = False
    values = np.where(missing, np.nan, values)
    day = draw(st.dates(pd.Timestamp("2005-01-01").date(), pd.Timestamp("2024-01-01").date()))
    index = pd.date_range(
        pd.Timestamp(day),
        periods=n,
        freq=draw(st.sampled_from(freqs)),
        tz=draw(st.sampled_from(zones)),
        name="Date",
    )
    return pd.DataFrame(values, index=index, columns=[f"s{j}" for j in range(k)])


def fitted(cls, frame, calendar="XNYS"):
    with quiet():
        return cls(calendar=calendar, random_state=0).fit(frame)


def quantiles(model, horizon, levels=Q):
    with quiet():
        return model.predict_quantiles(horizon, levels)


def last_observed(frame: pd.DataFrame) -> np.ndarray:
    return frame.apply(lambda col: col.dropna().iloc[-1]).to_numpy()


@pytest.mark.parametrize("calendar", ["XNYS", None])
@pytest.mark.parametrize("cls", BASELINES)
@fast(12)
@given(frame=price_frames(zones=(None, "America/New_York")), horizon=st.integers(1, 8))
def test_baseline_forecasts_are_ordered_positive_and_leave_the_input_alone(
    cls, calendar, frame, horizon
):
    before = frame.copy()
    model = fitted(cls, frame, calendar)
    table = quantiles(model, horizon)
    pd.testing.assert_frame_equal(frame, before)
    values = table.to_numpy().reshape(horizon, frame.shape[1], len(Q))
    assert np.isfinite(values).all()
    assert (np.diff(values, axis=-1) >= 0).all()  # non-decreasing in the level
    if cls is not DriftForecaster:  # Drift is a random walk on prices, not log prices
        assert (values > 0).all()
    if cls is NaiveForecaster:  # the median is the last observed price of each series
        np.testing.assert_allclose(values[..., 2], np.tile(last_observed(frame), (horizon, 1)))
    if cls is not GBMForecaster:  # the spread grows with the step
        width = values[..., -1] - values[..., 0]
        assert (np.diff(width, axis=0) >= -1e-9 * np.abs(values).max()).all()
    with quiet():
        np.testing.assert_allclose(model.predict(horizon).to_numpy(), values[..., 2])


@pytest.mark.parametrize("calendar", ["XNYS", None])
@pytest.mark.parametrize("cls", BASELINES)
@fast(12)
@given(
    frame=price_frames(zones=(None, "UTC", "Asia/Tokyo")),
    horizon=st.integers(1, 6),
    c=st.floats(1e-2, 1e2),
)
def test_baseline_forecasts_scale_with_the_prices(cls, calendar, frame, horizon, c):
    plain = quantiles(fitted(cls, frame, calendar), horizon)
    scaled = quantiles(fitted(cls, frame * c, calendar), horizon)
    np.testing.assert_allclose(scaled.to_numpy(), plain.to_numpy() * c, rtol=1e-8)


@pytest.mark.parametrize("cls", BASELINES)
@fast(12)
@given(frame=price_frames(), horizon=st.integers(1, 6), data=st.data())
def test_each_series_is_forecast_on_its_own(cls, frame, horizon, data):
    together = quantiles(fitted(cls, frame), horizon)
    order = data.draw(st.permutations(list(frame.columns)))
    permuted = quantiles(fitted(cls, frame[order]), horizon)
    for col in frame.columns:
        alone = quantiles(fitted(cls, frame[[col]]), horizon)
        np.testing.assert_allclose(alone[col].to_numpy(), together[col].to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(permuted[col].to_numpy(), together[col].to_numpy())


@fast(15)
@given(
    frame=price_frames(min_rows=6),
    horizon=st.integers(1, 5),
    calendar=st.sampled_from(["XNYS", None]),
)
def test_drift_is_equivariant_under_shifts_and_sign_flips(frame, horizon, calendar):
    shift = 123.25
    plain = quantiles(fitted(DriftForecaster, frame, calendar), horizon).to_numpy()
    moved = quantiles(fitted(DriftForecaster, frame + shift, calendar), horizon).to_numpy()
    tol = 1e-9 * (shift + np.abs(plain).max())
    np.testing.assert_allclose(moved, plain + shift, rtol=0, atol=tol)
    flipped = quantiles(fitted(DriftForecaster, -frame, calendar), horizon).to_numpy()
    flipped = flipped.reshape(horizon, frame.shape[1], len(Q))[..., ::-1].reshape(horizon, -1)
    np.testing.assert_allclose(-flipped, plain, rtol=0, atol=tol)


@pytest.mark.parametrize("calendar", ["XNYS", None])
@pytest.mark.parametrize("cls", BASELINES)
@fast(10)
@given(
    frame=price_frames(freqs=("B", "D", "W-FRI", "h", "ME"), zones=(None, "Europe/London")),
    h1=st.integers(1, 8),
    h2=st.integers(1, 8),
)
def test_horizons_are_consistent(cls, calendar, frame, h1, h2):
    h1, h2 = sorted((h1, h2))
    model = fitted(cls, frame, calendar)
    long = quantiles(model, h2)
    pd.testing.assert_frame_equal(quantiles(model, h1), long.iloc[:h1])  # a prefix
    pd.testing.assert_frame_equal(quantiles(model, long.index), long)  # explicit timestamps
    assert long.index.name == frame.index.name and str(long.index.tz) == str(frame.index.tz)
    assert (long.index > frame.index[-1]).all()
    with quiet():
        interval = model.predict_interval(h2, coverage=0.9)
        paths = model.sample(h2, n_samples=4)
        again = model.sample(h2, n_samples=4)
    np.testing.assert_allclose(
        interval.to_numpy(), long.loc[:, (slice(None), [0.05, 0.95])].to_numpy()
    )
    assert paths.shape == (4, h2, frame.shape[1]) and np.isfinite(paths).all()
    np.testing.assert_array_equal(paths, again)  # an int random_state repeats the paths


@pytest.mark.parametrize("calendar", ["XNYS", None])
@pytest.mark.parametrize("cls", BASELINES)
@fast(10)
@given(
    frame=price_frames(min_rows=7, zones=(None, "America/New_York")),
    horizon=st.integers(1, 5),
    data=st.data(),
)
def test_update_in_pieces_equals_update_at_once(cls, calendar, frame, horizon, data):
    cut1 = data.draw(st.integers(4, len(frame) - 2))
    cut2 = data.draw(st.integers(cut1 + 1, len(frame) - 1))
    head, tail = frame.iloc[:cut1], frame.iloc[cut1:]
    assume(head.notna().sum().min() >= 3)
    at_once, in_pieces = fitted(cls, head, calendar), fitted(cls, head, calendar)
    tail_before = tail.copy()
    with quiet():
        at_once.update(tail[list(tail.columns[::-1])])  # columns in any order
        in_pieces.update(frame.iloc[cut1:cut2]).update(frame.iloc[cut2:])
    pd.testing.assert_frame_equal(tail, tail_before)
    expected = quantiles(at_once, horizon)
    pd.testing.assert_frame_equal(quantiles(in_pieces, horizon), expected)
    if frame.index.tz is not None:  # new rows in another zone are converted
        other = fitted(cls, head, calendar)
        with quiet():
            other.update(tail.tz_convert("Asia/Kolkata"))
        pd.testing.assert_frame_equal(quantiles(other, horizon), expected)
    full = fitted(cls, frame, calendar)
    pd.testing.assert_frame_equal(at_once.y_, full.y_, check_freq=False)
    if cls is NaiveForecaster:  # sigma_ stays fixed, but the median is the last price
        with quiet():
            pd.testing.assert_frame_equal(at_once.predict(horizon), full.predict(horizon))


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
@fast(12)
@given(frame=price_frames(freqs=("B",), min_rows=6), horizon=st.integers(1, 5), data=st.data())
def test_an_all_nan_session_row_changes_nothing(cls, frame, horizon, data):
    row = data.draw(st.integers(1, len(frame) - 2))
    holed = frame.copy()
    holed.iloc[row] = np.nan
    assume(holed.notna().sum().min() >= 3)
    with_row = quantiles(fitted(cls, holed), horizon)
    without = quantiles(fitted(cls, holed.drop(holed.index[row])), horizon)
    np.testing.assert_allclose(with_row.to_numpy(), without.to_numpy(), rtol=1e-9)


# ============================================================================ backtest


@st.composite
def backtest_cases(draw, min_rows=6):
    frame = draw(price_frames(freqs=("B", "D"), min_rows=min_rows))
    n = len(frame)
    initial = draw(st.integers(3, n - 1))
    window = draw(st.sampled_from(["expanding", "sliding"]))
    config = dict(
        horizon=draw(st.integers(1, 4)),
        initial_window=initial,
        step=draw(st.integers(1, 3)),
        window=window,
        train_length=draw(st.integers(3, initial)) if window == "sliding" else None,
        refit_every=draw(st.integers(1, 3)),
        progress=False,
    )
    return frame, config


def run_backtest(cls, frame, config):
    with quiet():
        try:
            return backtest(cls(calendar=None), frame, **config)
        except ValueError as error:  # no series has 3 observations in any training window
            assume("no series" not in str(error))
            raise


@pytest.mark.parametrize("cls", BASELINES)
@fast(10)
@given(case=backtest_cases())
def test_backtest_bookkeeping(cls, case):
    frame, config = case
    before = frame.copy()
    result = run_backtest(cls, frame, config)
    pd.testing.assert_frame_equal(frame, before)
    table, n = result.forecasts, len(frame)
    positions = list(range(config["initial_window"] - 1, n - 1, config["step"]))
    assert list(result.cutoffs) == list(frame.index[positions])
    for pos in positions:
        first = 0 if config["window"] == "expanding" else pos + 1 - config["train_length"]
        started = [c for c in frame.columns if frame[c].iloc[first : pos + 1].count() >= 3]
        rows = table[table["cutoff"] == frame.index[pos]]
        assert len(rows) == len(started) * min(config["horizon"], n - 1 - pos)
        assert sorted(rows["series"].unique()) == sorted(started)
        for col in started:
            own = rows[rows["series"] == col]
            future = frame.index[pos + 1 : pos + 1 + config["horizon"]]
            assert (pd.DatetimeIndex(own["timestamp"]) == future).all()
            origin = frame[col].iloc[: pos + 1].dropna().iloc[-1]
            np.testing.assert_allclose(own["origin"], origin)
            np.testing.assert_allclose(own["actual"], frame[col].reindex(future).to_numpy())
            if cls is NaiveForecaster:
                np.testing.assert_allclose(own["forecast"], origin)
    levels = table[["q0.1", "q0.5", "q0.9"]].to_numpy()
    assert (np.diff(levels, axis=1) >= 0).all()
    np.testing.assert_array_equal(table["forecast"], table["q0.5"])


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
@fast(10)
@given(case=backtest_cases(), data=st.data())
def test_backtest_never_looks_ahead(cls, case, data):
    frame, config = case
    result = run_backtest(cls, frame, config)
    cutoff = result.cutoffs[data.draw(st.integers(0, len(result.cutoffs) - 1))]
    changed = frame.copy()
    after = changed.index > cutoff
    factors = data.draw(arrays(np.float64, changed.loc[after].shape, elements=st.floats(0.5, 2)))
    changed.loc[after] = changed.loc[after].to_numpy() * factors
    again = run_backtest(cls, changed, config)

    def upto(r):
        t = r.forecasts
        return t[t["cutoff"] <= cutoff].drop(columns="actual").reset_index(drop=True)

    pd.testing.assert_frame_equal(upto(again), upto(result))


@pytest.mark.parametrize("cls", BASELINES)
@fast(10)
@given(case=backtest_cases(min_rows=8), data=st.data())
def test_backtest_on_a_shorter_history_gives_the_same_forecasts(cls, case, data):
    frame, config = case
    n_short = data.draw(st.integers(config["initial_window"] + 1, len(frame)))
    full = run_backtest(cls, frame, config).forecasts
    short = run_backtest(cls, frame.iloc[:n_short], config).forecasts
    full = full[full["timestamp"] <= frame.index[n_short - 1]].reset_index(drop=True)
    pd.testing.assert_frame_equal(full, short.reset_index(drop=True))


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
@fast(10)
@given(case=backtest_cases())
def test_backtest_forecasts_are_those_of_a_direct_fit(cls, case):
    frame, config = case
    config = dict(config, refit_every=1)
    table = run_backtest(cls, frame, config).forecasts
    for cutoff, rows in table.groupby("cutoff"):
        pos = frame.index.get_loc(cutoff)
        first = 0 if config["window"] == "expanding" else pos + 1 - config["train_length"]
        cols = list(rows["series"].unique())
        model = fitted(cls, frame.iloc[first : pos + 1][cols], calendar=None)
        direct = quantiles(
            model, frame.index[pos + 1 : pos + 1 + config["horizon"]], (0.1, 0.5, 0.9)
        )
        for col in cols:
            got = rows.loc[rows["series"] == col, ["q0.1", "q0.5", "q0.9"]].to_numpy()
            np.testing.assert_allclose(got, direct[col].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("cls", [NaiveForecaster, DriftForecaster])
@fast(10)
@given(case=backtest_cases())
def test_backtest_metrics_add_up(cls, case):
    frame, config = case
    result = run_backtest(cls, frame, config)
    scored = result.forecasts[result.forecasts["actual"].notna()]
    assume(len(scored))
    with quiet():
        overall = result.metrics(by=None).iloc[0]
        by_series = result.metrics(by="series")
    assert overall["count"] == len(scored) == by_series["count"].sum()
    assert overall["mae"] == pytest.approx(m.mae(scored["actual"], scored["forecast"]))
    weighted = (by_series["mae"] * by_series["count"]).sum() / by_series["count"].sum()
    assert weighted == pytest.approx(overall["mae"], rel=1e-9)


def test_backtest_metrics_without_scored_rows():
    index = pd.bdate_range("2024-01-01", periods=5)
    y = pd.Series([100.0, 101.0, 102.0, 103.0, np.nan], index=index, name="A")
    result = backtest(NaiveForecaster(), y, horizon=1, initial_window=4, progress=False)
    assert result.forecasts["actual"].isna().all()
    with pytest.warns(RuntimeWarning, match="no forecast row has an actual value") as rec:
        overall = result.metrics(by=None)
    assert overall["count"].iloc[0] == 0 and np.isnan(overall["mae"].iloc[0])
    assert {r.filename for r in rec} == {__file__}
    with pytest.warns(RuntimeWarning, match="no forecast row has an actual value"):
        board = compare(
            {"naive": NaiveForecaster()}, y, horizon=1, initial_window=4, progress=False
        )
    assert board.leaderboard["count"].iloc[0] == 0


# ============================================================================ trading


@st.composite
def trading_cases(draw):
    """Prices (1-3 series, NaN holes) and a backtest-shaped forecasts table whose forecasts
    are the origin times a drawn factor (down, flat or up)."""
    n = draw(st.integers(3, 20))
    k = draw(st.integers(1, 3))
    moves = draw(arrays(np.float64, (n, k), elements=st.floats(-0.3, 0.3)))
    values = 100 * np.exp(np.cumsum(moves, axis=0))
    missing = draw(arrays(np.bool_, (n, k)))
    missing[0] = False
    values = np.where(missing, np.nan, values)
    index = pd.bdate_range("2024-01-01", periods=n)
    prices = pd.DataFrame(values, index=index, columns=[f"s{j}" for j in range(k)])
    horizon, every = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    origin = prices.ffill().to_numpy()
    factor = st.sampled_from([0.9, 0.99, 1.0, 1.01, 1.1])
    rows = []
    for pos in range(0, n - 1, every):
        for j, name in enumerate(prices.columns):
            for step in range(1, min(horizon, n - 1 - pos) + 1):
                f = origin[pos, j] * draw(factor)
                rows.append(
                    {
                        "cutoff": index[pos],
                        "timestamp": index[pos + step],
                        "series": name,
                        "step": step,
                        "actual": values[pos + step, j],
                        "forecast": f,
                        "q0.1": 0.97 * f,
                        "q0.5": f,
                        "q0.9": 1.03 * f,
                        "origin": origin[pos, j],
                        "scale": 1.0,
                    }
                )
    return prices, pd.DataFrame(rows)


def trade(table, prices, **kwargs):
    with quiet():
        return simulate(table, prices, **kwargs)


def with_forecasts(table, make):
    out = table.copy()
    for col in ("forecast", "q0.1", "q0.5", "q0.9"):
        out[col] = make(out)
    return out


@fast(25)
@given(
    case=trading_cases(),
    allow_short=st.booleans(),
    rule=st.sampled_from(["sign", "quantile"]),
    cost=st.floats(0, 100),
    c=st.floats(0.01, 100),
)
def test_simulation_invariants(case, allow_short, rule, cost, c):
    prices, table = case
    kw = dict(allow_short=allow_short, rule=rule)
    prices0, table0 = prices.copy(), table.copy()
    sim = trade(table, prices, cost_bps=cost, **kw)
    pd.testing.assert_frame_equal(prices, prices0)
    pd.testing.assert_frame_equal(table, table0)
    assert sim.equity.iloc[0] == 1.0 and np.isfinite(sim.equity).all()
    if not allow_short:
        assert (sim.equity > 0).all()
    assert set(np.unique(sim.positions.to_numpy())) <= {-1.0, 0.0, 1.0}
    assert (sim.positions.iloc[0] == 0).all() and (sim.positions.iloc[-1] == 0).all()
    np.testing.assert_allclose(np.cumprod(1 + sim.returns), sim.equity.iloc[1:], rtol=1e-9)
    # costs never help: the net equity stays below the cost-free one at every bar (per bar,
    # a portfolio's net return can beat its gross one: the sleeve that paid weighs less)
    free = trade(table, prices, cost_bps=0.0, **kw)
    assert (sim.equity <= free.equity * (1 + 1e-12)).all()
    np.testing.assert_allclose(sim.gross_returns, free.returns, atol=1e-12)
    # prices in another currency unit, forecasts in another unit, series in another order
    rescaled = trade(table, prices * c, cost_bps=cost, **kw)
    np.testing.assert_allclose(rescaled.equity, sim.equity, rtol=1e-9)
    units = table.copy()
    for col in ("forecast", "origin", "q0.1", "q0.5", "q0.9"):
        units[col] = units[col] * c
    np.testing.assert_array_equal(
        trade(units, prices, cost_bps=cost, **kw).positions.to_numpy(), sim.positions.to_numpy()
    )
    reordered = trade(table, prices[list(prices.columns[::-1])], cost_bps=cost, **kw)
    np.testing.assert_allclose(reordered.equity, sim.equity, rtol=1e-12)
    # no-change forecasts never trade; always-up forecasts are buy-and-hold
    flat = trade(with_forecasts(table, lambda t: t["origin"]), prices, cost_bps=cost, **kw)
    assert (flat.positions.to_numpy() == 0).all() and (flat.equity == 1.0).all()
    up = trade(with_forecasts(table, lambda t: 1.5 * t["origin"]), prices, cost_bps=cost, **kw)
    np.testing.assert_allclose(up.equity, up.benchmark_equity, rtol=1e-12)
    with quiet():
        stats = sim.stats()
    for col in stats.columns:
        s = stats[col]
        assert -1.0 <= s["max_drawdown"] <= 0.0 and 0.0 <= s["exposure"] <= 1.0
        assert s["turnover"] >= 0 and s["n_trades"] >= 0 and s["max_drawdown_duration"] >= 0
        assert np.isnan(s["hit_rate"]) or 0.0 <= s["hit_rate"] <= 1.0
    assert stats.iloc[:, 0]["total_return"] == pytest.approx(sim.equity.iloc[-1] - 1, abs=1e-12)


# ============================================================================ Latent ODE


@pytest.fixture(scope="module")
def tiny_tsnode():
    """One Adam step of a tiny Latent ODE on two irregular series (one stops early)."""
    from tsnode import TSNodeForecaster
    from tsnode.datasets import make_gbm

    y = make_gbm(2, n_days=60, drop_fraction=0.1, random_state=3)
    y.iloc[-2:, 1] = np.nan
    before = y.copy()
    model = TSNodeForecaster(**MICRO).fit(y)
    pd.testing.assert_frame_equal(y, before)
    return model, y


@fast(10)
@given(h1=st.integers(1, 12), h2=st.integers(1, 12), levels=levels_strategy(low=5, high=95))
def test_tsnode_forecasts_are_consistent(tiny_tsnode, h1, h2, levels):
    model, y = tiny_tsnode
    h1, h2 = sorted((h1, h2))
    long = model.predict_quantiles(h2, levels)
    values = long.to_numpy().reshape(h2, y.shape[1], len(levels))
    assert np.isfinite(values).all() and (values > 0).all()
    assert (np.diff(values, axis=-1) >= 0).all()
    pd.testing.assert_frame_equal(model.predict_quantiles(h1, levels), long.iloc[:h1])
    pd.testing.assert_frame_equal(model.predict_quantiles(long.index, levels), long)
    median = model.predict_quantiles(h2, (0.5,)).to_numpy()
    np.testing.assert_allclose(model.predict(h2).to_numpy(), median)
    np.testing.assert_array_equal(model.sample(h2, 4), model.sample(h2, 4))


@fast(5)
@given(n_new=st.integers(1, 5), horizon=st.integers(1, 5))
def test_tsnode_update_moves_the_origin_only(tiny_tsnode, n_new, horizon):
    from tsnode.datasets import make_gbm

    model, y = tiny_tsnode
    updated = copy.deepcopy(model)
    new = make_gbm(2, n_days=70, drop_fraction=0.0, random_state=5)
    new = new[new.index > y.index[-1]].iloc[:n_new]
    new_before = new.copy()
    updated.update(new)
    pd.testing.assert_frame_equal(new, new_before)
    pd.testing.assert_frame_equal(model.y_, y, check_freq=False)  # the original is untouched
    forecast = updated.predict_quantiles(horizon)
    assert (forecast.index > new.index[-1]).all() and np.isfinite(forecast.to_numpy()).all()
