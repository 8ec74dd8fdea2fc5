"""The UI and the status page in a real headless chromium, against ``sloguard run`` on a real
Prometheus replaying the checkout outage (``--replay-from``, a scaled clock).

During the outage: the list shows checkout first at SEV1; its detail page shows bars over
their thresholds, the budget over the period and every tier's windows over time (from
Prometheus), and the runbook's steps; its incident page shows a notification to a closed port
retrying with its next attempt time and last error; the status page says major outage for
the component checkout's spec names ("Payments"), with daily bars from Prometheus. After it:
the incident page shows the timeline and the notification dead-lettered by a receiver that
refuses its signature, and the status page shows the component operational. On every page:
no console message, no dialog, and the hostile description is text. With
``SLOGUARD_SCREENSHOTS=docs/img`` the pages are photographed for docs/ui.md
(``make screenshots``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from harness import scenarios as sc
from harness.process import free_port
from tests.support.browser import Chromium, Visit, chromium
from tests.support.e2e import notifiers_and_routes, slo_yaml, slos_secrets_and_receivers
from tests.support.prom import Served

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
RUN = (sys.executable, "-m", "sloguard", "run")
HOSTILE = "<img src=x onerror=alert(1)>"


COMPONENT = "Payments"
CHECKOUT_EXTRA = f"""\
  description: "{HOSTILE}"
  dashboard_url: https://grafana.example.com/d/checkout
  runbook:
    diagnostics: ["kubectl -n shop logs deploy/checkout", "{HOSTILE}"]
    mitigations: [roll back the last deploy]
    escalation: [page the database team]
  status_page: {{component_id: ck1, name: {COMPONENT}}}
"""


def write_home(home: Path, served: Served, routes: str, status_port: int) -> Path:
    text = slo_yaml(served.scenario.job).replace(
        "  service: checkout\n", "  service: checkout\n" + CHECKOUT_EXTRA
    )
    (home / "slos" / "slos.yaml").write_text(text)
    (home / "secrets" / "wrong").write_text("whsec_" + "QUJD" * 8 + "\n")
    config = home / "sloguard.yaml"
    hook_url = re.search(r'url: "([^"]+/hook)"', routes)
    assert hook_url is not None
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: every attempt retries
    broken = (
        f'  - {{name: broken, type: webhook, url: "{hook_url[1]}", secret_file: secrets/wrong}}\n'
        f'  - {{name: down, type: webhook, url: "{closed}", secret_file: secrets/whsec}}\n'
    )
    routes = routes.replace("routes:\n", broken + "routes:\n").replace(
        "notifiers: [pd, incidents]", "notifiers: [pd, incidents, broken, down]"
    )
    config.write_text(
        f"""\
prometheus: {{url: "{served.url}"}}
slo_paths: [slos/]
state_path: state/sloguard.db
interval_seconds: 120
{routes}http: {{listen: "127.0.0.1:0"}}
status_page: {{listen: "127.0.0.1:{status_port}", title: "Acme status"}}
"""
    )
    return config


class Run:
    """A ``sloguard run`` subprocess and its stderr."""

    def __init__(self, config: Path, start: float) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [*RUN, "--config", str(config), "--replay-from", repr(start), "--speed", "120"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        line = self.wait_for(r"listening on http://127\.0\.0\.1:(\d+)", 30)
        self.port = int(re.search(r"127\.0\.0\.1:(\d+)", line)[1])  # type: ignore[index]

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            assert self.proc.poll() is None, "\n".join(self.lines)
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in:\n" + "\n".join(self.lines[-50:]))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout}s")


def clean(visit: Visit) -> None:
    """Nothing ran: no console message or page error, no dialog, no injected element."""
    assert visit.console == []
    assert visit.dialogs == []
    assert "<img" not in visit.html


def test_ui_and_status_page_through_an_outage(incidents: Served, tmp_path: Path) -> None:
    shots_dir = os.environ.get("SLOGUARD_SCREENSHOTS")
    shots = Path(shots_dir).resolve() if shots_dir else None
    status_port = free_port()
    with slos_secrets_and_receivers(incidents, tmp_path) as (pd, og, hook):
        config = write_home(tmp_path, incidents, notifiers_and_routes(pd, og, hook), status_port)
        run = Run(config, incidents.scenario.at(sc.OUTAGE_START - 5 * 60))
        ui = f"http://127.0.0.1:{run.port}"
        public = f"http://127.0.0.1:{status_port}"
        try:

            def checkout_status() -> str:
                body = httpx.get(f"{public}/api/v2/summary.json", timeout=5).json()
                statuses = {c["name"]: c["status"] for c in body["components"]}
                return str(statuses.get(COMPONENT, ""))

            def checkout_resolved() -> bool:
                body = httpx.get(f"{public}/api/v2/summary.json", timeout=5).json()
                opened = [i for i in body["incidents"] if i["name"].endswith(f" of {COMPONENT}")]
                return checkout_status() == "operational" and not opened

            eventually(lambda: checkout_status() == "major_outage", 120, "checkout major outage")
            with chromium(shots) as browser:
                during(browser, ui, public)
                eventually(checkout_resolved, 300, "the checkout episode resolved")
                after(browser, ui, public)
        finally:
            run.stop()
    assert "Traceback" not in "\n".join(run.lines)


def bars(html: str, component: str) -> list[str]:
    section = html.split(f"<h2>{component}", 1)[1].split("</section>", 1)[0]
    return re.findall(r'<rect class="([a-z_]+)"', section)


def during(browser: Chromium, ui: str, public: str) -> None:
    status = browser.visit(public, "status-outage")
    clean(status)
    assert f"{COMPONENT}\nMajor outage" in status.text or "Major outage" in status.text
    assert "Major System Outage" in status.text
    days = bars(status.html, COMPONENT)
    assert days[-1] == "major_outage"  # today: the open episode
    assert set(days[:-1]) == {"no_data"}  # Prometheus holds nothing before the scenario's day
    assert "checkout" not in status.text  # the SLO and its service stay internal
    listing = browser.visit(ui, "list")
    clean(listing)
    rows = re.findall(r'<tr class="slo">.*?</tr>', listing.html, re.S)
    severities = [re.findall(r'class="sev (\w+)"', row)[0] for row in rows]
    # Worst budget first: the burning SLOs (checkout's outage, search's 10x burn: which of the
    # two has spent more depends on how far into the outage the page is read) lead the list.
    assert severities[:2] in (["SEV1", "SEV2"], ["SEV2", "SEV1"]), severities
    (checkout,) = [row for row in rows if "checkout-availability" in row]
    assert ">SEV1<" in checkout
    assert HOSTILE in listing.text  # shown as text
    detail = browser.visit(f"{ui}/slos/checkout-availability", "detail", full_page=True)
    clean(detail)
    assert 'id="burn-graph"' in detail.html
    assert detail.html.count('class="over"') >= 2  # the short windows burn over their thresholds
    # From Prometheus range queries: the budget left over the period, and every tier's windows.
    assert 'id="budget-history"' in detail.html
    assert detail.html.count('class="tier-history"') == 4
    assert detail.html.count("<polyline") == 1 + 4 * 2
    assert HOSTILE in detail.text
    runbook = detail.text.split("Runbook", 1)[1].split("Labels", 1)[0]
    steps = ["kubectl -n shop logs deploy/checkout", HOSTILE, "roll back the last deploy"]
    assert [runbook.index(s) for s in steps] == sorted(runbook.index(s) for s in steps)
    assert "page the database team" in runbook
    assert 'href="https://grafana.example.com/d/checkout"' in detail.html
    incidents = browser.visit(f"{ui}/incidents")
    clean(incidents)
    episode = re.search(
        r'href="/incidents/([^"]+)">[^<]*</a></td><td>checkout-availability', incidents.html
    )
    assert episode is not None, incidents.text
    incident = browser.visit(f"{ui}/incidents/{episode[1]}", "incident-retrying")
    clean(incident)
    down = re.search(
        r'<tr class="delivery pending"><td>[^<]*</td><td>down</td>.*?</tr>', incident.html, re.S
    )
    assert down is not None, incident.text
    assert "retrying" in down[0]
    assert "connection failed" in down[0]  # the last error
    assert re.search(r"next attempt \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", down[0])


def after(browser: Chromium, ui: str, public: str) -> None:
    status = browser.visit(public, "status-after")
    clean(status)
    assert "is operating normally again" in status.text
    incidents = browser.visit(f"{ui}/incidents", "incidents")
    clean(incidents)
    row = r'href="/incidents/([^"]+)">[^<]*</a></td><td>checkout-availability</td>'
    checkout = re.findall(row, incidents.html)
    assert checkout, incidents.text
    incident = browser.visit(f"{ui}/incidents/{checkout[0]}", "incident")
    clean(incident)
    timeline = re.search(r'<table id="timeline">.*?</table>', incident.html, re.S)
    assert timeline is not None
    assert ">declared<" in timeline[0]
    assert ">resolved<" in timeline[0]
    assert "dead-lettered" in incident.text
    assert "401" in incident.text  # the reason the receiver gave
    assert "Postmortem draft" in incident.text
