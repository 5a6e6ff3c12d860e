"""A throwaway PostgreSQL server for the tests: started once per run, one database per test.

initdb refuses to run as root, so as root the server runs as `nobody`, in a temporary folder
that user owns. It listens on a free loopback port and keeps its socket in that folder.
Durability is switched off (fsync, synchronous commit): the data dies with the run anyway.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

UNPRIVILEGED = {"user": "nobody", "group": "nogroup"}
INITDB = "-U postgres -A trust -E UTF8 --locale=C --no-sync"


class PostgresUnavailable(Exception):
    """No server binaries here, or the server would not start."""


def find_bin_dir() -> Path:
    """The newest installed PostgreSQL's bin folder (Debian's layout, or initdb on PATH)."""

    def version(folder: str) -> int:
        name = Path(folder).parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    for folder in reversed(candidates):
        if Path(folder, "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb) on this machine")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self) -> None:
        self.bin = find_bin_dir()
        self.port = free_port()
        self._names = itertools.count(1)
        self._as = UNPRIVILEGED if os.geteuid() == 0 else {}
        self.root = Path(tempfile.mkdtemp(prefix="baton-pg-"))
        self.data = self.root / "data"
        try:
            if self._as:
                shutil.chown(self.root, **self._as)
        except LookupError as exc:  # no such user or group here
            shutil.rmtree(self.root)
            raise PostgresUnavailable(f"cannot run PostgreSQL as {self._as}: {exc}") from exc

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            **self._as,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"{args[0]} failed: {result.stderr.strip() or result.stdout}")

    def start(self) -> PostgresServer:
        try:
            import psycopg  # noqa: F401  (the driver the tests connect with)
        except ImportError as exc:
            raise PostgresUnavailable("psycopg is missing: pip install -e '.[postgres]'") from exc
        # A zone far from UTC (+12:45/+13:45): times that lose or misread their zone show.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c timezone=Pacific/Chatham"
        )
        try:
            self._run("initdb", "-D", str(self.data), *INITDB.split())
            log = str(self.root / "server.log")
            self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"test_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        # FORCE: a connection a test left open (a killed replica's) must not keep it alive.
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
