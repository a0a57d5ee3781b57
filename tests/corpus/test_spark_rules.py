"""The rule tests of ``test_rules.py``, run again through the Spark engine.

A Spark build of a tiny world costs seconds rather than milliseconds, so the rules run
here are a subset chosen to touch every step of the plan; the parametrised edge cases are
gathered into one world each. Text the regex libraries could read differently (Unicode
case, whitespace, line ends) is built by both engines and compared.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from notrain.corpus.build import BuildRequest, BuildResult, build_dataset
from tests.corpus import test_rules, world
from tests.corpus.world import World, utc

pytestmark = pytest.mark.slow


def _on_spark(request: BuildRequest, progress: Any = None) -> BuildResult:
    return build_dataset(dataclasses.replace(request, engine="spark"), progress)


def _on_spark_without_broadcast(request: BuildRequest, progress: Any = None) -> BuildResult:
    return build_dataset(
        dataclasses.replace(request, engine="spark", spark_broadcast_rows=0), progress
    )


@pytest.fixture
def on_spark(spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``World.build`` in the test runs on the Spark engine."""
    del spark
    monkeypatch.setattr(world, "build_dataset", _on_spark)


RULES: list[Callable[[Path], None]] = [
    test_rules.test_default_kinds_and_visibility,
    test_rules.test_author_unknown,
    test_rules.test_excluded_regime_and_content_since,
    test_rules.test_non_retroactive_policy_keeps_content_made_before_the_objection,
    test_rules.test_erasure_comes_before_objection,
    test_rules.test_consent_regime,
    test_rules.test_tagged_objector_excludes_media_only,
    test_rules.test_mentions_of_objectors_are_redacted,
    test_rules.test_adjacent_mentions_are_all_redacted,
    test_rules.test_mention_policy_exclude,
    test_rules.test_non_member_identifiers_are_redacted_as_whole_words,
    test_rules.test_reason_order_first_applicable_wins,
    test_rules.test_signal_reserved_is_the_last_reason,
    test_rules.test_signal_file_with_an_unknown_decision_is_refused,
]


@pytest.mark.usefixtures("on_spark")
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__.removeprefix("test_"))
def test_rule_on_spark(rule: Callable[[Path], None], tmp_path: Path) -> None:
    rule(tmp_path)


def test_rules_hold_when_nothing_is_broadcast(
    spark: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The shuffle-join path, taken when the registry is larger than the threshold."""
    del spark
    monkeypatch.setattr(world, "build_dataset", _on_spark_without_broadcast)
    test_rules.test_reason_order_first_applicable_wins(tmp_path / "order")
    test_rules.test_mentions_of_objectors_are_redacted(tmp_path / "mentions")


def _cases(test: Callable[..., None]) -> list[tuple[Any, ...]]:
    """The parameter sets of a parametrised test in test_rules.py."""
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "parametrize"]
    return [tuple(case) for case in marks[0].args[1]]


@pytest.mark.usefixtures("on_spark")
def test_emails_and_phones_on_spark(tmp_path: Path) -> None:
    w = World()
    author = w.account(1)
    cases = {w.item(author, text=text): expected for text, expected in _cases(
        test_rules.test_emails_and_phones
    )}  # fmt: skip
    assert len(cases) > 5
    built = w.build(tmp_path)
    assert {cid: built.text(cid) for cid in cases} == cases


@pytest.mark.usefixtures("on_spark")
def test_author_age_on_content_date_on_spark(tmp_path: Path) -> None:
    w = World()
    minors = {}
    for number, (birth, created, minor) in enumerate(
        _cases(test_rules.test_author_age_on_content_date), start=1
    ):
        author = w.account(number, country="US", birth_date=birth)
        minors[w.item(author, created_at=created)] = minor
    built = w.build(tmp_path)
    assert {cid: built.reason(cid) == "author_minor" for cid in minors} == minors


TRICKY = [
    "Émile Zola met ÉMILE ZOLA and émile  zola",
    "ÉCOLE école École",
    "STRAẞE straße",
    "ødegaard\x0bødegaard and ØDEGAARD",
    "émile\tzola, émile\nzola, émile\x0bzola",
    "@bob\n@BOB.\n@bob",
    "line one\nemile zola\n",
    "σοφία and ΣΟΦΊΑ and Σοφία",
    "call 0612345678\nor +33 6 12 34 56 78\n",
    "kim KIM \u212aim",  # the Kelvin sign folds to k in RE2 and in Java alike
    "k\u0131m K\u0130M \u0131lg\u0131n ILGIN Ilg\u0131n",  # Java alone folds dotless i
    "x\u0131@bob \u212a@bob \u017f@bob \u0130@bob \u00e9@bob @bob\u0131 @bob\u212a",
]


def test_unicode_case_and_whitespace_match_duckdb(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del spark
    w = World()
    author, bob = w.account(1), w.account(2, handle="bob")
    ids = [w.item(author, text=text, mentions=[bob]) for text in TRICKY]
    w.decide(bob)
    w.decide(
        None,
        identifiers=[
            "Émile Zola",
            "école",
            "straße",
            "Ødegaard",
            "Σοφία",
            "Kim",
            "\u0131lg\u0131n",
        ],
    )
    duckdb = w.build(tmp_path / "duckdb")
    monkeypatch.setattr(world, "build_dataset", _on_spark)
    spark_built = w.build(tmp_path / "spark")
    assert [spark_built.text(cid) for cid in ids] == [duckdb.text(cid) for cid in ids]
    assert duckdb.text(ids[1]) == "[redacted] [redacted] [redacted]"
    assert duckdb.text(ids[0]) == "[redacted] met [redacted] and [redacted]"


@pytest.mark.usefixtures("on_spark")
def test_non_retroactive_objection_at_the_boundary_on_spark(tmp_path: Path) -> None:
    policy = test_rules.policy(retroactive="false")
    w = World()
    a = w.account(1)
    at = w.item(a, created_at="2025-06-01T00:00:00")
    before = w.item(a, created_at="2025-05-31T23:59:59.999999")
    w.decide(a, "objection", effective_at="2025-06-01T00:00:00")
    built = w.build(tmp_path, policy=policy, as_of=utc("2026-01-01"))
    assert built.reason(at) == "author_objected"
    assert before in built.kept
    assert built.kept[before]["created_at"] == utc("2025-05-31T23:59:59.999999")
    assert date(1990, 6, 15) == world.ADULT


def test_case_folding_matches_re2_over_the_bmp(spark: Any) -> None:
    """Every letter of the Basic Multilingual Plane, matched by each kind of folded pattern
    the plan writes, in DuckDB (RE2) and in Spark (java.util.regex via ``for_engine``)."""
    import duckdb

    from notrain.corpus import redaction

    letters = [chr(c) for c in range(0x20, 0x10000) if chr(c).isalpha()]
    letters += ["stra\u00dfe", "STRA\u1e9eE", "STRASSE"]
    singles = [
        *"abcdefghijklmnopqrstuvwxyzIKS",
        *"\u0131\u00e9\u03c3\u00df\u00b5\u01c6\u03b8\u03c9\u0444",
    ]
    # Not \\p{L}: which code points are letters depends on each library's Unicode version
    # (Java 17 knows Unicode 13), a difference the README names.
    patterns = [f"(?i)^(?:{c})$" for c in singles] + [
        "(?i)^(?:stra\u00dfe)$", "(?i)^[^A-Za-z0-9_.@]$", "(?i)^[^A-Za-z0-9_.]$",
    ]  # fmt: skip
    con = duckdb.connect()
    con.execute("CREATE TABLE letters AS SELECT unnest(?) AS c", [letters])
    frame = spark.createDataFrame([(c,) for c in letters], "c STRING").cache()
    for pattern in patterns:
        re2 = {row[0] for row in con.execute(
            "SELECT c FROM letters WHERE regexp_matches(c, ?)", [pattern]
        ).fetchall()}  # fmt: skip
        java = {row[0] for row in frame.where(
            frame.c.rlike(redaction.for_engine(pattern, java=True))
        ).collect()}  # fmt: skip
        assert java == re2, (pattern, sorted(java ^ re2)[:10])
