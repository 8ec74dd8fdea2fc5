"""`sloguard postmortem --config` reads the episodes of a PostgreSQL state (state_url)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from click.testing import CliRunner

from harness.pgserver import PostgresServer
from sloguard.burn import Evaluation
from sloguard.cli import main
from sloguard.lifecycle import LifecyclePolicy, step
from sloguard.model import Severity
from sloguard.store import PostgresStore


def test_postmortem_lists_and_drafts_from_postgresql(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    url = postgres.fresh_database("postmortem")
    evaluation = Evaluation("checkout", 1000.0, Severity.SEV1, MappingProxyType({}), None, None)
    state, events = step(None, evaluation, 1000.0, LifecyclePolicy())
    store = PostgresStore.open(url)
    store.commit(state, events, [], 1000.0)
    store.close()
    (tmp_path / "slos").mkdir()
    config = tmp_path / "sloguard.yaml"
    config.write_text(
        'prometheus: {url: "http://127.0.0.1:9"}\nslo_paths: [slos/]\n'
        f"state_url: {url}\ninterval_seconds: 5\n"
    )
    runner = CliRunner()
    listed = runner.invoke(main, ["postmortem", "--config", str(config), "--list"])
    assert listed.exit_code == 0, listed.output
    assert state.episode_id in listed.output
    draft = runner.invoke(main, ["postmortem", "--config", str(config), state.episode_id])
    assert draft.exit_code == 0, draft.output
    assert draft.output.startswith("# Postmortem draft: checkout, SEV1")
