"""The privacy officer's and requester's commands, end to end, as separate processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from notrain.registry.campaign import NON_MEMBER, read_codes
from notrain.registry.snapshot import verify_snapshot
from notrain.synth import synthesize_platform
from tests.registry.fixtures import ALICE, BOB, STRANGER


@pytest.fixture
def notrain(tmp_path: Path, database_url: str, accounts_path: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "NOTRAIN_DATABASE_URL": database_url,
        "NOTRAIN_ACCOUNTS_PATH": str(accounts_path),
        "NOTRAIN_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NOTRAIN_SECRET_KEY": "cli-test-secret-key-0123456789",
    }
    env.pop("NOTRAIN_SMTP_HOST", None)

    def run(*args: str, code: int = 0, stdin: str | None = None) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "notrain.cli", *args],
            capture_output=True, text=True, check=False, env=env, cwd=tmp_path, input=stdin,
        )  # fmt: skip
        assert proc.returncode == code, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        return proc.stdout if code == 0 else proc.stderr

    return run


def _request_id(output: str) -> str:
    return output.split()[1].rstrip(":")


def test_requester_and_officer_workflow(notrain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    member = _request_id(notrain("registry", "submit", "--kind", "objection",
                                 "--email", ALICE, "--country", "DE"))  # fmt: skip
    stranger = _request_id(notrain("registry", "submit", "--kind", "objection", "--email",
                                   STRANGER, "--country", "AT",
                                   "--name", "Dana Stranger"))  # fmt: skip
    codes = read_codes(tmp_path / "outbox")
    wrong = f"{(int(codes[ALICE]) + 1) % 1_000_000:06d}"
    assert "wrong code; 4 attempts left" in notrain("registry", "verify", member, wrong, code=13)
    assert "accepted" in notrain("registry", "verify", member, codes[ALICE])
    assert "needs_review" in notrain("registry", "verify", stranger, codes[STRANGER])

    listed = [json.loads(line) for line in notrain("requests", "list", "--json").splitlines()]
    assert {r["id"]: r["state"] for r in listed} == {member: "accepted", stranger: "needs_review"}
    review = notrain("requests", "list", "--state", "needs_review", "--json").splitlines()
    assert [json.loads(line)["id"] for line in review] == [stranger]

    assert "now due" in notrain("requests", "extend", stranger, "--months", "1",
                                "--reason", "Busy weeks", "--officer", "olga")  # fmt: skip
    assert "rejected" not in notrain("requests", "decide", stranger, "accept", "--officer", "olga")
    shown = json.loads(notrain("requests", "show", stranger, "--json"))
    assert shown["state"] == "accepted"
    assert shown["extended_months"] == 1
    assert [e["actor"] for e in shown["events"] if e["action"] == "extended"] == ["officer:olga"]
    assert "dana stranger" in notrain("requests", "show", stranger)

    assert "is accepted" in notrain(
        "requests", "decide", member, "reject", "--reason", "x", code=12
    )
    assert "no request" in notrain("requests", "show", "req-0000000000000000", code=11)
    refused = notrain("registry", "submit", "--kind", "objection",
                      "--email", "x@example.org", "--country", "XX", code=10)  # fmt: skip
    assert "ISO 3166-1" in refused

    out = notrain("registry", "export", "--out", str(tmp_path / "snap.parquet"))
    assert "3 decisions" in out  # two accounts of Alice, and the identifiers of Dana
    table = pq.read_table(tmp_path / "snap.parquet")
    assert sorted(r for r in table.column("subject_id").to_pylist() if r) == [1, 2]
    assert verify_snapshot(tmp_path / "snap.parquet").had_sidecar
    assert "intact" in notrain("audit", "verify")


def test_demo_campaign(notrain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    platform = synthesize_platform(tmp_path / "platform", 200, seed=3)
    out = notrain("registry", "demo-campaign", "--accounts", str(platform.accounts_path),
                  "--outbox", str(tmp_path / "campaign-mail"), "--count", "6",
                  "--out", str(tmp_path / "campaign.parquet"),
                  "--at", "2026-05-01T09:00:00Z")  # fmt: skip
    assert "8 requests, 6 accepted at once, 2 accepted after review, 1 mistyped" in out
    table = pq.read_table(tmp_path / "campaign.parquet")
    kinds = table.column("kind").to_pylist()
    assert kinds.count("erasure") >= 1
    assert kinds.count("objection") >= 7
    names = [ids for ids in table.column("identifiers").to_pylist() if ids]
    assert [NON_MEMBER[1], NON_MEMBER[0].lower()] in names
    assert "intact" in notrain("audit", "verify")


def test_objection_withdrawal_from_the_command_line(notrain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "objection_withdrawal" in notrain("registry", "submit", "--help")
    assert "objection_withdrawal" in notrain("requests", "list", "--help")
    objection = _request_id(notrain("registry", "submit", "--kind", "objection",
                                    "--email", ALICE, "--country", "DE"))  # fmt: skip
    withdrawal = _request_id(notrain("registry", "submit", "--kind", "objection_withdrawal",
                                     "--email", BOB, "--country", "FR"))  # fmt: skip
    codes = read_codes(tmp_path / "outbox")
    assert "accepted" in notrain("registry", "verify", objection, codes[ALICE])
    assert "accepted" in notrain("registry", "verify", withdrawal, codes[BOB])
    listed = notrain("requests", "list", "--kind", "objection_withdrawal", "--json").splitlines()
    assert [json.loads(line)["id"] for line in listed] == [withdrawal]
    # Bob withdraws nothing of Alice's.
    assert "2 decisions" in notrain("registry", "export", "--out", str(tmp_path / "s.parquet"))
