from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.runtime import Runtime, build_runtime
from bot.slack.transport.server import make_http_server
from handover.handovers import Handovers
from handover.ownership.incidents import Incidents
from handover.settings import Settings, load_settings
from handover.store.db import Database, migrate
from tests.fake_slack import FakeSlack
from tests.postgres import PostgresServer, PostgresUnavailable
from tests.slack_user import SlackSender

SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
MIM_CHANNEL = "C0MIMS0001"
STAKEHOLDER_CHANNEL = "C0STAKE001"
AGENT = "U0AGENT001"
MIM = "U0MIM00001"
MIM2 = "U0MIM00002"
RESTRICTED_CHANNEL = "C0RESTRIC1"  # where notices go while a breach is suspected


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """Slack, as strict as Slack. Its workspace has the channels the tests configure (the
    managers' MIM_CHANNEL, the stakeholders' STAKEHOLDER_CHANNEL, the restricted and the
    service desk's: tests/fake_slack.py, WORKSPACE), Baton a member of each; a test changes
    that with `add_channel`, `remove_bot`, `archive`."""
    fake = FakeSlack().start()
    yield fake
    fake.stop()
    assert fake.limit_problems == [], "Baton sent Slack payloads over Block Kit limits"
    said = json.dumps([c.args for c in [*fake.calls, *fake.responses]], ensure_ascii=False)
    assert "Traceback" not in said, "Baton showed a stack trace in Slack"


def base_env(fake: FakeSlack, db_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "DATABASE_URL": db_url,
        "BATON_MIM_CHANNEL": MIM_CHANNEL,
        "BATON_STAKEHOLDER_CHANNEL": STAKEHOLDER_CHANNEL,
    }


BACKENDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_databases` that use the database run once per backend."""
    if "db_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_databases"
    ):
        metafunc.parametrize("db_url", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run. Where it cannot start, its tests are skipped;
    in CI (CI=true) that is a failure instead, so a broken set-up never passes silently."""
    try:
        server = PostgresServer().start()
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL could not be started in CI: {exc}")
        pytest.skip(f"PostgreSQL could not be started: {exc}")
    yield server
    server.stop()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite in the test's folder, or (parametrized) a fresh database on the test server."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path / 'baton.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def env(fake_slack: FakeSlack, db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a configured Baton; tests may monkeypatch more before `baton`."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "BATON_")) or name in ("DATABASE_URL", "PORT"):
            monkeypatch.delenv(name)
    values = base_env(fake_slack, db_url)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def restricted(env, tmp_path, monkeypatch):
    """A restricted channel for breach-suspected comms (BATON_CONFIG)."""
    path = tmp_path / "baton.toml"
    path.write_text(f'restricted_channel = "{RESTRICTED_CHANNEL}"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))


@pytest.fixture
def no_ping(env, tmp_path, monkeypatch):
    """The card pings nobody: every mention left in a message would be a typed one."""
    path = tmp_path / "baton.toml"
    path.write_text('card_mention = "none"\n')
    monkeypatch.setenv("BATON_CONFIG", str(path))


@pytest.fixture
def baton_logging(monkeypatch):
    """`configure_logging(settings)` as `serve` calls it, undone after the test (it takes over
    the root logger and the exception hooks). Call the returned function with the settings."""
    import logging
    import sys

    from bot.logs import configure_logging

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)

    def configure(settings: Settings) -> Settings:
        configure_logging(settings)
        logging.captureWarnings(False)
        return settings

    return configure


@dataclass
class RunningBaton:
    url: str
    settings: Settings
    db: Database
    handovers: Handovers
    incidents: Incidents
    runtime: Runtime
    slack: SlackSender
    fake: FakeSlack


@pytest.fixture
def baton(env, fake_slack: FakeSlack) -> Iterator[RunningBaton]:
    """`baton serve`'s HTTP app with its clock and delivery, in-process on a loopback port."""
    settings = load_settings(require_slack=True, env_file=None)
    migrate(settings.database_url)
    runtime = build_runtime(settings)
    runtime.start()
    server = make_http_server(runtime.wsgi(), port=0, host="127.0.0.1")

    def serve() -> None:
        # close() below pulls the sockets from under the loop's select(): that ends it.
        with contextlib.suppress(OSError):
            server.run()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"
    yield RunningBaton(
        url,
        settings,
        runtime.db,
        runtime.services.handovers,
        runtime.services.incidents,
        runtime,
        SlackSender(url, SECRET, fake_slack.response_url),
        fake_slack,
    )
    server.close()
    runtime.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BatonProcess:
    """`baton serve` as a real process (for restarts, SIGKILL and replicas)."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.port = free_port()
        self.env = {**os.environ, **env, "PORT": str(self.port)}
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"baton-{self.port}.log"  # stderr: where the logs go
        self.out = cwd / f"baton-{self.port}.out"

    def start(self, timeout: float = 30) -> BatonProcess:
        return self.launch().wait_healthy(timeout)

    def launch(self) -> BatonProcess:
        """Start the process without waiting for it (several replicas starting together)."""
        with open(self.log, "ab") as log, open(self.out, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=log,
            )
        return self

    def wait_healthy(self, timeout: float = 30) -> BatonProcess:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"baton serve exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"baton serve did not come up: {self.log.read_text()}")

    def stop(self, sig: int = 15) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Launcher:
    """Starts `baton serve` processes for a test; the fixture kills them all at the end."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env = env
        self.cwd = cwd
        self.started: list[BatonProcess] = []

    def __call__(self, **overrides: str) -> BatonProcess:
        """One process, up and healthy."""
        return self.together(1, **overrides)[0]

    def together(self, count: int, **overrides: str) -> list[BatonProcess]:
        """`count` processes launched at once (replicas starting together), then all healthy."""
        processes = [BatonProcess({**self.env, **overrides}, self.cwd) for _ in range(count)]
        self.started.extend(processes)
        for process in processes:
            process.launch()
        return [process.wait_healthy() for process in processes]


@pytest.fixture
def baton_process(env, tmp_path: Path) -> Iterator[Launcher]:
    launcher = Launcher(env, tmp_path)
    yield launcher
    for process in launcher.started:
        process.stop(9)
