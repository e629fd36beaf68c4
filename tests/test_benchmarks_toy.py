"""Smoke test of benchmarks/bench_toy.py: main() with tiny settings (a few seconds)."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_toy.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_toy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_main_tiny_run_writes_json_and_markdown(tmp_path):
    bench = _load()
    threads = torch.get_num_threads()
    summary = bench.main(
        [
            "--quick",
            "--seeds",
            "0",
            "1",
            "--fractions",
            "0.1",
            "--spiral-observed",
            "30",
            "--periodic-budget",
            "0.15",
            "--spiral-budget",
            "0.15",
            "--jobs",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert torch.get_num_threads() == threads  # restored
    run = summary["runs"]["periodic"]["0.1"][0]
    for model in ("latent_ode_bank", "ode_rnn", "gru_bank"):  # every model: 2 restarts
        assert len(run[model]["restart_val_losses"]) == 2
        assert run[model]["val_loss"] == min(run[model]["restart_val_losses"])
    assert "Restarts: every model trains 2 time(s)" in (tmp_path / "toy.md").read_text()
    saved = json.loads((tmp_path / "toy.json").read_text())
    assert saved["targets"] == summary["targets"]
    cells = saved["periodic"]["0.1"]
    assert set(cells) == {
        "latent_ode",
        "latent_ode_refined",
        "latent_ode_bank",
        "ode_rnn",
        "gru",
        "gru_maskfwd",
        "gru_bank",
        "n_extrap_series",
    }
    assert len(cells.pop("n_extrap_series")) == 2
    for model in cells.values():
        for metric in ("interp_mse", "extrap_mse"):
            assert len(model[metric]["per_seed"]) == 2
            assert math.isfinite(model[metric]["mean"]) and model[metric]["std"] >= 0
        assert model["steps"]["mean"] >= 1
    spiral = saved["spiral"]["30"]
    assert set(spiral) == {"latent_ode", "gru"}
    assert all(math.isfinite(spiral[m]["rmse"]["mean"]) for m in spiral)
    # 10% periodic: extrapolation and interpolation-at-10% targets; spiral: paper LODE and RNN.
    assert len(saved["targets"]) == 4
    assert all(isinstance(t["met"], bool) for t in saved["targets"])
    markdown = (tmp_path / "toy.md").read_text()
    assert "python benchmarks/bench_toy.py --quick" in markdown
    assert "| 10% | gru_maskfwd |" in markdown
    assert "| 10% | gru_bank |" in markdown
    assert "| 10% | latent_ode |" in markdown and "| 30/100 | gru |" in markdown
    (tmp_path / "toy.md").unlink()
    bench.main(["--render-only", "--out", str(tmp_path)])
    assert (tmp_path / "toy.md").read_text() == markdown
    # Re-running the periodic part only keeps the spiral runs of the previous file.
    again = bench.main(
        ["--quick", "--seeds", "0", "--fractions", "0.1", "--periodic-budget", "0.15"]
        + ["--jobs", "1", "--reuse-spirals", "--out", str(tmp_path)]
    )
    assert again["runs"]["spiral"] == saved["runs"]["spiral"]
    assert again["spiral"] == saved["spiral"]
    assert len(again["periodic"]["0.1"]["latent_ode"]["interp_mse"]["per_seed"]) == 1
    assert "Reused: the spiral runs" in (tmp_path / "toy.md").read_text()


def test_bank_search_finds_the_generating_path_and_weights_like_refine_z0():
    bench = _load()
    gen = torch.Generator().manual_seed(0)
    bank_mean = torch.randn(50, 30, 1, generator=gen)
    bank_std = torch.full_like(bank_mean, 0.01)
    picks = torch.tensor([3, 17, 42])
    values = bank_mean[picks] + 0.001 * torch.randn(3, 30, 1, generator=gen)
    mask = (torch.rand(3, 30, 1, generator=gen) < 0.2).float()
    mask[:, :3] = 1.0  # a few points each, enough to single out the path
    before = (bank_mean.clone(), values.clone())
    got = bench.bank_search((bank_mean, bank_std), values, mask, k=4, chunk=2)
    torch.testing.assert_close(got, bank_mean[picks], rtol=0, atol=1e-6)
    torch.testing.assert_close(bank_mean, before[0], rtol=0, atol=0)
    torch.testing.assert_close(values, before[1], rtol=0, atol=0)
    # Equal energies (nothing observed): the k candidates are averaged with equal weights.
    flat = bench.bank_search((bank_mean, bank_std), values, torch.zeros_like(mask), k=50)
    torch.testing.assert_close(flat, bank_mean.mean(0).expand(3, -1, -1), rtol=1e-5, atol=1e-6)
    # A bank smaller than k uses all of it.
    small = bench.bank_search((bank_mean[:2], bank_std[:2]), values, mask, k=16)
    assert small.shape == (3, 30, 1)


def test_spirals_follow_chen_et_al():
    bench = _load()
    data = bench.make_spirals(40, n_obs=30, rng=np.random.default_rng(0))
    assert data["truth"].shape == (40, 200, 2) and data["obs_values"].shape == (40, 30, 2)
    assert data["times"].shape == (200,)
    # Observed points are sorted, from the first 100, and equal the noisy values there.
    idx = data["obs_index"]
    assert bool((idx[:, 1:] > idx[:, :-1]).all()) and int(idx.max()) < 100
    picked = torch.gather(data["noisy"], 1, idx[..., None].expand(-1, -1, 2))
    torch.testing.assert_close(picked, data["obs_values"])
    torch.testing.assert_close(data["obs_times"], data["times"][idx])
    # Noise std 0.1 around the noise-free spiral; both rotation directions present.
    resid = (data["noisy"] - data["truth"]).std().item()
    assert abs(resid - 0.1) < 0.01
    x_centre = data["truth"][:, :, 0].mean(dim=1)
    assert bool((x_centre > 0).any()) and bool((x_centre < 0).any())


def test_inside_span_and_forward_ode_rnn_is_causal():
    bench = _load()
    mask = torch.tensor([[0, 1, 0, 0, 1, 0], [1, 0, 1, 0, 0, 0]], dtype=torch.float32)[..., None]
    inside = bench.inside_span(mask)[..., 0]
    expected = torch.tensor([[0, 0, 1, 1, 0, 0], [0, 1, 0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(inside, expected)
    torch.manual_seed(0)
    model = bench.ForwardODERNN(1, hidden_dim=4, ode_units=4)
    times = torch.linspace(0, 1, 6)
    values = torch.randn(2, 6, 1)
    base = model(times, values, torch.ones_like(values))
    changed = values.clone()
    changed[:, 3] += 5.0  # the prediction at step 3 must not see the value at step 3
    out = model(times, changed, torch.ones_like(values))
    torch.testing.assert_close(out[:, :4], base[:, :4])
    assert not torch.allclose(out[:, 4:], base[:, 4:])


def test_tune_toy_tiny_run_records_both_read_outs_and_refuses_test_seeds(tmp_path):
    spec = importlib.util.spec_from_file_location("tune_toy", SCRIPT.parent / "tune_toy.py")
    tune = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tune)
    args = ["--budget", "0.2", "--n-train", "50", "--n-test", "6", "--out", str(tmp_path)]
    threads = torch.get_num_threads()
    try:
        tune.main(["--variants", "base", "--seeds", "7", *args])
    finally:
        torch.set_num_threads(threads)  # run() pins one thread, as the benchmark does
    runs = json.loads((tmp_path / "tune_toy.json").read_text())
    assert len(runs) == 1 and runs[0]["seed"] == 7
    for key in ("interp_mse", "extrap_mse", "interp_mse_refined", "extrap_mse_refined"):
        assert math.isfinite(runs[0][key])
    assert "| 10% | base |" in (tmp_path / "tune_toy.md").read_text()
    with pytest.raises(SystemExit):
        tune.main(["--seeds", "0", *args])


def test_train_for_keeps_the_checkpoint_with_the_lowest_validation_loss():
    bench = _load()
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    seen: list[tuple[float, float]] = []  # (validation loss, weight) at each check
    # Validation loss: distance of the weight to 0.5; training pushes the weight past it.
    target = torch.tensor(3.0)

    def loss_fn(idx, step, progress):
        return (model.weight.sum() - target) ** 2

    def validate():
        w = float(model.weight.detach().sum())
        seen.append((abs(w - 0.5), w))
        return abs(w - 0.5)

    with torch.no_grad():
        model.weight.fill_(-1.0)
    settings = dict(n_train=4, batch_size=2, lr=0.05, generator=torch.Generator().manual_seed(0))
    info = bench.train_for(
        loss_fn, model, budget_s=0.3, validate=validate, n_checks=10, check_from=0.0, **settings
    )
    assert len(seen) >= 2
    best_loss, best_w = min(seen)
    assert info["val_loss"] == best_loss
    assert info["val_loss_last"] == seen[-1][0]
    assert 0.0 <= info["best_at"] <= 1.0
    torch.testing.assert_close(model.weight.detach().sum(), torch.tensor(best_w), rtol=0, atol=0)
    # Without validation the last weights stay and no checkpoint fields are reported.
    info = bench.train_for(loss_fn, model, budget_s=0.05, **settings)
    assert "best_at" not in info


def test_train_best_of_keeps_the_restart_with_the_lowest_validation_loss():
    bench = _load()
    inits: list[float] = []  # each restart's initial weight

    def make_model():
        model = torch.nn.Linear(1, 1, bias=False)
        inits.append(float(model.weight.detach().sum()))
        return model

    def make_loss(model):
        return lambda idx, step, progress: (model.weight.sum() * 0.0) ** 2  # no movement

    def make_validate(model):
        return lambda: abs(float(model.weight.detach().sum()) - 0.3)

    settings = dict(n_train=4, batch_size=2, budget_s=0.02, lr=0.01)
    model, info, generator = bench.train_best_of(
        make_model, make_loss, make_validate, restarts=3, seed=5, **settings
    )
    distances = [abs(w - 0.3) for w in inits]
    assert len(inits) == 3 and len(set(inits)) == 3  # independent initialisations
    assert info["restart_val_losses"] == pytest.approx(distances)
    assert info["kept_restart"] == distances.index(min(distances))
    assert float(model.weight.detach().sum()) == inits[info["kept_restart"]]
    assert isinstance(generator, torch.Generator)
    # Restart r draws from seed + RESTART_SEED_STRIDE * r; one restart is a plain run from seed.
    torch.manual_seed(5 + bench.RESTART_SEED_STRIDE * info["kept_restart"])
    assert (
        float(torch.nn.Linear(1, 1, bias=False).weight.detach().sum())
        == inits[info["kept_restart"]]
    )
    model, info, _ = bench.train_best_of(
        make_model, make_loss, make_validate, restarts=1, seed=5, **settings
    )
    assert info["kept_restart"] == 0 and inits[-1] == inits[0]
    with pytest.raises(ValueError, match="restarts must be at least 1"):
        bench.train_best_of(make_model, make_loss, make_validate, restarts=0, seed=5, **settings)


def test_validation_loss_is_repeatable_and_leaves_the_random_state_alone():
    bench = _load()
    calls: list[int] = []

    def loss_fn(idx, step, progress):
        calls.append(step)
        assert progress == 1.0  # full KL weight
        return torch.randn(()) + idx.float().mean()

    validate = bench.validation_loss(loss_fn, torch.nn.Linear(1, 1), 5)
    torch.manual_seed(3)
    expected_next = torch.rand(())
    torch.manual_seed(3)
    first = validate()
    assert torch.rand(()) == expected_next  # global stream untouched
    assert validate() == first  # same noise every call
    assert calls == [0, 1, 0, 1]  # an even and an odd step: both encoder masks
