"""What a person can choose in the workbench, what this engine and this machine can do, and the engine
configurations that follow from the choices.

`RunOptions` is the state of the controls as plain data (so runs can be tested without widgets).
`EngineFeatures.detect()` asks the engine what it offers (KeyUpdate, renegotiation, TLS 1.2, session
data, tickets, 0-RTT) and `PeerPrograms.detect()` which peer programs are installed; a choice that
cannot work here is offered disabled, with the reason, never faked.
"""
from __future__ import annotations

import dataclasses
import itertools
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from workbench.tls import ClientConfig, Connection, ServerConfig
from workbench.tls.cipher_suites import CIPHER_SUITES
from workbench.tls.enums import NamedGroup
from workbench.tls.errors import UsageError
from workbench.tls.key_exchange import SUPPORTED_GROUPS

TLS12 = 0x0303
TLS13 = 0x0304

# The pairs the workbench can run: (key, label). "ours" is our engine.
PAIRS = (
    ("inprocess", "our client ↔ our server (in-process, step by step)"),
    ("openssl-server", "our client → OpenSSL server (started on 127.0.0.1)"),
    ("gnutls-server", "our client → GnuTLS server (started on 127.0.0.1)"),
    ("openssl-client", "OpenSSL client → our server"),
    ("gnutls-client", "GnuTLS client → our server"),
    ("remote", "our client → HOST:PORT"),
)
PAIR_LABELS = dict(PAIRS)

VERSIONS = (("1.3", "TLS 1.3"), ("1.2", "TLS 1.2"), ("any", "TLS 1.3 or 1.2"))
CERTIFICATE_TYPES = ("ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072")


@dataclass
class RunOptions:
    pair: str = "inprocess"
    target: str = ""                    # HOST:PORT for pair "remote"
    version: str = "1.3"                # "1.3", "1.2", "any"
    suite: int | None = None            # None: the engine's defaults for the version
    group: int | None = None            # None: the engine's defaults
    certificate: str = "ecdsa-p256"
    tickets: int = 2                    # NewSessionTickets our server sends after a TLS 1.3 handshake
    early_data: bool = False            # our server accepts 0-RTT; a resuming client of ours sends some
    early_data_text: bytes = b"GET /early HTTP/1.1\r\n\r\n"
    step_mode: bool = True              # in-process: move records only when asked
    seed: int = 1                       # randomness of the in-process pair (same seed, same bytes)
    verify: bool = True                 # our client verifies the server certificate (remote targets)
    client_renegotiation: bool = True   # TLS 1.2: our server accepts renegotiations the client starts

    def versions(self) -> tuple[int, ...]:
        return {"1.3": (TLS13,), "1.2": (TLS12,), "any": (TLS13, TLS12)}[self.version]


def suites_for(version: str) -> list[tuple[str, int]]:
    wanted = {"1.3": (TLS13,), "1.2": (TLS12,), "any": (TLS13, TLS12)}[version]
    return [(info.name, code) for code, info in CIPHER_SUITES.items() if info.version in wanted]


def groups() -> list[tuple[str, int]]:
    return [(NamedGroup(g).name.lower(), int(g)) for g in SUPPORTED_GROUPS]


# --- what the engine offers --------------------------------------------------------------------------------

def _accepts(factory: Callable[[], object]) -> bool:
    try:
        factory()
    except (UsageError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class EngineFeatures:
    """What this version of the engine can do; `missing(name)` says why not, in words."""
    tls12: bool
    key_update: bool
    renegotiate: bool
    renegotiate_abbreviated: bool
    session_data: bool
    resume: bool
    tickets: bool
    early_data: bool

    @classmethod
    def detect(cls) -> "EngineFeatures":
        client_fields = {f.name for f in dataclasses.fields(ClientConfig)}
        server_fields = {f.name for f in dataclasses.fields(ServerConfig)}
        tls12 = "versions" in client_fields and _accepts(
            lambda: ClientConfig(versions=(TLS12,), verify_peer=False))
        return cls(
            tls12=tls12,
            key_update=hasattr(Connection, "key_update"),
            renegotiate=tls12 and hasattr(Connection, "renegotiate"),
            renegotiate_abbreviated=tls12 and hasattr(Connection, "renegotiate_abbreviated"),
            session_data=hasattr(Connection, "session_data"),
            resume=("session_data" in client_fields) or hasattr(Connection, "set_session_data"),
            tickets="ticket_count" in server_fields,
            early_data="max_early_data" in server_fields and hasattr(Connection, "send_early_data"),
        )

    def missing(self, name: str) -> str | None:
        reasons = {
            "tls12": "this engine does not speak TLS 1.2 yet",
            "key_update": "this engine has no KeyUpdate yet",
            "renegotiate": "this engine has no TLS 1.2 renegotiation yet",
            "renegotiate_abbreviated": "this engine has no abbreviated renegotiation yet",
            "session_data": "this engine cannot export session data yet",
            "resume": "this engine cannot resume a session yet",
            "tickets": "this engine sends no session tickets yet",
            "early_data": "this engine has no 0-RTT early data yet",
        }
        return None if getattr(self, name) else reasons[name]


# --- randomness and time that repeat ----------------------------------------------------------------------

def seeded_rng(seed: int, label: str) -> Callable[[int], bytes]:
    """A byte source that gives the same bytes for the same (seed, label): one per side and connection."""
    return random.Random(f"{seed}:{label}").randbytes


class SteppingClock:
    """A clock that starts at `start` and moves `step` seconds at each reading: reproducible timestamps."""

    def __init__(self, start: float, step: float = 0.001) -> None:
        self._ticks = itertools.count()
        self.start = start
        self.step = step
        self.last = start

    def __call__(self) -> float:
        self.last = self.start + next(self._ticks) * self.step
        return self.last


# --- certificates -----------------------------------------------------------------------------------------

class Credentials:
    """One test CA per workbench, and a localhost leaf per key type (made on first use), also as PEM files
    for peer programs."""

    def __init__(self) -> None:
        from workbench.pki import TestCA
        self.ca = TestCA.create()
        self._identities: dict[str, object] = {}
        self._dir: Path | None = None

    def identity(self, key_type: str):
        identity = self._identities.get(key_type)
        if identity is None:
            identity = self.ca.issue(hostnames=("localhost", "127.0.0.1"), key_type=key_type)
            self._identities[key_type] = identity
        return identity

    @property
    def directory(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="tls-workbench-ui-"))
        return self._dir

    def pem_files(self, key_type: str) -> tuple[Path, Path, Path]:
        """(ca.pem, leaf.pem, leaf.key) on disk."""
        ca = self.directory / "ca.pem"
        if not ca.exists():
            self.ca.write_pem(ca)
        cert, key = self.directory / f"{key_type}.pem", self.directory / f"{key_type}.key"
        if not cert.exists():
            self.identity(key_type).write_pem(cert, key)
        return ca, cert, key


# --- engine configurations ----------------------------------------------------------------------------------

def _common(options: RunOptions, features: EngineFeatures) -> dict:
    kwargs: dict = {}
    fields = {f.name for f in dataclasses.fields(ClientConfig)}
    if "versions" in fields:
        kwargs["versions"] = options.versions()
    elif options.version != "1.3":
        raise UsageError(features.missing("tls12") or "TLS 1.2 is not available")
    if options.suite is not None:
        kwargs["cipher_suites"] = (options.suite,)
    if options.group is not None:
        kwargs["supported_groups"] = (options.group,)
    return kwargs


def client_config(options: RunOptions, features: EngineFeatures, *, trust_anchors=(), server_name="localhost",
                  verify: bool = True, rng=None, clock=None, session_data: bytes | None = None) -> ClientConfig:
    kwargs = _common(options, features)
    kwargs.update(server_name=server_name, trust_anchors=tuple(trust_anchors), verify_peer=verify,
                  check_hostname=verify)
    if rng is not None:
        kwargs["rng"] = rng
    if clock is not None:
        kwargs["clock"] = clock
    if session_data is not None:
        if not features.resume:
            raise UsageError(features.missing("resume"))
        kwargs["session_data"] = session_data
    return ClientConfig(**kwargs)


def server_config(options: RunOptions, features: EngineFeatures, identity, *, rng=None, clock=None) -> ServerConfig:
    kwargs = _common(options, features)
    kwargs.update(certificate_chain=identity.certificate_chain, private_key=identity.private_key)
    if features.tickets:
        kwargs["ticket_count"] = options.tickets
    if "allow_client_renegotiation" in {f.name for f in dataclasses.fields(ServerConfig)}:
        kwargs["allow_client_renegotiation"] = options.client_renegotiation
    if options.early_data:
        if not features.early_data:
            raise UsageError(features.missing("early_data"))
        kwargs["max_early_data"] = 16384
    if rng is not None:
        kwargs["rng"] = rng
    if clock is not None:
        kwargs["clock"] = clock
    return ServerConfig(**kwargs)


def pair_availability() -> dict[str, str | None]:
    """For each pair: None when it can run on this machine, else why not (a missing program, no root)."""
    from workbench.peers import missing_reason, why_netns_unavailable
    gnutls_server = missing_reason("gnutls-serv") or why_netns_unavailable()
    return {
        "inprocess": None,
        "openssl-server": missing_reason("openssl"),
        "gnutls-server": gnutls_server and f"{gnutls_server} (gnutls-serv listens on every interface, so it "
                                           f"runs in a private network namespace)",
        "openssl-client": missing_reason("openssl"),
        "gnutls-client": missing_reason("gnutls-cli"),
        "remote": None,
    }


def workbench_epoch() -> float:
    """A whole second near now: in-process runs count their clock from here (certificates are valid)."""
    return float(int(time.time()))


__all__ = ["CERTIFICATE_TYPES", "Credentials", "EngineFeatures", "PAIRS", "PAIR_LABELS", "RunOptions",
           "SteppingClock", "VERSIONS", "client_config", "groups", "pair_availability", "seeded_rng", "server_config",
           "suites_for", "workbench_epoch"]
