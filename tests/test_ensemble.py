"""EnsembleForecaster: a seed mixture of forecasters (issue #8's variance lever)."""

from __future__ import annotations

import json
import shutil
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from tsnode import EnsembleForecaster
from tsnode._serialization import SerializationError
from tsnode.base import BaseForecaster
from tsnode.baselines import GBMForecaster, NaiveForecaster
from tsnode.datasets import make_gbm
from tsnode.forecaster import TSNodeForecaster

# ensembles of closed-form baselines (quick to fit) warn that their members are identical
pytestmark = pytest.mark.filterwarnings("ignore:the \\d+ members are identical fits:UserWarning")

PARAMS = dict(
    epochs=1,
    steps_per_epoch=2,
    batch_size=8,
    context_length=20,
    forecast_length=5,
    latent_dim=4,
    hidden_dim=8,
    ode_units=16,
    n_predict_samples=30,
    progress=False,
)


def _prices() -> pd.DataFrame:
    y = make_gbm(2, n_days=80, drop_fraction=0.1, random_state=5)
    y.iloc[10:14, 1] = np.nan
    return y


def _ensemble(**kwargs) -> EnsembleForecaster:
    options = dict(n_members=3, random_state=0, progress=False)
    options.update(kwargs)
    return EnsembleForecaster(TSNodeForecaster(**PARAMS), **options)


@pytest.fixture(scope="module")
def fitted() -> EnsembleForecaster:
    return _ensemble().fit(_prices())


def test_init_only_stores_parameters_and_clones():
    template = TSNodeForecaster(**PARAMS)
    model = EnsembleForecaster(template, n_members=5, random_state=3)
    assert model.estimator is template
    assert model.get_params(deep=False) == {
        "estimator": template,
        "n_members": 5,
        "random_state": 3,
        "n_jobs": None,
        "progress": True,
    }
    copy = clone(model)
    assert copy.get_params()["estimator__latent_dim"] == 4
    assert not hasattr(template, "model_")  # the template itself is never fitted


def test_members_differ_only_in_their_seed(fitted):
    assert len(fitted.members_) == 3
    assert len(set(fitted.member_seeds_)) == 3
    for member, seed in zip(fitted.members_, fitted.member_seeds_, strict=True):
        params = member.get_params(deep=False)
        assert params["random_state"] == seed
        assert params["progress"] is False
        assert params["latent_dim"] == 4
    # Different seeds give different forecasts.
    medians = [m.predict(5).to_numpy() for m in fitted.members_]
    assert not np.allclose(medians[0], medians[1])


def test_each_member_equals_a_single_model_with_its_seed(fitted):
    seed = fitted.member_seeds_[1]
    single = TSNodeForecaster(**PARAMS, random_state=seed).fit(_prices())
    pd.testing.assert_frame_equal(fitted.members_[1].predict(5), single.predict(5))


def test_samples_pool_every_member_evenly(fitted):
    n = 7
    pooled = fitted.sample(5, n_samples=n)
    assert pooled.shape == (n, 5, 2)
    # 7 paths over 3 members: 3 from one of them (drawn at random), 2 from each other one
    got = sorted(map(tuple, pooled.reshape(n, -1).round(10)))
    splits = [(3, 2, 2), (2, 3, 2), (2, 2, 3)]
    wants = []
    for split in splits:
        expected = [m.sample(5, c) for m, c in zip(fitted.members_, split, strict=True)]
        wants.append(sorted(map(tuple, np.concatenate(expected).reshape(n, -1).round(10))))
    assert got in wants


def test_quantiles_are_those_of_the_mixture(fitted):
    q = fitted.predict_quantiles(5, quantiles=(0.1, 0.5, 0.9))
    n = fitted._n_quantile_samples()
    assert n == 3 * PARAMS["n_predict_samples"]
    pooled = np.concatenate([m.sample(5, PARAMS["n_predict_samples"]) for m in fitted.members_])
    expected = np.quantile(pooled, [0.1, 0.5, 0.9], axis=0)  # (Q, H, N)
    got = q.to_numpy().reshape(5, 2, 3)
    np.testing.assert_allclose(got, np.moveaxis(expected, 0, -1), rtol=1e-12, atol=1e-9)
    median = q.xs(0.5, axis=1, level="quantile")
    np.testing.assert_allclose(fitted.predict(5).to_numpy(), median.to_numpy(), rtol=1e-12)


def test_reproducible_with_random_state(fitted):
    again = _ensemble().fit(_prices())
    assert again.member_seeds_ == fitted.member_seeds_
    pd.testing.assert_frame_equal(again.predict_quantiles(5), fitted.predict_quantiles(5))
    np.testing.assert_array_equal(again.sample(3, 10), fitted.sample(3, 10))
    other = _ensemble(random_state=1).fit(_prices())
    assert other.member_seeds_ != fitted.member_seeds_


def test_another_random_state_after_fit_gives_other_draws(fitted):
    # regression: with an int random_state the members always drew with their fit-time
    # seeds, so set_params(random_state=k) only reshuffled the same paths
    model = fitted
    original = model.sample(3, 12)
    quantiles = model.predict_quantiles(3)
    try:
        model.set_params(random_state=1)
        other = model.sample(3, 12)
        assert not np.isin(other, original).all()  # new paths, not the old ones reshuffled
        np.testing.assert_array_equal(model.sample(3, 12), other)  # an int: reproducible
        model.set_params(random_state=None)
        fresh = [model.reconstruct().to_numpy() for _ in range(2)]
        assert not np.array_equal(*fresh)  # None: fresh draws, reconstruct included
    finally:
        model.set_params(random_state=0)
    np.testing.assert_array_equal(model.sample(3, 12), original)  # back as fitted
    pd.testing.assert_frame_equal(model.predict_quantiles(3), quantiles)


def test_the_templates_seed_and_progress_may_change_after_fit(tmp_path):
    # regression: members are seeded from member_seeds_ and never show bars, yet changing
    # the template's random_state or progress warned and blocked save
    model = _ensemble(n_members=2).fit(_prices())
    model.set_params(estimator__random_state=5, estimator__progress=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(2)
        model.save(tmp_path / "ensemble")


# loky's reused executor may retire an idle worker while jobs are queued; it restarts it.
@pytest.mark.filterwarnings("ignore:A worker stopped while some jobs:UserWarning")
def test_parallel_fit_equals_sequential(fitted, capsys):
    parallel = _ensemble(n_jobs=2, progress=True).fit(_prices())
    pd.testing.assert_frame_equal(parallel.predict_quantiles(5), fitted.predict_quantiles(5))
    assert parallel.member_seeds_ == fitted.member_seeds_
    assert "tsnode ensemble" in capsys.readouterr().err  # the bar works in parallel too


def test_progress_bar_can_be_turned_off(capsys):
    _ensemble(n_members=2, progress=False).fit(_prices())
    assert "tsnode ensemble" not in capsys.readouterr().err
    _ensemble(n_members=2, progress=True).fit(_prices())
    assert "tsnode ensemble" in capsys.readouterr().err


def test_single_member_is_a_single_model():
    model = _ensemble(n_members=1).fit(_prices())
    single = TSNodeForecaster(**PARAMS, random_state=model.member_seeds_[0]).fit(_prices())
    pd.testing.assert_frame_equal(model.predict_quantiles(5), single.predict_quantiles(5))


def test_update_conditions_every_member():
    y = _prices()
    model = _ensemble(n_members=2).fit(y.iloc[:70])
    model.update(y.iloc[70:])
    assert model.last_timestamp_ == y.index[-1]
    for member in model.members_:
        assert member.last_timestamp_ == y.index[-1]
    assert model.predict(3).index[0] > y.index[-1]


def test_reconstruct_is_the_median_of_the_pooled_member_draws(fitted):
    prices = _prices()
    got = fitted.reconstruct()
    pooled = np.concatenate([m._reconstruction_samples(None)[0] for m in fitted.members_])
    assert pooled.shape == (3 * PARAMS["n_predict_samples"], len(prices), 2)
    np.testing.assert_array_equal(got.to_numpy(), np.median(pooled, axis=0))
    pd.testing.assert_index_equal(got.index, fitted.y_.index)
    assert list(got.columns) == list(prices.columns)
    assert np.isfinite(got.to_numpy()).all()  # missing values are filled
    pd.testing.assert_frame_equal(fitted.reconstruct(), got)  # reproducible
    subset = prices.index[20:25]
    pd.testing.assert_index_equal(fitted.reconstruct(subset).index, subset)


def test_reconstruct_of_one_member_is_that_member_s():
    model = _ensemble(n_members=1).fit(_prices())
    pd.testing.assert_frame_equal(model.reconstruct(), model.members_[0].reconstruct())


def test_reconstruct_errors_are_explained(fitted):
    with pytest.raises(NotFittedError):
        _ensemble().reconstruct()
    with pytest.raises(TypeError, match="index must be a pandas DatetimeIndex"):
        fitted.reconstruct(["2020-01-01"])
    gbm = EnsembleForecaster(GBMForecaster(), n_members=2, random_state=0, progress=False)
    with pytest.raises(TypeError, match="GBMForecaster members cannot reconstruct"):
        gbm.fit(_prices()).reconstruct()


def test_input_is_not_mutated():
    y = _prices()
    before = y.copy()
    _ensemble(n_members=2).fit(y)
    pd.testing.assert_frame_equal(y, before)


def test_target_and_calendar_follow_the_template():
    model = EnsembleForecaster(TSNodeForecaster(target="High", calendar=None))
    assert model.target == "High"
    assert model.calendar is None
    default = EnsembleForecaster()
    assert default.target == "Close" and default.calendar == "XNYS"


def test_default_template_is_tsnode():
    assert isinstance(EnsembleForecaster()._template(), TSNodeForecaster)


def test_works_with_other_seeded_forecasters():
    model = EnsembleForecaster(GBMForecaster(), n_members=2, random_state=0, progress=False)
    out = model.fit(_prices()).predict_interval(4, coverage=0.8)
    assert out.shape == (4, 4)
    assert np.isfinite(out.to_numpy()).all()


def test_predict_before_fit_raises():
    with pytest.raises(NotFittedError):
        _ensemble().predict(3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_members": 0}, ValueError, "n_members must be an int >= 1, got 0"),
        ({"n_members": 2.5}, TypeError, "n_members must be an int >= 1, got 2.5"),
        ({"n_members": True}, TypeError, "n_members must be an int >= 1, got True"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be a non-zero int or None, got 0"),
        ({"n_jobs": "2"}, TypeError, "n_jobs must be a non-zero int or None"),
        ({"progress": "yes"}, TypeError, "progress must be True or False"),
        ({"random_state": -1}, ValueError, "random_state must be a non-negative int"),
    ],
)
def test_bad_parameters_are_explained(kwargs, error, match):
    with pytest.raises(error, match=match):
        _ensemble(**kwargs).fit(_prices())


class Unseeded(BaseForecaster):
    """A deterministic forecaster: every member would be the same."""

    def _fit(self, frame):
        self.last_ = frame.ffill().iloc[-1].to_numpy()

    def _sample(self, index, n_samples):
        return np.broadcast_to(self.last_, (n_samples, len(index), len(self.last_))).copy()


def test_bad_estimators_are_explained():
    with pytest.raises(TypeError, match="estimator must be a tsnode forecaster.*got 'model'"):
        EnsembleForecaster("model").fit(_prices())
    with pytest.raises(ValueError, match="Unseeded has no random_state parameter"):
        EnsembleForecaster(Unseeded()).fit(_prices())


def test_bad_data_is_explained_before_any_fit():
    with pytest.raises(ValueError, match="empty"):
        _ensemble().fit(pd.DataFrame())


def test_save_load_round_trip(fitted, tmp_path):
    path = fitted.save(tmp_path / "ens")
    assert sorted(p.name for p in path.iterdir()) == [
        "ensemble.json",
        "member_0",
        "member_1",
        "member_2",
    ]
    loaded = EnsembleForecaster.load(path)
    assert loaded.member_seeds_ == fitted.member_seeds_
    assert loaded.get_params()["estimator__latent_dim"] == 4
    pd.testing.assert_frame_equal(loaded.predict_quantiles(5), fitted.predict_quantiles(5))
    np.testing.assert_array_equal(loaded.sample(4, 9), fitted.sample(4, 9))


class SeededWithoutSave(Unseeded):
    """A seeded forecaster whose class has no save/load."""

    def __init__(self, random_state=None):
        self.random_state = random_state


def test_save_needs_members_with_load(tmp_path):
    model = EnsembleForecaster(SeededWithoutSave(), n_members=2, random_state=0, progress=False)
    model.fit(_prices())
    with pytest.raises(TypeError, match="SeededWithoutSave members cannot be saved.*GBMForecaster"):
        model.save(tmp_path / "unsaveable")
    assert not (tmp_path / "unsaveable").exists()


def test_saving_over_another_kind_of_save_removes_the_old_one(fitted, tmp_path):
    # regression: an ensemble saved over a single model (or a baseline over an ensemble)
    # left the old config, so the old class still loaded the old model from the directory
    path = tmp_path / "model"
    fitted.members_[0].save(path)
    fitted.save(path)
    with pytest.raises(SerializationError, match="holds a saved EnsembleForecaster"):
        TSNodeForecaster.load(path)
    GBMForecaster().fit(_prices()).save(path)
    with pytest.raises(
        SerializationError, match=r"holds a saved GBMForecaster.*GBMForecaster\.load"
    ):
        EnsembleForecaster.load(path)
    assert isinstance(GBMForecaster.load(path), GBMForecaster)


def test_load_rejects_missing_or_tampered_files(fitted, tmp_path):
    with pytest.raises(SerializationError, match="ensemble.json is missing"):
        EnsembleForecaster.load(tmp_path / "nothing")
    path = fitted.save(tmp_path / "ens")
    config = path / "ensemble.json"
    config.write_text("{not json")
    with pytest.raises(SerializationError, match="not valid JSON"):
        EnsembleForecaster.load(path)
    config.write_text(json.dumps({"format": 1, "class": "TSNodeForecaster"}))
    with pytest.raises(SerializationError, match="does not describe a saved EnsembleForecaster"):
        EnsembleForecaster.load(path)
    config.write_text(json.dumps({"format": 99, "class": "EnsembleForecaster"}))
    with pytest.raises(SerializationError, match="unsupported save format 99"):
        EnsembleForecaster.load(path)
    tampered = {"format": 1, "class": "EnsembleForecaster", "params": {"__dict__": {}}}
    config.write_text(json.dumps(dict(tampered, member_seeds=[1])))
    with pytest.raises(SerializationError, match="lists 1 member seeds for n_members=3"):
        EnsembleForecaster.load(path)


def test_load_refuses_classes_outside_tsnode(fitted, tmp_path):
    path = fitted.save(tmp_path / "ens")
    config = json.loads((path / "ensemble.json").read_text())
    config["params"]["__dict__"]["estimator"]["__estimator__"] = "subprocess.Popen"
    (path / "ensemble.json").write_text(json.dumps(config))
    with pytest.raises(SerializationError, match="refusing to load class 'subprocess.Popen'"):
        EnsembleForecaster.load(path)


@pytest.fixture(scope="module")
def gbm_ensembles() -> dict[int, EnsembleForecaster]:
    return {
        n: EnsembleForecaster(GBMForecaster(), n_members=n, random_state=n, progress=False).fit(
            _prices()
        )
        for n in (1, 2, 5)
    }


@settings(max_examples=25, deadline=None)
@given(
    n_members=st.sampled_from([1, 2, 5]), n_samples=st.integers(1, 40), horizon=st.integers(1, 6)
)
def test_pooled_samples_have_the_requested_shape_for_any_split(
    gbm_ensembles, n_members, n_samples, horizon
):
    model = gbm_ensembles[n_members]
    paths = model.sample(horizon, n_samples=n_samples)
    assert paths.shape == (n_samples, horizon, 2)
    assert np.isfinite(paths).all() and (paths > 0).all()
    np.testing.assert_array_equal(paths, model.sample(horizon, n_samples=n_samples))


def test_an_unsaveable_parameter_writes_nothing(tmp_path):
    model = EnsembleForecaster(NaiveForecaster(), n_members=2, random_state=0, progress=False)
    model.fit(_prices())
    model.n_jobs = object()  # not a JSON value: refused before any member is written
    with pytest.raises(SerializationError):
        model.save(tmp_path / "half")
    assert not (tmp_path / "half").exists()


def test_a_generator_random_state_is_saved_as_none(tmp_path):
    model = EnsembleForecaster(
        NaiveForecaster(), n_members=2, random_state=np.random.default_rng(0), progress=False
    )
    model.fit(_prices())
    loaded = EnsembleForecaster.load(model.save(tmp_path / "gen"))
    assert loaded.random_state is None and loaded.member_seeds_ == model.member_seeds_
    for m in (loaded, model):  # a Generator or None draws afresh; an int seed repeats
        m.set_params(random_state=5)
    pd.testing.assert_frame_equal(loaded.predict_quantiles(3), model.predict_quantiles(3))


def test_load_refuses_members_that_do_not_belong_together(fitted, tmp_path):
    # regression: a member fitted on other series loaded, then predict failed inside numpy;
    # non-integer seeds were truncated silently
    path = fitted.save(tmp_path / "ens")
    other = clone(fitted.members_[0]).fit(_prices().iloc[:, :1])  # other series
    shutil.rmtree(path / "member_1")
    other.save(path / "member_1")
    with pytest.raises(SerializationError, match="member_1 does not belong to the ensemble"):
        EnsembleForecaster.load(path)
    path = fitted.save(tmp_path / "seeds")
    config = json.loads((path / "ensemble.json").read_text())
    config["member_seeds"] = [1.7, 2.2, 3.0]
    (path / "ensemble.json").write_text(json.dumps(config))
    with pytest.raises(SerializationError, match="'member_seeds' must be integers"):
        EnsembleForecaster.load(path)


def test_an_ensemble_of_a_template_with_a_generator_seed_can_be_saved(tmp_path):
    # regression: the template's Generator random_state (never used by the members, which
    # get integer seeds) made the ensemble unsaveable
    from tsnode.baselines import GRUForecaster

    template = GRUForecaster(
        epochs=1, context_length=10, progress=False, random_state=np.random.default_rng(0)
    )
    model = EnsembleForecaster(template, n_members=2, random_state=0, progress=False)
    model.fit(_prices())
    loaded = EnsembleForecaster.load(model.save(tmp_path / "gru-ens"))
    assert loaded.estimator.random_state is None and loaded.member_seeds_ == model.member_seeds_
    pd.testing.assert_frame_equal(loaded.predict_quantiles(3), model.predict_quantiles(3))


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_members_warnings_reach_the_callers_line_also_from_worker_processes(n_jobs):
    # regression: with n_jobs=2 a member's "training failed" warning only reached the
    # worker's stderr; sequentially it pointed into tsnode
    template = TSNodeForecaster(**dict(PARAMS, learning_rate=1e3))
    model = EnsembleForecaster(template, n_members=2, random_state=0, n_jobs=n_jobs)
    with pytest.warns(RuntimeWarning, match="training failed to fit") as record:
        model.set_params(progress=False).fit(_prices())
    if n_jobs == 2:  # re-issued at the caller's line
        assert {r.filename for r in record if "training failed" in str(r.message)} == {__file__}


def test_sample_draws_afresh_without_an_int_seed(fitted):
    # regression: members kept their fixed seeds, so random_state=None (or a Generator)
    # returned the same paths, reordered, at every call
    model = clone(fitted)  # unfitted copy for its parameters only: reuse the fitted members
    model.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    for state in (None, np.random.default_rng(0)):
        model.set_params(random_state=state)
        first, second = model.sample(3, n_samples=30), model.sample(3, n_samples=30)
        assert not np.array_equal(np.sort(first, axis=0), np.sort(second, axis=0))
    model.set_params(random_state=0)  # an int seed: reproducible
    np.testing.assert_array_equal(model.sample(3, n_samples=30), model.sample(3, n_samples=30))


def test_fewer_paths_than_members_come_from_random_members(fitted):
    # regression: the first n % n_members members drew the extra paths, so sample(h, 1) was
    # always member 0's path, not a draw from the mixture
    model = clone(fitted)
    model.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    firsts = set()
    for seed in range(12):
        path = model.set_params(random_state=seed).sample(3, n_samples=1)
        firsts.add(tuple(np.round(path.ravel(), 9)))
    assert len(firsts) > 1


class _WarnsThenFails(GBMForecaster):
    def __init__(self, fail_seed=-1, random_state=None):
        super().__init__(random_state=random_state)
        self.fail_seed = fail_seed

    def _fit(self, frame):
        warnings.warn(f"member {self.random_state} is shaky", UserWarning, stacklevel=2)
        if self.random_state == self.fail_seed:
            time.sleep(2.0)  # the other member has finished and been collected by then
            raise ValueError("a member failed")
        return super()._fit(frame)


def test_a_failing_member_keeps_the_warnings_of_the_members_before_it():
    # regression (review): only the failing member's recorded warnings were re-issued
    model = EnsembleForecaster(_WarnsThenFails(), n_members=2, random_state=0, n_jobs=2)
    first, second = model._rng().integers(0, 2**31 - 1, size=2)
    model.set_params(estimator=_WarnsThenFails(fail_seed=int(second)), progress=False)
    with pytest.warns(UserWarning) as record:
        with pytest.raises(ValueError, match="a member failed"):
            model.fit(_prices())
    texts = {str(r.message) for r in record}
    assert {f"member {first} is shaky", f"member {second} is shaky"} <= texts


def test_a_subclass_with_a_required_argument_still_forecasts():
    # regression (review): checking the live parameters built type(self)(**live)
    class Tagged(TSNodeForecaster):
        def __init__(self, tag, **kwargs):
            super().__init__(**kwargs)
            self.tag = tag

    assert Tagged("x", **PARAMS).fit(_prices()).predict(2).shape == (2, 2)


def test_an_interrupted_update_changes_no_member(fitted, monkeypatch):
    # regression (scale audit): a Ctrl-C in the second member's update left the first one
    # ahead: predict, a retried update and load of a save all failed afterwards
    model = clone(fitted)
    model.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    before = model.predict_quantiles(3)
    new = make_gbm(2, n_days=95, random_state=0).iloc[90:].set_axis(model.columns_, axis=1)
    new.index = pd.bdate_range(model.last_timestamp_ + pd.Timedelta(days=1), periods=5)
    calls, original = [], TSNodeForecaster._update

    def interrupted(self, frame):
        calls.append(1)
        if len(calls) == 2:  # the second member
            raise KeyboardInterrupt
        return original(self, frame)

    monkeypatch.setattr(TSNodeForecaster, "_update", interrupted, raising=True)
    with pytest.raises(KeyboardInterrupt):
        model.update(new)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(model.predict_quantiles(3), before)
    assert {m.last_timestamp_ for m in model.members_} == {model.last_timestamp_}
    model.update(new)  # a retry works
    assert {m.last_timestamp_ for m in model.members_} == {new.index[-1]}


def test_a_refused_save_keeps_the_save_it_would_have_replaced(tmp_path):
    # regression (review): the old ensemble.json was removed before the refusal
    y = _prices()
    first = EnsembleForecaster(NaiveForecaster(), n_members=2, random_state=0, progress=False)
    path = first.fit(y).save(tmp_path / "ens")
    renamed = y.set_axis(y.index.rename(("date", 1)), axis=0)
    second = EnsembleForecaster(NaiveForecaster(), n_members=2, random_state=1, progress=False)
    with pytest.raises(SerializationError, match="index name"):
        second.fit(renamed).save(path)
    loaded = EnsembleForecaster.load(path)
    pd.testing.assert_frame_equal(loaded.predict_quantiles(3), first.predict_quantiles(3))


def test_nested_parameters_need_an_estimator():
    # regression (audit): AttributeError: 'NoneType' object has no attribute 'set_params'
    with pytest.raises(ValueError, match=r"cannot set estimator__epochs while estimator=None"):
        EnsembleForecaster().set_params(estimator__epochs=3)
    both = EnsembleForecaster().set_params(estimator=TSNodeForecaster(), estimator__epochs=3)
    assert both.estimator.epochs == 3


@pytest.mark.filterwarnings("default")
def test_identical_baseline_members_warn_and_give_their_exact_quantiles():
    # regression: Naive/GBM members are identical fits (random_state only seeds sampling), and
    # the mixture's quantiles were estimated from 3 x 1000 pooled samples: the median of a
    # Naive ensemble was not the last price
    prices = _prices()
    with pytest.warns(UserWarning, match="the 3 members are identical fits: NaiveForecaster"):
        model = EnsembleForecaster(NaiveForecaster(), n_members=3, random_state=0)
        model.set_params(progress=False).fit(prices)
    single = NaiveForecaster().fit(prices)
    pd.testing.assert_frame_equal(model.predict_quantiles(3), single.predict_quantiles(3))
    last = prices.ffill().iloc[-1].to_numpy()
    np.testing.assert_array_equal(model.predict(3).to_numpy()[0], last)
