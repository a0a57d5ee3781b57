"""Bulk import from CSV and JSONL: the same checks, all or nothing, duplicates counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notrain.errors import InputError
from notrain.registry.service import Registry
from tests.registry.fixtures import ALICE, BOB, STRANGER


def _jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_jsonl_import_routes_verified_rows(registry: Registry, tmp_path: Path) -> None:
    file = _jsonl(
        tmp_path / "requests.jsonl",
        [
            {"kind": "objection", "email": ALICE, "country": "DE", "verified": True},
            {"kind": "objection", "email": STRANGER, "country": "AT", "verified": True,
             "names": ["Dana Stranger"], "received_at": "2025-01-20T08:00:00Z"},
            {"kind": "erasure", "email": BOB, "country": "FR"},
            {"kind": "erasure", "email": BOB.upper(), "country": "fr"},  # the same again
        ],
    )  # fmt: skip
    result = registry.import_file(file)
    assert (result.rows, result.created, result.duplicates) == (4, 3, 1)
    assert result.states == {"accepted": 1, "needs_review": 1, "submitted": 2}
    by_email = {v.email: v for v in registry.list()}
    assert by_email[ALICE].state == "accepted"
    assert by_email[ALICE].source == "import"
    assert by_email[STRANGER].due_at.date().isoformat() == "2025-02-20"  # from received_at
    events = registry.get(by_email[ALICE].id).events
    assert events[1].actor == "import:requests.jsonl"


def test_csv_import_with_lists_in_cells(registry: Registry, tmp_path: Path) -> None:
    file = tmp_path / "requests.csv"
    file.write_text(
        "kind,email,country,names,verified\n"
        f'objection,{STRANGER},DE,"[""Dana Stranger"", ""D. Stranger""]",yes\n'
        f"objection,{BOB},FR,,no\n"
    )
    result = registry.import_file(file)
    assert result.created == 2
    view = next(v for v in registry.list() if v.email == STRANGER)
    assert ("name", "dana stranger") in view.identifiers
    assert (
        "name",
        "d. stranger",
    ) in view.identifiers


def test_one_bad_row_imports_nothing_and_names_the_lines(
    registry: Registry, tmp_path: Path
) -> None:
    file = _jsonl(
        tmp_path / "bad.jsonl",
        [
            {"kind": "objection", "email": ALICE, "country": "DE"},
            {"kind": "objection", "email": "not-an-address", "country": "DE"},
            {"kind": "objection", "email": BOB, "country": "Germany"},
            {"kind": "objection", "email": BOB, "country": "DE", "reason": "none needed"},
            {"kind": "objection", "email": BOB, "country": "DE", "received_at": "2999-01-01"},
        ],
    )
    with pytest.raises(InputError) as caught:
        registry.import_file(file)
    message = caught.value.message
    assert "4 bad row(s), nothing imported" in message
    assert "line 2: email:" in message
    assert "line 3: country:" in message
    assert "line 4: reason: unknown column" in message
    assert "line 5: received_at" in message
    assert registry.list() == []
    assert registry.verify_audit().events == 0


def test_unverified_imports_get_codes_without_the_public_rate_limit(
    registry: Registry, tmp_path: Path
) -> None:
    rows: list[dict[str, object]] = [
        {"kind": k, "email": ALICE, "country": "DE"} for k in ("objection", "erasure", "access")
    ]
    result = registry.import_file(_jsonl(tmp_path / "r.jsonl", rows))
    assert result.states == {"submitted": 3}
    from notrain.mail.queue import pending_count

    assert pending_count(registry.session) == 3
    registry.session.commit()


def test_unknown_file_type(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "requests.xlsx"
    path.write_text("x")
    with pytest.raises(InputError, match="unknown file type"):
        registry.import_file(path)
