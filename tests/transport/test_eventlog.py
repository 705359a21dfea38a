import io
import json

from workbench.tls import events
from workbench.transport.eventlog import JsonLinesEventLog


def test_each_event_is_one_json_line_with_time_and_connection():
    out = io.StringIO()
    log = JsonLinesEventLog(out, clock=lambda: 12.5)
    log(events.AlertReceived(level=2, description=42))
    log.connection = 2
    log(events.ApplicationData(data=b"\x00hi", epoch="application-0"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["time"] == 12.5 and first["connection"] == 1
    assert first["event"] == "AlertReceived" and first["description"] == "bad_certificate"
    assert second["connection"] == 2 and second["data"] == "006869" and second["epoch"] == "application-0"
