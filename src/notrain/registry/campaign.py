"""A small objection campaign through the real workflow, for the demo.

Members pick objections on the form, the codes go out by mail (into the outbox), are read
back from the .eml files as a person would read them, and entered; one person mistypes
first. A person without an account objects by name and one member asks for erasure; an
officer accepts both after review. Then the snapshot is exported for the build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from notrain.errors import CodeWrong, UserError
from notrain.mail.transport import OutboxTransport
from notrain.registry.export import ExportResult
from notrain.registry.forms import RequestForm
from notrain.registry.service import Registry
from notrain.registry.states import RequestKind

# The code line ends with the code after a colon in every language ("Votre code est :  …").
_CODE = re.compile(r"(?m):\s+(\d{6})\s*$")
DEMO_OFFICER = "demo-officer"
NON_MEMBER = ("Ada Quinlan-Moreau", "ada.quinlan@example.org")


@dataclass(frozen=True)
class CampaignResult:
    submitted: int
    accepted: int
    reviewed: int
    wrong_codes: int
    export: ExportResult


def read_codes(outbox: Path) -> dict[str, str]:
    """The latest code sent to each address, read from the outbox's .eml files."""
    codes: dict[str, str] = {}
    for path in sorted(outbox.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = message.get_body(preferencelist=("plain",))
        match = _CODE.search(body.get_content() if body is not None else "")
        if match:
            codes[str(message["To"]).lower()] = match.group(1)
    return codes


def _members(accounts: Path, count: int, seed: int) -> list[tuple[str, str, str]]:
    table = pq.read_table(accounts, columns=["handle", "email", "country"])
    table = table.filter(pc.is_valid(table.column("email")))
    if table.num_rows < count + 1:
        raise UserError(f"{accounts}: only {table.num_rows} accounts with an e-mail address")
    picks = np.random.default_rng(seed).choice(table.num_rows, size=count + 1, replace=False)
    rows = table.take(sorted(int(i) for i in picks)).to_pylist()
    return [(r["email"], r["handle"], r["country"]) for r in rows]


def _confirm(registry: Registry, outbox: OutboxTransport, request_id: str, email: str) -> None:
    registry.deliver_mail(outbox)
    code = read_codes(outbox.folder)[email.lower()]
    registry.verify(request_id, code)


def run_campaign(
    registry: Registry,
    accounts: Path,
    outbox: OutboxTransport,
    out: Path,
    *,
    count: int = 25,
    seed: int = 0,
) -> CampaignResult:
    """``count`` member objections, one non-member objection and one erasure, then export."""
    people = _members(accounts, count, seed)
    objectors, eraser = people[:count], people[count]
    wrong = 0
    accepted = 0
    for n, (email, handle, country) in enumerate(objectors):
        receipt = registry.submit(
            RequestForm(
                kind=RequestKind.OBJECTION, email=email, country=country,
                handle=handle if n % 3 == 0 else None,
            ),
            source="demo",
        )  # fmt: skip
        if n == 0:
            registry.deliver_mail(outbox)
            real = read_codes(outbox.folder)[email.lower()]
            try:
                registry.verify(receipt.request_id, f"{(int(real) + 1) % 1_000_000:06d}")
            except CodeWrong:
                wrong += 1
        _confirm(registry, outbox, receipt.request_id, email)
        accepted += registry.get(receipt.request_id, events=False).state == "accepted"

    reviewed: list[str] = []
    name, address = NON_MEMBER
    stranger = registry.submit(
        RequestForm(kind=RequestKind.OBJECTION, email=address, country="DE", names=[name]),
        source="demo",
    )
    _confirm(registry, outbox, stranger.request_id, address)
    reviewed.append(stranger.request_id)
    email, _, country = eraser
    erasure = registry.submit(
        RequestForm(kind=RequestKind.ERASURE, email=email, country=country), source="demo"
    )
    _confirm(registry, outbox, erasure.request_id, email)
    reviewed.append(erasure.request_id)
    for request_id in reviewed:
        registry.decide(request_id, accept=True, officer=DEMO_OFFICER)
    registry.deliver_mail(outbox)
    result = registry.export(out)
    return CampaignResult(
        submitted=count + 2,
        accepted=accepted,
        reviewed=len(reviewed),
        wrong_codes=wrong,
        export=result,
    )
