"""Each rule of the shipped default policy, its edges, and the order of reasons."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from notrain.errors import InputError
from tests.corpus.world import World, utc

POLICY_TEMPLATE = """
name = "custom"
purpose = "tests"
[content]
kinds = {kinds}
visibility = ["public"]
[authors]
min_age = 18
unknown_age = "{unknown_age}"
[[jurisdictions]]
name = "France"
countries = ["FR"]
regime = "{fr_regime}"
active_from = 2024-01-01
{fr_since}
[[jurisdictions]]
name = "Germany"
countries = ["DE"]
regime = "excluded"
active_from = 2024-01-01
[[jurisdictions]]
name = "Rest"
countries = ["*"]
regime = "objection"
active_from = 2024-01-01
[objections]
retroactive = {retroactive}
[third_parties]
tagged = "{tagged}"
mentioned = "{mentioned}"
"""


def policy(
    kinds: str = '["post", "photo", "video", "caption", "comment"]',
    unknown_age: str = "exclude",
    fr_regime: str = "objection",
    fr_since: str = "",
    retroactive: str = "true",
    tagged: str = "exclude",
    mentioned: str = "redact",
) -> str:
    return POLICY_TEMPLATE.format(
        kinds=kinds,
        unknown_age=unknown_age,
        fr_regime=fr_regime,
        fr_since=fr_since,
        retroactive=retroactive,
        tagged=tagged,
        mentioned=mentioned,
    )


def test_default_kinds_and_visibility(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    kept = {k: w.item(a, kind=k) for k in ("post", "photo", "video", "caption", "comment")}
    out = {k: w.item(a, kind=k) for k in ("story", "ai_chat", "private_message")}
    hidden = {v: w.item(a, visibility=v) for v in ("followers", "friends", "private")}
    built = w.build(tmp_path)
    assert set(built.kept) == set(kept.values())
    assert all(built.reason(cid) == "kind_not_allowed" for cid in out.values())
    assert all(built.reason(cid) == "not_public" for cid in hidden.values())


def test_story_and_ai_chat_can_be_enabled(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    story, chat = w.item(a, kind="story"), w.item(a, kind="ai_chat")
    built = w.build(tmp_path, policy=policy(kinds='["post", "story", "ai_chat"]'))
    assert {story, chat} <= set(built.kept)


def test_author_unknown(tmp_path: Path) -> None:
    w = World()
    w.account(1)
    orphan = w.item(999)
    assert w.build(tmp_path).reason(orphan) == "author_unknown"


@pytest.mark.parametrize(
    ("country", "as_of", "kept"),
    [
        ("FR", "2025-05-26T23:59:59", False),
        ("FR", "2025-05-27T00:00:00", True),
        ("NO", "2025-05-26", False),
        ("GB", "2025-05-27", True),
        ("CH", "2025-05-26", False),
        ("BR", "2024-08-29T23:59:59", False),
        ("BR", "2024-08-30", True),
        ("US", "2023-09-26", False),
        ("US", "2023-09-27", True),
        ("AU", "2023-09-27", True),
    ],
)
def test_jurisdiction_start_dates(tmp_path: Path, country: str, as_of: str, kept: bool) -> None:
    w = World()
    a = w.account(1, country=country)
    cid = w.item(a, created_at="2023-01-01")
    built = w.build(tmp_path, as_of=utc(as_of))
    assert (cid in built.kept) is kept
    if not kept:
        assert built.reason(cid) == "jurisdiction_excluded"


def test_excluded_regime_and_content_since(tmp_path: Path) -> None:
    w = World()
    de = w.account(1, country="DE")
    fr = w.account(2, country="FR")
    de_item = w.item(de)
    fr_old = w.item(fr, created_at="2023-12-31T23:59:59")
    fr_new = w.item(fr, created_at="2024-01-01")
    built = w.build(tmp_path, policy=policy(fr_since="content_since = 2024-01-01"))
    assert built.reason(de_item) == "jurisdiction_excluded"
    assert built.reason(fr_old) == "jurisdiction_excluded"
    assert fr_new in built.kept


@pytest.mark.parametrize(
    ("birth", "created", "minor"),
    [
        (date(2000, 3, 10), "2018-03-10T00:00:00", False),  # 18th birthday
        (date(2000, 3, 10), "2018-03-09T23:59:59", True),  # the day before
        (date(2000, 2, 29), "2018-02-28T12:00:00", True),  # leap-day births turn 18 on 1 March
        (date(2000, 2, 29), "2018-03-01T00:00:00", False),
        (date(1950, 1, 1), "2024-01-01", False),
    ],
)
def test_author_age_on_content_date(tmp_path: Path, birth: date, created: str, minor: bool) -> None:
    w = World()
    a = w.account(1, country="US", birth_date=birth)
    cid = w.item(a, created_at=created)
    built = w.build(tmp_path)
    assert (built.reason(cid) == "author_minor") is minor
    assert (cid in built.kept) is not minor


def test_unknown_age_is_left_out_by_default_and_can_be_included(tmp_path: Path) -> None:
    w = World()
    a = w.account(1, birth_date=None)
    cid = w.item(a)
    assert w.build(tmp_path / "a").reason(cid) == "author_minor"
    assert cid in w.build(tmp_path / "b", policy=policy(unknown_age="include")).kept


def test_objection_is_retroactive_and_never_lapses(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    old = w.item(a, created_at="2020-01-01")
    new = w.item(a, created_at="2026-05-01")
    w.decide(a, "objection", effective_at="2025-06-01")
    built = w.build(tmp_path, as_of=utc("2030-01-01"))
    assert built.reason(old) == built.reason(new) == "author_objected"


def test_objection_effective_exactly_at_as_of_counts_and_later_is_ignored(tmp_path: Path) -> None:
    w = World()
    a, b = w.account(1), w.account(2)
    ca, cb = w.item(a), w.item(b)
    w.decide(a, "objection", effective_at="2026-06-01T00:00:00")
    w.decide(b, "objection", effective_at="2026-06-01T00:00:01")
    built = w.build(tmp_path, as_of=utc("2026-06-01T00:00:00"))
    assert built.reason(ca) == "author_objected"
    assert cb in built.kept


def test_non_retroactive_policy_keeps_content_made_before_the_objection(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    before = w.item(a, created_at="2025-01-01")
    after = w.item(a, created_at="2025-07-01")
    w.decide(a, "objection", effective_at="2025-06-01")
    built = w.build(tmp_path, policy=policy(retroactive="false"))
    assert before in built.kept
    assert built.reason(after) == "author_objected"


def test_erasure_comes_before_objection(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    cid = w.item(a)
    w.decide(a, "objection")
    w.decide(a, "erasure")
    assert w.build(tmp_path).reason(cid) == "author_erased"


def test_consent_regime(tmp_path: Path) -> None:
    w = World()
    yes, no, late, objector = (w.account(i) for i in (1, 2, 3, 4))
    items = {u: w.item(u) for u in (yes, no, late, objector)}
    w.decide(yes, "consent", effective_at="2025-01-01")
    w.decide(late, "consent", effective_at="2027-01-01")
    w.decide(objector, "consent", effective_at="2025-01-01")
    w.decide(objector, "objection", effective_at="2025-02-01")
    built = w.build(tmp_path, policy=policy(fr_regime="consent"))
    assert items[yes] in built.kept
    assert built.reason(items[no]) == "no_consent"
    assert built.reason(items[late]) == "no_consent"
    assert built.reason(items[objector]) == "author_objected"


def test_consent_rows_mean_nothing_in_objection_regimes(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    cid = w.item(a)
    assert cid in w.build(tmp_path).kept


def test_tagged_objector_excludes_media_only(tmp_path: Path) -> None:
    w = World()
    author, objector, other = w.account(1), w.account(2), w.account(3)
    photo = w.item(author, kind="photo", tags=[objector, other])
    video = w.item(author, kind="video", tags=[objector])
    post = w.item(author, kind="post", tags=[objector, other])
    fine = w.item(author, kind="photo", tags=[other])
    w.decide(objector, "objection")
    built = w.build(tmp_path)
    assert built.reason(photo) == built.reason(video) == "third_party_objected"
    assert built.kept[post]["tags"] == [other]
    assert built.kept[fine]["tags"] == [other]


def test_tagged_erased_person_counts_too_and_future_objection_does_not(tmp_path: Path) -> None:
    w = World()
    author, erased, later = w.account(1), w.account(2), w.account(3)
    p1 = w.item(author, kind="photo", tags=[erased])
    p2 = w.item(author, kind="photo", tags=[later])
    w.decide(erased, "erasure")
    w.decide(later, "objection", effective_at="2027-01-01")
    built = w.build(tmp_path)
    assert built.reason(p1) == "third_party_objected"
    assert p2 in built.kept


def test_tagging_policy_keep(tmp_path: Path) -> None:
    w = World()
    author, objector = w.account(1), w.account(2)
    photo = w.item(author, kind="photo", tags=[objector])
    w.decide(objector)
    built = w.build(tmp_path, policy=policy(tagged="keep"))
    assert built.kept[photo]["tags"] == []


def test_mentions_of_objectors_are_redacted(tmp_path: Path) -> None:
    w = World()
    author = w.account(1, handle="anna")
    bob = w.account(2, handle="Bob_K")
    carol = w.account(3, handle="carol.d")
    dan = w.account(4, handle="dan")
    cid = w.item(
        author,
        text="hi @Bob_K, @bob_k and @BOB_K. @carol.d. @carol.dx @dan @bob_kate x@bob_k.com",
        mentions=[bob, carol, dan],
    )
    w.decide(bob)
    w.decide(carol, "erasure")
    built = w.build(tmp_path)
    assert built.text(cid) == (
        "hi @[redacted], @[redacted] and @[redacted]. @[redacted]. @carol.dx @dan @bob_kate "
        "x@bob_k.com"
    )
    assert built.kept[cid]["mentions"] == [dan]
    assert built.lineage[cid]["mentions"] == [dan]


def test_adjacent_mentions_are_all_redacted(tmp_path: Path) -> None:
    w = World()
    author, bob = w.account(1), w.account(2, handle="bob")
    cid = w.item(author, text="@bob @bob @bob,@bob", mentions=[bob])
    w.decide(bob)
    assert w.build(tmp_path).text(cid) == "@[redacted] @[redacted] @[redacted],@[redacted]"


def test_mention_policy_exclude(tmp_path: Path) -> None:
    w = World()
    author, bob = w.account(1), w.account(2, handle="bob")
    cid = w.item(author, text="hi @bob", mentions=[bob])
    w.decide(bob)
    assert w.build(tmp_path, policy=policy(mentioned="exclude")).reason(cid) == (
        "third_party_objected"
    )


def test_non_member_identifiers_are_redacted_as_whole_words(tmp_path: Path) -> None:
    w = World()
    author = w.account(1)
    cid = w.item(
        author,
        text="Maria Gonzalez met MARIA  GONZALEZ and mariagonzalez; write maria.g@example.net "
        "or Maria Gonzalezz. maria gonzalez maria gonzalez",
    )
    w.decide(None, identifiers=["Maria Gonzalez", "maria.g@example.net"])
    assert w.build(tmp_path).text(cid) == (
        "[redacted] met [redacted] and mariagonzalez; write [redacted] "
        "or Maria Gonzalezz. [redacted] [redacted]"
    )


def test_identifiers_of_later_requests_are_not_redacted(tmp_path: Path) -> None:
    w = World()
    author = w.account(1)
    cid = w.item(author, text="thanks Zoe Martin")
    w.decide(None, effective_at="2027-01-01", identifiers=["Zoe Martin"])
    assert w.build(tmp_path).text(cid) == "thanks Zoe Martin"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail anna.k@example.org now", "mail [email] now"),
        ("call +33 6 12 34 56 78 today", "call [phone] today"),
        ("(555) 123-4567", "[phone]"),
        ("020 7946 0958.", "[phone]."),
        ("+49-30-1234567", "[phone]"),
        ("tel:0612345678", "tel:[phone]"),
        ("me @sam2024 in 2024 with 3 cats", "me @sam2024 in 2024 with 3 cats"),
        ("order abc1234567 is late", "order abc1234567 is late"),
        ("123456 is six digits", "123456 is six digits"),
        ("1234567 and 7654321x", "1234567 and 7654321x"),
        ("a 12.34.56.78 b", "a [ip] b"),
        ("on 2024-06-26 12:30:45, 1 299 000 €", "on 2024-06-26 12:30:45, 1 299 000 €"),
    ],
)
def test_emails_and_phones(tmp_path: Path, text: str, expected: str) -> None:
    w = World()
    cid = w.item(w.account(1), text=text)
    assert w.build(tmp_path).text(cid) == expected


def test_reason_order_first_applicable_wins(tmp_path: Path) -> None:
    w = World()
    minor_objector = w.account(1, birth_date=date(2015, 1, 1), country="BR")
    w.decide(minor_objector, "objection")
    w.decide(minor_objector, "erasure")
    tagger = w.account(2)
    w.decide(tagger, "objection")
    story_private = w.item(minor_objector, kind="story", visibility="private")
    private_post = w.item(minor_objector, kind="post", visibility="private")
    post = w.item(minor_objector, kind="post")
    tagged_by_objector = w.item(tagger, kind="photo", tags=[minor_objector])
    built = w.build(tmp_path, as_of=utc("2026-01-01"))
    assert built.reason(story_private) == "kind_not_allowed"
    assert built.reason(private_post) == "not_public"
    assert built.reason(post) == "author_minor"
    assert built.reason(tagged_by_objector) == "author_objected"


def test_counts_add_up_and_every_reason_is_listed(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    for kind in ("post", "story", "photo"):
        w.item(a, kind=kind)
    counts = w.build(tmp_path).manifest["counts"]
    assert counts["input"] == 3 == counts["kept"] + counts["excluded"]
    assert sum(counts["excluded_by_reason"].values()) == counts["excluded"]
    assert sum(counts["kept_by_kind"].values()) == counts["kept"]
    assert sum(counts["excluded_by_country"].values()) == counts["excluded"]
    assert list(counts["excluded_by_reason"]) == [
        "kind_not_allowed", "not_public", "author_unknown", "jurisdiction_excluded",
        "author_minor", "author_erased", "author_objected", "no_consent", "third_party_objected",
        "signal_reserved", "signal_unreadable",
    ]  # fmt: skip


def test_signal_reserved_is_the_last_reason(tmp_path: Path) -> None:
    w = World()
    author, objector = w.account(1), w.account(2)
    reserved = w.item(author, kind="photo")
    allowed = w.item(author, kind="photo")
    unknown = w.item(author, kind="photo")
    broken = w.item(author, kind="photo")
    tagged = w.item(author, kind="photo", tags=[objector])
    w.decide(objector)
    w.signal(reserved, "reserved")
    w.signal(allowed, "allowed")
    w.signal(unknown, "unknown")
    w.signal(broken, "error")
    w.signal(tagged, "reserved")
    w.signal(None, "error")  # a media file no content row points at
    built = w.build(tmp_path / "default")
    assert built.reason(reserved) == "signal_reserved"
    assert built.reason(tagged) == "third_party_objected"
    assert {allowed, unknown} <= set(built.kept)
    assert built.reason(broken) == "signal_unreadable"
    assert built.manifest["counts"]["excluded_by_reason"]["signal_reserved"] == 1
    assert built.manifest["counts"]["excluded_by_reason"]["signal_unreadable"] == 1
    assert "signals" in built.manifest["inputs"]

    cautious = policy() + '\n[signals]\nunknown = "exclude"\n'
    built = w.build(tmp_path / "cautious", policy=cautious)
    assert built.reason(unknown) == "signal_reserved"
    assert built.reason(broken) == "signal_unreadable"
    assert allowed in built.kept

    lenient = policy() + '\n[signals]\nunreadable = "allow"\n'
    assert broken in w.build(tmp_path / "lenient", policy=lenient).kept

    ignoring = policy() + "\n[signals]\nhonour = false\n"
    assert reserved in w.build(tmp_path / "ignoring", policy=ignoring).kept


def test_signal_file_with_an_unknown_decision_is_refused(tmp_path: Path) -> None:
    w = World()
    cid = w.item(w.account(1))
    w.signal(cid, "maybe")
    with pytest.raises(InputError, match="unknown decision 'maybe'"):
        w.build(tmp_path)


def test_handle_written_in_text_but_missing_from_mentions_is_redacted(tmp_path: Path) -> None:
    w = World()
    author, bob = w.account(1), w.account(2, handle="bob")
    cid = w.item(author, text="thanks @Bob!", mentions=[])
    w.decide(bob)
    built = w.build(tmp_path)
    assert built.text(cid) == "thanks @[redacted]!"
