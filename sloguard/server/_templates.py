# ruff: noqa: E501  (template text: HTML lines are kept whole, not wrapped for Python)
"""The UI's Jinja2 templates and stylesheet, kept in code so packaging ships them.

Autoescaping is on for every template: a name, description, label or runbook step from a
spec is text, never markup. No template contains a script.
"""

from __future__ import annotations

import jinja2

from sloguard import charts

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:.6em 1em}header a{color:#fff;margin-right:1em}
main{padding:1em}table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:.3em .5em;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
.SEV1{background:#b3261e;color:#fff}.SEV2{background:#e8710a;color:#fff}
.SEV3{background:#f9ab00}.OK{background:#1e8e3e;color:#fff}.NO_DATA{background:#9aa0a6}
.sev{padding:.1em .4em;border-radius:3px;font-weight:600}
.num{font-size:2em;font-weight:600}.cards{display:flex;gap:2em;margin:1em 0}
form{margin:.5em 0}input,select{margin-right:.5em}pre{white-space:pre-wrap;background:#fff;padding:1em}
.dead{color:#b3261e;font-weight:600}.next{display:block;color:#5f6368}.over{fill:#b3261e}.under{fill:#1e8e3e}
"""
CSS += charts.CSS + "\n"  # the graphs' colours: one home, shared with the report

_BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}sloguard{% endblock %}</title>
<link rel="stylesheet" href="/ui.css"></head>
<body><header><a href="/">SLOs</a><a href="/incidents">Incidents</a>
<a href="/api/v1/slos">API</a></header><main>{% block main %}{% endblock %}</main></body></html>
"""

_LIST = """{% extends "base.html" %}{% block title %}SLOs · sloguard{% endblock %}
{% block main %}<h1>SLOs</h1>
<form method="get" action="/">
<input name="q" value="{{ f.text }}" placeholder="search">
<select name="severity"><option value="">any severity</option>
{% for s in severities %}<option{% if s == f.severity %} selected{% endif %}>{{ s }}</option>{% endfor %}
</select>
<input name="service" value="{{ f.service }}" placeholder="service">
<input name="label" value="{{ f.label }}" placeholder="label=value">
<button type="submit">Filter</button></form>
<p id="count">{{ total }} SLOs{% if pages > 1 %}, page {{ f.page }} of {{ pages }}{% endif %}</p>
<table id="slos"><thead><tr><th>SLO</th><th>Service</th><th>Team</th><th>Objective</th>
<th>Severity</th><th>Budget left</th><th>Exhausted in</th><th>Burn rate by window</th></tr></thead>
<tbody>{% for r in rows %}<tr class="slo">
<td><a href="/slos/{{ r.key | urlencode }}">{{ r.key }}</a><br><small>{{ r.description }}</small></td>
<td>{{ r.service }}</td><td>{{ r.team }}</td>
<td>{{ pct(r.objective_percent) }}</td>
<td><span class="sev {{ r.severity }}">{{ r.severity }}</span></td>
<td>{{ ratio(r.budget_left) }}</td><td>{{ r.time_to_exhaustion }}</td>
<td>{% for w, v in r.burn_rates %}{{ w }}: {{ rate(v) }}{% if not loop.last %}, {% endif %}{% endfor %}</td>
</tr>{% endfor %}</tbody></table>
{% if f.page > 1 %}<a rel="prev" href="?{{ query(f.page - 1) }}">previous</a>{% endif %}
{% if f.page < pages %}<a rel="next" href="?{{ query(f.page + 1) }}">next</a>{% endif %}
{% endblock %}
"""

_DETAIL = """{% extends "base.html" %}{% from "episodes.html" import episode_table %}
{% block title %}{{ r.key }} · sloguard{% endblock %}
{% block main %}<h1>{{ r.key }}</h1><p id="description">{{ r.description }}</p>
{% if slo and slo.group_by and r.key != slo.name %}<p id="group-of">One group of <a href="/slos/{{ slo.name | urlencode }}">{{ slo.name }}</a>.</p>{% endif %}
<p>Service {{ r.service }}{% if r.team %}, team {{ r.team }}{% endif %}.
Now: <span class="sev {{ r.severity }}" id="severity">{{ r.severity }}</span></p>
<div class="cards"><div><div class="num">{{ pct(r.objective_percent) }}</div>objective</div>
<div><div class="num" id="budget">{{ ratio(r.budget_left) }}</div>budget left</div>
<div><div class="num">{{ r.time_to_exhaustion }}</div>until exhausted</div></div>
<h2>Burn rate by window</h2>
<svg id="burn-graph" role="img" aria-label="burn rate by window" width="600" height="245"
 viewBox="0 0 600 245">{% for b in bars %}
<rect class="{{ 'over' if b.over else 'under' }}" x="{{ '%.1f' % b.x }}" y="{{ '%.1f' % b.y }}"
 width="{{ '%.1f' % bar_width }}" height="{{ '%.1f' % b.height }}"><title>{{ b.label }}: {{ b.value_text }}</title></rect>
{% if b.threshold_y is not none %}<line class="threshold" x1="{{ '%.1f' % (b.x - 4) }}"
 x2="{{ '%.1f' % (b.x + bar_width + 4) }}" y1="{{ '%.1f' % b.threshold_y }}" y2="{{ '%.1f' % b.threshold_y }}"/>{% endif %}
<text x="{{ '%.1f' % b.x }}" y="218">{{ b.label }}</text><text x="{{ '%.1f' % b.x }}" y="236">{{ b.value_text }}</text>{% endfor %}
</svg>
{% if history %}<h2>Error budget left over the period ({{ history.budget.window }})</h2>
{% if budget %}<svg id="budget-history" role="img" aria-label="error budget left over the period" width="600" height="160" viewBox="0 0 600 160">
{% for l in budget.lines %}<polyline class="line budget" points="{{ l.points }}"><title>budget left</title></polyline>{% endfor %}
{% for y in budget.marks %}<line class="threshold" x1="0" x2="600" y1="{{ '%.1f' % y }}" y2="{{ '%.1f' % y }}"/>{% endfor %}
</svg><p id="budget-now">{{ ratio(budget.lines[0].last) }} left now; the dashed line is a spent budget{% if history.recorded %}; from the recorded series{% endif %}.</p>
{% else %}<p>No data over the period yet.</p>{% endif %}
<h2>Burn rate of every window over the last {{ span }}</h2>
{% for t, c in tiers %}<h3 class="tier-title">{{ t.severity }}: {{ t.long.window }} and {{ t.short.window }}, threshold {{ rate(t.threshold) }}</h3>
{% if c %}<svg class="tier-history" role="img" aria-label="{{ t.severity }} burn rate over time" width="600" height="160" viewBox="0 0 600 160">
{% for l in c.lines %}<polyline class="line w{{ loop.index }}" points="{{ l.points }}"><title>{{ l.window }}</title></polyline>{% endfor %}
{% for y in c.marks %}<line class="threshold" x1="0" x2="600" y1="{{ '%.1f' % y }}" y2="{{ '%.1f' % y }}"/>{% endfor %}
</svg><p>{% for l in c.lines %}<span class="legend w{{ loop.index }}">{{ l.window }} now {{ rate(l.last) }}</span>{% if not loop.last %}, {% endif %}{% endfor %}; threshold dashed; scale up to {{ rate(c.top) }}</p>
{% else %}<p>No data.</p>{% endif %}{% endfor %}{% endif %}
<h2>Tiers</h2><table id="tiers"><tr><th>Severity</th><th>Windows</th><th>Threshold</th>
<th>Long</th><th>Short</th><th>State</th></tr>{% for d in ev.tiers %}<tr>
<td>{{ d.tier.severity.name }}</td><td>{{ dur(d.tier.long_seconds) }}/{{ dur(d.tier.short_seconds) }}</td>
<td>{{ rate(d.factor) }}</td><td>{{ rate(d.long_burn_rate) }}</td><td>{{ rate(d.short_burn_rate) }}</td>
<td>{{ d.state }}</td></tr>{% endfor %}</table>
<h2>Runbook</h2><div id="runbook">{% set steps = slo.runbook.steps() if slo else {} %}
{% if slo and slo.runbook_url %}<p>Runbook: <a href="{{ slo.runbook_url }}" rel="noreferrer">{{ slo.runbook_url }}</a></p>{% endif %}
{% if slo and slo.dashboard_url %}<p>Dashboard: <a href="{{ slo.dashboard_url }}" rel="noreferrer">{{ slo.dashboard_url }}</a></p>{% endif %}
{% for section, items in steps.items() %}<h3>{{ section | capitalize }}</h3><ol class="steps {{ section }}">
{% for step in items %}<li>{{ step }}</li>{% endfor %}</ol>{% endfor %}
{% if not steps and not (slo and (slo.runbook_url or slo.dashboard_url)) %}<p>No runbook in the spec.</p>{% endif %}</div>
<h2>Labels</h2><ul>{% for k, v in r.labels.items() %}<li>{{ k }}={{ v }}</li>{% endfor %}</ul>
<h2>Episodes</h2>{{ episode_table(episodes) }}{% endblock %}
"""

_GROUPS = """{% extends "base.html" %}{% block title %}{{ name }} · sloguard{% endblock %}
{% block main %}<h1>{{ name }}</h1><p id="description">{{ slo.description }}</p>
<p>Service {{ slo.service }}, objective {{ pct(slo.objective_percent) }}, one evaluation per
group of {{ slo.group_by | join(", ") }}: {{ rows | length }} groups, worst budget first.</p>
<table id="groups"><thead><tr><th>Group</th><th>Severity</th><th>Budget left</th>
<th>Exhausted in</th><th>Burn rate by window</th></tr></thead>
<tbody>{% for r in rows %}<tr class="group">
<td><a href="/slos/{{ r.key | urlencode }}">{% for k, v in r.labels.items() %}{{ k }}={{ v }}{% if not loop.last %}, {% endif %}{% endfor %}</a></td>
<td><span class="sev {{ r.severity }}">{{ r.severity }}</span></td>
<td>{{ ratio(r.budget_left) }}</td><td>{{ r.time_to_exhaustion }}</td>
<td>{% for w, v in r.burn_rates %}{{ w }}: {{ rate(v) }}{% if not loop.last %}, {% endif %}{% endfor %}</td>
</tr>{% endfor %}</tbody></table>{% endblock %}
"""

_EPISODES = """{% macro episode_table(episodes) %}<table class="episodes"><tr><th>Episode</th>
<th>SLO</th><th>Peak</th><th>Declared</th><th>Resolved</th></tr>{% for e in episodes %}<tr>
<td><a href="/incidents/{{ e.id | urlencode }}">{{ e.id }}</a></td><td>{{ e.slo }}</td>
<td><span class="sev {{ e.peak }}">{{ e.peak }}</span></td><td>{{ when(e.declared_at) }}</td>
<td>{{ when(e.resolved_at) if e.resolved_at is not none else "open" }}</td></tr>
{% else %}<tr><td colspan="5">none</td></tr>{% endfor %}</table>{% endmacro %}"""

_INCIDENTS = """{% extends "base.html" %}{% from "episodes.html" import episode_table %}
{% block title %}Incidents · sloguard{% endblock %}
{% block main %}<h1>Open</h1>{{ episode_table(open) }}<h1>Recent</h1>{{ episode_table(recent) }}
{% endblock %}
"""

_INCIDENT = """{% extends "base.html" %}{% block title %}{{ e.id }} · sloguard{% endblock %}
{% block main %}<h1>{{ e.slo }}: <span class="sev {{ e.peak }}">{{ e.peak }}</span></h1>
<p>Episode {{ e.id }}, declared {{ when(e.declared_at) }},
{% if e.resolved_at is not none %}resolved {{ when(e.resolved_at) }}{% else %}open{% endif %}.</p>
<h2>Timeline</h2><table id="timeline"><tr><th>At</th><th>Event</th><th>Severity</th><th>Detail</th></tr>
{% for t in e.transitions %}<tr class="transition"><td>{{ when(t.at) }}</td><td>{{ t.kind }}</td>
<td>{{ t.previous or "" }}{% if t.previous %} → {% endif %}{{ t.severity }}</td><td>{{ t.reason }}</td></tr>{% endfor %}
</table>
<h2>Notifications</h2><table id="deliveries"><tr><th>Queued</th><th>Notifier</th><th>Event</th>
<th>State</th><th>Attempts</th><th>Detail</th></tr>{% for d in e.deliveries %}
<tr class="delivery {{ d.status }}"><td>{{ when(d.created_at) }}</td><td>{{ d.notifier }}</td><td>{{ d.kind }}</td>
<td class="{{ 'dead' if d.status == 'dead' else '' }}">{{ state(d.status, d.attempts) }}</td><td>{{ d.attempts }}</td>
<td>{% if d.last_error %}{{ d.last_error }}{% endif %}{% if d.last_status %} (HTTP {{ d.last_status }}){% endif %}
{% if d.finished_at is not none %} at {{ when(d.finished_at) }}{% endif %}
{% if d.status == 'pending' and d.next_attempt_at is not none %}<span class="next">{% if d.attempts %}next attempt{% else %}due{% endif %} {{ when(d.next_attempt_at) }}</span>{% endif %}</td></tr>
{% else %}<tr><td colspan="6">none</td></tr>{% endfor %}</table>
<h2>Postmortem draft</h2><pre id="postmortem">{{ postmortem }}</pre>{% endblock %}
"""

_NOT_FOUND = """{% extends "base.html" %}{% block main %}<h1>Not found</h1><p>{{ what }}</p>
{% endblock %}"""


def environment() -> jinja2.Environment:
    """The UI's template environment: autoescape on for everything, undefined is an error."""
    loader = jinja2.DictLoader(
        {
            "base.html": _BASE,
            "list.html": _LIST,
            "detail.html": _DETAIL,
            "groups.html": _GROUPS,
            "episodes.html": _EPISODES,
            "incidents.html": _INCIDENTS,
            "incident.html": _INCIDENT,
            "not_found.html": _NOT_FOUND,
        }
    )
    return jinja2.Environment(
        loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, auto_reload=False
    )


__all__ = ["CSS", "environment"]
