"""Torch-only building blocks of tsnode (never imports pandas)."""

from tsnode.nn.encoder import ODERNNEncoder
from tsnode.nn.gru import GapGRU
from tsnode.nn.latent_ode import ELBOResult, LatentODE, LatentODEOutput
from tsnode.nn.ode import SOLVERS, NeuralODE, SolverError

__all__ = [
    "NeuralODE",
    "SolverError",
    "SOLVERS",
    "ODERNNEncoder",
    "GapGRU",
    "LatentODE",
    "LatentODEOutput",
    "ELBOResult",
]
