"""Path traversal: the portal's static files and request ids, media paths in
``notrain signals scan-media``, and file names inside a dataset's manifest.

Static files are asked for with raw paths, as a client that does not normalise ``..``
would send them (httpx would clean them up), straight to the ASGI app, with ``path``
unquoted from ``raw_path`` as uvicorn does.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from notrain.corpus.dataset import verify
from notrain.portal import create_app
from notrain.settings import Settings
from notrain.signals.scan import resolve_media, scan_media
from tests.portal.fixtures import Site

SECRET = b"root:x:0:0:the-secret-marker:/root:/bin/bash\n"
LEAKED = (b"the-secret-marker", b"root:x:0:0", b"create_app", b"[project]", b"import ")


@pytest.fixture
def static_app(tmp_path: Path) -> FastAPI:
    settings = Settings(  # type: ignore[call-arg]  # every field has a default
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        outbox_dir=str(tmp_path / "outbox"),
        secret_key=SecretStr("path-test-secret-key-0123456789"),
        portal_secure_cookies=False,
    )
    return create_app(settings, deliver_mail=False)


def raw_get(app: FastAPI, raw_path: bytes) -> tuple[int, bytes]:
    """GET ``raw_path`` exactly as sent, no client-side clean-up."""
    answer: dict[str, Any] = {"status": 0, "body": b""}

    requested = False
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        # The request (no body) once; then, as a server does for an app that listens
        # while it streams a file, nothing until the response is over.
        nonlocal requested
        if requested:
            await done.wait()
            return {"type": "http.disconnect"}
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                done.set()

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": unquote(raw_path.decode("latin-1")), "raw_path": raw_path,
        "root_path": "", "query_string": b"", "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return answer["status"], answer["body"]


TRAVERSALS = [
    b"/static/../app.py",
    b"/static/../../../../pyproject.toml",
    b"/static/../../../../../../../../etc/passwd",
    b"/static/%2e%2e/app.py",
    b"/static/%2e%2e%2fapp.py",
    b"/static/..%2f..%2f..%2f..%2fpyproject.toml",
    b"/static/..%5capp.py",
    b"/static/....//app.py",
    b"/static//etc/passwd",
    b"/static/%2fetc%2fpasswd",
    b"/static/..;/app.py",
    b"/static/%252e%252e/app.py",
    b"/static/.%00./app.py",
    b"/static/portal.css%00.py",
    b"/static/%c0%ae%c0%ae/app.py",
    b"/static/templates/../../app.py",
]


def test_static_files_stay_in_their_folder(static_app: FastAPI) -> None:
    status, body = raw_get(static_app, b"/static/portal.css")
    assert status == 200
    assert body  # the folder does serve files
    for raw in TRAVERSALS:
        status, body = raw_get(static_app, raw)
        assert status in (400, 404, 405), (raw, status)
        assert not any(leak in body for leak in LEAKED), raw


@pytest.mark.parametrize(
    "request_id", ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "req-0000000000000000/../x",
                   "req-0000000000000000%00", "%2e%2e"],
)  # fmt: skip
def test_request_ids_are_never_paths(client: Site, request_id: str) -> None:
    for suffix in ("/access.json", "", "/receipt", "/code"):
        answer = client.client.get(f"/requests/{request_id}{suffix}?format=json")
        assert answer.status_code == 404, (request_id, suffix, answer.status_code)
        assert "content-disposition" not in answer.headers
        assert answer.json()["error"]["type"] in ("RequestNotFound", "NotFound")


# -- media paths ----------------------------------------------------------------------------


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    (root / "2025").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "passwd").write_bytes(SECRET)
    (tmp_path / "passwd").write_bytes(SECRET)
    (root / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    (root / "2025" / "up").symlink_to(root.parent)
    return root


HOSTILE_URIS = [
    "../passwd", "../../passwd", "../outside/passwd", "2025/../../passwd", "linked/passwd",
    "2025/up/passwd", "2025/up/outside/passwd", "./../passwd", "2025/./../../passwd",
    "/etc/passwd", "//etc/passwd", "\\..\\passwd", "file:///etc/passwd", "file:../passwd",
    "C:../passwd", "..", ".", "", "\x00", "2025/\x00/../../passwd", "%2e%2e/passwd",
    "~/passwd", "2025/" + "../" * 40 + "etc/passwd",
]  # fmt: skip


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(uri=st.one_of(
    st.lists(st.sampled_from(["..", ".", "2025", "linked", "up", "passwd", "", "/", "\\",
                              "%2e%2e", "outside", "..\\.."]), max_size=8).map("/".join),
    st.text(max_size=40),
))  # fmt: skip
def test_resolved_media_paths_never_leave_the_root(media_root: Path, uri: str) -> None:
    path, problem = resolve_media(media_root, uri)
    if path is None:
        assert problem
    else:
        assert Path(path).resolve().is_relative_to(media_root.resolve()), uri


def test_media_scan_never_reads_outside_the_root(tmp_path: Path, media_root: Path) -> None:
    rows = list(enumerate(HOSTILE_URIS, start=1))
    table = pa.table({
        "content_id": pa.array([r[0] for r in rows], pa.int64()),
        "kind": pa.array(["photo"] * len(rows)),
        "media_uri": pa.array([r[1] for r in rows], pa.string()),
    })  # fmt: skip
    pq.write_table(table, tmp_path / "content.parquet")
    out = tmp_path / "signals.parquet"
    summary = scan_media(str(tmp_path / "content.parquet"), media_root, out, workers=0)
    assert summary.rows == len(rows)
    for row in pq.read_table(out).to_pylist():
        assert row["decision"] == "error", row
        reasons = ("file not found", "media root", "NUL byte", "is a directory")
        assert any(reason in row["error"] for reason in reasons), row
        assert "the-secret-marker" not in json.dumps(row, default=str)


# -- a dataset's own file names -------------------------------------------------------------


def test_dataset_verify_refuses_file_names_that_leave_the_dataset(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    outside = tmp_path / "elsewhere.parquet"
    outside.write_bytes(SECRET)
    manifest = {
        "shards": [{"file": "../elsewhere.parquet",
                    "sha256": hashlib.sha256(SECRET).hexdigest()}],
        "files": {},
    }  # fmt: skip
    (dataset / "manifest.json").write_text(json.dumps(manifest))
    assert verify(dataset) != []  # a shard that is not in the dataset is a problem
