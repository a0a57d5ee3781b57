"""Benchmark: a recall after 1% new objections against a full rebuild, on the same data.

Builds (once) a dataset from a synthetic platform, adds a share of members as objectors
effective after its as-of, then times `recall` and a full `build` at the new as-of, each
in its own process with its peak RSS, and prints the ratio. Not a test: it reports.

    python benchmarks/recall.py --rows 10000000 --objectors 0.01
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


def run(cmd: list[str]) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"{cmd[3]} failed with status {status}")
    return {"seconds": time.perf_counter() - start, "peak_rss_mb": usage.ru_maxrss / 1024}


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

    recalled = run(notrain("recall", "--dataset", str(parent), "--registry", str(later),
                           "--as-of", LATER, "--out", str(work / "recalled")))  # fmt: skip
    rebuilt = run(notrain("build", *inputs, "--registry", str(later), "--as-of", LATER,
                          "--out", str(work / "rebuilt")))  # fmt: skip
    manifest = json.loads((work / "recalled" / "manifest.json").read_text())
    summary = manifest["recall"]
    print(f"content rows            {manifest['counts']['input']:,}")
    print(f"new objectors           {len(chosen):,} ({args.objectors:.1%} of {users:,} members)")
    print(f"rows removed            {summary['removed']:,}")
    print(
        f"shards rewritten        {len(summary['shards_rewritten'])} of {len(manifest['shards'])}"
    )
    for label, figures in (
        ("parent build", built),
        ("recall", recalled),
        ("full rebuild", rebuilt),
    ):
        seconds, rss = figures["seconds"], figures["peak_rss_mb"]
        print(f"{label:<24}{seconds:.2f} s  peak RSS {rss:,.0f} MB")
    print(f"rebuild / recall        {rebuilt['seconds'] / recalled['seconds']:.2f}x")
    rebuilt_kept = json.loads((work / "rebuilt" / "manifest.json").read_text())["counts"]["kept"]
    print(f"kept rows equal         {rebuilt_kept == manifest['counts']['kept']}")


if __name__ == "__main__":
    main()
