"""The start notebook as a Voilà dashboard: the workbench renders and its buttons work."""
from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from workbench.peers import free_port

from .conftest import REPO, _isolated_env, _stop, _wait_for_port, copy_notebook
from .lab_driver import button, checkbox

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    root = tmp_path_factory.mktemp("voila-root")
    name = copy_notebook(REPO / "notebooks" / "00-start-here.ipynb", root, "start.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    env = _isolated_env(tmp_path_factory.mktemp("voila-home"))
    log = open(root / "voila.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "voila", name, "--no-browser", "--Voila.ip=127.0.0.1", f"--port={port}",
         "--Voila.port_retries=0", f"--token={token}"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    try:
        _wait_for_port(port, process, 60)      # never GET / to poll: each GET runs the notebook
        yield f"http://127.0.0.1:{port}/?token={token}"
    finally:
        _stop(process)


def test_the_start_notebook_in_voila(voila, page, artifacts):
    from playwright.sync_api import expect
    page.goto(voila)
    app = page.locator(".wb-app").first
    expect(app).to_be_visible(timeout=90_000)
    checkbox(page, "wb-step-mode").uncheck()
    button(page, "wb-connect").click()
    expect(page.locator(".wb-packet-list")).to_contain_text("ClientHello", timeout=30_000)
    expect(page.locator(".wb-packet-list")).to_contain_text("NewSessionTicket")
    page.locator(".wb-packet-list tr.wb-packet-row", has_text="ServerHello").first.click()
    expect(page.locator(".wb-field-tree select")).to_contain_text("server_hello", timeout=30_000)
    app.screenshot(path=str(artifacts / "voila-connected.png"))
    # only the template's icon font may be asked of a CDN; nothing else leaves the machine
    assert all("cdn" in url or "fonts" in url or "unpkg" in url for url in page.outside_requests), \
        page.outside_requests
