"""The default policy's stated rules at their edges, beyond what ``test_rules.py`` covers.

Each test names the sentence of the builder issue it holds the builder to: the boundaries
of time (a microsecond either side of as-of), of words (a handle that is the prefix of
another, accents written composed or decomposed, any Unicode whitespace inside a name),
of numbers (what is and is not a phone), and the order of reasons pair by pair.
"""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from notrain.contracts import EEA_NON_EU, EU27
from notrain.errors import SnapshotIntegrityError
from tests.corpus import world
from tests.corpus.test_rules import policy
from tests.corpus.world import World, utc

_MICRO = timedelta(microseconds=1)

# -- e-mail addresses and phone numbers -----------------------------------------------

PHONES = [
    ("call 555-123-4567 now", "call [phone] now"),
    ("call 555.123.4567 now", "call [phone] now"),
    ("call 555 123 4567 now", "call [phone] now"),
    ("+1 (555) 123-4567", "[phone]"),
    ("+44 20 7946 0958!", "[phone]!"),
    ("(+33) 6 12 34 56 78", "[phone]"),
    ("+33612345678", "[phone]"),
    ("call+33612345678", "call[phone]"),  # the "+" is part of the number (issue 13)
    ("555\u2013123\u20134567", "[phone]"),  # en dashes
    ("555\u00a0123\u00a04567", "[phone]"),  # no-break spaces
    ("12 34 56 7", "12 34 56 7"),  # seven digits in no phone format (issue 13)
    ("12 34 56", "12 34 56"),  # six
    ("@sam2024123", "@sam2024123"),  # a handle with digits
    ("@1234567", "@1234567"),  # a handle of digits only
    ("x_1234567 and 1234567_x", "x_1234567 and 1234567_x"),
    ("caf\u00e91234567 and 1234567\u00e9", "caf\u00e91234567 and 1234567\u00e9"),
    ("cafe\u03011234567", "cafe\u03011234567"),  # a decomposed é ends no word
    ("0612345678,0698765432 and 1234567 7654321", "[phone],[phone] and 1234567 7654321"),
]

EMAILS = [
    ("A.B@EXAMPLE.COM.", "[email]."),
    ("<first.last+tag@mail.example.co.uk>", "<[email]>"),
    ("jos\u00e9@example.com", "[email]"),
    ("zo\u00eb.m@example.com", "[email]"),
    ("anna@m\u00fcller.de", "[email]"),
    ("not an address: first.last@localhost", "not an address: first.last@localhost"),
]


@pytest.mark.parametrize(("text", "expected"), PHONES + EMAILS)
def test_phone_numbers_and_email_addresses(tmp_path: Path, text: str, expected: str) -> None:
    """'e-mail addresses become [email] and phone numbers (7+ digits, with spaces, dots,
    dashes or parentheses between them and an optional +country prefix) become [phone];
    digits inside a word (a handle like @sam2024) are not a phone.'"""
    w = World()
    cid = w.item(w.account(1), text=text)
    assert w.build(tmp_path).text(cid) == expected


# -- @mentions of objectors -------------------------------------------------------------


def _mention_world() -> tuple[World, dict[str, int]]:
    w = World()
    people = {
        handle: w.account(number, handle=handle)
        for number, handle in enumerate(["author", "bob", "bobby", "bob.k", "Late"], start=1)
    }
    w.decide(people["bob"], "objection")
    w.decide(people["Late"], "objection", effective_at="2026-06-01T00:00:00.000001")
    return w, people


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@bob and @bobby", "@[redacted] and @bobby"),  # a handle that is a prefix of another
        ("@bobby, @bob", "@bobby, @[redacted]"),
        ("@BOB! @Bob? @bOb;", "@[redacted]! @[redacted]? @[redacted];"),
        ("(@bob) [@bob] \u00ab@bob\u00bb", "(@[redacted]) [@[redacted]] \u00ab@[redacted]\u00bb"),
        ("@bob's and @bob\u2019s", "@[redacted]'s and @[redacted]\u2019s"),
        ("thanks @bob.", "thanks @[redacted]."),
        ("thanks @bob...", "thanks @[redacted]..."),
        ("@bob.k is someone else", "@bob.k is someone else"),
        ("@bob_ and @bob2 are someone else", "@bob_ and @bob2 are someone else"),
        ("bob@example.com", "[email]"),  # an e-mail address, not a mention
        ("@late objects tomorrow", "@late objects tomorrow"),
    ],
)
def test_objector_handles_in_text(tmp_path: Path, text: str, expected: str) -> None:
    """'In kept text, an @handle of such a person is replaced by @[redacted]' (handles are
    compared case-insensitively; a later objection does not count yet)."""
    w, people = _mention_world()
    cid = w.item(people["author"], text=text)
    assert w.build(tmp_path).text(cid) == expected


def test_objector_id_removed_from_mentions_others_kept(tmp_path: Path) -> None:
    """'... and their id removed from mentions.'"""
    w, people = _mention_world()
    mentioned = [people["bob"], people["bobby"], people["bob.k"], people["Late"]]
    cid = w.item(people["author"], text="@bob @bobby @bob.k @Late", mentions=mentioned)
    built = w.build(tmp_path)
    survivors = [people["bobby"], people["bob.k"], people["Late"]]
    assert built.kept[cid]["mentions"] == survivors
    assert built.lineage[cid]["mentions"] == survivors
    assert built.text(cid) == "@[redacted] @bobby @bob.k @Late"


# -- tags -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["post", "caption", "comment", "photo", "video"])
def test_only_photos_and_videos_are_left_out_for_a_tagged_objector(
    tmp_path: Path, kind: str
) -> None:
    """'A photo or video whose tags include someone with an effective objection or erasure
    is left out' -- other kinds with the same tags entry are not."""
    w = World()
    author, objector = w.account(1), w.account(2)
    cid = w.item(author, kind=kind, tags=[objector])
    w.decide(objector, "objection", effective_at="2026-06-01T00:00:00")
    built = w.build(tmp_path, as_of=utc("2026-06-01T00:00:00"))
    if kind in ("photo", "video"):
        assert built.reason(cid) == "third_party_objected"
    else:
        assert cid in built.kept
        assert built.kept[cid]["tags"] == []


# -- effective_at against as-of -----------------------------------------------------------


@pytest.mark.parametrize(
    ("effective_at", "counts"),
    [
        ("2026-06-01T12:00:00.000000", True),
        ("2026-06-01T12:00:00.000001", True),  # exactly as-of
        ("2026-06-01T12:00:00.000002", False),  # one microsecond after
    ],
)
def test_decisions_count_from_exactly_their_effective_time(
    tmp_path: Path, effective_at: str, counts: bool
) -> None:
    """'An objection or erasure row for the author with effective_at <= as-of ...; rows
    effective after as-of are ignored.' The same boundary for every use of a decision."""
    w = World()
    objector, eraser, tagged, named = (w.account(i, handle=f"p{i}") for i in (1, 2, 3, 4))
    author = w.account(5)
    own_objected, own_erased = w.item(objector), w.item(eraser)
    photo = w.item(author, kind="photo", tags=[tagged])
    post = w.item(author, text="hi @p4 and Zoe Martin", mentions=[named])
    for subject, kind in ((objector, "objection"), (eraser, "erasure"), (tagged, "objection")):
        w.decide(subject, kind, effective_at=effective_at)
    w.decide(named, "erasure", effective_at=effective_at)
    w.decide(None, "objection", effective_at=effective_at, identifiers=["Zoe Martin"])
    built = w.build(tmp_path, as_of=utc("2026-06-01T12:00:00.000001"))
    if counts:
        assert built.reason(own_objected) == "author_objected"
        assert built.reason(own_erased) == "author_erased"
        assert built.reason(photo) == "third_party_objected"
        assert built.text(post) == "hi @[redacted] and [redacted]"
        assert built.kept[post]["mentions"] == []
    else:
        assert {own_objected, own_erased, photo, post} <= set(built.kept)
        assert built.text(post) == "hi @p4 and Zoe Martin"
        assert built.kept[post]["mentions"] == [named]


def test_consent_counts_from_exactly_its_effective_time(tmp_path: Path) -> None:
    """'consent (opt-in: only authors with a consent row effective at as-of)'."""
    w = World()
    at, after = w.account(1), w.account(2)
    kept, left = w.item(at), w.item(after)
    w.decide(at, "consent", effective_at="2026-06-01T00:00:00")
    w.decide(after, "consent", effective_at="2026-06-01T00:00:00.000001")
    built = w.build(tmp_path, policy=policy(fr_regime="consent"), as_of=utc("2026-06-01"))
    assert kept in built.kept
    assert built.reason(left) == "no_consent"


def test_erasure_beats_consent(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    cid = w.item(a)
    w.decide(a, "consent", effective_at="2025-01-01")
    w.decide(a, "erasure", effective_at="2025-02-01")
    assert w.build(tmp_path, policy=policy(fr_regime="consent")).reason(cid) == "author_erased"


# -- non-member identifiers -------------------------------------------------------------

NAME = "Jos\u00e9 N\u00fa\u00f1ez"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"met {NAME} today", "met [redacted] today"),
        (f"met {NAME.upper()} today", "met [redacted] today"),
        (f"met {unicodedata.normalize('NFD', NAME)} today", "met [redacted] today"),
        ("met Jos\u00e9\tN\u00fa\u00f1ez", "met [redacted]"),
        ("met Jos\u00e9\n\nN\u00fa\u00f1ez", "met [redacted]"),
        ("met Jos\u00e9\u00a0N\u00fa\u00f1ez", "met [redacted]"),  # no-break space
        ("met Jos\u00e9\u2003 N\u00fa\u00f1ez", "met [redacted]"),  # em space and a space
        (f"{NAME}'s and {NAME}.", "[redacted]'s and [redacted]."),
        ("Jose Nunez is another man", "Jose Nunez is another man"),
        (f"{NAME}a and x{NAME}", f"{NAME}a and x{NAME}"),
        (f"{NAME}_2", f"{NAME}_2"),
        ("write J.Doe@Example.ORG.", "write [redacted]."),
        ("write jxdoe@example.org", "write [email]"),  # the dot is literal
        ("ping @Zoe_M or zoe_m", "ping @[redacted] or [redacted]"),
        ("zoe_mx and zoe_m_2", "zoe_mx and zoe_m_2"),
    ],
)
def test_non_member_identifiers(tmp_path: Path, text: str, expected: str) -> None:
    """'Identifiers of non-members (e-mails, handles, full names) in the snapshot are
    replaced by [redacted] wherever they occur in kept text (case-insensitive, whole
    words).'"""
    w = World()
    cid = w.item(w.account(1), text=text)
    w.decide(None, "erasure", identifiers=[f"  {NAME.lower()} ", "j.doe@example.org", "@zoe_m"])
    assert w.build(tmp_path).text(cid) == expected


def test_identifiers_given_in_decomposed_form_are_found_composed(tmp_path: Path) -> None:
    w = World()
    cid = w.item(w.account(1), text=f"hello {NAME}")
    w.decide(None, identifiers=[unicodedata.normalize("NFD", NAME)])
    assert w.build(tmp_path).text(cid) == "hello [redacted]"


def test_identifiers_of_consent_rows_are_not_redacted(tmp_path: Path) -> None:
    w = World()
    cid = w.item(w.account(1), text="hello Zoe Martin")
    w.decide(None, "consent", identifiers=["Zoe Martin"])
    assert w.build(tmp_path).text(cid) == "hello Zoe Martin"


# -- jurisdictions --------------------------------------------------------------------

LISTED = {**dict.fromkeys((*EU27, *EEA_NON_EU, "GB", "CH"), "2025-05-27"), "BR": "2024-08-30"}
ELSEWHERE = ["US", "AU", "JP", "IN", "ZA", "CA", "MX", "TR", "UA", "RS", "AD", "SM", "VA"]


@pytest.mark.parametrize("day", ["2023-09-27", "2024-08-30", "2025-05-27"])
def test_every_country_starts_on_its_day(tmp_path: Path, day: str) -> None:
    """'EU-27, IS, LI, NO, GB, CH: objection from 2025-05-27. BR: from 2024-08-30. Every
    other country: from 2023-09-27. A build whose as-of is before a jurisdiction's start
    leaves its content out.' Built at the first instant of ``day`` and the one before."""
    starts = {**LISTED, **dict.fromkeys(ELSEWHERE, "2023-09-27")}
    w = World()
    items = {}
    for number, (country, start) in enumerate(sorted(starts.items()), start=1):
        items[w.item(w.account(number, country=country), created_at="2020-01-01")] = start
    at = w.build(tmp_path / "at", as_of=utc(f"{day}T00:00:00"))
    before = w.build(tmp_path / "before", as_of=utc(f"{day}T00:00:00") - _MICRO)
    for cid, start in items.items():
        assert (cid in at.kept) is (start <= day)
        assert (cid in before.kept) is (start < day)
        if start >= day:
            assert before.reason(cid) == "jurisdiction_excluded"


def test_country_outside_every_jurisdiction_is_left_out(tmp_path: Path) -> None:
    no_wildcard = policy().replace('countries = ["*"]', 'countries = ["US"]')
    w = World()
    us, jp = w.account(1, country="US"), w.account(2, country="JP")
    kept, left = w.item(us), w.item(jp)
    built = w.build(tmp_path, policy=no_wildcard)
    assert kept in built.kept
    assert built.reason(left) == "jurisdiction_excluded"


def test_content_since_in_a_consent_regime(tmp_path: Path) -> None:
    w = World()
    a = w.account(1)
    old = w.item(a, created_at="2024-12-31T23:59:59.999999")
    new = w.item(a, created_at="2025-01-01")
    w.decide(a, "consent", effective_at="2024-01-01")
    consent = policy(fr_regime="consent", fr_since="content_since = 2025-01-01")
    built = w.build(tmp_path, policy=consent)
    assert built.reason(old) == "jurisdiction_excluded"
    assert new in built.kept


# -- author age -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "created", "minor"),
    [
        (date(2008, 6, 1), "2026-06-01T00:00:00", False),
        (date(2008, 6, 1), "2026-05-31T23:59:59.999999", True),
        (date(2008, 6, 1), "2026-06-01T01:00:00+02:00", True),  # still 31 May in UTC
        (date(2008, 2, 29), "2026-02-28T23:59:59", True),
        (date(2008, 2, 29), "2026-03-01T00:00:00", False),
    ],
)
def test_age_is_taken_on_the_utc_day_of_created_at(
    tmp_path: Path, birth: date, created: str, minor: bool
) -> None:
    """'the author must have been 18 or older on the content's created_at'."""
    w = World()
    cid = w.item(w.account(1, country="US", birth_date=birth), created_at=utc(created))
    built = w.build(tmp_path, as_of=utc("2026-07-01"))
    assert (built.reason(cid) == "author_minor") is minor


# -- reason order, pair by pair ---------------------------------------------------------


def test_each_reason_beats_the_next_that_also_applies(tmp_path: Path) -> None:
    """'each left-out row gets the first that applies': every row here breaks two rules."""
    w = World()
    adult_de = w.account(1, country="DE")  # excluded regime in the test policy
    w.decide(adult_de, "objection")
    minor = w.account(2, birth_date=date(2015, 1, 1))
    w.decide(minor, "erasure")
    consent_less, objector = w.account(3), w.account(4)
    w.decide(objector, "objection")
    rows = {
        w.item(999, kind="story"): "kind_not_allowed",
        w.item(999, visibility="friends"): "not_public",
        w.item(999, kind="photo", tags=[objector]): "author_unknown",
        w.item(w.account(5, country="DE", birth_date=None)): "jurisdiction_excluded",
        w.item(adult_de): "jurisdiction_excluded",
        w.item(minor): "author_minor",
        w.item(consent_less, kind="photo", tags=[objector]): "no_consent",
    }
    built = w.build(tmp_path, policy=policy(fr_regime="consent"))
    assert {cid: built.reason(cid) for cid in rows} == rows


# -- bad input through the CLI --------------------------------------------------------


def test_mismatching_sidecar_through_the_cli(tmp_path: Path) -> None:
    """'a registry snapshot whose sidecar hash does not match: a clear one-line error
    naming the file and the problem, exit code != 0, and no dataset published.'"""
    w = World()
    w.item(w.account(1))
    accounts, content, registry = w.write(tmp_path / "in")
    sidecar = registry.with_name(registry.name + ".json")
    meta: dict[str, Any] = json.loads(sidecar.read_text())
    meta["sha256"] = "0" * 64
    sidecar.write_text(json.dumps(meta))
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "build", "--content", str(content),
         "--accounts", str(accounts), "--registry", str(registry), "--out", str(out),
         "--as-of", "2026-06-01"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == SnapshotIntegrityError.exit_code != 0
    assert proc.stderr.startswith("error: ")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(registry) in proc.stderr
    assert "does not match" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


# -- both engines read the new patterns alike ----------------------------------------------


@pytest.mark.slow
def test_edge_texts_match_duckdb_on_spark(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.corpus.test_spark_rules import _on_spark

    del spark
    w = World()
    author, bob = w.account(1), w.account(2, handle="bob")
    w.decide(bob)
    w.decide(None, identifiers=[NAME, "j.doe@example.org"])
    texts = [text for text, _ in PHONES + EMAILS] + [
        f"{unicodedata.normalize('NFD', NAME)} and Jos\u00e9\u00a0N\u00fa\u00f1ez, @bob",
        "J.DOE@EXAMPLE.ORG\x0band Jos\u00e9\x1cN\u00fa\u00f1ez\u3000@BOB.",
    ]
    ids = [w.item(author, text=text, mentions=[bob]) for text in texts]
    duckdb = w.build(tmp_path / "duckdb")
    monkeypatch.setattr(world, "build_dataset", _on_spark)
    on_spark = w.build(tmp_path / "spark")
    assert [on_spark.text(cid) for cid in ids] == [duckdb.text(cid) for cid in ids]
    assert duckdb.text(ids[-2]) == "[redacted] and [redacted], @[redacted]"
