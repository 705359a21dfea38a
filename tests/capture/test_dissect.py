"""scapy's field tree of single records, and scapy as an independent cross-check of our decoding: for every
record holding whole handshake messages, scapy (given the plaintext we decrypted) finds the same message types."""
import pytest

from workbench.capture import SessionState, field_tree, replay

from .conftest import reference, requires_captures

pytestmark = requires_captures


@pytest.mark.parametrize("name", ["illustrated-tls13/capture.pcap", "wireshark/tls13-rfc8446.pcap",
                                  "hotplace/tls12_tls12renogotiation.pcapng", "scapy/tls_nss_example.pcap"])
def test_scapy_sees_the_handshake_messages_we_decoded(name):
    capture = reference(name)
    checked = 0
    for rec in replay(capture.path, capture.keylog):
        if not rec.handshake or sum(len(m) for m in rec.messages) != rec.plaintext_length:
            continue
        tree = field_tree(rec)
        # scapy parses a Finished only with the full session state: then it leaves the message Raw
        types = [int(msg.msgtype) if hasattr(msg, "msgtype") else bytes(msg)[0] for msg in tree.packet.msg]
        assert types == rec.handshake, (rec.frame, tree.to_text())
        assert tree.decrypted_view == rec.protected
        checked += 1
    assert checked >= 4


def test_plaintext_record_without_state_and_opaque_record():
    capture = reference("illustrated-tls13/capture.pcap")
    records = list(replay(capture.path, capture.keylog))
    hello = field_tree(records[0].raw)
    assert hello.root.find("msgtype")[0].value == "client_hello"
    assert "Server Name" in hello.to_text()
    opaque = field_tree(records[3].raw)                     # encrypted, no state: stays opaque
    assert not opaque.decrypted_view and "Certificate" not in opaque.to_text()
    decrypted = field_tree(records[4])
    assert "TLS 1.3 Handshake - Certificate" in decrypted.to_text()
    assert decrypted.root.to_dict()["name"] == "TLS"


def test_session_state_selects_tls13_forms():
    capture = reference("illustrated-tls13/capture.pcap")
    rec = list(replay(capture.path, capture.keylog))[4]
    clear = bytes((22, 3, 3)) + len(rec.plaintext).to_bytes(2, "big") + rec.plaintext
    assert "cert_req_ctxt" in field_tree(clear, SessionState(0x0304)).to_text()
    assert "cert_req_ctxt" not in field_tree(clear, SessionState(0x0303)).to_text()


def test_the_package_name_is_the_function_even_after_the_module_was_imported():
    import importlib

    import workbench.capture
    module = importlib.import_module("workbench.capture.dissect")
    from workbench.capture import field_tree as by_name
    assert by_name is module.field_tree is workbench.capture.field_tree
