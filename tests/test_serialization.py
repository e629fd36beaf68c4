import json

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PowerTransformer, RobustScaler, StandardScaler

from tsnode._serialization import SerializationError, from_jsonable, to_jsonable

# ensembles of closed-form baselines (quick to fit) warn that their members are identical
pytestmark = pytest.mark.filterwarnings("ignore:the \\d+ members are identical fits:UserWarning")


def _roundtrip(obj):
    return from_jsonable(json.loads(json.dumps(to_jsonable(obj))))


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, "x", [1, 2.0], (1, "a"), {"a": [1, {"b": None}]}, float("inf")],
)
def test_plain_values_roundtrip(value):
    assert _roundtrip(value) == value


def test_numpy_bools_become_plain_bools():
    # validators accept np.bool_ like bool (e.g. progress=np.False_), so a save must too
    assert _roundtrip([np.True_, np.False_]) == [True, False]
    assert type(_roundtrip(np.True_)) is bool


def test_arrays_keep_dtype_and_shape():
    for array in (
        np.arange(6, dtype=np.int64).reshape(2, 3),
        np.array([1.5, np.nan]),
        np.array(["a", "b"], dtype=object),
    ):
        back = _roundtrip(array)
        assert back.dtype == array.dtype and back.shape == array.shape
        np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize(
    "estimator",
    [
        StandardScaler(),
        RobustScaler(quantile_range=(10, 90)),
        PowerTransformer(),
        make_pipeline(RobustScaler(), StandardScaler()),
    ],
)
def test_fitted_estimators_roundtrip(estimator):
    X = np.random.default_rng(0).lognormal(size=(50, 2))
    estimator.fit(X)
    back = _roundtrip(estimator)
    np.testing.assert_allclose(back.transform(X), estimator.transform(X), rtol=1e-12)


def test_refuses_classes_outside_allow_list():
    data = {"__estimator__": "os.system", "params": {}, "fitted": {}}
    with pytest.raises(SerializationError, match="refusing to load"):
        from_jsonable(data)


class _UserScaler(StandardScaler):
    """A transformer from the user's own module (here: the test module)."""


def test_save_refuses_estimators_that_load_would_refuse(tmp_path):
    # regression: a model with a user-defined scaler saved without complaint, then every load
    # failed with "the save is corrupted or was edited; save the model again"
    from tsnode import EnsembleForecaster, NaiveForecaster
    from tsnode.datasets import make_gbm

    with pytest.raises(SerializationError, match=r"cannot save the tests\.test_serialization"):
        to_jsonable(_UserScaler())
    with pytest.raises(SerializationError, match="_UserScaler estimator: a save only holds"):
        to_jsonable(make_pipeline(_UserScaler()))

    class MyNaive(NaiveForecaster):
        pass

    y = make_gbm(1, n_days=30, random_state=0)
    model = EnsembleForecaster(MyNaive(), n_members=2, progress=False).fit(y)
    with pytest.raises(SerializationError, match="MyNaive estimator"):
        model.save(tmp_path / "mine")
    assert not (tmp_path / "mine").exists()
    EnsembleForecaster(NaiveForecaster(), n_members=2, progress=False).fit(y).save(tmp_path / "ok")


def test_malformed_data_is_a_clear_error():
    with pytest.raises(SerializationError):
        from_jsonable({"__ndarray__": [1, 2], "dtype": "float64"})  # no shape
    with pytest.raises(SerializationError, match="unrecognised"):
        from_jsonable({"evil": 1})


def test_unsupported_object_names_its_type():
    with pytest.raises(SerializationError, match="without pickle"):
        to_jsonable(object())


@pytest.mark.parametrize("cls_name", ["TSNodeForecaster", "NaiveForecaster", "EnsembleForecaster"])
def test_load_refuses_a_path_that_is_not_a_path(cls_name):
    import tsnode

    with pytest.raises(TypeError, match="path must be a str or os.PathLike.*got None"):
        getattr(tsnode, cls_name).load(None)


def test_save_refuses_an_existing_file_and_writes_nothing(tmp_path):
    from tsnode import EnsembleForecaster, NaiveForecaster
    from tsnode.datasets import make_gbm

    y = make_gbm(1, n_days=40, random_state=0)
    file = tmp_path / "model"
    file.write_text("not a directory")
    for model in (NaiveForecaster().fit(y), EnsembleForecaster(NaiveForecaster()).fit(y)):
        with pytest.raises(SerializationError, match="existing file, and a save is a directory"):
            model.save(file)
        assert file.read_text() == "not a directory"
