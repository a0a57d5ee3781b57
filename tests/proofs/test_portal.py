"""The portal's transparency pages and a requester's receipts: downloaded, mailed, checked."""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from fastapi import FastAPI

from notrain.proofs.heads import TreeHead
from notrain.proofs.receipts import verify_receipt
from notrain.settings import Settings
from tests.portal.fixtures import Site
from tests.registry.fixtures import ALICE, STRANGER


@pytest.fixture
def portal_settings(portal_settings: Settings, tmp_path: Any) -> Settings:
    return portal_settings.model_copy(
        update={"transparency_key_file": str(tmp_path / "transparency.key")}
    )


def _public_key(client: Site) -> bytes:
    answer = client.client.get("/transparency/key")
    assert answer.status_code == 200
    return bytes.fromhex(answer.json()["public_key"])


def _attachments(client: Site, to: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted(client.outbox.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if str(message["To"]).lower() != to:
            continue
        for part in message.iter_attachments():
            found.append(json.loads(part.get_content()))
    return found


def test_a_receipt_is_downloaded_mailed_and_served_and_verifies(client: Site) -> None:
    request_id = client.submit(email=ALICE, country="DE")
    answer = client.confirm(request_id, ALICE)
    assert answer.status_code == 303, answer.text
    public = _public_key(client)

    status = client.client.get(client.status_path(request_id))
    assert f"/requests/{request_id}/receipt.json?token=" in status.text
    # The id alone opens no receipt: it takes the status token the code gave.
    assert client.client.get(f"/requests/{request_id}/receipt.json").status_code == 404
    assert client.client.get(f"/api/v1/requests/{request_id}/receipt").status_code == 404
    download = client.client.get(client.status_path(request_id, "/receipt.json"))
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    receipt = download.json()
    assert [s["state"] for s in receipt["steps"]] == ["submitted", "verified", "accepted"]
    verify_receipt(receipt, public)

    api = client.client.get(client.status_path(request_id, "/receipt", api=True))
    assert api.status_code == 200
    verify_receipt(api.json(), public)

    client.deliver()  # the notice of acceptance carries the receipt
    [mailed] = _attachments(client, ALICE)
    assert mailed["request_id"] == request_id
    assert mailed["steps"][-1]["state"] == "accepted"
    verify_receipt(mailed, public)

    head = client.client.get("/transparency/head").json()
    TreeHead.of(head).verify(public)
    assert head["size"] >= receipt["tree_head"]["size"]
    proof = client.client.get(
        "/transparency/consistency", params={"first": 1, "second": head["size"]}
    )
    assert proof.status_code == 200

    page = client.client.get(client.status_path(request_id, "/proofs"))
    assert page.status_code == 200
    assert "receipt.json" in page.text
    absence = client.client.get(client.status_path(request_id, "/absence", api=True)).json()
    assert [s["datasets"] for s in absence["subjects"]] == [[], []]  # two accounts, no dataset


def test_the_transparency_page_and_unknown_requests(client: Site, app: FastAPI) -> None:
    client.confirm(client.submit(email=STRANGER, country="DE", names="Dana Stranger"), STRANGER)
    page = client.client.get("/transparency")
    assert page.status_code == 200
    key = app.state.transparency.key
    assert key.public.hex() in page.text
    as_json = client.client.get("/transparency", headers={"accept": "application/json"}).json()
    assert as_json["key"]["key_id"] == key.key_id
    for path in ("/api/v1/requests/req-0000000000000000/receipt",
                 "/api/v1/requests/nonsense/absence",
                 "/requests/req-0000000000000000/receipt.json"):  # fmt: skip
        assert client.client.get(path).status_code == 404, path
