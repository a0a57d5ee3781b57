"""The access answer from lineage, end to end: a built dataset, a member asks, an officer
accepts, the status page and its JSON download say what of theirs is where."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from notrain.corpus.build import BuildRequest, build_dataset
from notrain.lineage.access import access_answer
from notrain.lineage.catalogue import register_dataset, register_model
from notrain.policy.loader import load_default_policy
from notrain.registry.export import snapshot_table
from notrain.registry.snapshot import write_snapshot
from notrain.synth import synthesize_platform
from tests.portal.fixtures import Site

AS_OF = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def accounts_path(tmp_path: Path) -> Path:
    """The synthetic platform's accounts replace the small registry set here."""
    root = tmp_path / "platform"
    synthesize_platform(root, 200, seed=5, batch_rows=5000)
    return root / "accounts.parquet"


def _member_with_content(accounts: Path, dataset: Path) -> tuple[int, str]:
    authors = Counter(pq.read_table(dataset / "lineage.parquet").column("author_id").to_pylist())
    emails = {
        r["user_id"]: r["email"]
        for r in pq.read_table(accounts, columns=["user_id", "email"]).to_pylist()
        if r["email"]
    }
    user_id = max((u for u in authors if u in emails), key=lambda u: (authors[u], u))
    return user_id, emails[user_id]


def test_accepted_access_request_shows_the_lineage_answer(
    signed_in: Site, accounts_path: Path, tmp_path: Path
) -> None:
    platform = accounts_path.parent
    empty = write_snapshot(snapshot_table([]), tmp_path / "empty.parquet").path
    dataset = tmp_path / "v1"
    build_dataset(
        BuildRequest(
            content=str(platform / "content.parquet"), accounts=str(accounts_path),
            registry=str(empty), out=dataset, policy=load_default_policy(), as_of=AS_OF,
            chunk_rows=5000,
        )
    )  # fmt: skip
    with signed_in.portal.registry() as registry:
        entry = register_dataset(registry.session, dataset)
        register_model(registry.session, entry.id, "chat-small-v1")
        registry.session.commit()
    user_id, email = _member_with_content(accounts_path, dataset)

    request_id = signed_in.submit("access", email=email, country="FR")
    signed_in.confirm(request_id, email)
    before = signed_in.client.get(signed_in.status_path(request_id) + "&format=json").json()
    assert before["access"] is None  # not before an officer accepts it
    page = f"/console/requests/{request_id}"
    assert signed_in.post_form(page, f"{page}/decide", {"outcome": "accept"}).status_code == 303

    status = signed_in.client.get(signed_in.status_path(request_id) + "&format=json").json()
    with signed_in.portal.registry() as registry:
        expected = access_answer(registry.session, [user_id], [email]).model_dump(mode="json")
    assert status["access"] == expected
    assert [d["dataset_id"] for d in status["access"]["datasets"]] == [entry.id]
    assert status["access"]["datasets"][0]["models"] == ["chat-small-v1"]
    french = {"accept-language": "fr"}
    html = signed_in.client.get(signed_in.status_path(request_id), headers=french)
    assert entry.id in html.text
    assert "chat-small-v1" in html.text
    assert "Télécharger la réponse complète (JSON)" in html.text
    download = signed_in.client.get(signed_in.status_path(request_id, "/access.json"))
    assert download.json() == expected
