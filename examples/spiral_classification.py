"""Classify two interleaved spirals with a Neural ODE: tsnode's origin story.

The whole model is one line of tsnode::

    out = NeuralODE(func, sensitivity="adjoint", solver="dopri5")(x)

a learned vector field ``func`` flows each input point for one unit of time (dopri5, gradients by
the adjoint method) and a linear readout classifies where it ends up.

Why the state is augmented
--------------------------
The flow of an ODE is a homeomorphism: trajectories cannot cross, so a flow in the plane can only
separate two interleaved spirals by continuously unwinding them, which a small tanh field learns
slowly (a quick try with a plain 2 -> 16 -> 2 field reached ~55% after 75 epochs). Following
Dupont et al. (2019), "Augmented Neural ODEs", each point ``(x, y)`` is lifted to
``(x, y, 0, ..., 0)`` with ``--augment-dim`` extra zero coordinates. In the higher-dimensional
space the two arms can be pulled apart along the extra directions, the flow stays simple (few
solver steps) and a linear readout of the final state separates the classes.

Choices
-------
- 5 extra dimensions and a 64-unit, two-layer tanh field: narrower fields (3 extra dimensions,
  32 units) also reach 95% on some seeds but get stuck near 78% on others; this size was stable
  over every seed tried (97.9-98.7% test accuracy, seeds 0-3).
- ``rtol = atol = 1e-3``: classification needs only the sign of a readout, so tight
  tolerances buy nothing; the forward solve then needs ~20-50 function evaluations.
- Mini-batches of 200 with Adam (lr 1e-2, cosine decay) for 40 epochs (200 steps): full-batch
  training with the same number of steps was less reliable.
- One torch thread: the matrices are tiny, so per-operation overhead dominates; on a busy
  2-core machine a second intra-op thread made each function evaluation many times slower.

The data are :func:`tsnode.datasets.make_spiral` (one turn, noise 0.1; the Bayes accuracy is
about 99%); the test set is a fresh draw of the same size.

Run from the repository root (or with tsnode installed)::

    python examples/spiral_classification.py --plot spiral.png

It prints the test accuracy, the wall time and the solver's function evaluations (NFE) per
forward/backward pass. The defaults reach >= 95% test accuracy in well under two minutes on
2 CPU cores.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from tsnode.datasets import make_spiral
from tsnode.nn.ode import NeuralODE


class VectorField(nn.Module):
    """Autonomous tanh MLP field ``dx/dt = f(x)`` on the augmented state, shape (B, dim)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
            nn.Linear(hidden, dim),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class AugmentedODEClassifier(nn.Module):
    """Pad with zeros, flow with a Neural ODE over [0, 1], read out class logits linearly.

    Input ``(B, 2)``, output logits ``(B, n_classes)``.
    """

    def __init__(
        self, *, augment_dim: int = 5, hidden: int = 64, n_classes: int = 2, rtol: float = 1e-3
    ) -> None:
        super().__init__()
        self.augment_dim = augment_dim
        dim = 2 + augment_dim
        self.ode = NeuralODE(
            VectorField(dim, hidden), sensitivity="adjoint", solver="dopri5", rtol=rtol, atol=rtol
        )
        self.readout = nn.Linear(dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x, x.new_zeros(x.shape[0], self.augment_dim)], dim=1)
        return self.readout(self.ode(x))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=40, help="passes over the training set")
    parser.add_argument("--n-points", type=int, default=1000, help="training (and test) points")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.1, help="spiral noise std")
    parser.add_argument("--augment-dim", type=int, default=5, help="extra zero dimensions")
    parser.add_argument("--hidden", type=int, default=64, help="vector-field hidden units")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--plot", metavar="PATH", help="save the decision boundary to PATH")
    parser.add_argument("--quiet", action="store_true", help="print only the final summary")
    args = parser.parse_args(argv)
    for name in ("epochs", "n_points", "augment_dim", "hidden", "batch_size", "threads"):
        minimum = 0 if name == "augment_dim" else 1
        if getattr(args, name) < minimum:
            parser.error(f"--{name.replace('_', '-')} must be >= {minimum}")
    return args


def _plot(model: nn.Module, X: torch.Tensor, y: torch.Tensor, path: str, acc: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lim = float(X.abs().max()) + 0.2
    grid = torch.linspace(-lim, lim, 200)
    gx, gy = torch.meshgrid(grid, grid, indexing="xy")
    with torch.no_grad():
        prob = model(torch.stack([gx.flatten(), gy.flatten()], dim=1)).softmax(dim=1)[:, 1]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(gx, gy, prob.view(200, 200), levels=20, cmap="RdBu_r", alpha=0.6)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", s=6, edgecolors="none")
    ax.set_title(f"Augmented Neural ODE, test accuracy {acc:.1%}")
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> float:
    """Train on a spiral, evaluate on a fresh spiral, return the test accuracy in [0, 1]."""
    args = _parse(argv)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(previous_threads)


def _run(args: argparse.Namespace) -> float:
    """Train and evaluate with parsed ``args``; returns the test accuracy."""
    torch.manual_seed(args.seed)
    X_train, y_train = make_spiral(args.n_points, noise=args.noise, random_state=args.seed)
    X_test, y_test = make_spiral(args.n_points, noise=args.noise, random_state=args.seed + 10_000)

    model = AugmentedODEClassifier(augment_dim=args.augment_dim, hidden=args.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    nfe_f = nfe_b = 0
    for epoch in range(args.epochs):
        order = torch.randperm(len(X_train))
        total = 0.0
        for lo in range(0, len(order), args.batch_size):
            idx = order[lo : lo + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(X_train[idx]), y_train[idx])
            nfe_f = model.ode.nfe_forward
            loss.backward()
            nfe_b = model.ode.nfe_backward
            optimizer.step()
            total += loss.item() * len(idx)
        scheduler.step()
        if not args.quiet and (epoch % 10 == 0 or epoch == args.epochs - 1):
            print(
                f"epoch {epoch + 1:4d}  loss {total / len(order):.4f}  "
                f"NFE forward {nfe_f:3d} backward {nfe_b:3d}"
            )
    train_time = time.perf_counter() - start

    model.eval()
    with torch.no_grad():
        accuracy = (model(X_test).argmax(dim=1) == y_test).float().mean().item()
    print(
        f"test accuracy {accuracy:.1%} on {len(X_test)} points; training {train_time:.1f} s "
        f"({args.epochs} epochs, {args.threads} thread(s))"
    )
    if args.plot:
        _plot(model, X_test, y_test, args.plot, accuracy)
        print(f"decision boundary saved to {args.plot}")
    return accuracy


if __name__ == "__main__":
    main()
