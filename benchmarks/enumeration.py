"""Timing of the portal's answers for addresses with and without an account (not a test).

Account enumeration by timing: if a submission for an address that belongs to an account
took measurably longer (or shorter) than one for an unknown address, an outsider could
tell which addresses are members. `tests/security/test_enumeration.py` shows why the work
is the same (same SQL, same writes, no account lookup before the code); this script
measures the answers: it submits objections through the JSON API of an in-process portal
(SQLite, outbox mail), alternating member and unknown addresses (each address once), and
prints the latency distributions of both and their difference.

    python benchmarks/enumeration.py --rounds 400
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notrain.contracts import ACCOUNTS
from notrain.portal import create_app
from notrain.settings import Settings


def _accounts(path: Path, members: int) -> None:
    created = datetime(2020, 1, 1, tzinfo=UTC)
    table = pa.table(
        {
            "user_id": list(range(1, members + 1)),
            "handle": [f"member{n}" for n in range(1, members + 1)],
            "email": [f"member{n}@example.org" for n in range(1, members + 1)],
            "country": ["FR"] * members,
            "birth_date": [None] * members,
            "created_at": [created] * members,
        }
    ).cast(ACCOUNTS)
    pq.write_table(table, path)


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=10)
    return f"p10 {q[0]:6.2f}  median {statistics.median(ordered):6.2f}  p90 {q[-1]:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=400, help="submissions per group")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="notrain-enumeration-"))
    _accounts(work / "accounts.parquet", args.rounds)
    settings = Settings(  # type: ignore[call-arg]  # every field has a default
        database_url=f"sqlite:///{work / 'registry.db'}",
        accounts_path=str(work / "accounts.parquet"),
        outbox_dir=str(work / "outbox"),
        secret_key=SecretStr("enumeration-benchmark-secret-0123456789"),
        portal_secure_cookies=False,
        portal_ip_rate_limit=0,
        portal_email_rate_limit=0,
    )
    times: dict[str, list[float]] = {"member": [], "unknown": []}
    bodies: dict[str, set[str]] = {"member": set(), "unknown": set()}
    with TestClient(create_app(settings, deliver_mail=False)) as client:
        for warm in range(20):
            client.post("/api/v1/requests", json={"kind": "objection", "country": "FR",
                                                  "email": f"warm{warm}@example.net"})  # fmt: skip
        for n in range(1, args.rounds + 1):
            for group, email in (
                ("member", f"member{n}@example.org"),
                ("unknown", f"nobody{n}@example.org"),
            ):
                started = time.perf_counter()
                answer = client.post(
                    "/api/v1/requests", json={"kind": "objection", "email": email, "country": "FR"}
                )
                times[group].append((time.perf_counter() - started) * 1000)
                if answer.status_code != 202:
                    raise SystemExit(f"{email}: {answer.status_code} {answer.text}")
                bodies[group].add(answer.json()["message"])
    print(f"{args.rounds} submissions per group, alternating, in-process, SQLite")
    for group in ("member", "unknown"):
        print(f"{group:<8} {_summary(times[group])}")
    difference = statistics.median(times["member"]) - statistics.median(times["unknown"])
    spread = statistics.quantiles(times["unknown"], n=10)
    print(f"median difference (member - unknown): {difference:+.3f} ms "
          f"(p10-p90 spread of one group: {spread[-1] - spread[0]:.2f} ms)")  # fmt: skip
    print(f"answer texts equal: {bodies['member'] == bodies['unknown']}")


if __name__ == "__main__":
    main()
