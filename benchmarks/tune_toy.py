"""Tune the periodic Latent ODE of ``bench_toy.py`` on *validation* seeds (issue #8, section 1).

The benchmark scores seeds 0 and 1; this script trains and scores the Latent ODE on other seeds
(default 7 and 8: their own data, weights and test series), so nothing is chosen on the
benchmark's test series. Each variant changes one setting of ``bench_toy.periodic_model`` or of
the loss; everything else (data, budget, optimiser) is the benchmark's. One difference: here
each batch is an extrapolation batch (encoder sees the first half) with probability
``extrap_share`` (0.5 by default), drawn at random, where the benchmark alternates the two
kinds of batch step by step.

Run::

    python benchmarks/tune_toy.py --fraction 0.1 --variants base obs0.05 --seeds 7 8

Writes ``tune_toy.json`` (appending runs) and ``tune_toy.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_toy as bt  # noqa: E402

from tsnode.datasets import PeriodicData  # noqa: E402
from tsnode.nn.latent_ode import LatentODE  # noqa: E402

#: variant name -> (LatentODE keyword overrides, loss options). Every variant without a latent
#: size in its name runs at latent dim 10, the benchmark's default when it was measured (the
#: default is now 4: the "latent4" rows).
_VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "base": ({}, {}),
    "obs0.03": ({"obs_std": 0.03}, {}),
    "obs0.1": ({"obs_std": 0.1}, {}),
    "latent2": ({"latent_dim": 2}, {}),
    "latent3": ({"latent_dim": 3}, {}),
    "latent4": ({"latent_dim": 4}, {}),
    "latent6": ({"latent_dim": 6}, {}),
    # time_scale s with step PERIODIC_STEP / s: the same solver cost, a field 1/s times faster
    "ts0.5": ({"time_scale": 0.5, "options": {"step_size": 0.1}}, {}),
    "ts0.25": ({"time_scale": 0.25, "options": {"step_size": 0.2}}, {}),
    "std0.01": ({"encoder_init_std": 0.01}, {}),
    "std0.01_latent4": ({"latent_dim": 4, "encoder_init_std": 0.01}, {}),
    "std0.01_latent2": ({"latent_dim": 2, "encoder_init_std": 0.01}, {}),
    "std0.01_latent3": ({"latent_dim": 3, "encoder_init_std": 0.01}, {}),
    "std0.01_latent4_lr0.02": ({"latent_dim": 4, "encoder_init_std": 0.01}, {"lr": 2e-2}),
    "std0.01_latent4_x34": ({"latent_dim": 4, "encoder_init_std": 0.01}, {"extrap_share": 0.75}),
    # bench_toy's checkpoint protocol: keep the weights of lowest validation loss (round 5)
    "std0.01_latent4_ckpt": ({"latent_dim": 4, "encoder_init_std": 0.01}, {"checkpoint": True}),
    # ... with the benchmark's own loss (alternating batch kinds): the benchmark's protocol
    "bench": (
        {"latent_dim": 4, "encoder_init_std": 0.01},
        {"checkpoint": True, "bench_loss": True},
    ),
    # ... trained twice from independent weights, the lower validation loss kept (round 8)
    "bench_restarts2": (
        {"latent_dim": 4, "encoder_init_std": 0.01},
        {"checkpoint": True, "bench_loss": True, "restarts": 2},
    ),
    "latent4_step0.1": ({"latent_dim": 4, "options": {"step_size": 0.1}}, {}),
    "latent4_sub1": ({"latent_dim": 4, "encoder_substeps": 1}, {}),
    "latent4_b200": ({"latent_dim": 4}, {"batch_size": 200}),
    "ts0.25_latent4": ({"time_scale": 0.25, "options": {"step_size": 0.2}, "latent_dim": 4}, {}),
    "iwae3": ({}, {"n_samples": 3, "iwae": True}),
    "extrap3of4": ({}, {"extrap_share": 0.75}),
    "kl_half": ({}, {"kl_ramp": 0.5}),
    "freebits": ({}, {"free_bits": 0.5}),
    "gapin": ({"encoder_gap_input": True}, {}),
    "gapin_obs0.1": ({"encoder_gap_input": True, "obs_std": 0.1}, {}),
    "gapin_obs0.3": ({"encoder_gap_input": True, "obs_std": 0.3}, {}),
    "gapin_mid": ({"encoder_gap_input": True, "solver": "midpoint"}, {}),
    "gapin_x34": ({"encoder_gap_input": True}, {"extrap_share": 0.75}),
}
VARIANTS = {name: ({"latent_dim": 10} | kw, opts) for name, (kw, opts) in _VARIANTS.items()}


def make_loss(model: LatentODE, data: PeriodicData, opts: dict[str, Any]):
    times = data.times
    n_samples = int(opts.get("n_samples", 1))
    iwae = bool(opts.get("iwae", False))
    extrap_share = float(opts.get("extrap_share", 0.5))
    kl_ramp = float(opts.get("kl_ramp", 0.25))
    free_bits = float(opts.get("free_bits", 0.0))
    gen = torch.Generator().manual_seed(123)

    def loss(idx: torch.Tensor, step: int, progress: float) -> torch.Tensor:
        values, mask = data.values[idx], data.mask[idx]
        extrap = float(torch.rand((), generator=gen)) < extrap_share
        encoder_mask = bt.first_half(times, mask) if extrap else mask
        kl_weight = min(1.0, progress / kl_ramp)
        if free_bits > 0:
            out = model.elbo(
                times, values, encoder_mask, times, values, mask, n_samples=1, kl_weight=0.0
            )
            # out.loss is the reconstruction term only (kl_weight 0); add the clamped KL.
            n_obs = mask.sum()
            kl = torch.clamp(out.kl, min=free_bits)
            return out.loss + kl_weight * kl * len(idx) / n_obs
        return model.elbo(
            times,
            values,
            encoder_mask,
            times,
            values,
            mask,
            n_samples=n_samples,
            iwae=iwae,
            kl_weight=kl_weight,
        ).loss

    return loss


def train_and_score(
    overrides: dict[str, Any],
    opts: dict[str, Any],
    init_seed: int,
    data: tuple,
    val: PeriodicData | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One training of the variant's Latent ODE from ``init_seed``; its test scores."""
    train, test, interp_at, extrap_at = data
    torch.manual_seed(init_seed)
    model = bt.periodic_model("latent_ode", False, **overrides)
    g = torch.Generator().manual_seed(init_seed)
    validate = None
    if val is not None:
        validate = bt.validation_loss(
            bt.periodic_loss("latent_ode", model, val), model, len(val.values)
        )
    loss = (
        bt.periodic_loss("latent_ode", model, train)
        if opts.get("bench_loss")
        else make_loss(model, train, opts)
    )
    info = bt.train_for(
        loss,
        model,
        n_train=args.n_train,
        batch_size=int(opts.get("batch_size", 50)),
        budget_s=args.budget,
        lr=float(opts.get("lr", 1e-2)),
        generator=g,
        validate=validate,
    )
    predictions = bt.periodic_predict("latent_ode", model, test, g, bt.encoder_bank(model, train))
    out = {"steps": info["steps"], "final_loss": info["final_loss"]}
    if validate is not None:
        out |= {"best_at": info["best_at"], "val_loss": info["val_loss"]}
    for name, (interp, extrap) in predictions.items():
        suffix = name.removeprefix("latent_ode")
        out[f"interp_mse{suffix}"] = float(((interp - test.truth)[interp_at] ** 2).mean())
        out[f"extrap_mse{suffix}"] = float(((extrap - test.truth)[extrap_at] ** 2).mean())
    return out


def run(variant: str, fraction: float, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train and score ``variant`` on ``seed``'s data. With ``restarts`` in its options, every
    restart is trained and scored (validation seeds: scoring them all is allowed) and the one
    of lowest validation loss is reported, as ``bench_toy.train_best_of`` keeps it; the
    per-restart scores are kept under ``restarts``."""
    torch.set_num_threads(1)
    overrides, opts = VARIANTS[variant]
    data = bt.periodic_split(args.n_train, args.n_test, fraction, seed)
    init_seed = seed if args.init_seed is None else args.init_seed
    val = None
    if opts.get("checkpoint"):
        val = bt.periodic_validation(args.n_val, fraction, seed)
    per_restart = [
        train_and_score(overrides, opts, init_seed + bt.RESTART_SEED_STRIDE * r, data, val, args)
        for r in range(int(opts.get("restarts", 1)))
    ]
    kept = min(range(len(per_restart)), key=lambda r: per_restart[r].get("val_loss", 0.0))
    out = {
        "variant": variant if args.init_seed is None else f"{variant}@init{init_seed}",
        "fraction": fraction,
        "seed": seed,
        "budget_s": args.budget,
    } | per_restart[kept]
    if len(per_restart) > 1:
        out |= {"kept_restart": kept, "restarts": per_restart}
    print(json.dumps(out), flush=True)
    return out


def render(runs: list[dict[str, Any]]) -> str:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in runs:
        readouts = ("interp_mse_refined" in r) + ("interp_mse_bank" in r)
        groups.setdefault((r["fraction"], r["variant"], r["budget_s"], readouts), []).append(r)
    lines = [
        "# Periodic Latent ODE tuning on validation seeds (not the benchmark's seeds 0, 1)",
        "",
        "Command: `python benchmarks/tune_toy.py --fraction F --variants V --seeds S [--budget B]`"
        " (each row: one such command; the variants are defined in the script).",
        "",
        "How the refined read-out was chosen: after the variants below without it, a diagnosis "
        "on seed 7 (base, 10%) showed the amortised z0 missing the points it had encoded "
        "(reconstruction MSE 0.016 against noise variance 0.0001) with 16 nearly identical "
        "posterior draws (variance 1e-4), while an exact Bayes posterior over (frequency, "
        "phase) reaches extrapolation MSE 0.018 there. Refinement settings were screened on "
        "that seed-7 model (100 or 200 steps, 4 or 16 restarts, start spread 0 / 0.5 / 1, "
        "restart weights mean / best / softmax at temperature 100 and 1000; extrapolation "
        "0.213 before, 0.139-0.167 after); the defaults of `tsnode.nn.refine_z0` (100 steps, "
        "16 restarts, spread 0.5, temperature 100: 0.142) were then run on both validation "
        "seeds below (rows with the refined columns) before the benchmark used them. Also "
        "screened on seed 7 with a throw-away diagnostic (100 CPU-s each, amortised "
        "extrapolation MSE): midpoint decoder steps 0.188, extrapolation-training share 0.75 "
        "with gap input 0.166, gap input with obs std 0.3 0.220, lr 3e-3 0.213, another weight "
        "initialisation 0.167; none was adopted.",
        "",
        "Second round (latent size; benchmark default latent dim 10 -> 4): the 10-dim model's "
        "training often sat on a plateau at loss ~2525 (every series decoded to ~0) for half "
        "the budget or all of it (base on seed 9; latent 3 and 6 on seed 7). Latent 4 beat base "
        "on refined 10% extrapolation on every validation seed (0.087 / 0.037 / 0.199 on seeds "
        "7 / 8 / 9 against 0.136 / 0.043 / 0.495) and had the lowest mean over seeds 7 and 9 "
        "(0.143); its variants batch 200 (0.089 / 0.197: 0.143) and one encoder substep (0.095 "
        "/ 0.387) gained nothing, so the plain latent-4 model was adopted. Screened with a throw-away diagnostic (same `run`, "
        "not appended to the table; refined extrapolation): time scale 0.25 (a 4x faster field "
        "at the same step cost) never left the plateau on seed 7 (0.503); the encoder's "
        "posterior std initialised at 0.01 instead of ~0.69 (variants `std0.01*`) removed the "
        "plateau (the loss falls from the first steps) but not the error: 0.129 / 0.229 "
        "(latent 10) and 0.104 / 0.195 (latent 4) on seeds 7 / 9. Then the benchmark run with "
        "latent 4 (code c4e5cd4) plateaued on its test seed 0 at 30% observed (extrapolation "
        "0.498). As the plateau is a matter of chance rather than of tuning, the narrow start "
        "was adopted with latent 4 (`LatentODE(encoder_init_std=0.01)`, row `std0.01_latent4`, "
        "10% on seeds 8 / 7 / 9 and 30% on seeds 7 / 9 run after that decision; at 30% it "
        "matches latent 4 alone: 0.0022 / 0.0052 against 0.0022 / 0.0079) and the benchmark "
        "re-run; this is disclosed in the README. Last, `refine_z0`'s settings were re-screened on "
        "`std0.01_latent4` models of seeds 7 / 9 (10%, refined extrapolation, one throw-away "
        "script): defaults 0.111 / 0.190, 64 restarts 0.107 / 0.191, 300 steps 0.109 / 0.196, "
        "temperature 10 0.110 / 0.187, temperature 1000 0.114 / 0.195, start spread 1.0 0.107 "
        "(seed 7 only); no change was adopted. With the narrow start, lr 0.02 instead of 0.01 "
        "(row `std0.01_latent4_lr0.02`) decoded every series to ~0 on both seeds: the plateau "
        "also comes back with too large steps. Extrapolation batches 3 times in 4 (row "
        "`std0.01_latent4_x34`): 0.089 / 0.171 against 0.090 / 0.197, a gain on seed 9 only, "
        "too small to reach the 10% target; not adopted.",
        "",
        "Third round (the bank read-out, `latent_ode_bank`). First, rows `std0.01_latent2` and "
        "`std0.01_latent3` (refined 0.144 / 0.174 and 0.145 / 0.242 on seeds 7 / 9) and 3x the "
        "budget for `std0.01_latent4` (refined 0.080 / 0.130 against 0.090 / 0.197; the GRU's "
        "`gru_maskfwd` on the same seeds, throw-away run of `bench_toy.run_periodic`: 0.0885 / "
        "0.164 at 100 CPU-s, 0.0715 / 0.144 at 300) were not adopted. Then a diagnosis on a "
        "`std0.01_latent4` model of seed 9 (10%, throw-away scripts): refined extrapolation "
        "0.188; the best of each series' 16 restarts picked with the truth, 0.097; z0 fitted to "
        "the whole noise-free series, 0.0099 (the model can draw the right paths); an exact "
        "Bayes posterior over (frequency, phase), 0.039. With 3 / 4 / 5 / 6 encoded points in "
        "the first half the best restart fitted them to a median RMS of 0.002 / 0.006 / 0.009 / "
        "0.016 and extrapolated at 0.31 / 0.21 / 0.11 / 0.085, while the z0 fitted to the truth "
        "fits those points only to ~0.047 (the model's own error) and extrapolates at 0.011 / "
        "0.012 / 0.011 / 0.007: at obs std 0.01 the likelihood prefers paths that thread the "
        "few points and follow no training series. A wider likelihood in the refinement (std "
        "0.03 / 0.1 / 0.3) did worse (0.19 / 0.26 / 0.48 on seed 9, 0.10 / 0.16 / 0.43 on "
        "seed 7: the N(0, I) prior then pulls the paths to 0), and so did searching 1024 prior "
        "draws before refining (0.193 / 0.097 on seeds 9 / 7) or weighting prior draws alone "
        "(0.30 / 0.22). Searching the encoder's posterior means of the 4000 training series (a "
        "bank of z0 the data actually fill) did better: bank posterior mean at likelihood std "
        "0.01 / 0.02 / 0.05, 0.145 / 0.137 / 0.133 (seed 9) and 0.058 / 0.056 / 0.057 (seed "
        "7); the bank's best 16 then 10 / 30 / 100 Adam steps (restart weights at temperature "
        "100), 0.120 / 0.123 / 0.122 and 0.050 / 0.050 / 0.051; 4 / 16 / 64 restarts (10 "
        "steps), 0.154 / 0.130 / 0.133 and 0.065 / 0.056 / 0.058; a bank of refined training "
        "z0 (seed 9, std 0.05), 0.128; adding the states of the training paths every 0.5 time "
        "units on [0, 2.5] or [0, 5] (more candidates to over-fit with), 0.141 / 0.156 and "
        "0.071 / 0.077. `refine_z0(candidates=bank, n_steps=10)` with 16 restarts was then run "
        "through this script on seeds 7, 8 and 9 (the bank columns below: 0.060 / 0.015 / 0.131 "
        "against refined 0.112 / 0.025 / 0.194) and at 30% on seed 9 (0.0045 against 0.0047) "
        "before the benchmark used it as the read-out its targets are checked on.",
        "",
        "Fourth check (no choice made). The benchmark re-run with the GRU's own bank read-out "
        "(`gru_bank`, code 8974433) missed the 50% extrapolation target because the Latent ODE of "
        "test seed 0 trained badly (final loss 969 against 42 for seed 1; it was also the worse "
        "seed, 153 against 45, in the run before). The row `std0.01_latent4` at 50% on seeds "
        "9, 7, 8 and then 10 to 21 below asks whether that happens on validation seeds: it did "
        "not in any of the 15 runs (final losses 15 to 39, bank extrapolation 0.0015 to 0.0045, "
        "mean 0.0026), so there was nothing to tune a fix on and none was adopted. (This script "
        "draws extrapolation batches at random where the benchmark alternates them, see the "
        "module docstring.)",
        "",
        "Fifth round (a training-protocol change, decided before these runs). Until now "
        "`bench_toy.train_for` kept the last weights, where the library's own training loop "
        "(`tsnode.training`) keeps those of lowest validation loss. A throw-away re-training "
        "of test seed 0 at 50% (training loss only, nothing scored) ended at 65, against 969 in "
        "run 8974433: the failure is a matter of chance, not of the seed, and the training "
        "loss of both test seeds jumps by hundreds mid-run before it recovers. So the "
        "benchmark now checks every model's loss on 200 held-out validation series 20 times "
        "after the KL ramp and keeps the best weights (row `std0.01_latent4_ckpt`). This "
        "was prompted by a test-seed failure; to keep it from being chosen on the test "
        "seeds, the rule was written here before any run: run the checkpointed model at 50% "
        "on seeds 7 to 10 and at 10% on seeds 7 and 8; adopt it unless its mean bank "
        "extrapolation MSE over those runs is more than 10% above that of the same seeds' "
        "`std0.01_latent4` rows without the checkpoint. If it is adopted, the whole "
        "benchmark (both sections, every model) is re-run once and reported whatever it "
        "shows. Result: bank extrapolation 0.0026 / 0.0014 / 0.0035 / 0.0034 at 50% on seeds "
        "7 / 8 / 9 / 10 (without the checkpoint 0.0017 / 0.0020 / 0.0045 / 0.0022) and 0.057 / "
        "0.021 at 10% on seeds 7 / 8 (0.060 / 0.015); mean over the six runs 0.0149 against "
        "0.0142, +5%, inside the 10% allowed: adopted. The differences are of the size of the "
        "run-to-run noise (step counts follow CPU time); the kept weights were the last ones in "
        "3 of the 6 runs and those of 0.93 to 0.96 of the budget in the others. The re-run "
        "(code 7fe08ec) did not rescue test seed 0 at 50%: its training loss rose to the "
        "decode-everything-to-0 plateau (final 2397) right after the KL ramp, so the kept "
        "weights (0.25 of the budget) were bad too. It also kept early GRU weights on seed 0 "
        "(0.29 to 0.44 of the budget: the GRU's held-out one-step loss was lowest there), which "
        "made the GRU's read-outs worse than in the run before.",
        "",
        "Sixth check (no choice made). Row `bench` trains with the benchmark's own loss "
        "(alternating batch kinds) and checkpoint, the benchmark's exact protocol, at 50% on "
        "validation seeds 7 to 14: no run collapsed (final losses 14 to 43, kept at 0.85 to "
        "1.00, bank extrapolation 0.0018 to 0.0048, mean 0.0033). Across the runs at 50% so "
        "far, the collapse hit test seed 0 in 2 of its 4 runs (final losses 153, 969, 65 in a "
        "throw-away re-training, 2397) and none of the 27 runs on validation seeds, so there is "
        "still no failure to tune a remedy on; none was adopted and the test seeds were not "
        "re-run. Last, rows `bench@init0` give validation seeds 7 and 8 the weights and batch "
        "order of seed 0 (`--init-seed 0`; their data and test series stay their own): both "
        "trained normally (final losses 15.6 / 20.5, bank extrapolation 0.0019 / 0.0026), so "
        "seed 0's initialisation alone does not cause the collapse.",
        "",
        "Eighth round (a training-protocol change, rule written here before its runs). The "
        "collapse of test seed 0 at 50% cannot be tuned away on validation seeds (none "
        "collapses), but it can be *caught* without any threshold: its best validation loss "
        "in run 7fe08ec was 1211 against 22.8 for seed 1 and 14 to 51 on validation seeds, so "
        "training twice from independent weights and batch orders and keeping the restart "
        "with the lower validation loss (`bench_toy.train_best_of`, `--restarts 2`) drops a "
        "collapsed training whenever the other one trains normally. Every model gets the same "
        "restarts, each with the whole budget (twice the CPU time per model). Rule: run row "
        "`bench_restarts2` (the benchmark's protocol with 2 restarts; both restarts are "
        "trained and scored, which validation seeds allow) at 50% on seeds 7 to 10 and at 10% "
        "on seeds 7 and 8; adopt 2 restarts unless the mean bank extrapolation MSE of the "
        "kept restarts over those six runs is more than 10% above that of restart 0 (a single "
        "training, the protocol until now) on the same runs. If adopted, the whole benchmark "
        "(both sections, every model) is re-run once and reported whatever it shows. "
        "Result (rows `bench_restarts2`; commands `python benchmarks/tune_toy.py --fraction 0.5 "
        "--variants bench_restarts2 --seeds 7 8`, the same with `--seeds 9 10`, and "
        "`--fraction 0.1` with `--seeds 7` and `--seeds 8`, code c1182ce): bank extrapolation "
        "of the kept restart 0.0024 / 0.0041 / 0.0014 / 0.0041 at 50% on seeds 7 / 9 / 8 / 10 "
        "and 0.055 / 0.020 at 10% on seeds 7 / 8, against restart 0's 0.0020 / 0.0041 / 0.0018 "
        "/ 0.0216 and 0.055 / 0.020; mean over the six runs 0.0145 against 0.0175, 17% lower: "
        "adopted. Restart 0 of seed 10 at 50% trained badly this time (final loss 204, best "
        "validation loss 380, bank extrapolation 0.0216; in its earlier runs 0.0022 to 0.0046), "
        "the first such run on a validation seed in 28; its restart 1 (validation loss 89, "
        "0.0041) was kept. On seed 9 restart 1 was the weaker one (validation loss 98 against "
        "38, 0.0100 against 0.0041) and restart 0 was kept. At 10% the two restarts' validation "
        "losses were within 10% and so were their scores. The re-run of the whole benchmark "
        "(code 65174c6) met all ten targets: test seed 0's first training at 50% went wrong "
        "again (best validation loss 173) and its second (19.8) was kept, bank extrapolation "
        "0.0024 over both seeds against 0.0045 for `gru_bank`.",
        "",
        "| observed | variant | budget (CPU s) | seeds | interpolation MSE | extrapolation MSE "
        "| refined z0: interpolation | refined z0: extrapolation | bank z0: interpolation "
        "| bank z0: extrapolation | steps |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (fraction, variant, budget, _), rs in sorted(groups.items()):
        seeds = ", ".join(str(r["seed"]) for r in rs)
        cells = []
        for key in (
            "interp_mse",
            "extrap_mse",
            "interp_mse_refined",
            "extrap_mse_refined",
            "interp_mse_bank",
            "extrap_mse_bank",
        ):
            got = [r[key] for r in rs if key in r]
            if len(got) < len(rs):
                cells.append("not run")
                continue
            per = " / ".join(f"{x:.4f}" for x in got)
            cells.append(f"{statistics.fmean(got):.4f} ({per})")
        steps = round(statistics.fmean(r["steps"] for r in rs))
        lines.append(
            f"| {fraction:.0%} | {variant} | {budget:g} | {seeds} | "
            + " | ".join(cells)
            + f" | {steps} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--variants", nargs="+", default=["base"], choices=sorted(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8])
    parser.add_argument("--budget", type=float, default=100.0)
    parser.add_argument("--n-train", type=int, default=4000)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--n-val", type=int, default=200, help="validation series (checkpoint)")
    parser.add_argument(
        "--init-seed",
        type=int,
        default=None,
        help="seed of the weights and batch order instead of --seeds' (data stays per seed)",
    )
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)
    if any(s in (0, 1) for s in args.seeds):
        parser.error("seeds 0 and 1 are the benchmark's test seeds; tune on others")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # before hours of training, not after
    path = out / "tune_toy.json"
    start = time.perf_counter()
    for variant in args.variants:
        for seed in args.seeds:
            result = run(variant, args.fraction, seed, args)
            with open(out / ".tune_toy.lock", "w") as lock:  # concurrent runs append safely
                fcntl.flock(lock, fcntl.LOCK_EX)
                runs = json.loads(path.read_text()) if path.exists() else []
                runs.append(result)
                path.write_text(json.dumps(runs, indent=1) + "\n")
                (out / "tune_toy.md").write_text(render(runs))
    print(f"wall {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
