"""`sloguard evaluate` as a subprocess: real Prometheus, and local servers that misbehave."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness import scenarios as sc
from tests.support.prom import Served

ROOT = Path(__file__).resolve().parents[2]
JOB = 'job="sloguard-test"'


def spec(name: str, service: str, errors_extra: str = 'code=~"5.."') -> str:
    sel = f'{JOB},service="{service}"'
    return f"""\
apiVersion: sloguard/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: {service}
  objective: 99.9
  window: 30d
  indicator:
    ratio:
      errors: sum(rate(http_requests_total{{{sel},{errors_extra}}}[{{{{.window}}}}]))
      total: sum(rate(http_requests_total{{{sel}}}[{{{{.window}}}}]))
"""


@pytest.fixture
def slo_dir(tmp_path: Path) -> Path:
    d = tmp_path / "slo_definitions"
    d.mkdir()
    (d / "shop.yaml").write_text(
        "---\n".join(
            [
                spec("checkout-availability", "checkout"),
                spec("search-availability", "search"),
                spec("idle-availability", "idle"),
            ]
        )
    )
    return d


def sloguard(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloguard", "evaluate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr
    assert "Traceback" not in done.stdout


@pytest.mark.prometheus
def test_json_output_during_an_outage(incidents: Served, slo_dir: Path) -> None:
    at = incidents.scenario.at(sc.OUTAGE_START + 10 * 60) + 7
    done = sloguard(str(slo_dir), "--prometheus", incidents.url, "--at", str(at), "-o", "json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [(e["slo"], e["severity"]) for e in out] == [
        ("checkout-availability", "SEV1"),
        ("search-availability", "SEV2"),
        ("idle-availability", "NO_DATA"),
    ]
    first = out[0]
    assert set(first) >= {
        "slo", "severity", "burn_rates", "error_budget_remaining", "time_to_exhaustion_seconds",
    }  # fmt: skip
    assert list(first["burn_rates"]) == ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
    truth = incidents.data.error_ratio("checkout", 3600, at)
    assert truth is not None
    assert first["burn_rates"]["1h"] == pytest.approx(truth / 0.001, rel=1e-9)
    assert first["error"] is None
    assert out[2]["burn_rates"]["5m"] is None


@pytest.mark.prometheus
@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(["--no-recorded"], id="no-recorded"),
        pytest.param(["--recorded", "--direct-windows-max", "1h"], id="direct-windows-max-1h"),
        pytest.param(["--direct-windows-max", "0"], id="direct-windows-max-0"),
    ],
)
def test_recorded_flags_without_rules_change_nothing(
    incidents: Served, slo_dir: Path, flags: list[str]
) -> None:
    # No recording rules in this Prometheus: every mode queries directly, with the same result.
    # (With rules loaded, tests/integration/test_recorded.py compares the modes.)
    at = str(incidents.scenario.at(sc.OUTAGE_START + 10 * 60) + 7)
    base = sloguard(str(slo_dir), "--prometheus", incidents.url, "--at", at, "-o", "json")
    done = sloguard(str(slo_dir), "--prometheus", incidents.url, "--at", at, "-o", "json", *flags)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(base.stdout)
    assert json.loads(done.stdout)[0]["severity"] == "SEV1"


@pytest.mark.prometheus
def test_rfc3339_at_and_table_output(incidents: Served, slo_dir: Path) -> None:
    done = sloguard(str(slo_dir), "--prometheus", incidents.url, "--at", "2024-01-01T06:10:07Z")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("3 SLOs at 2024-01-01T06:10:07Z")
    header, rows = lines[1], lines[2:5]
    assert header.split()[:3] == ["SLO", "SEVERITY", "BURN"]
    assert rows[0].split()[:2] == ["checkout-availability", "SEV1"]
    # aligned: every row's severity starts in the same column
    assert len({row.index("SEV") if "SEV" in row else row.index("NO_DATA") for row in rows}) == 1
    assert "\x1b[" not in done.stdout  # not a terminal: no colour
    coloured = sloguard(
        str(slo_dir), "--prometheus", incidents.url, "--at", "1704089407", "--color"
    )
    assert "\x1b[" in coloured.stdout


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def answering(status: int, body: str) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def vector(value: str) -> str:
    return json.dumps(
        {"status": "success", "data": {"resultType": "vector",
                                       "result": [{"metric": {}, "value": [0, value]}]}}
    )  # fmt: skip


def two_series() -> str:
    result = [{"metric": {"pod": p}, "value": [0, "0.1"]} for p in ("a", "b")]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})


def prom_error(kind: str, msg: str) -> str:
    return json.dumps({"status": "error", "errorType": kind, "error": msg})


@pytest.mark.parametrize(
    ("status", "body", "text"),
    [
        pytest.param(500, prom_error("internal", "boom"), "HTTP 500: internal: boom", id="500"),
        pytest.param(503, "", "HTTP 503", id="503"),
        pytest.param(403, "", "HTTP 403: check the bearer token", id="403"),
        pytest.param(400, prom_error("bad_data", "1:5: parse error: unexpected"),
                     "bad_data: 1:5: parse error", id="promql-error"),
        pytest.param(200, two_series(), "returned 2 series where one was expected",
                     id="several-series"),
        pytest.param(200, vector("+Inf"), "total event rate over 5m is inf", id="inf"),
        pytest.param(200, vector("NaN"), "total event rate over 5m is nan", id="nan"),
        pytest.param(200, "<html>login</html>", "not JSON", id="html"),
    ],
)  # fmt: skip
def test_misbehaving_prometheus(status: int, body: str, text: str, slo_dir: Path) -> None:
    for url in answering(status, body):
        done = sloguard(str(slo_dir), "--prometheus", url, "--at", "1704067200",
                        "--retries", "1", "-o", "json")  # fmt: skip
        assert_no_traceback(done)
        assert done.returncode == 1, done.stderr
        out = json.loads(done.stdout)
        assert len(out) == 3
        for ev in out:
            assert ev["severity"] == "NO_DATA"  # never a wrong severity
            assert text in ev["error"]
            assert ev["error"].startswith(ev["slo"] + ": ")


def test_unreachable_prometheus_is_said_once_before_anything_else(
    closed_port: int, slo_dir: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    done = sloguard(str(slo_dir), "--prometheus", url, "--retries", "0")
    assert_no_traceback(done)
    assert done.returncode == 1
    said = f"sloguard: error: Prometheus at {url} could not be reached: cannot connect: "
    assert done.stderr.startswith(said), done.stderr
    assert done.stderr.count("cannot connect") == 1
    # Not "0 burning" above a table of NO_DATA rows, one connection error each.
    assert "burning" not in done.stdout
    assert "checkout-availability" not in done.stdout


def test_hanging_prometheus_times_out(hanging_url: str, slo_dir: Path) -> None:
    done = sloguard(str(slo_dir), "--prometheus", hanging_url, "--timeout", "0.3",
                    "--retries", "0", "-o", "json", timeout=30)  # fmt: skip
    assert_no_traceback(done)
    assert done.returncode == 1
    out = json.loads(done.stdout)
    assert {ev["severity"] for ev in out} == {"NO_DATA"}
    assert all("no answer within 0.3s" in ev["error"] for ev in out)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        pytest.param(["--at", "yesterday"], "neither unix seconds nor RFC 3339", id="bad-at"),
        pytest.param(["--at", "2024-01-01T06:00:00"], "no timezone", id="naive-at"),
        pytest.param(["--at", "1704067200000"], "milliseconds", id="ms-at"),
        pytest.param(["--bearer-token-file", "/nonexistent/token"], "bearer_token: cannot read",
                     id="token-file"),
        pytest.param(["--basic-auth-user", "sre"], "needs --basic-auth-password", id="basic"),
        pytest.param(["-o", "yaml"], "'yaml' is not one of", id="bad-output"),
        pytest.param(["--direct-windows-max", "1 hour"],
                     "Invalid value for '--direct-windows-max': '1 hour' is not a duration",
                     id="bad-direct-windows-max"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(args: list[str], text: str, slo_dir: Path, closed_port: int) -> None:
    done = sloguard(str(slo_dir), "--prometheus", f"http://127.0.0.1:{closed_port}", *args)
    assert_no_traceback(done)
    assert done.returncode == 2
    assert text in done.stderr


def test_invalid_spec_exits_2_with_a_located_error(tmp_path: Path, closed_port: int) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec("x", "checkout").replace("objective: 99.9", "objective: 120"))
    done = sloguard(str(bad), "--prometheus", f"http://127.0.0.1:{closed_port}")
    assert_no_traceback(done)
    assert done.returncode == 2
    assert f"{bad}:" in done.stderr
    assert "objective" in done.stderr


def test_help_explains_exit_codes() -> None:
    done = sloguard("--help")
    assert done.returncode == 0
    assert "Exit status" in done.stdout
    assert "--prometheus URL" in done.stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        pytest.param(["--basic-auth-user", "sre"], "needs --basic-auth-password", id="user-alone"),
        pytest.param(["--basic-auth-password-env", "PW"], "needs --basic-auth-user",
                     id="password-alone"),
        pytest.param(["--bearer-token-env", "T", "--basic-auth-user", "sre",
                      "--basic-auth-password-env", "PW"], "use one of", id="two-methods"),
    ],
)  # fmt: skip
def test_backtest_shares_the_connection_flags(
    args: list[str], text: str, slo_dir: Path, closed_port: int
) -> None:
    """`backtest` takes the same auth/TLS flags as `evaluate`, checked the same way."""
    done = subprocess.run(
        [sys.executable, "-m", "sloguard", "backtest", str(slo_dir), "--prometheus",
         f"http://127.0.0.1:{closed_port}", "--from", "1704067200", "--to", "1704070800", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert_no_traceback(done)
    assert done.returncode == 2
    assert text in done.stderr
