"""The packaged chip files: one `<NAME>.chip` per chip (format: docs/chip-model.md).

This folder holds data, not code: `axc.chip.load_chip` reads the files found here, and a
user adds a chip by writing a file (here, or anywhere and passing its path).
"""

from __future__ import annotations

from pathlib import Path

CHIPS_DIR = Path(__file__).resolve().parent
"""Where the packaged `*.chip` files live."""
