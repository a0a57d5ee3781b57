"""Limits others cannot turn against an address's owner, and a ceiling on guessing over
all addresses (issue 20, findings 3 and 5; the arithmetic is in RELIABILITY.md).

- Codes are counted per client and address, under a ceiling per address; past the ceiling a
  client's first code of the hour still goes out. With every limit spent by strangers from
  other client addresses, the owner still objects within the hour, and the mail the address
  got stays within the ceiling plus one per client.
- Failed verifications are counted across all addresses; past the hourly ceiling,
  verification slows down for everyone (429 with Retry-After), /metrics counts it and
  ``notrain doctor`` warns.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from notrain.doctor import check_registry, diagnose
from notrain.registry.campaign import read_codes
from notrain.settings import Settings
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, FakeClock

STRANGERS = 30
CEILING = 20  # the default NOTRAIN_CODE_ADDRESS_HOURLY_CEILING


def _from(site: Site, ip: str) -> TestClient:
    return TestClient(site.client.app, client=(ip, 50000))


def _codes_to(outbox: Path, address: str) -> int:
    return sum(1 for path in outbox.glob("*.eml") if address in path.name)


def test_strangers_cannot_keep_the_owner_from_objecting(client: Site, clock: FakeClock) -> None:
    start = clock.now
    body = {"kind": "objection", "email": ALICE, "country": "DE"}
    strangers = [_from(client, f"203.0.113.{n + 1}") for n in range(STRANGERS)]
    refused = 0
    for _ in range(6):  # more than any per-client cap allows within the hour
        for stranger in strangers:
            answer = stranger.post("/api/v1/requests", json=body)
            assert answer.status_code in (202, 429), answer.text
            refused += answer.status_code == 429
        clock.advance(seconds=61)  # past each client's cooldown
    assert refused > 0  # the strangers did spend every limit they could
    client.deliver()
    from_strangers = _codes_to(client.outbox, ALICE)
    assert STRANGERS <= from_strangers <= CEILING + STRANGERS  # mail to the address is bounded

    owner = _from(client, "192.0.2.10")
    receipt = owner.post("/api/v1/requests", json=body)
    assert receipt.status_code == 202, receipt.text  # not refused: the owner's first code
    client.deliver()
    code = read_codes(client.outbox)[ALICE]
    verified = owner.post(
        f"/api/v1/requests/{receipt.json()['request_id']}/verify", json={"code": code}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["state"] == "accepted"
    assert clock.now - start < timedelta(hours=1)


@pytest.fixture
def guarded(portal_settings: Settings, clock: FakeClock) -> FastAPI:
    from notrain.portal import create_app

    settings = portal_settings.model_copy(update={"code_failure_ceiling": 8})
    return create_app(settings, clock=clock, deliver_mail=False)


def test_failed_verifications_past_the_ceiling_slow_everyone_down(
    guarded: FastAPI, portal_settings: Settings, clock: FakeClock
) -> None:
    with TestClient(guarded, client=("127.0.0.1", 5000)) as local:
        site = Site(local, Path(portal_settings.outbox_dir))
        # Eight wrong codes, each at another address from another client.
        for n in range(8):
            guesser = TestClient(guarded, client=(f"198.51.100.{n + 1}", 5000))
            address = f"target{n}@example.net"
            request_id = guesser.post(
                "/api/v1/requests", json={"kind": "objection", "email": address, "country": "DE"}
            ).json()["request_id"]
            site.deliver()
            wrong = f"{(int(read_codes(site.outbox)[address]) + 1) % 1_000_000:06d}"
            answer = guesser.post(f"/api/v1/requests/{request_id}/verify", json={"code": wrong})
            assert answer.json()["error"]["type"] == "CodeWrong"

        owner_id = local.post(
            "/api/v1/requests", json={"kind": "objection", "email": ALICE, "country": "DE"}
        ).json()["request_id"]
        site.deliver()
        code = read_codes(site.outbox)[ALICE]
        verify = f"/api/v1/requests/{owner_id}/verify"
        first = local.post(verify, json={"code": "000000" if code != "000000" else "111111"})
        assert first.json()["error"]["type"] == "CodeWrong"  # one let through, then a pause
        slowed = local.post(verify, json={"code": code})
        assert slowed.status_code == 429
        assert slowed.json()["error"]["type"] == "RateLimited"
        wait = int(slowed.headers["retry-after"])
        assert 1 <= wait <= 3600 // 8
        metrics = local.get("/metrics").text
        assert "notrain_verification_slowed_total 1.0" in metrics
        assert "notrain_verification_failures_last_hour 9.0" in metrics
        settings = guarded.state.portal.settings
        checks = {c.name: c for c in check_registry(settings, clock.now)}
        assert checks["verification"].status == "warn"
        assert "guessing" in checks["verification"].detail

        clock.advance(seconds=wait)  # slowed, not shut: the owner gets through
        accepted = local.post(verify, json={"code": code})
        assert accepted.status_code == 200, accepted.text
        clock.advance(hours=2)  # an hour without failures: no longer slowed
        later = {c.name: c for c in check_registry(settings, clock.now)}
        assert later["verification"].status == "ok"


def test_doctor_reads_the_ceiling_from_the_settings(
    portal_settings: Settings, client: Site
) -> None:
    del client  # the registry is migrated
    off = portal_settings.model_copy(
        update={"code_failure_ceiling": 0, "secret_key": SecretStr("x" * 40)}
    )
    assert {c.name: c for c in diagnose(off)}["verification"].status == "warn"
