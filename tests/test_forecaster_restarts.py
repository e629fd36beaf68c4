"""TSNodeForecaster(n_init=...): independent restarts, the lowest validation loss is kept."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

import tsnode.training as training_module
from tests.test_forecaster import FIT_END, PARAMS, make_prices
from tsnode.forecaster import TSNodeForecaster
from tsnode.training import TrainingConfig, TrainingError, cuda_devices, validation_loss


@pytest.fixture(scope="module")
def train():
    return make_prices().loc[:FIT_END]


@pytest.fixture(scope="module")
def single(train) -> TSNodeForecaster:
    return TSNodeForecaster(**PARAMS).fit(train)


@pytest.fixture(scope="module")
def three(train) -> TSNodeForecaster:
    return TSNodeForecaster(**PARAMS, n_init=3).fit(train)


def held_back_loss(model: TSNodeForecaster, train) -> float:
    """The kept model's loss on the forecaster's own validation windows."""
    batches = model._validation_batches(model._split(model._scaled_series(train))[1])
    config = TrainingConfig(n_samples=model.n_samples_train, progress=False)
    return validation_loss(model.model_, batches, config)


def test_single_fit_records_its_validation_loss(single, train):
    assert len(single.restart_losses_) == 1
    assert single.restart_losses_[0] == pytest.approx(held_back_loss(single, train), rel=1e-6)


def test_restarts_keep_the_lowest_validation_loss(three, train):
    losses = three.restart_losses_
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    assert len(set(losses)) == 3  # independent initialisations
    assert held_back_loss(three, train) == pytest.approx(min(losses), rel=1e-6)


def test_restart_zero_is_the_plain_fit(single, three):
    # Raising n_init never keeps a model with a higher validation loss than n_init=1's.
    assert three.restart_losses_[0] == single.restart_losses_[0]
    assert min(three.restart_losses_) <= single.restart_losses_[0]


def test_restarts_are_reproducible(three, train):
    again = TSNodeForecaster(**PARAMS, n_init=3).fit(train)
    assert again.restart_losses_ == three.restart_losses_
    np.testing.assert_array_equal(
        again.predict_quantiles(5, quantiles=[0.1, 0.5, 0.9]).to_numpy(),
        three.predict_quantiles(5, quantiles=[0.1, 0.5, 0.9]).to_numpy(),
    )


def test_restarts_without_validation_data_are_ranked_on_training_windows(train):
    model = TSNodeForecaster(**PARAMS, n_init=2, validation_fraction=0.0).fit(train)
    assert len(model.restart_losses_) == 2
    assert all(math.isfinite(v) for v in model.restart_losses_)
    assert all(math.isnan(v) for v in model.history_["val_loss"])
    plain = TSNodeForecaster(**PARAMS, validation_fraction=0.0).fit(train)
    assert len(plain.restart_losses_) == 1 and math.isnan(plain.restart_losses_[0])


def test_a_failed_restart_is_skipped_with_a_warning(train, monkeypatch):
    real, calls = training_module.train_latent_ode, []

    def flaky(model, draw_batch, val_batches, config, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise TrainingError("The training loss became nan at epoch 0")
        return real(model, draw_batch, val_batches, config, **kwargs)

    monkeypatch.setattr("tsnode.forecaster.train_latent_ode", flaky)
    with pytest.warns(RuntimeWarning, match="Restart 1 of n_init=2 failed and is skipped") as rec:
        model = TSNodeForecaster(**PARAMS, n_init=2).fit(train)
    assert rec[0].filename == __file__  # regression: pointed at forecaster.py
    assert math.isnan(model.restart_losses_[0]) and math.isfinite(model.restart_losses_[1])
    assert model.predict(3).notna().all().all()


def test_every_restart_failing_leaves_the_model_unfitted(train, monkeypatch):
    def broken(*args, **kwargs):
        raise TrainingError("The training loss became nan at epoch 0")

    monkeypatch.setattr("tsnode.forecaster.train_latent_ode", broken)
    model = TSNodeForecaster(**PARAMS, n_init=2)
    with pytest.warns(RuntimeWarning, match="failed and is skipped"):
        with pytest.raises(TrainingError, match="became nan"):
            model.fit(train)
    assert not hasattr(model, "model_") and not hasattr(model, "restart_losses_")


def test_n_init_is_a_cloneable_parameter():
    model = TSNodeForecaster(n_init=4)
    assert model.get_params()["n_init"] == 4 and clone(model).n_init == 4
    assert TSNodeForecaster().n_init == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_bad_n_init_is_refused_by_name(train, bad):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((ValueError, TypeError), match=r"n_init must be an int >= 1, got"):
            TSNodeForecaster(**PARAMS, n_init=bad).fit(train)


def test_save_and_load_keep_the_restart_losses(three, tmp_path):
    loaded = TSNodeForecaster.load(three.save(tmp_path / "m"))
    assert loaded.n_init == 3
    assert loaded.restart_losses_ == pytest.approx(three.restart_losses_, rel=0, abs=0)
    np.testing.assert_array_equal(
        loaded.predict_quantiles(5, quantiles=[0.5]).to_numpy(),
        three.predict_quantiles(5, quantiles=[0.5]).to_numpy(),
    )


def test_fit_leaves_the_global_torch_generator_alone(train):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    TSNodeForecaster(**PARAMS, n_init=2).fit(train)
    assert torch.equal(torch.get_rng_state(), before)


def test_cuda_devices_lists_only_gpus():
    assert cuda_devices("cpu") == [] and cuda_devices(torch.device("cpu")) == []
    assert cuda_devices("cuda:1") == [1]  # an explicit index needs no GPU to resolve
    if torch.cuda.is_available():
        assert cuda_devices("cuda:0") == [0]


def test_save_and_load_keep_a_nan_restart_loss(train, tmp_path):
    plain = TSNodeForecaster(**PARAMS, validation_fraction=0.0).fit(train)
    loaded = TSNodeForecaster.load(plain.save(tmp_path / "nan"))
    assert len(loaded.restart_losses_) == 1 and math.isnan(loaded.restart_losses_[0])


def test_a_save_from_before_n_init_still_loads(three, tmp_path):
    path = three.save(tmp_path / "old")
    config = json.loads((path / "config.json").read_text())
    del config["restart_losses_"], config["params"]["__dict__"]["n_init"]
    (path / "config.json").write_text(json.dumps(config))
    loaded = TSNodeForecaster.load(path)
    assert loaded.n_init == 1 and not hasattr(loaded, "restart_losses_")
    np.testing.assert_array_equal(
        loaded.predict_quantiles(5, quantiles=[0.5]).to_numpy(),
        three.predict_quantiles(5, quantiles=[0.5]).to_numpy(),
    )


def test_validation_windows_are_spread_over_every_series(monkeypatch):
    # regression (scale audit): the first 512 windows (listed series by series) were kept, so
    # with 300 long series early stopping and n_init ranking saw only the first 11
    monkeypatch.setattr("tsnode.forecaster.make_batch", lambda windows: windows)
    model = TSNodeForecaster(batch_size=64)
    kept = [w for batch in model._validation_batches(list(range(15_000))) for w in batch]
    assert len(kept) == 512 and kept[0] == 0 and kept[-1] == 14_999
    assert np.ptp(np.diff(kept)) <= 1  # evenly spaced
    few = [w for batch in model._validation_batches(list(range(100))) for w in batch]
    assert few == list(range(100))  # all of them when there are few


def test_a_skipped_restart_inside_a_backtest_or_compare_warns_at_the_callers_line(
    train, monkeypatch
):
    # regression: the first frame outside tsnode was joblib's (folds run through Parallel
    # even with n_jobs=1), so the warning pointed into joblib and compare did not name the
    # models
    from tsnode import backtest, compare

    real, calls = training_module.train_latent_ode, []

    def flaky(model, draw_batch, val_batches, config, **kwargs):
        calls.append(1)
        if len(calls) % 2 == 1:
            raise TrainingError("The training loss became nan at epoch 0")
        return real(model, draw_batch, val_batches, config, **kwargs)

    monkeypatch.setattr("tsnode.forecaster.train_latent_ode", flaky)
    model = TSNodeForecaster(**PARAMS, n_init=2)
    kw = dict(horizon=2, initial_window=len(train) - 3, step=5, progress=False)
    with pytest.warns(RuntimeWarning, match="Restart 1 of n_init=2 failed") as rec:
        backtest(model, train, **kw)
    assert {r.filename for r in rec if "Restart" in str(r.message)} == {__file__}
    with pytest.warns(RuntimeWarning, match=r"failed and is skipped.*\[compare: model 'ts'\]"):
        compare({"ts": model}, train, baseline=None, **kw)


def test_a_diverged_kept_model_warns_even_when_an_earlier_epoch_was_fine():
    # regression (audit): validation losses 2.5e6, 15.4, 6.9, 1.3e3, 6e6 all in the KL
    # warm-up, so the last weights (6e6) were kept; the warning looked at the best epoch
    # (6.9) and said nothing, while the 1-day 90% interval spanned 82% of the price
    import tsnode

    model = TSNodeForecaster(
        **dict(
            PARAMS,
            learning_rate=0.5,
            epochs=5,
            steps_per_epoch=5,
            batch_size=8,
            n_predict_samples=50,
        )
    )
    with pytest.warns(RuntimeWarning, match="the kept model's validation loss is"):
        model.fit(tsnode.load_sample("AAPL"))
    assert min(model.history_["val_loss"]) < 100 < model.restart_losses_[0]


def test_without_validation_the_divergence_check_reads_the_last_epoch(monkeypatch):
    # regression (review): with validation_fraction=0 and n_init=1 training keeps the last
    # epoch's weights, but the check read the best epoch's training loss: losses 2, 1.5, 6e6
    # gave no warning
    calls = []
    monkeypatch.setattr("tsnode.forecaster.warn_if_diverged", lambda *a, **k: calls.append(k))
    TSNodeForecaster(**dict(PARAMS, validation_fraction=0.0, epochs=1)).fit(make_prices())
    assert calls[-1]["final"] is True
    from tsnode._forecaster_params import warn_if_diverged

    est = TSNodeForecaster(validation_fraction=0.0)
    history = {"loss": [2.0, 1.5, 6e6], "val_loss": [math.nan] * 3}
    with pytest.warns(RuntimeWarning, match="the final training loss is 6e\\+06"):
        warn_if_diverged(est, history, kept_losses=[math.nan], final=True)
