"""Doctor tests build their archives with ``tests/archive/dsave.py``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "archive"))
