from workbench.capture.diagnostics import Diagnostic, DiagnosticLog


def test_text_and_dict():
    d = Diagnostic("tcp", "12 bytes missing", frame=5, offset=100, connection=2)
    assert str(d) == "[tcp] 12 bytes missing (connection 2, frame 5, offset 100)"
    assert d.to_dict()["offset"] == 100 and str(Diagnostic("keys", "x")) == "[keys] x"


def test_log_is_capped():
    log = DiagnosticLog(limit=3)
    for i in range(5):
        log.add(Diagnostic("tls", str(i)))
    assert [d.message for d in log] == ["0", "1", "2"] and log.suppressed == 2
