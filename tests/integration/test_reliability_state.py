"""State-file faults and clock steps with sloguard as a real subprocess.

Real Prometheus (one per module, serving the chaos plan's one-service outage), the contract
receivers, and ``sloguard run --once --at T`` / ``run --replay-from T --speed N`` processes
driven by :class:`harness.chaos.Harness`. Counted at the receivers with
:func:`harness.chaos.check`.

A full disk is not here: SQLite's ``PRAGMA max_page_count`` holds for one connection only, so
it cannot be set from outside the daemon's process (see docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import chaos
from harness.faultproxy import FaultProxy
from harness.promserver import serve
from sloguard.store import Store
from sloguard.store._schema import MIGRATIONS, SCHEMA_VERSION

pytestmark = [pytest.mark.prometheus, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
PLAN = chaos.plan(1, services=1)
MIN = chaos.MIN
START = PLAN.scenario.at(chaos.LEAD) + chaos.OFF_GRID  # the outage starts
HEALTHY = START - 2 * MIN
DECLARE = START + 3 * MIN
CLEAR = START + chaos.OUTAGE + 3 * MIN  # errors gone: the quiet period starts
RESOLVE = CLEAR + 4 * MIN  # the quiet period (2 min) is over
AFTER = RESOLVE + 4 * MIN
# State written by sloguard before schema version 2 had none of the episode-impact fields.
V2_STATE_FIELDS = (
    "burning_since",
    "run_peak_burn_rate",
    "run_burn_seconds",
    "burn_started_at",
    "peak_burn_rate",
    "burn_seconds",
    "budget_remaining",
)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultProxy]:
    if shutil.which("prometheus") is None or shutil.which("promtool") is None:
        pytest.skip("needs the prometheus and promtool binaries (make prometheus)")
    with (
        serve(PLAN.scenario, base_dir=tmp_path_factory.mktemp("prom")) as server,
        FaultProxy(server.url) as proxy,
    ):
        yield proxy


@pytest.fixture
def h(tmp_path: Path, prometheus: FaultProxy) -> Iterator[chaos.Harness]:
    with chaos.harness(tmp_path, PLAN, prometheus=prometheus) as harness:
        yield harness


def no_override() -> list[str]:
    """Root ignores file modes: drop the capabilities that let it, so read-only is read-only."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot make a file read-only for root")
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


def replay(h: chaos.Harness, start: float, *, prefix: list[str] | None = None) -> chaos.Run:
    """The long-running daemon (``run --replay-from --speed``), expected to stop by itself."""
    argv = [*(prefix or []), sys.executable, "-m", "sloguard", "run", "--config", str(h.config)]
    proc = subprocess.run(
        [*argv, "--replay-from", repr(start), "--speed", "20"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    return chaos.Run(start, -1, 0.0, 0.0, proc.returncode, False, proc.stdout, proc.stderr)


def assert_clear_stop(run: chaos.Run, path: Path, *words: str) -> None:
    """Exit 1, no traceback, and one ``error:`` line naming the file and what is wrong."""
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert str(path) in errors[0], errors[0]
    for word in words:
        assert word in errors[0], errors[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def accepted(h: chaos.Harness) -> int:
    return sum(a.accepted for r in h.rx.all() for a in r.arrivals)


def assert_clean(h: chaos.Harness) -> chaos.Tally:
    tally = chaos.check(h)
    row = chaos.tally_row(tally)
    assert tally.problems == [], row
    assert (tally.lost, tally.duplicates, tally.out_of_order) == (0, 0, 0), row
    assert tally.redeliveries == 0, row  # exactly once at every receiver
    assert tally.episodes_decided == tally.delivered_complete == 1, row
    (incident,) = h.rx.pd.incidents
    actions = [e["event_action"] for e in incident.events]
    assert actions == ["trigger", "resolve"], actions  # one trigger (one SEV1 tier), one resolve
    return tally


# --- (a) a corrupt state file ------------------------------------------------------------------


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(64) + b"\x00not a database\xff" * 300)


@pytest.mark.parametrize(
    ("damage", "mode"),
    [
        pytest.param(garbage, "once", id="garbage-bytes-once"),
        pytest.param(garbage, "replay", id="garbage-bytes-long-running"),
        pytest.param(truncate, "once", id="cut-in-half-mid-episode-once"),
    ],
)
def test_a_corrupt_state_file_stops_clearly_and_is_left_untouched(
    damage: object, mode: str, h: chaos.Harness
) -> None:
    if damage is truncate:  # a real database with an open, delivered episode
        h.once(HEALTHY)
        h.once(DECLARE)
        assert accepted(h) == 3
    else:
        h.state.parent.mkdir(parents=True)
    assert callable(damage)
    damage(h.state)
    before = digest(h.state)
    sent = accepted(h)
    run = h.once(DECLARE + MIN) if mode == "once" else replay(h, DECLARE)
    assert_clear_stop(run, h.state, "corrupt", "move it aside")
    assert digest(h.state) == before  # not overwritten, not "repaired"
    assert sorted(p.name for p in h.state.parent.iterdir()) == [h.state.name]
    assert accepted(h) == sent  # nothing sent from a database it cannot read


# --- (b) a read-only state file or directory ---------------------------------------------------


@pytest.mark.parametrize(
    "target", [pytest.param("file", id="read-only-file"), pytest.param("dir", id="read-only-dir")]
)
def test_a_read_only_state_stops_safely_and_loses_nothing(target: str, h: chaos.Harness) -> None:
    prefix = no_override()
    h.once(HEALTHY)
    h.rx.pd.down()
    h.once(DECLARE)  # declared; PagerDuty's trigger stays pending
    h.rx.pd.up()
    assert accepted(h) == 2  # Opsgenie and the webhook
    # A clean exit removes the -wal and -shm files; a read-only directory then stops SQLite
    # from creating them again. (With them left by a crash, a read-only directory is no fault.)
    assert sorted(p.name for p in h.state.parent.iterdir()) == [h.state.name]
    locked = h.state if target == "file" else h.state.parent
    mode = locked.stat().st_mode
    locked.chmod(0o444 if target == "file" else 0o555)
    try:
        before = digest(h.state)
        assert_clear_stop(h.once(DECLARE + MIN, prefix=prefix), h.state)
        assert_clear_stop(replay(h, DECLARE + MIN, prefix=prefix), h.state)
        assert digest(h.state) == before
        # Nothing was sent that could not be recorded as sent: it would go out twice.
        assert h.rx.pd.arrivals == []
    finally:
        locked.chmod(mode)
    h.once(DECLARE + MIN)  # writable again: the pending trigger goes out
    for at in (CLEAR, RESOLVE, AFTER):
        h.once(at)
    h.settle(AFTER)
    assert_clean(h)


# --- (c) a database from an older schema version -----------------------------------------------


def downgrade_to_v1(path: Path) -> None:
    """Rewrite ``path`` as sloguard wrote it at schema version 1: the store's own v1 schema,
    the same rows, episode state without the fields version 2 added."""
    old = path.with_name("v2.db")
    path.rename(old)
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[1])
    db.execute("ATTACH DATABASE ? AS v2", (str(old),))
    tables = [r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type='table'")]
    for table in tables:
        cols = ", ".join(r[1] for r in db.execute(f"PRAGMA main.table_info({table})"))
        db.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM v2.{table}")
    for slo, state in db.execute("SELECT slo, state FROM main.slo_state").fetchall():
        data = {k: v for k, v in json.loads(state).items() if k not in V2_STATE_FIELDS}
        db.execute("UPDATE main.slo_state SET state = ? WHERE slo = ?", (json.dumps(data), slo))
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.execute("DETACH DATABASE v2")
    db.close()
    old.unlink()


def test_an_older_schema_is_migrated_and_the_open_episode_continues(h: chaos.Harness) -> None:
    h.once(HEALTHY)
    h.once(DECLARE)
    assert accepted(h) == 3
    downgrade_to_v1(h.state)
    db = sqlite3.connect(h.state)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM episodes").fetchone()[0] == 1
    db.close()
    for at in (DECLARE + MIN, CLEAR, RESOLVE, AFTER):
        run = h.once(at)
        assert run.returncode == 0, run.stderr
    h.settle(AFTER)
    assert_clean(h)
    store = Store.open(h.state, read_only=True)
    assert store.schema_version == SCHEMA_VERSION
    (episode,) = store.episodes()
    store.close()
    assert episode.resolved_at is not None


# --- 2. clock steps ----------------------------------------------------------------------------


HOUR = 3600


@pytest.mark.parametrize(
    "ticks",
    [
        pytest.param(
            [
                HEALTHY,
                DECLARE,
                DECLARE + 2 * MIN,
                DECLARE + 2 * MIN - HOUR,
                DECLARE + 4 * MIN,
                CLEAR,
                RESOLVE,
                AFTER,
            ],
            id="an-hour-back-while-firing-then-forward",
        ),
        pytest.param(
            [HEALTHY, DECLARE, CLEAR, CLEAR - HOUR, CLEAR + MIN - HOUR, RESOLVE, AFTER],
            id="an-hour-back-during-the-quiet-period-then-forward",
        ),
    ],
)
def test_clock_steps_page_once(ticks: list[float], h: chaos.Harness) -> None:
    for at in ticks:
        run = h.once(at)
        assert run.returncode == 0, run.stderr
    h.settle(ticks[-1])
    tally = assert_clean(h)
    assert tally.runs == len(ticks)  # settled with no extra tick: resolved on time
