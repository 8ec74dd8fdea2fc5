"""Run all four receivers on loopback for a demo; print one line per arrival.

    python -m harness.receivers [--pagerduty-port N] [--opsgenie-port N]
        [--webhook-port N] [--slack-port N] [--webhook-preset generic|incident_io|...]

The keys below are public demo values, not secrets; sloguard's config points at them.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from harness.receivers import (
    Arrival,
    OpsgenieReceiver,
    PagerDutyReceiver,
    Receiver,
    SlackReceiver,
    WebhookReceiver,
    one_line,
)
from harness.receivers.webhook import SCHEMAS

DEMO_ROUTING_KEY = "sloguardDemoRoutingKey0000000000"
DEMO_GENIE_KEY = "sloguard-demo-genie-key"
# The public key of test-vectors.json, never a real one.
DEMO_WEBHOOK_SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # noqa: S105 (public test vector)  # nosec B105


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.receivers",
        description="Fake PagerDuty, Opsgenie, incident webhook and Slack receivers that "
        "enforce the real contracts, on 127.0.0.1. Ctrl-C stops them.",
    )
    parser.add_argument("--pagerduty-port", type=int, default=0)
    parser.add_argument("--opsgenie-port", type=int, default=0)
    parser.add_argument("--webhook-port", type=int, default=0)
    parser.add_argument("--slack-port", type=int, default=0)
    parser.add_argument("--webhook-preset", choices=sorted(SCHEMAS), default="generic")
    args = parser.parse_args(argv)

    pd = PagerDutyReceiver(routing_keys=[DEMO_ROUTING_KEY], port=args.pagerduty_port)
    og = OpsgenieReceiver(api_keys=[DEMO_GENIE_KEY], port=args.opsgenie_port)
    wh = WebhookReceiver(
        secret=DEMO_WEBHOOK_SECRET, preset=args.webhook_preset, port=args.webhook_port
    )
    sl = SlackReceiver(port=args.slack_port)
    receivers: list[Receiver] = [pd, og, wh, sl]
    lock = threading.Lock()

    def show(receiver: Receiver, arrival: Arrival) -> None:
        with lock:
            print(one_line(receiver, arrival), flush=True)

    for receiver in receivers:
        receiver.on_arrival = show
        receiver.start()
    print(f"pagerduty  url: {pd.enqueue_url}  routing key: {DEMO_ROUTING_KEY}", flush=True)
    print(f"opsgenie   url: {og.url}  api key: {DEMO_GENIE_KEY}", flush=True)
    print(f"webhook    url: {wh.url}/hook  secret: {DEMO_WEBHOOK_SECRET}", flush=True)
    print(f"slack      url: {sl.webhook_url}", flush=True)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stop.wait()
    for receiver in receivers:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
