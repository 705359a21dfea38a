"""GnuTLS's gnutls-serv and gnutls-cli as peers.

gnutls-serv binds every interface and cannot be told otherwise, so GnuTLSServer runs only
inside a PrivateNetwork (see netns.py); gnutls-cli may run anywhere.
gnutls-cli with inline commands (the default here) reads "^rekey1^" (KeyUpdate, local only),
"^rekey^" (requests the peer's too), "^renegotiate^" and "^resume^" on standard input.
GnuTLS writes a key log to the file named by SSLKEYLOGFILE.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .handshake import Handshake, is_ip_address
from .ports import free_port
from .process import DEFAULT_LIFETIME, PeerError, PeerProcess

if TYPE_CHECKING:
    from .netns import PrivateNetwork

PathLike = str | os.PathLike[str]

_LISTENING = re.compile(r"listening on IPv4 \S+ port (\d+)\.\.\.done")
# How gnutls-cli ends a handshake: its first one, a resumed one, a rehandshake it started itself
# (^renegotiate^), or one the server asked for with a HelloRequest; and each way one fails.
_COMPLETED = re.compile(r"^(?:- (?:(?P<resumed>Resume )?Handshake|ReHandshake) was completed"
                        r"|\*\*\* Rehandshake was performed\.)"
                        r"|^\*\*\* (?P<failed>(?:Re)?Handshake has failed|Rehandshake Failed|Fatal error).*$",
                        re.MULTILINE)
_DESCRIPTION = re.compile(r"^- Description: (.*)$", re.MULTILINE)


def _keylog_env(keylog: PathLike | None, env: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(env or {})
    if keylog is not None:
        merged["SSLKEYLOGFILE"] = os.fspath(keylog)
    return merged


class GnuTLSServer(PeerProcess):
    """`gnutls-serv` (an echo server by default) inside a private network namespace.

    port=None picks a free port inside the namespace. start() returns once it listens.
    gnutls-serv asks for a client certificate by default and accepts an empty one.
    """

    def __init__(
        self,
        cert: PathLike,
        key: PathLike,
        *,
        netns: PrivateNetwork,
        port: int | None = None,
        echo: bool = True,
        ca: PathLike | None = None,
        args: Sequence[str] = (),
        keylog: PathLike | None = None,
        env: Mapping[str, str] | None = None,
        lifetime: float = DEFAULT_LIFETIME,
        ready_timeout: float = 15.0,
    ) -> None:
        if netns is None:
            raise ValueError(
                "gnutls-serv listens on every interface; run it in a PrivateNetwork "
                "(workbench.peers.PrivateNetwork, needs root) so that it is reachable on loopback only"
            )
        if port is None:
            with netns.entered():
                port = free_port()
        self.host = "127.0.0.1"
        self.port = port
        self.ready_timeout = ready_timeout
        argv = ["gnutls-serv", "-p", str(port), "--x509certfile", os.fspath(cert), "--x509keyfile", os.fspath(key)]
        if ca is not None:
            argv += ["--x509cafile", os.fspath(ca)]
        if echo:
            argv.append("--echo")
        super().__init__([*argv, *args], env=_keylog_env(keylog, env), netns=netns, lifetime=lifetime)

    def start(self) -> GnuTLSServer:
        super().start()
        self.wait_until_ready(_LISTENING, self.ready_timeout)
        return self


class GnuTLSClient(PeerProcess):
    """`gnutls-cli` connecting to host:port.

    With ca, the server's chain and name are verified (the handshake fails otherwise);
    without it, --insecure skips verification.
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
        inline_commands: bool = True,
        args: Sequence[str] = (),
        keylog: PathLike | None = None,
        netns: PrivateNetwork | None = None,
        env: Mapping[str, str] | None = None,
        lifetime: float = DEFAULT_LIFETIME,
    ) -> None:
        self.host = host
        self.port = port
        argv = ["gnutls-cli", "-p", str(port)]
        if servername is not None and not is_ip_address(servername):
            argv += ["--sni-hostname", servername]
        if ca is not None:
            argv += ["--x509cafile", os.fspath(ca)]
            if servername is not None:
                argv += ["--verify-hostname", servername]
        else:
            argv.append("--insecure")
        if cert is not None:
            argv += ["--x509certfile", os.fspath(cert)]
        if key is not None:
            argv += ["--x509keyfile", os.fspath(key)]
        if inline_commands:
            argv.append("--inline-commands")
        super().__init__([*argv, *args, host], env=_keylog_env(keylog, env), netns=netns, lifetime=lifetime)

    def wait_for_handshake(self, timeout: float = 15.0, *, since: int = 0) -> Handshake:
        """Wait for "Handshake was completed" (or a rehandshake's "ReHandshake was completed" /
        "Rehandshake was performed." after `since`); raises PeerError when the handshake failed."""
        match = self.wait_for_output(_COMPLETED, timeout, since=since)
        if match.group("failed"):
            raise PeerError(self._describe(f"reported a failed handshake: {match.group(0)!r}"))
        descriptions = list(_DESCRIPTION.finditer(self.output, since, match.start()))
        if not descriptions:
            raise PeerError(self._describe("completed a handshake without describing it"))
        parts = re.findall(r"\(([^)]*)\)", descriptions[-1].group(1))
        version = re.match(r"TLS(\d\.\d)", parts[0]) if parts else None
        if version is None:
            raise PeerError(self._describe(f"printed an unexpected description {descriptions[-1].group(0)!r}"))
        return Handshake(version=version.group(1), cipher=parts[-1], resumed=match.group("resumed") is not None)
