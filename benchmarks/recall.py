"""Benchmark: a recall after 1% new objections against a full rebuild, on the same data.

Builds (once) a dataset from a synthetic platform, adds a share of members as objectors
effective after its as-of, then times `recall` and a full `build` at the new as-of, each
in its own process with its peak RSS, and prints the ratio. Not a test: it reports.

    python benchmarks/recall.py --rows 10000000 --objectors 0.01
    python benchmarks/recall.py --rows 10000000 --objectors 0.0001   # the daily case

Also measured in the same run: the floor a recall cannot go below (DuckDB reading the
parent's shards and writing them again, same layout and order, nothing else), and, from
the parent's lineage, how many shards a layout clustered by author would have to rewrite.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from notrain.contracts import SNAPSHOT
from notrain.registry.snapshot import write_snapshot

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-06-01T00:00:00+00:00"
LATER = "2026-07-01T00:00:00+00:00"
ENV = {**os.environ, "NOTRAIN_DATABASE_URL": "sqlite:///:memory:"}


def run(cmd: list[str], source: Path | None = None) -> dict[str, Any]:
    """Run ``cmd``, its wall and CPU time and peak RSS; ``source``: another checkout's
    ``src`` to import notrain from (to compare two versions on the same data)."""
    env = {**ENV, "PYTHONPATH": str(source)} if source else ENV
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{cmd[3]} failed with status {status}")
    return {
        "seconds": time.perf_counter() - start,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


FLOOR = """
import sys, duckdb
from pathlib import Path
parent, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir()
con = duckdb.connect(config={"memory_limit": "1GB", "preserve_insertion_order": True})
for shard in sorted(parent.glob("part-*.parquet")):
    con.execute(f"COPY (SELECT * FROM read_parquet('{shard}')) TO '{out / shard.name}' "
                "(FORMAT parquet, COMPRESSION zstd)")
"""


def clustered(parent: Path, objectors: set[int], shards: int) -> int:
    """Shards to rewrite if the kept rows were clustered by author into ``shards`` equal
    author ranges: those holding a row by, tagging or mentioning an objector."""
    lineage = pq.read_table(parent / "lineage.parquet").to_pylist()
    top = max((r["author_id"] for r in lineage), default=0) + 1
    touched = {
        r["author_id"] * shards // top
        for r in lineage
        if r["author_id"] in objectors or objectors.intersection(r["mentions"] + r["tags"])
    }
    return len(touched)


def compare(recalled: Path, rebuilt: Path) -> list[str]:
    """The recalled version against the rebuild, row for row (the benchmark's objections only
    remove, so both keep the same rows), each shard's order, and its lineage against its
    shards, position by position."""
    import duckdb

    con = duckdb.connect(config={"preserve_insertion_order": True})
    con.execute("SET enable_progress_bar = false")

    def shards(path: Path) -> str:
        names = json.loads((path / "manifest.json").read_text())["shards"]
        return "[" + ", ".join(f"'{path / s['file']}'" for s in names) + "]"

    a, b = f"read_parquet({shards(recalled)})", f"read_parquet({shards(rebuilt)})"
    differ = con.execute(
        f"SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})), "
        f"(SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}))"
    ).fetchall()[0]
    unordered = con.execute(
        "SELECT count(*) FILTER (WHERE content_id <= before) FROM (SELECT content_id, "
        f"lag(content_id) OVER (PARTITION BY filename ORDER BY file_row_number) AS before "
        f"FROM read_parquet({shards(recalled)[:-1]}], filename = true, file_row_number = true))"
    ).fetchall()[0][0]
    lineage = con.execute(
        "SELECT count(*) FILTER (WHERE (s.content_id, s.author_id, s.mentions, s.tags) IS "
        "DISTINCT FROM (l.content_id, l.author_id, l.mentions, l.tags)) FROM "
        f"(SELECT content_id, author_id, mentions, tags FROM {a}) s POSITIONAL JOIN "
        f"read_parquet('{recalled / 'lineage.parquet'}') l"
    ).fetchall()[0][0]
    return [
        f"rows only in recall     {differ[0]:,}; only in rebuild {differ[1]:,}",
        f"rows out of order       {unordered:,}",
        f"lineage rows unlike its shards' {lineage:,}",
    ]


def notrain(*args: str) -> list[str]:
    return [sys.executable, "-m", "notrain.cli", *args, "--no-register"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--objectors", type=float, default=0.01, help="share of members")
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    parser.add_argument(
        "--compare",
        type=Path,
        help="another checkout's src/ (e.g. a git worktree of an earlier commit): its recall "
        "is timed on the same parent, before and after this one's",
    )
    args = parser.parse_args()

    src = args.data / f"platform-{args.rows}-{args.seed}"
    if not (src / "registry.parquet.json").exists():
        subprocess.run(
            [sys.executable, "-m", "notrain.cli", "synth", "--users", str(args.rows // 10),
             "--seed", str(args.seed), "--out", str(src)], check=True,
        )  # fmt: skip
    work = args.data / f"recall-{args.rows}-{args.seed}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    inputs = [
        "--content",
        str(src / "content.parquet"),
        "--accounts",
        str(src / "accounts.parquet"),
    ]
    parent = work / "parent"
    built = run(notrain("build", *inputs, "--registry", str(src / "registry.parquet"),
                        "--as-of", AS_OF, "--out", str(parent)))  # fmt: skip

    users = pq.read_metadata(src / "accounts.parquet").num_rows
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(np.arange(1, users + 1), size=int(users * args.objectors), replace=False)
    late = pa.table(
        {
            "subject_id": pa.array(chosen, pa.int64()),
            "identifiers": pa.array([[] for _ in chosen], pa.list_(pa.string())),
            "kind": pa.array(["objection"] * len(chosen)),
            "effective_at": pa.array(
                [datetime(2026, 6, 15, tzinfo=UTC)] * len(chosen), pa.timestamp("us", "UTC")
            ),
            "request_id": pa.array([f"late-{n}" for n in range(len(chosen))]),
        }
    ).cast(SNAPSHOT)
    old = pq.read_table(src / "registry.parquet").cast(SNAPSHOT)
    later = work / "later.parquet"
    write_snapshot(pa.concat_tables([old, late]), later)

    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    floor = run([sys.executable, "-c", FLOOR, str(parent), str(work / "floor")])

    def recall(out: str) -> list[str]:
        return notrain("recall", "--dataset", str(parent), "--registry", str(later),
                       "--as-of", LATER, "--out", str(work / out))  # fmt: skip

    compared = []
    if args.compare:
        compared.append(run(recall("compared-1"), args.compare))
    recalled = run(recall("recalled"))
    if args.compare:
        compared.append(run(recall("compared-2"), args.compare))
    rebuilt = run(notrain("build", *inputs, "--registry", str(later), "--as-of", LATER,
                          "--out", str(work / "rebuilt")))  # fmt: skip
    floor_again = run([sys.executable, "-c", FLOOR, str(parent), str(work / "floor-2")])
    manifest = json.loads((work / "recalled" / "manifest.json").read_text())
    summary = manifest["recall"]
    print(f"content rows            {manifest['counts']['input']:,}")
    print(f"new objectors           {len(chosen):,} ({args.objectors:.1%} of {users:,} members)")
    print(f"rows removed            {summary['removed']:,}")
    print(
        f"shards rewritten        {len(summary['shards_rewritten'])} of {len(manifest['shards'])}"
    )
    print(f"load before             {load}")
    for label, figures in (
        ("parent build", built),
        ("floor (copy shards)", floor),
        ("recall", recalled),
        ("full rebuild", rebuilt),
        ("floor again", floor_again),
        *((f"recall of --compare ({n})", c) for n, c in enumerate(compared, 1)),
    ):
        seconds, rss, cpu = figures["seconds"], figures["peak_rss_mb"], figures["cpu_s"]
        print(f"{label:<24}{seconds:.2f} s  cpu {cpu:.2f} s  peak RSS {rss:,.0f} MB")
    best_floor = min(floor["seconds"], floor_again["seconds"])
    print(f"rebuild / recall        {rebuilt['seconds'] / recalled['seconds']:.2f}x")
    floor_cpu = min(floor["cpu_s"], floor_again["cpu_s"])
    print(f"recall / floor          {recalled['seconds'] / best_floor:.2f}x "
          f"(cpu {recalled['cpu_s'] / floor_cpu:.2f}x)")  # fmt: skip
    if compared:
        best = min(c["seconds"] for c in compared)
        print(f"recall / --compare      {recalled['seconds'] / best:.2f}x "
              f"(cpu {recalled['cpu_s'] / min(c['cpu_s'] for c in compared):.2f}x)")  # fmt: skip
    objectors = {int(c) for c in chosen}
    for shards in (3, 64, 1024):
        touched = clustered(parent, objectors, shards)
        print(f"clustered by author, {shards:>4} shards: {touched} to rewrite "
              f"({touched / shards:.1%} of the bytes)")  # fmt: skip
    for line in compare(work / "recalled", work / "rebuilt"):
        print(line)


if __name__ == "__main__":
    main()
