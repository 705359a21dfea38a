"""The captures shipped in captures/reference decode completely with their key logs.

The replay lab opens them on machines without the shared references, so each must decrypt
from the first encrypted record to the last, and agree with tshark like the others.
"""
from pathlib import Path

import pytest

from workbench.capture import replay

from .compare import differences
from .conftest import requires_tshark
from .tshark_oracle import our_view, tshark_view

SHIPPED = Path(__file__).resolve().parents[2] / "captures" / "reference"
CAPTURES = [pytest.param(next(notes.parent.glob("*.pcap*")), notes.parent / "keylog.txt", id=notes.parent.name)
            for notes in sorted(SHIPPED.glob("*/NOTES.md"))]


def test_there_are_shipped_captures():
    assert CAPTURES, f"no reference capture in {SHIPPED}"


@pytest.mark.parametrize("capture, keylog", CAPTURES)
def test_shipped_capture_decrypts_completely(capture, keylog):
    assert keylog.exists(), f"{capture.parent.name} ships without its key log"
    result = replay(capture, keylog)
    records = list(result)
    protected = [r for r in records if r.protected]
    assert protected and all(r.decrypted for r in protected), [r.note for r in protected if not r.decrypted]
    assert not result.diagnostics, result.diagnostics


@requires_tshark
@pytest.mark.parametrize("capture, keylog", CAPTURES)
def test_shipped_capture_agrees_with_tshark(capture, keylog):
    assert differences(tshark_view(str(capture), str(keylog)), our_view(replay(capture, keylog))) == []
