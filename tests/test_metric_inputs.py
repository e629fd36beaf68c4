"""Input checks of tsnode.metrics: infinite values, inputs with nothing observed, the
Diebold-Mariano horizon limit and its ``groups`` labels."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tsnode import metrics as m

Q = (0.1, 0.5, 0.9)
Y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
YQ = np.stack([Y - 1.0, Y, Y + 1.0], axis=-1)  # (5, 3)
SAMPLES = np.stack([Y - 1.0, Y + 0.5, Y + 1.0])  # (3, 5)
ERRORS = np.array([0.5, -1.0, 2.0, 0.3, -0.7, 1.1])
ERRORS_BASE = np.array([1.0, 1.5, -0.5, 0.9, 1.2, -2.0])

# (function, its arguments, the arguments that hold values that may be infinite)
CASES = {
    "mae": (m.mae, {"y_true": Y, "y_pred": Y + 1}, ["y_true", "y_pred"]),
    "rmse": (m.rmse, {"y_true": Y, "y_pred": Y + 1}, ["y_true", "y_pred"]),
    "mape": (m.mape, {"y_true": Y, "y_pred": Y + 1}, ["y_true", "y_pred"]),
    "smape": (m.smape, {"y_true": Y, "y_pred": Y + 1}, ["y_true", "y_pred"]),
    "mase_scale": (
        m.mase,
        {"y_true": Y, "y_pred": Y + 1, "scale": np.ones(5)},
        ["y_true", "y_pred", "scale"],
    ),
    "mase_y_train": (m.mase, {"y_true": Y, "y_pred": Y + 1, "y_train": Y}, ["y_train"]),
    "pinball_loss": (
        m.pinball_loss,
        {"y_true": Y, "y_quantiles": YQ, "quantiles": Q},
        ["y_true", "y_quantiles"],
    ),
    "crps_from_quantiles": (
        m.crps_from_quantiles,
        {"y_true": Y, "y_quantiles": YQ, "quantiles": Q},
        ["y_true", "y_quantiles"],
    ),
    "pit_values": (
        m.pit_values,
        {"y_true": Y, "y_quantiles": YQ, "quantiles": Q},
        ["y_true", "y_quantiles"],
    ),
    "crps_from_samples": (
        m.crps_from_samples,
        {"y_true": Y, "samples": SAMPLES},
        ["y_true", "samples"],
    ),
    "pit_from_samples": (
        m.pit_from_samples,
        {"y_true": Y, "samples": SAMPLES},
        ["y_true", "samples"],
    ),
    "coverage": (
        m.coverage,
        {"y_true": Y, "lower": Y - 1, "upper": Y + 1},
        ["y_true", "lower", "upper"],
    ),
    "interval_width": (m.interval_width, {"lower": Y - 1, "upper": Y + 1}, ["lower", "upper"]),
    "directional_accuracy": (
        m.directional_accuracy,
        {"y_true": Y, "y_pred": Y + 1, "origin": Y - 0.5},
        ["y_true", "y_pred", "origin"],
    ),
    "diebold_mariano": (
        m.diebold_mariano,
        {"errors_model": ERRORS, "errors_baseline": ERRORS_BASE},
        ["errors_model", "errors_baseline"],
    ),
}
INF_CASES = [(key, arg) for key, (_, _, args) in CASES.items() for arg in args]


def _call(func, kwargs):
    if func is m.diebold_mariano:
        return func(kwargs["errors_model"], kwargs["errors_baseline"])
    return func(**kwargs)


def test_every_public_function_is_audited():
    audited = {func.__name__ for func, _, _ in CASES.values()}
    assert audited == set(m.__all__) - {"DMResult"}


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["+inf", "-inf"])
@pytest.mark.parametrize(("key", "arg"), INF_CASES, ids=[f"{k}-{a}" for k, a in INF_CASES])
def test_infinite_input_is_an_error_naming_argument_and_position(key, arg, sign):
    func, kwargs, _ = CASES[key]
    value = np.array(kwargs[arg], dtype="float64")
    index = (1,) + (0,) * (value.ndim - 1)
    value[index] = sign * np.inf
    position = "[1]" if value.ndim == 1 else str([index])
    kwargs = {**kwargs, arg: value}
    before = value.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy "invalid value" warning on the way
        with pytest.raises(
            ValueError, match=re.escape(f"`{arg}` contains 1 infinite value at position {position}")
        ):
            _call(func, kwargs)
    np.testing.assert_array_equal(value, before)  # the input is not modified


def test_infinite_scalar_arguments():
    with pytest.raises(ValueError, match=r"`origin` contains 1 infinite value \(the value is inf"):
        m.directional_accuracy([1.0], [2.0], np.inf)
    with pytest.raises(ValueError, match=r"`scale` contains 1 infinite value \(the value is -inf"):
        m.mase([1.0], [2.0], scale=-np.inf)


def test_infinite_count_and_first_positions_of_many():
    y = np.arange(8.0)
    y[[0, 2, 3, 5, 6, 7]] = np.inf
    with pytest.raises(
        ValueError, match=re.escape("6 infinite values at positions [0, 2, 3, 5, 6] (first 5 of 6")
    ):
        m.mae(y, np.zeros(8))
    # the positions are indices into the argument as passed, before NaN pairs are dropped
    with pytest.raises(
        ValueError, match=re.escape("`y_pred` contains 1 infinite value at position [3]")
    ):
        m.rmse([np.nan, 1.0, np.nan, 2.0], [1.0, np.nan, 1.0, np.inf])


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6) | st.just(math.nan), min_size=1, max_size=12),
    data=st.data(),
)
def test_inf_anywhere_is_reported_with_its_count(values, data):
    y = np.array(values)
    where = data.draw(st.sets(st.integers(0, y.size - 1), min_size=1))
    y[sorted(where)] = data.draw(st.sampled_from([np.inf, -np.inf]))
    arg = data.draw(st.sampled_from(["y_true", "y_pred"]))
    other = np.ones_like(y)
    kwargs = {"y_true": y, "y_pred": other} if arg == "y_true" else {"y_true": other, "y_pred": y}
    count = len(where)
    for func in (m.mae, m.rmse, m.mape, m.smape):
        with pytest.raises(ValueError, match=f"`{arg}` contains {count} infinite value"):
            func(**kwargs)


# ----------------------------------------------------------------------------- nothing observed

SCALAR_ALL_NAN = {
    "mae": lambda: m.mae([np.nan, 1.0], [1.0, np.nan]),
    "rmse": lambda: m.rmse([np.nan], [1.0]),
    "mape": lambda: m.mape([np.nan], [1.0]),
    "smape": lambda: m.smape([np.nan], [1.0]),
    "mase": lambda: m.mase([np.nan], [1.0], scale=1.0),
    "pinball_loss": lambda: m.pinball_loss([np.nan], [[0.0, 1.0, 2.0]], Q),
    "crps_from_quantiles": lambda: m.crps_from_quantiles([1.0], [[0.0, np.nan, 2.0]], Q),
    "crps_from_samples": lambda: m.crps_from_samples([1.0], [[np.nan], [np.nan]]),
    "coverage": lambda: m.coverage([np.nan], [0.0], [1.0]),
    "interval_width": lambda: m.interval_width([np.nan], [1.0]),
    "directional_accuracy": lambda: m.directional_accuracy([np.nan], [1.0], 0.5),
}


@pytest.mark.parametrize("name", list(SCALAR_ALL_NAN))
def test_nothing_observed_is_nan_with_a_named_warning_only(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = SCALAR_ALL_NAN[name]()
    assert math.isnan(result)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages  # no numpy "Mean of empty slice" on top
    assert messages[0].startswith(f"{name}: every element has a NaN")


@pytest.mark.parametrize(
    "call",
    [
        lambda: m.pit_values([np.nan, 1.0], [[0.0, 1.0, 2.0], [np.nan, 1.0, 2.0]], Q),
        lambda: m.pit_from_samples([np.nan], [[1.0], [2.0]]),
        lambda: m.pit_from_samples([1.0], [[np.nan], [np.nan]]),
    ],
    ids=["pit_values", "pit_from_samples-target", "pit_from_samples-draws"],
)
def test_pit_with_nothing_observed_warns_and_returns_empty(call):
    with pytest.warns(RuntimeWarning, match="nothing left to transform"):
        out = call()
    assert out.shape == (0,) and out.dtype == np.float64


def test_diebold_mariano_with_nothing_observed_is_an_error():
    with pytest.raises(ValueError, match="at least 3 non-NaN error pairs, got 0"):
        m.diebold_mariano([np.nan] * 5, [1.0] * 5)
    with pytest.raises(ValueError, match="at least 3 time labels of `groups`, got 2"):
        m.diebold_mariano(ERRORS, ERRORS_BASE, groups=[0, 0, 0, 1, 1, 1])


def test_diebold_mariano_overflowing_loss_is_an_error_not_nan():
    e1, e2 = ERRORS.copy(), ERRORS_BASE.copy()
    e1[0] = e2[0] = 1e200  # inf - inf in the squared differential
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="loss differential overflows"):
            m.diebold_mariano(e1, e2)
        e2[0] = 1.0
        e1[0] = 1e160  # finite differential, infinite variance
        with pytest.raises(ValueError, match="loss differential overflows"):
            m.diebold_mariano(e1, e2)


# ----------------------------------------------------------------------------- DM horizon


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 15), extra=st.integers(0, 30), grouped=st.booleans())
def test_diebold_mariano_every_horizon_from_n_up_is_too_large(n, extra, grouped):
    rng = np.random.default_rng(n)
    reps = 2 if grouped else 1
    e1, e2 = rng.standard_normal(n * reps), rng.standard_normal(n * reps)
    groups = np.repeat(np.arange(n), reps) if grouped else None
    horizon = n + extra
    with pytest.raises(ValueError, match=f"`horizon`={horizon} is too large for {n} "):
        m.diebold_mariano(e1, e2, horizon=horizon, groups=groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a fallback to h=1 may warn
        res = m.diebold_mariano(e1, e2, horizon=n - 1, groups=groups)  # the largest allowed
    assert np.isfinite(res.statistic) and 0.0 <= res.pvalue <= 1.0


def test_diebold_mariano_horizon_12_for_10_errors():
    rng = np.random.default_rng(0)
    e1, e2 = rng.standard_normal(10), rng.standard_normal(10)
    with pytest.raises(ValueError, match=re.escape("`horizon`=12 is too large for 10 non-NaN")):
        m.diebold_mariano(e1, e2, horizon=12)


# ----------------------------------------------------------------------------- DM groups


@pytest.mark.parametrize(
    ("labels", "count", "positions"),
    [
        ([None] * 6, 6, "[0, 1, 2, 3, 4]"),
        ([1.0, np.nan, 2.0, 2.0, np.nan, 3.0], 2, "[1, 4]"),
        (pd.to_datetime(["2020-01-01"] * 5 + [None]), 1, "[5]"),
        (pd.array([1, 1, None, 2, 2, 3], dtype="Int64"), 1, "[2]"),
        (["a", "a", "b", None, "c", "c"], 1, "[3]"),
    ],
    ids=["all-None", "NaN", "NaT", "pd.NA", "None-among-str"],
)
def test_diebold_mariano_missing_group_labels_are_an_error(labels, count, positions):
    with pytest.raises(
        ValueError,
        match=re.escape(f"`groups` has {count} missing label") + ".*" + re.escape(positions),
    ):
        m.diebold_mariano(ERRORS, ERRORS_BASE, groups=labels)


def test_diebold_mariano_unsortable_group_labels_are_an_error():
    # numpy used to read [1, "1", ...] as the strings "1", "1", ...: one silent label
    with pytest.raises(TypeError, match=r"`groups` labels must be sortable.*\['int', 'str'\]"):
        m.diebold_mariano(ERRORS, ERRORS_BASE, groups=[1, "1", 2, "2", 3, "3"])
    with pytest.raises(TypeError, match="`groups` must be an array-like"):
        m.diebold_mariano(ERRORS, ERRORS_BASE, groups=[[1], [1, 2], 3, 4, 5, 6])


def test_diebold_mariano_group_label_types_agree():
    codes = [0, 0, 1, 1, 2, 2]
    expected = m.diebold_mariano(ERRORS, ERRORS_BASE, groups=codes)
    days = pd.date_range("2021-01-04", periods=3).repeat(2)
    for labels in (
        ["a", "a", "b", "b", "c", "c"],
        np.array(codes, dtype="float64"),
        days,
        pd.Series(days),
        list(days),  # Timestamp objects
        np.array(codes, dtype=object),
    ):
        got = m.diebold_mariano(ERRORS, ERRORS_BASE, groups=labels)
        assert got == pytest.approx(expected, rel=1e-12)


def test_pandas_inputs_with_other_labels_are_refused_not_paired_by_position():
    # regression: values were paired by position whatever their labels
    idx = pd.bdate_range("2024-01-01", periods=5)
    y = pd.Series([1.0, 2, 3, 4, 5], idx)
    with pytest.raises(ValueError, match="`y_pred` and `y_true` have different index labels"):
        m.mae(y, y.iloc[::-1])
    with pytest.raises(ValueError, match="different index labels.*align"):
        m.mae(y, y.set_axis(idx + pd.Timedelta(days=7)))
    frame = pd.DataFrame({"A": [1.0, 2, 3], "B": [10.0, 20, 30]})
    with pytest.raises(ValueError, match="different columns labels"):
        m.mae(frame, frame[["B", "A"]])
    with pytest.raises(ValueError, match="`origin`"):
        m.directional_accuracy(y, y, origin=y.shift(1).iloc[::-1])
    assert m.mae(y, y.to_numpy()[::-1]) == pytest.approx(2.4)  # arrays: by position, as asked
    assert m.mae(y, y.copy()) == 0.0


def test_samples_and_groups_with_other_labels_are_refused():
    # regression: crps_from_samples / pit_from_samples paired a Series of targets with the
    # columns of a frame of draws by position, and diebold_mariano its `groups` Series
    y = pd.Series([0.0, 10.0], index=["AAPL", "MSFT"])
    draws = pd.DataFrame([[10.0, 0.0]] * 3, columns=["MSFT", "AAPL"])
    for score in (m.crps_from_samples, m.pit_from_samples):
        with pytest.raises(ValueError, match=r"columns \['MSFT', 'AAPL'\] are not `y_true`"):
            score(y, draws)
    assert m.crps_from_samples(y, draws[y.index]) == 0.0
    e1 = pd.Series([1.0, -2, 3, -1, 2, 0.5], index=list("abcdef"))
    e2 = pd.Series([0.5, 1, -1, 2, -0.5, 1], index=list("abcdef"))
    groups = pd.Series([1, 1, 2, 2, 3, 3], index=list("fedcba"))
    with pytest.raises(ValueError, match="`groups` and `errors_model` have different index"):
        m.diebold_mariano(e1, e2, groups=groups)
    m.diebold_mariano(e1, e2, groups=groups.reindex(e1.index))


def test_dates_are_not_scores():
    dates = pd.Series(pd.bdate_range("2024-01-01", periods=3))
    with pytest.raises(TypeError, match="`y_true` holds dates"):
        m.mae(dates, dates + pd.Timedelta(days=1))
    with pytest.raises(TypeError, match="`y_pred` holds dates"):
        m.mae([1.0, 2, 3], pd.to_timedelta([1, 2, 3], unit="D"))


def test_rtol_accepts_numpy_numbers_and_refuses_infinity():
    y = np.array([1.0, 2, 3])
    assert m.directional_accuracy(y, y, origin=y - 1, rtol=np.float32(1e-9)) == 1.0
    with pytest.raises(ValueError, match="`rtol` must be a finite number"):
        m.directional_accuracy(y, y, origin=y - 1, rtol=float("inf"))


@pytest.mark.parametrize(
    ("values", "what"),
    [
        ([1 + 5j, 2.0], "complex numbers"),
        (np.array([1 + 5j, 2.0]), "complex numbers"),
        (pd.Series([True, False]), "booleans"),
        ([True, False], "booleans"),
    ],
)
def test_complex_and_boolean_values_are_refused(values, what):
    # regression: mae([1+5j, 2], [1, 2]) was 0.0 (the imaginary part dropped, with only
    # numpy's ComplexWarning), and booleans were scored as 0/1 prices
    with pytest.raises(TypeError, match=f"`y_true` holds {what}"):
        m.mae(values, [1.0, 2.0])
    with pytest.raises(TypeError, match=f"`y_true` holds {what}"):
        m.coverage(values, [0.0, 0.0], [3.0, 3.0])
