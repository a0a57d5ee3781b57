"""The platform's member accounts, as the registry matches requesters against them.

Matching is by verified e-mail (case-insensitive; every account with that address) or by
handle (case-insensitive, as the contract says). The accounts file is the platform's, in
the accounts contract; only ``user_id``, ``handle`` and ``email`` are read.
"""

from __future__ import annotations

import glob
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from notrain.errors import InputError

_COLUMNS = ("user_id", "handle", "email")


@dataclass(frozen=True)
class Account:
    """One member account, as the platform's sign-in and its server name it."""

    user_id: int
    handle: str
    email: str | None
    country: str | None


class AccountDirectory(Protocol):
    def by_email(self, email: str) -> list[int]:
        """Every account whose address is ``email`` (lower case), in id order."""
        ...

    def by_handle(self, handle: str) -> int | None:
        """The account with ``handle`` (lower case, no @), if any."""
        ...


class NoAccounts:
    """No accounts file: every requester is treated as a non-member (and reviewed)."""

    def by_email(self, email: str) -> list[int]:
        del email
        return []

    def by_handle(self, handle: str) -> int | None:
        del handle
        return None


class AccountIndex:
    """Accounts held in memory as two lookups; built from rows or a Parquet source."""

    def __init__(
        self,
        rows: Sequence[tuple[int, str, str | None] | tuple[int, str, str | None, str | None]],
    ) -> None:
        self._by_email: dict[str, list[int]] = defaultdict(list)
        self._by_handle: dict[str, int] = {}
        self._email_of: dict[int, str] = {}
        # The rest of an account, for members who sign in (rows may leave out the country).
        self._accounts: dict[int, tuple[str, str | None]] = {}
        for row in sorted(rows, key=lambda r: r[0]):
            user_id, handle, email = row[0], row[1], row[2]
            self._accounts[user_id] = (handle, row[3] if len(row) == 4 else None)
            self._by_handle[handle.lower()] = user_id
            if email:
                self._by_email[email.strip().lower()].append(user_id)
                self._email_of[user_id] = email.strip().lower()
        self.size = len(rows)

    def by_email(self, email: str) -> list[int]:
        return list(self._by_email.get(email.lower(), ()))

    def by_handle(self, handle: str) -> int | None:
        return self._by_handle.get(handle.lower().removeprefix("@"))

    def email_of(self, user_id: int) -> str | None:
        """The account's address (lower case), if it has one."""
        return self._email_of.get(user_id)

    def account(self, user_id: int) -> Account | None:
        """The account ``user_id``, if the platform has it."""
        found = self._accounts.get(user_id)
        if found is None:
            return None
        return Account(user_id, found[0], self._email_of.get(user_id), found[1])

    @classmethod
    def from_parquet(cls, spec: str | Path) -> AccountIndex:
        """Read a Parquet file, a directory of shards or a glob."""
        import pyarrow.dataset as pads  # slow to import; only commands that match need it

        text = str(spec)
        if any(ch in text for ch in "*?["):
            files = sorted(glob.glob(text, recursive=True))
            if not files:
                raise InputError(text, "no accounts file matches this pattern")
            source: str | list[str] = files
        elif Path(text).exists():
            source = text
        else:
            raise InputError(text, "accounts file not found")
        try:
            dataset = pads.dataset(source, format="parquet")
            # The country is the contract's too; older files without it still load.
            wanted = [*_COLUMNS, *(["country"] if "country" in dataset.schema.names else [])]
            table = dataset.to_table(columns=wanted)
        except (OSError, ValueError, pa.ArrowInvalid) as exc:
            problem = str(exc).splitlines()[0]
            raise InputError(
                text, f"unreadable accounts (Parquet with {', '.join(_COLUMNS)}): {problem}"
            ) from None
        if table.column("user_id").null_count or table.column("handle").null_count:
            raise InputError(text, "null user_id or handle", column="user_id")
        countries = (
            table.column("country").to_pylist()
            if "country" in table.column_names
            else [None] * table.num_rows
        )
        rows = list(
            zip(
                table.column("user_id").to_pylist(),
                table.column("handle").to_pylist(),
                table.column("email").to_pylist(),
                countries,
                strict=True,
            )
        )
        return cls(rows)


def load_accounts(spec: str | Path | None) -> AccountDirectory:
    return AccountIndex.from_parquet(spec) if spec else NoAccounts()
