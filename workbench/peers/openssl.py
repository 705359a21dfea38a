"""OpenSSL's s_server and s_client as peers.

Both read commands on standard input, one per line (send_line): "k" / "K" send a TLS 1.3
KeyUpdate (update_not_requested / update_requested), "R" renegotiates (TLS 1.2, client),
"r" sends a HelloRequest (TLS 1.2, server), "Q" closes. Anything else is sent as data.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .handshake import Handshake, host_port, is_ip_address, require_loopback
from .process import DEFAULT_LIFETIME, PeerError, PeerProcess

if TYPE_CHECKING:
    from .netns import PrivateNetwork

PathLike = str | os.PathLike[str]

# "ACCEPT" alone for a given port, "ACCEPT 127.0.0.1:41147" when the kernel chose it (port 0).
_ACCEPT = re.compile(r"^ACCEPT(?:\s+\[?([^\]\s]+?)\]?:(\d+))?\s*$", re.MULTILINE)
# The summary s_client prints once the handshake is over, successful or not (not with -quiet/-brief).
_SUMMARY = re.compile(r"^(New|Reused), (\S+), Cipher is (\S+)\s*$.*?^\s*Verify return code: (\d+)",
                      re.MULTILINE | re.DOTALL)


def _paths(*pairs: tuple[str, PathLike | None]) -> list[str]:
    argv: list[str] = []
    for option, value in pairs:
        if value is not None:
            argv += [option, os.fspath(value)]
    return argv


class OpenSSLServer(PeerProcess):
    """`openssl s_server` on a loopback address. start() returns once it accepts connections.

    port=0 lets the kernel choose; the port it got is `server.port` after start().
    cert holds the leaf (only its first certificate is read); intermediates go in chain.
    """

    def __init__(
        self,
        cert: PathLike,
        key: PathLike,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        chain: PathLike | None = None,
        ca: PathLike | None = None,
        args: Sequence[str] = (),
        keylog: PathLike | None = None,
        netns: PrivateNetwork | None = None,
        env: Mapping[str, str] | None = None,
        lifetime: float = DEFAULT_LIFETIME,
        ready_timeout: float = 15.0,
    ) -> None:
        self.host = require_loopback(host)
        self.port = port
        self.ready_timeout = ready_timeout
        argv = ["openssl", "s_server", "-accept", host_port(host, port)]
        argv += _paths(("-cert", cert), ("-key", key), ("-cert_chain", chain),
                       ("-CAfile", ca), ("-keylogfile", keylog))
        super().__init__([*argv, *args], env=env, netns=netns, lifetime=lifetime)

    def start(self) -> OpenSSLServer:
        super().start()
        match = self.wait_until_ready(_ACCEPT, self.ready_timeout)
        if match.group(2):
            self.port = int(match.group(2))
        return self


class OpenSSLClient(PeerProcess):
    """`openssl s_client` connecting to host:port.

    With ca, the server's chain and name are verified and the handshake fails otherwise;
    without it s_client reports the verification error and carries on. wait_for_handshake()
    reads the summary s_client prints, so leave out -quiet and -brief.
    """

    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        servername: str | None = "localhost",
        ca: PathLike | None = None,
        cert: PathLike | None = None,
        key: PathLike | None = None,
        chain: PathLike | None = None,
        args: Sequence[str] = (),
        keylog: PathLike | None = None,
        netns: PrivateNetwork | None = None,
        env: Mapping[str, str] | None = None,
        lifetime: float = DEFAULT_LIFETIME,
    ) -> None:
        self.host = host
        self.port = port
        argv = ["openssl", "s_client", "-connect", host_port(host, port)]
        if servername is None or is_ip_address(servername):
            argv.append("-noservername")  # SNI carries DNS names only
        else:
            argv += ["-servername", servername]
        if ca is not None:
            argv += ["-CAfile", os.fspath(ca), "-verify_return_error"]
            if servername is not None:
                argv += ["-verify_ip" if is_ip_address(servername) else "-verify_hostname", servername]
        argv += _paths(("-cert", cert), ("-key", key), ("-cert_chain", chain), ("-keylogfile", keylog))
        self.verify_required = ca is not None or "-verify_return_error" in args
        super().__init__([*argv, *args], env=env, netns=netns, lifetime=lifetime)

    def wait_for_handshake(self, timeout: float = 15.0, *, since: int = 0) -> Handshake:
        """Wait for the handshake summary; raises PeerError when the handshake failed.

        s_client prints the summary even when it aborts the handshake over the server's
        certificate, so a non-zero verify code fails the handshake when verification was asked for.
        """
        match = self.wait_for_output(_SUMMARY, timeout, since=since)
        protocol, cipher, verify_code = match.group(2), match.group(3), int(match.group(4))
        if cipher == "(NONE)":
            raise PeerError(self._describe("reported a failed handshake"))
        if self.verify_required and verify_code != 0:
            raise PeerError(self._describe(f"refused the server's certificate (verify return code {verify_code})"))
        return Handshake(version=protocol.removeprefix("TLSv"), cipher=cipher, resumed=match.group(1) == "Reused")
