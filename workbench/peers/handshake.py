"""What a peer program reported about a completed handshake, in one shape for every program."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class Handshake:
    version: str   # "1.3", "1.2", ...
    cipher: str    # as the program names it: "TLS_AES_256_GCM_SHA384" (OpenSSL), "AES-256-GCM" (GnuTLS)
    resumed: bool


def is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def require_loopback(host: str) -> str:
    """host, if it is a loopback address; servers here never listen anywhere else."""
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"peers listen on a loopback address only (127.0.0.1 or ::1), not {host!r}")
    return host


def host_port(host: str, port: int) -> str:
    """host:port, with an IPv6 address in brackets."""
    bare = host.strip("[]")
    return f"[{bare}]:{port}" if ":" in bare else f"{bare}:{port}"
