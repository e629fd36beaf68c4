import pytest
import torch

from tsnode.nn.gru import GapGRU


def _batch(b=3, t=7, d=2, seed=0, p_obs=0.7):
    g = torch.Generator().manual_seed(seed)
    times = torch.sort(torch.rand(b, t, generator=g), dim=1).values
    values = torch.randn(b, t, d, generator=g)
    mask = (torch.rand(b, t, d, generator=g) < p_obs).float()
    mask[:, :2] = 1.0
    return times, values, mask


@pytest.fixture
def net():
    torch.manual_seed(0)
    return GapGRU(2, hidden_size=8)


def test_forward_shapes_and_positive_std(net):
    times, values, mask = _batch()
    mean, std = net(times, values, mask)
    assert mean.shape == std.shape == (3, 7, 2)
    assert (std >= net.min_std).all()


def test_forward_is_causal(net):
    times, values, mask = _batch()
    mean, std = net(times, values, mask)
    changed = values.clone()
    changed[:, 4:] += 10.0
    mean2, std2 = net(times, changed, mask)
    torch.testing.assert_close(mean[:, :4], mean2[:, :4])
    torch.testing.assert_close(std[:, :4], std2[:, :4])
    assert not torch.allclose(mean[:, 4:], mean2[:, 4:])


def test_masked_values_have_no_effect(net):
    times, values, mask = _batch()
    values_in = values.clone()
    mean, std = net(times, values, mask)
    junk = torch.where(mask > 0, values, torch.full_like(values, float("nan")))
    mean2, std2 = net(times, junk, mask)
    torch.testing.assert_close(mean, mean2)
    torch.testing.assert_close(std, std2)
    torch.testing.assert_close(net.loss(times, values, mask), net.loss(times, junk, mask))
    g = torch.Generator().manual_seed(1)
    a = net.rollout(times, values, mask, times[:, -1:] + 0.1, 3, generator=g)
    g = torch.Generator().manual_seed(1)
    b = net.rollout(times, junk, mask, times[:, -1:] + 0.1, 3, generator=g)
    torch.testing.assert_close(a, b)
    assert torch.equal(values, values_in)  # input untouched


def test_loss_gradients_reach_every_parameter(net):
    times, values, mask = _batch()
    loss = net.loss(times, values, mask)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_loss_matches_manual_gaussian_nll(net):
    times, values, mask = _batch(b=2, t=5, d=2)
    mean, std = net(times, values, mask)
    dist = torch.distributions.Normal(mean[:, :-1], std[:, :-1])
    nll = -dist.log_prob(values[:, 1:])
    expected = (nll * mask[:, 1:]).sum() / mask[:, 1:].sum()
    torch.testing.assert_close(net.loss(times, values, mask), expected)


def test_loss_needs_targets(net):
    times, values, mask = _batch()
    mask = torch.zeros_like(mask)
    mask[:, 0] = 1
    with pytest.raises(ValueError, match="observed targets"):
        net.loss(times, values, mask)


def test_padding_at_the_end_is_ignored(net):
    times, values, mask = _batch(b=1, t=5)
    pad = 3
    times_p = torch.cat([times, times[:, -1:].repeat(1, pad)], dim=1)
    values_p = torch.cat([values, torch.randn(1, pad, 2)], dim=1)
    mask_p = torch.cat([mask, torch.zeros(1, pad, 2)], dim=1)
    mean, std = net(times, values, mask)
    mean_p, std_p = net(times_p, values_p, mask_p)
    torch.testing.assert_close(mean[:, :-1], mean_p[:, :4])
    future = times[:, -1:] + torch.tensor([[0.1, 0.3]])
    a = net.rollout(times, values, mask, future, 5, generator=torch.Generator().manual_seed(0))
    b = net.rollout(
        times_p, values_p, mask_p, future, 5, generator=torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(a, b)


def test_rollout_shape_reproducibility_and_gap_use(net):
    times, values, mask = _batch()
    future = times[:, -1:] + torch.linspace(0.05, 0.5, 4)
    with torch.no_grad():
        a = net.rollout(times, values, mask, future, 6, generator=torch.Generator().manual_seed(3))
        b = net.rollout(times, values, mask, future, 6, generator=torch.Generator().manual_seed(3))
        c = net.rollout(
            times, values, mask, future * 3, 6, generator=torch.Generator().manual_seed(3)
        )
    assert a.shape == (6, 3, 4, 2)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)  # the gaps matter
    assert a.std(dim=0).min() > 0  # samples differ


def test_rollout_first_step_matches_forward_prediction(net):
    times, values, mask = _batch(b=2, t=6)
    future = times[:, -1:] + 0.2
    # append the future time as a padded step: forward's last-real-step prediction uses the gap
    times_q = torch.cat([times, future], dim=1)
    values_q = torch.cat([values, torch.zeros(2, 1, 2)], dim=1)
    mask_q = torch.cat([mask, torch.zeros(2, 1, 2)], dim=1)
    mean, std = net(times_q, values_q, mask_q)
    mean_last, std_last = mean[:, -2], std[:, -2]
    with torch.no_grad():
        draws = net.rollout(times, values, mask, future, 4000)[:, :, 0]
    # 4000 draws: standard error of the mean is std / 63
    assert ((draws.mean(0) - mean_last).abs() < 4 * std_last / 63).all()
    assert ((draws.std(0) / std_last - 1).abs() < 0.1).all()


def test_learns_a_sinusoid_quickly():
    torch.manual_seed(0)
    net = GapGRU(1, hidden_size=16)
    times = torch.sort(torch.rand(32, 30), dim=1).values * 4
    phase = torch.rand(32, 1) * 6.28
    values = torch.sin(3 * times + phase).unsqueeze(-1)
    mask = torch.ones_like(values)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    first = net.loss(times, values, mask).item()
    for _ in range(60):
        opt.zero_grad()
        loss = net.loss(times, values, mask)
        loss.backward()
        opt.step()
    assert loss.item() < first - 0.5


def test_residual_false_predicts_levels():
    torch.manual_seed(0)
    net = GapGRU(1, hidden_size=4, residual=False)
    times, values, mask = _batch(d=1)
    mean, _ = net(times, values, mask)
    mean2, _ = net(times, values + 100, mask)
    assert (mean2 - mean).abs().max() < 50  # not anchored on the last value


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_dim": 0}, "input_dim"),
        ({"input_dim": 1, "hidden_size": 0}, "hidden_size"),
        ({"input_dim": 1, "min_std": -1.0}, "min_std"),
    ],
)
def test_bad_constructor_args(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GapGRU(**kwargs)


def test_bad_batches(net):
    times, values, mask = _batch()
    with pytest.raises(ValueError, match="values"):
        net(times, values[..., :1], mask[..., :1])
    with pytest.raises(ValueError, match="mask"):
        net(times, values, mask[:, :-1])
    with pytest.raises(ValueError, match="sorted"):
        net(times.flip(1), values, mask)
    with pytest.raises(TypeError, match="times"):
        net(times.long(), values, mask)
    with pytest.raises(ValueError, match="future_times"):
        net.rollout(times, values, mask, times[:, -1] + 1, 2)
    with pytest.raises(ValueError, match="future_times"):
        net.rollout(times, values, mask, times[:, -1:] - 1, 2)
    with pytest.raises(ValueError, match="n_samples"):
        net.rollout(times, values, mask, times[:, -1:] + 1, 0)


def test_float64_times_with_float32_values_and_float64_sampling():
    # regression: float64 times (days from numpy) with float32 values failed inside torch's
    # GRU ("input dtype float64 does not match weight dtype"), and a float64 model sampled
    # float32-precision noise
    times = torch.linspace(0, 1, 6, dtype=torch.float64).expand(2, 6)
    values, mask = torch.randn(2, 6, 1), torch.ones(2, 6, 1)
    mean, std = GapGRU(1, hidden_size=4)(times, values, mask)
    assert mean.dtype == torch.float32
    model = GapGRU(1, hidden_size=4).double()
    g = torch.Generator().manual_seed(0)
    future = times[:, -1:] + torch.tensor([[0.5, 1.0]], dtype=torch.float64)
    draws = model.rollout(times, values.double(), mask.double(), future, 200, generator=g)
    assert draws.dtype == torch.float64
    assert (draws.float().double() != draws).float().mean() > 0.9  # not float32 values
