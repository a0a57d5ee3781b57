"""A real portal: ``notrain serve`` in its own process on 127.0.0.1 and a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from notrain.registry.campaign import read_codes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_portal(
    env: dict[str, str], folder: Path, extra_args: tuple[str, ...] = (), port: int | None = None
) -> Iterator[str]:
    """Start the server (on ``port``, default a free one), wait until /healthz answers,
    yield its base URL, stop it."""
    port = port or free_port()
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "notrain.cli", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", *extra_args],
        env={**os.environ, **env}, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server stopped: {(folder / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_for_code(outbox: Path, email: str, *, after: set[str] | None = None) -> str:
    """The latest code mailed to ``email``, once the portal's mail thread has sent it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if outbox.is_dir():
            fresh = {p.name for p in outbox.glob("*.eml")} - (after or set())
            codes = read_codes(outbox) if fresh else {}
            if email in codes:
                return codes[email]
        time.sleep(0.1)
    raise AssertionError(f"no code for {email} in {outbox} within 30 s")
