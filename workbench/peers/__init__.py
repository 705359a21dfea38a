"""OpenSSL and GnuTLS programs as peers on loopback: started, driven, bounded in time, stopped by PID."""
from .gnutls import GnuTLSClient, GnuTLSServer
from .handshake import Handshake
from .netns import NetnsUnavailable, PrivateNetwork, why_netns_unavailable
from .openssl import OpenSSLClient, OpenSSLServer
from .ports import free_port
from .process import PeerError, PeerExited, PeerProcess, PeerTimeout
from .programs import available, missing_reason, version

__all__ = [
    "GnuTLSClient",
    "GnuTLSServer",
    "Handshake",
    "NetnsUnavailable",
    "OpenSSLClient",
    "OpenSSLServer",
    "PeerError",
    "PeerExited",
    "PeerProcess",
    "PeerTimeout",
    "PrivateNetwork",
    "available",
    "free_port",
    "missing_reason",
    "version",
    "why_netns_unavailable",
]
