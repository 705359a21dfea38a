"""An interactive session over one TLS connection, like `openssl s_client` / `s_server`.

Lines read from an input file descriptor are sent to the peer; a line that is exactly a
command name (`Q`, later `k`, `K`, `R`, ...) runs that command instead. What the peer sends is
written to an output stream, or handed to a responder (echo, HTTP) that answers it. Both
directions flow at once: the loop waits on the socket and the input with select().
"""
from __future__ import annotations

import enum
import os
import select
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Protocol

from .blocking import TLSSocket
from .responders import Reply


class Outcome(enum.Enum):
    CONTINUE = "continue"
    CLOSE = "close"              # close this connection cleanly (close_notify)
    STOP = "stop"                # close it and stop serving (a server's `Q`)


@dataclass(frozen=True, slots=True)
class Command:
    """A single-word command typed alone on a line."""

    run: Callable[["Session"], Outcome]
    help: str


CommandTable = dict[str, Command]


class Responder(Protocol):
    def feed(self, data: bytes) -> Reply: ...


class LineInput:
    """Complete lines from a file descriptor read without blocking past what select() promised."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.at_eof = False
        self._partial = b""

    def fileno(self) -> int:
        return self.fd

    def read_lines(self) -> list[bytes]:
        """The lines completed by one read (newline included); at end of input, the unterminated rest too."""
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.at_eof = True
            rest, self._partial = self._partial, b""
            return [rest] if rest else []
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        return [line + b"\n" for line in lines]


class Ended(enum.Enum):
    """Why a session ended."""
    PEER_CLOSED = "the peer closed the connection (close_notify)"
    PEER_EOF = "the peer closed the TCP connection without close_notify"
    LOCAL_CLOSE = "closed by us (close_notify sent)"
    INPUT_DONE = "end of input and nothing more from the peer: closed (close_notify sent)"
    STOP = "closed by us (close_notify sent); stopping"


@dataclass
class Session:
    """One connection's interactive loop. `input` may be None (nothing to read from)."""

    tls: TLSSocket
    output: BinaryIO
    commands: CommandTable
    input: LineInput | None = None
    responder: Responder | None = None
    send_input: bool = True          # False: input lines are only commands (echo and HTTP modes)
    crlf: bool = False               # send input lines ending in CRLF
    notice: Callable[[str], None] = field(default=lambda message: None)

    def run(self, *, wait_after_input: float | None = None) -> Ended:
        """Move data both ways until one side closes.

        `wait_after_input`: once the input reaches its end, keep reading the peer for at most this
        many seconds, then close cleanly (None: the end of input changes nothing).
        """
        deadline = None
        while True:
            if self.tls.pending():
                outcome = self._from_peer(self.tls.read_available())
                if outcome is not Outcome.CONTINUE:
                    return self._close(outcome)
            if self.tls.at_eof:
                self.tls.close()       # nothing is sent: the connection is already over
                return Ended.PEER_CLOSED if self.tls.peer_sent_close_notify else Ended.PEER_EOF
            watch: list = [self.tls]
            if self.input is not None and not self.input.at_eof:
                watch.append(self.input)
            elif wait_after_input is not None and deadline is None:
                deadline = time.monotonic() + wait_after_input      # input over (or none): a last wait
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select(watch, [], [], timeout)
            if not readable:
                return self._close(Outcome.CLOSE, Ended.INPUT_DONE)
            if self.tls in readable:
                outcome = self._from_peer(self.tls.read_available())
                if outcome is not Outcome.CONTINUE:
                    return self._close(outcome)
            if self.input is not None and self.input in readable:
                for line in self.input.read_lines():
                    outcome = self._from_input(line)
                    if outcome is not Outcome.CONTINUE:
                        return self._close(outcome)

    def _from_peer(self, data: bytes) -> Outcome:
        if not data:
            return Outcome.CONTINUE
        if self.responder is None:
            self.output.write(data)
            self.output.flush()
            return Outcome.CONTINUE
        reply = self.responder.feed(data)
        if reply.data:
            self.tls.sendall(reply.data)
        return Outcome.CLOSE if reply.close else Outcome.CONTINUE

    def _from_input(self, line: bytes) -> Outcome:
        word = line.rstrip(b"\r\n").decode("utf-8", "replace")
        command = self.commands.get(word)
        if command is not None:
            return command.run(self)
        if not self.send_input:
            self.notice(f"input is not sent in this mode; commands: {', '.join(sorted(self.commands))}")
            return Outcome.CONTINUE
        if self.crlf and line.endswith(b"\n") and not line.endswith(b"\r\n"):
            line = line[:-1] + b"\r\n"
        self.tls.sendall(line)
        return Outcome.CONTINUE

    def _close(self, outcome: Outcome, ended: Ended | None = None) -> Ended:
        self.tls.close()
        if ended is not None:
            return ended
        return Ended.STOP if outcome is Outcome.STOP else Ended.LOCAL_CLOSE


def close_command(help_text: str = "close the connection cleanly (close_notify)") -> Command:
    return Command(lambda session: Outcome.CLOSE, help_text)


def stop_command(help_text: str = "close the connection cleanly and stop the server") -> Command:
    return Command(lambda session: Outcome.STOP, help_text)


def client_commands() -> CommandTable:
    """Commands of the interactive client (the table later commands are added to)."""
    from .key_commands import key_commands
    return {"Q": close_command("close the connection cleanly (close_notify) and exit"), **key_commands("client")}


def server_commands() -> CommandTable:
    """Commands of the interactive server (the table later commands are added to)."""
    from .key_commands import key_commands
    return {"q": close_command("close this connection cleanly (close_notify) and wait for the next"),
            "Q": stop_command(), **key_commands("server")}
