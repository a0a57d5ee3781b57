"""Load benchmark of the portal (not a test): submit and verify objections, concurrently.

Starts a throwaway PostgreSQL cluster (scripts/postgres.sh) unless --db is given, runs
``notrain serve`` on 127.0.0.1 and a free port with outbox mail, and lets ``--clients``
asyncio clients (httpx, loopback only) each submit an objection, read its code from the
outbox as it arrives, and verify it, over and over for ``--seconds``. Reports requests/s,
verified objections/s, p50/p99 latency per endpoint, errors, the machine's load, and then
checks in the database that every request the portal acknowledged is there (and every
verified one is verified): "lost" must be 0.

Then, for ``--one-click-seconds``, the same clients play the platform's server: one-click
objections of members through ``POST /api/v1/subjects/{user_id}/requests`` with a
``submit`` API key and an ``Idempotency-Key`` (each on another account of a synthetic
accounts file), reporting objections/s and latency; every acknowledged one must be
accepted in the database.

    .venv/bin/python benchmarks/portal.py --seconds 30 --clients 64 --one-click-seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import create_engine, select

from notrain.contracts import ACCOUNTS
from notrain.registry.db import database_url as parse_url
from notrain.registry.models import Request

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.portal.server import running_portal  # noqa: E402

_CODE = re.compile(rb"Your code is:\s+(\d{6})")


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"submit": [], "verify": []})
    errors: dict[str, int] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Outbox:
    """Watches the outbox folder and hands each client the code sent to its address."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: set[str] = set()
        self.waiting: dict[str, asyncio.Future[str]] = {}
        self.codes: dict[str, str] = {}

    def expect(self, email: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if email in self.codes:
            future.set_result(self.codes.pop(email))
        else:
            self.waiting[email] = future
        return future

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self._scan)
            await asyncio.sleep(0.02)

    def _scan(self) -> None:
        if not self.folder.is_dir():
            return
        with os.scandir(self.folder) as entries:
            fresh = [e for e in entries if e.name.endswith(".eml") and e.name not in self.seen]
        for entry in fresh:
            self.seen.add(entry.name)
            data = Path(entry.path).read_bytes()
            match = _CODE.search(data)
            if not match:
                continue
            to = entry.name.split("-", 2)[2].removesuffix(".eml")
            code = match.group(1).decode()
            future = self.waiting.pop(to, None)
            if future is not None and not future.done():
                future.get_loop().call_soon_threadsafe(future.set_result, code)
            else:
                self.codes[to] = code


async def client(
    n: int, base: str, outbox: Outbox, stats: Stats, deadline: float, http: httpx.AsyncClient
) -> None:
    round_ = 0
    while time.monotonic() < deadline:
        round_ += 1
        email = f"bench-{n}-{round_}@example.org"
        body = {"kind": "objection", "email": email, "country": "FR", "names": [f"Bench {n}"]}
        started = time.perf_counter()
        try:
            answer = await http.post(f"{base}/api/v1/requests", json=body)
        except httpx.HTTPError as exc:
            stats.error(f"submit {type(exc).__name__}")
            continue
        stats.latencies["submit"].append(time.perf_counter() - started)
        if answer.status_code != 202:
            stats.error(f"submit {answer.status_code}")
            continue
        request_id = answer.json()["request_id"]
        stats.acknowledged.append(request_id)
        try:
            code = await asyncio.wait_for(outbox.expect(email), timeout=30)
        except TimeoutError:
            stats.error("code not mailed within 30 s")
            continue
        started = time.perf_counter()
        try:
            answer = await http.post(
                f"{base}/api/v1/requests/{request_id}/verify", json={"code": code}
            )
        except httpx.HTTPError as exc:
            stats.error(f"verify {type(exc).__name__}")
            continue
        stats.latencies["verify"].append(time.perf_counter() - started)
        if answer.status_code != 200:
            stats.error(f"verify {answer.status_code}")
            continue
        stats.verified.append(request_id)


@dataclass
class OneClick:
    latencies: list[float] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)


async def one_click_client(
    n: int, clients: int, base: str, key: str, stats: OneClick, deadline: float,
    http: httpx.AsyncClient,
) -> None:  # fmt: skip
    user_id = n
    while time.monotonic() < deadline:
        user_id += clients  # every call on another account
        headers = {"authorization": f"Bearer {key}", "idempotency-key": f"bench-{user_id}"}
        started = time.perf_counter()
        try:
            answer = await http.post(
                f"{base}/api/v1/subjects/{user_id}/requests",
                json={"kind": "objection"},
                headers=headers,
            )
        except httpx.HTTPError as exc:
            stats.errors[type(exc).__name__] = stats.errors.get(type(exc).__name__, 0) + 1
            continue
        stats.latencies.append(time.perf_counter() - started)
        if answer.status_code != 201:
            stats.errors[str(answer.status_code)] = stats.errors.get(str(answer.status_code), 0) + 1
            continue
        stats.acknowledged.append(answer.json()["request_id"])


async def load_one_click(
    base: str, key: str, clients: int, seconds: float
) -> tuple[OneClick, float]:
    stats = OneClick()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(one_click_client(n, clients, base, key, stats, deadline, http)
              for n in range(clients))
        )  # fmt: skip
        elapsed = time.monotonic() - started
    return stats, elapsed


def write_accounts(path: Path, count: int) -> None:
    """Members 1..count, each with an address of their own, for the one-click phase."""
    ids = list(range(1, count + 1))
    table = pa.table(
        {
            "user_id": ids,
            "handle": [f"member{i}" for i in ids],
            "email": [f"member{i}@example.org" for i in ids],
            "country": ["FR"] * count,
            "birth_date": [None] * count,
            "created_at": pa.array([0] * count, type=pa.timestamp("us", tz="UTC")),
        }
    ).cast(ACCOUNTS)
    pq.write_table(table, path)


def api_key(env: dict[str, str], work: Path) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "notrain.cli", "admin", "create-api-key", "bench", "--scope",
         "submit"],
        env={**os.environ, **env}, cwd=work, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return made.stdout.strip().splitlines()[-1]


def accepted(db: str, request_ids: list[str]) -> int:
    """How many of ``request_ids`` the registry holds as accepted."""
    engine = create_engine(parse_url(db))
    try:
        with engine.connect() as connection:
            rows = dict(connection.execute(select(Request.id, Request.state)).all())
    finally:
        engine.dispose()
    return sum(1 for r in request_ids if rows.get(r) == "accepted")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(base: str, outbox_dir: Path, clients: int, seconds: float) -> tuple[Stats, float]:
    stats = Stats()
    outbox = Outbox(outbox_dir)
    stop = asyncio.Event()
    watcher = asyncio.create_task(outbox.watch(stop))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(client(n, base, outbox, stats, deadline, http) for n in range(clients))
        )
        elapsed = time.monotonic() - started
    stop.set()
    await watcher
    return stats, elapsed


def lost(db: str, stats: Stats) -> tuple[int, int]:
    """Acknowledged requests missing from the registry; verified ones not verified there."""
    engine = create_engine(parse_url(db))
    try:
        with engine.connect() as connection:
            rows = dict(connection.execute(select(Request.id, Request.state)).all())
    finally:
        engine.dispose()
    missing = sum(1 for r in stats.acknowledged if r not in rows)
    unverified = sum(1 for r in stats.verified if rows.get(r) in (None, "submitted"))
    return missing, unverified


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--db", help="a PostgreSQL URL (default: a throwaway cluster)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--one-click-seconds",
        type=float,
        default=10,
        help="then one-click objections through the API for this long (0: skip)",
    )
    parser.add_argument("--members", type=int, default=200_000,
                        help="accounts in the synthetic accounts file")  # fmt: skip
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="notrain-portal-bench-"))
    pgdir = Path(tempfile.mkdtemp(prefix="notrain-portal-pg-"))  # owned by postgres
    db = args.db
    if db is None:
        started = subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "start", str(pgdir)],
                                 capture_output=True, text=True, check=True)  # fmt: skip
        db = started.stdout.strip()
    env = {
        "NOTRAIN_DATABASE_URL": db,
        "NOTRAIN_OUTBOX_DIR": str(work / "outbox"),
        "NOTRAIN_SECRET_KEY": "benchmark-secret-key-0123456789",
        "NOTRAIN_PORTAL_IP_RATE_LIMIT": "0",  # every client is 127.0.0.1
        "NOTRAIN_PORTAL_EMAIL_RATE_LIMIT": "0",
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
        "NOTRAIN_ACCOUNTS_PATH": str(work / "accounts.parquet"),
    }
    write_accounts(work / "accounts.parquet", args.members)
    key = api_key(env, work)
    load_before = loadavg()
    clicks, click_elapsed = OneClick(), 0.0
    try:
        with running_portal(env, work, ("--workers", str(args.workers))) as base:
            stats, elapsed = asyncio.run(load(base, work / "outbox", args.clients, args.seconds))
            if args.one_click_seconds > 0:
                clicks, click_elapsed = asyncio.run(
                    load_one_click(base, key, args.clients, args.one_click_seconds)
                )
        missing, unverified = lost(db, stats)
        clicks_accepted = accepted(db, clicks.acknowledged)
    finally:
        if args.db is None:
            subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "stop", str(pgdir)],
                           capture_output=True, check=False)  # fmt: skip
    requests = len(stats.latencies["submit"]) + len(stats.latencies["verify"])
    figures = {
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "workers": args.workers,
        "http_requests_per_s": round(requests / elapsed, 1),
        "acknowledged": len(stats.acknowledged),
        "verified": len(stats.verified),
        "verified_per_s": round(len(stats.verified) / elapsed, 1),
        "p50_ms": {k: round(percentile(v, 0.5) * 1000, 1) for k, v in stats.latencies.items()},
        "p99_ms": {k: round(percentile(v, 0.99) * 1000, 1) for k, v in stats.latencies.items()},
        "p99_all_ms": round(
            percentile(stats.latencies["submit"] + stats.latencies["verify"], 0.99) * 1000, 1
        ),
        "errors": stats.errors,
        "lost": missing,
        "verified_but_not_recorded": unverified,
        "one_click": {
            "seconds": round(click_elapsed, 1),
            "objections": len(clicks.acknowledged),
            "objections_per_s": round(len(clicks.acknowledged) / click_elapsed, 1)
            if click_elapsed
            else 0,
            "p50_ms": round(percentile(clicks.latencies, 0.5) * 1000, 1),
            "p99_ms": round(percentile(clicks.latencies, 0.99) * 1000, 1),
            "errors": clicks.errors,
            "acknowledged_not_accepted": len(clicks.acknowledged) - clicks_accepted,
        },
        "load_before": load_before,
        "load_after": loadavg(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
