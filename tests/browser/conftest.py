"""Fixtures of the browser tests: a JupyterLab (and a Voilà) on 127.0.0.1 with isolated settings, Debian's
Chromium driven by Playwright, requests to anything but loopback refused, screenshots kept as artifacts.

Screenshots go to $WORKBENCH_ARTIFACTS when it is set (CI keeps that folder), else under pytest's
temporary directory (the path is printed at the end of the run).
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from workbench.peers import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def shared_folder() -> Path:
    """The shared reference folder: <repo>/../shared (CI), else /work/shared (see tests/shared.py)."""
    from tests.shared import SHARED
    return SHARED


def _skip_reason() -> str | None:
    if not os.path.exists(CHROMIUM):
        return "chromium is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    if reason:
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


_SCREENSHOTS: list[Path] = []


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ["WORKBENCH_ARTIFACTS"]) if os.environ.get("WORKBENCH_ARTIFACTS") \
        else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    _SCREENSHOTS.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter):
    for folder in _SCREENSHOTS:
        shots = sorted(p.name for p in folder.glob("*.png"))
        if shots:
            terminalreporter.write_line(f"browser screenshots in {folder}: {', '.join(shots)}")


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _isolated_env(base: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        folder = base / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    env.pop("JUPYTER_PATH", None)
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
    (settings / "@jupyterlab/apputils-extension").mkdir(parents=True, exist_ok=True)
    (settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    (settings / "@jupyterlab/notebook-extension").mkdir(parents=True, exist_ok=True)
    (settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"}))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class LabServer:
    def __init__(self, root: Path, base: Path) -> None:
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.env = _isolated_env(base)
        log = open(base / "jupyterlab.log", "wb")
        self.log_path = base / "jupyterlab.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}", "--LabApp.news_url=None", "--expose-app-in-browser"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def url(self, path: str) -> str:
        separator = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}{path}{separator}token={self.token}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url("/api/status"), timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"JupyterLab not ready after {timeout} s: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        _stop(self.process)


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory) -> Path:
    """A folder JupyterLab serves: copies of the repository's notebooks (tests never write into notebooks/)."""
    root = tmp_path_factory.mktemp("lab-root")
    return root


@pytest.fixture(scope="session")
def lab(lab_root, tmp_path_factory):
    server = LabServer(lab_root, tmp_path_factory.mktemp("lab-home"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the browser tests, stopped when the last of them is done.

    While Playwright's sync API is started it marks its event loop as running in this thread (between its
    calls too), so any later `asyncio.run()` fails with "cannot be called from a running event loop". A
    session-scoped browser kept that mark for every test after tests/browser; package scope ends it here."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    assert asyncio._get_running_loop() is None, "Playwright left an event loop marked as running"


@pytest.fixture
def page(browser):
    """A fresh page whose requests to anything but loopback are refused (and counted)."""
    # tall enough for the whole workbench: JupyterLab scrolls inside itself, so a screenshot shows what fits
    context = browser.new_context(viewport={"width": 1500, "height": 2300})
    outside: list[str] = []

    def route(route_request):
        host = route_request.request.url.split("/")[2].split(":")[0] if "://" in route_request.request.url else ""
        if route_request.request.url.startswith(("data:", "blob:")) or host in LOOPBACK_HOSTS:
            route_request.continue_()
        else:
            outside.append(route_request.request.url)
            route_request.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.outside_requests = outside
    try:
        yield page
    finally:
        context.close()


def copy_notebook(source: Path, root: Path, name: str) -> str:
    """A copy of a notebook under the lab root, under a name unique to one test."""
    target = root / name
    shutil.copyfile(source, target)
    return name
