"""Bulk import of requests collected elsewhere (CSV or JSONL), through the same checks.

Columns: ``kind``, ``email``, ``country`` (required); ``handle``, ``names``, ``emails``,
``handles``, ``note``, ``received_at`` (ISO 8601, default: now; starts the deadline) and
``verified`` (true when the address was verified where the request was collected). Lists
are JSON arrays (in CSV, in a cell: ``["Ann Lee"]``); an empty cell is empty. Every row is
checked first; one bad row fails the whole file, naming its line, and nothing is written.
The rows are then imported in one transaction. A row that repeats a pending request is
counted as a duplicate, not added again. Unverified rows get a code by mail as usual
(without the per-address rate limits, which guard the public form).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from notrain.errors import InputError, RequestInvalid
from notrain.registry.accounts import AccountDirectory
from notrain.registry.config import RegistryConfig
from notrain.registry.forms import CleanRequest, RequestForm, clean
from notrain.registry.intake import create, route, step
from notrain.registry.states import RequestState, transition

COLUMNS = ("kind", "email", "country", "handle", "names", "emails", "handles", "note",
           "received_at", "verified")  # fmt: skip
REQUIRED = ("kind", "email", "country")
MAX_REPORTED = 20
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


@dataclass(frozen=True)
class ImportRow:
    line: int
    request: CleanRequest
    received_at: datetime | None
    verified: bool


@dataclass(frozen=True)
class ImportResult:
    rows: int
    created: int
    duplicates: int
    states: dict[str, int]


def _raw_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    suffix = path.suffix.lower()
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            if suffix == ".csv":
                reader = csv.DictReader(handle)
                unknown = set(reader.fieldnames or ()) - set(COLUMNS)
                if unknown:
                    raise InputError(
                        path, f"unknown columns {sorted(unknown)}; expected {list(COLUMNS)}"
                    )
                return [(reader.line_num, dict(row)) for row in reader]
            if suffix in (".jsonl", ".ndjson", ".json"):
                rows: list[tuple[int, dict[str, Any]]] = []
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(path, f"line {number}: not JSON ({exc.msg})") from None
                    if not isinstance(value, dict):
                        raise InputError(path, f"line {number}: not a JSON object")
                    rows.append((number, value))
                return rows
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"unreadable: {exc}") from None
    raise InputError(path, "unknown file type: use .csv or .jsonl")


def _list(value: Any, name: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.lstrip().startswith("[") else [value]
        except json.JSONDecodeError:
            raise RequestInvalid(name, "not a JSON array of strings") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestInvalid(name, "must be a list of strings")
    return value


def _text(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RequestInvalid(name, "must be text")
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RequestInvalid("verified", f"{value!r} is not true or false")


def _time(value: Any, now: datetime) -> datetime | None:
    text = _text(value, "received_at")
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RequestInvalid("received_at", f"{text!r} is not an ISO 8601 time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment > now:
        raise RequestInvalid("received_at", "lies in the future")
    return moment


def _parse(
    raw: dict[str, Any], now: datetime, verified_all: bool
) -> tuple[CleanRequest, datetime | None, bool]:
    unknown = set(raw) - set(COLUMNS)
    if unknown:
        raise RequestInvalid(sorted(unknown)[0], "unknown column")
    for name in REQUIRED:
        if not _text(raw.get(name), name):
            raise RequestInvalid(name, "required")
    form = RequestForm(
        kind=str(raw["kind"]),
        email=str(raw["email"]),
        country=str(raw["country"]),
        handle=_text(raw.get("handle"), "handle"),
        names=_list(raw.get("names"), "names"),
        emails=_list(raw.get("emails"), "emails"),
        handles=_list(raw.get("handles"), "handles"),
        note=_text(raw.get("note"), "note"),
    )
    return (
        clean(form),
        _time(raw.get("received_at"), now),
        verified_all or _bool(raw.get("verified")),
    )


def read_import(path: Path, now: datetime, *, verified_all: bool = False) -> list[ImportRow]:
    """Read and check every row; raise one error naming the first bad lines."""
    parsed: list[ImportRow] = []
    problems: list[str] = []
    for line, raw in _raw_rows(path):
        try:
            request, received_at, verified = _parse(raw, now, verified_all)
        except RequestInvalid as exc:
            problems.append(f"line {line}: {exc.message}")
            continue
        parsed.append(ImportRow(line, request, received_at, verified))
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED])
        more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        raise InputError(path, f"{len(problems)} bad row(s), nothing imported: {shown}{more}")
    return parsed


def import_requests(
    session: Session,
    config: RegistryConfig,
    accounts: AccountDirectory,
    path: Path,
    *,
    now: datetime,
    verified_all: bool = False,
) -> ImportResult:
    rows = read_import(path, now, verified_all=verified_all)
    actor = f"import:{path.name}"
    created = duplicates = 0
    states: Counter[str] = Counter()
    with step(session):
        for row in rows:
            request, new = create(
                session, config, row.request, now=now, source="import", actor=actor,
                received_at=row.received_at, send_code=not row.verified, rate_limit=False,
                merge_pending=True,
            )  # fmt: skip
            if not new:
                duplicates += 1
            else:
                created += 1
                if row.verified:
                    transition(
                        session, request, RequestState.VERIFIED, at=now, actor=actor,
                        reason="verified where it was collected", line=row.line,
                    )  # fmt: skip
                    route(session, request, accounts, now=now, actor="system")
            states[request.state] += 1
    return ImportResult(rows=len(rows), created=created, duplicates=duplicates, states=dict(states))
