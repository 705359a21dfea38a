from workbench.tls import events
from workbench.transport.responders import EchoResponder, HttpResponder, describe_connection

HANDSHAKE = events.HandshakeComplete(version=0x0304, cipher_suite=0x1301, group=0x001D, signature_scheme=0x0403,
                                     alpn=b"http/1.1", server_name="localhost", resumed=False,
                                     peer_certificates=())


def parse(response: bytes):
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body


def test_echo_sends_back_what_arrives():
    reply = EchoResponder().feed(b"abc\n")
    assert reply.data == b"abc\n" and not reply.close


def test_describe_connection_names_every_negotiated_parameter():
    rows = dict(describe_connection(HANDSHAKE, peer="127.0.0.1:5000"))
    assert rows["Protocol version"] == "TLSv1.3 (0x0304)"
    assert rows["Cipher suite"] == "TLS_AES_128_GCM_SHA256 (0x1301)"
    assert rows["Key exchange group"] == "X25519 (0x001d)"
    assert rows["Signature scheme"] == "ECDSA_SECP256R1_SHA256 (0x0403)"
    assert rows["ALPN protocol"] == "http/1.1"
    assert rows["Server name (SNI)"] == "localhost"
    assert rows["Resumed"] == "no"
    assert rows["Peer address"] == "127.0.0.1:5000"


def test_http_waits_for_the_blank_line_then_answers_once():
    http = HttpResponder(HANDSHAKE)
    assert http.feed(b"GET /a HTTP/1.1\r\nHost: x\r\n").data == b""
    reply = http.feed(b"\r\n")
    status, headers, body = parse(reply.data)
    assert status == "HTTP/1.1 200 OK" and not reply.close
    assert int(headers["Content-Length"]) == len(body)
    text = body.decode()
    assert "TLS_AES_128_GCM_SHA256" in text and "Request:" in text and "GET /a HTTP/1.1" in text
    assert len(reply.data) < 2**14          # fits one record
    assert http.requests == ["GET /a HTTP/1.1"]


def test_http_answers_pipelined_requests_in_order_and_accepts_bare_newlines():
    http = HttpResponder(HANDSHAKE)
    reply = http.feed(b"GET /1 HTTP/1.1\n\nGET /2 HTTP/1.1\r\n\r\n")
    assert reply.data.count(b"HTTP/1.1 200 OK") == 2
    assert http.requests == ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1"]


def test_http_10_and_connection_close_end_the_connection():
    assert HttpResponder(HANDSHAKE).feed(b"GET / HTTP/1.0\r\n\r\n").close
    reply = HttpResponder(HANDSHAKE).feed(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\n\r\n")
    assert reply.close and reply.data.count(b"200 OK") == 1


def test_http_refuses_other_methods_and_garbage():
    status, headers, _ = parse(HttpResponder(HANDSHAKE).feed(b"POST / HTTP/1.1\r\n\r\n").data)
    assert status.startswith("HTTP/1.1 405") and headers["Allow"] == "GET"
    reply = HttpResponder(HANDSHAKE).feed(b"hello\r\n\r\n")
    assert parse(reply.data)[0].startswith("HTTP/1.1 400") and reply.close


def test_http_refuses_an_endless_request_head():
    reply = HttpResponder(HANDSHAKE).feed(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 4000)
    assert parse(reply.data)[0].startswith("HTTP/1.1 431") and reply.close
