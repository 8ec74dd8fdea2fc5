"""Test and demo helpers shipped with sloguard: local receivers that enforce the real contracts
of PagerDuty, Opsgenie, Standard Webhooks and Slack (``contracts/``). Not used by the daemon;
needs the ``test`` extra (jsonschema, standardwebhooks)."""
