import math

import pytest
import torch

from tsnode.nn.latent_ode import LatentODE
from tsnode.training import Batch, TrainingConfig, TrainingError, kl_weight_at, train_latent_ode


def _batch(seed=0, b=8, t=12):
    g = torch.Generator().manual_seed(seed)
    times = torch.linspace(0, 1, t)
    values = torch.sin(3 * times + torch.rand(b, 1, generator=g) * 3).unsqueeze(-1)
    mask = torch.ones_like(values)
    return Batch(times.expand(b, t).clone(), values, mask, times, values, mask)


def test_kl_weight_schedule():
    assert kl_weight_at(0, 4) == 0.0
    assert kl_weight_at(2, 4) == 0.5
    assert kl_weight_at(10, 4) == 1.0
    assert kl_weight_at(0, 0) == 1.0


def test_training_reduces_loss_and_records_history():
    torch.manual_seed(0)
    model = LatentODE(
        1, latent_dim=4, hidden_dim=8, ode_units=16, solver="euler", options={"step_size": 0.1}
    )
    config = TrainingConfig(
        epochs=6, steps_per_epoch=5, learning_rate=1e-2, kl_warmup_epochs=2, progress=False
    )
    history = train_latent_ode(model, _batch, [_batch(99)], config)
    assert set(history) == {"loss", "val_loss", "kl_weight", "nfe", "lr"}
    assert len(history["loss"]) <= 6
    assert history["loss"][-1] < history["loss"][0]
    assert all(math.isfinite(v) for v in history["val_loss"])


def test_nan_loss_recovers_then_raises_clear_error():
    torch.manual_seed(0)
    model = LatentODE(1, latent_dim=4, hidden_dim=8, ode_units=16, solver="euler")

    def bad_batch():
        b = _batch()
        b.target_values[:] = float("nan")
        return b

    config = TrainingConfig(epochs=2, steps_per_epoch=2, progress=False, max_nan_retries=2)
    with pytest.warns(RuntimeWarning, match="halving the learning rate"):
        with pytest.raises(TrainingError, match="smaller learning_rate"):
            train_latent_ode(model, bad_batch, [], config)
