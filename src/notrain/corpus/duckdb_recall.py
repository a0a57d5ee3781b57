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

from notrain.contracts import CONTENT, DATASET, LINEAGE
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
        columns = ", ".join(f'"{c}"' for c in DATASET.names)
        for shard in shards:
            source = parent / shard
            label = str(source)
            # A view over the file: scoring reads only the columns it needs (no text), and
            # the text is decoded once, by the pass that writes the new shard.
            con.execute(
                f"CREATE OR REPLACE VIEW shard AS SELECT * FROM read_parquet({_quote(source)})"
            )
            engine._register_relation(con, label, "shard", CONTENT, "content", textual_ok=False)
            con.execute(
                "CREATE OR REPLACE VIEW content_hashed AS SELECT c.*, h.source_sha256 "
                "FROM content c JOIN (SELECT content_id AS hashed_id, source_sha256 "
                "FROM shard) h ON c.content_id = h.hashed_id"
            )
            con.execute(f"CREATE OR REPLACE TEMP TABLE third_party AS {plan.third_party_sql(d)}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE reasons AS {plan.reasons_sql(d)}")
            removed = con.execute(
                "SELECT content_id, reason, author_country, kind FROM reasons "
                "WHERE reason IS NOT NULL ORDER BY content_id"
            ).fetchall()
            output.removed.extend((int(r[0]), str(r[1]), r[2], str(r[3])) for r in removed)
            total = int(con.execute("SELECT count(*) FROM reasons").fetchall()[0][0])
            # Rows whose text or lists change: they name a newly protected person, or hold a
            # newly listed identifier. Only they are redacted again; the rest are copied.
            newly_named = " OR ".join(
                f"{d.replace_all('text', d.string(p), redaction.IDENTIFIER_REPLACEMENT)} <> text"
                for p in plan.identifier_patterns
            )
            touched = "SELECT content_id FROM third_party"
            if newly_named:
                touched += (
                    f" UNION SELECT content_id FROM content "
                    f"WHERE text IS NOT NULL AND ({newly_named})"
                )
            con.execute(f"CREATE OR REPLACE TEMP TABLE touched AS {touched}")
            hits = int(con.execute("SELECT count(*) FROM touched").fetchall()[0][0])
            kept = total - len(removed)
            if not kept:
                continue
            target = staging / shard
            query = ""
            if removed or hits:
                con.execute(
                    "CREATE OR REPLACE VIEW content_hits AS SELECT * FROM content_hashed "
                    "WHERE content_id IN (SELECT content_id FROM touched)"
                )
                changed_rows = plan.kept_sql(d, source_hash_given=True).replace(
                    "FROM content c", "FROM content_hits c", 1
                )
                query = (
                    f"SELECT {columns} FROM shard WHERE content_id NOT IN "
                    "(SELECT content_id FROM reasons WHERE reason IS NOT NULL) "
                    "AND content_id NOT IN (SELECT content_id FROM touched) "
                    f"UNION ALL SELECT * FROM ({changed_rows})"
                )
            if query:
                con.execute(
                    f"COPY ({query} ORDER BY content_id) TO {_quote(target)} "
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
