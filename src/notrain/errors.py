"""Every way a notrain operation can fail, as one tree.

    NotrainError                  exit 1  HTTP 500  something we did not foresee
    ├── UserError                 exit 2  HTTP 400  the caller must change something
    │   ├── InputError            exit 3  HTTP 422  an input is unreadable or breaks its contract
    │   ├── PolicyError           exit 4  HTTP 422  a policy is malformed or asks the forbidden
    │   ├── SnapshotIntegrityError exit 5 HTTP 409  a snapshot does not match its sidecar hash
    │   ├── OutputError           exit 6  HTTP 409  the output location cannot take a dataset
    │   ├── RequestInvalid        exit 10 HTTP 422  a field of a request is bad or too long
    │   ├── RequestNotFound       exit 11 HTTP 404  no request (or officer) has that id
    │   ├── RequestStateError     exit 12 HTTP 409  the request's state does not allow this step
    │   ├── VerificationFailed    exit 13 HTTP 400  the e-mail code does not verify
    │   │   ├── CodeWrong         exit 13 HTTP 400  not the code that was sent (attempts left)
    │   │   ├── CodeExpired       exit 13 HTTP 410  the code is past its 15 minutes
    │   │   └── CodeAttemptsExhausted exit 13 HTTP 429  five wrong tries: ask for a new code
    │   ├── RateLimited           exit 14 HTTP 429  resend too soon, or the hourly cap is reached
    │   ├── AuthenticationFailed  exit 15 HTTP 401  unknown officer or wrong password
    │   │   └── NotSignedIn       exit 15 HTTP 401  the console needs a signed-in officer
    │   ├── CsrfRejected          exit 2  HTTP 403  a form came without its anti-forgery token
    │   ├── MetricsForbidden      exit 2  HTTP 403  /metrics without its token, off loopback
    │   ├── ScopeMissing          exit 2  HTTP 403  an API key was not made for this call
    │   ├── SignInFailed          exit 2  HTTP 401  the platform's sign-in did not prove who it is
    │   ├── NotAMember            exit 2  HTTP 403  the signed-in person has no account here
    │   ├── IdempotencyConflict   exit 2  HTTP 422  an Idempotency-Key reused for another call
    │   ├── BodyTooLarge          exit 2  HTTP 413  a request body is over the portal's limit
    │   ├── ExtraNotInstalled     exit 18 HTTP 501  an optional part (pip extra) is not installed
    │   ├── EngineUnavailableError exit 19 HTTP 503  Spark cannot start: no Java, no cluster
    │   ├── DatasetNotFound       exit 21 HTTP 404  no catalogued dataset has that id
    │   └── ProofInvalid          exit 22 HTTP 422  a receipt or proof does not hold (says why)
    ├── BuildError                exit 7  HTTP 500  an engine failed while building
    ├── ScanError                 exit 20 HTTP 500  a signals scan cannot run its worker processes
    ├── DatabaseError             exit 9  HTTP 503  the registry database is unreachable
    ├── AuditChainBroken          exit 16 HTTP 500  an audit event was changed, removed or reordered
    └── MailDeliveryError         exit 17 HTTP 502  the SMTP server refused or could not be reached

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
        # One line, always: messages quoting a library's error can carry its newlines.
        message = " ".join(message.split())
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


class RequestInvalid(UserError):
    """A field of a request (form, import row or option) is malformed, unknown or too long."""

    exit_code = 10
    http_status = 422

    def __init__(self, field: str, problem: str, where: str | None = None) -> None:
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{field}: {problem}")
        self.field = field
        self.problem = problem


class RequestNotFound(UserError):
    """No request, or no officer, is known by that id."""

    exit_code = 11
    http_status = 404


class RequestStateError(UserError):
    """The request is in a state that does not allow the step asked for."""

    exit_code = 12
    http_status = 409


class VerificationFailed(UserError):
    """The e-mail verification code does not verify. Says nothing about accounts."""

    exit_code = 13
    http_status = 400


class CodeWrong(VerificationFailed):
    """The code is not the one sent; ``attempts_left`` more tries are allowed on it."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(
            f"wrong code; {attempts_left} attempt{'s' if attempts_left != 1 else ''} left"
            if attempts_left
            else "wrong code; no attempts left, ask for a new code"
        )
        self.attempts_left = attempts_left


class CodeExpired(VerificationFailed):
    """The code is older than its validity; a new one must be asked for."""

    http_status = 410


class CodeAttemptsExhausted(VerificationFailed):
    """Every attempt allowed on the code was used; a new one must be asked for."""

    http_status = 429


class RateLimited(UserError):
    """Asked again too soon, or too often within the hour; ``retry_after`` is in seconds."""

    exit_code = 14
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationFailed(UserError):
    """An officer's name or password is wrong (never says which)."""

    exit_code = 15
    http_status = 401


class NotSignedIn(AuthenticationFailed):
    """A console page was asked for without a valid session (none, expired or revoked)."""


class CsrfRejected(UserError):
    """A form was posted without the anti-forgery token of this browser, or cross-site."""

    http_status = 403


class MetricsForbidden(UserError):
    """``/metrics`` was asked for without NOTRAIN_METRICS_TOKEN, or (with none set) from
    beyond the loopback interface."""

    http_status = 403


class ScopeMissing(UserError):
    """An API key lacks the scope the call needs (``status`` or ``submit``)."""

    http_status = 403


class SignInFailed(UserError):
    """The platform's OpenID sign-in failed or did not verify: a missing, replayed or
    mismatched ``state``, a refused code, an ID token with a bad signature or claims."""

    http_status = 401


class NotAMember(UserError):
    """The platform's sign-in names someone who is no account in the accounts file."""

    http_status = 403


class IdempotencyConflict(UserError):
    """An ``Idempotency-Key`` was used before for a different call."""

    http_status = 422


class BodyTooLarge(UserError):
    """A request body is larger than ``NOTRAIN_PORTAL_MAX_BODY_BYTES``."""

    http_status = 413


class DatabaseError(NotrainError):
    """The registry database cannot be reached, opened or migrated."""

    exit_code = 9
    http_status = 503


class ProofInvalid(UserError):
    """A receipt, signed head or proof of absence does not verify; the message says why."""

    exit_code = 22
    http_status = 422


class AuditChainBroken(NotrainError):
    """The audit trail does not verify: ``seq`` is the first event where the chain breaks."""

    exit_code = 16
    http_status = 500

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class MailDeliveryError(NotrainError):
    """The mail server could not be reached or refused a message; it stays queued."""

    exit_code = 17
    http_status = 502


class ExtraNotInstalled(UserError):
    """A command needs an optional extra that is not installed; the message says how."""

    exit_code = 18
    http_status = 501

    def __init__(self, extra: str, packages: list[str]) -> None:
        super().__init__(
            f"this needs the {extra!r} extra ({', '.join(packages)} missing): "
            f"pip install 'notrain[{extra}]'"
        )
        self.extra = extra
        self.packages = packages


class EngineUnavailableError(UserError):
    """The chosen build engine cannot start: no Java runtime, or its cluster is unreachable.

    A missing Python package is :class:`ExtraNotInstalled`; this is what remains once the
    package is there.
    """

    exit_code = 19
    http_status = 503


class ScanError(NotrainError):
    """A signals scan cannot run: its worker processes do not start. Not a file's fault —
    a file that kills its worker is an error row, not this."""

    exit_code = 20
    http_status = 500


class DatasetNotFound(UserError):
    """No dataset in the catalogue has that id."""

    exit_code = 21
    http_status = 404
