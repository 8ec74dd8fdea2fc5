"""A real VictoriaMetrics filled with a synthetic scenario, and ``vmalert`` replaying rules on it.

The scenarios are the ones of :mod:`harness.promserver` / :mod:`harness.scenarios`: the same
:class:`~harness.promserver.Generated` samples go into VictoriaMetrics through
``POST /api/v1/import/prometheus`` (Prometheus text format, millisecond timestamps), then
``GET /internal/force_flush`` makes them searchable at once. The server runs with
``-retentionPeriod 100y`` (the scenarios lie in 2024) and ``-search.latencyOffset=0s`` (the
default hides the newest 30 s from queries).

VictoriaMetrics logs no port when given ``:0``, so a free loopback port is picked first and the
start is retried on another one if it was taken in between.

:func:`replay_rules` runs ``vmalert`` in replay mode over a past range: it evaluates a rule
file against the server and writes the recorded series back to it (``-remoteWrite.url``),
which is what a live ``vmalert`` does tick by tick.
"""

from __future__ import annotations

import shutil
import subprocess  # nosec B404
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.process import ServerProcess, free_port
from harness.promserver import Generated, Scenario

_IMPORT_SAMPLES_PER_REQUEST = 200_000


class VictoriaMetricsError(RuntimeError):
    """The test VictoriaMetrics could not be started or filled; the message has the log tail."""


@dataclass(slots=True)
class VictoriaMetricsServer(ServerProcess):
    """A running ``victoria-metrics`` on 127.0.0.1; :meth:`stop` (SIGTERM, wait) when done."""

    def flush(self) -> None:
        """Make every imported sample searchable now (``/internal/force_flush``)."""
        _http(f"{self.url}/internal/force_flush")


def _http(url: str, data: bytes | None = None, timeout: float = 60.0) -> int:
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")  # noqa: S310 (loopback)
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310  # nosec B310
        return int(resp.status)


def _healthy(url: str) -> bool:
    try:
        return _http(f"{url}/health", timeout=2) == 200
    except (urllib.error.URLError, OSError):
        return False


def start_victoriametrics(
    workdir: Path, *, binary: str = "victoria-metrics", ready_timeout: float = 30.0
) -> VictoriaMetricsServer:
    """Start ``victoria-metrics`` on a free loopback port with its data in ``workdir``."""
    for _ in range(3):  # the port may be taken between picking and binding it
        port = free_port()
        log_path = workdir / f"victoria-metrics-{port}.log"
        with log_path.open("wb") as log:
            cmd = [
                binary,
                f"-httpListenAddr=127.0.0.1:{port}",
                f"-storageDataPath={workdir / 'data'}",
                "-retentionPeriod=100y",
                "-search.latencyOffset=0s",
            ]
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)  # nosec B603
        server = VictoriaMetricsServer(f"http://127.0.0.1:{port}", proc, workdir, log_path)
        deadline = time.monotonic() + ready_timeout
        while proc.poll() is None and not _healthy(server.url):
            if time.monotonic() > deadline:
                server.stop()
                raise VictoriaMetricsError(f"victoria-metrics not ready:\n{server.log_tail()}")
            time.sleep(0.05)
        if proc.poll() is None:
            return server
        if "address already in use" not in server.log_tail():
            raise VictoriaMetricsError(f"victoria-metrics exited:\n{server.log_tail()}")
    raise VictoriaMetricsError("victoria-metrics found no free port in three tries")


def import_text(generated: Generated) -> Iterator[bytes]:
    """The samples in Prometheus text format with millisecond timestamps, in request-sized
    chunks (each series in time order)."""
    lines: list[str] = []
    for key, values in generated.series.items():
        labels = ",".join(f'{k}="{v}"' for k, v in key if k != "__name__")
        name = dict(key)["__name__"]
        for t, value in zip(generated.times, values, strict=True):
            lines.append(f"{name}{{{labels}}} {value!r} {t * 1000}")
            if len(lines) >= _IMPORT_SAMPLES_PER_REQUEST:
                yield ("\n".join(lines) + "\n").encode()
                lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode()


def load(server: VictoriaMetricsServer, generated: Generated) -> None:
    """Import ``generated`` into ``server`` and flush it, so queries see all of it."""
    for body in import_text(generated):
        status = _http(f"{server.url}/api/v1/import/prometheus", body)
        if status != 204:
            raise VictoriaMetricsError(f"import answered HTTP {status}:\n{server.log_tail()}")
    server.flush()


def replay_rules(
    server: VictoriaMetricsServer,
    rule_file: Path,
    start: float,
    end: float,
    *,
    interval_seconds: int = 60,
    binary: str = "vmalert",
) -> None:
    """Evaluate ``rule_file`` with ``vmalert`` from ``start`` to ``end`` (unix seconds) every
    ``interval_seconds`` against ``server``, writing the recorded series back into it."""
    cmd = [
        binary,
        f"-rule={rule_file}",
        f"-datasource.url={server.url}",
        f"-remoteWrite.url={server.url}",
        f"-evaluationInterval={interval_seconds}s",
        f"-replay.timeFrom={_rfc3339(start)}",
        f"-replay.timeTo={_rfc3339(end)}",
        "-replay.disableProgressBar",
        "-httpListenAddr=127.0.0.1:0",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)  # nosec B603
    if done.returncode != 0:
        raise VictoriaMetricsError(
            f"vmalert replay failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    server.flush()


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@contextmanager
def serve(
    scenario: Scenario | Generated, *, base_dir: Path | None = None
) -> Iterator[VictoriaMetricsServer]:
    """Run VictoriaMetrics with ``scenario`` imported, for the ``with`` block."""
    generated = scenario if isinstance(scenario, Generated) else scenario.generate()
    workdir = Path(tempfile.mkdtemp(prefix="sloguard-vm-", dir=base_dir))
    try:
        server = start_victoriametrics(workdir)
        try:
            load(server, generated)
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


__all__ = [
    "VictoriaMetricsError",
    "VictoriaMetricsServer",
    "import_text",
    "load",
    "replay_rules",
    "serve",
    "start_victoriametrics",
]
