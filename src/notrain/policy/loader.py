"""Read a policy file into a :class:`Policy`, or say exactly where and why it is wrong.

Every user mistake becomes one :class:`~notrain.errors.PolicyError` naming the file, the
line and the dotted key, e.g.::

    mypolicy.toml:12: content.kinds: private_message can never be used for training

The sha256 kept with a loaded policy is of the file's exact bytes: it is what a dataset
manifest records, so anyone holding the file can check it is the one a build used.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from notrain.errors import PolicyError
from notrain.policy.locator import KeyLines, Loc, locate_keys
from notrain.policy.model import Policy

DEFAULT_SOURCE = "<default>"

_TOML_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy and the exact text it was read from."""

    policy: Policy
    source: str
    text: str
    sha256: str


def load_policy(path: Path) -> LoadedPolicy:
    """Read and validate the policy file at ``path``."""
    if path.is_dir():
        raise PolicyError(path, "is a directory, not a policy file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(path, "no such file") from None
    except OSError as error:
        raise PolicyError(path, f"cannot be read: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start]
        raise PolicyError(
            path, f"is not UTF-8 text (byte 0x{byte:02x} cannot be decoded)", line=line
        ) from None
    return _load(text, str(path), hashlib.sha256(data).hexdigest())


def load_policy_text(text: str, source: str) -> LoadedPolicy:
    """Validate policy ``text``; ``source`` names it in errors (a path, or ``<default>``)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as error:
        line = text[: error.start].count("\n") + 1
        raise PolicyError(source, "holds characters that are not valid Unicode", line) from None
    return _load(text, source, hashlib.sha256(data).hexdigest())


def default_policy_text() -> str:
    """The text of the shipped default policy (``default.toml``)."""
    return resources.files("notrain.policy").joinpath("default.toml").read_text(encoding="utf-8")


def load_default_policy() -> LoadedPolicy:
    return load_policy_text(default_policy_text(), DEFAULT_SOURCE)


def _load(text: str, source: str, sha256: str) -> LoadedPolicy:
    # A byte-order mark is what some editors put before UTF-8; TOML does not allow it, but
    # it is no reason to turn a policy away. The hash still covers it.
    parseable = text.removeprefix("\ufeff")
    try:
        raw = tomllib.loads(parseable)
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(error, parseable, source) from None
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as error:
        raise _validation_error(error, locate_keys(parseable), source) from None
    return LoadedPolicy(policy=policy, source=source, text=text, sha256=sha256)


def _syntax_error(error: tomllib.TOMLDecodeError, text: str, source: str) -> PolicyError:
    message = str(error)
    match = _TOML_POSITION.search(message)
    if match is None:
        return PolicyError(source, f"TOML syntax error: {message}")
    problem = message[: match.start()]
    if match.group(1) is None:
        # tomllib stops at the end when something is left open or repeated; the last line
        # with text is the nearest honest place to point at.
        line = text.rstrip().count("\n") + 1
        return PolicyError(source, f"TOML syntax error at end of file: {problem}", line)
    column = match.group(2)
    return PolicyError(
        source, f"TOML syntax error at column {column}: {problem}", int(match.group(1))
    )


def _validation_error(error: ValidationError, lines: KeyLines, source: str) -> PolicyError:
    details = [detail for detail in error.errors() if not _consequential(detail)]
    details = details or error.errors()
    located = [(lines.line_of(_where(detail)), _where(detail), detail) for detail in details]
    # Report the problem nearest the top of the file, as people fix files top to bottom;
    # but a key reported missing is often one misspelt below its header, and the unknown
    # key (with its "did you mean") says more, so missing keys come last.
    line, loc, detail = min(located, key=lambda item: (item[2]["type"] == "missing", item[0]))
    problem = _describe(detail, loc)
    others = len(located) - 1
    if others:
        problem += f" (and {others} more problem{'s' if others > 1 else ''})"
    return PolicyError(source, problem, line=line, key=_dotted(loc) or None)


def _consequential(detail: ErrorDetails) -> bool:
    """A non-empty array whose items all failed is also reported as too short: noise."""
    if detail["type"] != "too_short":
        return False
    value = detail["input"]
    minimum = detail.get("ctx", {}).get("min_length", 1)
    return isinstance(value, list | tuple) and len(value) >= minimum


def _where(detail: ErrorDetails) -> Loc:
    if detail["type"] == "duplicate_country":
        index = detail.get("ctx", {}).get("index")
        if isinstance(index, int):
            return ("jurisdictions", index, "countries")
    return tuple(detail["loc"])


def _dotted(loc: Loc) -> str:
    """``('jurisdictions', 1, 'active_from')`` as ``jurisdictions[1].active_from``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _describe(detail: ErrorDetails, loc: Loc) -> str:
    """One readable sentence for one pydantic error, in TOML's words rather than Python's."""
    kind = detail["type"]
    ctx = detail.get("ctx", {})
    value = detail["input"]
    if kind == "missing":
        field = _field_type(loc)
        if isinstance(field, type) and issubclass(field, BaseModel):
            return f"required table [{_dotted(loc)}] is missing"
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind in ("enum", "literal_error"):
        return f"{_show(value)} is not allowed; expected {ctx.get('expected', 'another value')}"
    if kind == "value_error":
        return str(ctx.get("error", detail["msg"]))
    if kind == "too_short":
        return "must not be empty"
    expected = {
        "date_type": "a date written without quotes (like 2025-05-27)",
        "int_type": "a whole number",
        "bool_type": "true or false",
        "string_type": "a quoted string",
        "tuple_type": "an array",
        "list_type": "an array",
        "model_type": "a table",
        "dict_type": "a table",
    }.get(kind)
    if expected is not None:
        return f"expected {expected}, got {_toml_type(value)}"
    message = detail["msg"]
    return message[:1].lower() + message[1:]


def _unknown_key(loc: Loc) -> str:
    parent = _field_type(loc[:-1])
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return "unknown key"
    known = list(parent.model_fields)
    problem = f"unknown key; expected one of: {', '.join(known)}"
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    if close:
        problem = f"unknown key (did you mean {close[0]!r}?); expected one of: {', '.join(known)}"
    return problem


def _field_type(loc: Loc) -> Any:
    """The declared type at ``loc`` in the policy model, or None if ``loc`` leaves it."""
    current: Any = Policy
    for part in loc:
        if isinstance(part, int):
            arguments = get_args(current)
            if get_origin(current) is not tuple or not arguments:
                return None
            current = arguments[0]
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = field.annotation
        else:
            return None
    return current


def _show(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _toml_type(value: object) -> str:
    """Name a parsed TOML value by its TOML type, quoting short strings."""
    if isinstance(value, str):
        return f'the string "{value}"' if len(value) <= 40 else "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, datetime):
        return "a date-time"
    if isinstance(value, date):
        return "a date"
    if isinstance(value, time):
        return "a time"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__
