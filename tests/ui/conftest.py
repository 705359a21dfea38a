"""Fixtures of the front-end tests: one set of test certificates, the engine's features, finished
in-process runs (TLS 1.3 with a KeyUpdate and a resumption; TLS 1.2 with renegotiations), and the
reference captures."""
from __future__ import annotations

from pathlib import Path

import pytest

from workbench.ui.options import Credentials, EngineFeatures, RunOptions
from workbench.ui.runs.inprocess import InProcessRun

from tests.shared import CAPTURES


def capture(relative: str) -> Path:
    path = CAPTURES / relative
    if not path.exists():
        pytest.skip(f"reference capture not found: {path}")
    return path


@pytest.fixture(scope="session")
def credentials() -> Credentials:
    return Credentials()


@pytest.fixture(scope="session")
def features() -> EngineFeatures:
    return EngineFeatures.detect()


def require(features: EngineFeatures, *names: str) -> None:
    for name in names:
        reason = features.missing(name)
        if reason:
            pytest.skip(reason)


@pytest.fixture
def make_run(credentials, features):
    def make(**options) -> InProcessRun:
        return InProcessRun(RunOptions(**options), features, credentials)
    return make


@pytest.fixture(scope="session")
def tls13_story(credentials, features) -> InProcessRun:
    """A TLS 1.3 run: handshake, data, a requested KeyUpdate, data, saved session, resumption."""
    require(features, "key_update", "session_data", "resume", "tickets")
    run = InProcessRun(RunOptions(step_mode=False), features, credentials)
    run.connect()
    run.send(b"GET / HTTP/1.1\r\n\r\n")
    run.key_update(requested=True)
    run.send(b"after the update")
    run.save_session()
    run.resume()
    return run
