"""Benchmark of `notrain build` against a raw scan, a hand-written DuckDB query and pandas.

Prints rows/s for each and the ratios, and the peak RSS of every run (each runs in its own
process, measured with wait4). Not a test: it asserts nothing, it reports.

    python benchmarks/build.py --rows 10000000            # the issue's 10M-row figure
    python benchmarks/build.py --rows 30000000 --only notrain   # memory at 30M rows
    python benchmarks/build.py --rows 2000000 --engine spark    # Spark at 1, 2, 4 cores
    python benchmarks/build.py --cases --rows 4000000 10000000 # the issue-12 cases

With ``--cases``, for each ``--rows``: the content as one file and as a directory of 8
shards, with short texts (each synthetic text twice, ~70 characters) and long ones (four
times and a tail, ~150), each case running the hand-written query (b) and `notrain build`
alternately ``--repeat`` times, the machine's load (``uptime``) printed before each case.

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
SHARDS = 8
TEXTS = {
    "short": "text || ' ' || text",
    "long": "text || ' ' || text || ' ' || text || ' ' || text || ' (edited twice)'",
}
_content: Path | None = None
"""The content the jobs read (a file or a directory of shards); default the platform's."""


def content_of(src: Path) -> Path:
    return _content or src / "content.parquet"


def content_scan(src: Path) -> str:
    """The content as a DuckDB relation, one file or every shard of a directory."""
    path = content_of(src)
    return f"read_parquet('{path}/*.parquet')" if path.is_dir() else f"read_parquet('{path}')"


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

    def unguard(expr: str, placeholder: str) -> str:
        # The guarded patterns' markers (see corpus/redaction.py): where they meet, the
        # placeholder; around kept text, nothing.
        o, c = DUCKDB.string(redaction.GUARD_OPEN), DUCKDB.string(redaction.GUARD_CLOSE)
        both = DUCKDB.string(redaction.GUARD_OPEN + redaction.GUARD_CLOSE)
        return (
            f"replace(replace(replace({expr}, {both}, {DUCKDB.string(placeholder)}), "
            f"{o}, ''), {c}, '')"
        )

    def replace(expr: str, pattern: str, replacement: str) -> str:
        return (
            f"regexp_replace({expr}, {DUCKDB.string(pattern)}, {DUCKDB.string(replacement)}, 'g')"
        )

    text = unguard(
        replace(text, redaction.EMAIL, redaction.EMAIL_REPLACEMENT), redaction.EMAIL_PLACEHOLDER
    )
    for _ in range(2):
        text = replace(text, redaction.IP, redaction.IP_REPLACEMENT)
    text = unguard(
        replace(text, redaction.PHONE, redaction.PHONE_REPLACEMENT), redaction.PHONE_PLACEHOLDER
    )
    return f"""
WITH snap AS (SELECT * FROM read_parquet('{src}/registry.parquet')
              WHERE effective_at <= TIMESTAMPTZ '{AS_OF}'),
blocked AS (SELECT DISTINCT subject_id AS id FROM snap
            WHERE kind IN ('objection', 'erasure') AND subject_id IS NOT NULL),
acc AS (SELECT * FROM read_parquet('{src}/accounts.parquet')),
tagged AS (SELECT DISTINCT content_id FROM (
             SELECT content_id, unnest(tags) AS id FROM {content_scan(src)}
             WHERE kind IN ('photo', 'video')) JOIN blocked USING (id))
SELECT c.content_id, c.author_id, c.kind, c.visibility, c.created_at, {text} AS text,
       c.media_uri, c.parent_id, c.mentions, c.tags
FROM {content_scan(src)} c
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
    rows = con.execute(f"SELECT count(*) FROM {content_scan(src)}").fetchall()
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
            content=str(content_of(src)),
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
    job: str,
    src: Path,
    work: Path,
    limit: int | None,
    cores: int | None = None,
    content: Path | None = None,
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
    if content:
        cmd += ["--content", str(content)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    output = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"job {job} failed with status {status}")
    lines = [json.loads(line) for line in output.strip().splitlines() if line.startswith("{")]
    rows = int(lines[-1]["rows"])
    result = {
        "job": job,
        "rows": rows,
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }
    session = [line["session_s"] for line in lines if "session_s" in line]
    if session:
        result["session_s"] = session[0]
        result["build_s"] = seconds - session[0]
    return result


def variant(src: Path, texts: str, layout: str) -> Path:
    """(Once) the platform's content with ``texts`` texts, as one file or ``SHARDS`` shards;
    the same rows in the same order either way."""
    import duckdb

    target = src / f"content-{texts}-{layout}"
    if layout == "file":
        target = target.with_suffix(".parquet")
    if target.exists():
        return target
    partial = target.with_name(target.name + ".partial")
    subprocess.run(["rm", "-rf", str(partial)], check=True)
    con = duckdb.connect(config={"preserve_insertion_order": True})
    query = f"SELECT * REPLACE ({TEXTS[texts]} AS text) FROM read_parquet('{src}/content.parquet')"
    if layout == "file":
        con.execute(f"COPY ({query}) TO '{partial}' (FORMAT parquet, COMPRESSION zstd)")
    else:
        partial.mkdir()
        rows = int(con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0])
        per = -(-rows // SHARDS)
        for n in range(SHARDS):
            con.execute(
                f"COPY (SELECT * EXCLUDE (file_row_number) FROM (SELECT * REPLACE "
                f"({TEXTS[texts]} AS text) FROM read_parquet('{src}/content.parquet', "
                f"file_row_number = true)) WHERE file_row_number >= {n * per} "
                f"AND file_row_number < {(n + 1) * per}) "
                f"TO '{partial}/part-{n:05d}.parquet' (FORMAT parquet, COMPRESSION zstd)"
            )
    partial.rename(target)
    return target


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_cases(data: Path, src: Path, repeat: int) -> None:
    """Every case on ``src``: (b) and `notrain build` alternately, ``repeat`` times each."""
    print("| rows | content | texts (avg chars) | (b) s | notrain s | notrain / (b) | "
          "notrain CPU s / (b) CPU s | notrain peak RSS | load before |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for texts in TEXTS:
        for layout in ("file", "shards"):
            # Made and measured in a child: a child's peak RSS counts its parent's at the
            # fork (the kernel carries the parent's high-water mark over the exec), so this
            # process must stay small for the jobs' figures to be theirs.
            made = subprocess.run(
                [sys.executable, __file__, "--src", str(src), "--variant", texts, layout],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            found = json.loads(made.stdout.strip().splitlines()[-1])
            content, chars = Path(found["content"]), [(found["chars"],)]
            before = load().split("load average:")[-1].strip()
            runs: dict[str, list[dict[str, Any]]] = {"duckdb": [], "notrain": []}
            for _ in range(repeat):
                for job in runs:
                    runs[job].append(
                        run_child(job, src, data / f"work-{job}", None, content=content)
                    )
            best = {job: min(r["seconds"] for r in found) for job, found in runs.items()}
            cpu = {job: min(r["cpu_s"] for r in found) for job, found in runs.items()}
            rss = max(r["peak_rss_mb"] for r in runs["notrain"])
            rows = runs["notrain"][0]["rows"]
            summary[(texts, layout)] = best["notrain"]
            print(
                f"| {rows:,} | {'one file' if layout == 'file' else f'{SHARDS} shards'} | "
                f"{texts} ({chars[0][0]:.0f}) | {best['duckdb']:.2f} | {best['notrain']:.2f} | "
                f"**{best['notrain'] / best['duckdb']:.2f}x** | "
                f"{cpu['notrain']:.1f} / {cpu['duckdb']:.1f} = "
                f"{cpu['notrain'] / cpu['duckdb']:.2f}x | {rss:,.0f} MB | {before} |",
                flush=True,
            )
    for texts in TEXTS:
        ratio = summary[(texts, "shards")] / summary[(texts, "file")]
        print(f"{texts} texts: {SHARDS} shards / one file = {ratio:.2f}x (notrain)")


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
    parser.add_argument("--content", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--variant", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--cases", action="store_true", help="run the issue-12 cases")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each job per case")
    parser.add_argument(
        "--case-rows", type=int, nargs="+", help="with --cases: the row counts (default --rows)"
    )
    args = parser.parse_args()
    global _content
    _content = args.content

    if args.variant:
        import duckdb

        content = variant(args.src, *args.variant)
        scan = f"'{content}/*.parquet'" if content.is_dir() else f"'{content}'"
        query = f"SELECT avg(length(text)) FROM read_parquet({scan})"
        chars = duckdb.connect().execute(query).fetchall()[0][0]
        print(json.dumps({"content": str(content), "chars": chars}))
        return
    if args.job == "spark":
        print(json.dumps({"rows": job_spark(args.src, args.work, args.limit, args.cores)}))
        return
    if args.job:
        fn = {"scan": job_scan, "duckdb": job_duckdb, "pandas": job_pandas,
              "notrain": job_notrain}[args.job]  # fmt: skip
        print(json.dumps({"rows": fn(args.src, args.work, args.limit)}))
        return

    if args.cases:
        for rows in args.case_rows or [args.rows]:
            run_cases(args.data, platform(args.data, rows, args.seed), args.repeat)
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
            f"{result['rows_per_s']:>12,.0f} rows/s  cpu {result['cpu_s']:6.2f} s  "
            f"peak RSS {result['peak_rss_mb']:,.0f} MB"
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
