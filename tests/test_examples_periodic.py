"""Smoke test of examples/latent_ode_periodic.py with tiny settings (a few seconds)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "latent_ode_periodic.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("latent_ode_periodic", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_returns_finite_metrics_and_saves_plot(tmp_path, capsys):
    example = _load_example()
    path = tmp_path / "periodic.png"
    metrics = example.main(
        [
            "--quick",
            "--n-series",
            "20",
            "--seed",
            "1",
            "--observed-fraction",
            "0.5",
            "--plot",
            str(path),
            "--threads",
            "1",
        ]
    )
    expected = {
        "interp_mse",
        "extrap_mse",
        "interp_mse_refined",
        "extrap_mse_refined",
        "interp_mse_bank",
        "extrap_mse_bank",
        "interp_linear_baseline_mse",
        "extrap_zero_baseline_mse",
        "interp_band_coverage",
        "extrap_band_coverage",
        "train_seconds",
        "final_loss",
        "first_loss",
        "mean_nfe_last_epoch",
        "n_train",
        "n_test",
    }
    assert expected <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values())
    assert metrics["n_train"] == 16 and metrics["n_test"] == 4
    for key in ("interp_mse", "extrap_mse", "interp_mse_refined", "extrap_mse_bank"):
        assert metrics[key] >= 0
    for key in ("interp_band_coverage", "extrap_band_coverage"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["mean_nfe_last_epoch"] > 0
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "interp_mse" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--observed-fraction", "0"],
        ["--observed-fraction", "1.5"],
        ["--epochs", "0"],
        ["--n-series", "3"],
        ["--threads", "0"],
    ],
)
def test_bad_arguments_exit_with_usage_error(argv):
    example = _load_example()
    with pytest.raises(SystemExit) as info:
        example.parse_args(argv)
    assert info.value.code == 2
