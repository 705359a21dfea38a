"""The notebook front end: ipywidgets views and controls over one timeline.

The only package that imports ipywidgets / IPython. The renderers (render/), the runs (runs/) and the
helpers around them are plain Python and can be imported without a notebook; the widgets load on first
use of `Workbench`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .widgets.app import Workbench

__all__ = ["Workbench"]


def __getattr__(name: str):
    if name == "Workbench":
        from .widgets.app import Workbench
        return Workbench
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
