"""Tests of examples/spiral_classification.py: a tiny smoke run and the full accuracy check."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest
import torch

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "spiral_classification.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("spiral_classification", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_returns_accuracy_and_saves_plot(tmp_path, capsys):
    example = _load_example()
    path = tmp_path / "spiral.png"
    threads = torch.get_num_threads()
    accuracy = example.main(
        ["--epochs", "2", "--n-points", "64", "--batch-size", "64", "--seed", "1",
         "--plot", str(path), "--quiet"]
    )  # fmt: skip
    assert isinstance(accuracy, float) and 0.0 <= accuracy <= 1.0
    assert path.is_file() and path.stat().st_size > 1000
    out = capsys.readouterr().out
    assert "test accuracy" in out and "decision boundary saved" in out
    assert torch.get_num_threads() == threads  # thread setting restored


def test_model_is_the_one_line_neural_ode():
    example = _load_example()
    model = example.AugmentedODEClassifier(augment_dim=2, hidden=8)
    assert model.ode.solver == "dopri5" and model.ode.sensitivity == "adjoint"
    logits = model(torch.randn(5, 2))
    assert logits.shape == (5, 2)
    logits.sum().backward()
    assert model.ode.nfe_forward > 0 and model.ode.nfe_backward > 0
    assert all(p.grad is not None for p in model.parameters())


def test_bad_cli_arguments_exit():
    example = _load_example()
    with pytest.raises(SystemExit):
        example.main(["--epochs", "0"])


@pytest.mark.slow
def test_full_settings_reach_95_percent_in_two_minutes():
    example = _load_example()
    start = time.perf_counter()
    accuracy = example.main(["--quiet"])
    elapsed = time.perf_counter() - start
    assert accuracy >= 0.95
    assert elapsed < 120.0
