"""Graphs as SVG (sloguard.charts): scaling into the box, and markup of numbers and escaped text."""

from __future__ import annotations

import pytest

from sloguard.charts import Line, TierLines, budget_figure, chart, svg, tier_figure


@pytest.mark.parametrize(
    ("lines", "marks", "top", "bottom"),
    [
        pytest.param([Line("a", ((0, 0.5), (60, 0.25)))], [0.0], 1.1, 0.0, id="ratio-in-0-1"),
        pytest.param([Line("a", ((0, 20.0), (60, 5.0)))], [14.4], 22.0, 0.0, id="burn-above-1"),
        pytest.param(
            [Line("a", ((0, 1.0), (60, -1.0)))], [0.0], 1.2, -1.2, id="overspent-below-zero"
        ),
    ],
)
def test_scale_holds_values_marks_and_headroom(
    lines: list[Line], marks: list[float], top: float, bottom: float
) -> None:
    drawn = chart(lines, marks)
    assert drawn is not None
    assert drawn.top == pytest.approx(top)
    assert drawn.bottom == pytest.approx(bottom)
    assert drawn.lines[0].points.startswith("0.0,")
    assert drawn.lines[0].last == lines[0].points[-1][1]


def test_no_point_no_chart() -> None:
    assert chart([Line("a", ())]) is None
    assert budget_figure(Line("30d", ())) is None
    assert tier_figure(TierLines("SEV1", Line("1h", ()), Line("5m", ()), 14.4)) is None


def test_markup_is_numbers_and_escaped_text() -> None:
    drawn = chart([Line('<b x="1">', ((0, 1.0), (60, 2.0)))], [1.5])
    assert drawn is not None
    out = svg(drawn, label="a & <b>", classes=["w1"], attrs=' id="g"')
    assert out.startswith('<svg id="g" role="img" aria-label="a &amp; &lt;b&gt;"')
    assert "<title>&lt;b x=&quot;1&quot;&gt;</title>" in out
    assert out.count('class="threshold"') == 1
    assert "<script" not in out


def test_legends_name_the_last_values_and_the_scale() -> None:
    budget = budget_figure(Line("30d", ((0, 0.9), (60, -0.25))))
    assert budget is not None
    legend = "-25.0% left at the end; the dashed line is a spent budget; scale -37.5% to 112.5%"
    assert legend in budget
    tier = tier_figure(TierLines("SEV1", Line("1h", ((0, 2.0),)), Line("5m", ((0, 20.0),)), 14.4))
    assert tier is not None
    assert '<span class="legend w1">1h at the end 2.0x</span>' in tier
    assert '<span class="legend w2">5m at the end 20.0x</span>; threshold dashed' in tier


def test_a_given_time_scale_places_late_data_at_the_right() -> None:
    late = [Line("30d", ((900.0, 0.5), (1000.0, 0.4)))]
    own = chart(late)
    given = chart(late, start=0.0, end=1000.0)
    assert own is not None
    assert given is not None
    assert own.lines[0].points.startswith("0.0,")  # stretched over its own hundred seconds
    assert given.lines[0].points.startswith("540.0,")  # at 90 % of the period's width
