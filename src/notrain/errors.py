"""Every way a notrain operation can fail, as one tree.

    NotrainError                  exit 1  HTTP 500  something we did not foresee
    ├── UserError                 exit 2  HTTP 400  the caller must change something
    │   ├── InputError            exit 3  HTTP 422  an input is unreadable or breaks its contract
    │   ├── PolicyError           exit 4  HTTP 422  a policy is malformed or asks the forbidden
    │   ├── SnapshotIntegrityError exit 5 HTTP 409  a snapshot does not match its sidecar hash
    │   └── OutputError           exit 6  HTTP 409  the output location cannot take a dataset
    └── BuildError                exit 7  HTTP 500  an engine failed while building

Each error carries its exit code and HTTP status, so the CLI and (later) the portal map
them the same way. Messages are one line, name the file and say what is wrong; nothing in
this tree is meant to surface as a traceback.
"""

from __future__ import annotations

from pathlib import Path


class NotrainError(Exception):
    """Base of every error notrain raises on purpose."""

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(NotrainError):
    """The caller asked for something that cannot be done as asked."""

    exit_code = 2
    http_status = 400


class InputError(UserError):
    """An input file is unreadable, or a column is missing, mistyped or holds bad values."""

    exit_code = 3
    http_status = 422

    def __init__(self, path: str | Path, problem: str, column: str | None = None) -> None:
        where = f"{path}"
        if column:
            where += f": column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.column = column
        self.problem = problem


class PolicyError(UserError):
    """A policy file does not parse or does not validate; names the line and key when known."""

    exit_code = 4
    http_status = 422

    def __init__(
        self, path: str | Path, problem: str, line: int | None = None, key: str | None = None
    ) -> None:
        where = f"{path}"
        if line is not None:
            where += f":{line}"
        if key:
            where += f": {key}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.key = key
        self.problem = problem


class SnapshotIntegrityError(UserError):
    """A registry snapshot's content does not hash to what its sidecar records."""

    exit_code = 5
    http_status = 409


class OutputError(UserError):
    """The output directory exists already or cannot be written."""

    exit_code = 6
    http_status = 409


class BuildError(NotrainError):
    """An engine failed for a reason that is not the input's fault."""

    exit_code = 7
    http_status = 500
