from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from notrain.contracts import ACCOUNTS, CONTENT, EEA_NON_EU, EU27, ContentKind, Visibility
from notrain.synth import PEOPLE, SynthResult, synthesize_platform
from notrain.synth.platform import ACCOUNTS_FROM, CONTENT_UNTIL

from .conftest import USERS

MENTION = re.compile(r"@([A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?)")
PHONE_SHAPES = (
    re.compile(r"\+33 6 \d\d \d\d \d\d \d\d"),
    re.compile(r"\(\d{3}\) \d{3}-\d{4}"),
    re.compile(r"\b020 \d{4} \d{4}\b"),
    re.compile(r"\+49-30-\d{7}"),
)


def rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()  # type: ignore[no-any-return]


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def test_files_are_in_the_contract_schemas(platform: SynthResult) -> None:
    assert pq.read_schema(platform.accounts_path).remove_metadata() == ACCOUNTS
    assert pq.read_schema(platform.content_path).remove_metadata() == CONTENT
    assert pq.ParquetFile(platform.content_path).metadata.num_row_groups > 1


def test_result_counts_match_the_files(
    platform: SynthResult, accounts: pa.Table, content: pa.Table
) -> None:
    assert platform.accounts == accounts.num_rows == USERS
    assert platform.content == content.num_rows
    # Activity is heavy-tailed but averages content_per_user (10) per member.
    assert 8 * USERS < content.num_rows < 12 * USERS


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = synthesize_platform(tmp_path / "a", 500, seed=3, batch_rows=1000)
    again = synthesize_platform(tmp_path / "b", 500, seed=3, batch_rows=1000)
    other = synthesize_platform(tmp_path / "c", 500, seed=4, batch_rows=1000)
    for path in ("accounts_path", "content_path"):
        same = getattr(first, path).read_bytes()
        assert same == getattr(again, path).read_bytes()
        assert same != getattr(other, path).read_bytes()


def test_progress_reports_rows_written(tmp_path: Path) -> None:
    seen: list[int] = []
    result = synthesize_platform(tmp_path, 400, seed=1, batch_rows=500, progress=seen.append)
    assert len(seen) > 1
    assert seen == sorted(seen)
    assert seen[-1] == result.content


@pytest.mark.parametrize("users", [1, 2, 3])
def test_tiny_platforms_still_hold_the_contract(tmp_path: Path, users: int) -> None:
    result = synthesize_platform(tmp_path, users, seed=5, content_per_user=30)
    content = pq.read_table(result.content_path)
    author_ids = set(range(1, users + 1))
    for row in rows(content):
        assert row["author_id"] not in row["mentions"]
        assert len(set(row["mentions"])) == len(row["mentions"])
        assert set(row["mentions"]) <= author_ids


def test_handles_are_unique_case_insensitively_and_varied(accounts: pa.Table) -> None:
    handles = accounts.column("handle").to_pylist()
    assert len({h.lower() for h in handles}) == len(handles)
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", h) for h in handles)
    assert any(re.fullmatch(r"[a-z]+\d+", h) for h in handles)  # like sam2024
    assert any(re.fullmatch(r"[A-Z][a-z]+_[A-Z]", h) for h in handles)  # like Anna_K
    emails = [e for e in accounts.column("email").to_pylist() if e is not None]
    assert len(set(emails)) == len(emails)
    assert 0.02 < 1 - len(emails) / len(handles) < 0.08


def test_account_mix(accounts: pa.Table) -> None:
    countries = Counter(accounts.column("country").to_pylist())
    eu = sum(countries[c] for c in EU27)
    assert 0.4 < eu / USERS < 0.6
    assert any(countries[c] for c in EEA_NON_EU)
    assert {"DE", "FR", "GB", "CH", "US", "BR", "AU", "IN"} <= set(countries)
    created = accounts.column("created_at").to_pylist()
    assert min(created) >= ACCOUNTS_FROM
    assert max(created) < datetime(2026, 11, 1, tzinfo=UTC)
    births = accounts.column("birth_date").to_pylist()
    assert 0.07 < births.count(None) / USERS < 0.13
    minors = sum(1 for b, c in zip(births, created, strict=True) if b and age_on(b, c.date()) < 18)
    assert 0.05 < minors / (USERS - births.count(None)) < 0.11


def test_some_members_come_of_age_while_posting(accounts: pa.Table, content: pa.Table) -> None:
    birth = dict(
        zip(
            accounts.column("user_id").to_pylist(),
            accounts.column("birth_date").to_pylist(),
            strict=True,
        )
    )
    ages: dict[int, set[bool]] = {}
    for author, at in zip(
        content.column("author_id").to_pylist(),
        content.column("created_at").to_pylist(),
        strict=True,
    ):
        if birth.get(author):
            ages.setdefault(author, set()).add(age_on(birth[author], at.date()) >= 18)
    assert sum(1 for seen in ages.values() if seen == {True, False}) > 10


def test_ids_unique_and_authors_known_except_orphans(accounts: pa.Table, content: pa.Table) -> None:
    ids = content.column("content_id").to_pylist()
    assert len(set(ids)) == len(ids)
    users = set(accounts.column("user_id").to_pylist())
    orphans = [a for a in content.column("author_id").to_pylist() if a not in users]
    assert 0 < len(orphans) < 0.01 * len(ids)


def test_every_kind_and_visibility_present(content: pa.Table) -> None:
    pairs = Counter(
        zip(
            content.column("kind").to_pylist(),
            content.column("visibility").to_pylist(),
            strict=True,
        )
    )
    assert {k for k, _ in pairs} == {k.value for k in ContentKind}
    assert {v for _, v in pairs} == {v.value for v in Visibility}
    pm = ContentKind.PRIVATE_MESSAGE.value
    assert {v for k, v in pairs if k == pm} == {Visibility.PRIVATE.value}
    public = Visibility.PUBLIC.value
    for kind in (ContentKind.POST, ContentKind.PHOTO, ContentKind.COMMENT):
        of_kind = sum(n for (k, _), n in pairs.items() if k == kind.value)
        assert pairs[(kind.value, public)] > of_kind / 2


def test_content_starts_after_its_author_joined(accounts: pa.Table, content: pa.Table) -> None:
    joined = dict(
        zip(
            accounts.column("user_id").to_pylist(),
            accounts.column("created_at").to_pylist(),
            strict=True,
        )
    )
    for author, at in zip(
        content.column("author_id").to_pylist(),
        content.column("created_at").to_pylist(),
        strict=True,
    ):
        if author in joined:
            assert at >= joined[author]
        assert at <= CONTENT_UNTIL


def test_replies_point_to_earlier_items_of_the_right_kind(content: pa.Table) -> None:
    by_id = {row["content_id"]: row for row in rows(content)}
    wanted = {
        ContentKind.CAPTION.value: {ContentKind.PHOTO.value, ContentKind.VIDEO.value},
        ContentKind.COMMENT.value: {
            ContentKind.POST.value,
            ContentKind.PHOTO.value,
            ContentKind.VIDEO.value,
        },
    }
    for row in by_id.values():
        if row["kind"] not in wanted:
            assert row["parent_id"] is None
            continue
        parent = by_id[row["parent_id"]]
        assert parent["kind"] in wanted[row["kind"]]
        assert parent["created_at"] < row["created_at"]
        assert parent["content_id"] < row["content_id"]
        assert parent["visibility"] == row["visibility"]
        if row["kind"] == ContentKind.CAPTION.value:
            assert parent["author_id"] == row["author_id"]


def test_mentions_are_exactly_the_handles_in_the_text(
    accounts: pa.Table, content: pa.Table
) -> None:
    handles = accounts.column("handle").to_pylist()
    by_handle = {
        h.lower(): (h, uid)
        for h, uid in zip(handles, accounts.column("user_id").to_pylist(), strict=True)
    }
    sizes: Counter[int] = Counter()
    for row in rows(content):
        found: list[int] = []
        for match in MENTION.finditer(row["text"] or ""):
            if match.group(1).lower() in by_handle:
                spelled, uid = by_handle[match.group(1).lower()]
                assert match.group(1) == spelled
                found.append(uid)
            else:  # the domain of an e-mail address, never a stray @word
                assert match.start() > 0
                assert not row["text"][match.start() - 1].isspace()
        assert found == row["mentions"]
        assert row["author_id"] not in found
        sizes[len(found)] += 1
    assert sizes[1] > sizes[2] > sizes[3] > 0
    assert 0.05 < 1 - sizes[0] / content.num_rows < 0.25


def test_tags_and_media_only_on_photos_and_videos(accounts: pa.Table, content: pa.Table) -> None:
    users = set(accounts.column("user_id").to_pylist())
    extension = {ContentKind.PHOTO.value: ".jpg", ContentKind.VIDEO.value: ".mp4"}
    tagged = 0
    for row in rows(content):
        if row["kind"] in extension:
            assert row["media_uri"] == f"media/{row['content_id']}{extension[row['kind']]}"
            tagged += bool(row["tags"])
            assert set(row["tags"]) <= users
            assert len(set(row["tags"])) == len(row["tags"])
        else:
            assert row["media_uri"] is None
            assert row["tags"] == []
    assert tagged > 100


def test_texts_carry_people_contacts_and_harmless_digits(content: pa.Table) -> None:
    texts = content.column("text").to_pylist()
    kinds = content.column("kind").to_pylist()
    media = {ContentKind.PHOTO.value, ContentKind.VIDEO.value}
    assert all(t is not None for t, k in zip(texts, kinds, strict=True) if k not in media)
    assert any(t is None for t, k in zip(texts, kinds, strict=True) if k in media)
    words = [t for t in texts if t]
    assert sum(1 for t in words if any(p in t for p in PEOPLE[:50])) > 100
    assert sum(1 for t in words if re.search(r"[a-z.]+@example\.(net|org)", t)) > 50
    for shape in PHONE_SHAPES:
        assert any(shape.search(t) for t in words), shape.pattern
    assert any(re.search(r"\b(in|In|since|Since) 20\d\d\b", t) for t in words)
    assert any(re.search(r"@[a-z]+\d{4}\b", t) for t in words)  # like @sam2024
