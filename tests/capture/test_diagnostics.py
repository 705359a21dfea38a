from workbench.capture.diagnostics import Diagnostic, DiagnosticLog, add_diagnostic


def test_text_and_dict():
    d = Diagnostic("tcp", "12 bytes missing", frame=5, offset=100, connection=2)
    assert str(d) == "[tcp] 12 bytes missing (connection 2, frame 5, offset 100)"
    assert d.to_dict()["offset"] == 100 and str(Diagnostic("keys", "x")) == "[keys] x"


def test_log_is_capped():
    log = DiagnosticLog(limit=3)
    for i in range(5):
        log.add(Diagnostic("tls", str(i)))
    assert [d.message for d in log] == ["0", "1", "2"] and log.suppressed == 2


def test_add_diagnostic_keeps_a_logs_cap_and_takes_a_plain_list():
    log, plain = DiagnosticLog(limit=1), []
    for i in range(3):
        add_diagnostic(log, Diagnostic("tls", str(i)))
        add_diagnostic(plain, Diagnostic("tls", str(i)))
    assert [d.message for d in log] == ["0"] and log.suppressed == 2
    assert [d.message for d in plain] == ["0", "1", "2"]
