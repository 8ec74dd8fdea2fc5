"""Budget events (sloguard.budget): once per crossing of a line, with hysteresis. Pure."""

from __future__ import annotations

import random

import pytest

from sloguard.budget import BudgetEventKind, BudgetPolicy, step_budget

CROSSED = BudgetEventKind.THRESHOLD_CROSSED
EXHAUSTED = BudgetEventKind.EXHAUSTED
RECOVERED = BudgetEventKind.RECOVERED
POLICY = BudgetPolicy()


def run(remaining: list[float | None], policy: BudgetPolicy = POLICY) -> list[tuple[str, float]]:
    level, out = 0, []
    for r in remaining:
        level, events = step_budget(level, r, policy)
        out += [(e.kind.value, e.threshold_percent) for e in events]
    return out


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        pytest.param([0.9, 0.8, 0.6], [], id="above-every-line"),
        pytest.param([0.6, 0.49], [(CROSSED, 50)], id="below-50"),
        pytest.param([0.6, 0.5], [], id="at-50-is-not-below"),
        pytest.param([0.6, 0.2, 0.1], [(CROSSED, 50), (CROSSED, 25)], id="two-lines-in-one-step"),
        pytest.param([0.3, 0.0], [(CROSSED, 50), (CROSSED, 25), (EXHAUSTED, 0)],
                     id="exhausted-at-zero"),
        pytest.param([-0.5, -2.0], [(CROSSED, 50), (CROSSED, 25), (EXHAUSTED, 0)],
                     id="overspent-once"),
        pytest.param([0.4, 0.53, 0.56], [(CROSSED, 50), (RECOVERED, 50)],
                     id="recovers-past-the-margin-only"),
        pytest.param([0.4, 0.549], [(CROSSED, 50)], id="inside-the-margin-not-yet"),
        pytest.param([-0.1, 0.6], [(CROSSED, 50), (CROSSED, 25), (EXHAUSTED, 0),
                                   (RECOVERED, 0), (RECOVERED, 25), (RECOVERED, 50)],
                     id="recovers-every-line"),
        pytest.param([0.4, None, None, 0.4], [(CROSSED, 50)], id="gaps-change-nothing"),
    ],
)  # fmt: skip
def test_crossings(remaining: list[float | None], expected: list[tuple[str, float]]) -> None:
    assert run(remaining) == [(str(k), t) for k, t in expected]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noise_around_a_line_fires_once_per_real_crossing(seed: int) -> None:
    # The budget drifts down through 50 %, jittering +/- 2 points each tick, stays near the
    # line, then climbs well above it: one crossing, one recovery, whatever the noise.
    rng = random.Random(seed)
    trend = [0.60 - 0.002 * i for i in range(100)]  # 60 % -> 40.2 %
    trend += [0.45] * 200 + [0.50 + 0.001 * i for i in range(150)]  # back up to 64.9 %
    noisy: list[float | None] = [t + rng.uniform(-0.02, 0.02) for t in trend]
    assert run(noisy) == [(str(CROSSED), 50.0), (str(RECOVERED), 50.0)]
    # Without hysteresis the same noise flaps: the margin is what makes it fire once.
    assert len(run(noisy, BudgetPolicy(hysteresis_percent=0))) > 2


def test_configured_lines() -> None:
    policy = BudgetPolicy(thresholds_percent=(75.0, 10.0), hysteresis_percent=1.0)
    assert run([0.8, 0.7, 0.05], policy) == [(str(CROSSED), 75.0), (str(CROSSED), 10.0)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"thresholds_percent": (25.0, 50.0)}, "descending", id="ascending"),
        pytest.param({"thresholds_percent": (50.0, 50.0)}, "distinct", id="duplicate"),
        pytest.param({"hysteresis_percent": -1.0}, "negative", id="negative-margin"),
    ],
)
def test_bad_policy(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BudgetPolicy(**kwargs)  # type: ignore[arg-type]


def _readable_step(
    level: int, remaining: float | None, policy: BudgetPolicy
) -> tuple[int, tuple[tuple[str, float], ...]]:
    """step_budget as its docstring says it, without the shortcut for a key above every line:
    the lines it is below now, and with the margin, counted."""

    def below(pct: float, line: float) -> bool:
        return pct <= 0.0 if line <= 0.0 else pct < line

    if remaining is None:
        return level, ()
    pct, lines = remaining * 100.0, policy.thresholds_percent
    down = sum(1 for line in lines if below(pct, line))
    if down > level:
        return down, tuple(("exhausted" if x <= 0 else "crossed", x) for x in lines[level:down])
    up = sum(1 for line in lines if below(pct - policy.hysteresis_percent, line))
    if up < level:
        return up, tuple(("recovered", x) for x in reversed(lines[up:level]))
    return level, ()


POLICIES = [
    pytest.param(BudgetPolicy(), id="default"),
    pytest.param(BudgetPolicy((0.0,), 0.0), id="only-exhausted"),
    pytest.param(BudgetPolicy((), 5.0), id="no-lines"),
    pytest.param(BudgetPolicy((90.0, 10.0, -5.0), 2.0), id="a-line-below-zero"),
]
REMAINING = [None, 1.2, 1.0, 0.9, 0.5, 0.5000001, 0.4999999, 0.3, 0.25, 0.1, 0.0, -0.0, -2.0]


@pytest.mark.parametrize("policy", POLICIES)
def test_a_key_above_every_line_steps_as_every_other(policy: BudgetPolicy) -> None:
    names = {
        BudgetEventKind.EXHAUSTED: "exhausted",
        BudgetEventKind.THRESHOLD_CROSSED: "crossed",
        BudgetEventKind.RECOVERED: "recovered",
    }
    for level in range(len(policy.thresholds_percent) + 1):
        for remaining in REMAINING:
            got, events = step_budget(level, remaining, policy)
            said = tuple((names[e.kind], e.threshold_percent) for e in events)
            assert (got, said) == _readable_step(level, remaining, policy), (level, remaining)
