"""One model of "what happened" on TLS connections, built from our engine's events or from a decoded capture,
rendered by the CLI and the notebook views.

    from workbench.timeline import timeline_from_capture, render_text
    timeline = timeline_from_capture("capture.pcapng", "keys.log")
    print(render_text(timeline))

    builder = TimelineBuilder()                         # live: feed events / records as they come
    builder.add_engine_event(conn_id, "client", event, time)
    builder.add_decoded_record(rec)
"""
from .builder import TimelineBuilder, traffic_secret_name
from .export import record_to_dict, to_json
from .from_capture import add_keylog_secrets, add_replay, finish_replay, timeline_from_capture
from .from_engine import EngineEventListener, PairFollower, add_events, timeline_from_events, timeline_from_pair
from .model import (CLIENT_TO_SERVER, SERVER_TO_CLIENT, AlertMark, EpochSpan, EventMark, Flight, KeyInstall,
                    KeyUpdateMark, RenegotiationMark, Secret, Ticket, TicketUse, Timeline, TimelineConnection,
                    TimelineMessage, TimelineRecord)
from .render_text import iter_key_schedule, iter_lines, iter_wallet, render_text

__all__ = [
    "AlertMark", "CLIENT_TO_SERVER", "EngineEventListener", "EpochSpan", "EventMark", "Flight", "KeyInstall",
    "KeyUpdateMark", "PairFollower", "RenegotiationMark", "SERVER_TO_CLIENT", "Secret", "Ticket", "TicketUse",
    "Timeline", "TimelineBuilder", "TimelineConnection", "TimelineMessage", "TimelineRecord", "add_events",
    "add_keylog_secrets", "add_replay", "finish_replay", "iter_key_schedule", "iter_lines", "iter_wallet",
    "record_to_dict", "render_text", "timeline_from_capture", "timeline_from_events", "timeline_from_pair",
    "to_json",
]
