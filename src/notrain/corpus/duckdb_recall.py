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
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from notrain.contracts import CONTENT, DATASET, LINEAGE
from notrain.corpus.dataset import LINEAGE_FILE
from notrain.corpus.dialect import DUCKDB
from notrain.corpus.duckdb_engine import DuckDBEngine, _first_line, _quote
from notrain.corpus.plan import BuildPlan
from notrain.corpus.sources import InputSet
from notrain.errors import BuildError


@dataclass
class RecallOutput:
    shards: list[tuple[str, int]] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    removed: list[tuple[int, str, str | None, str]] = field(default_factory=list)
    """(content_id, reason, author country, kind) of every row the recall took out."""


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
) -> RecallOutput:
    """Re-score ``shards`` ((file, rows) of the parent) and write the new version's shards
    and lineage into ``staging``.

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
        for shard, rows in shards:
            source = parent / shard
            removed, changed = _score(con, engine, plan, source)
            output.removed.extend(removed)
            kept = rows - len(removed)
            if not kept:
                continue
            target = staging / shard
            if removed or changed:
                _rewrite(con, source, target, changed)
                output.rewritten.append(shard)
            else:
                _carry(source, target)
            output.shards.append((shard, kept))
        # The lineage of the new version: the kept rows' ids and the people they name, read
        # back from the shards just written, in shard order.
        written = ", ".join(_quote(staging / name) for name, _ in output.shards)
        lineage = ", ".join(f'"{c}"' for c in LINEAGE.names)
        relation = f"read_parquet([{written}])" if written else _empty(LINEAGE)
        con.execute(
            f"COPY (SELECT {lineage} FROM {relation}) TO {_quote(staging / LINEAGE_FILE)} "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    except duckdb.Error as exc:
        raise BuildError(f"DuckDB failed during the recall: {_first_line(exc)}") from None
    finally:
        con.close()
    return output


def _empty(schema: pa.Schema) -> str:
    """A relation with ``schema``'s columns and no row."""
    columns = ", ".join(
        f'CAST(NULL AS {"BIGINT[]" if pa.types.is_list(f.type) else "BIGINT"}) AS "{f.name}"'
        for f in schema
    )
    return f"(SELECT {columns} WHERE FALSE)"


def _score(
    con: duckdb.DuckDBPyConnection, engine: DuckDBEngine, plan: BuildPlan, source: Path
) -> tuple[list[tuple[int, str, str | None, str]], int]:
    """The rows of one parent shard that leave it (content_id, reason, country, kind), and
    how many kept rows change; those are left in the temp tables ``gone`` and ``changed``."""
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
    removed = [
        (int(r[0]), str(r[1]), r[2], str(r[3]))
        for r in con.execute(
            "SELECT content_id, reason, author_country, kind FROM gone ORDER BY content_id"
        ).fetchall()
    ]
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
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hit_authors AS SELECT * FROM authors "
        "WHERE user_id IN (SELECT author_id FROM hits)"
    )
    changed_rows = plan.kept_sql(d, source_hash_given=True, content="hits", authors="hit_authors")
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
