"""The key-changing commands of the interactive client and server, as in `openssl s_client` / `s_server`.

Typed alone on a line:
    k   TLS 1.3 KeyUpdate, update_not_requested
    K   TLS 1.3 KeyUpdate, update_requested (the peer answers with its own)
    R   TLS 1.2 renegotiation: a full handshake (client); a HelloRequest (server)
    r   TLS 1.2 abbreviated renegotiation, resuming the session (client); a HelloRequest (server)

Each schedules the work on the engine and performs it at once (SSL_do_handshake), so it goes out
before anything typed next; a renegotiation then completes as the session keeps reading. On the
wrong protocol version (k on TLS 1.2, R on TLS 1.3) the reason is shown and nothing is sent.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.tls.enums import KeyUpdateType
from workbench.tls.errors import UsageError

from .terminal import Command, Outcome

if TYPE_CHECKING:
    from .terminal import CommandTable, Session


def _perform(session: "Session", method: str, *args, done: str) -> Outcome:
    try:
        session.tls.call(method, *args)
        session.tls.call("do_handshake")
    except UsageError as exc:
        session.notice(f"not done: {exc}")
        return Outcome.CONTINUE
    session.notice(done)
    return Outcome.CONTINUE


def key_update_command(update_type: KeyUpdateType) -> Command:
    requested = update_type is KeyUpdateType.REQUESTED
    done = "KEYUPDATE sent (update_requested: the peer updates its keys too)" if requested else \
        "KEYUPDATE sent (update_not_requested)"
    return Command(lambda session: _perform(session, "key_update", update_type, done=done),
                   "TLS 1.3 KeyUpdate, " + ("update_requested" if requested else "update_not_requested"))


def renegotiate_command(role: str, abbreviated: bool) -> Command:
    method = "renegotiate_abbreviated" if abbreviated else "renegotiate"
    if role == "server":
        return Command(lambda session: _perform(session, method, done="HelloRequest sent: renegotiation requested"),
                       "TLS 1.2: ask the client to renegotiate (HelloRequest)")
    what = "abbreviated renegotiation (resumes the session)" if abbreviated else "full renegotiation"
    return Command(lambda session: _perform(session, method, done=f"RENEGOTIATING: {what}"), f"TLS 1.2 {what}")


def key_commands(role: str) -> "CommandTable":
    """k, K, R and r for a "client" or a "server"."""
    return {
        "k": key_update_command(KeyUpdateType.NOT_REQUESTED),
        "K": key_update_command(KeyUpdateType.REQUESTED),
        "R": renegotiate_command(role, abbreviated=False),
        "r": renegotiate_command(role, abbreviated=True),
    }
