"""A Slack incoming webhook that enforces ``contracts/slack/``.

- The path is the secret: anything but the configured ``/services/...`` path gets 404
  ``no_service``.
- Bodies: invalid JSON -> 400 ``invalid_payload``; neither text nor blocks -> 400 ``no_text``;
  blocks over the Block Kit limits (incoming-webhook.limits.schema.json) -> 400
  ``invalid_blocks``. Success is 200 with the plain-text body ``ok``. Errors are plain text,
  not JSON, as Slack sends them.
- No idempotency: every accepted post is a message (``messages``).
"""

from __future__ import annotations

import json
from typing import Any

from harness.receivers._contracts import validator
from harness.receivers._server import Arrival, Clock, Receiver, Reply, schema_errors

DEFAULT_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


class SlackReceiver(Receiver):
    service = "slack"

    def __init__(
        self,
        *,
        path: str = DEFAULT_PATH,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(host=host, port=port, **({"clock": clock} if clock else {}))
        self.path = path
        self.messages: list[dict[str, Any]] = []
        self._schema = validator("slack/incoming-webhook.limits.schema.json")

    @property
    def webhook_url(self) -> str:
        return self.url + self.path

    def _error(
        self, arrival: Arrival, status: int, code: str, errors: list[str] | None = None
    ) -> Reply:
        arrival.outcome = "rejected"
        arrival.errors = [code, *(errors or [])]
        return Reply.text(status, code)

    def handle(self, arrival: Arrival) -> Reply:
        if arrival.path != self.path:
            return self._error(arrival, 404, "no_service")
        if arrival.method != "POST":
            return self._error(arrival, 405, "invalid_method")
        try:
            body = json.loads(arrival.body)
        except (ValueError, UnicodeDecodeError):
            return self._error(arrival, 400, "invalid_payload")
        if not isinstance(body, dict):
            return self._error(arrival, 400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return self._error(arrival, 400, "no_text")
        errors = schema_errors(self._schema, body)
        if errors:
            return self._error(arrival, 400, "invalid_blocks", errors)
        self.messages.append(body)
        arrival.outcome = "accepted"
        return Reply.text(200, "ok")
