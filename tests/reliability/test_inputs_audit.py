"""Bad input everywhere (issue 8), the cases the other suites leave out.

- Oversized bodies: a form gets a readable page, the API the one JSON error shape, and a
  real server answers 413 before the body has been sent at all (declared length) or
  before it ends (chunked, no length).
- `notrain build` and `notrain policy check` from the command line on corrupt files: one
  line naming the file, a non-zero exit, no traceback, nothing published.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from notrain.errors import InputError, PolicyError
from tests.corpus.world import World
from tests.portal.fixtures import Site
from tests.portal.fixtures import app as app  # fixtures of the portal's tests
from tests.portal.fixtures import client as client
from tests.portal.fixtures import portal_settings as portal_settings
from tests.portal.server import running_portal
from tests.registry.fixtures import accounts_path as accounts_path
from tests.registry.fixtures import clock as clock
from tests.registry.fixtures import database_url as database_url

LIMIT = 65_536  # the default NOTRAIN_PORTAL_MAX_BODY_BYTES


# -- oversized bodies ---------------------------------------------------------------------


def test_an_oversized_form_gets_a_readable_page(client: Site) -> None:
    answer = client.client.post(
        "/request/objection",
        content=b"email=" + b"a" * (LIMIT + 1),
        headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"},
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert "too large" in answer.text
    assert "content-security-policy" in answer.headers


def test_an_oversized_api_body_gets_the_json_error_shape(client: Site) -> None:
    answer = client.client.post(
        "/api/v1/requests",
        content=b"{" + b" " * LIMIT + b"}",
        headers={"content-type": "application/json", "accept": "text/html"},
    )
    assert answer.status_code == 413
    assert set(answer.json()["error"]) == {"type", "status", "message", "field", "retry_after"}
    assert answer.json()["error"]["type"] == "BodyTooLarge"


def _status_line(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


@pytest.fixture(scope="module")
def real_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("portal")
    env = {
        "NOTRAIN_DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "NOTRAIN_SECRET_KEY": "inputs-audit-secret-key-0123456789",
        "NOTRAIN_PORTAL_SECURE_COOKIES": "false",
        "NOTRAIN_SMTP_HOST": "",
        "NOTRAIN_OUTBOX_DIR": str(folder / "outbox"),
    }
    with running_portal(env, folder) as base:
        yield base


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=20)


def test_a_declared_length_is_refused_before_any_body_is_sent(real_portal: str) -> None:
    with _connect(real_portal) as sock:
        sock.sendall(
            b"POST /api/v1/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
        )  # and not one byte of the body
        assert _status_line(sock) == "HTTP/1.1 413 Request Entity Too Large"


def test_a_chunked_body_without_length_is_cut_off_before_it_ends(real_portal: str) -> None:
    with _connect(real_portal) as sock:
        sock.sendall(
            b"POST /request/objection HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"a" * 4096
        sent = 0
        # Keep sending, never the closing chunk, until the server answers: it must answer
        # once the limit is passed, with the body still unfinished.
        while sent < 64 * LIMIT:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                break  # the server closed the connection after answering
            sent += len(chunk)
        assert _status_line(sock) == "HTTP/1.1 413 Request Entity Too Large"
        assert sent < 64 * LIMIT


# -- bad files on the command line ----------------------------------------------------------

HEADER = "content_id,author_id,kind,visibility,created_at,text,media_uri,parent_id,mentions,tags"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, dict[str, object]]:
    root = tmp_path_factory.mktemp("world")
    w = World()
    ann = w.account(1, handle="ann")
    w.item(ann, text="hi", content_id=1, mentions=[1], tags=[1])
    accounts, content, registry = w.write(root / "in")
    row = pq.read_table(content).to_pylist()[0]
    row["created_at"] = row["created_at"].isoformat()
    return accounts, content, registry, row


def _notrain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notrain.cli", *args], capture_output=True, text=True, check=False
    )


def _build(
    content: Path, accounts: Path, registry: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return _notrain("build", "--content", str(content), "--accounts", str(accounts),
                    "--registry", str(registry), "--out", str(out), "--as-of", "2026-06-01",
                    *extra)  # fmt: skip


def _bad_file(name: str, content: Path, row: dict[str, object]) -> bytes:
    csv_row = "1,1,post,public,2025-01-01T00:00:00Z,{text},,,[1],[1]"
    if name == "truncated.parquet":
        raw = content.read_bytes()
        return raw[: len(raw) // 2]
    if name == "not-utf8.csv":
        return (HEADER + "\n" + csv_row.format(text="h\xffi") + "\n").encode("latin-1")
    if name == "not-utf8.jsonl":
        return json.dumps(row).encode().replace(b'"hi"', b'"h\xffi"') + b"\n"
    if name == "null-id.csv":
        return (HEADER + "\n" + csv_row.format(text="hi").replace("1,", ",", 1) + "\n").encode()
    if name == "null-created.jsonl":
        return (json.dumps({**row, "created_at": None}) + "\n").encode()
    if name == "text-id.jsonl":
        return (json.dumps({**row, "content_id": "abc"}) + "\n").encode()
    if name == "text-mentions.csv":
        return (HEADER + "\n" + csv_row.format(text="hi").replace("[1],[1]", "x,[1]")).encode()
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("truncated.parquet", "unreadable parquet"),
        ("not-utf8.csv", "unreadable csv"),
        ("not-utf8.jsonl", "UTF-8"),
        ("null-id.csv", "null content_id"),
        ("null-created.jsonl", "null created_at"),
        ("text-id.jsonl", "content_id"),
        ("text-mentions.csv", "BIGINT[]"),
    ],
)
def test_build_refuses_a_bad_file_in_one_line_and_publishes_nothing(
    tmp_path: Path, world: tuple[Path, Path, Path, dict[str, object]], name: str, says: str
) -> None:
    accounts, content, registry, row = world
    bad = tmp_path / name
    bad.write_bytes(_bad_file(name, content, row))
    out = tmp_path / "out"
    proc = _build(bad, accounts, registry, out)
    assert proc.returncode == InputError.exit_code
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {bad}:")
    assert says in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no staging left either


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_huge_string_is_data_not_an_error(
    tmp_path: Path, world: tuple[Path, Path, Path, dict[str, object]], suffix: str
) -> None:
    accounts, _, registry, row = world
    huge = tmp_path / f"huge{suffix}"
    text = "x" * 5_000_000  # past DuckDB's default CSV line limit (2 MB)
    if suffix == ".jsonl":
        huge.write_text(json.dumps({**row, "text": text}) + "\n")
    else:
        huge.write_text(HEADER + f"\n1,1,post,public,2025-01-01T00:00:00Z,{text},,,[],[]\n")
    out = tmp_path / "out"
    proc = _build(huge, accounts, registry, out)
    assert proc.returncode == 0, proc.stderr
    assert (out / "manifest.json").exists()


def test_a_valid_jsonl_whose_lists_are_all_empty_builds(
    tmp_path: Path, world: tuple[Path, Path, Path, dict[str, object]]
) -> None:
    accounts, _, registry, row = world
    good = tmp_path / "content.jsonl"
    good.write_text(json.dumps({**row, "mentions": [], "tags": []}) + "\n")
    proc = _build(good, accounts, registry, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("case", ["syntax", "not-utf8", "directory", "missing"])
def test_policy_check_says_what_is_wrong_in_one_line(tmp_path: Path, case: str) -> None:
    path = tmp_path / "policy.toml"
    if case == "syntax":
        path.write_text("[purpose\n")
    elif case == "not-utf8":
        path.write_bytes(b'name = "\xff"\n')
    elif case == "directory":
        path.mkdir()
    proc = _notrain("policy", "check", str(path))
    assert proc.returncode == PolicyError.exit_code != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {path}")
    assert proc.stderr.count("\n") == 1


def test_a_bad_policy_publishes_nothing(
    tmp_path: Path, world: tuple[Path, Path, Path, dict[str, object]]
) -> None:
    accounts, content, registry, _ = world
    policy = tmp_path / "policy.toml"
    policy.write_text('kinds = ["private_message"\n')
    out = tmp_path / "out"
    proc = _build(content, accounts, registry, out, "--policy", str(policy))
    assert proc.returncode == PolicyError.exit_code
    assert proc.stderr.startswith(f"error: {policy}")
    assert "Traceback" not in proc.stderr
    assert not out.exists()
