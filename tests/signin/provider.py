"""A real OpenID provider for the tests: oidc-provider (tests/oidc_provider/) under Node.js.

``running_provider`` starts it on 127.0.0.1 and a free port with its own RSA signing key
(kept here too, so a test can sign a token with the provider's own key but wrong claims),
and ``sign_in`` plays a member at its development sign-in page, which takes any login
and password (the login becomes the ``sub``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
from joserfc.jwk import RSAKey

from tests.portal.server import free_port

FOLDER = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT_ID = "notrain-portal"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
_INPUT = re.compile(r"<input[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_node() -> None:
    """Skip (fail under CI) when Node.js or the provider's packages are missing."""
    if shutil.which("node") is None or not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        message = "Node.js or oidc-provider is missing; scripts/oidc-provider.sh installs them"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Provider:
    issuer: str
    key: RSAKey  # the provider's own signing key (private)

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


@contextmanager
def running_provider(
    redirect_uris: list[str], platform_ids: dict[str, str] | None = None
) -> Iterator[Provider]:
    require_node()
    key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig", "alg": "RS256"})
    port = free_port()
    env = {
        **os.environ,
        "PROVIDER_PORT": str(port),
        "PROVIDER_CLIENT": json.dumps(
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris}
        ),
        "PROVIDER_JWKS": json.dumps({"keys": [key.as_dict(private=True)]}),
        "PROVIDER_PLATFORM_IDS": json.dumps(platform_ids or {}),
    }
    process = subprocess.Popen(
        ["node", "server.mjs"], cwd=FOLDER, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"the OpenID provider stopped: {output}")
            try:
                found = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                if found.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the OpenID provider did not answer within 30 s")
            time.sleep(0.1)
        yield Provider(issuer, key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def _form(page: str, base: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action, page[:2000]
    fields: dict[str, str] = {}
    for tag in _INPUT.findall(page):
        attrs = dict(_ATTR.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = unescape(attrs.get("value", ""))
    return urljoin(base, unescape(action.group(1))), fields


def sign_in(authorization_url: str, login: str, *, stop_at: str) -> str:
    """Sign in at the provider as ``login``; the URL it sends the browser back to (the
    first redirect that starts with ``stop_at``), with the code and state."""
    with httpx.Client(timeout=10) as browser:
        answer = browser.get(authorization_url)
        for _ in range(10):
            if answer.status_code in (302, 303):
                target = urljoin(str(answer.url), answer.headers["location"])
                if target.startswith(stop_at):
                    return target
                answer = browser.get(target)
                continue
            assert answer.status_code == 200, answer.text[:2000]
            action, fields = _form(answer.text, str(answer.url))
            fields.update(login=login, password="any password")
            answer = browser.post(action, data=fields)
        raise AssertionError("the provider did not send the browser back")
