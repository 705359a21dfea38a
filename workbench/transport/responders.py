"""What a test server answers with: an echo, or a small HTTP page describing the connection.

A responder is fed the application data of one connection as it arrives and returns what to
send back, and whether to close afterwards. It knows nothing about sockets, so the blocking
server, an asyncio server or a notebook can all use it.
"""
from __future__ import annotations

from dataclasses import dataclass

from workbench.tls.enums import CipherSuite, NamedGroup, SignatureScheme, name_of

VERSION_NAMES = {0x0304: "TLSv1.3", 0x0303: "TLSv1.2", 0x0302: "TLSv1.1", 0x0301: "TLSv1.0"}
MAX_REQUEST_HEAD = 16384      # a request head longer than this is refused


@dataclass(frozen=True, slots=True)
class Reply:
    data: bytes = b""
    close: bool = False          # close the connection (close_notify) once `data` is sent


def describe_connection(handshake, *, peer: str | None = None) -> list[tuple[str, str]]:
    """(label, value) lines about a finished handshake (a `HandshakeComplete` event)."""
    def code(enum_cls, value, width=4):
        return "(none)" if value is None else f"{name_of(enum_cls, value)} (0x{value:0{width}x})"

    rows = [
        ("Protocol version", f"{VERSION_NAMES.get(handshake.version, 'unknown')} (0x{handshake.version:04x})"),
        ("Cipher suite", code(CipherSuite, handshake.cipher_suite)),
        ("Key exchange group", code(NamedGroup, handshake.group)),
        ("Signature scheme", code(SignatureScheme, handshake.signature_scheme)),
        ("ALPN protocol", handshake.alpn.decode("ascii", "replace") if handshake.alpn else "(none)"),
        ("Server name (SNI)", handshake.server_name or "(none)"),
        ("Resumed", "yes" if handshake.resumed else "no"),
        ("Peer certificates", str(len(handshake.peer_certificates))),
    ]
    if peer is not None:
        rows.append(("Peer address", peer))
    return rows


def format_rows(rows: list[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows) + 1
    return "".join(f"{label + ':':<{width}} {value}\n" for label, value in rows)


class EchoResponder:
    """Sends back whatever arrives."""

    def feed(self, data: bytes) -> Reply:
        return Reply(data)


class HttpResponder:
    """Answers each GET, once its blank line has arrived, with a page describing the connection.

    Like `openssl s_server -www` and `gnutls-serv --http`. Each answer is one `send`, small enough
    to travel in one record. An HTTP/1.0 request or `Connection: close` closes the connection after
    the answer; HTTP/1.1 keeps it open for the next request.
    """

    def __init__(self, handshake, *, peer: str | None = None) -> None:
        self._handshake = handshake
        self._peer = peer
        self._buffer = bytearray()
        self.requests: list[str] = []       # request lines answered, in order

    def feed(self, data: bytes) -> Reply:
        self._buffer += data
        out = bytearray()
        while True:
            head = self._take_head()
            if head is None:
                break
            answer, close = self._answer(head)
            out += answer
            if close:
                return Reply(bytes(out), close=True)
        if len(self._buffer) > MAX_REQUEST_HEAD:
            self._buffer.clear()
            body = b"request head too long\n"
            return Reply(bytes(out) + _response(431, "Request Header Fields Too Large", body, close=True), close=True)
        return Reply(bytes(out))

    def _take_head(self) -> bytes | None:
        """The next complete request head (up to its blank line), removed from the buffer."""
        candidates = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := self._buffer.find(sep)) >= 0]
        if not candidates:
            return None
        index, sep_len = min(candidates)
        head = bytes(self._buffer[:index])
        del self._buffer[:index + sep_len]
        return head

    def _answer(self, head: bytes) -> tuple[bytes, bool]:
        lines = head.replace(b"\r\n", b"\n").split(b"\n")
        request_line = lines[0].decode("latin-1").strip()
        headers = {}
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        parts = request_line.split()
        version = parts[2] if len(parts) == 3 else "HTTP/1.0"
        close = version == "HTTP/1.0" or headers.get("connection") == "close"
        self.requests.append(request_line)
        if len(parts) != 3 or not version.startswith("HTTP/"):
            return _response(400, "Bad Request", b"malformed request line\n", close=True), True
        if parts[0] != "GET":
            return _response(405, "Method Not Allowed", b"only GET is served here\n", close, allow="GET"), close
        rows = describe_connection(self._handshake, peer=self._peer)
        rows.append(("Request", request_line))
        body = ("TLS Workbench test server\n\n" + format_rows(rows)).encode("utf-8")
        return _response(200, "OK", body, close), close


def _response(status: int, reason: str, body: bytes, close: bool, allow: str | None = None) -> bytes:
    head = [f"HTTP/1.1 {status} {reason}", "Content-Type: text/plain; charset=utf-8",
            f"Content-Length: {len(body)}", f"Connection: {'close' if close else 'keep-alive'}"]
    if allow:
        head.append(f"Allow: {allow}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body
