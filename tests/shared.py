"""Where the reference material beside the repository lives: RFC texts, real captures.

CI clones the repository with `shared/` beside it (`<repo>/../shared`); WORKBENCH_SHARED
overrides that, for a checkout kept elsewhere.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _find_shared() -> Path:
    configured = os.environ.get("WORKBENCH_SHARED")
    if configured:
        return Path(configured)
    for candidate in (REPO.parent / "shared", Path("/work/shared")):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared"


SHARED = _find_shared()
CAPTURES = SHARED / "captures"
REFERENCE = SHARED / "reference"
