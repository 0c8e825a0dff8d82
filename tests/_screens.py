"""Where browser tests put their screenshots.

By default under tests/artifacts/ (ignored by git), so a test run leaves the tree clean. With
``UPDATE_SCREENSHOTS=1`` they replace the pictures in docs/img/ that the README shows.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def screenshot_path(name: str) -> Path:
    """The file a screenshot called ``name`` goes to (its folder exists)."""
    update = os.environ.get("UPDATE_SCREENSHOTS", "") == "1"
    folder = ROOT / "docs" / "img" if update else ROOT / "tests" / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
