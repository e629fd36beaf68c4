"""Shared pytest configuration.

Torch runs single-threaded in tests: the suite itself runs on 2 cores next to joblib workers,
and oversubscribed intra-op threads made small ops 10-20x slower.
"""

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

torch.set_num_threads(1)
