"""A recall on DuckDB: re-score a dataset's shards under a newer registry snapshot.

Only what a later objection, erasure or consent withdrawal can change is looked at: the
kept rows of each shard are re-scored (no text is read for that), and a shard is rewritten
only if a row leaves it, one of its rows names a newly protected person, or a newly listed
non-member identifier occurs in its text. Every other shard is carried over byte for byte.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from notrain.contracts import CONTENT, LINEAGE
from notrain.corpus import redaction
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
    shards: list[str],
    accounts: InputSet,
    snapshot: InputSet,
    staging: Path,
) -> RecallOutput:
    con = engine._connect()
    output = RecallOutput()
    d = DUCKDB
    lineage = pq.ParquetWriter(staging / LINEAGE_FILE, LINEAGE, compression="zstd")
    try:
        engine._load_accounts(con, accounts)
        engine._load_snapshot(con, snapshot)
        for name, sql in (
            ("decisions", plan.decisions_sql(d)),
            ("authors", plan.authors_sql(d)),
            ("blocked", plan.blocked_sql(d)),
        ):
            con.execute(f"CREATE TABLE {name} AS {sql}")
        for shard in shards:
            source = parent / shard
            label = str(source)
            relation = f"read_parquet({_quote(source)})"
            engine._register_relation(con, label, relation, CONTENT, "content", textual_ok=False)
            con.execute(
                "CREATE OR REPLACE VIEW content_hashed AS SELECT c.*, h.source_sha256 "
                "FROM content c JOIN (SELECT content_id AS hashed_id, source_sha256 "
                "FROM raw_content) h ON c.content_id = h.hashed_id"
            )
            con.execute(f"CREATE OR REPLACE TEMP TABLE third_party AS {plan.third_party_sql(d)}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE reasons AS {plan.reasons_sql(d)}")
            removed = con.execute(
                "SELECT content_id, reason, author_country, kind FROM reasons "
                "WHERE reason IS NOT NULL ORDER BY content_id"
            ).fetchall()
            output.removed.extend((int(r[0]), str(r[1]), r[2], str(r[3])) for r in removed)
            total = int(con.execute("SELECT count(*) FROM reasons").fetchall()[0][0])
            dirty = bool(removed) or bool(
                con.execute("SELECT count(*) FROM third_party").fetchall()[0][0]
            )
            for pattern in plan.identifier_patterns:
                if dirty:
                    break
                changed = d.replace_all("text", d.string(pattern), redaction.IDENTIFIER_REPLACEMENT)
                dirty = bool(
                    con.execute(
                        f"SELECT count(*) FROM content WHERE text IS NOT NULL AND {changed} <> text"
                    ).fetchall()[0][0]
                )
            kept = total - len(removed)
            if not kept:
                continue
            target = staging / shard
            if dirty:
                kept_sql = plan.kept_sql(d, source_hash_given=True).replace(
                    "FROM content c", "FROM content_hashed c", 1
                )
                con.execute(
                    f"COPY ({kept_sql} ORDER BY content_id) TO {_quote(target)} "
                    "(FORMAT parquet, COMPRESSION zstd)"
                )
                output.rewritten.append(shard)
            else:
                _carry(source, target)
            output.shards.append((shard, kept))
            table = pq.read_table(target, columns=LINEAGE.names)
            lineage.write_table(table.cast(LINEAGE))
        lineage.close()
    except duckdb.Error as exc:
        raise BuildError(f"DuckDB failed during the recall: {_first_line(exc)}") from None
    finally:
        with contextlib.suppress(OSError, pa.ArrowException):
            lineage.close()
        con.close()
    return output
