"""Parameters changed after fit, and refits that fail, across every forecaster.

A fitted model keeps the parameters it was built with: ``set_params`` after ``fit`` warns at
predict time, and ``save`` refuses rather than write parameters that would rebuild another
model. A refit that fails, validation included, leaves the forecaster unfitted instead of
still forecasting from the earlier fit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tsnode import EnsembleForecaster
from tsnode._serialization import SerializationError
from tsnode.baselines import DriftForecaster, GBMForecaster, GRUForecaster, NaiveForecaster
from tsnode.datasets import make_gbm
from tsnode.forecaster import TSNodeForecaster

# ensembles of closed-form baselines (quick to fit) warn that their members are identical
pytestmark = pytest.mark.filterwarnings("ignore:the \\d+ members are identical fits:UserWarning")

TSN = dict(
    epochs=1,
    steps_per_epoch=2,
    batch_size=8,
    context_length=10,
    forecast_length=5,
    latent_dim=4,
    hidden_dim=8,
    ode_units=8,
    ode_layers=1,
    n_predict_samples=30,
    progress=False,
    random_state=0,
)
GRU = dict(hidden_size=4, context_length=10, epochs=1, progress=False, random_state=0)


def _prices(n_series: int = 1) -> pd.DataFrame:
    return make_gbm(n_series, n_days=90, random_state=3)


def _forecasters():
    return {
        "naive": NaiveForecaster(),
        "drift": DriftForecaster(),
        "gbm": GBMForecaster(random_state=0),
        "gru": GRUForecaster(**GRU),
        "tsnode": TSNodeForecaster(**TSN),
        "ensemble": EnsembleForecaster(GRUForecaster(**GRU), n_members=2, random_state=0),
    }


@pytest.fixture(scope="module", params=list(_forecasters()))
def name(request) -> str:
    return request.param


def _fitted(name: str):
    return _forecasters()[name].fit(_prices())


def test_a_refit_that_fails_validation_leaves_the_forecaster_unfitted(name):
    model = _fitted(name)
    too_short = _prices(2).iloc[:2]
    with pytest.raises(ValueError):
        model.fit(too_short)
    with pytest.raises(NotFittedError):
        model.predict(1)


@pytest.mark.parametrize(
    "name, bad",
    [("tsnode", {"epochs": 0}), ("gru", {"epochs": 0}), ("ensemble", {"n_members": 0})],
)
def test_a_refit_with_a_bad_parameter_leaves_the_forecaster_unfitted(name, bad):
    model = _fitted(name)
    model.set_params(**bad)
    with pytest.raises(ValueError):
        model.fit(_prices())
    with pytest.raises(NotFittedError):
        model.predict(1)


@pytest.mark.parametrize(
    "name, change",
    [
        ("tsnode", {"time_scale_days": 5.0}),
        ("tsnode", {"solver": "rk4"}),
        ("tsnode", {"latent_dim": 6}),
        ("gru", {"time_scale_days": 5.0}),
        ("gru", {"hidden_size": 8}),
        ("gbm", {"calendar": None, "target": "Open", "random_state": 3}),
        ("drift", {"calendar": None}),  # its drift and volatility are per session
        ("naive", {"calendar": "XLON"}),
        ("ensemble", {"estimator__context_length": 5}),  # the members keep their own
        ("ensemble", {"n_members": 5}),
        ("ensemble", {"estimator__hidden_size": 8}),
    ],
)
def test_a_frozen_parameter_changed_after_fit_warns_and_blocks_save(name, change, tmp_path):
    model = _fitted(name)
    before = model.predict_quantiles(5)
    model.set_params(**change)
    frozen = [k for k in change if k not in type(model)._live_params]
    if not frozen:  # only parameters read at every call: no warning, and save works
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model.predict(2)
        model.save(tmp_path / "m")
        return
    with pytest.warns(UserWarning, match=f"{frozen[0]} \\(fitted with") as record:
        after = model.predict_quantiles(5)
    assert record[0].filename == __file__  # points at the caller
    pd.testing.assert_frame_equal(after, before)  # the fitted model uses the fit-time values
    with pytest.raises(SerializationError, match=f"cannot save .*{frozen[0]} \\(fitted with"):
        model.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_save_works_again_once_the_parameter_is_set_back(tmp_path):
    model = _fitted("tsnode")
    model.set_params(time_scale_days=5.0)
    with pytest.raises(SerializationError):
        model.save(tmp_path / "m")
    model.set_params(time_scale_days=30.0)
    loaded = TSNodeForecaster.load(model.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.predict_quantiles(5), model.predict_quantiles(5))


@pytest.mark.parametrize("name", ["tsnode", "gru"])
def test_a_parameter_read_at_every_call_may_change_and_be_saved(name, tmp_path):
    model = _fitted(name)
    live = {"context_length": 20, "progress": True}
    if name == "tsnode":
        live["n_predict_samples"] = 50
    model.set_params(**live)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = model.predict_quantiles(5)
    loaded = type(model).load(model.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.predict_quantiles(5), expected)
    assert loaded.get_params()["context_length"] == 20


def test_a_refit_adopts_the_changed_parameters():
    model = _fitted("gru")
    model.set_params(time_scale_days=5.0)
    model.fit(_prices())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(2)


@pytest.mark.parametrize("bad", [0, -5])
def test_gru_checks_its_parameters_again_at_predict_and_update(bad):
    model = _fitted("gru")
    model.set_params(context_length=bad)
    with pytest.raises(ValueError, match="context_length"):
        model.predict(2)
    new = make_gbm(1, n_days=95, random_state=3).iloc[90:]
    with pytest.raises(ValueError, match="context_length"):
        model.update(new)


def test_gru_forecasts_in_the_time_scale_it_was_trained_with():
    model = _fitted("gru")
    before = model.sample(5, n_samples=20)
    model.set_params(time_scale_days=5.0)
    with pytest.warns(UserWarning, match="time_scale_days"):
        after = model.sample(5, n_samples=20)
    np.testing.assert_array_equal(after, before)


def test_an_ensemble_keeps_its_template_calendar_and_target_from_fit():
    daily = make_gbm(1, n_days=60, random_state=1)
    every_day = daily.set_axis(pd.date_range(daily.index[0], periods=len(daily), freq="D"))
    model = EnsembleForecaster(NaiveForecaster(calendar=None), n_members=2, random_state=0)
    before = model.fit(every_day).predict(4)
    model.set_params(estimator__calendar="XNYS", estimator__target="Open")
    with pytest.warns(UserWarning, match="estimator__calendar"):
        after = model.predict(4)
    pd.testing.assert_index_equal(after.index, before.index)  # weekends still forecast
    assert model._fitted_param("target") == "Close"


def test_a_calendar_object_and_its_name_are_the_same_parameter(tmp_path):
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecations inside exchange-calendars
        calendar = xcals.get_calendar("XNYS", start="2010-01-04", end="2030-12-31")
    model = NaiveForecaster(calendar=calendar).fit(_prices())
    with pytest.raises(SerializationError, match="calendar='XNYS'"):
        model.save(tmp_path / "m")  # an object cannot be saved: its name is asked for
    model.set_params(calendar="XNYS")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same calendar: not a change since fit
        expected = model.predict_quantiles(3)
    loaded = NaiveForecaster.load(model.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.predict_quantiles(3), expected)


@pytest.mark.parametrize(
    "name, bad",
    [
        ("tsnode", {"epochs": 0}),
        ("tsnode", {"solver": "nope"}),
        ("tsnode", {"validation_fraction": 0.9}),
        ("gru", {"epochs": 0}),
        ("gru", {"device": "meta"}),  # the network stays on its fit-time device
    ],
)
def test_a_bad_frozen_value_set_after_fit_only_warns(name, bad):
    model = _fitted(name)
    before = model.predict_quantiles(3)
    model.set_params(**bad)
    with pytest.warns(UserWarning, match=f"{next(iter(bad))} \\(fitted with"):
        after = model.predict_quantiles(3)
    pd.testing.assert_frame_equal(after, before)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.update(make_gbm(1, n_days=95, random_state=3).iloc[90:])
        model.predict(2)
    with pytest.raises(ValueError):
        model.fit(_prices())  # a refit checks every parameter


def test_reconstruct_warns_about_a_frozen_parameter_changed_after_fit():
    model = _fitted("tsnode")
    model.set_params(latent_dim=6)
    with pytest.warns(UserWarning, match="latent_dim") as record:
        model.reconstruct()
    assert record[0].filename == __file__


def test_setting_the_default_scaler_or_an_equal_pipeline_is_no_change(tmp_path):
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tsnode.preprocessing import LogScaler

    model = _fitted("tsnode")  # scaler=None: LogScaler(scale_by="volatility")
    model.set_params(scaler=LogScaler(scale_by="volatility"))
    assert model._changed_params() == []
    model.save(tmp_path / "default")
    model.set_params(scaler=LogScaler())  # the level scale is another scaler
    assert any(c.startswith("scaler__scale_by") for c in model._changed_params())

    pipeline = make_pipeline(LogScaler(scale_by="volatility"), StandardScaler())
    model = TSNodeForecaster(**TSN, scaler=pipeline).fit(_prices())
    model.set_params(scaler=clone(pipeline))
    assert model._changed_params() == []
    model.save(tmp_path / "pipeline")


@pytest.mark.filterwarnings("ignore:.*never sessions of calendar:UserWarning")
def test_an_ensemble_of_the_default_template_keeps_its_calendar_and_target():
    daily = make_gbm(1, n_days=60, random_state=1)
    every_day = daily.set_axis(pd.date_range(daily.index[0], periods=len(daily), freq="D"))
    model = EnsembleForecaster(n_members=1, random_state=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.set_params(estimator=TSNodeForecaster(**TSN)).fit(every_day)
    model.set_params(estimator=None)  # the default template: TSNodeForecaster()
    with pytest.warns(UserWarning, match="estimator__epochs"):  # TSN's are not the defaults
        before = model.predict(4)
    model.set_params(estimator=TSNodeForecaster(calendar=None, target="Open"))
    with pytest.warns(UserWarning, match="estimator__calendar"):
        after = model.predict(4)
    pd.testing.assert_index_equal(after.index, before.index)  # still XNYS sessions
    assert model._fitted_param("target") == "Close"
    assert model._fitted_param("calendar") == "XNYS"


def test_update_keeps_taking_the_price_field_the_history_was_fitted_on():
    # regression: target was a live parameter, so set_params(target="Open") after a fit on
    # Close made update splice Open prices onto the Close history, in silence (an ensemble
    # kept Close)
    from tsnode.baselines import NaiveForecaster

    index = pd.bdate_range("2024-01-02", periods=30)
    fields = {"Close": 100.0, "Open": 50.0}
    columns = pd.MultiIndex.from_product([list(fields), ["AAA"]], names=["Price", "Ticker"])
    values = np.column_stack([np.linspace(v, v + 5, 30) for v in fields.values()])
    frame = pd.DataFrame(values, index=index, columns=columns)
    model = NaiveForecaster().fit(frame.iloc[:25])
    model.set_params(target="Open")
    model.update(frame.iloc[25:])
    np.testing.assert_allclose(model.last_value_, frame[("Close", "AAA")].iloc[-1:].to_numpy())
    with pytest.warns(UserWarning, match="target \\(fitted with 'Close'"):
        model.predict(2)
