"""Smoke test of benchmarks/tune_prices.py (tiny settings): it never loads the evaluation period."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

TUNE = Path(__file__).resolve().parents[1] / "benchmarks" / "tune_prices.py"


@pytest.fixture(scope="module")
def tune():
    sys.path.insert(0, str(TUNE.parent))  # tune_prices imports bench_prices
    spec = importlib.util.spec_from_file_location("tune_prices", TUNE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_scores_every_variant_before_the_evaluation_period(tune, tmp_path):
    report = tune.main(
        ["--quick", "--solvers", "midpoint", "--variants", "full", "drift", "prior16-rw"]
        + ["--out", str(tmp_path)]
    )
    saved = json.loads((tmp_path / "tune_prices.json").read_text())
    assert (tmp_path / "tune_prices.md").is_file()
    assert saved["settings"] == report["settings"]
    assert pd.Timestamp(saved["settings"]["tune_end"]) < pd.Timestamp("2011-03-01")
    names = {"naive", "drift", "gbm", "midpoint/raw", "midpoint/full", "midpoint/drift"}
    names.add("midpoint/prior16-rw")
    assert set(saved["scores"]) == names
    for rows in saved["scores"].values():
        for row in rows.values():
            assert 0.0 <= row["coverage_80"] <= row["coverage_90"] <= 1.0
    # the drift-only variant keeps the raw spread and moves the median towards the last price
    for fit in saved["calibration_maps"]["midpoint"]:
        assert fit["drift"]["log_spread"] == 0.0 and fit["drift"]["slope"] == 0.0
        assert 0.0 <= fit["full"]["drift"] <= 1.0
    # the pre-registered rule ranks every calibrated variant, never the uncalibrated one
    ranked = [r["variant"] for r in saved["ranking"]]
    assert sorted(ranked) == ["midpoint/drift", "midpoint/full", "midpoint/prior16-rw"]
    met = [r["targets_met"] for r in saved["ranking"]]
    assert met == sorted(met, reverse=True)


def test_rank_variants_follows_the_rule(tune):
    def row(mase, crps, c80, c90):
        return {"mase_rel": mase, "crps_rel_gbm": crps, "coverage_80": c80, "coverage_90": c90}

    scores = {
        "gbm": {1: row(1.0, 1.0, 0.8, 0.9)},
        "m/raw": {1: row(1.0, 0.9, 0.8, 0.9)},
        "m/a": {1: row(1.0, 0.9, 0.76, 0.86)},  # 4 met, coverage error 0.04
        "m/b": {1: row(1.0, 0.95, 0.79, 0.89)},  # 4 met, coverage error 0.01
        f"m/{tune.INCUMBENT}": {1: row(1.0, 0.95, 0.79, 0.89)},  # exact tie with b: incumbent
        "m/c": {1: row(1.1, 0.8, 0.8, 0.9)},  # 3 met
    }
    ranked = [r["variant"] for r in tune.rank_variants(scores)]
    assert ranked == [f"m/{tune.INCUMBENT}", "m/b", "m/a", "m/c"]


@pytest.mark.parametrize(
    ("flags", "setting", "value", "candidate"),
    [
        (["--members", "2"], "members", 2, "midpoint/ens2"),  # fourth round
        (["--n-init", "2"], "n_init", 2, "midpoint/init2"),  # fifth round
        (["--context-lengths", "30"], "context_lengths", [30], "midpoint/ctx30"),  # sixth round
        (["--scale-by", "volatility"], "scale_by", ["volatility"], "midpoint/volscale"),  # 8th
    ],
)
def test_quick_run_ranks_each_extra_candidate_with_the_variants(
    tune, tmp_path, flags, setting, value, candidate
):
    report = tune.main(
        ["--quick", "--solvers", "midpoint", "--variants", "prior16", *flags]
        + ["--out", str(tmp_path), "--stem", "round"]
    )
    assert report["settings"][setting] == value
    assert {"midpoint/prior16", candidate} <= set(report["scores"])
    ranked = sorted(r["variant"] for r in report["ranking"])
    assert ranked == sorted([candidate, "midpoint/prior16"])
    assert candidate in (tmp_path / "round.md").read_text()
