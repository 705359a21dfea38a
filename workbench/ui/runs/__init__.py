"""What feeds the workbench's timeline: an in-process pair, a socket connection, a replayed capture."""
from .base import Run, SavedSession
from .capture import CaptureRun
from .inprocess import InProcessRun
from .sockets import SocketRun

__all__ = ["CaptureRun", "InProcessRun", "Run", "SavedSession", "SocketRun"]
