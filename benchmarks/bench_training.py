"""Training-cost benchmark (workload W1 of the performance issue).

W1: a batch of 64 windows of 120 irregular observation times (a business-day grid with ~30% of
days dropped at random), 1 feature, latent dim 16, encoder hidden 32, vector field MLP 2x64,
decoding the 120 points plus 20 future points.

Measures, in one process so the ratios are fair:
- median time per training step (forward + backward + Adam) of tsnode's default configuration
  and of each solver/sensitivity option, and of the GRU-with-time-gap baseline network;
- forward/backward function evaluations per step, and their evolution over 300 training steps;
- peak memory of adjoint vs autograd at sequence lengths 120, 500 and 2000;
- step time at sequence lengths 60, 120, 250, 500 and the fitted scaling exponent.

Run:  python benchmarks/bench_training.py [--quick] [--out benchmarks/results]
Writes ``training.json`` and ``training.md`` to the output folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from tsnode.nn.gru import GapGRU
from tsnode.nn.latent_ode import LatentODE

TIME_SCALE_DAYS = 30.0


def make_w1(n_series: int = 64, n_obs: int = 120, n_future: int = 20, seed: int = 0):
    """Windows on a business-day grid with ~30% of days dropped; times in days from 0."""
    rng = np.random.default_rng(seed)
    times, values = [], []
    for _ in range(n_series):
        n_days = int((n_obs + n_future) / 0.6 * 7 / 5) + 30  # enough weekdays to drop 30%
        grid = np.flatnonzero(np.arange(n_days) % 7 < 5).astype(float)
        keep = np.sort(
            rng.permutation(np.flatnonzero(rng.random(len(grid)) > 0.3))[: n_obs + n_future]
        )
        t = grid[keep] - grid[keep][n_obs - 1]  # time 0 = last context point, as tsnode does
        times.append(t)
        values.append(np.cumsum(rng.normal(0, 0.05, len(t))))
    union = np.unique(np.concatenate(times))
    b, q = n_series, len(union)
    enc_t = np.stack([t[:n_obs] for t in times])
    enc_v = np.stack([v[:n_obs] for v in values])[..., None]
    tv = np.zeros((b, q, 1))
    tm = np.zeros((b, q, 1))
    for i, (t, v) in enumerate(zip(times, values, strict=True)):
        pos = np.searchsorted(union, t)
        tv[i, pos, 0] = v
        tm[i, pos, 0] = 1
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return {
        "times": f(enc_t),
        "values": f(enc_v),
        "mask": torch.ones(b, n_obs, 1),
        "t_query": f(union),
        "target_values": f(tv),
        "target_mask": f(tm),
    }


def latent_ode(solver: str, sensitivity: str, step_size: float | None = None) -> LatentODE:
    from tsnode import TSNodeForecaster
    from tsnode.nn.ode import FIXED_STEP_SOLVERS

    step_size = TSNodeForecaster().step_size if step_size is None else step_size
    options = {"step_size": step_size} if solver in FIXED_STEP_SOLVERS else None
    return LatentODE(
        1,
        latent_dim=16,
        hidden_dim=32,
        ode_units=64,
        ode_layers=2,
        solver=solver,
        sensitivity=sensitivity,
        options=options,
        time_scale=TIME_SCALE_DAYS,
    )


def ode_step(model, opt, w, n_samples=None):
    if n_samples is None:
        from tsnode import TSNodeForecaster

        n_samples = TSNodeForecaster().n_samples_train
    r = model.elbo(
        w["times"],
        w["values"],
        w["mask"],
        w["t_query"],
        w["target_values"],
        w["target_mask"],
        n_samples=n_samples,
        t0=0.0,
    )
    opt.zero_grad(set_to_none=True)
    r.loss.backward()
    opt.step()
    return model.nfe_forward, model.nfe_backward


def gru_step(model, opt, w):
    # The GRU sees the whole 140-point window on each series' own times.
    loss = model.loss(w["gru_times"], w["gru_values"], w["gru_mask"])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def gru_inputs(w):
    b = w["target_values"].shape[0]
    q = w["t_query"]
    counts = w["target_mask"][..., 0].sum(1).long()
    n = int(counts.max())
    times = torch.zeros(b, n)
    values = torch.zeros(b, n, 1)
    mask = torch.zeros(b, n, 1)
    for i in range(b):
        idx = torch.nonzero(w["target_mask"][i, :, 0]).squeeze(1)
        times[i, : len(idx)] = q[idx] / TIME_SCALE_DAYS
        times[i, len(idx) :] = q[idx[-1]] / TIME_SCALE_DAYS
        values[i, : len(idx)] = w["target_values"][i, idx]
        mask[i, : len(idx)] = 1
    return times, values, mask


def median_time(fn, n_steps: int, warmup: int = 2) -> float:
    """Median CPU seconds of ``fn`` (process time: robust to other load on a shared machine).

    With one intra-op thread, CPU time equals the step's compute; wall time on a busy 2-core
    machine mostly measures the neighbours.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n_steps):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def paired_median_times(fn, baseline, n_steps: int, warmup: int = 2) -> tuple[float, float]:
    """Median CPU seconds of ``fn`` and ``baseline``, timed alternately under the same load."""
    for _ in range(warmup):
        fn()
        baseline()
    a, b = [], []
    for _ in range(n_steps):
        start = time.process_time()
        fn()
        a.append(time.process_time() - start)
        start = time.process_time()
        baseline()
        b.append(time.process_time() - start)
    return statistics.median(a), statistics.median(b)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps, for a smoke run")
    parser.add_argument(
        "--out",
        default=None,
        help="results folder (default benchmarks/results; benchmarks/results/quick with --quick, so a smoke run never overwrites the committed results)",
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.out is None:
        results = Path(__file__).resolve().parent / "results"
        args.out = str(results / "quick" if args.quick else results)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n_steps = 3 if args.quick else 20
    nfe_steps = 10 if args.quick else 300
    w = make_w1()
    w["gru_times"], w["gru_values"], w["gru_mask"] = gru_inputs(w)
    results: dict = {"workload": "W1", "threads": args.threads, "torch": torch.__version__}

    gru = GapGRU(1, hidden_size=32)
    gru_opt = torch.optim.Adam(gru.parameters(), 1e-3)
    gru_time = median_time(lambda: gru_step(gru, gru_opt, w), n_steps)
    results["gru_step_s"] = gru_time

    from tsnode import TSNodeForecaster

    default = TSNodeForecaster()
    configs = [
        (default.solver, default.sensitivity, default.step_size, "default"),
        ("euler", "autograd", 0.25, ""),
        ("midpoint", "autograd", 0.5, ""),
        ("midpoint", "autograd", 0.25, ""),
        ("rk4", "autograd", 0.25, ""),
        ("dopri5", "autograd", None, ""),
        ("rk4", "adjoint", 0.25, ""),
        ("dopri5", "adjoint", None, ""),
    ]
    seen = set()
    rows = []
    for solver, sensitivity, step_size, tag in configs:
        from tsnode.nn.ode import FIXED_STEP_SOLVERS

        step_size = step_size if solver in FIXED_STEP_SOLVERS else None
        if (solver, sensitivity, step_size) in seen:
            continue  # the default is also listed among the options
        seen.add((solver, sensitivity, step_size))
        torch.manual_seed(0)
        model = latent_ode(solver, sensitivity, step_size)
        opt = torch.optim.Adam(model.parameters(), 3e-3)
        nfe = []

        def step(model=model, opt=opt, nfe=nfe):
            nfe.append(ode_step(model, opt, w))

        # The adjoint is 10-50x slower per step: 5 timed steps keep the script under ~15 min.
        t, t_gru = paired_median_times(
            step,
            lambda: gru_step(gru, gru_opt, w),
            n_steps if sensitivity == "autograd" else min(n_steps, 5),
        )
        rows.append(
            {
                "solver": solver,
                "sensitivity": sensitivity,
                "step_size": step_size,
                "default": tag == "default",
                "step_s": t,
                "gru_step_s": t_gru,
                "ratio_vs_gru": t / t_gru,
                "nfe_forward": statistics.median(n[0] for n in nfe),
                "nfe_backward": statistics.median(n[1] for n in nfe),
            }
        )
        print(rows[-1], flush=True)
    results["configs"] = rows
    results["ablation"] = ablation(w, gru, gru_opt, n_steps)

    # NFE evolution of the adaptive solver over training.
    torch.manual_seed(0)
    model = latent_ode("dopri5", "autograd")
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    trace = [ode_step(model, opt, w)[0] for _ in range(nfe_steps)]
    head = statistics.mean(trace[: max(1, nfe_steps // 10)])
    tail = statistics.mean(trace[-max(1, nfe_steps // 10) :])
    results["dopri5_nfe_trace"] = {
        "first": head,
        "last": tail,
        "growth": tail / head,
        "every_10": trace[::10],
    }
    print(results["dopri5_nfe_trace"], flush=True)

    # Memory of the latent ODE solve across the window: bytes kept for the backward pass.
    memory = []
    for length in (120, 500) if args.quick else (120, 500, 2000):
        wl = make_w1(n_series=16, n_obs=length, n_future=20)
        for sensitivity in ("autograd", "adjoint"):
            torch.manual_seed(0)
            model = latent_ode("rk4", sensitivity)
            peak = _decoder_graph_bytes(model, wl)
            memory.append(
                {"length": length, "sensitivity": sensitivity, "saved_tensor_mb": peak / 2**20}
            )
            print(memory[-1], flush=True)
    results["memory"] = memory

    scaling = []
    for length in (60, 120, 250, 500):
        wl = make_w1(n_obs=length, n_future=20)
        torch.manual_seed(0)
        model = latent_ode(default.solver, default.sensitivity)
        opt = torch.optim.Adam(model.parameters(), 3e-3)
        t = median_time(
            lambda model=model, opt=opt, wl=wl: ode_step(model, opt, wl),
            max(3, n_steps // 4),
            warmup=1,
        )
        scaling.append({"length": length, "step_s": t})
        print(scaling[-1], flush=True)
    lengths = np.log([s["length"] for s in scaling])
    secs = np.log([s["step_s"] for s in scaling])
    results["scaling"] = {"points": scaling, "exponent": float(np.polyfit(lengths, secs, 1)[0])}

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "training.json").write_text(json.dumps(results, indent=2))
    (out / "training.md").write_text(render_markdown(results))
    print(render_markdown(results))
    return results


def ablation(w, gru, gru_opt, n_steps: int) -> list[dict]:
    """Step time of the default configuration with each speed lever of this release turned off.

    Levers: the fused Euler+GRU encoder scan with a hand-written backward
    (``tsnode.nn._scan``; off = the plain autograd loop of ``tsnode.nn.encoder``), and reading
    out only each series' own target times (``tsnode.nn.latent_ode._own_targets``; off = the
    readout and likelihood on the whole union grid). Timed alternately with the GRU.
    """
    from tsnode import TSNodeForecaster
    from tsnode.nn import encoder as encoder_module
    from tsnode.nn import latent_ode as latent_module

    fused, packing = encoder_module.euler_gru_scan, latent_module._own_targets

    def plain_scan(h, inputs, steps, observed, *args):
        # Requiring a gradient for the steps routes the scan through the autograd loop.
        dt = (steps.squeeze(-1) * args[-1]).requires_grad_()
        return encoder_module._reverse_scan(h, inputs, dt, observed.squeeze(-1), *args, "euler")

    default = TSNodeForecaster()
    variants = [
        ("all levers on", fused, packing),
        ("plain autograd encoder scan", plain_scan, packing),
        ("readout on the whole union grid", fused, lambda v, m: (None, v, m)),
        ("both off", plain_scan, lambda v, m: (None, v, m)),
    ]
    rows = []
    try:
        for name, scan, pack in variants:
            encoder_module.euler_gru_scan, latent_module._own_targets = scan, pack
            torch.manual_seed(0)
            model = latent_ode(default.solver, default.sensitivity)
            opt = torch.optim.Adam(model.parameters(), 3e-3)
            t, t_gru = paired_median_times(
                lambda model=model, opt=opt: ode_step(model, opt, w),
                lambda: gru_step(gru, gru_opt, w),
                n_steps,
            )
            rows.append(
                {"variant": name, "step_s": t, "gru_step_s": t_gru, "ratio_vs_gru": t / t_gru}
            )
            print(rows[-1], flush=True)
    finally:
        encoder_module.euler_gru_scan, latent_module._own_targets = fused, packing
    return rows


def _decoder_graph_bytes(model: LatentODE, w) -> int:
    """Bytes the latent ODE solve keeps for backward when integrating across the whole window.

    The solve goes from 0 to the window's span in one call with two output times, so the
    number is the solver's own memory (which grows with the number of steps for autograd and
    stays flat for the adjoint), not the per-query outputs every method must return.
    """
    total = 0

    def pack(tensor):
        nonlocal total
        total += tensor.numel() * tensor.element_size()
        return tensor

    span = float(w["t_query"].max() - w["t_query"].min()) / model.time_scale
    z0 = torch.randn(w["values"].shape[0], model.latent_dim, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        z = model.ode(z0, torch.tensor([0.0, span]))
    z[-1].sum().backward()
    return total


def render_markdown(results: dict) -> str:
    lines = [
        f"# Training cost, workload W1 ({results['threads']} thread(s), torch {results['torch']})",
        "",
        "CPU time per training step (forward + backward + Adam), medians; each configuration is",
        "timed alternately with the GRU-with-time-gap baseline so both see the same machine load.",
        "",
        f"GRU with time gap alone: {results['gru_step_s'] * 1e3:.1f} ms per step",
        "",
        "| solver | step | sensitivity | ms/step | GRU ms/step (paired) | × GRU | NFE fwd | NFE bwd |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results["configs"]:
        name = r["solver"] + (" (default)" if r["default"] else "")
        step = "adaptive" if r.get("step_size") is None else f"{r['step_size']:g}"
        lines.append(
            f"| {name} | {step} | {r['sensitivity']} | {r['step_s'] * 1e3:.1f} | "
            f"{r['gru_step_s'] * 1e3:.1f} | {r['ratio_vs_gru']:.2f} | "
            f"{r['nfe_forward']:.0f} | {r['nfe_backward']:.0f} |"
        )
    lines += [
        "",
        "Speed levers of the default configuration, each turned off in turn:",
        "",
        "| variant | ms/step | GRU ms/step (paired) | × GRU |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {a['variant']} | {a['step_s'] * 1e3:.1f} | {a['gru_step_s'] * 1e3:.1f} | "
        f"{a['ratio_vs_gru']:.2f} |"
        for a in results.get("ablation", [])
    ]
    trace = results["dopri5_nfe_trace"]
    lines += [
        "",
        f"dopri5 forward NFE over training: {trace['first']:.0f} → {trace['last']:.0f} "
        f"(×{trace['growth']:.2f})",
        "",
        "| length | sensitivity | saved tensors (MB) |",
        "|---|---|---|",
    ]
    lines += [
        f"| {m['length']} | {m['sensitivity']} | {m['saved_tensor_mb']:.1f} |"
        for m in results["memory"]
    ]
    lines += [
        "",
        f"Step time vs length: exponent {results['scaling']['exponent']:.2f} (1.0 = linear)",
        "",
    ]
    lines += [
        f"- length {s['length']}: {s['step_s'] * 1e3:.1f} ms" for s in results["scaling"]["points"]
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
