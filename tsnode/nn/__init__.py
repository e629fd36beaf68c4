"""Torch-only building blocks of tsnode (never imports pandas)."""

from tsnode.nn.encoder import ODERNNEncoder
from tsnode.nn.gru import GapGRU
from tsnode.nn.latent_ode import ELBOResult, LatentODE, LatentODEOutput
from tsnode.nn.ode import SOLVERS, NeuralODE, NonFiniteStateError, SolverError
from tsnode.nn.refine import RefinedZ0, encode_bank, refine_z0

__all__ = [
    "NeuralODE",
    "SolverError",
    "NonFiniteStateError",
    "SOLVERS",
    "ODERNNEncoder",
    "GapGRU",
    "LatentODE",
    "LatentODEOutput",
    "ELBOResult",
    "refine_z0",
    "encode_bank",
    "RefinedZ0",
]
