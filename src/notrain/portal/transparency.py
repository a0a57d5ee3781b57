"""The transparency log on the web: its key and heads, receipts and proofs of absence.

Public: ``/transparency`` (a page, or JSON: signed heads over time, each dataset's
commitment, what a person can check and how), ``/transparency/key``, ``/transparency/head``
and ``/transparency/consistency`` (for monitors). A requester's own: the receipt of every
step of their request and their proofs of absence, as pages' downloads and at
``/api/v1/requests/{id}/receipt`` and ``/api/v1/requests/{id}/absence``; who may read them
is decided by one dependency, :func:`requester_access`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from notrain.errors import RequestNotFound
from notrain.portal.context import Portal, portal_of
from notrain.portal.models import ErrorResponse
from notrain.portal.request_access import RequestGrant, request_grant
from notrain.portal.responses import render
from notrain.proofs import log, standalone_verify
from notrain.proofs.absence import read_commitment
from notrain.proofs.keys import LogKey, load_log_key
from notrain.proofs.receipts import build_receipt, mail_attachments
from notrain.proofs.requester import absence_document
from notrain.proofs.sealer import Sealer, defer_chaining
from notrain.registry.models import Dataset


class Transparency:
    """The log's key (read or made on first use) and the process's sealer, if it runs one."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._key: LogKey | None = None
        self.sealer: Sealer | None = None

    @property
    def key(self) -> LogKey:
        if self._key is None:
            self._key = load_log_key(self.portal.settings)
        return self._key

    def start(self) -> None:
        """Seal in this process, in batches; its commits then leave the chaining to it."""
        bind = self.portal.factory.kw.get("bind")
        if bind is not None:
            defer_chaining(bind)
        interval = self.portal.settings.transparency_seal_ms / 1000
        self.sealer = Sealer(self.portal.factory, self.key, self.portal.clock, interval)
        self.sealer.start()

    def stop(self) -> None:
        if self.sealer is not None:
            self.sealer.stop()
            self.sealer = None


def _attachments(state: Transparency) -> Any:
    def attach(session: Any, template: str, request: Any) -> list[tuple[str, bytes]]:
        hook: Any = mail_attachments(state.key)
        attached: list[tuple[str, bytes]] = hook(session, template, request)
        return attached

    return attach


def transparency_of(request: Request) -> Transparency:
    state: Transparency = request.app.state.transparency
    return state


def install(app: FastAPI, portal: Portal) -> Transparency:
    """Register the routes; the app starts and stops the sealer with its lifespan."""
    state = Transparency(portal)
    app.state.transparency = state
    if portal.settings.transparency_mail_receipts:
        # The registry's notices carry the request's receipt (the key is read when one is sent).
        portal.config = replace(portal.config, attachments=_attachments(state))
    app.include_router(router)
    app.include_router(api)
    return state


def requester_access(grant: Annotated[RequestGrant, Depends(request_grant)]) -> str:
    """Who may read a request's receipt and proofs: the holder of its status token (see
    request_access), the one place to check it."""
    return grant.request_id


Access = Annotated[str, Depends(requester_access)]

# -- data -----------------------------------------------------------------------------------


class HeadOut(BaseModel):
    size: int
    root: str
    time: str
    signature: str
    key_id: str


class KeyOut(BaseModel):
    algorithm: str = "Ed25519"
    public_key: str
    key_id: str
    pem: str


class CommitmentOut(BaseModel):
    dataset_id: str
    as_of: str
    people: int | None
    root: str | None
    signed_at: str | None
    signature: str | None


class TransparencyPage(BaseModel):
    key: KeyOut
    heads: list[HeadOut]
    datasets: list[CommitmentOut]


def key_data(key: LogKey) -> KeyOut:
    return KeyOut(public_key=key.public.hex(), key_id=key.key_id, pem=key.public_pem())


def _commitment(dataset: Dataset) -> CommitmentOut:
    found = read_commitment(FilePath(dataset.path)) or {}
    return CommitmentOut(
        dataset_id=dataset.id,
        as_of=dataset.as_of.isoformat(),
        people=found.get("people"),
        root=found.get("root"),
        signed_at=found.get("signed_at"),
        signature=found.get("signature"),
    )


def transparency_data(portal: Portal, key: LogKey) -> TransparencyPage:
    from sqlalchemy import select

    with portal.factory() as session:
        heads = [HeadOut(**h.as_dict()) for h in log.heads(session, 30)]
        datasets = list(session.scalars(select(Dataset).order_by(Dataset.as_of.desc())))
    return TransparencyPage(
        key=key_data(key), heads=heads, datasets=[_commitment(d) for d in datasets]
    )


def receipt_data(portal: Portal, key: LogKey, request_id: str) -> dict[str, Any]:
    with portal.factory() as session:
        return build_receipt(session, key, request_id, portal.clock())


def absence_data(portal: Portal, key: LogKey, request_id: str) -> dict[str, Any]:
    with portal.factory() as session:
        return absence_document(session, key, request_id)


def _download(document: dict[str, Any], name: str) -> Response:
    return JSONResponse(
        document,
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


# -- public pages ---------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


@router.get("/transparency")
def page(request: Request) -> Response:
    state = transparency_of(request)
    return render(
        request, "transparency/log.html", transparency_data(portal_of(request), state.key)
    )


@router.get("/transparency/verify_receipt.py")
def standalone_script() -> Response:
    """The stand-alone verifier, to read and run (it needs only Python)."""
    source = FilePath(standalone_verify.__file__).read_bytes()
    return Response(
        source,
        media_type="text/x-python; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="verify_receipt.py"'},
    )


@router.get("/transparency/key")
def public_key(request: Request) -> Response:
    return JSONResponse(key_data(transparency_of(request).key).model_dump())


@router.get("/transparency/head")
def latest_head(request: Request) -> Response:
    with portal_of(request).factory() as session:
        head = log.latest_head(session)
    if head is None:
        raise RequestNotFound("the log has no signed head yet")
    return JSONResponse(head.as_dict(), headers={"cache-control": "no-cache"})


@router.get("/transparency/consistency")
def consistency(
    request: Request,
    first: Annotated[int, Query(ge=0)],
    second: Annotated[int, Query(ge=0)],
) -> Response:
    """The proof that the log of ``first`` events is a prefix of the log of ``second``."""
    with portal_of(request).factory() as session:
        new = log.head_at(session, second)
        if new is None or first > second:
            raise RequestNotFound(f"no signed head of size {second} at or after {first}")
        proof = log.consistency_proof(session, first, second)
    return JSONResponse(
        {"first": first, "second": second, "head": new.as_dict(), "proof": [p.hex() for p in proof]}
    )


class ProofsPage(BaseModel):
    request_id: str
    kind: str
    state: str
    steps: list[dict[str, Any]]
    head: dict[str, Any] | None
    subjects: list[dict[str, Any]]
    note: str | None
    receipt_url: str
    absence_url: str


@router.get("/requests/{request_id}/proofs")
def proofs_page(
    request: Request, grant: Annotated[RequestGrant, Depends(request_grant)]
) -> Response:
    request_id = grant.request_id
    portal, state = portal_of(request), transparency_of(request)
    receipt = receipt_data(portal, state.key, request_id)
    absence = absence_data(portal, state.key, request_id)
    data = ProofsPage(
        request_id=request_id,
        kind=receipt["kind"],
        state=receipt["state"],
        steps=[{k: s[k] for k in ("state", "time", "leaf_index")} for s in receipt["steps"]],
        head=receipt["tree_head"],
        subjects=[
            {
                "user_id": s["user_id"],
                "datasets": [
                    {k: d[k] for k in ("dataset_id", "as_of", "status")} for d in s["datasets"]
                ],
            }
            for s in absence["subjects"]
        ],
        note=absence.get("note"),
        receipt_url=grant.link("/receipt.json"),
        absence_url=grant.link("/absence.json"),
    )
    return render(request, "transparency/proofs.html", data)


@router.get("/requests/{request_id}/receipt.json")
def receipt_download(request: Request, request_id: Access) -> Response:
    state = transparency_of(request)
    document = receipt_data(portal_of(request), state.key, request_id)
    return _download(document, f"{request_id}-receipt.json")


@router.get("/requests/{request_id}/absence.json")
def absence_download(request: Request, request_id: Access) -> Response:
    state = transparency_of(request)
    document = absence_data(portal_of(request), state.key, request_id)
    return _download(document, f"{request_id}-absence.json")


# -- the API ---------------------------------------------------------------------------------

api = APIRouter(
    prefix="/api/v1",
    tags=["requests"],
    responses={404: {"model": ErrorResponse, "description": "no such request"}},
)


@api.get("/requests/{request_id}/receipt")
def receipt(request: Request, request_id: Access) -> dict[str, Any]:
    """Every step of the request with its event's leaf, inclusion proof and the signed head;
    check it offline with `notrain proof verify` or /transparency/verify_receipt.py."""
    return receipt_data(portal_of(request), transparency_of(request).key, request_id)


@api.get("/requests/{request_id}/absence")
def absence(request: Request, request_id: Access) -> dict[str, Any]:
    """For an accepted objection or erasure: per account and per catalogued dataset made
    after the decision, a proof that the account is not in it, or why there is none yet."""
    return absence_data(portal_of(request), transparency_of(request).key, request_id)


def dumps(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
