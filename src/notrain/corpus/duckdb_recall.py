"""A recall on DuckDB: re-score a dataset's shards under a newer registry snapshot.

Only what a later objection, erasure or consent withdrawal can change is looked at. With
the parent's snapshot at hand (and the parent's accounts), the people whose decisions
differ between the parent's snapshot at its as-of and the newer one at the new as-of are
known, and so are the newly protected: only rows by the former, or tagging or mentioning
the latter, are scored again (no kept row's reason can change otherwise: accounts and
policy are the parent's, and time only makes a jurisdiction active, never inactive).
Without it, every kept row is scored again. A shard is rewritten only if a row leaves it,
one of its rows names a newly protected person, or a newly listed non-member identifier
occurs in its text; every other shard is carried over byte for byte.

A rewritten shard is the parent's, filtered, its few changed rows redacted again, by one
COPY that neither joins nor sorts, so the rows keep the parent's order at the cost of a
plain copy: the rows that leave are a bit string over the shard's row positions, and the
changed rows' blocked ids, handles and texts are looked up by position (a Python function
over a dict, called by DuckDB for those rows only). The new lineage is read back from the
shards written (reading the parent's lineage, filtered the same way, cost as much).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from duckdb.func import SPECIAL
from duckdb.sqltypes import BIGINT, VARCHAR

from notrain.contracts import CONTENT, LINEAGE
from notrain.corpus.dataset import EXCLUSIONS_FILE, LINEAGE_FILE
from notrain.corpus.dialect import DUCKDB
from notrain.corpus.duckdb_engine import DuckDBEngine, _first_line, _quote
from notrain.corpus.plan import BuildPlan
from notrain.corpus.rederive import Source, rederive
from notrain.corpus.sources import InputSet
from notrain.errors import BuildError


@dataclass
class RecallOutput:
    shards: list[tuple[str, int]] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    removed: list[tuple[str, str | None, str, int]] = field(default_factory=list)
    """(reason, author country, kind, rows) of the rows the recall took out."""
    rederived: int = 0
    """Rows whose text was redacted again from the parent's source."""


def _carry(source: Path, target: Path) -> None:
    """The same bytes under the new dataset: a hard link where possible, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


@dataclass(frozen=True)
class Previous:
    """What the parent was built from: its snapshot and its plan (the same policy at the
    parent's as-of), to find who changed since."""

    snapshot: InputSet
    plan: BuildPlan


def _load_decisions(
    con: duckdb.DuckDBPyConnection,
    engine: DuckDBEngine,
    plan: BuildPlan,
    snapshot: InputSet,
    previous: Previous | None,
) -> None:
    """The tables ``decisions``, ``authors``, ``blocked`` and ``blocked_all`` under the newer
    snapshot. With ``previous``, also ``changed`` (the subjects whose decisions differ from
    the parent's), and ``blocked`` holds only the newly protected, as the parent already
    left out or redacted everyone else (``blocked_all`` keeps them all)."""
    d = DUCKDB
    if previous is not None:
        # The plan's SQL names its tables: the parent's are made first, then renamed.
        engine._load_snapshot(con, previous.snapshot)
        con.execute(f"CREATE TABLE decisions AS {previous.plan.decisions_sql(d)}")
        con.execute(f"CREATE TABLE blocked_before AS {previous.plan.blocked_sql(d)}")
        con.execute("ALTER TABLE decisions RENAME TO decisions_before")
        con.execute("DROP TABLE snapshot")
    engine._load_snapshot(con, snapshot)
    engine._people(con, plan)
    con.execute("CREATE TABLE blocked_all AS SELECT * FROM blocked")
    if previous is None:
        return
    # A subject without a row has no decision: (not erased, no objection, no consent).
    state = "coalesce({0}.erased, FALSE), {0}.objected_at, coalesce({0}.consented, FALSE)"
    con.execute(
        "CREATE TABLE changed AS SELECT coalesce(n.subject_id, o.subject_id) AS subject_id "
        "FROM decisions n FULL JOIN decisions_before o ON n.subject_id = o.subject_id "
        f"WHERE ({state.format('n')}) IS DISTINCT FROM ({state.format('o')})"
    )
    con.execute("DELETE FROM blocked WHERE id IN (SELECT id FROM blocked_before)")


FEW_HANDLES = 200
"""Up to this many newly protected handles, texts are first tested for any of them by one
pattern; beyond, RE2's automaton for the alternatives outgrows its memory and the test costs
more than the search it spares (measured in BENCHMARKS.md)."""


def _few_handles(con: duckdb.DuckDBPyConnection) -> str | None:
    """A pattern every text naming a newly protected person by @handle meets, when they are
    few (see :meth:`BuildPlan.third_party_sql`)."""
    d = DUCKDB
    found = con.execute(
        f"SELECT count(*), string_agg({d.handle_literal('handle')}, '|' ORDER BY handle) "
        "FROM blocked WHERE handle IS NOT NULL"
    ).fetchall()[0]
    if found[0] > FEW_HANDLES:
        return None
    # No handle at all: a pattern no text meets (an empty class).
    return d.string(f"(?i)@(?:{found[1]})" if found[0] else r"[^\s\S]")


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
    previous: Previous | None = None,
    accounts_checked: bool = False,
    source: Source | None = None,
) -> RecallOutput:
    """Re-score ``shards`` ((file, rows) of the parent) and write the new version's shards,
    lineage and exclusions into ``staging``, and the rows taken out into ``removed_file``.
    ``progress`` is called after each shard with the parent's rows looked at so far.
    ``previous`` (the parent's snapshot and plan, when they are at hand and the accounts are
    the parent's) limits the re-scoring to the rows a change can reach. ``accounts_checked``:
    the accounts are the parent's own file (its recorded sha256), checked by its build.
    ``source``: how a fresh build redacts, for the texts whose placeholders may hide a newly
    listed identifier (see :mod:`notrain.corpus.rederive`).
    """
    con = engine._connect()
    output = RecallOutput()
    looked_up = _Lookup(con)
    try:
        engine._load_accounts(con, accounts, checked=accounts_checked)
        _load_decisions(con, engine, plan, snapshot, previous)
        output.rederived = rederive(
            con, engine, plan, [parent / shard for shard, _ in shards], source
        )
        handles = _few_handles(con) if previous is not None else None
        con.execute(
            "CREATE TABLE removed (content_id BIGINT, reason VARCHAR, "
            "author_country VARCHAR, kind VARCHAR)"
        )
        done = 0
        for shard, rows in shards:
            held = parent / shard
            removed, touched = _score(con, engine, plan, held, previous is not None, handles)
            kept = rows - removed
            if kept and touched:
                _positions(con, held, rows)
                looked_up.load()
                _rewrite(con, plan, held, staging / shard)
                output.rewritten.append(shard)
            elif kept:
                _carry(held, staging / shard)
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


class _Lookup:
    """``recall_blocked_ids(pos)``, ``recall_mention_handles(pos)`` and ``recall_text(pos)``
    in SQL: a kept changed row's blocked ids, handles and text taken from the source, by its
    position, from a dict. DuckDB calls them only for the rows a ``CASE`` selects (the few
    changed ones), so the statement keeps the order of its one scan, which a join with the
    changed rows would not."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.rows: dict[int, tuple[list[int] | None, list[str] | None, str | None]] = {}
        for name, function, kind in (
            ("recall_blocked_ids", self.blocked_ids, duckdb.list_type(BIGINT)),
            ("recall_mention_handles", self.mention_handles, duckdb.list_type(VARCHAR)),
            ("recall_text", self.text, VARCHAR),
        ):
            con.create_function(
                name, function, [BIGINT], kind, null_handling=SPECIAL, side_effects=False
            )

    def blocked_ids(self, pos: int) -> list[int] | None:
        return self.rows[pos][0]

    def mention_handles(self, pos: int) -> list[str] | None:
        return self.rows[pos][1]

    def text(self, pos: int) -> str | None:
        return self.rows[pos][2]

    def load(self) -> None:
        """The changed rows of the shard's ``positions``."""
        self.rows = {
            int(pos): (ids, handles, text)
            for pos, ids, handles, text in self.con.execute(
                "SELECT pos, blocked_ids, mention_handles, text FROM positions "
                "WHERE blocked_ids IS NOT NULL OR text IS NOT NULL"
            ).fetchall()
        }


def _bits(con: duckdb.DuckDBPyConnection, name: str, relation: str, where: str, rows: int) -> None:
    """The SQL variable ``name``: a bit string of ``rows`` bits, set at the positions of
    ``relation`` that meet ``where``."""
    con.execute(
        f"SET VARIABLE {name} = (SELECT coalesce(bitstring_agg(pos, 0, {rows - 1}) "
        f"FILTER (WHERE {where}), bitstring('0', {rows})) FROM {relation})"
    )


def _positions(con: duckdb.DuckDBPyConnection, source: Path, rows: int) -> None:
    """The rows of one shard that leave (``gone``) or change (in ``third_party`` or
    ``rederived``), by their position in the file: the temp table ``positions`` and the bit
    strings ``recall_gone`` and ``recall_changed``."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE positions AS "
        "SELECT p.file_row_number AS pos, g.content_id IS NOT NULL AS gone, "
        "CASE WHEN g.content_id IS NULL THEN t.blocked_ids END AS blocked_ids, "
        "CASE WHEN g.content_id IS NULL THEN t.mention_handles END AS mention_handles, "
        "CASE WHEN g.content_id IS NULL THEN r.text END AS text "
        f"FROM read_parquet({_quote(source)}, file_row_number = true) p "
        "LEFT JOIN gone g ON p.content_id = g.content_id "
        "LEFT JOIN third_party t ON p.content_id = t.content_id "
        "LEFT JOIN rederived r ON p.content_id = r.content_id "
        "WHERE p.content_id IN (SELECT content_id FROM gone) "
        "OR p.content_id IN (SELECT content_id FROM third_party) "
        "OR p.content_id IN (SELECT content_id FROM rederived)"
    )
    _bits(con, "recall_gone", "positions", "gone", rows)
    _bits(con, "recall_changed", "positions", "blocked_ids IS NOT NULL OR text IS NOT NULL", rows)


def _kept_rows(source: Path) -> str:
    """The rows of ``source`` not in ``recall_gone``, in the file's order, and, where
    ``recall_changed`` is set, their blocked ids, handles and the text taken from the source
    again, if it was."""
    changed = "get_bit(getvariable('recall_changed'), CAST(c.file_row_number AS INTEGER)) = 1"
    return (
        "SELECT c.* EXCLUDE (file_row_number, text), "
        f"CASE WHEN {changed} THEN coalesce(recall_text(c.file_row_number), c.text) "
        "ELSE c.text END AS text, "
        f"CASE WHEN {changed} THEN recall_blocked_ids(c.file_row_number) END AS blocked_ids, "
        f"CASE WHEN {changed} THEN recall_mention_handles(c.file_row_number) END "
        "AS mention_handles "
        f"FROM read_parquet({_quote(source)}, file_row_number = true) c "
        "WHERE get_bit(getvariable('recall_gone'), CAST(c.file_row_number AS INTEGER)) = 0"
    )


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
    con: duckdb.DuckDBPyConnection,
    engine: DuckDBEngine,
    plan: BuildPlan,
    source: Path,
    limited: bool,
    handles: str | None = None,
) -> tuple[int, bool]:
    """How many rows of one parent shard leave it, and whether any kept row changes; the
    leaving rows are left in the temp table ``gone`` and added to ``removed``, the rows
    naming a newly protected person in ``third_party``."""
    d = DUCKDB
    # A view over the file: scoring reads only the columns it needs; the text only for the
    # @handles (and for newly listed identifiers), and it is written by one pass.
    con.execute(f"CREATE OR REPLACE VIEW shard AS SELECT * FROM read_parquet({_quote(source)})")
    engine._register_relation(con, str(source), "shard", CONTENT, "content", textual_ok=False)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE third_party AS {plan.third_party_sql(d, handles=handles)}"
    )
    scored = "content"
    if limited:
        # Only rows by someone whose decisions changed, or naming a newly protected
        # person, can have a reason now that they did not have in the parent.
        con.execute(
            "CREATE OR REPLACE VIEW reached AS SELECT * FROM content "
            "WHERE author_id IN (SELECT subject_id FROM changed) "
            "OR content_id IN (SELECT content_id FROM third_party)"
        )
        scored = "reached"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gone AS SELECT * FROM "
        f"({plan.reasons_sql(d, content=scored)}) WHERE reason IS NOT NULL"
    )
    con.execute("INSERT INTO removed SELECT content_id, reason, author_country, kind FROM gone")
    removed = int(con.execute("SELECT count(*) FROM gone").fetchall()[0][0])
    if removed:
        return removed, True
    # Kept rows that change: they name a newly protected person, or hold a newly listed
    # identifier.
    if con.execute("SELECT 1 FROM third_party LIMIT 1").fetchall():
        return removed, True
    if con.execute(
        "SELECT 1 FROM rederived WHERE content_id IN (SELECT content_id FROM content) LIMIT 1"
    ).fetchall():
        return removed, True
    newly_named = " OR ".join(d.matches("text", d.regex(p)) for p in plan.identifier_patterns)
    if newly_named:
        hit = con.execute(f"SELECT 1 FROM content WHERE {newly_named} LIMIT 1").fetchall()
        return removed, bool(hit)
    return removed, False


def _rewrite(con: duckdb.DuckDBPyConnection, plan: BuildPlan, source: Path, target: Path) -> None:
    """``source`` without the rows in ``recall_gone``, lists cleaned and text redacted again
    where a newly protected person or identifier is named, in the parent's order (a shard
    is written sorted by ``content_id``)."""
    kept = plan.kept_sql(DUCKDB, source_hash_given=True, rows=_kept_rows(source))
    con.execute(f"COPY ({kept}) TO {_quote(target)} (FORMAT parquet, COMPRESSION zstd)")
