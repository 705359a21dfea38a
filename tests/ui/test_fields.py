"""Field spans: each field of scapy's tree points at the bytes it was dissected from."""
from workbench.capture import field_tree
from workbench.ui.fields import FieldLine, record_fields


def _fields_of(run, index):
    rec = run.timeline.record(index)
    decoded = run.records.decoded(rec)
    tree = field_tree(decoded)
    return record_fields(tree, decoded.raw, tree.packet.original), decoded


def test_spans_add_up_for_every_record_of_a_session(tls13_story):
    for rec in tls13_story.timeline:
        fields, _ = _fields_of(tls13_story, rec.index)
        assert fields.spans_exact, f"record {rec.index}"
        top = fields.lines[0]
        assert (top.start, top.end) == (0, len(fields.data))


def test_a_leaf_span_holds_the_value_of_the_field(tls13_story):
    fields, decoded = _fields_of(tls13_story, 1)          # ServerHello, in the clear
    cipher = next(line for line in fields.lines if line.name == "cipher")
    assert fields.data[cipher.start:cipher.end] == (0x1301).to_bytes(2, "big")
    random_bytes = next(line for line in fields.lines if line.name == "random_bytes")
    assert random_bytes.end - random_bytes.start == 28
    assert fields.data == fields.wire == decoded.raw


def test_a_decrypted_record_is_shown_in_the_clear(tls13_story):
    fields, decoded = _fields_of(tls13_story, 2)          # EncryptedExtensions ... under the handshake keys
    assert fields.decrypted_view and fields.data != fields.wire
    assert fields.data[5:] == decoded.plaintext
    names = [line.name for line in fields.lines]
    assert "TLS 1.3 Handshake - Encrypted Extensions" in names and "TLS 1.3 Handshake - Certificate" in names


def test_labels_indent_by_depth():
    assert FieldLine(2, "cipher", "TLS_AES_128_GCM_SHA256").label == "\u00a0" * 4 + "cipher = TLS_AES_128_GCM_SHA256"
    assert FieldLine(0, "TLS", None).label == "▾ TLS"


def test_spans_are_dropped_rather_than_wrong(tls13_story):
    rec = tls13_story.timeline.record(1)
    tree = field_tree(rec.raw)
    fields = record_fields(tree, rec.raw, rec.raw + b"\x00")        # one byte the tree does not cover
    assert not fields.spans_exact
    assert all(line.start is None for line in fields.lines)
