"""The controls: what to run (pair, version, suite, group, certificate, tickets, early data), what to do
(connect, send data, KeyUpdate, renegotiate, save / resume the session, close), the step buttons, and
opening a capture. Every widget has a stable wb- class; every button explains itself when disabled.
"""
from __future__ import annotations

import dataclasses
import html

import ipywidgets as w

from ..options import (CERTIFICATE_TYPES, PAIRS, VERSIONS, EngineFeatures, RunOptions, groups, suites_for)

DEFAULT = "default"
DEFAULT_VALUE = 0          # a Dropdown cannot show None as a choice: 0 stands for "the engine's default"


def _button(text: str, css: str, *, tooltip: str = "", primary: str | None = None, width: str = "auto") -> w.Button:
    button = w.Button(description=text, tooltip=tooltip, layout=w.Layout(width=width))
    button.add_class(css)
    if primary:
        button.add_class(primary)
    return button


def _labelled(text: str, widget: w.Widget, css: str) -> w.Widget:
    widget.add_class(css)
    return w.VBox([w.HTML(f'<span class="wb-section-label">{text}</span>'), widget],
                  layout=w.Layout(margin="0 6px 0 0"))


class Controls:
    """The control panel. `options()` reads it as RunOptions; the workbench wires the buttons."""

    def __init__(self, features: EngineFeatures, availability: dict[str, str | None],
                 options: RunOptions | None = None) -> None:
        options = options or RunOptions()
        self.initial = options
        self.features = features
        self.availability = availability
        # a peer program that is not installed is not offered; a line under the controls says why
        pair_choices = [(label, key) for key, label in PAIRS if availability.get(key) is None]
        value = options.pair if any(key == options.pair for _, key in pair_choices) else "inprocess"
        self.pair = w.Dropdown(options=pair_choices, value=value, layout=w.Layout(width="380px"))
        missing = [f"{label}: {availability[key]}" for key, label in PAIRS if availability.get(key)]
        self.unavailable = w.HTML("" if not missing else
                                  '<div class="wb-unavailable">Not offered on this machine — '
                                  + "; ".join(html.escape(m) for m in missing) + "</div>")
        self.unavailable.add_class("wb-unavailable-pairs")
        self.target = w.Text(value=options.target, placeholder="example.com:443", layout=w.Layout(width="200px"))
        version_choices = [(label, key) for key, label in VERSIONS if key == "1.3" or features.tls12]
        self.version = w.Dropdown(options=version_choices, value=options.version, layout=w.Layout(width="150px"))
        self.suite = w.Dropdown(layout=w.Layout(width="290px"))
        self.group = w.Dropdown(options=[(DEFAULT, DEFAULT_VALUE)] + groups(), value=options.group or DEFAULT_VALUE,
                                layout=w.Layout(width="120px"))
        self.certificate = w.Dropdown(options=list(CERTIFICATE_TYPES), value=options.certificate,
                                      layout=w.Layout(width="130px"))
        self.tickets = w.BoundedIntText(value=options.tickets, min=0, max=8, layout=w.Layout(width="70px"),
                                        disabled=not features.tickets)
        self.early_data = w.Checkbox(value=options.early_data, description="0-RTT early data", indent=False,
                                     disabled=not features.early_data, layout=w.Layout(width="150px"))
        self.step_mode = w.Checkbox(value=options.step_mode, description="step mode", indent=False,
                                    layout=w.Layout(width="110px"))
        self.seed = w.BoundedIntText(value=options.seed, min=0, max=2**31, layout=w.Layout(width="80px"))
        self.verify = w.Checkbox(value=options.verify, description="verify certificate", indent=False,
                                 layout=w.Layout(width="150px"))
        self.client_renegotiation = w.Checkbox(value=options.client_renegotiation, indent=False,
                                               description="server accepts client renegotiation (TLS 1.2)",
                                               disabled=not features.renegotiate, layout=w.Layout(width="330px"))
        self.client_renegotiation.add_class("wb-client-renegotiation")
        self._fill_suites(options.suite)
        self.version.observe(lambda change: self._fill_suites(None), names="value")
        self.pair.observe(lambda change: self._show_for_pair(), names="value")

        # actions
        self.connect = _button("Connect", "wb-connect", primary="wb-primary", tooltip="start a new connection")
        self.data = w.Text(value="GET / HTTP/1.1", layout=w.Layout(width="170px"))
        self.data.add_class("wb-data")
        self.side = w.ToggleButtons(options=[("client", "client"), ("server", "server")], value="client",
                                    style={"button_width": "64px"}, tooltips=["our client does it",
                                                                              "our server does it"])
        self.side.add_class("wb-side")
        self.send = _button("Send", "wb-send", tooltip="send the text as application data")
        self.key_update_kind = w.Dropdown(options=[("update requested", True), ("update not requested", False)],
                                          value=True, layout=w.Layout(width="180px"))
        self.key_update_kind.add_class("wb-key-update-kind")
        self.key_update = _button("KeyUpdate", "wb-key-update")
        self.renegotiate_kind = w.Dropdown(options=[("full", False), ("abbreviated", True)], value=False,
                                           layout=w.Layout(width="120px"))
        self.renegotiate_kind.add_class("wb-renegotiate-kind")
        self.renegotiate = _button("Renegotiate", "wb-renegotiate")
        self.save_session = _button("Save session", "wb-save-session", tooltip="keep the session data (ticket)")
        self.resume = _button("Resume", "wb-resume", tooltip="a new connection that offers the saved session")
        self.close = _button("Close", "wb-close", tooltip="send close_notify")

        # step mode
        self.restart = _button("⇤ Start over", "wb-restart", tooltip="back to the start: same seed, same bytes")
        self.step_record = _button("▶ Next record", "wb-step-record", primary="wb-step-button")
        self.step_flight = _button("▶▶ Next flight", "wb-step-flight", primary="wb-step-button")
        self.run_to_end = _button("⇥ Run to the end", "wb-run-to-end")
        self.replay = _button("↻ Replay the run", "wb-replay", tooltip="start again and repeat everything done")
        self.position = w.HTML()
        self.position.add_class("wb-step-position")

        # capture
        self.capture_path = w.Text(placeholder="path/to/capture.pcapng", layout=w.Layout(width="380px"))
        self.capture_path.add_class("wb-capture-path")
        self.keylog_path = w.Text(placeholder="path/to/keylog.txt (optional)", layout=w.Layout(width="300px"))
        self.keylog_path.add_class("wb-keylog-path")
        self.open_capture = _button("Open capture", "wb-open-capture", primary="wb-primary")
        self.upload = w.FileUpload(accept=".pcap,.pcapng,.cap,.gz,.txt,.keys,.log", multiple=True,
                                   description="Upload…", tooltip="a capture and its key log from your computer")
        self.upload.add_class("wb-upload")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                        layout=w.Layout(width="260px", visibility="hidden"))
        self.progress.add_class("wb-progress")
        self.save_capture = _button("Save pcapng", "wb-save-capture",
                                    tooltip="write the run's records and key log as a pcapng (Wireshark decrypts it)")

        self.target_box = _labelled("target", self.target, "wb-target")
        self.verify_box = w.Box([self.verify])
        self.verify.add_class("wb-verify")
        run_row = w.HBox([_labelled("pair", self.pair, "wb-pair"), self.target_box,
                          _labelled("version", self.version, "wb-version"),
                          _labelled("cipher suite", self.suite, "wb-suite"),
                          _labelled("group", self.group, "wb-group")],
                         layout=w.Layout(flex_flow="row wrap", align_items="flex-end"))
        option_row = w.HBox([_labelled("certificate", self.certificate, "wb-certificate"),
                             _labelled("tickets", self.tickets, "wb-tickets"),
                             _labelled("seed", self.seed, "wb-seed-box"),
                             w.VBox([self.step_mode, self.early_data]),
                             w.VBox([self.client_renegotiation, self.verify_box])],
                            layout=w.Layout(flex_flow="row wrap", align_items="flex-end"))
        self.seed.add_class("wb-seed")
        self.early_data.add_class("wb-early-data")
        self.step_mode.add_class("wb-step-mode")
        action_row = w.HBox([self.connect, self.data, self.side, self.send, self.key_update_kind, self.key_update,
                             self.renegotiate_kind, self.renegotiate, self.save_session, self.resume, self.close,
                             self.save_capture],
                            layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.step_row = w.HBox([self.restart, self.step_record, self.step_flight, self.run_to_end, self.replay,
                                self.position], layout=w.Layout(align_items="center"))
        self.step_row.add_class("wb-step-controls")
        live = w.VBox([run_row, option_row, action_row, self.step_row, self.unavailable])
        live.add_class("wb-live-controls")
        capture = w.VBox([w.HBox([_labelled("capture (pcap / pcapng)", self.capture_path, "wb-capture-path-box"),
                                  _labelled("key log", self.keylog_path, "wb-keylog-path-box")],
                                 layout=w.Layout(align_items="flex-end")),
                          w.HBox([self.open_capture, self.upload, self.progress],
                                 layout=w.Layout(align_items="center"))])
        capture.add_class("wb-capture-controls")
        self.panel = w.Tab(children=[live, capture])
        self.panel.set_title(0, "Connect")
        self.panel.set_title(1, "Replay a capture")
        self.panel.add_class("wb-controls")
        self._show_for_pair()

    # -- reading the controls ---------------------------------------------------------------------------------
    def _fill_suites(self, value: int | None) -> None:
        choices = [(DEFAULT, DEFAULT_VALUE)] + suites_for(self.version.value)
        self.suite.options = choices
        self.suite.value = value if any(v == value for _, v in choices) else DEFAULT_VALUE

    def _show_for_pair(self) -> None:
        remote = self.pair.value == "remote"
        self.target_box.layout.display = "" if remote else "none"
        self.verify_box.layout.display = "" if remote else "none"
        inprocess = self.pair.value == "inprocess"
        self.step_row.layout.display = "" if inprocess else "none"
        self.seed.disabled = not inprocess
        self.step_mode.disabled = not inprocess
        self.side.layout.display = "" if inprocess else "none"

    def options(self) -> RunOptions:
        """The options the controls show (fields without a control keep the values given at the start)."""
        return dataclasses.replace(
            self.initial, pair=self.pair.value, target=self.target.value.strip(), version=self.version.value,
            suite=self.suite.value or None, group=self.group.value or None, certificate=self.certificate.value,
            tickets=int(self.tickets.value), early_data=bool(self.early_data.value),
            step_mode=bool(self.step_mode.value), seed=int(self.seed.value), verify=bool(self.verify.value),
            client_renegotiation=bool(self.client_renegotiation.value))

    def set_action_states(self, states: dict[str, str | None]) -> None:
        """Enable the buttons whose action is possible; a disabled one says why in its tooltip."""
        buttons = {"send": self.send, "key_update": self.key_update, "renegotiate": self.renegotiate,
                   "save_session": self.save_session, "resume": self.resume, "close": self.close}
        defaults = {"send": "send the text as application data", "key_update": "send a KeyUpdate",
                    "renegotiate": "renegotiate (TLS 1.2)", "save_session": "keep the session data (ticket)",
                    "resume": "a new connection that offers the saved session", "close": "send close_notify"}
        for name, button in buttons.items():
            reason = states.get(name, "not available")
            button.disabled = reason is not None
            button.tooltip = defaults[name] if reason is None else f"not now: {reason}"

    def set_step_states(self, steppable: bool, pending: int, connected: bool) -> None:
        self.step_record.disabled = not (steppable and pending)
        self.step_flight.disabled = not (steppable and pending)
        self.run_to_end.disabled = not (steppable and pending)
        self.restart.disabled = not (steppable and connected)
        self.replay.disabled = not (steppable and connected)
