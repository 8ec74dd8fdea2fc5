"""What every real server the harness starts has in common: a free loopback port, its log's
tail for error messages, and a stop that waits (SIGTERM, then SIGKILL after ``timeout``)."""

from __future__ import annotations

import signal
import socket
import subprocess  # nosec B404
from dataclasses import dataclass
from pathlib import Path
from typing import Self


def free_port() -> int:
    """A loopback port the kernel just handed out (free at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class ServerProcess:
    """A running server on 127.0.0.1 at ``url``, logging to ``log_path``."""

    url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` of the log ("" when it cannot be read): what error messages show."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
