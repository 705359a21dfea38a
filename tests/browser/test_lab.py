"""The start notebook in JupyterLab with a real Chromium: connect, see the handshake and the ticket, update
the keys, step through a handshake, replay a reference capture. Screenshots are kept as artifacts."""
from __future__ import annotations

from pathlib import Path

import pytest

from workbench.ui.options import EngineFeatures

from .conftest import REPO, copy_notebook, shared_folder
from .lab_driver import app, button, checkbox, click_tab, open_notebook, run_all

pytestmark = [pytest.mark.browser]

START = REPO / "notebooks" / "00-start-here.ipynb"


@pytest.fixture
def started(page, lab, lab_root, request):
    """The start notebook, opened in its own workspace and run: the workbench is on the page."""
    from playwright.sync_api import expect
    name = copy_notebook(START, lab_root, f"{request.node.name}.ipynb")
    open_notebook(page, lab, name)
    run_all(page, name)
    expect(app(page)).to_be_visible(timeout=60_000)
    return page


def test_connect_shows_the_handshake_and_the_ticket(started, artifacts):
    from playwright.sync_api import expect
    page = started
    checkbox(page, "wb-step-mode").uncheck()
    button(page, "wb-connect").click()
    rows = page.locator(".wb-packet-list tr.wb-packet-row")
    expect(rows.first).to_contain_text("ClientHello", timeout=30_000)
    expect(page.locator(".wb-packet-list")).to_contain_text("ServerHello")
    expect(page.locator(".wb-packet-list")).to_contain_text("Finished")
    click_tab(page, "wb-views", "Tickets")
    expect(page.locator(".wb-wallet-view .wb-ticket").first).to_contain_text("T1")
    expect(page.locator(".wb-wallet-view")).to_contain_text("unused")
    app(page).screenshot(path=str(artifacts / "lab-connected.png"))
    assert page.outside_requests == []


def test_key_update_changes_the_epoch(started, artifacts):
    from playwright.sync_api import expect
    if EngineFeatures.detect().missing("key_update"):
        pytest.skip(EngineFeatures.detect().missing("key_update"))
    page = started
    checkbox(page, "wb-step-mode").uncheck()
    button(page, "wb-connect").click()
    expect(page.locator(".wb-packet-list")).to_contain_text("Finished", timeout=30_000)
    expect(button(page, "wb-key-update")).to_be_enabled()
    button(page, "wb-key-update").click()
    # the KeyUpdate records say which keys come next; data sent afterwards travels under them
    expect(page.locator(".wb-packet-list")).to_contain_text("KeyUpdate", timeout=30_000)
    expect(page.locator(".wb-packet-list")).to_contain_text("→ application-1, update requested")
    button(page, "wb-send").click()
    expect(page.locator(".wb-packet-list tr.wb-epoch-application-1").first).to_be_visible(timeout=30_000)
    click_tab(page, "wb-views", "Epochs")
    expect(page.locator(".wb-epochs-view .wb-lane-keyupdate").first).to_be_attached()
    expect(page.locator(".wb-epochs-view")).to_contain_text("application-1")
    app(page).screenshot(path=str(artifacts / "lab-key-update.png"))


def test_step_mode_moves_one_record_at_a_time(started, artifacts):
    from playwright.sync_api import expect
    page = started
    button(page, "wb-connect").click()
    step = button(page, "wb-step-record")
    expect(step).to_be_enabled(timeout=30_000)
    step.click()
    expect(page.locator(".wb-step-view")).to_contain_text("ClientHello", timeout=30_000)
    step.click()
    expect(page.locator(".wb-step-view")).to_contain_text("ServerHello", timeout=30_000)
    expect(page.locator(".wb-step-view")).to_contain_text("handshake")
    # inspect the ServerHello: the tree and the hex view with a highlighted field
    page.locator(".wb-packet-list tr.wb-packet-row", has_text="ServerHello").first.click()
    tree = page.locator(".wb-field-tree select")
    expect(tree).to_contain_text("cipher = TLS_AES_128_GCM_SHA256", timeout=30_000)
    option = tree.locator("option", has_text="cipher = ").first
    tree.select_option(value=option.get_attribute("value"))
    expect(page.locator(".wb-hex-view .wb-hex-hl").first).to_be_visible(timeout=30_000)
    app(page).screenshot(path=str(artifacts / "lab-step.png"))


def test_replay_a_reference_capture(started, artifacts):
    from playwright.sync_api import expect
    capture = shared_folder() / "captures" / "wireshark" / "tls13-rfc8446.pcap"
    keys = capture.with_suffix(".keys")
    if not capture.exists():
        pytest.skip(f"reference capture not found: {capture}")
    page = started
    click_tab(page, "wb-controls", "Replay a capture")
    page.locator(".wb-capture-path input").fill(str(capture))
    page.locator(".wb-keylog-path input").fill(str(keys))
    button(page, "wb-open-capture").click()
    expect(page.locator(".wb-packet-list")).to_contain_text("NewSessionTicket", timeout=30_000)
    expect(page.locator(".wb-status")).to_contain_text("2 connection(s)")
    click_tab(page, "wb-views", "Tickets")
    expect(page.locator(".wb-wallet-view")).to_contain_text("resumed connection 1")
    app(page).screenshot(path=str(artifacts / "lab-replay.png"))


def test_readme_screenshot(started, artifacts):
    """A whole session on one screen: handshake, KeyUpdate, resumption, a record open in the inspector.
    WORKBENCH_UPDATE_DOCS=1 also writes it to docs/images/workbench.png."""
    import os
    import shutil
    from playwright.sync_api import expect
    features = EngineFeatures.detect()
    if features.missing("key_update") or features.missing("resume"):
        pytest.skip("the picture shows a KeyUpdate and a resumption")
    page = started
    checkbox(page, "wb-step-mode").uncheck()
    button(page, "wb-connect").click()
    expect(page.locator(".wb-packet-list")).to_contain_text("NewSessionTicket", timeout=30_000)
    button(page, "wb-send").click()
    expect(button(page, "wb-key-update")).to_be_enabled()
    button(page, "wb-key-update").click()
    expect(page.locator(".wb-packet-list")).to_contain_text("KeyUpdate", timeout=30_000)
    page.locator(".wb-data input").fill("GET /after-the-update HTTP/1.1")
    button(page, "wb-send").click()
    expect(page.locator(".wb-packet-list tr.wb-epoch-application-1").first).to_be_visible(timeout=30_000)
    button(page, "wb-save-session").click()
    expect(button(page, "wb-resume")).to_be_enabled(timeout=30_000)
    button(page, "wb-resume").click()
    expect(page.locator(".wb-status")).to_contain_text("2 connection(s)", timeout=30_000)
    page.locator(".wb-packet-list tr.wb-packet-row", has_text="KeyUpdate").first.click()
    tree = page.locator(".wb-field-tree select")
    expect(tree).to_contain_text("request_update", timeout=30_000)
    option = tree.locator("option", has_text="request_update").first
    tree.select_option(value=option.get_attribute("value"))
    expect(page.locator(".wb-hex-view .wb-hex-hl").first).to_be_visible(timeout=30_000)
    click_tab(page, "wb-views", "Sequence")
    page.mouse.move(0, 0)
    shot = artifacts / "workbench.png"
    app(page).screenshot(path=str(shot))
    if os.environ.get("WORKBENCH_UPDATE_DOCS"):
        target = Path(__file__).resolve().parents[2] / "docs" / "images" / "workbench.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


@pytest.mark.interop
def test_live_view_of_a_connection_to_openssl(started, artifacts):
    """Records of a real socket connection appear while it runs, and the kernel stays free meanwhile."""
    from playwright.sync_api import expect
    from workbench.peers import missing_reason
    reason = missing_reason("openssl")
    if reason:
        pytest.skip(reason)
    page = started
    page.locator(".wb-pair select").select_option(label="our client → OpenSSL server (started on 127.0.0.1)")
    button(page, "wb-connect").click()
    expect(page.locator(".wb-packet-list")).to_contain_text("ServerHello", timeout=30_000)
    expect(page.locator(".wb-status")).to_contain_text("connection 0 open", timeout=30_000)
    # the connection is open in its own thread; the kernel answers other requests meanwhile
    from .lab_driver import KERNEL_IDLE
    status = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel for']")
    expect(status).to_have_text(KERNEL_IDLE)
    expect(button(page, "wb-key-update")).to_be_enabled(timeout=30_000)
    button(page, "wb-key-update").click()
    expect(page.locator(".wb-packet-list")).to_contain_text("KeyUpdate", timeout=30_000)
    button(page, "wb-send").click()
    expect(page.locator(".wb-packet-list tr.wb-epoch-application-1").first).to_be_visible(timeout=30_000)
    click_tab(page, "wb-views", "Problems & log")
    expect(page.locator(".wb-log-view")).to_contain_text("Output of the peer program")
    app(page).screenshot(path=str(artifacts / "lab-live-openssl.png"))
    button(page, "wb-close").click()
    expect(page.locator(".wb-status")).to_contain_text("no open connection", timeout=30_000)
