"""The officer's queue at scale: tabs, filters, counts, keyset pages and search.

Each tab is a set of states (``QUEUE_TABS``) with a partial index of its own (migration
0009) ordered by deadline and holding every column a filter reads, so a page is a short
walk of that index and a count never touches the table. Pages are keyset pages on
``(due_at, id)``: a cursor names the last row seen, so rows arriving or leaving between
two pages never make a row appear twice or be skipped (as an offset would).

Search finds a request by its id, or by an address through ``email_hash``, the keyed hash
of the address (HMAC-SHA256 with the registry's key): an exact match on an index, with no
address listed, compared or scanned.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Table,
    TextClause,
    bindparam,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import HasHints

from notrain.errors import RequestInvalid
from notrain.registry.forms import normalise_email
from notrain.registry.models import QUEUE_TABS, AuditEvent, Request, UTCDateTime, tab_predicate
from notrain.registry.states import OPEN_STATES, RequestKind
from notrain.registry.views import QueuePage, QueueRow, review_reasons_of

TABS = tuple(QUEUE_TABS)
DEFAULT_TAB = "decide"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_REQUEST_ID = re.compile(r"req-[0-9a-f]{16}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_OPEN = [s.value for s in OPEN_STATES]
_Hinted = TypeVar("_Hinted", bound=HasHints)


def email_hash(key: bytes, email: str) -> str:
    """The keyed hash of a normalised address, as kept in ``requests.email_hash``."""
    return hmac.new(key, b"email:" + email.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class QueueFilter:
    """What the officer narrowed the queue to; every field optional but the tab."""

    tab: str = DEFAULT_TAB
    state: str | None = None
    kind: str | None = None
    country: str | None = None
    member: bool | None = None
    overdue: bool = False
    due_soon: bool = False
    received_from: date | None = None
    received_to: date | None = None  # inclusive

    def __post_init__(self) -> None:
        if self.tab not in QUEUE_TABS:
            raise RequestInvalid("tab", f"one of {', '.join(TABS)}")
        if self.state is not None and self.state not in QUEUE_TABS[self.tab]:
            states = ", ".join(QUEUE_TABS[self.tab])
            raise RequestInvalid("state", f"the {self.tab} tab holds only {states}")
        if self.kind is not None and self.kind not in {k.value for k in RequestKind}:
            raise RequestInvalid("kind", f"no request kind {self.kind!r}")
        if self.country is not None and not _COUNTRY.fullmatch(self.country):
            raise RequestInvalid("country", "two capital letters (ISO 3166-1 alpha-2)")
        if self.received_from and self.received_to and self.received_from > self.received_to:
            raise RequestInvalid("received_to", "before the start of the period")

    @classmethod
    def parse(cls, params: dict[str, str]) -> QueueFilter:
        """From query parameters or CLI options (empty values mean "any")."""

        def value(name: str) -> str | None:
            raw = (params.get(name) or "").strip()
            return raw or None

        def day(name: str) -> date | None:
            raw = value(name)
            if raw is None:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise RequestInvalid(name, "a date as YYYY-MM-DD") from None

        member = value("member")
        if member not in (None, "yes", "no"):
            raise RequestInvalid("member", "yes or no")
        country = value("country")
        return cls(
            tab=value("tab") or DEFAULT_TAB,
            state=value("state"),
            kind=value("kind"),
            country=country.upper() if country else None,
            member=None if member is None else member == "yes",
            overdue=value("overdue") in ("1", "true", "yes", "on"),
            due_soon=value("due_soon") in ("1", "true", "yes", "on"),
            received_from=day("received_from"),
            received_to=day("received_to"),
        )

    def params(self) -> dict[str, str]:
        """The filter as query parameters (only what is set), the inverse of ``parse``."""
        out: dict[str, str] = {"tab": self.tab}
        for name in ("state", "kind", "country"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.member is not None:
            out["member"] = "yes" if self.member else "no"
        for name in ("overdue", "due_soon"):
            if getattr(self, name):
                out[name] = "1"
        for name in ("received_from", "received_to"):
            if getattr(self, name):
                out[name] = getattr(self, name).isoformat()
        return out

    def as_json(self) -> str:
        return json.dumps(self.params(), sort_keys=True)

    def in_tab(self, tab: str) -> QueueFilter:
        """The same filter on another tab (a state belongs to one tab only)."""
        return replace(self, tab=tab, state=None if tab != self.tab else self.state)

    def describe(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}


def conditions(
    f: QueueFilter, now: datetime, due_soon_days: int
) -> list[ColumnElement[bool] | TextClause]:
    """The filter as SQL terms; the tab's own term is literal, as its index's is."""
    terms: list[ColumnElement[bool] | TextClause] = [text(tab_predicate(QUEUE_TABS[f.tab]))]
    if f.state:
        terms.append(Request.state == f.state)
    if f.kind:
        terms.append(Request.kind == f.kind)
    if f.country:
        terms.append(Request.country == f.country)
    if f.member is not None:
        terms.append(Request.member.is_(f.member))
    if f.overdue or f.due_soon:
        terms.append(Request.state.in_(_OPEN))  # the deadline runs only for these
    if f.overdue:
        terms.append(Request.due_at < now)
    if f.due_soon:
        terms += [Request.due_at >= now, Request.due_at <= now + timedelta(days=due_soon_days)]
    if f.received_from:
        terms.append(Request.received_at >= datetime.combine(f.received_from, time(), UTC))
    if f.received_to:
        end = datetime.combine(f.received_to + timedelta(days=1), time(), UTC)
        terms.append(Request.received_at < end)
    return terms


def _sqlite_from_hint(self: SQLiteCompiler, table: Any, hint: str | None) -> str | None:
    del self, table
    return hint


# SQLAlchemy's SQLite compiler drops table hints; SQLite takes one: INDEXED BY.
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign,assignment]


def _in_tab(stmt: _Hinted, f: QueueFilter) -> _Hinted:
    # SQLite's planner, without statistics, prefers the plain index on the state (an
    # equality) over the tab's partial index (a scan); the tab's index is the right one
    # whatever the statistics say, as it holds the tab's rows in the order a page wants.
    return stmt.with_hint(Request.__table__, f"INDEXED BY ix_requests_tab_{f.tab}", "sqlite")


def matching_ids(f: QueueFilter, now: datetime, due_soon_days: int) -> Select[str]:
    """The ids of every request the filter matches (what a bulk decision takes)."""
    return _in_tab(select(Request.id).where(*conditions(f, now, due_soon_days)), f)


# -- cursors --------------------------------------------------------------------------------


def encode_cursor(due_at: datetime, request_id: str) -> str:
    raw = f"{due_at.astimezone(UTC).isoformat()}|{request_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, request_id = raw.split("|", 1)
        due = datetime.fromisoformat(moment)
    except (ValueError, UnicodeDecodeError):
        raise RequestInvalid("cursor", "not a cursor of this queue") from None
    if due.tzinfo is None or not _REQUEST_ID.fullmatch(request_id):
        raise RequestInvalid("cursor", "not a cursor of this queue")
    return due, request_id


_ROW_COLUMNS = (Request.id, Request.kind, Request.state, Request.country, Request.member,
                Request.received_at, Request.due_at, Request.extended_months)  # fmt: skip


def _row(r: Any, now: datetime, due_soon_days: int) -> QueueRow:
    is_open = r.state in _OPEN
    return QueueRow(
        id=r.id, kind=r.kind, state=r.state, country=r.country, member=r.member,
        received_at=r.received_at, due_at=r.due_at, extended_months=r.extended_months,
        overdue=is_open and r.due_at < now,
        due_soon=is_open and now <= r.due_at <= now + timedelta(days=due_soon_days),
    )  # fmt: skip


def page(
    session: Session,
    f: QueueFilter,
    *,
    now: datetime,
    due_soon_days: int,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> QueuePage:
    """The requests after (or before) a cursor, earliest deadline first."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    key = tuple_(Request.due_at, Request.id)
    stmt = _in_tab(select(*_ROW_COLUMNS).where(*conditions(f, now, due_soon_days)), f)
    backwards = before is not None and after is None
    cursor = before if backwards else after
    if cursor is not None:
        due, request_id = decode_cursor(cursor)
        mark = tuple_(bindparam("c_due", due, type_=UTCDateTime()),
                      bindparam("c_id", request_id, type_=String()))  # fmt: skip
        stmt = stmt.where(key < mark if backwards else key > mark)
    if backwards:
        stmt = stmt.order_by(Request.due_at.desc(), Request.id.desc())
    else:
        stmt = stmt.order_by(Request.due_at, Request.id)
    found = list(session.execute(stmt.limit(size + 1)))
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    rows = [_row(r, now, due_soon_days) for r in found]
    first = encode_cursor(rows[0].due_at, rows[0].id) if rows else None
    last = encode_cursor(rows[-1].due_at, rows[-1].id) if rows else None
    if backwards:
        return QueuePage(rows, next_cursor=last, prev_cursor=first if more else None)
    return QueuePage(rows, next_cursor=last if more else None,
                     prev_cursor=first if cursor is not None and rows else None)  # fmt: skip


def count(session: Session, f: QueueFilter, *, now: datetime, due_soon_days: int) -> int:
    stmt = select(func.count()).select_from(Request).where(*conditions(f, now, due_soon_days))
    stmt = _in_tab(stmt, f)
    return int(session.scalar(stmt) or 0)


def counts(
    session: Session, f: QueueFilter, *, now: datetime, due_soon_days: int
) -> dict[str, int | None]:
    """How many requests the filter matches in each working tab (the tab's state filter
    aside). The closed tab, the largest by far and no one's work, is counted only when it
    is the one shown (None otherwise): its count was most of a queue page's time at 1M."""
    return {
        tab: count(session, f.in_tab(tab), now=now, due_soon_days=due_soon_days)
        if tab != "closed" or f.tab == "closed"
        else None
        for tab in TABS
    }


# -- search ---------------------------------------------------------------------------------


def fill_email_hashes(session: Session, key: bytes, batch: int = 2000) -> int:
    """Give ``email_hash`` to the rows written before migration 0009; returns how many.

    In the caller's transaction. Cheap when there are none (one probe of the index).
    """
    filled = 0
    while True:
        rows = session.execute(
            select(Request.id, Request.email).where(Request.email_hash.is_(None)).limit(batch)
        ).all()
        if not rows:
            return filled
        table: Table = Request.__table__  # type: ignore[assignment]
        session.execute(
            update(table).where(table.c.id == bindparam("rid")).values(email_hash=bindparam("h")),
            [{"rid": r.id, "h": email_hash(key, r.email)} for r in rows],
        )  # fmt: skip
        filled += len(rows)


def search(
    session: Session, key: bytes, query: str, *, now: datetime, due_soon_days: int, limit: int = 100
) -> list[QueueRow]:
    """Requests with this id, or made from this address (exact), newest first."""
    term = query.strip()
    if not term:
        return []
    if _REQUEST_ID.fullmatch(term.lower()):
        where = Request.id == term.lower()
    elif "@" in term:
        fill_email_hashes(session, key)
        where = Request.email_hash == email_hash(key, normalise_email(term, "q"))
    else:
        raise RequestInvalid("q", "a request id (req-…) or a whole e-mail address")
    stmt = select(*_ROW_COLUMNS).where(where).order_by(Request.received_at.desc()).limit(limit)
    return [_row(r, now, due_soon_days) for r in session.execute(stmt)]


def review_reasons(session: Session, ids: list[str]) -> dict[str, list[str]]:
    """Why each of ``ids`` (one page) was put to review, from its audited transitions: one
    query on the events' request index, never a scan."""
    if not ids:
        return {}
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.request_id.in_(ids), AuditEvent.action == "transition")
        .order_by(AuditEvent.seq)
    ).all()
    by_request: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_request.setdefault(str(event.request_id), []).append(event)
    return {rid: review_reasons_of(found) for rid, found in by_request.items()}
