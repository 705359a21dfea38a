from workbench.capture.detect import Verdict, classify_stream, looks_like_client_hello, valid_header

CH = bytes.fromhex("16030100c0010000bc0303") + bytes(200)
SERVER_FLIGHT = bytes.fromhex("1603030041") + b"\x02" + bytes(64) + bytes.fromhex("140303000101")


def test_client_hello_from_any_prefix():
    assert looks_like_client_hello(CH) is Verdict.TLS
    for n in range(1, 10):
        assert looks_like_client_hello(CH[:n]) is Verdict.NEED_MORE
    assert looks_like_client_hello(b"GET / HTTP/1.1\r\n") is Verdict.NOT_TLS
    assert looks_like_client_hello(bytes.fromhex("1603010010") + b"\x02") is Verdict.NOT_TLS


def test_stream_from_start_and_mid_connection():
    assert classify_stream(CH, from_start=True) is Verdict.TLS
    assert classify_stream(SERVER_FLIGHT, from_start=True) is Verdict.TLS
    assert classify_stream(SERVER_FLIGHT[:70], from_start=False) is Verdict.TLS     # one whole record, to the end
    assert classify_stream(SERVER_FLIGHT[:72], from_start=False) is Verdict.NEED_MORE
    assert classify_stream(SERVER_FLIGHT, from_start=False) is Verdict.TLS
    assert classify_stream(b"SSH-2.0-OpenSSH_9.2\r\n", from_start=True) is Verdict.NOT_TLS
    assert classify_stream(b"\x17\x03\x03\xff\xff" + bytes(10), from_start=False) is Verdict.NOT_TLS
    assert classify_stream(b"\x17\x03\x03\x00\x02ab\x99", from_start=False) is Verdict.NOT_TLS
    assert classify_stream(b"", from_start=True) is Verdict.NEED_MORE


def test_valid_header():
    assert valid_header(b"\x17\x03\x03\x40\x00")
    assert not valid_header(b"\x17\x03\x05\x00\x01")
    assert not valid_header(b"\x19\x03\x03\x00\x01")
