"""Whether a process is still there, by its PID: how the peer tests check that a program was stopped."""
from __future__ import annotations

import os


def gone(pid: int) -> bool:
    """True when no process has this PID any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
