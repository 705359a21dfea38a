"""Transports around the sans-IO engine: blocking sockets, asyncio, and the in-process pair.

The engine (`workbench.tls`) never touches a socket; these adapters move its bytes and hand
its events to listeners (key log, event log, UI). `tap` is the hook a capture records from.

Names are imported on first use, so `workbench.transport.tap` stays importable on its own
(the capture layer needs only that).
"""
from importlib import import_module

_EXPORTS = {
    "TLSSocket": "blocking", "connect": "blocking", "listen": "blocking", "serve_one": "blocking",
    "HandshakeEOFError": "common",
    "InProcessPair": "inprocess", "Action": "inprocess", "RecordStep": "inprocess", "KeyView": "inprocess",
    "TrafficTap": "tap", "RecordingTap": "tap", "TappedChunk": "tap",
    "open_connection": "asyncio_adapter", "start_server": "asyncio_adapter", "TLSStreamWriter": "asyncio_adapter",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
