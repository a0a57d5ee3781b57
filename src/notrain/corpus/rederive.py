"""Texts a recall takes from the parent's source again, for what the parent's text hides.

A build replaces a listed identifier before e-mails, phones and IPs, and all identifiers
in one pass. A recall works on the parent's text, where what an earlier pass replaced is
gone: an address listed after the parent ("zoe@example.org") is "[email]" there, not the
"[redacted]" a fresh build writes, and a name listed after a shorter one ("maria
gonzalez" after "maria") is "[redacted] gonzalez". So when identifiers are newly listed,
the kept rows whose text holds a placeholder and whose source text names one of them are
redacted again from the source, as a fresh build would: by the full plan (every
identifier, every protected handle, the policy's e-mail, phone and IP passes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from notrain.contracts import CONTENT, DATASET
from notrain.corpus import redaction
from notrain.corpus.dialect import DUCKDB
from notrain.corpus.duckdb_engine import DuckDBEngine, _quote
from notrain.corpus.plan import BuildPlan, source_sha256
from notrain.corpus.sources import InputSet
from notrain.errors import InputError
from notrain.policy.model import RedactionRules


def placeholders(rules: RedactionRules) -> tuple[str, ...]:
    """What a build writes in place of what it redacts, under ``rules`` ("[redacted]" also
    covers the "@[redacted]" of a handle)."""
    switched = (
        (rules.emails, redaction.EMAIL_PLACEHOLDER),
        (rules.phones, redaction.PHONE_PLACEHOLDER),
        (rules.ips, redaction.IP_PLACEHOLDER),
    )
    return (redaction.REDACTED, *(placeholder for on, placeholder in switched if on))


@dataclass(frozen=True)
class Source:
    """How a fresh build would redact: its ``plan`` (every identifier at the new as-of, the
    policy's own passes), the ``placeholders`` a parent's text may hide something behind,
    and the parent's content input, found only when a text needs it."""

    plan: BuildPlan
    placeholders: tuple[str, ...]
    content: Callable[[], InputSet]


def rederive(
    con: duckdb.DuckDBPyConnection,
    engine: DuckDBEngine,
    newly: BuildPlan,
    shards: Sequence[Path],
    source: Source | None,
) -> int:
    """The table ``rederived`` (content_id, text): the rows of ``shards`` whose text holds a
    placeholder and whose source text names an identifier of ``newly`` (the recall's plan),
    with the text a fresh build gives them. Needs the tables ``blocked_all`` (everyone
    protected at the new as-of) and ``blocked``; returns the rows found."""
    con.execute("CREATE TABLE rederived (content_id BIGINT, text VARCHAR)")
    if source is None or not newly.identifier_patterns or not shards:
        return 0
    d = DUCKDB
    files = ", ".join(_quote(shard) for shard in shards)
    held = " OR ".join(f"instr(text, {d.string(p)}) > 0" for p in source.placeholders)
    columns = ", ".join(f'"{name}"' for name in DATASET.names if name != "text")
    con.execute(
        f"CREATE TEMP TABLE placeheld AS SELECT {columns} FROM read_parquet([{files}]) WHERE {held}"
    )
    if not con.execute("SELECT 1 FROM placeheld LIMIT 1").fetchall():
        return 0
    content = source.content()
    engine._register(con, content, CONTENT, "source_content")
    named = " OR ".join(d.matches("text", d.regex(p)) for p in newly.identifier_patterns)
    # The parent's row with the source's text: the lists a build cleaned name only people
    # protected then, whose handles matter only where the text writes them, and there the
    # text finds them. Each source row is checked against the parent's source_sha256 of it,
    # so any copy of the parent's content will do. Three statements: in one, DuckDB tests
    # the pattern on every source text before the join.
    con.execute(
        "CREATE TEMP TABLE hidden AS SELECT p.* EXCLUDE (source_sha256), s.text, "
        f"s.content_id IS NOT NULL AND {source_sha256(d, 's')} = p.source_sha256 AS same "
        "FROM placeheld p LEFT JOIN (SELECT content_id, text, media_uri FROM source_content) s "
        "ON p.content_id = s.content_id"
    )
    unlike = con.execute(
        "SELECT content_id FROM hidden WHERE NOT same UNION ALL "
        "SELECT content_id FROM hidden GROUP BY content_id HAVING count(*) > 1 LIMIT 1"
    ).fetchall()
    if unlike:
        raise InputError(
            content.label,
            f"row {unlike[0][0]} is not the one the parent was built from (its "
            "source_sha256 differs, or it is missing or repeated); pass the parent's "
            "content with --content",
        )
    con.execute(f"DELETE FROM hidden WHERE NOT coalesce({named}, FALSE)")
    found = int(con.execute("SELECT count(*) FROM hidden").fetchall()[0][0])
    if not found:
        return 0
    # The plan's SQL reads ``content`` and ``blocked``: the hidden rows, and everyone
    # protected (a recall's ``blocked`` holds only the newly protected).
    con.execute("CREATE OR REPLACE VIEW content AS SELECT * EXCLUDE (same) FROM hidden")
    con.execute("ALTER TABLE blocked RENAME TO blocked_new")
    con.execute("ALTER TABLE blocked_all RENAME TO blocked")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE third_party AS {source.plan.third_party_sql(d)}")
    finally:
        con.execute("ALTER TABLE blocked RENAME TO blocked_all")
        con.execute("ALTER TABLE blocked_new RENAME TO blocked")
    rows = (
        "SELECT c.*, t.blocked_ids, t.mention_handles FROM content c "
        "LEFT JOIN third_party t ON c.content_id = t.content_id"
    )
    con.execute(
        f"INSERT INTO rederived SELECT content_id, text FROM ({source.plan.kept_sql(d, rows=rows)})"
    )
    return found
