"""Local receivers that enforce the real contracts of PagerDuty, Opsgenie (and JSM), Standard
Webhooks incident endpoints, Slack (incoming webhooks and the Web API of an incident channel),
Atlassian Statuspage and Jira Cloud, for tests and the demo.

    with PagerDutyReceiver(routing_keys=[KEY]) as pd:
        ...                       # point a notifier at pd.enqueue_url
        pd.fail(2, status=503)    # the next two requests get 503
        pd.incidents              # what PagerDuty would show
        pd.arrivals               # every request, with timestamps and what it got back

Each runs a loopback HTTP server on its own port in a background thread. Run them all for a
demo with ``python -m harness.receivers``.
"""

from harness.receivers._server import Arrival, Receiver, Reply, one_line
from harness.receivers.jira import JiraIssue, JiraReceiver
from harness.receivers.opsgenie import Alert, OpsgenieReceiver
from harness.receivers.pagerduty import Incident, PagerDutyReceiver
from harness.receivers.slack import SlackReceiver
from harness.receivers.slack_web import SlackChannel, SlackMessage, SlackWebReceiver
from harness.receivers.statuspage import (
    StatuspageComponent,
    StatuspageIncident,
    StatuspageReceiver,
)
from harness.receivers.webhook import WebhookIncident, WebhookReceiver

__all__ = [
    "Alert",
    "Arrival",
    "Incident",
    "JiraIssue",
    "JiraReceiver",
    "OpsgenieReceiver",
    "PagerDutyReceiver",
    "Receiver",
    "Reply",
    "SlackChannel",
    "SlackMessage",
    "SlackReceiver",
    "SlackWebReceiver",
    "StatuspageComponent",
    "StatuspageIncident",
    "StatuspageReceiver",
    "WebhookIncident",
    "WebhookReceiver",
    "one_line",
]
