"""Reports for the privacy officer and regulators: counts, timeliness, charts and CSV.

The figures are aggregated by the database (grouped counts, and a histogram of hours to a
decision for the median and 90th percentile, exact to the hour), so the page costs a few
scans whatever the registry's size; the CSV export is streamed in keyset chunks. Charts
are small SVG drawn here, served inside the page (no JavaScript, no chart library), each
with a table of the same numbers beside it for screen readers and for copying.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from html import escape
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    select,
    tuple_,
)

from notrain.registry.intake import step
from notrain.registry.models import Request, UTCDateTime
from notrain.registry.service import Registry
from notrain.registry.states import RequestKind, RequestState

KINDS = [k.value for k in RequestKind]
# Okabe-Ito: told apart with the common colour-vision deficiencies.
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]
assert len(COLOURS) >= len(KINDS), "one colour per request kind"
MAX_MONTHS = 24
MAX_COUNTRIES = 15
LEGEND_WIDTH = 300  # room for the longest kind's name in either language


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


def _month_of(dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", Request.received_at), "YYYY-MM")
    return func.strftime("%Y-%m", Request.received_at)


def _hours_to_decision(dialect: str) -> ColumnElement[float]:
    if dialect == "postgresql":
        seconds = func.extract("epoch", Request.decided_at - Request.received_at)
        return func.floor(seconds / 3600)
    span = func.julianday(Request.decided_at) - func.julianday(Request.received_at)
    return cast(span * 24, Integer)


def _late(now: datetime) -> ColumnElement[bool]:
    """Answered after its deadline, or still owed an answer past it (for confirmed ones)."""
    moment = literal(now, UTCDateTime())
    return case(
        (Request.decided_at.is_not(None), Request.decided_at > Request.due_at),
        (Request.state == RequestState.SUBMITTED.value, false()),
        else_=Request.due_at < moment,
    )


def _owed() -> ColumnElement[bool]:
    return Request.state != RequestState.SUBMITTED.value


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def reports_data(registry: Registry) -> ReportsOut:
    """The report, aggregated by the database: a few grouped scans, no request loaded."""
    session, now = registry.session, registry.now()
    dialect = session.get_bind().dialect.name
    month = _month_of(dialect).label("month")
    with step(session):
        by_state = {state: int(n) for state, n in session.execute(
            select(Request.state, func.count()).group_by(Request.state))}  # fmt: skip
        per_month = session.execute(
            select(month, Request.kind, func.count(), func.count(Request.decided_at),
                   _count_if(_owed()), _count_if(and_(_owed(), _late(now))))
            .group_by(month, Request.kind)
        ).all()  # fmt: skip
        per_country = session.execute(
            select(Request.country, Request.kind, func.count()).group_by(Request.country,
                                                                          Request.kind)
        ).all()  # fmt: skip
        hours = _hours_to_decision(dialect).label("hours")
        spread = session.execute(
            select(month, hours, func.count())
            .where(Request.decided_at.is_not(None))
            .group_by(month, hours)
        ).all()  # fmt: skip
    months: dict[str, MonthRow] = {}
    for m, kind, n, decided, owed, late in per_month:
        row = months.setdefault(
            m,
            MonthRow(
                month=m,
                by_kind=dict.fromkeys(KINDS, 0),
                decided=0,
                median_days=None,
                p90_days=None,
                owed=0,
                late=0,
            ),
        )
        row.by_kind[kind] = int(n)
        row.decided += int(decided)
        row.owed += int(owed)
        row.late += int(late)
    histograms: dict[str, dict[float, int]] = defaultdict(dict)
    for m, h, n in spread:
        histograms[m][max(0.0, float(h)) / 24] = int(n)
    for m, row in months.items():
        if histograms.get(m):
            row.median_days = round(_percentile(histograms[m], 0.5), 2)
            row.p90_days = round(_percentile(histograms[m], 0.9), 2)
    by_country: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for country, kind, n in per_country:
        by_country[country][kind] = int(n)
    countries = sorted(
        (CountryRow(country=c, by_kind=k, total=sum(k.values())) for c, k in by_country.items()),
        key=lambda row: (-row.total, row.country),
    )[:MAX_COUNTRIES]
    shown = [months[m] for m in sorted(months)[-MAX_MONTHS:]]
    return ReportsOut(
        generated_at=now,
        total=sum(by_state.values()),
        by_state=by_state,
        months=shown,
        countries=countries,
        late_total=sum(r.late for r in months.values()),
        owed_total=sum(r.owed for r in months.values()),
    )


def _percentile(histogram: dict[float, int], q: float) -> float:
    """The nearest-rank percentile of values given as {value: how many}."""
    total = sum(histogram.values())
    index = min(total - 1, max(0, round(q * (total - 1))))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen > index:
            return value
    return max(histogram)


CSV_HEADER = ["request_id", "kind", "state", "country", "member", "received_at", "due_at",
              "extended_months", "decided_at", "days_to_decision", "late",
              "deadline_met"]  # fmt: skip
CSV_CHUNK = 5000


def _csv_row(r: Any, now: datetime) -> list[object]:
    decided: datetime | None = r.decided_at
    owed = r.state != RequestState.SUBMITTED
    if decided is not None:
        met: str = str(decided <= r.due_at).lower()
    elif owed and now > r.due_at:
        met = "false"
    else:
        met = ""  # not confirmed, or still within its deadline
    late = (decided > r.due_at) if decided is not None else (owed and now > r.due_at)
    days = f"{(decided - r.received_at).total_seconds() / 86400:.2f}" if decided else ""
    return [r.id, r.kind, r.state, r.country, "" if r.member is None else str(r.member).lower(),
            r.received_at.isoformat(), r.due_at.isoformat(), r.extended_months,
            decided.isoformat() if decided else "", days,
            str(late).lower() if owed else "", met]  # fmt: skip


def csv_lines(open_registry: Callable[[], AbstractContextManager[Registry]]) -> Iterator[str]:
    """The CSV export, streamed: one row per request, oldest first, read in keyset chunks
    of a short transaction each, so no lock is held while the client downloads. No
    addresses, names or notes (data minimisation); ``deadline_met`` says whether the
    answer came by the due date (empty while the deadline still runs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flush()
    columns = (Request.id, Request.kind, Request.state, Request.country, Request.member,
               Request.received_at, Request.due_at, Request.extended_months,
               Request.decided_at)  # fmt: skip
    last: tuple[datetime, str] | None = None
    while True:
        with open_registry() as registry:
            now = registry.now()
            stmt = select(*columns).order_by(Request.received_at, Request.id).limit(CSV_CHUNK)
            if last is not None:
                mark = tuple_(bindparam("r_at", last[0], type_=UTCDateTime()),
                              bindparam("r_id", last[1], type_=String()))  # fmt: skip
                stmt = stmt.where(tuple_(Request.received_at, Request.id) > mark)
            with step(registry.session):
                rows = registry.session.execute(stmt).all()
        for r in rows:
            writer.writerow(_csv_row(r, now))
        if rows:
            yield flush()
        if len(rows) < CSV_CHUNK:
            return
        last = (rows[-1].received_at, rows[-1].id)


def reports_csv(registry: Registry) -> str:
    """The whole CSV export as one string (for the CLI and tests)."""

    @contextmanager
    def same() -> Iterator[Registry]:
        yield registry

    return "".join(csv_lines(same))


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
