"""The verdicts and the Markdown report of ``bench_prices.py`` (issue #8, sections 3-4)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from _prices_settings import COVERAGE_TOLERANCE, MASE_TARGET, NEURAL, QUANTILES, TSNODE_MEMBERS

__all__ = ["degradation", "targets", "write_markdown"]


def targets(scores: dict[str, dict[int, dict[str, Any]]], horizons: list[int]) -> list[dict]:
    """Section 3 targets for tsnode at every horizon, with the figures."""
    rows = []
    ts, gbm = scores["tsnode"], scores.get("gbm")
    for h in horizons:
        r = ts[h]
        checks = [
            ("MASE vs random walk <= 1.02", r["mase_rel"], r["mase_rel"] <= MASE_TARGET),
            (
                "scaled CRPS <= GBM's",
                r["crps_rel_gbm"],
                gbm is not None and r["crps_scaled"] <= gbm[h]["crps_scaled"],
            ),
            (
                "80% coverage in [75%, 85%]",
                r["coverage_80"],
                abs(r["coverage_80"] - 0.8) <= COVERAGE_TOLERANCE + 1e-12,
            ),
            (
                "90% coverage in [85%, 95%]",
                r["coverage_90"],
                abs(r["coverage_90"] - 0.9) <= COVERAGE_TOLERANCE + 1e-12,
            ),
        ]
        for name, value, met in checks:
            rows.append({"horizon": h, "target": name, "value": value, "met": bool(met)})
    return rows


def degradation(
    full: dict[str, dict[int, dict[str, Any]]],
    sparse: dict[str, dict[int, dict[str, Any]]],
    horizons: list[int],
) -> list[dict]:
    """Section 4: change of scaled CRPS and coverage error from full to thinned data."""
    rows = []
    for name in [n for n in NEURAL if n in full and n in sparse]:
        for h in horizons:
            a, b = full[name][h], sparse[name][h]
            err = {
                lvl: (abs(a[f"coverage_{lvl}"] - lvl / 100), abs(b[f"coverage_{lvl}"] - lvl / 100))
                for lvl in (80, 90)
            }
            rows.append(
                {
                    "model": name,
                    "horizon": h,
                    "crps_scaled_full": a["crps_scaled"],
                    "crps_scaled_thinned": b["crps_scaled"],
                    "crps_ratio": b["crps_scaled"] / a["crps_scaled"],
                    "coverage_80_full": a["coverage_80"],
                    "coverage_80_thinned": b["coverage_80"],
                    "coverage_90_full": a["coverage_90"],
                    "coverage_90_thinned": b["coverage_90"],
                    # increase of the mean absolute coverage error (80% and 90%), in points
                    "coverage_error_change": 100
                    * (
                        np.mean([e[1] for e in err.values()])
                        - np.mean([e[0] for e in err.values()])
                    ),
                }
            )
    return rows


# ----------------------------------------------------------------------------- report


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "met" if value else "**NOT met**"
    if isinstance(value, int):
        return str(value)
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _score_table(scores: dict[str, dict[int, dict[str, Any]]], horizons: list[int]) -> list[str]:
    head = (
        "| model | h | MASE | MASE/RW | CRPS | CRPS (scaled) | CRPS/GBM | cov 80% | cov 90% "
        "| dir. acc. | DM stat | DM p | Sharpe | Sharpe B&H | n |"
    )
    lines = [head, "|" + "---|" * 15]
    for h in horizons:
        for name, rows in scores.items():
            r = rows[str(h)]
            cells = [name, str(h)]
            cells += [_fmt(r[k]) for k in ("mase", "mase_rel", "crps", "crps_scaled")]
            cells += [_fmt(r[k]) for k in ("crps_rel_gbm", "coverage_80", "coverage_90")]
            cells += [_fmt(r[k]) for k in ("directional_accuracy", "dm_stat", "dm_pvalue")]
            cells += [_fmt(r["sharpe"], 2), _fmt(r["sharpe_buy_and_hold"], 2), str(r["count"])]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _spread_table(scores: dict[str, dict[int, dict[str, Any]]], horizons: list[int]) -> list[str]:
    keys = ("mase_rel", "crps_scaled", "coverage_80", "coverage_90", "sharpe")
    lines = ["| model | h | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 2)]
    for name in [n for n in NEURAL if n in scores]:
        for h in horizons:
            r = scores[name][str(h)]
            if f"{keys[0]}_std" not in r:
                continue
            cells = [
                f"{_fmt(r[k])} ± {_fmt(r[k + '_std'])} [{_fmt(r[k + '_min'])}, "
                f"{_fmt(r[k + '_max'])}]"
                for k in keys
            ]
            lines.append(f"| {name} | {h} | " + " | ".join(cells) + " |")
    return lines


def _by_series_lines(by_series: dict[str, dict[Any, dict[str, float]]] | None) -> list[str]:
    """MASE/RW per ticker (absent from runs made before it was recorded)."""
    if not by_series:
        return []
    tickers = list(next(iter(next(iter(by_series.values())).values())))
    lines = [
        "",
        "MASE / random walk's MASE per ticker (seed mean; the pooled figure above weighs every "
        "ticker by its forecast count):",
        "",
        "| model | h | " + " | ".join(tickers) + " |",
        "|" + "---|" * (len(tickers) + 2),
    ]
    for name, rows in by_series.items():
        for h, row in rows.items():
            cells = " | ".join(_fmt(row.get(t)) for t in tickers)
            lines.append(f"| {name} | {h} | {cells} |")
    return lines


def _maps_lines(maps: dict[str, list[dict]] | None, n_members: int = 1) -> list[str]:
    """One line per seed: tsnode's calibration map of each fit (training window end).

    For an ensemble the maps of one refit are its members', in member order.
    """
    if not maps:
        return []
    lines = [
        "",
        "tsnode's fitted calibration maps (log_spread, slope, drift; identity 0, 0, 1), one "
        f"per fit{' (of every ensemble member)' if n_members > 1 else ''}, by the last "
        "training day:",
        "",
    ]
    for seed, fits in maps.items():
        cells = [
            f"{f['train_end']} ({_fmt(f['log_spread'], 2)}, {_fmt(f['slope'], 2)}, "
            f"{_fmt(f['drift'], 2)})"
            for f in fits
        ]
        lines.append(f"- seed {seed}: " + "; ".join(cells))
    return lines


def _members_lines(n_members: int) -> list[str]:
    """The settings bullet that says what "tsnode" is when it is a seed ensemble."""
    if n_members == 1:
        return []
    chosen = (
        "chosen on 2005-03 .. 2011-02 by the fourth tuning round"
        if n_members == TSNODE_MEMBERS
        else "NOT the pre-registered configuration: the fourth tuning round, on 2005-03 .. "
        "2011-02, kept the single model, so these figures are for information and decide "
        "nothing"
    )
    return [
        f"- tsnode = `EnsembleForecaster` of {n_members} `TSNodeForecaster` members (an "
        f"equal-weight mixture of seeds, each member calibrated on its own tail), {chosen} "
        "(`results/tune_prices_round4.md`); `tsnode_single` = one `TSNodeForecaster` with the "
        f"run's seed, shown for comparison (1/{n_members} of the compute). The seed of a tsnode "
        "run seeds its members. The GRU is a single model."
    ]


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """Human-readable summary of ``report`` (the JSON content)."""
    s = report["settings"]
    horizons = s["horizons"]
    lines = [
        "# Real-price walk-forward benchmark (issue #8, sections 3-4)",
        "",
        f"Command: `{report['command']}`  ",
        f"Code: {report['code']}.  ",
        f"Run: {report['date']} on {report['machine']}, n_jobs 1, "
        f"total wall time {report['wall_seconds'] / 60:.1f} min.",
        "",
        "## Settings",
        "",
        f"- Tickers: {', '.join(s['tickers'])} (daily adjusted closes, shipped samples"
        + (
            "; FB is left out: listed 2012-05, it has no 2-year history to evaluate on)."
            if "FB" not in s["tickers"]
            else ")."
        ),
        f"- Evaluation period: the last {s['eval_days']} trading days, {s['eval_start']} .. "
        f"{s['eval_end']}; {s['n_cutoffs']} cutoffs every {s['step']} trading days, "
        f"horizons {horizons} trading days (one 20-step backtest scored at each horizon).",
        f"- Training: sliding window of {s['train_days']} trading days before each refit; "
        f"refit every {s['refit_every']} cutoffs ({s['n_folds']} fits per run), `update` "
        "(no weight change) in between. One global model over all tickers.",
        "- Models at library defaults, nothing tuned on this period (tsnode's default "
        "solver was chosen on 2009-03 .. 2011-02, its calibration on 2005-03 .. 2011-02, "
        "with `benchmarks/tune_prices.py`). "
        f"Training budget (reduced from the "
        f"library defaults, epochs {s['default_epochs']}, to fit the compute budget of "
        f"<= 25 min on 2 shared cores): tsnode `{s['tsnode_params']}`; GRU "
        f"`{s['gru_params']}`. Seeds {s['seeds']} for the neural models; the baselines are "
        "deterministic.",
        *_members_lines(s.get("tsnode_members", 1)),
        f"- {len(QUANTILES)} quantile levels {QUANTILES[0]:g}, {QUANTILES[1]:g}, ..., "
        f"{QUANTILES[-1]:g} (CRPS = twice their mean pinball loss); 80% interval = (0.1, 0.9), "
        "90% = (0.05, 0.95).",
        "- MASE/RW = MASE relative to the random walk; CRPS in price units (pooled, "
        "dominated by GOOG); CRPS (scaled) = CRPS / in-sample one-step naive MAE "
        "(unit free, every ticker weighs the same); CRPS/GBM uses the scaled CRPS. DM = "
        "Diebold-Mariano vs the random walk on squared scaled errors (negative: better "
        "than the random walk). Sharpe: long/flat on the sign of the h-step forecast, "
        "rebalanced every cutoff at the next close, 5 bps costs; B&H = buy-and-hold on "
        "the same bars. Neural models: mean over seeds. The random walk forecasts no move, "
        "so its directional accuracy only counts unchanged prices as hits.",
        "",
        "## Section 3: real prices",
        "",
        *_score_table(report["section3"]["scores"], horizons),
        "",
        "Seed spread (mean ± std [min, max] over seeds):",
        "",
        *_spread_table(report["section3"]["scores"], horizons),
        *_by_series_lines(report["section3"].get("mase_rel_by_series")),
        "",
        "### Targets (tsnode, seed mean)",
        "",
        "| h | target | value | verdict |",
        "|---|---|---|---|",
    ]
    for t in report["section3"]["targets"]:
        lines.append(f"| {t['horizon']} | {t['target']} | {_fmt(t['value'])} | {_fmt(t['met'])} |")
    missed = [t for t in report["section3"]["targets"] if not t["met"]]
    lines += [
        "",
        f"{len(missed)} of {len(report['section3']['targets'])} targets NOT met."
        if missed
        else "All targets met.",
        *_maps_lines(report["section3"].get("calibration_maps"), s.get("tsnode_members", 1)),
    ]
    sec4 = report.get("section4")
    if sec4:
        lines += [
            "",
            "## Section 4: calibration under irregular sampling",
            "",
            f"{int(100 * s['drop_fraction'])}% of the trading days of every ticker dropped at "
            "random (independently per ticker, seed 12345); same cutoffs and trading-day "
            "horizons; the dropped days stay as NaN rows and are not scored. Trading uses the "
            "true prices. MASE and the scaled CRPS use the full-data scale of each cutoff "
            "(one-step naive MAE of the complete training window), so that full and thinned "
            "scores are comparable. Scores on the thinned data:",
            "",
            *_score_table(sec4["scores"], horizons),
            "",
            "Seed spread on the thinned data:",
            "",
            *_spread_table(sec4["scores"], horizons),
            "",
            "Degradation, full vs thinned data, on the same scored rows (targets observed in "
            "the thinned data). Coverage error = mean of |coverage - nominal| over the 80% "
            "and 90% intervals; its change is in percentage points (negative: closer to "
            "nominal on the thinned data). A CRPS ratio above 1 is a degradation.",
            "",
            "| model | h | CRPS full | CRPS thinned | ratio | cov80 full → thinned "
            "| cov90 full → thinned | coverage error change (pp) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in sec4["degradation"]:
            lines.append(
                f"| {r['model']} | {r['horizon']} | {_fmt(r['crps_scaled_full'])} | "
                f"{_fmt(r['crps_scaled_thinned'])} | {_fmt(r['crps_ratio'])} | "
                f"{_fmt(r['coverage_80_full'])} → {_fmt(r['coverage_80_thinned'])} | "
                f"{_fmt(r['coverage_90_full'])} → {_fmt(r['coverage_90_thinned'])} | "
                f"{_fmt(r['coverage_error_change'], 1)} |"
            )
        lines += ["", "| h | tsnode degrades less than the GRU in | verdict |", "|---|---|---|"]
        for v in sec4["verdicts"]:
            lines.append(f"| {v['horizon']} | {v['what']} | {_fmt(v['met'])} |")
        lines += _maps_lines(sec4.get("calibration_maps"), s.get("tsnode_members", 1))
    path.write_text("\n".join(lines) + "\n")


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
