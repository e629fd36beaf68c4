import copy
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    PolynomialFeatures,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

from tsnode.preprocessing import LogScaler, SeriesScaler, check_monotone

# --------------------------------------------------------------------------------------------
# scikit-learn's estimator check suite
# --------------------------------------------------------------------------------------------

# scikit-learn's `positive_only` input tag means *non-negative*: for such estimators its checks
# build data with `X - X.min()`, which contains exact zeros. The log of zero is undefined and
# LogScaler() (offset=0, for prices) rejects zeros by design, so these checks cannot pass for
# it; each fails only with LogScaler's "Zero values in data" error (asserted in
# `test_default_log_scaler_fails_checks_only_on_zeros`). The identical code path with
# offset > 0 (zeros allowed) passes the *whole* suite below.
ZERO_DATA_CHECKS = [
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_readonly_memmap_input",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
]
ZERO_DATA_REASON = (
    "sklearn's positive_only check data contain exact zeros (X - X.min()); log(0) is undefined "
    "and LogScaler(offset=0) rejects zeros by design; LogScaler(offset>0) passes this check"
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, LogScaler) and estimator.offset == 0:
        return dict.fromkeys(ZERO_DATA_CHECKS, ZERO_DATA_REASON)
    return {}


# `check_array_api_input` is skipped by scikit-learn itself unless SCIPY_ARRAY_API=1 is set
# before scipy is imported; `test_array_api_check_in_subprocess` runs it with the variable set.
@parametrize_with_checks(
    [
        LogScaler(offset=1.0),
        LogScaler(standardize=False, offset=0.5),
        SeriesScaler(),
        SeriesScaler(RobustScaler()),
        SeriesScaler(PowerTransformer()),
        SeriesScaler(make_pipeline(RobustScaler(), StandardScaler())),
        LogScaler(offset=1.0, scale_by="volatility"),
        LogScaler(standardize=False, offset=0.5, scale_by="volatility"),
        LogScaler(),
        LogScaler(scale_by="volatility"),  # TSNodeForecaster's default
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@pytest.mark.parametrize("scale_by", ["level", "volatility"])
@pytest.mark.parametrize("standardize", [True, False])
def test_default_log_scaler_fails_checks_only_on_zeros(standardize, scale_by):
    results = check_estimator(LogScaler(standardize=standardize, scale_by=scale_by), on_fail=None)
    failed = [r for r in results if r["status"] == "failed"]
    assert failed, "sklearn's checks no longer use zeros: drop ZERO_DATA_CHECKS"
    for result in failed:
        assert "Zero values in data" in str(result["exception"]), result["check_name"]
    assert {r["check_name"] for r in failed} <= set(ZERO_DATA_CHECKS)


def test_array_api_check_in_subprocess():
    try:  # scikit-learn's array API checks need array_api_compat (vendored from 1.8 on)
        import sklearn.externals.array_api_compat  # noqa: F401
    except ImportError:
        pytest.importorskip("array_api_compat")
    code = textwrap.dedent(
        """
        import inspect
        import warnings
        warnings.simplefilter("ignore")
        from sklearn.preprocessing import RobustScaler
        from sklearn.utils.estimator_checks import check_array_api_input
        from tsnode.preprocessing import LogScaler, SeriesScaler
        # scikit-learn >= 1.8 asks whether outputs must all be arrays; 1.7 has no such option
        options = inspect.signature(check_array_api_input).parameters
        extra = {"expect_only_array_outputs": False} if "expect_only_array_outputs" in options else {}
        for est in (LogScaler(offset=1.0), SeriesScaler(RobustScaler())):
            check_array_api_input(type(est).__name__, est, array_namespace="numpy", **extra)
        print("ok")
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "PYTHONPATH": root}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _prices(n=40, columns=("AAA", "BBB", "CCC"), seed=0, tz=None):
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.02, size=(n, len(columns)))
    values = 100.0 * np.exp(np.cumsum(steps, axis=0)) * np.arange(1, len(columns) + 1)
    index = pd.bdate_range("2024-01-01", periods=n, tz=tz)
    frame = pd.DataFrame(values, index=index, columns=list(columns))
    frame.iloc[3, 0] = np.nan
    frame.iloc[10:13, 1] = np.nan
    return frame


SCALERS = [
    LogScaler(),
    LogScaler(standardize=False),
    LogScaler(scale_by="volatility"),
    SeriesScaler(),
    SeriesScaler(RobustScaler()),
    SeriesScaler(PowerTransformer()),
]


# --------------------------------------------------------------------------------------------
# LogScaler
# --------------------------------------------------------------------------------------------


def test_log_scaler_values_and_attributes():
    X = _prices()
    scaler = LogScaler().fit(X)
    logs = np.log(X.to_numpy())
    np.testing.assert_allclose(scaler.mean_, np.nanmean(logs, axis=0), rtol=1e-13)
    np.testing.assert_allclose(scaler.scale_, np.nanstd(logs, axis=0), rtol=1e-13)
    assert scaler.n_features_in_ == 3
    assert list(scaler.feature_names_in_) == ["AAA", "BBB", "CCC"]
    assert scaler.mean_.dtype == scaler.scale_.dtype == np.float64
    out = scaler.transform(X)
    expected = (logs - scaler.mean_) / scaler.scale_
    np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-12, atol=1e-12)
    # standardised on the observed values
    np.testing.assert_allclose(np.nanmean(out.to_numpy(), axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(out.to_numpy(), axis=0), 1.0, rtol=1e-12)


def test_log_scaler_without_standardize_is_plain_log():
    X = _prices()
    scaler = LogScaler(standardize=False).fit(X)
    np.testing.assert_array_equal(scaler.mean_, 0.0)
    np.testing.assert_array_equal(scaler.scale_, 1.0)
    np.testing.assert_allclose(scaler.transform(X).to_numpy(), np.log(X.to_numpy()), rtol=1e-15)


def test_log_scaler_constant_column_gets_scale_one():
    X = np.column_stack([np.full(10, 7.5), np.linspace(1.0, 2.0, 10)])
    scaler = LogScaler().fit(X)
    assert scaler.scale_[0] == 1.0
    np.testing.assert_allclose(scaler.transform(X)[:, 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-13)


def test_log_scaler_offset_allows_zeros_but_not_negatives():
    X = np.array([[0.0, 5.0], [10.0, 0.0], [3.0, 2.0]])
    scaler = LogScaler(offset=1.0).fit(X)
    np.testing.assert_allclose(scaler.mean_, np.log(X + 1.0).mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(
        scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-12, atol=1e-12
    )
    with pytest.raises(ValueError, match="Negative values in data: column 1 at row 1"):
        scaler.transform(np.array([[1.0, 1.0], [1.0, -0.5]]))


@pytest.mark.parametrize("make", [lambda: LogScaler(), lambda: SeriesScaler()])
def test_reordered_columns_with_non_str_labels_are_refused(make):
    # regression: scikit-learn records only str column names, so a frame with columns 0, 1
    # (pd.DataFrame(array)) passed in another order was scaled with the wrong parameters
    X = pd.DataFrame({0: [1.0, 2.0, 3.0], 1: [1000.0, 2000.0, 3000.0]})
    scaler = make().fit(X)
    for method in ("transform", "inverse_transform"):
        with pytest.raises(ValueError, match=r"X has columns \['1', '0'\], but the scaler was"):
            getattr(scaler, method)(X[[1, 0]])
    pd.testing.assert_frame_equal(scaler.inverse_transform(scaler.transform(X)), X)
    scaler.fit(X.to_numpy())  # refitted on an array: no column labels are kept
    assert not hasattr(scaler, "column_labels_")
    scaler.transform(X[[1, 0]].to_numpy())


def test_log_scaler_dataframe_error_names_column_and_timestamp():
    X = _prices()
    X.iloc[5, 2] = -1.0
    X.iloc[7, 1] = 0.0
    with pytest.raises(ValueError) as info:
        LogScaler().fit(X)
    message = str(info.value)
    assert "column 'BBB'" in message and str(X.index[7]) in message and "(row 7)" in message
    assert "Zero values in data" in message and "1 more" in message


def test_log_scaler_negative_error_on_transform():
    scaler = LogScaler().fit(_prices())
    X = _prices(seed=1)
    X.iloc[4, 0] = -2.0
    with pytest.raises(ValueError, match=r"LogScaler.transform: Negative values in data") as info:
        scaler.transform(X)
    assert "column 'AAA'" in str(info.value) and str(X.index[4]) in str(info.value)


def test_log_scaler_numpy_error_names_column_index_and_row():
    X = np.ones((6, 3))
    X[4, 2] = -3.0
    with pytest.raises(ValueError, match=r"column 2 at row 4 has value -3.0"):
        LogScaler().fit(X)


@pytest.mark.parametrize(
    "params",
    [{"standardize": "yes"}, {"offset": -1.0}, {"offset": np.inf}, {"scale_by": "returns"}],
)
def test_log_scaler_invalid_parameters(params):
    with pytest.raises((TypeError, ValueError), match="standardize|offset|scale_by"):
        LogScaler(**params).fit(_prices())


@pytest.mark.parametrize(
    "params, error",
    [
        ({"offset": "a"}, TypeError),
        ({"offset": True}, TypeError),
        ({"offset": -1.0}, ValueError),
        ({"scale_by": 1}, TypeError),
        ({"scale_by": "returns"}, ValueError),
    ],
)
def test_log_scaler_wrong_type_is_a_type_error(params, error):
    with pytest.raises(error, match="offset|scale_by"):
        LogScaler(**params).fit(_prices())


def test_log_scaler_volatility_scale_is_the_annualised_std_of_the_changes():
    X = _prices()
    logs = np.log(X.to_numpy())
    # an array: time in rows, a year of 252 rows
    rows = LogScaler(scale_by="volatility").fit(X.to_numpy())
    np.testing.assert_allclose(rows.mean_, np.nanmean(logs, axis=0), rtol=1e-13)
    first = np.diff(logs[:, 2])  # column CCC has no NaN: the plain (population) std
    assert rows.scale_[2] == pytest.approx(np.sqrt(252) * np.std(first), rel=1e-12)
    # a change across a NaN row counts as two one-row changes: centred on twice the drift,
    # divided by sqrt(2)
    column = logs[:, 0]
    observed = np.flatnonzero(~np.isnan(column))
    change, gap = np.diff(column[observed]), np.diff(observed)
    drift = change.sum() / gap.sum()
    expected = np.sqrt(252 * np.mean((change - drift * gap) ** 2 / gap))
    assert 2 in gap and rows.scale_[0] == pytest.approx(expected, rel=1e-12)
    # a DataFrame on a DatetimeIndex: time in calendar days (weekends count), 365.25 a year
    days = LogScaler(scale_by="volatility").fit(X)
    elapsed = np.asarray((X.index - X.index[0]).days, dtype=float)
    dt = np.diff(elapsed)
    drift = first.sum() / dt.sum()
    expected = np.sqrt(365.25 * np.mean((first - drift * dt) ** 2 / dt))
    assert 3.0 in dt and days.scale_[2] == pytest.approx(expected, rel=1e-12)


def test_log_scaler_volatility_scale_is_the_same_for_nan_rows_and_missing_rows():
    X = _prices()
    with_nan = LogScaler(scale_by="volatility").fit(X[["BBB"]])
    dropped = LogScaler(scale_by="volatility").fit(X[["BBB"]].dropna())
    np.testing.assert_allclose(with_nan.scale_, dropped.scale_, rtol=1e-13)


def test_log_scaler_volatility_scale_ignores_history_length_and_price_range():
    # regression: scale_by="level" gave a series with only the last 120 of 750 days a scale
    # 5x smaller than the same prices with the whole history (so 5x narrower forecasts)
    rng = np.random.default_rng(3)
    prices = 100 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 750)))
    recent = np.where(np.arange(750) >= 630, prices, np.nan)
    X = np.column_stack([prices, recent])
    level = LogScaler().fit(X).scale_
    volatility = LogScaler(scale_by="volatility").fit(X).scale_
    assert level[1] < level[0] / 4
    np.testing.assert_allclose(volatility, 0.01 * np.sqrt(252), rtol=0.1)


def test_log_scaler_volatility_scale_by_hand_and_fallback_with_two_observations():
    X = np.array([[1.0, 2.0], [np.e, np.nan], [np.nan, np.nan], [np.e**2, 5.0]])
    scale = LogScaler(scale_by="volatility").fit(X).scale_
    # column 0: log changes 1 (one row) and 1 (two rows), drift 2/3 per row; squared
    # residuals per row 1/9 and (1/3)^2 / 2, mean 1/12, so sqrt(252 / 12)
    assert scale[0] == pytest.approx(np.sqrt(21.0), rel=1e-12)
    # column 1 has two observations, three rows apart: the one change is the estimate
    assert scale[1] == pytest.approx(np.sqrt(252 * np.log(2.5) ** 2 / 3), rel=1e-12)
    # one observation: scale 1, as for a constant column
    single = LogScaler(scale_by="volatility").fit(np.array([[np.nan], [4.0], [np.nan]]))
    assert single.scale_[0] == 1.0


@pytest.mark.parametrize("order", ["reversed", "duplicated"])
def test_log_scaler_volatility_scale_refuses_an_unsorted_or_duplicated_index(order):
    # regression: a reversed index gave a NaN scale, a duplicated one an infinite scale
    X = _prices()
    X = X.iloc[::-1] if order == "reversed" else pd.concat([X.iloc[:5], X.iloc[4:]])
    with pytest.raises(ValueError, match="must be sorted, unique"):
        LogScaler(scale_by="volatility").fit(X)
    LogScaler().fit(X)  # the level scaler does not look at the index


# --------------------------------------------------------------------------------------------
# SeriesScaler
# --------------------------------------------------------------------------------------------


def test_series_scaler_fits_one_clone_per_column_on_observed_values():
    X = _prices()
    user_transformer = RobustScaler()
    scaler = SeriesScaler(user_transformer).fit(X)
    assert not hasattr(user_transformer, "center_")  # the user's transformer is not fitted
    assert len(scaler.transformers_) == 3
    assert len({id(t) for t in scaler.transformers_}) == 3
    out = scaler.transform(X)
    for j, name in enumerate(X.columns):
        observed = X[name].dropna().to_numpy().reshape(-1, 1)
        reference = RobustScaler().fit(observed)
        np.testing.assert_allclose(scaler.transformers_[j].center_, reference.center_)
        mask = X[name].notna().to_numpy()
        np.testing.assert_allclose(
            out[name].to_numpy()[mask], reference.transform(observed)[:, 0], rtol=1e-13
        )
        assert out[name].isna().to_numpy().tolist() == (~mask).tolist()


def test_series_scaler_default_matches_standard_scaler_on_complete_data():
    X = _prices().ffill().bfill().to_numpy()
    np.testing.assert_allclose(
        SeriesScaler().fit_transform(X), StandardScaler().fit_transform(X), rtol=1e-12
    )


def test_series_scaler_rejects_non_transformer_and_many_to_many():
    with pytest.raises(TypeError, match="transformer must be a scikit-learn transformer"):
        SeriesScaler("robust").fit(_prices())
    with pytest.raises(ValueError, match="one column to one column"):
        SeriesScaler(PolynomialFeatures(degree=2)).fit(_prices())


class _NoInverse(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def transform(self, X):
        return np.asarray(X) * 2.0


def test_series_scaler_inverse_transform_only_if_inner_has_it():
    assert not hasattr(SeriesScaler(_NoInverse()), "inverse_transform")
    scaler = SeriesScaler(_NoInverse()).fit(np.ones((4, 2)))
    assert not hasattr(scaler, "inverse_transform")
    np.testing.assert_array_equal(scaler.transform(np.ones((2, 2))), 2.0)
    assert hasattr(SeriesScaler(), "inverse_transform")


def test_series_scaler_all_nan_column_at_transform_is_nan():
    scaler = SeriesScaler().fit(_prices())
    X = _prices(seed=2)
    X["BBB"] = np.nan
    out = scaler.transform(X)
    assert out["BBB"].isna().all() and out[["AAA", "CCC"]].notna().sum().sum() > 0


# --------------------------------------------------------------------------------------------
# Shared behaviour
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_dataframe_in_dataframe_out_and_numpy_in_numpy_out(scaler):
    X = _prices(tz="America/New_York")
    fitted = clone(scaler).fit(X)
    for method in ("transform", "inverse_transform"):
        out = getattr(fitted, method)(X if method == "transform" else fitted.transform(X))
        assert isinstance(out, pd.DataFrame)
        pd.testing.assert_index_equal(out.index, X.index)
        pd.testing.assert_index_equal(out.columns, X.columns)
        assert (out.dtypes == np.float64).all()
        pd.testing.assert_frame_equal(out.isna(), X.isna())
    arr = X.to_numpy(dtype=np.float32)
    fitted = clone(scaler).fit(arr)
    out = fitted.transform(arr)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    back = fitted.inverse_transform(out)
    assert isinstance(back, np.ndarray) and back.dtype == np.float64
    np.testing.assert_allclose(back, arr, rtol=1e-6)


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_fit_ignores_nan_rows(scaler):
    X = _prices()
    with_nan = clone(scaler).fit(X)
    a = X[["AAA"]].dropna()
    only_observed = clone(scaler).fit(a)
    np.testing.assert_allclose(
        with_nan.transform(X)[["AAA"]].dropna().to_numpy(),
        only_observed.transform(a).to_numpy(),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_all_nan_column_at_fit_names_column(scaler):
    X = _prices()
    X["BBB"] = np.nan
    with pytest.raises(ValueError, match="column 'BBB' is entirely NaN"):
        clone(scaler).fit(X)
    with pytest.raises(ValueError, match="column 1 is entirely NaN"):
        clone(scaler).fit(X.to_numpy())


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_no_leakage_fit_on_first_part(scaler):
    X = _prices(n=60)
    head, tail = X.iloc[:40], X.iloc[40:]
    fitted = clone(scaler).fit(head)
    reference = clone(scaler).fit(head.copy())
    # transforming the rest neither refits nor uses the rest's statistics
    tail_out = fitted.transform(tail)
    shocked = tail * 10.0  # a regime change after the training period
    fitted.transform(shocked)
    pd.testing.assert_frame_equal(fitted.transform(head), reference.transform(head))
    pd.testing.assert_frame_equal(fitted.transform(tail), tail_out)
    # the tail is transformed with the head's statistics, not re-standardised
    if isinstance(scaler, LogScaler) and scaler.standardize:
        logs = np.log(head.to_numpy())
        head_scale = np.nanstd(logs, 0)
        if scaler.scale_by == "volatility":  # the head's own volatility, checked elsewhere
            head_scale = clone(scaler).fit(head).scale_
        expected = (np.log(tail.to_numpy()) - np.nanmean(logs, 0)) / head_scale
        np.testing.assert_allclose(tail_out.to_numpy(), expected, rtol=1e-12, atol=1e-12)
    if isinstance(scaler, LogScaler) and not scaler.standardize:
        return  # the plain log has no statistics to leak
    whole = clone(scaler).fit(X)
    assert not np.allclose(whole.transform(tail).to_numpy(), tail_out.to_numpy(), equal_nan=True)


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_input_is_not_mutated(scaler):
    for X in (_prices(), _prices().to_numpy()):
        original = copy.deepcopy(X)
        fitted = clone(scaler).fit(X)
        scaled = fitted.transform(X)
        scaled_copy = copy.deepcopy(scaled)
        fitted.inverse_transform(scaled)
        fitted.fit_transform(X)
        if isinstance(X, pd.DataFrame):
            pd.testing.assert_frame_equal(X, original)
            pd.testing.assert_frame_equal(scaled, scaled_copy)
        else:
            np.testing.assert_array_equal(X, original)
            np.testing.assert_array_equal(scaled, scaled_copy)


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_set_output_and_feature_names(scaler):
    X = _prices()
    fitted = clone(scaler).set_output(transform="pandas").fit(X.to_numpy())
    out = fitted.transform(X.to_numpy())
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x0", "x1", "x2"]
    assert list(fitted.get_feature_names_out()) == ["x0", "x1", "x2"]
    fitted = clone(scaler).set_output(transform="pandas").fit(X)
    out = fitted.fit_transform(X)
    pd.testing.assert_index_equal(out.index, X.index)
    assert list(fitted.get_feature_names_out()) == ["AAA", "BBB", "CCC"]
    default = clone(scaler).set_output(transform="default")
    assert isinstance(default.fit(X).transform(X), pd.DataFrame)
    assert isinstance(default.fit(X.to_numpy()).transform(X.to_numpy()), np.ndarray)


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_pipeline_and_clone(scaler):
    X = _prices()
    pipe = make_pipeline(clone(scaler), StandardScaler()).fit(X)
    back = pipe.inverse_transform(pipe.transform(X))
    np.testing.assert_allclose(np.asarray(back), X.to_numpy(), rtol=1e-9)
    cloned = clone(scaler)
    assert cloned.get_params() == scaler.get_params() or isinstance(scaler, SeriesScaler)
    assert not hasattr(cloned, "n_features_in_")


def test_series_scaler_nested_params():
    scaler = SeriesScaler(RobustScaler())
    scaler.set_params(transformer__quantile_range=(10.0, 90.0))
    assert scaler.get_params()["transformer__quantile_range"] == (10.0, 90.0)
    fitted = scaler.fit(_prices())
    assert fitted.transformers_[0].quantile_range == (10.0, 90.0)


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_inverse_transform_checks_columns(scaler):
    X = _prices()
    fitted = clone(scaler).fit(X)
    with pytest.raises(ValueError, match="X has 2 features, but"):
        fitted.inverse_transform(X.iloc[:, :2])
    with pytest.raises(ValueError, match="fitted on columns"):
        fitted.inverse_transform(fitted.transform(X)[["BBB", "AAA", "CCC"]])
    with pytest.raises(ValueError, match="to_frame"):
        fitted.transform(X["AAA"])
    with pytest.raises(NotFittedError):
        clone(scaler).inverse_transform(X)
    with pytest.raises(NotFittedError):
        clone(scaler).transform(X)


@pytest.mark.filterwarnings("ignore:Some values in column 0 of the inverse-transformed:UserWarning")
@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_samples_shaped_like_the_forecaster_uses(scaler):
    X = _prices()
    fitted = clone(scaler).fit(X)
    samples = np.random.default_rng(0).normal(size=(200 * 5, 3))
    prices = fitted.inverse_transform(pd.DataFrame(samples, columns=X.columns))
    assert isinstance(prices, pd.DataFrame) and prices.shape == (1000, 3)
    assert list(prices.columns) == list(X.columns)
    if isinstance(scaler, SeriesScaler) and isinstance(scaler.transformer, PowerTransformer):
        return  # Yeo-Johnson's inverse is undefined beyond a bound for some lambdas (NaN)
    assert np.isfinite(prices.to_numpy()).all()


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_json_serialisation_roundtrip(scaler):
    from tsnode._serialization import from_jsonable, to_jsonable

    X = _prices()
    fitted = clone(scaler).fit(X)
    back = from_jsonable(json.loads(json.dumps(to_jsonable(fitted))))
    pd.testing.assert_frame_equal(back.transform(X), fitted.transform(X), rtol=1e-12)
    pd.testing.assert_frame_equal(
        back.inverse_transform(fitted.transform(X)), X, rtol=1e-10, check_freq=False
    )


# --------------------------------------------------------------------------------------------
# Hypothesis round trips
# --------------------------------------------------------------------------------------------


@st.composite
def positive_frames(draw):
    n_rows = draw(st.integers(1, 25))
    n_cols = draw(st.integers(1, 4))
    values = draw(
        arrays(
            np.float64,
            (n_rows, n_cols),
            elements=st.floats(1e-3, 1e6, allow_nan=False, allow_infinity=False),
        )
    )
    missing = draw(arrays(np.bool_, (n_rows, n_cols)))
    missing[0, :] = False  # every column has at least one observation
    values = np.where(missing, np.nan, values)
    shuffled = draw(st.permutations(range(n_rows)))
    values = values[list(shuffled)]
    index = pd.date_range("2020-01-01", periods=n_rows, freq="D")
    return pd.DataFrame(values, index=index, columns=[f"s{j}" for j in range(n_cols)])


@pytest.mark.parametrize(
    "scaler",
    [
        LogScaler(),
        LogScaler(standardize=False),
        LogScaler(offset=1.0),
        LogScaler(scale_by="volatility"),
        SeriesScaler(),
    ],
    ids=repr,
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=positive_frames())
def test_roundtrip_hypothesis(scaler, frame):
    original = frame.copy()
    fitted = clone(scaler).fit(frame)
    scaled = fitted.transform(frame)
    back = fitted.inverse_transform(scaled)
    pd.testing.assert_frame_equal(frame, original)
    pd.testing.assert_frame_equal(back.isna(), frame.isna())
    # linear scalers are exact up to rounding relative to the column's magnitude
    atol = 1e-12 * np.nanmax(np.abs(frame.to_numpy()), axis=0)
    np.testing.assert_allclose(back.to_numpy(), frame.to_numpy(), rtol=1e-10, atol=atol.max())
    arr = frame.to_numpy()
    arr_fitted = clone(scaler).fit(arr)
    arr_back = arr_fitted.inverse_transform(arr_fitted.transform(arr))
    assert isinstance(arr_back, np.ndarray)
    np.testing.assert_array_equal(np.isnan(arr_back), np.isnan(arr))
    np.testing.assert_allclose(arr_back, arr, rtol=1e-10, atol=atol.max())


# --------------------------------------------------------------------------------------------
# check_monotone
# --------------------------------------------------------------------------------------------


def _crossing_zero():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(50, 2)), columns=["a", "b"])
    frame.iloc[2, 1] = np.nan
    return frame


@pytest.mark.parametrize("scaler", SCALERS, ids=repr)
def test_check_monotone_true_for_increasing_scalers(scaler):
    X = _prices()
    X.iloc[0, 0] = 0.011  # near zero: the grid must not cross zero for the log
    assert check_monotone(clone(scaler).fit(X), X) is True
    assert check_monotone(clone(scaler).fit(X.to_numpy()), X.to_numpy(), n_grid=5) is True


@pytest.mark.parametrize(
    "transformer",
    [
        # not monotone across zero; the second one is decreasing
        FunctionTransformer(np.square, inverse_func=np.sqrt, check_inverse=False),
        FunctionTransformer(np.negative, inverse_func=np.negative, check_inverse=False),
    ],
    ids=["square", "sign-flip"],
)
def test_check_monotone_false_for_non_increasing(transformer):
    X = _crossing_zero()
    assert check_monotone(SeriesScaler(transformer).fit(X), X) is False
    assert check_monotone(clone(transformer).fit(X), X) is False


def test_check_monotone_flat_outside_fitted_range_is_false():
    X = _crossing_zero()
    scaler = SeriesScaler(QuantileTransformer(n_quantiles=20)).fit(X)
    assert check_monotone(scaler, X) is False


def test_check_monotone_one_bad_column_is_enough():
    X = _crossing_zero()
    square_b = FunctionTransformer(
        lambda v: np.column_stack([v[:, 0], v[:, 1] ** 2]), feature_names_out="one-to-one"
    )
    assert check_monotone(square_b.fit(X.to_numpy()), X.to_numpy()) is False


def test_check_monotone_input_errors():
    X = _prices()
    fitted = LogScaler().fit(X)
    with pytest.raises(ValueError, match="n_grid"):
        check_monotone(fitted, X, n_grid=1)
    with pytest.raises(TypeError, match="n_grid"):
        check_monotone(fitted, X, n_grid=2.5)
    with pytest.raises(NotFittedError):
        check_monotone(LogScaler(), X)
    empty = X.copy()
    empty["CCC"] = np.nan
    with pytest.raises(ValueError, match="column 'CCC'"):
        check_monotone(fitted, empty)
    with pytest.raises(ValueError, match="one-to-one"):
        check_monotone(PolynomialFeatures().fit(X.fillna(1.0)), X)


def test_series_scaler_refuses_a_transformer_class():
    # regression: the class passed the check and failed inside sklearn's clone mid-fit
    with pytest.raises(TypeError, match=r"got the class RobustScaler; pass RobustScaler\(\)"):
        SeriesScaler(transformer=RobustScaler).fit(np.ones((5, 2)))


def test_log_scaler_volatility_of_steady_growth_is_no_volatility_at_any_spacing():
    # regression: an hourly series without volatility (steady growth) took its rounding
    # noise, annualised, as the scale (3e-14): scaled values reached 2e10
    for freq in ("D", "h", "min"):
        index = pd.date_range("2024-01-01", periods=200, freq=freq)
        growth = pd.DataFrame({"cash": 100 * np.exp(1e-4 * np.arange(200))}, index=index)
        scaler = LogScaler(scale_by="volatility").fit(growth)
        np.testing.assert_array_equal(scaler.scale_, [1.0])
        assert np.abs(np.asarray(scaler.transform(growth))).max() < 1.0


def test_series_scaler_errors_name_the_column():
    # regression: the inner transformer sees one column of observed values, so its message
    # said "column 0 at row 2" for a zero in column 'BBB' (row 4)
    index = pd.bdate_range("2024-01-01", periods=6)
    frame = pd.DataFrame(
        {"AAA": [1.0, 2, 3, 4, 5, 6], "BBB": [1.0, np.nan, np.nan, 2, 0, 3]}, index=index
    )
    with pytest.raises(ValueError, match=r"SeriesScaler.fit: column 'BBB'.*Zero values"):
        SeriesScaler(LogScaler()).fit(frame)
    scaler = SeriesScaler(LogScaler()).fit(frame.replace(0.0, 1.5))
    with pytest.raises(ValueError, match=r"SeriesScaler.transform: column 'BBB'"):
        scaler.transform(frame)


@pytest.mark.parametrize("scaler", [LogScaler(), SeriesScaler(StandardScaler())])
def test_date_and_duplicate_columns_are_named(scaler):
    # regression: numpy's DTypePromotionError and narwhals' DuplicateError, naming neither
    # the column nor the fix
    good = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 3.0, 4.0]})
    fitted = clone(scaler).fit(good)
    dates = good.assign(b=pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"]))
    twice = good.set_axis(["a", "a"], axis=1)
    for method in (clone(scaler).fit, fitted.transform):
        with pytest.raises(TypeError, match=r"column 'b' of X holds datetime64"):
            method(dates)
        with pytest.raises(ValueError, match=r"duplicate column names \['a'\]"):
            method(twice)


def test_check_monotone_reads_nullable_columns():
    # regression: pd.NA in a 2-column Float64 frame raised pandas' "float() argument must be
    # ... not 'NAType'" though LogScaler fits and transforms such a frame
    X = pd.DataFrame(
        {
            "a": pd.array([1.0, pd.NA, 3.0], dtype="Float64"),
            "b": pd.array([2.0, 3.0, 4.0], dtype="Float64"),
        }
    )
    assert check_monotone(LogScaler().fit(X), X)
