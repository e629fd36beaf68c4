"""Settings shared by ``bench_prices.py`` and its report (``_prices_report.py``)."""

from __future__ import annotations

# 99 evenly spaced levels: the CRPS is the mean pinball loss over them (x2), a close
# approximation of the integral; the first runs used (0.05, 0.1, 0.5, 0.9, 0.95), a tail-heavy
# score 25-30% below the CRPS that flattered wide forecasts (an independent review found it).
QUANTILES = tuple(round(k / 100, 2) for k in range(1, 100))
NEURAL = ("tsnode", "tsnode_single", "gru")
BASELINES = ("naive", "drift", "gbm")
ALL_MODELS = ("tsnode", "tsnode_single", *BASELINES, "gru")
# Members of the benchmark's "tsnode" (an EnsembleForecaster when > 1; "tsnode_single" is then
# one member alone, for comparison). Chosen on the tuning period: the fourth round of
# tune_prices.py (results/tune_prices_round4.md) kept the single model, prior16, over ens3.
TSNODE_MEMBERS = 1
SCORES = (
    "mase",
    "mase_rel",
    "crps",
    "crps_scaled",
    "crps_rel_gbm",
    "coverage_80",
    "coverage_90",
    "directional_accuracy",
    "dm_stat",
    "dm_pvalue",
    "sharpe",
    "sharpe_buy_and_hold",
    "count",
)
MASE_TARGET = 1.02
COVERAGE_TOLERANCE = 0.05
