"""Outgoing requests: a redirect to another host or port is refused, TLS is verified by default.

Real loopback servers, real httpx clients built the way the daemon builds them: the Prometheus
client and every notifier. The second server records whether anything reached it.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from sloguard.config import parse_config
from sloguard.errors import DeliveryError, PermanentDeliveryError, QueryError
from sloguard.notify import build_notifier
from sloguard.prometheus.client import PrometheusClient
from tests.support.notify import notification

ROUTING_KEY = "OutgoingRoutingKey0123456789abcd"
SECRETS = {
    "T_PD_KEY": ROUTING_KEY,
    "T_OG_KEY": "og-key-0123456789",
    "T_WHSEC": "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
}


class _Server:
    """A loopback server: answers ``redirect_to`` with a 307, otherwise 200; counts requests."""

    def __init__(self, redirect_to: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.hits += 1
                if redirect_to is not None:
                    self.send_response(307)
                    self.send_header("Location", redirect_to + self.path)
                    body = b""
                else:
                    self.send_response(200)
                    body = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _serve

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def target() -> Iterator[_Server]:
    server = _Server()
    yield server
    server.close()


@pytest.fixture
def redirector(target: _Server) -> Iterator[_Server]:
    server = _Server(redirect_to=target.url)  # same host (127.0.0.1), another port
    yield server
    server.close()


def _notifiers(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("T_SLACK_URL", f"{url}/services/T000/B000/XXXXXXXXXXXXXXXX")
    config = parse_config(
        f"""\
prometheus: {{url: "{url}"}}
slo_paths: [slos/]
state_path: s.db
notifiers:
  - {{name: pd, type: pagerduty, routing_key_env: T_PD_KEY, url: "{url}/v2/enqueue"}}
  - {{name: og, type: opsgenie, api_key_env: T_OG_KEY, url: "{url}"}}
  - {{name: hook, type: webhook, url: "{url}/hook", secret_env: T_WHSEC}}
  - {{name: chat, type: slack, url_env: T_SLACK_URL}}
"""
    )
    return {"config": config, "notifiers": config.notifiers}


async def _send_all(config: Any, cls: type[BaseException]) -> list[str]:
    """Send one notification through every notifier, built as the daemon builds its client."""
    outcomes = []
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as http:
        for n in config.notifiers:
            notifier = build_notifier(n, http)
            with pytest.raises(cls) as info:
                await notifier.send(notification())
            outcomes.append(f"{n.name}: {info.value}")
    return outcomes


def test_prometheus_client_refuses_a_redirect_to_another_port(
    redirector: _Server, target: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _notifiers(redirector.url, monkeypatch)["config"]

    async def go() -> None:
        async with PrometheusClient(config.prometheus) as client:
            with pytest.raises(QueryError, match="redirect to another host"):
                await client.query("up", 1704067200)

    asyncio.run(go())
    assert redirector.hits == 1
    assert target.hits == 0


def test_every_notifier_refuses_a_redirect_to_another_port(
    redirector: _Server, target: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _notifiers(redirector.url, monkeypatch)["config"]
    outcomes = asyncio.run(_send_all(config, PermanentDeliveryError))
    assert len(outcomes) == 4
    assert all("redirect not followed" in o for o in outcomes), outcomes
    assert target.hits == 0  # nothing signed or keyed went to an address nobody configured
    for secret in (*SECRETS.values(), "XXXXXXXXXXXXXXXX"):
        assert not any(secret in o for o in outcomes)


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[_Server]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *subject,
            *files,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = _Server(tls=context)
    server.cert = cert  # type: ignore[attr-defined]
    yield server
    server.close()


def test_tls_is_verified_by_default_and_ca_file_trusts_a_private_ca(
    self_signed: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _notifiers(self_signed.url, monkeypatch)["config"]

    async def prometheus(ca_file: str | None) -> None:
        prom = config.prometheus.model_copy(update={"ca_file": ca_file})
        async with PrometheusClient(prom) as client:
            await client.query("up", 1704067200)

    with pytest.raises(QueryError, match="TLS verification failed"):
        asyncio.run(prometheus(None))
    asyncio.run(prometheus(str(self_signed.cert)))  # type: ignore[attr-defined]
    assert self_signed.hits == 1  # only the trusted request got through the handshake
    outcomes = asyncio.run(_send_all(config, DeliveryError))
    assert len(outcomes) == 4
    assert self_signed.hits == 1, outcomes  # no notifier sent anything to the unverified server
