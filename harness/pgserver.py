"""A real PostgreSQL from Debian's ``postgresql`` package, for tests and fault runs.

:func:`serve` runs ``initdb`` into a fresh temporary directory (trust authentication, user
``postgres``), starts the server with ``pg_ctl`` on a free loopback port (``fsync=off``: test
data need not survive power loss), creates the ``sloguard`` database and stops the server on
exit. ``initdb`` refuses to run as root, so when the test runs as root every PostgreSQL binary
runs as the ``postgres`` user (``runuser -u postgres --``) and the directory is given to it.

:meth:`PostgresServer.stop` with ``mode="immediate"`` stops it like a crash (no checkpoint, the
clients' connections cut), and :meth:`PostgresServer.start` brings it back on the same port and
data: what the fault suite does to "restart PostgreSQL".
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess  # nosec B404
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.process import free_port

DATABASE = "sloguard"
USER = "postgres"


def bin_dir() -> Path | None:
    """The directory of Debian's PostgreSQL binaries (the newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version)
    for candidate in reversed(found):
        if (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _version(path: str) -> int:
    part = Path(path).parent.name
    return int(part) if part.isdigit() else 0


@dataclass
class PostgresServer:
    """One running PostgreSQL: its port, data directory and the way to run its tools."""

    bindir: Path
    root: Path
    port: int

    @property
    def url(self) -> str:
        """The ``state_url`` of the ``sloguard`` database (no password: trust authentication)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", USER, "--", *command]
        result = subprocess.run(  # nosec B603
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )

    def init(self) -> None:
        """``initdb`` into ``root/data``: trust authentication, user ``postgres``."""
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "--no-sync")

    def start(self) -> None:
        """Start on 127.0.0.1:``port`` (socket in ``root``) and wait until it accepts."""
        # fsync=off still writes each commit to the WAL: a crash-stop (no power cut) keeps it.
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-o", options,
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop: ``fast`` (clean) or ``immediate`` (like a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str = DATABASE) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)

    def fresh_database(self, name: str) -> str:
        """A new empty database ``name`` and its URL (one per test, on a shared server)."""
        self.create_database(name)
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"


@contextlib.contextmanager
def serve() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL with an empty ``sloguard`` database, stopped and removed on exit."""
    bindir = bin_dir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (make postgresql)")
    # Directly under the system's temporary directory: the postgres user must reach it, and
    # pytest's own temporary directories are private to the test's user.
    root = Path(tempfile.mkdtemp(prefix="sloguard-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user=USER)
    server = PostgresServer(bindir, root, free_port())
    try:
        server.init()
        server.start()
        server.create_database()
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
