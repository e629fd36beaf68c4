"""``python -m tsnode``: the ``tsnode`` command line (same as the ``tsnode`` script)."""

from __future__ import annotations

import sys

from tsnode.cli import main

if __name__ == "__main__":
    sys.exit(main())
