"""The workbench: controls, the packet list with its inspector, and the views, all fed by one timeline.

    from workbench import Workbench
    wb = Workbench()          # shows itself as the last expression of a cell
    wb.connect(); wb.step()   # everything a button does is also a method

A run (in-process pair, socket connection, or replayed capture) owns the timeline; `refresh()` renders
the page of records on screen and the views from it. Runs working in a background thread ask for a
refresh through the kernel's event loop, so the views follow a live connection or a loading capture
while the kernel stays free for other cells.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
import traceback
from typing import Callable

import ipywidgets as w

from workbench.timeline import render_text
from workbench.tls.errors import TLSError, UsageError

from ..errors import Problem, describe
from ..inspect import inspect
from ..options import Credentials, EngineFeatures, RunOptions, pair_availability, workbench_epoch
from ..render.epochs import render_epoch_lanes
from ..render.html import esc
from ..render.key_schedule import render_key_schedule
from ..render.packet_rows import page_rows
from ..render.sequence import render_sequence
from ..render.stepcard import render_step_card
from ..render.theme import style_tag
from ..render.wallet import render_wallet
from ..runs.base import Run, SavedSession
from ..runs.capture import CaptureRun
from ..runs.inprocess import InProcessRun
from ..runs.sockets import SocketRun
from .controls import Controls
from .inspector import Inspector
from .packet_list import PacketList

PAGE_SIZE = 100
MIN_REFRESH_INTERVAL = 0.25      # seconds between refreshes asked for by background work
VIEW_TITLES = ("Sequence", "Key schedule", "Epochs", "Tickets", "Step", "Timeline text", "Problems & log")


def _html(css: str, value: str = "") -> w.HTML:
    widget = w.HTML(value)
    widget.add_class(css)
    return widget


class Workbench:
    """The notebook front end. Options: `options` (RunOptions) for the initial controls, `capture` and
    `keylog` to open a capture at once, `page_size` rows in the packet list."""

    def __init__(self, options: RunOptions | None = None, *, capture=None, keylog=None,
                 page_size: int = PAGE_SIZE) -> None:
        self.features = EngineFeatures.detect()
        self.availability = pair_availability()
        self.epoch = workbench_epoch()
        self._credentials: Credentials | None = None
        self.run: Run | None = None
        self.saved: SavedSession | None = None
        self.problems: list[Problem] = []            # the workbench's own (a click that was not possible)
        self.page_size = page_size
        self.page_start = 0
        self._inspected: tuple | None = None
        self._refresh_lock = threading.RLock()
        self._main_thread = threading.current_thread()
        try:
            self._loop = asyncio.get_running_loop()   # the kernel's loop, inside a notebook cell
        except RuntimeError:
            self._loop = None
        self._refresh_pending = False
        self._last_refresh = 0.0
        self.refresh_count = 0

        self.controls = Controls(self.features, self.availability, options)
        self.packets = PacketList()
        self.inspector = Inspector()
        self._build_pager()
        self._build_views()
        self.status = _html("wb-status")
        self.problem_box = _html("wb-problems")
        header = _html("wb-header", '<div class="wb-header"><span class="wb-title">TLS Workbench</span>'
                                    '<span class="wb-subtitle">see every record, key and ticket</span></div>')
        listing = w.VBox([self.pager, self.packets], layout=w.Layout(flex="3 1 0%", min_width="0"))
        listing.add_class("wb-listing")
        main = w.HBox([listing, self.inspector.box], layout=w.Layout(width="100%"))
        main.add_class("wb-main")
        self.widget = w.VBox([_html("wb-style", style_tag()), header, self.controls.panel, self.status,
                              self.problem_box, main, self.views])
        self.widget.add_class("wb-app")
        self._wire_controls()
        if capture is not None:
            self.open_capture(capture, keylog)
        self.refresh()

    # -- display ------------------------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = Credentials()
        return self._credentials

    @property
    def timeline(self):
        return self.run.timeline if self.run is not None else None

    # -- building the widgets -------------------------------------------------------------------------------
    def _build_pager(self) -> None:
        def button(text, css, tooltip):
            b = w.Button(description=text, tooltip=tooltip, layout=w.Layout(width="44px"))
            b.add_class(css)
            return b
        self.first_page = button("⇤", "wb-page-first", "first page")
        self.previous_page = button("◀", "wb-page-previous", "previous page")
        self.next_page = button("▶", "wb-page-next", "next page")
        self.last_page = button("⇥", "wb-page-last", "last page")
        self.page_text = _html("wb-pager-text")
        self.page_text.layout.width = "170px"
        self.follow = w.Checkbox(value=True, description="follow new records", indent=False,
                                 layout=w.Layout(width="170px"))
        self.follow.add_class("wb-follow")
        self.goto = w.BoundedIntText(value=0, min=0, max=0, description="record", layout=w.Layout(width="160px"))
        self.goto.add_class("wb-goto")
        self.pager = w.HBox([self.first_page, self.previous_page, self.page_text, self.next_page, self.last_page,
                             self.follow, self.goto], layout=w.Layout(align_items="center"))
        self.pager.add_class("wb-pager")

    def _build_views(self) -> None:
        self.sequence_view = _html("wb-sequence-view")
        self.connection_choice = w.Dropdown(options=[], description="connection", layout=w.Layout(width="220px"))
        self.connection_choice.add_class("wb-connection")
        self.key_view = _html("wb-key-schedule-view")
        self.epoch_view = _html("wb-epochs-view")
        self.wallet_view = _html("wb-wallet-view")
        self.step_view = _html("wb-step-view")
        self.text_view = _html("wb-text-view")
        self.log_view = _html("wb-log-view")
        children = [self.sequence_view, w.VBox([self.connection_choice, self.key_view]), self.epoch_view,
                    self.wallet_view, self.step_view, self.text_view, self.log_view]
        self.views = w.Tab(children=children)
        for i, title in enumerate(VIEW_TITLES):
            self.views.set_title(i, title)
        self.views.add_class("wb-views")
        self.connection_choice.observe(lambda change: self._refresh_views(), names="value")

    def _wire_controls(self) -> None:
        c = self.controls
        c.connect.on_click(lambda _: self._safely(self.connect))
        c.send.on_click(lambda _: self._safely(lambda: self.send(c.data.value.encode(), side=c.side.value)))
        c.key_update.on_click(lambda _: self._safely(lambda: self.key_update(c.key_update_kind.value,
                                                                            side=c.side.value)))
        c.renegotiate.on_click(lambda _: self._safely(lambda: self.renegotiate(c.renegotiate_kind.value,
                                                                              side=c.side.value)))
        c.save_session.on_click(lambda _: self._safely(self.save_session))
        c.resume.on_click(lambda _: self._safely(self.resume))
        c.close.on_click(lambda _: self._safely(lambda: self.close(side=c.side.value)))
        c.restart.on_click(lambda _: self._safely(self.restart))
        c.step_record.on_click(lambda _: self._safely(self.step))
        c.step_flight.on_click(lambda _: self._safely(self.step_flight))
        c.run_to_end.on_click(lambda _: self._safely(self.run_to_end))
        c.replay.on_click(lambda _: self._safely(self.replay))
        c.open_capture.on_click(lambda _: self._safely(
            lambda: self.open_capture(c.capture_path.value.strip(), c.keylog_path.value.strip() or None)))
        c.save_capture.on_click(lambda _: self._safely(self.save_capture))
        c.upload.observe(lambda change: self._safely(lambda: self.receive_upload(change["new"])), names="value")
        self.first_page.on_click(lambda _: self.show_page(0))
        self.previous_page.on_click(lambda _: self.show_page(self.page_start - self.page_size))
        self.next_page.on_click(lambda _: self.show_page(self.page_start + self.page_size))
        self.last_page.on_click(lambda _: self.show_page(self._last_page_start()))
        self.goto.observe(lambda change: self.select(change["new"]), names="value")
        self.packets.observe(lambda change: self._on_select(change["new"]), names="selected")

    def _safely(self, action: Callable[[], object]) -> None:
        """Run a control's action; a failure becomes a problem in plain words, never a traceback."""
        try:
            action()
        except (UsageError, TLSError, OSError, ValueError) as exc:
            self.problems.append(describe(exc))
        except Exception as exc:                  # a bug of ours: plain words, and the details in the log
            self.problems.append(Problem("internal", "unexpected error", f"{type(exc).__name__}: {exc}"))
            self._internal_log = traceback.format_exc()
        self.refresh()

    # -- runs -------------------------------------------------------------------------------------------------
    def _start(self, run: Run) -> Run:
        if self.run is not None:
            self.run.close()
        self.run = run
        self.problems = []
        self.page_start = 0
        self.packets.selected = -1
        self._inspected = None
        self.inspector.show(None)
        run.listeners.append(self._on_run_changed)
        return run

    def connect(self) -> Run:
        """Start a new connection with the pair and options the controls show."""
        options = self.controls.options()
        reason = self.availability.get(options.pair)
        if reason:
            raise UsageError(f"this pair cannot run here: {reason}")
        if options.pair == "inprocess":
            run = self._start(InProcessRun(options, self.features, self.credentials, epoch=self.epoch))
            run.connect()
            if options.step_mode:
                self.views.selected_index = VIEW_TITLES.index("Step")
        else:
            run = self._start(SocketRun(options, self.features, self.credentials))
            run.connect()
        self.refresh()
        return run

    def _live(self, method: str) -> Run:
        if self.run is None or not hasattr(self.run, method):
            raise UsageError("connect first" if self.run is None else "a replayed capture cannot do that")
        return self.run

    def _stepper(self) -> InProcessRun:
        if not isinstance(self.run, InProcessRun):
            raise UsageError("step mode needs our client and our server in-process: choose that pair and connect")
        return self.run

    def step(self) -> bool:
        moved = self._stepper().step()
        self.refresh()
        return moved

    def step_flight(self) -> int:
        moved = self._stepper().step_flight()
        self.refresh()
        return moved

    def run_to_end(self) -> int:
        moved = self._stepper().run_to_end()
        self.refresh()
        return moved

    def restart(self) -> None:
        self._stepper().restart()
        self.page_start = 0
        self.packets.selected = -1
        self.refresh()

    def replay(self) -> None:
        self._stepper().replay()
        self.refresh()

    def send(self, data: bytes | str, side: str = "client") -> None:
        data = data.encode() if isinstance(data, str) else data
        self._check("send")
        self._live("send").send(data, side=side)
        self.refresh()

    def key_update(self, requested: bool = True, side: str = "client") -> None:
        self._check("key_update")
        self._live("key_update").key_update(requested, side=side)
        self.refresh()

    def renegotiate(self, abbreviated: bool = False, side: str = "client") -> None:
        self._check("renegotiate")
        self._live("renegotiate").renegotiate(abbreviated, side=side)
        self.refresh()

    def save_session(self) -> SavedSession | None:
        self._check("save_session")
        run = self._live("save_session")
        run.save_session()
        if isinstance(run, SocketRun):
            run.wait_until(lambda: run.saved is not None or run.problems, timeout=5.0)
        self.saved = run.saved or self.saved
        self.refresh()
        return self.saved

    def resume(self) -> None:
        """A new connection offering the saved session data to the same server."""
        run = self._live("resume")
        if getattr(run, "saved", None) is None and self.saved is not None:
            run.saved = self.saved
        self._check("resume")
        run.resume()
        self.refresh()

    def close(self, side: str = "client") -> None:
        self._check("close")
        self._live("close_connection").close_connection(side=side)
        self.refresh()

    def _check(self, action: str) -> None:
        if self.run is None:
            raise UsageError("connect first")
        reason = self.run.action_state(action)
        if reason is not None:
            raise UsageError(reason)

    def open_capture(self, path, keylog=None, *, wait: bool = False, tls_ports=()) -> CaptureRun:
        """Replay a pcap/pcapng (with its key log) into the views; loads in the background."""
        if not path:
            raise UsageError("give the path of a capture file")
        run = self._start(CaptureRun(path, keylog, tls_ports=tls_ports))
        self.controls.capture_path.value = os.fspath(path)
        self.controls.keylog_path.value = os.fspath(keylog) if isinstance(keylog, (str, os.PathLike)) \
            and "\n" not in os.fspath(keylog) else ""
        self.controls.panel.selected_index = 1
        run.start(background=not wait)
        self.refresh()
        return run

    CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".gz")

    def receive_upload(self, files) -> None:
        """Files from the upload button: a capture goes into the capture field, anything else is the key
        log; with a capture among them, it is opened at once."""
        if not files:
            return
        import tempfile
        folder = tempfile.mkdtemp(prefix="tls-workbench-upload-")
        capture = None
        for item in files:
            path = os.path.join(folder, os.path.basename(item["name"]))
            with open(path, "wb") as handle:
                handle.write(bytes(item["content"]))
            if path.lower().endswith(self.CAPTURE_SUFFIXES):
                capture = path
                self.controls.capture_path.value = path
            else:
                self.controls.keylog_path.value = path
        if capture is not None:
            self.open_capture(capture, self.controls.keylog_path.value or None)

    def save_capture(self, path=None) -> str:
        """Write the current live run as a pcapng with its key log (captures/ by default)."""
        if self.run is None:
            raise UsageError("nothing to save: connect first")
        if path is None:
            folder = os.path.join(os.getcwd(), "captures")
            if os.path.basename(os.getcwd()) == "notebooks":
                folder = os.path.join(os.path.dirname(os.getcwd()), "captures")
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, time.strftime("workbench-%Y%m%d-%H%M%S.pcapng"))
        frames = self.run.export_pcapng(path)
        self.problems.append(Problem("saved", f"saved {frames} frames", f"{path} (open it in Wireshark: the "
                                     "key log is inside, records show decrypted)"))
        self.refresh()
        return os.fspath(path)

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the run's background work is done (a capture loaded, a connection's commands)."""
        done = self.run.wait(timeout) if self.run is not None else True
        self.refresh()
        return done

    # -- for lab notebooks ---------------------------------------------------------------------------------
    def explain(self) -> str:
        """The last step of the in-process pair in words: what crossed, what happened, which keys, why."""
        from ..narrate import story_text
        return story_text(self._stepper().story())

    VIEWS = {"sequence": "sequence_view", "keys": "key_view", "epochs": "epoch_view", "tickets": "wallet_view",
             "step": "step_view", "text": "text_view", "problems": "log_view"}

    def show(self, view: str):
        """A picture of one view as it is now (sequence, keys, epochs, tickets, step, text, problems): it stays
        under the cell while the workbench above moves on."""
        from IPython.display import HTML
        try:
            widget = getattr(self, self.VIEWS[view])
        except KeyError:
            raise ValueError(f"view must be one of {', '.join(self.VIEWS)}, not {view!r}") from None
        self.refresh()
        return HTML(f'{style_tag()}<div class="wb-app wb-snapshot">{widget.value}</div>')

    # -- paging and selection -------------------------------------------------------------------------------
    def _last_page_start(self) -> int:
        total = len(self.run.timeline) if self.run is not None else 0
        return max(0, (total - 1) // self.page_size * self.page_size)

    def show_page(self, start: int) -> None:
        self.follow.value = False
        self.page_start = max(0, min(start, self._last_page_start()))
        self.page_start -= self.page_start % self.page_size
        self.refresh()

    def select(self, index: int) -> None:
        """Select record `index` (as a click in the packet list does)."""
        self.packets.selected = index

    def _on_select(self, index: int) -> None:
        if self.run is None or index < 0:
            return
        total = len(self.run.timeline)
        if index >= total:
            return
        if not self.page_start <= index < self.page_start + self.page_size:
            self.follow.value = False
            self.page_start = index - index % self.page_size
        self.refresh()

    # -- refreshing ---------------------------------------------------------------------------------------------
    def _on_run_changed(self) -> None:
        """A run changed (possibly in a worker thread): refresh now, or soon on the kernel's loop."""
        if threading.current_thread() is self._main_thread:
            self.refresh()
            return
        if self._loop is None or self._loop.is_closed():
            now = time.monotonic()
            if now - self._last_refresh >= MIN_REFRESH_INTERVAL or not (self.run and self.run.busy):
                self.refresh()
            return
        if self._refresh_pending:
            return
        self._refresh_pending = True
        delay = max(0.0, MIN_REFRESH_INTERVAL - (time.monotonic() - self._last_refresh))
        self._loop.call_soon_threadsafe(self._loop.call_later, delay, self._refresh_from_loop)

    def _refresh_from_loop(self) -> None:
        self._refresh_pending = False
        self.refresh()

    def refresh(self) -> None:
        """Render the page on screen and every view from the run's timeline."""
        with self._refresh_lock:
            self._last_refresh = time.monotonic()
            self.refresh_count += 1
            run = self.run
            if run is None:
                self._render_empty()
                return
            with run.lock:
                self._render_run(run)

    def _render_empty(self) -> None:
        self.packets.rows = []
        self.packets.total = 0
        self.page_text.value = "no records"
        self.status.value = ('<div class="wb-status-text">Choose a pair and press <b>Connect</b>, or open a capture. '
                             + esc(self._engine_note()) + "</div>")
        self.problem_box.value = self._problems_html([])
        self.sequence_view.value = render_sequence(_EMPTY_TIMELINE)
        self.key_view.value = render_key_schedule(None)
        self.epoch_view.value = render_epoch_lanes(_EMPTY_TIMELINE)
        self.wallet_view.value = render_wallet(_EMPTY_TIMELINE)
        self.step_view.value = render_step_card(None)
        self.text_view.value = ""
        self.log_view.value = ""
        self.controls.set_action_states({})
        self.controls.set_step_states(False, 0, False)
        self.controls.position.value = ""

    def _engine_note(self) -> str:
        missing = [self.features.missing(name) for name in ("key_update", "renegotiate", "tls12", "tickets")]
        missing = [m for m in missing if m]
        return ("Not available yet: " + "; ".join(missing) + ".") if missing else ""

    def _render_run(self, run: Run) -> None:
        timeline = run.timeline
        total = len(timeline)
        if self.follow.value and total:
            self.page_start = self._last_page_start()
        self.page_start = max(0, min(self.page_start, self._last_page_start()))
        flying = run.in_flight()
        rows = page_rows(timeline, self.page_start, self.page_size, in_flight=flying)
        self.packets.total = total
        self.packets.follow = bool(self.follow.value)
        self.packets.rows = rows
        self.packets.empty_text = "No records yet." + (" Press “Next record” to move the ClientHello."
                                                       if run.steppable and run.pending() else "")
        end = min(total, self.page_start + self.page_size)
        self.page_text.value = (f'<span class="wb-pager-label">records {self.page_start + 1 if total else 0}–{end} '
                                f"of {total:,}</span>")
        self.goto.max = max(0, total - 1)
        self._refresh_status(run)
        self._refresh_views(flying)
        self._refresh_inspector(run)

    def _refresh_status(self, run: Run) -> None:
        timeline = run.timeline
        parts = [f"<b>{esc(run.title)}</b>"]
        if run.status:
            parts.append(esc(run.status))
        parts.append(f"{len(timeline):,} records, {len(timeline.connections)} connection(s), "
                     f"{len(timeline.tickets)} ticket(s)")
        saved = getattr(run, "saved", None) or self.saved
        if saved is not None:
            parts.append(esc(saved.describe()))
        self.status.value = '<div class="wb-status-text">' + " · ".join(parts) + "</div>"
        self.problem_box.value = self._problems_html(list(run.problems) + self.problems)
        c = self.controls
        if run.progress is not None:
            c.progress.layout.visibility = "visible"
            c.progress.value = run.progress
            c.progress.description = f"{run.progress:.0%}"
        else:
            c.progress.layout.visibility = "hidden"
        states = {name: run.action_state(name) for name in ("send", "key_update", "renegotiate", "save_session",
                                                             "resume", "close")}
        if states.get("resume") and self.saved is not None and hasattr(run, "resume") \
                and states["resume"] == "save session data first":
            states["resume"] = None            # the workbench holds session data from an earlier run
        c.set_action_states(states)
        if isinstance(run, InProcessRun):
            c.set_step_states(True, run.pending(), run.current is not None)
            c.position.value = f'<span class="wb-step-position-text">{esc(run.position())}</span>'
        else:
            c.set_step_states(False, 0, False)
            c.position.value = ""

    def _problems_html(self, problems: list[Problem]) -> str:
        if not problems:
            return ""
        shown = problems[-6:]
        items = "".join(f'<div class="wb-problem wb-problem-{esc(p.kind)}"><b>{esc(p.headline)}</b>'
                        + (f": {esc(p.detail)}" if p.detail else "") + "</div>" for p in shown)
        more = f'<div class="wb-problem-more">{len(problems) - len(shown)} earlier problem(s) in the log</div>' \
            if len(problems) > len(shown) else ""
        return f'<div class="wb-problem-list">{more}{items}</div>'

    def _refresh_views(self, flying: frozenset[int] | None = None) -> None:
        run = self.run
        if run is None:
            return
        with run.lock:
            timeline = run.timeline
            flying = run.in_flight() if flying is None else flying
            selected = self.packets.selected if self.packets.selected >= 0 else None
            self.sequence_view.value = render_sequence(timeline, self.page_start, self.page_size,
                                                       selected=selected, in_flight=flying)
            # the connections of the page on screen (a capture may hold thousands)
            ids = list(dict.fromkeys(r.connection for r in timeline.records(self.page_start, self.page_size)))
            if not ids and timeline.connections:
                ids = [list(timeline.connections)[-1]]
            options = [(f"connection {i}", i) for i in ids]
            if list(self.connection_choice.options) != options:
                wanted = timeline.record(selected).connection if selected is not None and selected < len(timeline) \
                    else (ids[-1] if ids else None)
                self.connection_choice.options = options
                self.connection_choice.value = wanted
            conn = timeline.connections.get(self.connection_choice.value)
            self.key_view.value = render_key_schedule(conn)
            self.epoch_view.value = render_epoch_lanes(timeline, ids if len(timeline.connections) > 12 else None)
            saved = getattr(run, "saved", None) or self.saved
            self.wallet_view.value = render_wallet(timeline, run.now(),
                                                   saved_note=saved.describe() if saved else None)
            if isinstance(run, InProcessRun):
                self.step_view.value = render_step_card(run.story(), position=run.position(),
                                                        pending=run.pending())
            else:
                self.step_view.value = render_step_card(None) if run.steppable else (
                    '<div class="wb-view wb-step wb-empty">Step mode needs our client and our server in-process.</div>')
            text = render_text(timeline, start=self.page_start, count=self.page_size, width=140)
            self.text_view.value = f'<div class="wb-view wb-text-view"><pre>{esc(text)}</pre></div>'
            self.log_view.value = self._log_html(run)

    def _log_html(self, run: Run) -> str:
        problems = list(run.problems) + self.problems
        parts = ['<div class="wb-view wb-log">']
        if problems:
            parts.append("<ul>" + "".join(f"<li>{esc(p)}</li>" for p in problems) + "</ul>")
        else:
            parts.append("<div>No problems.</div>")
        output = run.peer_output() if hasattr(run, "peer_output") else ""
        if output:
            parts.append(f"<div><b>Output of the peer program</b></div><pre>{esc(output)}</pre>")
        internal = getattr(self, "_internal_log", "")
        if internal:
            parts.append(f"<details><summary>details of the last unexpected error</summary><pre>{esc(internal)}"
                         "</pre></details>")
        parts.append("</div>")
        return "".join(parts)

    def _refresh_inspector(self, run: Run) -> None:
        index = self.packets.selected
        timeline = run.timeline
        if index < 0 or index >= len(timeline):
            if self._inspected is not None:
                self._inspected = None
                self.inspector.show(None)
            return
        rec = timeline.record(index)
        key = (id(run), index, rec.decrypted, rec.inner_type, rec.raw is not None, len(rec.marks))
        if key == self._inspected:
            return
        self._inspected = key
        try:
            decoded = run.records.decoded(rec)
        except Exception:          # the wire decoder could not follow: the summary still shows
            decoded = None
        self.inspector.show(inspect(timeline, rec, decoded))


class _EmptyTimeline:
    """Stands in for a timeline before any run (the renderers draw their empty states)."""
    connections: dict = {}
    tickets: list = []

    def records(self, start=0, count=None, connection=None):
        return []

    def __len__(self):
        return 0


_EMPTY_TIMELINE = _EmptyTimeline()
