"""LatentODE, refine_z0: integer time tensors, sample's index order, RefinedZ0's reference time."""

from __future__ import annotations

import pytest
import torch

from tsnode.nn import LatentODE, RefinedZ0, refine_z0


def _model(dtype: torch.dtype = torch.float32, **kwargs) -> LatentODE:
    torch.manual_seed(0)
    sizes = dict(latent_dim=2, hidden_dim=4, ode_units=8, encoder_units=4, readout_units=4)
    return LatentODE(1, **sizes, **kwargs).to(dtype)


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


# ----------------------------------------------------------------------------- integer times


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_integer_query_times_keep_a_fractional_t0(dtype):
    # regression: decode cast t0 to t_query's int64 dtype, so t0=0.5 (times.min()) became 0 and
    # the forecast was that of query times shifted by 0.5 (a max difference of 0.017 here)
    model = _model(dtype)
    times = torch.tensor([0.5, 1.5, 2.5], dtype=dtype)
    values = torch.randn(1, 3, 1, dtype=dtype)
    mask = torch.ones_like(values)
    integer = model(times, values, mask, torch.arange(3, 6), generator=_generator())
    floating = model(times, values, mask, torch.arange(3, 6).to(dtype), generator=_generator())
    assert torch.equal(integer.pred_mean, floating.pred_mean)
    assert torch.equal(integer.pred_std, floating.pred_std)
    z0 = torch.full((1, 2), 0.3, dtype=dtype)
    for a, b in zip(
        model.decode(z0, torch.tensor([3, 4]), t0=2.5),
        model.decode(z0, torch.tensor([3.0, 4.0], dtype=dtype), t0=2.5),
        strict=True,
    ):
        assert torch.equal(a, b)


def test_integer_observation_times_keep_a_fractional_t0():
    # regression: encode cast t0=0.5 to the times' int64 dtype (0), a difference of 0.034
    model = _model()
    values = torch.randn(2, 3, 1)
    mask = torch.ones_like(values)
    for t0 in (0.5, torch.tensor([0.5, 1.25])):
        for a, b in zip(
            model.encode(torch.tensor([0, 1, 2]), values, mask, t0=t0),
            model.encode(torch.tensor([0.0, 1.0, 2.0]), values, mask, t0=t0),
            strict=True,
        ):
            assert torch.equal(a, b)


def test_sample_with_integer_times_keeps_a_fractional_t0():
    model = _model(anchored=True)
    values = torch.randn(2, 3, 1)
    mask = torch.ones_like(values)

    def draw(times, t_query):
        return model.sample(
            times, values, mask, t_query, n_samples=5, t0=2.5, generator=_generator()
        )

    expected = draw(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([3.0, 4.0]))
    assert torch.equal(draw(torch.tensor([0, 1, 2]), torch.tensor([3, 4])), expected)
    assert torch.equal(draw(torch.tensor([0, 1, 2]), torch.tensor([3.0, 4.0])), expected)


def test_refine_z0_with_integer_times_keeps_a_fractional_t0():
    model = _model(torch.float64, solver="euler", options={"step_size": 0.25})
    values = torch.randn(2, 3, 1, dtype=torch.float64)
    mask = torch.ones_like(values)

    def fit(times):
        return refine_z0(
            model, times, values, mask, t0=0.5, n_restarts=2, n_steps=3, generator=_generator()
        )

    integer, floating = fit(torch.tensor([0, 1, 2])), fit(torch.tensor([0.0, 1.0, 2.0]))
    assert torch.equal(integer.z0, floating.z0)
    assert torch.equal(integer.energy, floating.energy)
    assert float(integer.t0) == 0.5


# ----------------------------------------------------------------------------- sample's index


def test_anchored_sample_refuses_index_rows_out_of_time_order():
    # regression: rows of index that were not increasing gave negative Brownian gaps, and NaN
    # samples (3 of 6 positions here) instead of an error
    model = _model(anchored=True)
    times = torch.tensor([0.0, 0.5, 1.0])
    values = torch.randn(2, 3, 1)
    mask = torch.ones_like(values)
    t_query = torch.tensor([1.0, 1.5, 2.0, 2.5])

    def draw(index):
        return model.sample(
            times, values, mask, t_query, n_samples=50, t0=1.0, index=index, generator=_generator()
        )

    with pytest.raises(ValueError, match=r"index rows must be increasing.*row 0 is \[2, 0, 1\]"):
        draw(torch.tensor([[2, 0, 1], [1, 2, 3]]))
    with pytest.raises(ValueError, match=r"row 1 is \[3, 1, 2\].*index.sort\(dim=1\)"):
        draw(torch.tensor([[0, 1, 2], [3, 1, 2]]))
    assert torch.isfinite(draw(torch.tensor([[0, 1, 2], [1, 2, 3]]))).all()
    assert torch.isfinite(draw(torch.tensor([[0, 1, 1], [1, 3, 3]]))).all()  # repeats: fine
    # without anchoring the noise is independent across positions: any order works
    free = _model(anchored=False)
    index = torch.tensor([[2, 0, 1], [3, 1, 2]])
    out = free.sample(times, values, mask, t_query, n_samples=5, t0=1.0, index=index)
    assert torch.isfinite(out).all()


# ----------------------------------------------------------------------------- RefinedZ0.t0


def test_refined_z0_mean_path_decodes_from_the_t0_it_was_refined_at():
    # regression: mean_path defaulted to t0=0.0 while refine_z0 defaulted to times.min() (10.0
    # here), so the natural call decoded from the wrong time (a difference of 0.23)
    model = _model(solver="euler", options={"step_size": 0.25})
    times = torch.tensor([10.0, 10.5, 11.0])
    values = torch.randn(2, 3, 1)
    mask = torch.ones_like(values)
    fit = refine_z0(model, times, values, mask, n_restarts=2, n_steps=3, generator=_generator())
    assert float(fit.t0) == 10.0
    t_query = torch.tensor([11.5, 12.0])
    with torch.no_grad():
        default = fit.mean_path(model, t_query)
        paths = model.decode(fit.z0, t_query, times.min())[0]
        assert torch.equal(default, (fit.weights[:, :, None, None] * paths).sum(0))
        assert torch.equal(default, fit.mean_path(model, t_query, t0=10.0))
        assert not torch.equal(default, fit.mean_path(model, t_query, t0=0.0))
        # a given t0 is stored as given; one built by hand without t0 keeps the old default 0.0
        given = refine_z0(model, times, values, mask, t0=10.5, n_restarts=2, n_steps=0)
        assert float(given.t0) == 10.5
        by_hand = RefinedZ0(fit.z0, fit.weights, fit.energy)
        assert torch.equal(by_hand.mean_path(model, t_query), fit.mean_path(model, t_query, 0.0))


def test_integer_epoch_times_are_exact():
    # regression: integer times were converted to the weights' float32 before t0 was
    # subtracted, so epoch seconds one minute apart collapsed (encode off by 0.049 of 0.35)
    model = _model()
    start = 1_700_000_000
    times = torch.arange(start, start + 60 * 8, 60)  # int64 epoch seconds
    values = torch.randn(1, 8, 1)
    mask = torch.ones_like(values)
    exact = times.double()
    for a, b in zip(
        model.encode(times, values, mask), model.encode(exact, values, mask), strict=True
    ):
        assert torch.equal(a, b)
    z0 = torch.full((1, 2), 0.3)
    query = times[-1] + torch.arange(60, 600, 60)
    for a, b in zip(
        model.decode(z0, query, t0=times[-1]),
        model.decode(z0, query.double(), t0=float(times[-1])),
        strict=True,
    ):
        assert torch.equal(a, b)
