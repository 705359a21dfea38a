"""Free TCP ports on loopback."""
from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on host a moment ago (the kernel picks it when binding port 0).

    Another process may take it before you bind it; prefer letting a server bind port 0 itself
    and report its port (OpenSSLServer does) when the program allows.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
