"""The officer's queue: tabs, filters, counts, keyset pages and search, on both databases.

A seeded registry is read two ways, through the queue and as plain rows filtered in
Python, and the two must agree: the same requests, in deadline order, counted alike.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from notrain.errors import RequestInvalid
from notrain.registry import queue
from notrain.registry.config import RegistryConfig
from notrain.registry.models import QUEUE_TABS, Request
from notrain.registry.queue import QueueFilter
from notrain.registry.seed import seed
from notrain.registry.service import Registry
from tests.registry.fixtures import FakeClock, Requester

DAYS = 7


@pytest.fixture
def seeded(registry: Registry, config: RegistryConfig, clock: FakeClock) -> list[Request]:
    seed(registry.session, config, count=400, seed=7, now=clock.now, batch_size=150)
    rows = list(registry.session.scalars(select(Request)))
    registry.session.rollback()
    return rows


def _expected(rows: list[Request], f: QueueFilter, clock: FakeClock) -> list[str]:
    now = clock.now
    open_ = ("verified", "needs_review", "accepted")

    def keep(r: Request) -> bool:
        day = r.received_at.date()
        return (
            r.state in QUEUE_TABS[f.tab]
            and (f.state is None or r.state == f.state)
            and (f.kind is None or r.kind == f.kind)
            and (f.country is None or r.country == f.country)
            and (f.member is None or r.member is f.member)
            and (not f.overdue or (r.state in open_ and r.due_at < now))
            and (not f.due_soon or (r.state in open_ and now <= r.due_at <= now + timedelta(DAYS)))
            and (f.received_from is None or day >= f.received_from)
            and (f.received_to is None or day <= f.received_to)
        )

    return [r.id for r in sorted(rows, key=lambda r: (r.due_at, r.id)) if keep(r)]


def _walk(registry: Registry, f: QueueFilter, size: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = queue.page(registry.session, f, now=registry.now(), due_soon_days=DAYS,
                          after=cursor, size=size)  # fmt: skip
        registry.session.rollback()
        seen += [r.id for r in page.rows]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


FILTERS = [
    QueueFilter(),
    QueueFilter(tab="export"),
    QueueFilter(tab="code"),
    QueueFilter(tab="closed", state="rejected"),
    QueueFilter(country="DE"),
    QueueFilter(kind="access", member=False),
    QueueFilter(member=True),
    QueueFilter(overdue=True),
    QueueFilter(due_soon=True),
    QueueFilter(received_from=date(2024, 12, 20), received_to=date(2025, 1, 10)),
    QueueFilter(tab="export", kind="objection", country="FR", overdue=True),
]


def test_filters_pages_and_counts_agree_with_a_plain_reading(
    registry: Registry, seeded: list[Request], clock: FakeClock
) -> None:
    nonempty = 0
    for f in FILTERS:
        expected = _expected(seeded, f, clock)
        assert _walk(registry, f, size=23) == expected, f
        counted = queue.count(registry.session, f, now=clock.now, due_soon_days=DAYS)
        assert counted == len(expected), f
        nonempty += bool(expected)
    assert nonempty >= 8  # the seeded registry has something in most of them
    counts = queue.counts(registry.session, QueueFilter(country="IT"), now=clock.now,
                          due_soon_days=DAYS)  # fmt: skip
    assert counts == {t: len(_expected(seeded, QueueFilter(tab=t, country="IT"), clock))
                      for t in queue.TABS if t != "closed"} | {"closed": None}  # fmt: skip
    every = queue.counts(registry.session, QueueFilter(), now=clock.now, due_soon_days=DAYS)
    closed = queue.counts(registry.session, QueueFilter(tab="closed"), now=clock.now,
                          due_soon_days=DAYS)["closed"]  # fmt: skip
    assert closed is not None
    assert sum(n or 0 for n in every.values()) + closed == len(seeded)


def test_paging_neither_repeats_nor_skips_while_requests_arrive_and_leave(
    registry: Registry, seeded: list[Request], person: Requester, clock: FakeClock
) -> None:
    f = QueueFilter(tab="decide")
    before = _expected(seeded, f, clock)
    seen: list[str] = []
    keys: list[tuple[object, str]] = []
    cursor = None
    arrived: list[str] = []
    decided: list[str] = []
    for turn in range(1000):
        page = queue.page(registry.session, f, now=clock.now, due_soon_days=DAYS, after=cursor,
                          size=9)  # fmt: skip
        registry.session.rollback()
        seen += [r.id for r in page.rows]
        keys += [(r.due_at, r.id) for r in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        # Between two pages, new requests arrive and others are decided, ahead of the
        # cursor and behind it.
        newcomer = person.request(f"newcomer{turn}@example.net", names=[f"New Comer {turn}"])
        if (registry.get(newcomer, events=False).due_at, newcomer) > keys[-1]:
            arrived.append(newcomer)  # ahead of the cursor: the walk must reach it
        ahead = [i for i in before if i not in seen and i not in decided]
        if turn % 3 == 0 and ahead:
            registry.decide(ahead[-1], accept=True, officer="olga", identity_checked=True)
            decided.append(ahead[-1])
    assert len(seen) == len(set(seen))  # no row twice
    assert keys == sorted(keys)  # and always forwards
    still_there = set(before) - set(decided)
    assert still_there <= set(seen)  # none missed
    assert arrived
    assert set(arrived) <= set(seen)


def test_a_page_back_is_the_page_before(registry: Registry, seeded: list[Request]) -> None:
    del seeded
    f = QueueFilter()
    now = registry.now()
    first = queue.page(registry.session, f, now=now, due_soon_days=DAYS, size=10)
    second = queue.page(registry.session, f, now=now, due_soon_days=DAYS, size=10,
                        after=first.next_cursor)  # fmt: skip
    back = queue.page(registry.session, f, now=now, due_soon_days=DAYS, size=10,
                      before=second.prev_cursor)  # fmt: skip
    assert [r.id for r in back.rows] == [r.id for r in first.rows]
    assert back.prev_cursor is None  # the first page has none before it
    assert first.prev_cursor is None


def test_search_by_id_or_exact_address(
    registry: Registry, config: RegistryConfig, person: Requester
) -> None:
    mine = person.request("dana.stranger@example.net", names=["Dana Stranger"])
    person.request("dana.stranger2@example.net", names=["Dana Other"])
    key, now = config.secret_key, registry.now()

    def found(term: str) -> list[str]:
        rows = queue.search(registry.session, key, term, now=now, due_soon_days=DAYS)
        registry.session.commit()  # as the console's step does: what was filled is kept
        return [r.id for r in rows]

    assert found(mine) == [mine]
    assert found(mine.upper()) == [mine]
    assert found(" Dana.Stranger@EXAMPLE.net ") == [mine]  # normalised as the form is
    assert found("dana.stranger@example.org") == []
    assert found("req-0000000000000000") == []
    with pytest.raises(RequestInvalid):
        found("dana")  # no partial matches: the address is never scanned
    # Rows written before the hash column existed are found too.
    registry.session.execute(update(Request).values(email_hash=None))
    registry.session.commit()
    assert found("dana.stranger@example.net") == [mine]
    assert registry.session.scalar(
        select(Request.email_hash).where(Request.id == mine)
    ) == queue.email_hash(key, "dana.stranger@example.net")


@pytest.mark.parametrize(
    "params",
    [{"tab": "all"}, {"tab": "decide", "state": "accepted"}, {"kind": "complaint"},
     {"country": "Germany"}, {"member": "maybe"}, {"received_from": "yesterday"},
     {"received_from": "2025-02-01", "received_to": "2025-01-01"}],
)  # fmt: skip
def test_a_bad_filter_is_refused(params: dict[str, str]) -> None:
    with pytest.raises(RequestInvalid):
        QueueFilter.parse(params)


def test_a_filter_round_trips_through_its_parameters() -> None:
    f = QueueFilter(tab="export", kind="erasure", country="PL", member=False, overdue=True,
                    received_from=date(2025, 1, 1), received_to=date(2025, 1, 31))  # fmt: skip
    assert QueueFilter.parse(f.params()) == f
    with pytest.raises(RequestInvalid):
        queue.decode_cursor("not-a-cursor")
