"""Smoke tests of examples/quickstart.py with tiny settings (TSNODE_QUICK=1, seconds)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "quickstart.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("quickstart", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fractional_years_run_and_save_the_fan_chart(tmp_path, monkeypatch, capsys):
    # regression: --years 2.5 crashed (DateOffset takes whole years only)
    monkeypatch.setenv("TSNODE_QUICK", "1")
    example = _load_example()
    fitted = []
    original = example.TSNodeForecaster.fit

    def spy(self, y, *args, **kwargs):
        fitted.append(y)
        return original(self, y, *args, **kwargs)

    monkeypatch.setattr(example.TSNodeForecaster, "fit", spy)
    plot = tmp_path / "fan.png"
    out = example.main(["--years", "2.5", "--horizon", "2", "--plot", str(plot)])
    assert out["plot"] == str(plot) and plot.read_bytes()[:4] == b"\x89PNG"
    span = fitted[0].index[-1] - fitted[0].index[0]
    assert 2.49 * 365.25 <= span.days <= 2.5 * 365.25
    assert "fan chart saved to" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("relative", "fragment"),
    [
        ("missing/fan.png", "does not exist"),
        (".", "it is a folder"),
        ("fan.txt", "cannot save '.txt' images"),
        ("fan.pgf", "cannot save '.pgf' images"),
        ("fan", "a path without an extension"),
    ],
)
def test_bad_plot_paths_are_usage_errors_before_training(
    relative, fragment, tmp_path, monkeypatch, capsys
):
    # regression: --plot nodir/q.png failed with a traceback only after the training
    example = _load_example()

    def no_training(self, *args, **kwargs):
        raise AssertionError("trained before the options were checked")

    monkeypatch.setattr(example.TSNodeForecaster, "fit", no_training)
    with pytest.raises(SystemExit) as info:
        example.main(["--plot", str(tmp_path / relative)])
    assert info.value.code == 2
    assert fragment in capsys.readouterr().err
