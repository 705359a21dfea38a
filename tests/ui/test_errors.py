import socket

from workbench.capture import Diagnostic
from workbench.tls import errors
from workbench.ui.errors import describe, describe_diagnostic


def test_a_peer_that_refused():
    problem = describe(errors.AlertReceived(40, 2))
    assert problem.kind == "peer" and problem.headline == "the peer refused"
    assert "handshake_failure (40)" in problem.detail


def test_a_peer_that_broke_the_protocol():
    exc = errors.UnexpectedMessage("ServerHello where Finished was expected", expected="Finished",
                                   received="ServerHello")
    problem = describe(exc)
    assert problem.kind == "protocol"
    assert "expected Finished, received ServerHello" in problem.detail and "unexpected_message" in problem.detail


def test_network_problems_in_plain_words():
    assert describe(ConnectionRefusedError(111, "refused")).headline == "connection refused"
    assert describe(socket.gaierror(-2, "Name or service not known")).headline == "unknown host"
    assert describe(TimeoutError()).detail == "the peer did not answer in time"
    assert describe(errors.UsageError("connect first")).headline == "not possible now"


def test_capture_diagnostics_name_the_frame():
    damaged = describe_diagnostic(Diagnostic("capture", "truncated packet record", frame=12))
    assert damaged.headline == "the capture is damaged at frame 12"
    missing = describe_diagnostic(Diagnostic("keys", "missing CLIENT_RANDOM", frame=3, connection=0))
    assert missing.kind == "keys" and missing.headline == "a key is missing at connection 0, frame 3"
