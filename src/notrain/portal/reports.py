"""Reports for the privacy officer and regulators: counts, timeliness, charts and CSV.

The figures come from the registry's own request list; charts are small SVG drawn here,
served inside the page (no JavaScript, no chart library), each with a table of the same
numbers beside it for screen readers and for copying.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape

from pydantic import BaseModel

from notrain.registry.service import Registry
from notrain.registry.states import RequestKind, RequestState
from notrain.registry.views import RequestView

KINDS = [k.value for k in RequestKind]
# Okabe-Ito: told apart with the common colour-vision deficiencies.
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]
assert len(COLOURS) >= len(KINDS), "one colour per request kind"
MAX_MONTHS = 24
MAX_COUNTRIES = 15
LEGEND_WIDTH = 300  # room for the longest kind's name in either language
REPORT_LIMIT = 200_000


class MonthRow(BaseModel):
    month: str
    by_kind: dict[str, int]
    decided: int
    median_days: float | None
    p90_days: float | None
    owed: int
    late: int

    @property
    def late_share(self) -> float:
        return self.late / self.owed if self.owed else 0.0


class CountryRow(BaseModel):
    country: str
    by_kind: dict[str, int]
    total: int


class ReportsOut(BaseModel):
    generated_at: datetime
    total: int
    by_state: dict[str, int]
    months: list[MonthRow]
    countries: list[CountryRow]
    late_total: int
    owed_total: int


def _month(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def _late(view: RequestView, now: datetime) -> bool:
    """Answered after its deadline, or still owed an answer past it."""
    if view.decided_at is not None:
        return view.decided_at > view.due_at
    return view.state != RequestState.SUBMITTED and now > view.due_at


def reports_data(registry: Registry) -> ReportsOut:
    views = registry.list(limit=REPORT_LIMIT)
    now = registry.now()
    by_month: dict[str, list[RequestView]] = defaultdict(list)
    by_country: dict[str, Counter[str]] = defaultdict(Counter)
    for view in views:
        by_month[_month(view.received_at)].append(view)
        by_country[view.country][view.kind] += 1
    months = []
    for month in sorted(by_month)[-MAX_MONTHS:]:
        group = by_month[month]
        days = [
            (v.decided_at - v.received_at).total_seconds() / 86400
            for v in group
            if v.decided_at is not None
        ]
        owed = [v for v in group if v.state != RequestState.SUBMITTED]
        months.append(
            MonthRow(
                month=month,
                by_kind={k: sum(v.kind == k for v in group) for k in KINDS},
                decided=len(days),
                median_days=round(statistics.median(days), 2) if days else None,
                p90_days=round(_percentile(days, 0.9), 2) if days else None,
                owed=len(owed),
                late=sum(_late(v, now) for v in owed),
            )
        )
    countries = sorted(
        (CountryRow(country=c, by_kind={k: n[k] for k in KINDS}, total=n.total())
         for c, n in by_country.items()),
        key=lambda row: (-row.total, row.country),
    )[:MAX_COUNTRIES]  # fmt: skip
    owed_all = [v for v in views if v.state != RequestState.SUBMITTED]
    return ReportsOut(
        generated_at=now,
        total=len(views),
        by_state=dict(Counter(v.state for v in views)),
        months=months,
        countries=countries,
        late_total=sum(_late(v, now) for v in owed_all),
        owed_total=len(owed_all),
    )


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def reports_csv(registry: Registry) -> str:
    """One row per request, without addresses, names or notes (data minimisation)."""
    now = registry.now()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["request_id", "kind", "state", "country", "member", "received_at", "due_at",
         "extended_months", "decided_at", "days_to_decision", "late"]
    )  # fmt: skip
    for v in registry.list(limit=REPORT_LIMIT):
        days = (
            f"{(v.decided_at - v.received_at).total_seconds() / 86400:.2f}" if v.decided_at else ""
        )
        writer.writerow(
            [v.id, v.kind, v.state, v.country, "" if v.member is None else str(v.member).lower(),
             v.received_at.isoformat(), v.due_at.isoformat(), v.extended_months,
             v.decided_at.isoformat() if v.decided_at else "", days,
             str(_late(v, now)).lower() if v.state != RequestState.SUBMITTED else ""]
        )  # fmt: skip
    return buffer.getvalue()


# -- charts ---------------------------------------------------------------------------------

Label = Callable[[str], str]


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="chart">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _legend(x: int, y: int, label: Label) -> list[str]:
    parts = []
    for i, kind in enumerate(KINDS):
        top = y + i * 18
        parts.append(f'<rect x="{x}" y="{top}" width="12" height="12" fill="{COLOURS[i]}"/>')
        parts.append(
            f'<text x="{x + 18}" y="{top + 10}" font-size="12">{escape(label(kind))}</text>'
        )
    return parts


def stacked_columns(rows: list[tuple[str, dict[str, int]]], title: str, label: Label) -> str:
    """Columns per period, stacked by request kind."""
    width, height, left, bottom, top = 760, 260, 40, 40, 10
    plot_w, plot_h = width - left - LEGEND_WIDTH, height - bottom - top
    peak = max([sum(r.values()) for _, r in rows] + [1])
    step = plot_w / max(len(rows), 1)
    axis = f'x="{left - 6}" font-size="11" text-anchor="end"'
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#333"/>',
        f'<text {axis} y="{top + 10}">{peak}</text>',
        f'<text {axis} y="{top + plot_h}">0</text>',
    ]
    for i, (period, counts) in enumerate(rows):
        x = left + i * step + step * 0.15
        y = float(top + plot_h)
        for k, kind in enumerate(KINDS):
            h = counts.get(kind, 0) / peak * plot_h
            if h:
                y -= h
                body.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS[k]}"><title>{escape(period)} {escape(label(kind))}: '
                    f"{counts[kind]}</title></rect>"
                )
        body.append(
            f'<text x="{x + step * 0.35:.1f}" y="{top + plot_h + 16}" font-size="11" '
            f'text-anchor="middle">{escape(period)}</text>'
        )
    body += _legend(left + plot_w + 20, top, label)
    return _svg(width, height, title, body)


def stacked_bars(rows: list[tuple[str, dict[str, int]]], title: str, label: Label) -> str:
    """Horizontal bars per country, stacked by request kind."""
    row_h, left, right = 22, 50, LEGEND_WIDTH
    width = 760
    height = max(len(rows) * row_h, len(KINDS) * 18) + 20
    plot_w = width - left - right
    peak = max([sum(r.values()) for _, r in rows] + [1])
    body: list[str] = []
    for i, (name, counts) in enumerate(rows):
        y = 10 + i * row_h
        x = float(left)
        body.append(
            f'<text x="{left - 6}" y="{y + 14}" font-size="12" text-anchor="end">'
            f"{escape(name)}</text>"
        )
        for k, kind in enumerate(KINDS):
            w = counts.get(kind, 0) / peak * plot_w
            if w:
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" '
                    f'fill="{COLOURS[k]}"><title>{escape(name)} {escape(label(kind))}: '
                    f"{counts[kind]}</title></rect>"
                )
                x += w
        body.append(
            f'<text x="{x + 4:.1f}" y="{y + 14}" font-size="11">{sum(counts.values())}</text>'
        )
    body += _legend(width - right + 40, 10, label)
    return _svg(width, height, title, body)


def bars(rows: list[tuple[str, float]], title: str, unit: str, colour: str = "#0072B2") -> str:
    """One bar per period, with its value written above it."""
    width, height, left, bottom, top = 760, 220, 40, 30, 20
    plot_w, plot_h = width - left - 20, height - bottom - top
    peak = max([v for _, v in rows] + [1e-9])
    step = plot_w / max(len(rows), 1)
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
            'stroke="#333"/>']  # fmt: skip
    for i, (period, value) in enumerate(rows):
        h = value / peak * plot_h if peak else 0
        x = left + i * step + step * 0.2
        y = top + plot_h - h
        shown = f"{value:.1f}{unit}"
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.6:.1f}" height="{h:.1f}" '
            f'fill="{colour}"><title>{escape(period)}: {escape(shown)}</title></rect>'
        )
        body.append(
            f'<text x="{x + step * 0.3:.1f}" y="{y - 4:.1f}" font-size="11" '
            f'text-anchor="middle">{escape(shown)}</text>'
        )
        body.append(
            f'<text x="{x + step * 0.3:.1f}" y="{top + plot_h + 16}" font-size="11" '
            f'text-anchor="middle">{escape(period)}</text>'
        )
    return _svg(width, height, title, body)


def charts(data: ReportsOut, gettext: Callable[[str], str], label: Label) -> dict[str, str]:
    """The report's charts as SVG markup, titled in the reader's language."""
    _ = gettext
    return {
        "per_month": stacked_columns(
            [(m.month, m.by_kind) for m in data.months], _("Requests per month, by kind"), label
        ),
        "per_country": stacked_bars(
            [(c.country, c.by_kind) for c in data.countries],
            _("Requests per country, by kind"),
            label,
        ),
        "decision_days": bars(
            [(m.month, m.median_days or 0.0) for m in data.months],
            _("Median days from receipt to decision, by month of receipt"),
            " d",
        ),
        "late_share": bars(
            [(m.month, 100 * m.late_share) for m in data.months],
            _("Share answered late or overdue, by month of receipt"),
            " %",
            colour="#D55E00",
        ),
    }
