"""A recall on DuckDB: re-score a dataset's shards under a newer registry snapshot.

Only what a later objection, erasure or consent withdrawal can change is looked at: the
kept rows of each shard are re-scored (no text is read for that), and a shard is rewritten
only if a row leaves it, one of its rows names a newly protected person, or a newly listed
non-member identifier occurs in its text. Every other shard is carried over byte for byte.
Only the rows that leave or change are materialised; a rewritten shard is the parent's,
filtered, with the changed rows put back, by one COPY.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from notrain.contracts import CONTENT, DATASET, LINEAGE
from notrain.corpus.dataset import EXCLUSIONS_FILE, LINEAGE_FILE
from notrain.corpus.dialect import DUCKDB
from notrain.corpus.duckdb_engine import DuckDBEngine, _first_line, _quote
from notrain.corpus.plan import BuildPlan
from notrain.corpus.sources import InputSet
from notrain.errors import BuildError


@dataclass
class RecallOutput:
    shards: list[tuple[str, int]] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    removed: list[tuple[str, str | None, str, int]] = field(default_factory=list)
    """(reason, author country, kind, rows) of the rows the recall took out."""


def _carry(source: Path, target: Path) -> None:
    """The same bytes under the new dataset: a hard link where possible, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def recall_shards(
    engine: DuckDBEngine,
    plan: BuildPlan,
    parent: Path,
    shards: list[tuple[str, int]],
    accounts: InputSet,
    snapshot: InputSet,
    staging: Path,
    removed_file: str,
    progress: Callable[[int], None] | None = None,
) -> RecallOutput:
    """Re-score ``shards`` ((file, rows) of the parent) and write the new version's shards,
    lineage and exclusions into ``staging``, and the rows taken out into ``removed_file``.
    ``progress`` is called after each shard with the parent's rows looked at so far.

    Per shard, only what leaves or changes is materialised (a few rows); the shard itself
    is read twice, once for scoring (no text) and once by the filtered copy that writes it.
    """
    con = engine._connect()
    output = RecallOutput()
    d = DUCKDB
    try:
        engine._load_accounts(con, accounts)
        engine._load_snapshot(con, snapshot)
        for name, sql in (
            ("decisions", plan.decisions_sql(d)),
            ("authors", plan.authors_sql(d)),
            ("blocked", plan.blocked_sql(d)),
        ):
            con.execute(f"CREATE TABLE {name} AS {sql}")
        con.execute(
            "CREATE TABLE removed (content_id BIGINT, reason VARCHAR, "
            "author_country VARCHAR, kind VARCHAR)"
        )
        done = 0
        for shard, rows in shards:
            source = parent / shard
            removed, changed = _score(con, engine, plan, source)
            kept = rows - removed
            if kept and (removed or changed):
                _rewrite(con, source, staging / shard, changed)
                output.rewritten.append(shard)
            elif kept:
                _carry(source, staging / shard)
            if kept:
                output.shards.append((shard, kept))
            done += rows
            if progress:
                progress(done)
        # The lineage of the new version: the kept rows' ids and the people they name, read
        # back from the shards just written, in shard order.
        written = ", ".join(_quote(staging / name) for name, _ in output.shards)
        lineage = ", ".join(f'"{c}"' for c in LINEAGE.names)
        # With no shard left, the parent's lineage gives the columns and no row.
        relation = (
            f"read_parquet([{written}])"
            if written
            else f"(SELECT * FROM read_parquet({_quote(parent / LINEAGE_FILE)}) LIMIT 0)"
        )
        con.execute(
            f"COPY (SELECT {lineage} FROM {relation}) TO {_quote(staging / LINEAGE_FILE)} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        _write_removed(con, parent, staging, removed_file)
        output.removed = [
            (str(r[0]), r[1], str(r[2]), int(r[3]))
            for r in con.execute(
                "SELECT reason, author_country, kind, count(*) FROM removed "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        ]
    except duckdb.Error as exc:
        raise BuildError(f"DuckDB failed during the recall: {_first_line(exc)}") from None
    finally:
        con.close()
    return output


def _write_removed(
    con: duckdb.DuckDBPyConnection, parent: Path, staging: Path, removed_file: str
) -> None:
    """``removed_file``: the rows this recall took out, and why, by id; the exclusions: the
    parent's, followed by those rows."""
    con.execute(
        "COPY (SELECT content_id, reason FROM removed ORDER BY content_id) "
        f"TO {_quote(staging / removed_file)} (FORMAT parquet, COMPRESSION zstd)"
    )
    con.execute(
        "COPY (SELECT content_id, reason FROM "
        f"read_parquet({_quote(parent / EXCLUSIONS_FILE)}) "
        "UNION ALL SELECT content_id, reason FROM "
        f"read_parquet({_quote(staging / removed_file)})) "
        f"TO {_quote(staging / EXCLUSIONS_FILE)} (FORMAT parquet, COMPRESSION zstd)"
    )


def _score(
    con: duckdb.DuckDBPyConnection, engine: DuckDBEngine, plan: BuildPlan, source: Path
) -> tuple[int, int]:
    """How many rows of one parent shard leave it, and how many kept rows change; those are
    left in the temp tables ``gone`` and ``changed``, and the leaving ones added to
    ``removed``."""
    d = DUCKDB
    # A view over the file: scoring reads only the columns it needs (no text), and the
    # text is decoded once, by the pass that writes the new shard.
    con.execute(f"CREATE OR REPLACE VIEW shard AS SELECT * FROM read_parquet({_quote(source)})")
    engine._register_relation(con, str(source), "shard", CONTENT, "content", textual_ok=False)
    con.execute(f"CREATE OR REPLACE TEMP TABLE third_party AS {plan.third_party_sql(d)}")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gone AS SELECT * FROM "
        f"({plan.reasons_sql(d)}) WHERE reason IS NOT NULL"
    )
    con.execute("INSERT INTO removed SELECT content_id, reason, author_country, kind FROM gone")
    removed = int(con.execute("SELECT count(*) FROM gone").fetchall()[0][0])
    # Kept rows whose text or lists change: they name a newly protected person, or hold a
    # newly listed identifier. Only they are redacted again; the rest are copied.
    newly_named = " OR ".join(
        f"regexp_matches(text, {d.regex(p)})" for p in plan.identifier_patterns
    )
    touched = "content_id IN (SELECT content_id FROM third_party)"
    if newly_named:
        touched = f"({touched} OR (text IS NOT NULL AND ({newly_named})))"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hits AS SELECT * FROM shard "
        f"WHERE {touched} AND content_id NOT IN (SELECT content_id FROM gone)"
    )
    changed_rows = plan.kept_sql(d, source_hash_given=True, content="hits")
    con.execute(f"CREATE OR REPLACE TEMP TABLE changed AS {changed_rows}")
    changed = int(con.execute("SELECT count(*) FROM changed").fetchall()[0][0])
    return removed, changed


def _rewrite(con: duckdb.DuckDBPyConnection, source: Path, target: Path, changed: int) -> None:
    """The parent shard without the rows in ``gone``, with the rows in ``changed`` replaced,
    in ``content_id`` order (a shard is written sorted)."""
    columns = ", ".join(f'"{c}"' for c in DATASET.names)
    query = (
        f"SELECT {columns} FROM read_parquet({_quote(source)}) "
        "WHERE content_id NOT IN (SELECT content_id FROM gone)"
    )
    if changed:
        query = (
            f"{query} AND content_id NOT IN (SELECT content_id FROM changed) "
            f"UNION ALL SELECT {columns} FROM changed"
        )
    con.execute(
        f"COPY ({query} ORDER BY content_id) TO {_quote(target)} (FORMAT parquet, COMPRESSION zstd)"
    )
