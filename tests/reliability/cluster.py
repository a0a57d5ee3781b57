"""A throwaway PostgreSQL 15 cluster a test can stop and start again, and an SMTP server
that can go away and come back on the same port.

The cluster is made by ``scripts/postgres.sh start DIR`` (as the ``postgres`` user when run
as root), stopped with ``pg_ctl stop -m immediate`` (every server process quits at once,
without a checkpoint, as in a crash or a power cut; the next start replays the WAL) and
started again with the same data directory, port and options.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tests.mail.smtp_server import Inbox

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "postgres.sh"
BIN = Path("/usr/lib/postgresql/15/bin")


def postgres_available() -> bool:
    return (BIN / "pg_ctl").is_file() and (BIN / "initdb").is_file()


def _as_owner(*command: str) -> list[str]:
    # initdb and pg_ctl refuse to run as root; scripts/postgres.sh does the same.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return list(command)


class PostgresCluster:
    """``start()`` makes the cluster; ``stop_server()``/``start_server()`` restart it."""

    def __init__(self) -> None:
        # Outside pytest's tmp_path: the postgres user must be able to reach the directory.
        self.dir = Path(tempfile.mkdtemp(prefix="notrain-reliability-pg."))
        self.url = ""
        self.port = 0

    def start(self) -> str:
        done = subprocess.run(
            [str(SCRIPT), "start", str(self.dir)],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"scripts/postgres.sh start failed: {done.stderr[-2000:]}")
        self.url = done.stdout.strip().splitlines()[-1]
        self.port = int((self.dir / "port").read_text().strip())
        return self.url

    def stop_server(self) -> None:
        """``pg_ctl stop -m immediate``: a crash; transactions in flight are lost."""
        self._pg_ctl("-D", str(self.dir / "data"), "-m", "immediate", "-w", "-t", "60", "stop")

    def start_server(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -F -c max_connections=200"
        self._pg_ctl(
            "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"),
            "-w", "-t", "60", "-o", options, "start",
        )  # fmt: skip

    def _pg_ctl(self, *args: str) -> None:
        done = subprocess.run(
            _as_owner(str(BIN / "pg_ctl"), *args),
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[-1]} failed: {done.stdout}{done.stderr}")

    def destroy(self) -> None:
        subprocess.run(
            [str(SCRIPT), "stop", str(self.dir)], capture_output=True, timeout=120, check=False
        )
        shutil.rmtree(self.dir, ignore_errors=True)


class _Controller(Controller):
    """Remembers its sessions: aiosmtpd's ``stop`` leaves a connected client's socket open
    (it warns when collected, an error under pytest), and a server going away drops it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session: SMTP = super().factory()  # type: ignore[no-untyped-call]
        self.sessions.append(session)
        return session

    async def hang_up(self) -> None:
        if self.server is not None:
            self.server.close()
        # A connection accepted as the server closed gets its session's transport a moment
        # later: hang up until two checks in a row find none left open.
        quiet = 0
        while quiet < 2:
            await asyncio.sleep(0.05)  # connection_made and connection_lost run meanwhile
            still_open = [
                s.transport
                for s in self.sessions
                if s.transport is not None and not s.transport.is_closing()
            ]
            for transport in still_open:
                # At once, unsent replies dropped: the server is gone.
                if isinstance(transport, asyncio.Transport):
                    transport.abort()
                else:
                    transport.close()
            quiet = 0 if still_open else quiet + 1
        await asyncio.sleep(0.1)  # the closed sockets are released


class SmtpSwitch:
    """A real SMTP server (aiosmtpd) on one loopback port, stopped and started at will;
    every message it accepts, across restarts, lands in one :class:`Inbox`. Stopping it
    hangs up on a connected client, as a mail server going away does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller: _Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            controller = _Controller(self.inbox, hostname="127.0.0.1", port=self.port)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            controller = self._controller
            asyncio.run_coroutine_threadsafe(controller.hang_up(), controller.loop).result(30)
            controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSwitch:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
