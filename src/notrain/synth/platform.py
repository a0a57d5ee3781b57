"""A synthetic social platform: ``accounts.parquet`` and ``content.parquet`` in the contracts.

The platform is built to exercise the corpus builder, so its mix is the one the policy has
to decide on: members across the EU-27, the rest of the EEA and beyond; minors, members
who come of age while posting, and members of unknown age; every content kind and
visibility; replies and captions that point at earlier items; @mentions, tags, e-mail
addresses, phone numbers and full names of people in the texts; and a few items whose
author is not a known account.

Content is generated and written a batch of authors at a time, so memory holds the
accounts' handles and one batch, never the content table. Output depends only on the
arguments: the same seed gives the same bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from notrain.contracts import ACCOUNTS, CONTENT, EEA_NON_EU, EU27, ContentKind, Visibility
from notrain.synth import texts
from notrain.synth.names import FIRST_NAMES, LAST_NAMES

ACCOUNTS_FILE = "accounts.parquet"
CONTENT_FILE = "content.parquet"

IntArray = npt.NDArray[np.int64]

_US_PER_DAY = 86_400_000_000
_US_PER_YEAR = 365.2425 * _US_PER_DAY


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


ACCOUNTS_FROM = datetime(2019, 1, 1, tzinfo=UTC)
ACCOUNTS_UNTIL = datetime(2026, 10, 1, tzinfo=UTC)
CONTENT_UNTIL = datetime(2026, 10, 31, tzinfo=UTC)
# Items that start a thread end a month before CONTENT_UNTIL, leaving room for replies.
_THREADS_UNTIL_US = _us(CONTENT_UNTIL) - 31 * _US_PER_DAY
_MAX_COMMENT_DELAY_US = 28 * _US_PER_DAY

# Population-ish weights (millions) within each group, and each group's share of members.
_EU_POPULATION = {
    "DE": 84.0, "FR": 68.0, "IT": 59.0, "ES": 48.0, "PL": 37.0, "RO": 19.0, "NL": 18.0,
    "BE": 11.7, "CZ": 10.9, "SE": 10.5, "GR": 10.4, "PT": 10.4, "HU": 9.6, "AT": 9.1,
    "BG": 6.4, "DK": 5.9, "FI": 5.6, "SK": 5.4, "IE": 5.2, "HR": 3.9, "LT": 2.9, "SI": 2.1,
    "LV": 1.9, "EE": 1.4, "CY": 0.9, "LU": 0.7, "MT": 0.6,
}  # fmt: skip
# Liechtenstein is weighted up from 0.04 so small runs still see an EEA micro-state.
_EEA_POPULATION = {"NO": 5.5, "IS": 0.4, "LI": 0.3}
_OTHER_POPULATION = {
    "US": 335.0, "BR": 216.0, "IN": 300.0, "JP": 125.0, "MX": 128.0, "GB": 67.0,
    "CA": 40.0, "AU": 26.0, "KR": 52.0, "NG": 80.0, "ZA": 60.0, "CH": 8.8,
}  # fmt: skip
_GROUP_SHARES = ((_EU_POPULATION, 0.50), (_EEA_POPULATION, 0.02), (_OTHER_POPULATION, 0.48))

_MINOR_SHARE = 0.08
_UNKNOWN_BIRTH_SHARE = 0.10
_NO_EMAIL_SHARE = 0.05
_ACCOUNT_EMAIL_DOMAINS = ("mail.example.com", "example.com", "post.example.org")

_KINDS = tuple(ContentKind)
_KIND_NAMES = pa.array([kind.value for kind in _KINDS], type=pa.string())
_VISIBILITY_NAMES = pa.array([v.value for v in Visibility], type=pa.string())
_KIND_SHARES = {
    ContentKind.POST: 0.22,
    ContentKind.PHOTO: 0.17,
    ContentKind.VIDEO: 0.06,
    ContentKind.CAPTION: 0.07,
    ContentKind.COMMENT: 0.30,
    ContentKind.STORY: 0.06,
    ContentKind.AI_CHAT: 0.04,
    ContentKind.PRIVATE_MESSAGE: 0.08,
}
# Shares of public, followers, friends, private. Captions and comments take their parent's.
_VISIBILITY_SHARES = {
    ContentKind.POST: (0.60, 0.20, 0.15, 0.05),
    ContentKind.PHOTO: (0.55, 0.20, 0.20, 0.05),
    ContentKind.VIDEO: (0.65, 0.15, 0.15, 0.05),
    ContentKind.STORY: (0.40, 0.30, 0.25, 0.05),
    ContentKind.AI_CHAT: (0.05, 0.0, 0.0, 0.95),  # a few chats shared to a public feed
    ContentKind.PRIVATE_MESSAGE: (0.0, 0.0, 0.0, 1.0),
}
_MEDIA_EXTENSIONS = {ContentKind.PHOTO: ".jpg", ContentKind.VIDEO: ".mp4"}
_MEDIA_WITHOUT_TEXT = 0.3
_TAGGED_MEDIA = 0.25

CONTENT_ID_BASE = 1_000_000_000  # far from user ids, so a mix-up of the two cannot pass


@dataclass(frozen=True)
class SynthResult:
    accounts_path: Path
    content_path: Path
    accounts: int
    content: int
    seed: int


def synthesize_platform(
    out: Path,
    users: int,
    seed: int = 0,
    content_per_user: float = 10.0,
    batch_rows: int = 500_000,
    progress: Callable[[int], None] | None = None,
    orphan_rate: float = 0.001,
) -> SynthResult:
    """Write ``out/accounts.parquet`` and ``out/content.parquet`` for ``users`` members.

    ``progress`` is called with the number of content rows written after each batch.
    ``orphan_rate`` is the share of items whose author is not in the accounts.
    """
    if users < 1:
        raise ValueError("users must be at least 1")
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    streams = np.random.SeedSequence(seed)
    accounts_rng, counts_rng = (np.random.Generator(np.random.PCG64(s)) for s in streams.spawn(2))

    accounts = _accounts(accounts_rng, users)
    accounts_path = out / ACCOUNTS_FILE
    pq.write_table(accounts, accounts_path)

    handles = accounts.column("handle").combine_chunks()
    emails = pc.drop_null(accounts.column("email")).combine_chunks()
    created = accounts.column("created_at").cast(pa.int64()).to_numpy()
    platform = _Platform(handles, emails, created, orphan_rate)
    del accounts

    # Heavy-tailed activity: a gamma-Poisson mixture, mean content_per_user.
    shape = 0.6
    activity = counts_rng.gamma(shape, content_per_user / shape, size=users)
    counts = counts_rng.poisson(activity).astype(np.int64)
    ends = np.cumsum(counts)
    total = int(ends[-1])
    cuts = np.searchsorted(ends, np.arange(batch_rows, total, batch_rows), side="left") + 1
    edges = np.unique(np.concatenate(([0], cuts, [users])))

    content_path = out / CONTENT_FILE
    written = 0
    with pq.ParquetWriter(content_path, CONTENT) as writer:
        for number, (start, stop) in enumerate(itertools.pairwise(edges)):
            rows = int(counts[start:stop].sum())
            if rows == 0:
                continue
            rng = np.random.Generator(
                np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(2, number)))
            )
            authors = np.repeat(np.arange(start, stop, dtype=np.int64), counts[start:stop])
            batch = platform.batch(rng, authors, CONTENT_ID_BASE + written)
            writer.write_table(batch, row_group_size=batch_rows)
            written += batch.num_rows
            if progress is not None:
                progress(written)
    return SynthResult(accounts_path, content_path, users, written, seed)


def _accounts(rng: np.random.Generator, users: int) -> pa.Table:
    user_ids = np.arange(1, users + 1, dtype=np.int64)
    # Sign-ups grow over time (density rising linearly), and ids follow sign-up order.
    span = _us(ACCOUNTS_UNTIL) - _us(ACCOUNTS_FROM)
    created = _us(ACCOUNTS_FROM) + np.sort((np.sqrt(rng.random(users)) * span).astype(np.int64))

    countries, weights = _country_weights()
    country = countries.take(pa.array(rng.choice(len(countries), size=users, p=weights)))

    # Age on the day of sign-up: a minority of 13-17 year olds, adults skewed young.
    minor = rng.random(users) < _MINOR_SHARE
    adult_age = np.minimum(18.0 + rng.gamma(2.0, 8.0, size=users), 90.0)
    minor_age = rng.uniform(13.0, 18.0, size=users)
    age_us = (np.where(minor, minor_age, adult_age) * _US_PER_YEAR).astype(np.int64)
    birth_days = (created - age_us) // _US_PER_DAY
    birth = pa.array(
        birth_days.astype(np.int32), type=pa.date32(), mask=rng.random(users) < _UNKNOWN_BIRTH_SHARE
    )

    handles = _handles(rng, users)
    domains = rng.integers(0, len(_ACCOUNT_EMAIL_DOMAINS), size=users)
    no_email = rng.random(users) < _NO_EMAIL_SHARE
    # Local parts come from the handle (dots for underscores), so e-mails are unique too.
    email = [
        None if no_email[i] else f"{h.lower().replace('_', '.')}@{_ACCOUNT_EMAIL_DOMAINS[d]}"
        for i, (h, d) in enumerate(zip(handles, domains.tolist(), strict=True))
    ]
    return pa.table(
        {
            "user_id": user_ids,
            "handle": pa.array(handles, type=pa.string()),
            "email": pa.array(email, type=pa.string()),
            "country": country,
            "birth_date": birth,
            "created_at": pa.array(created, type=pa.timestamp("us", tz="UTC")),
        }
    ).cast(ACCOUNTS)


def _country_weights() -> tuple[pa.Array, npt.NDArray[np.float64]]:
    codes: list[str] = []
    weights: list[float] = []
    for population, share in _GROUP_SHARES:
        total = sum(population.values())
        codes.extend(population)
        weights.extend(share * value / total for value in population.values())
    assert set(EU27) == set(_EU_POPULATION)
    assert set(EEA_NON_EU) == set(_EEA_POPULATION)
    p = np.array(weights)
    return pa.array(codes, type=pa.string()), p / p.sum()


def _handles(rng: np.random.Generator, users: int) -> list[str]:
    """Handles like ``annagonzalez``, ``anna_gonzalez``, ``Anna_G``, ``sam2024``, ``AnnaG``.

    Unique case-insensitively: a taken handle gets a number appended, as sign-up forms
    suggest, and if that is taken too, ``_<user_id>`` (which no base pattern ends with).
    """
    first = rng.integers(0, len(FIRST_NAMES), size=users).tolist()
    last = rng.integers(0, len(LAST_NAMES), size=users).tolist()
    pattern = rng.choice(7, size=users, p=(0.22, 0.18, 0.10, 0.20, 0.12, 0.06, 0.12)).tolist()
    year = rng.integers(1970, 2027, size=users).tolist()
    small = rng.integers(1, 100, size=users).tolist()
    retry = rng.integers(1, 10_000, size=users).tolist()
    taken: set[str] = set()
    handles: list[str] = []
    for i in range(users):
        f, l_ = FIRST_NAMES[first[i]], LAST_NAMES[last[i]]
        match pattern[i]:
            case 0:
                handle = f"{f}{l_}".lower()
            case 1:
                handle = f"{f}_{l_}".lower()
            case 2:
                handle = f"{f}_{l_[0]}"
            case 3:
                handle = f"{f.lower()}{year[i]}"
            case 4:
                handle = f"{f}_{l_}{small[i]}".lower()
            case 5:
                handle = f"{f}{l_}"
            case _:
                handle = f"{f}{l_[0]}{small[i] * 7}".lower()
        key = handle.lower()
        if key in taken:
            handle = f"{handle}{retry[i]}"
            key = handle.lower()
            if key in taken:
                handle = f"{handle[: -len(str(retry[i]))]}_{i + 1}"
                key = handle.lower()
        taken.add(key)
        handles.append(handle)
    return handles


class _Platform:
    """What every batch needs to know about the accounts."""

    def __init__(
        self, handles: pa.Array, emails: pa.Array, created_us: IntArray, orphan_rate: float
    ) -> None:
        self.handles = handles
        self.emails = emails
        self.created_us = created_us
        self.users = len(created_us)
        self.orphan_rate = orphan_rate

    def batch(self, rng: np.random.Generator, authors: IntArray, first_id: int) -> pa.Table:
        """Content by ``authors`` (account indices, one per row), ids from ``first_id``."""
        n = len(authors)
        kinds = rng.choice(len(_KINDS), size=n, p=list(_KIND_SHARES.values())).astype(np.int8)
        code = texts.kind_code
        is_media = (kinds == code(ContentKind.PHOTO)) | (kinds == code(ContentKind.VIDEO))
        is_thread = is_media | (kinds == code(ContentKind.POST))
        media_rows = np.flatnonzero(is_media)
        thread_rows = np.flatnonzero(is_thread)
        is_caption = kinds == code(ContentKind.CAPTION)
        is_comment = kinds == code(ContentKind.COMMENT)
        # A batch without anything to reply to turns its replies into posts.
        if len(media_rows) == 0:
            kinds[is_caption] = code(ContentKind.POST)
            is_caption[:] = False
        if len(thread_rows) == 0:
            kinds[is_comment | is_caption] = code(ContentKind.POST)
            is_comment[:] = is_caption[:] = False
        is_reply = is_caption | is_comment

        # Parents: captions on a photo or video, comments on a post, photo or video.
        parent = np.full(n, -1, dtype=np.int64)
        caption_rows = np.flatnonzero(is_caption)
        comment_rows = np.flatnonzero(is_comment)
        if len(caption_rows):
            parent[caption_rows] = media_rows[rng.integers(0, len(media_rows), len(caption_rows))]
        if len(comment_rows):
            parent[comment_rows] = thread_rows[rng.integers(0, len(thread_rows), len(comment_rows))]
        # The owner of a photo writes its caption.
        authors = authors.copy()
        authors[caption_rows] = authors[parent[caption_rows]]

        # Times: threads after the author joined; replies after their parent (and author).
        joined = self.created_us[authors]
        window = np.maximum(_THREADS_UNTIL_US - joined, _US_PER_DAY)
        created = joined + (rng.random(n) * window).astype(np.int64)
        after = np.maximum(created[parent[comment_rows]], joined[comment_rows])
        delay = 60_000_000 + rng.exponential(2 * _US_PER_DAY, len(comment_rows))
        created[comment_rows] = after + np.minimum(delay, _MAX_COMMENT_DELAY_US).astype(np.int64)
        created[caption_rows] = created[parent[caption_rows]] + rng.integers(
            1_000_000, 3_600_000_000, len(caption_rows)
        )

        visibility = np.zeros(n, dtype=np.int8)
        for kind, shares in _VISIBILITY_SHARES.items():
            rows = np.flatnonzero(kinds == code(kind))
            visibility[rows] = rng.choice(len(_VISIBILITY_NAMES), size=len(rows), p=shares)
        visibility[is_reply] = visibility[parent[is_reply]]

        # Authors unknown to the accounts: ids past the last user, as if deleted.
        author_ids = authors + 1
        orphan = rng.random(n) < self.orphan_rate
        author_ids[orphan] = self.users + 1 + rng.integers(0, self.users + 1, int(orphan.sum()))
        author_ids[caption_rows] = author_ids[parent[caption_rows]]

        has_text = ~(is_media & (rng.random(n) < _MEDIA_WITHOUT_TEXT))
        counts = texts.mention_counts(rng, has_text, max_mentions=min(3, self.users - 1))
        mentioned = self._others(rng, authors, counts)
        tag_counts = np.where(is_media & (rng.random(n) < _TAGGED_MEDIA), rng.integers(1, 4, n), 0)
        tagged = self._others(rng, authors, np.minimum(tag_counts, min(3, self.users - 1)))
        text = texts.compose(rng, kinds, has_text, mentioned, self.handles, self.emails)

        # Rows go out in time order, so a parent always has a smaller id than its replies.
        order = np.argsort(created, kind="stable")
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        content_id = first_id + np.arange(n, dtype=np.int64)
        parent_id = np.where(parent >= 0, first_id + position[np.maximum(parent, 0)], 0)[order]
        kinds_out, media_out = kinds[order], is_media[order]

        media_uri = pc.binary_join_element_wise(
            "media/",
            pc.cast(pa.array(content_id), pa.string()),
            pa.array(np.where(kinds_out == code(ContentKind.VIDEO), ".mp4", ".jpg")),
            "",
        )
        take = pa.array(order)
        return pa.table(
            {
                "content_id": content_id,
                "author_id": author_ids[order],
                "kind": _KIND_NAMES.take(pa.array(kinds_out)),
                "visibility": _VISIBILITY_NAMES.take(pa.array(visibility[order])),
                "created_at": pa.array(created[order], type=pa.timestamp("us", tz="UTC")),
                "text": text.take(take),
                "media_uri": pc.if_else(
                    pa.array(media_out), media_uri, pa.scalar(None, pa.string())
                ),
                "parent_id": pa.array(parent_id, mask=parent[order] < 0),
                "mentions": _id_lists(mentioned[order]),
                "tags": _id_lists(tagged[order]),
            }
        ).cast(CONTENT)

    def _others(self, rng: np.random.Generator, authors: IntArray, counts: IntArray) -> IntArray:
        """Up to three distinct accounts other than each row's author; -1 pads.

        Stepping from the author by three positive strides that together stay below the
        number of accounts keeps all four positions distinct.
        """
        n = len(authors)
        picked = np.full((n, 3), -1, dtype=np.int64)
        if self.users < 2:
            return picked
        stride = max((self.users - 1) // 3, 1)
        position = authors.copy()
        for j in range(3):
            position = position + 1 + rng.integers(0, stride, n)
            picked[:, j] = np.where(counts > j, position % self.users, -1)
        return picked


def _id_lists(indices: IntArray) -> pa.Array:
    """List arrays of user ids from ``(n, 3)`` account indices padded with -1."""
    counts = (indices >= 0).sum(axis=1)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    values = indices[indices >= 0] + 1  # row-major, so each row's ids stay in text order
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.int64()))
