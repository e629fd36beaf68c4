"""Smoke test of benchmarks/bench_prices.py with tiny settings, and its scoring helpers."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_prices.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_prices", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_main_writes_json_and_markdown(bench, tmp_path):
    models = ["tsnode", "tsnode_single", "naive", "drift", "gbm", "gru"]
    argv = ["--quick", "--models", *models, "--tsnode-members", "2", "--out", str(tmp_path)]
    report = bench.main(argv)
    saved = json.loads((tmp_path / "prices.json").read_text())
    assert saved["settings"] == report["settings"]
    scores = saved["section3"]["scores"]
    assert set(scores) == set(models)
    for name in models:
        for h in ("1", "3"):
            row = scores[name][h]
            assert row["count"] > 0
            assert 0.0 <= row["coverage_80"] <= row["coverage_90"] <= 1.0
            assert row["mase"] > 0 and row["crps_scaled"] > 0
            assert math.isfinite(row["sharpe_buy_and_hold"])
    assert scores["naive"]["1"]["mase_rel"] == pytest.approx(1.0)
    assert scores["gbm"]["1"]["crps_rel_gbm"] == pytest.approx(1.0)
    assert scores["naive"]["1"]["dm_pvalue"] is None  # the baseline is not tested against itself
    assert {t["horizon"] for t in saved["section3"]["targets"]} == {1, 3}
    by_series = saved["section3"]["mase_rel_by_series"]
    assert set(by_series) == set(models) - {"naive"}
    assert set(by_series["gbm"]["1"]) == set(saved["settings"]["tickers"])
    assert all(v > 0 for rows in by_series.values() for row in rows.values() for v in row.values())
    sec4 = saved["section4"]
    assert {r["model"] for r in sec4["degradation"]} == {"tsnode", "gru"}
    assert {v["horizon"] for v in sec4["verdicts"]} == {1, 3}
    assert set(sec4["scores"]) == {"tsnode", "gru", "naive", "gbm"}
    for section in (saved["section3"], sec4):  # one calibration map per fit and member
        (fits,) = section["calibration_maps"].values()
        assert len(fits) == 2 * saved["settings"]["n_folds"]
        assert all(0.0 <= f["drift"] <= 1.0 and f["train_end"] < "2013-03-01" for f in fits)
    text = (tmp_path / "prices.md").read_text()
    assert "- seed 0: " in text
    assert "## Section 3: real prices" in text and "## Section 4" in text
    assert "| tsnode | 1 |" in text and "| tsnode_single | 1 |" in text
    assert "MASE / random walk's MASE per ticker" in text
    assert "tsnode = `EnsembleForecaster` of 2 `TSNodeForecaster` members" in text
    assert "NOT the pre-registered configuration" in text  # the tuning round kept 1 member
    assert saved["settings"]["tsnode_members"] == 2
    assert saved["settings"]["tsnode_params"]["epochs"] == 1
    (tmp_path / "prices.md").unlink()
    bench.main(["--render-only", "--out", str(tmp_path)])
    assert (tmp_path / "prices.md").read_text() == text


def test_a_single_member_drops_the_comparison_row(bench, tmp_path):
    argv = ["--quick", "--models", "tsnode", "tsnode_single", "--tsnode-members", "1"]
    report = bench.main([*argv, "--no-irregular", "--out", str(tmp_path)])
    assert set(report["section3"]["scores"]) == {"tsnode", "naive"}
    assert "EnsembleForecaster" not in (tmp_path / "prices.md").read_text()


def test_bad_member_count_is_explained(bench):
    with pytest.raises(ValueError, match="--tsnode-members must be >= 1, got 0"):
        bench.parse_args(["--tsnode-members", "0"])


def test_thin_drops_the_fraction_per_column_without_mutating(bench):
    index = pd.bdate_range("2020-01-01", periods=100)
    frame = pd.DataFrame({"a": np.arange(1.0, 101.0), "b": np.arange(1.0, 101.0)}, index=index)
    frame.iloc[:10, 1] = np.nan
    before = frame.copy()
    out = bench.thin(frame, 0.3, seed=1)
    pd.testing.assert_frame_equal(frame, before)
    assert out.index.equals(frame.index)
    assert out["a"].isna().sum() == 30
    assert out["b"].isna().sum() == 10 + 27  # 30% of the 90 observed values
    assert not out["a"].isna().equals(out["b"].isna())  # independent per column
    assert (out.dropna() == frame.loc[out.dropna().index]).all().all()


def test_mase_rel_by_series_known_answers(bench):
    def table(errors_a, errors_b):
        rows = []
        for series, errors in (("A", errors_a), ("B", errors_b)):
            for e in errors:
                rows.append({"series": series, "step": 1, "actual": 10.0, "forecast": 10.0 + e})
        frame = pd.DataFrame(rows).assign(origin=9.0, scale=1.0)
        levels = pd.DataFrame({f"q{q:g}": frame["forecast"] for q in bench.QUANTILES})
        return pd.concat([frame, levels], axis=1)

    naive = table([1.0, 1.0], [2.0, 2.0])
    model = table([0.5, 0.5], [2.0, 2.0])
    doubled = table([2.0, 2.0], [4.0, 4.0])
    out = bench.mase_rel_by_series({"naive": [naive], "m": [model, doubled]}, [1])
    assert set(out) == {"m"}
    # per seed: A 0.5 and 2.0, B 1.0 and 2.0; mean over the two seeds
    assert out["m"][1] == pytest.approx({"A": 1.25, "B": 1.5})


def test_score_step_known_answers(bench):
    q_cols = {f"q{q:g}": [10.0 + (q - 0.5) * 4] * 4 for q in bench.QUANTILES}
    table = pd.DataFrame(
        {
            "step": [1, 1, 1, 1],
            "actual": [10.0, 10.5, 12.0, 9.0],
            "forecast": [10.0] * 4,
            "origin": [9.0] * 4,
            "scale": [0.5] * 4,
            **q_cols,
        }
    )
    row = bench.score_step(table, 1)
    # |errors| = 0, 0.5, 2, 1 -> MAE 0.875, scaled by 0.5
    assert row["mase"] == pytest.approx(1.75)
    # (0.1, 0.9) interval = [8.4, 11.6] holds 10, 10.5 and 9 of the 4 targets
    assert row["coverage_80"] == pytest.approx(0.75)
    assert row["crps_scaled"] == pytest.approx(row["crps"] / 0.5)
    assert row["directional_accuracy"] == pytest.approx(0.75)  # up, up, up vs down
    assert row["count"] == 4


def test_observed_rows_keeps_targets_seen_in_thinned_data(bench):
    index = pd.bdate_range("2020-01-01", periods=3)
    thinned = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [np.nan, 2.0, 3.0]}, index=index)
    table = pd.DataFrame({"timestamp": [index[1], index[1], index[2]], "series": ["a", "b", "a"]})
    kept = bench.observed_rows(table, thinned)
    assert kept.to_dict("list") == {"timestamp": [index[1], index[2]], "series": ["b", "a"]}


def test_with_scale_takes_the_reference_scale(bench):
    cutoffs = pd.to_datetime(["2020-01-01", "2020-01-08"])
    reference = pd.DataFrame(
        {"cutoff": cutoffs.repeat(2), "series": ["a", "b"] * 2, "step": 1, "scale": [1, 2, 3, 4]}
    )
    table = pd.DataFrame(
        {"cutoff": cutoffs[[1, 0]], "series": ["b", "a"], "actual": [5.0, 6.0], "scale": 9.0}
    )
    out = bench.with_scale(table, reference)
    assert out["scale"].tolist() == [4, 1]
    assert table["scale"].tolist() == [9.0, 9.0]  # input untouched
    with pytest.raises(ValueError, match="scale"):
        bench.with_scale(table.assign(series="c"), reference)
