"""Step mode in words: what one step of an in-process pair sent, what the receiver did, which keys each
side holds afterwards, and why the keys changed.

The story is read from the step's engine events (the pair records them per side), so it says what
the engines actually did, not what a textbook handshake would do.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from workbench.tls import events as ev
from workbench.timeline.names import alert_name, content_type_name, handshake_name

# What each handshake message is for, in one sentence.
MESSAGE_PURPOSE = {
    0: "HelloRequest: the server asks the client to start a new handshake (TLS 1.2 renegotiation).",
    1: "ClientHello: the client offers versions, cipher suites, groups and its key share. No keys exist yet, "
       "so it travels in the clear.",
    2: "ServerHello: the server picks the version, cipher suite and group, and sends its key share. From the "
       "two shares both sides compute the same (EC)DHE secret.",
    4: "NewSessionTicket: a ticket the client can present on a later connection to resume without a full "
       "handshake.",
    5: "EndOfEarlyData: the client's 0-RTT data is over; what follows uses the handshake keys.",
    8: "EncryptedExtensions: the rest of the server's choices, already under the handshake keys.",
    11: "Certificate: the certificate chain; the peer checks it against its trust anchors and the expected name.",
    12: "ServerKeyExchange: the server's ephemeral key share, signed (TLS 1.2).",
    13: "CertificateRequest: the server asks the client for a certificate.",
    14: "ServerHelloDone: the server's first flight is over (TLS 1.2).",
    15: "CertificateVerify: a signature over the transcript so far, proving the sender holds the private key "
        "of its certificate.",
    16: "ClientKeyExchange: the client's key share (TLS 1.2); both sides can now compute the master secret.",
    20: "Finished: a MAC over the whole transcript. It proves both sides saw the same handshake, untampered.",
    24: "KeyUpdate: the sender moves to the next generation of its application traffic secret.",
}

SECRET_PURPOSE = {
    "early secret": "the first stage of the key schedule (from the PSK, or zeros without one)",
    "handshake secret": "mixes in the (EC)DHE shared secret",
    "c hs traffic": "protects the client's handshake messages",
    "s hs traffic": "protects the server's handshake messages",
    "master secret": "the last stage: application secrets come from it",
    "c ap traffic": "protects the client's application data",
    "s ap traffic": "protects the server's application data",
    "exp master": "for exporters (keying material for other protocols)",
    "res master": "the resumption master secret: tickets' PSKs are derived from it",
    "c e traffic": "protects the client's 0-RTT early data",
    "binder key": "authenticates the PSK offer (the binder in the ClientHello)",
}


@dataclass(frozen=True, slots=True)
class SideKeys:
    read: str
    write: str
    read_generation: int = 0
    write_generation: int = 0


@dataclass
class StepStory:
    title: str
    sent: str = ""
    happened: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)      # "who: secret ← inputs: purpose"
    why: list[str] = field(default_factory=list)
    keys: dict[str, SideKeys] = field(default_factory=dict)
    error: str | None = None


def _keys(view) -> SideKeys:
    return SideKeys(view.read.epoch, view.write.epoch, view.read.generation, view.write.generation)


def _direction_words(role: str, usage: str) -> str:
    other = "server" if role == "client" else "client"
    return f"what the {other} sends" if usage == "read" else f"what the {role} sends"


def key_change_reason(role: str, event: ev.KeysInstalled) -> str:
    """Why `role` installed these keys, in words."""
    epoch = event.epoch
    kind = epoch.split("-", 1)[0]
    what = f"The {role} now {'decrypts' if event.direction == 'read' else 'encrypts'} " \
           f"{_direction_words(role, event.direction)} with {epoch} keys"
    if kind == "handshake":
        return what + ": the ServerHello settled the key exchange, so the rest of the handshake is hidden."
    if kind == "early":
        return what + ": 0-RTT data rides on a key derived from the resumed session's PSK."
    if kind == "application" and event.generation == 0 and epoch.endswith("-0"):
        if event.direction == "write" and role == "server":
            return what + ": after its own Finished the server may send data at once (0.5-RTT)."
        return what + ": the Finished messages closed the handshake; application traffic secrets take over."
    if kind == "application":
        return what + f": a KeyUpdate (TLS 1.3) or a renegotiation (TLS 1.2) moved it to generation " \
                      f"{event.generation}."
    return what + "."


def _secret_words(event: ev.SecretDerived) -> str:
    source = " + ".join(event.derived_from) if event.derived_from else "zeros / the PSK"
    purpose = SECRET_PURPOSE.get(event.name.rstrip("0123456789 ").strip(), "")
    return f"{event.name} ← {source}" + (f" — {purpose}" if purpose else "")


def _react(role: str, events: tuple, story: StepStory) -> None:
    """What one side did, in order."""
    derived = 0
    for event in events:
        if isinstance(event, ev.HandshakeMessageReceived):
            story.happened.append(f"The {role} read {handshake_name(event.raw[0])}.")
            purpose = MESSAGE_PURPOSE.get(event.raw[0])
            if purpose and purpose not in story.why:
                story.why.append(purpose)
        elif isinstance(event, ev.HandshakeMessageSent):
            keys = "in the clear" if event.epoch == "plaintext" else f"under its {event.epoch} keys"
            story.happened.append(f"The {role} answered with {handshake_name(event.raw[0])} ({keys}).")
        elif isinstance(event, ev.SecretDerived):
            derived += 1
            story.derived.append(f"{role}: {_secret_words(event)}")
        elif isinstance(event, ev.KeysInstalled):
            story.why.append(key_change_reason(role, event))
        elif isinstance(event, ev.HandshakeComplete):
            story.happened.append(f"The {role} finished the handshake"
                                  + (" (resumed from a ticket)." if event.resumed else "."))
        elif isinstance(event, ev.ApplicationData):
            preview = event.data[:40]
            story.happened.append(f"The {role} received {len(event.data)} bytes of application data: "
                                  f"{preview!r}" + ("…" if len(event.data) > 40 else ""))
        elif isinstance(event, ev.AlertReceived):
            story.happened.append(f"The {role} received alert {alert_name(event.description)}.")
        elif isinstance(event, ev.AlertSent):
            story.happened.append(f"The {role} sent alert {alert_name(event.description)}: {event.reason}")
        elif isinstance(event, ev.ConnectionClosed):
            story.happened.append(f"The {role}'s side is closed: {event.reason}.")
        else:
            line = _session_event(role, event)
            if line:
                story.happened.append(line)
    if derived:
        story.happened.append(f"The {role} derived {derived} new secret(s) (listed below).")


def _session_event(role: str, event) -> str | None:
    """Post-handshake and session events (tickets, resumption, 0-RTT, KeyUpdate, renegotiation), by name so
    this reads any engine version; None for events the other lines already tell."""
    name = type(event).__name__
    get = lambda attr, default=None: getattr(event, attr, default)  # noqa: E731
    if name == "TicketIssued":
        return f"The {role} issued a ticket valid {get('lifetime')} s ({get('mode', 'stateless')})."
    if name == "TicketReceived":
        return (f"The {role} stored a ticket valid {get('lifetime')} s: session_data() can now export it, "
                "and a later connection can resume with it.")
    if name == "ResumptionOffered":
        return f"The {role} offered to resume with a ticket" + (" and sent 0-RTT data" if get("early_data") else "") + "."
    if name == "ResumptionAccepted":
        return f"The {role} resumed the session from the ticket: no certificate, no signature this time."
    if name == "ResumptionRefused":
        return f"Resumption refused ({role}): {get('reason')}; a full handshake follows."
    if name == "EarlyDataAccepted":
        return f"0-RTT early data accepted ({role}), up to {get('max_early_data')} bytes."
    if name == "EarlyDataRejected":
        return f"0-RTT early data rejected ({role}): {get('reason')}."
    if name == "KeyUpdateSent":
        request = "and asks the peer to update too" if get("request_update") == 1 else "without asking the peer"
        answer = " (answering the peer's request)" if get("answer") else ""
        return f"The {role} sent KeyUpdate{answer}: it now writes with generation {get('generation')}, {request}."
    if name == "KeyUpdateReceived":
        return f"The {role} received KeyUpdate: the peer now writes with generation {get('generation')}."
    if name == "HelloRequestReceived":
        return f"The {role} got a HelloRequest: {get('action')}."
    if name == "RenegotiationStarted":
        kind = "abbreviated (resuming the session)" if get("abbreviated") else "full"
        return f"A {kind} renegotiation started (asked by the {get('initiator')}), under the current keys."
    if name == "RenegotiationFinished":
        return f"The renegotiation finished: records now use {get('epoch')} keys."
    if name == "RenegotiationRefused":
        return f"Renegotiation refused: {get('reason')}."
    if name == "HelloRetryRequested":
        return "HelloRetryRequest: the client must send a new ClientHello with another key share."
    return None


def describe_sent(sent_as, length: int) -> str:
    if sent_as is None:
        return f"a record of {length} bytes"
    inner = sent_as.inner_type if sent_as.inner_type is not None else sent_as.content_type
    what = content_type_name(inner)
    if sent_as.epoch == "plaintext":
        return f"a {what} record of {sent_as.length} bytes, in the clear"
    sequence = "" if sent_as.sequence is None else f", sequence number {sent_as.sequence}"
    return (f"a {what} record of {sent_as.length} bytes, encrypted under the sender's {sent_as.epoch} keys"
            f"{sequence} (on the wire it says application_data: TLS 1.3 hides the real type)")


def story_of_step(step) -> StepStory:
    """The story of a workbench.transport RecordStep."""
    messages = [handshake_name(e.raw[0]) for e in step.receiver_events
                if isinstance(e, ev.HandshakeMessageReceived)]
    headline = ", ".join(messages) if messages else describe_sent(step.sent_as, step.length).split(" record")[0][2:]
    story = StepStory(f"Step {step.index}: {step.sender} → {step.receiver}: {headline}")
    story.sent = f"The {step.sender} sent " + describe_sent(step.sent_as, step.length) + "."
    if step.original is not None:
        story.happened.append("The record was altered on the way (step with modify=...).")
    if step.dropped:
        story.happened.append(f"The {step.receiver} had already failed and read nothing.")
    _react(step.receiver, step.receiver_events, story)
    sender_events = step.events_of(step.sender)
    if sender_events:
        _react(step.sender, sender_events, story)
    if step.error is not None:
        story.error = f"The {step.receiver} refused the record: {step.error}"
    story.keys = {"client": _keys(step.client_keys), "server": _keys(step.server_keys)}
    return story


def story_of_action(action) -> StepStory:
    """The story of a workbench.transport Action (a call made on one side)."""
    story = StepStory(f"Step {action.index}: the {action.side} calls {action.name}()")
    queued = [e for e in action.events_of(action.side) if isinstance(e, ev.RecordSent)]
    if queued:
        story.sent = (f"The {action.side} queued {len(queued)} record(s) for the wire; "
                      "they cross one per step.")
    _react(action.side, action.events_of(action.side), story)
    other = "server" if action.side == "client" else "client"
    _react(other, action.events_of(other), story)
    if action.error is not None:
        story.error = f"The call failed: {action.error}"
    story.keys = {"client": _keys(action.client_keys), "server": _keys(action.server_keys)}
    return story


def story_of(entry) -> StepStory:
    return story_of_step(entry) if hasattr(entry, "sender") else story_of_action(entry)


def story_text(story: StepStory | None) -> str:
    """The story as plain text (for print() in a lab notebook)."""
    if story is None:
        return "Nothing has happened yet."
    lines = [story.title]
    if story.sent:
        lines.append(story.sent)
    if story.error:
        lines.append("Problem: " + story.error)
    lines += [f"  - {line}" for line in story.happened]
    lines.append("Keys each side holds now:")
    for role, keys in story.keys.items():
        lines.append(f"  {role}: reads with {keys.read}, writes with {keys.write}")
    if story.derived:
        lines.append("New secrets:")
        lines += [f"  - {line}" for line in story.derived]
    if story.why:
        lines.append("Why:")
        lines += [f"  - {line}" for line in story.why]
    return "\n".join(lines)
