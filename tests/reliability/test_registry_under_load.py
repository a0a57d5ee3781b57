"""Nothing acknowledged is lost while PostgreSQL and the SMTP server go away and come back.

One run of :func:`tests.reliability.chaos.run_scenario`: a real ``notrain serve`` on its
own throwaway PostgreSQL cluster, real SMTP on loopback, twelve concurrent clients
submitting and verifying objections for about 26 seconds, the database crashed twice
(``pg_ctl stop -m immediate``, then started again with the same data directory and port)
and the SMTP server stopped twice; with one server process and with two. The figures are
printed (``pytest -s`` shows them) and written to
``test-artifacts/reliability-load-N-workers.json``; RELIABILITY.md quotes runs.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.reliability.chaos import Plan, Result, run_scenario
from tests.reliability.cluster import postgres_available

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
UNAVAILABLE = {
    "error": {
        "type": "DatabaseError",
        "status": 503,
        "message": "the registry database is unavailable",
        "field": None,
        "retry_after": None,
    }
}
CLEAR_PAGE = "The service is unavailable for a moment. Please try again shortly."
LEAKS = ("Traceback", "sqlalchemy", "psycopg", "OperationalError", 'File "')


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


# Every part of notrain under test runs in its own process (``notrain serve``, ``notrain
# mail deliver``, PostgreSQL); the only sockets in pytest's process are the harness's own:
# the load clients (httpx) and the SMTP server the scenario kills on purpose (aiosmtpd
# leaves a session's socket to the collector when its loop is stopped mid-conversation).
# A socket of theirs collected unclosed says nothing about notrain, so the suite-wide
# "warnings are errors" rule is lifted for that warning here only; the invariants below
# are what this test checks.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_nothing_acknowledged_is_lost_through_database_and_mail_restarts(
    tmp_path: Path, workers: int
) -> None:
    """One scenario, checked from every side (one test, not a fixture shared by several:
    under pytest-xdist the scenario could run once per worker). With one server process,
    the default, and with two (``notrain serve --workers 2``), each with its own pool and
    mail thread on the one registry."""
    if not postgres_available():
        message = "PostgreSQL 15 is not installed (scripts/postgres.sh installs it as root)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    result = run_scenario(tmp_path, Plan(workers=workers))
    ARTIFACTS.mkdir(exist_ok=True)
    observed = figures(result)
    artifact = ARTIFACTS / f"reliability-load-{workers}-workers.json"
    artifact.write_text(json.dumps(observed, indent=2))
    brief = {k: v for k, v in observed.items() if k not in ("outages", "outcomes")}
    print("\nreliability under load:", json.dumps(brief))
    check_the_outages_happened_under_real_load(result)
    check_every_acknowledged_request_is_in_the_registry_once(result)
    check_every_person_got_a_code_and_could_use_it(result)
    check_the_mail_queue_empties(result)
    check_an_unavailable_database_is_a_clear_503_never_a_500(result)
    check_the_audit_chain_survived(result)


def figures(result: Result) -> dict[str, object]:
    load, registry = result.load, result.registry
    acknowledged = [a for a in load.attempts if a.request_id]
    per_address = Counter(email for email, _ in registry.requests.values())
    code_mails = Counter(len(result.inbox_codes.get(a.email, [])) for a in acknowledged)
    return {
        "workers": result.plan.workers,
        "clients": result.plan.clients,
        "load_seconds": round(load.load_seconds, 1),
        "http_requests": load.http_requests,
        "statuses": dict(sorted(load.statuses.items())),
        "acknowledged": len(acknowledged),
        "verified_acknowledged": sum(a.verified for a in load.attempts),
        "verified_answer_lost": sum(a.verified_unacknowledged for a in load.attempts),
        "lost": sum(a.request_id not in registry.requests for a in acknowledged),
        "duplicated": sum(n - 1 for n in per_address.values()),
        "stored_unacknowledged": len(registry.requests) - len({a.request_id for a in acknowledged}),
        "database_restarts": load.database_restarts,
        "mail_restarts": load.mail_restarts,
        "outages": load.outages,
        "mails_sent": sum(sent is not None for _, _, sent, _ in registry.mails),
        "mail_failed_tries": sum(max(0, n - 1) for _, _, _, n in registry.mails),
        "code_mails_received": sum(len(c) for c in result.inbox_codes.values()),
        # A message whose sending the crash hid from the registry goes out again, with a
        # new code: {mails with a code: requests that received that many}.
        "code_mails_per_request": dict(sorted(code_mails.items())),
        "queue_drained_seconds": round(result.queue_drained_seconds, 1),
        "audit_events": registry.audit_events,
        "outcomes": [asdict(a) for a in load.attempts if a.gave_up],
    }


def check_the_outages_happened_under_real_load(result: Result) -> None:
    load = result.load
    assert (load.database_restarts, load.mail_restarts) == (2, 2), load.outages
    assert sum(1 for a in load.attempts if a.request_id) >= 24  # two per client at least
    assert load.statuses[503] > 0, "no request met the database outage"
    tried_again = [n for _, _, _, n in result.registry.mails if n > 1]
    assert tried_again, "no message met the mail outage"


def check_every_acknowledged_request_is_in_the_registry_once(result: Result) -> None:
    registry = result.registry
    acknowledged = [a for a in result.load.attempts if a.request_id]
    lost = [a for a in acknowledged if a.request_id not in registry.requests]
    assert lost == []
    assert all(registry.requests[a.request_id][0] == a.email for a in acknowledged)  # type: ignore[index]
    per_address = Counter(email for email, _ in registry.requests.values())
    assert [e for e, n in per_address.items() if n > 1] == []  # retries made no duplicate
    asked = {a.email for a in result.load.attempts}
    assert set(per_address) <= asked  # and nothing appeared that nobody asked for
    for attempt in result.load.attempts:
        if attempt.verified or attempt.verified_unacknowledged:
            assert registry.requests[attempt.request_id][1] == "needs_review"  # type: ignore[index]


def check_every_person_got_a_code_and_could_use_it(result: Result) -> None:
    acknowledged = [a for a in result.load.attempts if a.request_id]
    stuck = [a for a in acknowledged if not (a.verified or a.verified_unacknowledged)]
    assert stuck == []
    assert all(result.inbox_codes.get(a.email) for a in acknowledged)
    # At least once, and again only for the messages in flight when the database crashed.
    extra = sum(len(result.inbox_codes[a.email]) - 1 for a in acknowledged)
    assert extra <= 2 * result.plan.clients * result.load.database_restarts, extra
    for attempt in acknowledged:  # the notice that follows verification went out too
        assert any(s.startswith("We received your request") for s in
                   result.inbox_other.get(attempt.email, [])), attempt.email  # fmt: skip


def check_the_mail_queue_empties(result: Result) -> None:
    registry = result.registry
    assert registry.pending_mail == 0
    assert [m for m in registry.mails if m[2] is None] == []
    coded = {r for r, kind, sent, _ in registry.mails if kind == "verification_code" and sent}
    assert set(registry.requests) <= coded
    assert registry.deliver_output.startswith("exit 0")
    assert "0 sent, 0 waiting" in registry.deliver_output


def check_an_unavailable_database_is_a_clear_503_never_a_500(result: Result) -> None:
    load = result.load
    assert load.unexpected == []
    assert dict(load.transport_errors) == {}  # the portal always answered
    assert [s for s in load.statuses if s >= 500 and s != 503] == []
    assert all(body == UNAVAILABLE for body in load.unavailable)
    assert len(load.probes) == 4 * load.database_restarts
    for probe in load.probes:
        assert probe.status == 503, (probe.what, probe.status, probe.body[:300])
        assert not any(leak in probe.body for leak in LEAKS), probe.body
        if probe.what in ("api submit", "healthz"):
            assert json.loads(probe.body) == UNAVAILABLE
        else:
            assert probe.content_type.startswith("text/html")
            assert CLEAR_PAGE in probe.body


def check_the_audit_chain_survived(result: Result) -> None:
    assert result.registry.audit_intact
    assert result.registry.audit_events >= 3 * len(result.registry.requests)
