"""Shared pytest configuration.

Torch runs single-threaded in tests: the suite itself runs on 2 cores next to joblib workers,
and oversubscribed intra-op threads made small ops 10-20x slower.

Hypothesis runs derandomized, with no example database: every run (CI's included) tries the
same examples, so a green suite stays green. ``HYPOTHESIS_PROFILE=explore`` draws fresh
random examples instead, to look for new failures.
"""

import os

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

torch.set_num_threads(1)

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
