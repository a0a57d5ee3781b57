"""Benchmark of `notrain build` against a raw scan, a hand-written DuckDB query and pandas.

Prints rows/s for each and the ratios, and the peak RSS of every run (each runs in its own
process, measured with wait4). Not a test: it asserts nothing, it reports.

    python benchmarks/build.py --rows 10000000            # the issue's 10M-row figure
    python benchmarks/build.py --rows 30000000 --only notrain   # memory at 30M rows
    python benchmarks/build.py --rows 2000000 --engine spark    # Spark at 1, 2, 4 cores

With ``--engine spark`` the DuckDB engine (``notrain``) and the Spark engine in local mode
at each of ``--spark-cores`` run on the same data in the same run. A Spark run reports its
wall time and, separately, the time after its session started (``build s``): on a
cluster the JVM start is paid once per job, not per row. Peak RSS is the Python driver's;
Spark's JVM is a child process and is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-06-01T00:00:00+00:00"
JOBS = ("scan", "duckdb", "pandas", "notrain", "spark")


def platform(data: Path, rows: int, seed: int) -> Path:
    """Synthesise (once) a platform of about ``rows`` content rows, 10 per user."""
    target = data / f"platform-{rows}-{seed}"
    if not (target / "registry.parquet.json").exists():
        subprocess.run(
            [sys.executable, "-m", "notrain.cli", "synth", "--users", str(max(rows // 10, 1)),
             "--seed", str(seed), "--out", str(target)],
            check=True,
        )  # fmt: skip
    return target


# -- jobs, each run in a child process --------------------------------------------------


def job_scan(src: Path, _: Path, limit: int | None) -> int:
    """(a) Decode every column of the content Parquet, nothing else."""
    import pyarrow.parquet as pq

    rows = 0
    for batch in pq.ParquetFile(src / "content.parquet").iter_batches(batch_size=65_536):
        rows += batch.num_rows
        if limit and rows >= limit:
            break
    return rows


def _hand_query(src: Path) -> str:
    """The default policy's filters and redaction as one hand-written DuckDB query."""
    import pyarrow.parquet as pq

    from notrain.contracts import EEA_NON_EU, EU27
    from notrain.corpus import redaction
    from notrain.corpus.dialect import DUCKDB

    europe = ", ".join(f"'{c}'" for c in (*EU27, *EEA_NON_EU, "GB", "CH"))
    snap = pq.read_table(src / "registry.parquet").to_pylist()
    as_of = datetime.fromisoformat(AS_OF)
    names = [
        i
        for row in snap
        if row["subject_id"] is None
        and row["kind"] in ("objection", "erasure")
        and row["effective_at"] <= as_of
        for i in row["identifiers"]
    ]
    text = "coalesce(c.text, '')"
    for pattern in redaction.identifier_patterns(names):
        text = f"regexp_replace({text}, {DUCKDB.string(pattern)}, '\\1[redacted]\\2', 'g')"
    text = f"regexp_replace({text}, {DUCKDB.string(redaction.EMAIL)}, '[email]', 'g')"
    text = f"regexp_replace({text}, {DUCKDB.string(redaction.PHONE)}, '\\1[phone]\\3', 'g')"
    return f"""
WITH snap AS (SELECT * FROM read_parquet('{src}/registry.parquet')
              WHERE effective_at <= TIMESTAMPTZ '{AS_OF}'),
blocked AS (SELECT DISTINCT subject_id AS id FROM snap
            WHERE kind IN ('objection', 'erasure') AND subject_id IS NOT NULL),
acc AS (SELECT * FROM read_parquet('{src}/accounts.parquet')),
tagged AS (SELECT DISTINCT content_id FROM (
             SELECT content_id, unnest(tags) AS id FROM read_parquet('{src}/content.parquet')
             WHERE kind IN ('photo', 'video')) JOIN blocked USING (id))
SELECT c.content_id, c.author_id, c.kind, c.visibility, c.created_at, {text} AS text,
       c.media_uri, c.parent_id, c.mentions, c.tags
FROM read_parquet('{src}/content.parquet') c
JOIN acc a ON a.user_id = c.author_id
WHERE c.kind IN ('post', 'photo', 'video', 'caption', 'comment')
  AND c.visibility = 'public'
  AND TIMESTAMPTZ '{AS_OF}' >= CASE WHEN a.country IN ({europe}) THEN DATE '2025-05-27'
                                    WHEN a.country = 'BR' THEN DATE '2024-08-30'
                                    ELSE DATE '2023-09-27' END
  AND a.birth_date IS NOT NULL AND date_diff('year', a.birth_date, c.created_at::DATE) >= 18
  AND c.author_id NOT IN (SELECT id FROM blocked)
  AND c.content_id NOT IN (SELECT content_id FROM tagged)"""


def job_duckdb(src: Path, work: Path, limit: int | None) -> int:
    """(b) One hand-written DuckDB query: filters and redaction, no reasons or manifest."""
    import duckdb

    del limit
    con = duckdb.connect(config={"memory_limit": "1GB", "temp_directory": str(work / "spill")})
    con.execute("SET TimeZone = 'UTC'")
    out = work / "hand.parquet"
    con.execute(f"COPY ({_hand_query(src)}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{src}/content.parquet')").fetchall()
    return int(rows[0][0])


def job_pandas(src: Path, work: Path, limit: int | None) -> int:
    """(c) Plain pandas: read, merge, filter, str.replace with Python regexes."""
    import re

    import pandas as pd
    import pyarrow.parquet as pq

    from notrain.contracts import EEA_NON_EU, EU27

    table = pq.read_table(src / "content.parquet")
    if limit:
        table = table.slice(0, limit)
    content = table.to_pandas()
    accounts = pd.read_parquet(src / "accounts.parquet")
    snap = pd.read_parquet(src / "registry.parquet")
    as_of = pd.Timestamp(AS_OF)
    snap = snap[snap.effective_at <= as_of]
    stop = snap[snap.kind.isin(["objection", "erasure"])]
    blocked = set(stop.subject_id.dropna().astype("int64"))
    names = sorted(
        {i.lower() for ids in stop[stop.subject_id.isna()].identifiers for i in ids},
        key=len,
        reverse=True,
    )
    df = content.merge(accounts, left_on="author_id", right_on="user_id", suffixes=("", "_a"))
    df = df[df.kind.isin(["post", "photo", "video", "caption", "comment"])]
    df = df[df.visibility == "public"]
    europe = set(EU27) | set(EEA_NON_EU) | {"GB", "CH"}
    start = df.country.map(
        lambda c: pd.Timestamp("2025-05-27", tz="UTC") if c in europe
        else pd.Timestamp("2024-08-30", tz="UTC") if c == "BR"
        else pd.Timestamp("2023-09-27", tz="UTC")
    )  # fmt: skip
    df = df[start <= as_of]
    born = pd.to_datetime(df.birth_date)
    made = df.created_at.dt.tz_localize(None)
    age = (
        made.dt.year
        - born.dt.year
        - (
            (made.dt.month < born.dt.month)
            | ((made.dt.month == born.dt.month) & (made.dt.day < born.dt.day))
        )
    )
    df = df[born.notna() & (age >= 18)]
    df = df[~df.author_id.isin(blocked)]
    media = df.kind.isin(["photo", "video"])
    df = df[~(media & df.tags.map(lambda t: bool(blocked.intersection(t))))]
    ident = re.compile(r"(?i)(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")
    email = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
    phone = re.compile(r"(?<![\w@+])\+?\(?\d(?:[ .()\-]{0,3}\d){6,}\)?(?!\w)")
    text = df.text.fillna("")
    if names:
        text = text.str.replace(ident, "[redacted]", regex=True)
    text = text.str.replace(email, "[email]", regex=True).str.replace(phone, "[phone]", regex=True)
    df = df.assign(text=text)
    df.to_parquet(work / "pandas.parquet")
    return len(content)


def job_notrain(src: Path, work: Path, limit: int | None, engine: str = "duckdb") -> int:
    from notrain.corpus.build import BuildRequest, build_dataset
    from notrain.policy.loader import load_default_policy

    del limit
    out = work / "dataset"
    result = build_dataset(
        BuildRequest(
            content=str(src / "content.parquet"),
            accounts=str(src / "accounts.parquet"),
            registry=str(src / "registry.parquet"),
            out=out,
            policy=load_default_policy(),
            as_of=datetime.fromisoformat(AS_OF),
            engine=engine,
        )
    )
    print(json.dumps({"timings": result.timings}), file=sys.stderr)
    return int(result.counts["input"])


def job_spark(src: Path, work: Path, limit: int | None, cores: int = 2) -> int:
    """`notrain build --engine spark` in local mode on ``cores`` cores."""
    from notrain.corpus.spark_engine import SparkEngine

    started = time.perf_counter()
    engine = SparkEngine(master=f"local[{cores}]", threads=cores, memory_limit="2GB")
    engine.spark.sql("SELECT 1").collect()
    # The session is shared with the build; its start is reported apart from the build.
    print(json.dumps({"session_s": time.perf_counter() - started}), flush=True)
    return job_notrain(src, work, limit, engine="spark")


def run_child(
    job: str, src: Path, work: Path, limit: int | None, cores: int | None = None
) -> dict[str, Any]:
    """Run one job in a fresh process; return its rows, seconds and peak RSS."""
    work.mkdir(parents=True, exist_ok=True)
    for leftover in work.iterdir():
        subprocess.run(["rm", "-rf", str(leftover)], check=True)
    cmd = [sys.executable, __file__, "--job", job, "--src", str(src), "--work", str(work)]
    if limit:
        cmd += ["--limit", str(limit)]
    if cores:
        cmd += ["--cores", str(cores)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    output = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"job {job} failed with status {status}")
    lines = [json.loads(line) for line in output.strip().splitlines() if line.startswith("{")]
    rows = int(lines[-1]["rows"])
    result = {"job": job, "rows": rows, "seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}
    session = [line["session_s"] for line in lines if "session_s" in line]
    if session:
        result["session_s"] = session[0]
        result["build_s"] = seconds - session[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="content rows to synthesise")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data", help="cache of inputs")
    parser.add_argument("--pandas-rows", type=int, default=1_000_000,
                        help="rows given to pandas (it holds everything in memory)")  # fmt: skip
    parser.add_argument("--only", choices=JOBS, action="append", help="run only these jobs")
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="spark: the DuckDB engine and the Spark engine on the same data",
    )
    parser.add_argument(
        "--spark-cores",
        type=int,
        nargs="+",
        default=[1, 2, 4],
        help="local[N] cores of each Spark run (with --engine spark)",
    )
    parser.add_argument("--cores", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--job", choices=JOBS, help=argparse.SUPPRESS)
    parser.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.job == "spark":
        print(json.dumps({"rows": job_spark(args.src, args.work, args.limit, args.cores)}))
        return
    if args.job:
        fn = {"scan": job_scan, "duckdb": job_duckdb, "pandas": job_pandas,
              "notrain": job_notrain}[args.job]  # fmt: skip
        print(json.dumps({"rows": fn(args.src, args.work, args.limit)}))
        return

    src = platform(args.data, args.rows, args.seed)
    runs: list[tuple[str, str, int | None]] = [
        (job, job, None) for job in args.only or JOBS if job != "spark"
    ]
    if args.engine == "spark":
        runs = [("notrain", "notrain", None)]
        runs += [(f"spark[{n}]", "spark", n) for n in args.spark_cores]
    results = {}
    for name, job, cores in runs:
        limit = args.pandas_rows if job == "pandas" else None
        result = run_child(job, src, args.data / f"work-{job}", limit, cores)
        result["rows_per_s"] = result["rows"] / result["seconds"]
        results[name] = result
        line = (
            f"{name:8s} {result['rows']:>12,} rows  {result['seconds']:8.2f} s  "
            f"{result['rows_per_s']:>12,.0f} rows/s  peak RSS {result['peak_rss_mb']:,.0f} MB"
        )
        if "build_s" in result:
            result["build_rows_per_s"] = result["rows"] / result["build_s"]
            line += (
                f"  (session {result['session_s']:.1f} s; build {result['build_s']:.2f} s, "
                f"{result['build_rows_per_s']:,.0f} rows/s)"
            )
        print(line, flush=True)
    if args.engine == "spark" and "notrain" in results:
        duck = results["notrain"]["rows_per_s"]
        for name, result in results.items():
            if name.startswith("spark"):
                print(f"{name} / duckdb engine: {result['rows_per_s'] / duck:.2f}x "
                      f"(build only {result['build_rows_per_s'] / duck:.2f}x)")  # fmt: skip
    if "notrain" in results:
        mine = results["notrain"]["rows_per_s"]
        for other in ("scan", "duckdb", "pandas"):
            if other in results:
                print(f"notrain / {other}: {mine / results[other]['rows_per_s']:.2f}x")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
