"""Path patterns as robots.txt writes them, shared by robots.txt, ai.txt and tdmrep.json.

A pattern is a path prefix in which ``*`` stands for any run of octets and a final ``$``
anchors the end (RFC 9309 §2.2.3); a ``$`` anywhere else is an ordinary character. Both
sides are percent-encoding normalised first (§2.2.2), so ``/caf%C3%A9`` and ``/café`` are
one path.

Matching runs in linear time, whatever the file says. A pattern is cut at its stars into
literal pieces: the first must start the path, each next one is found at its leftmost
place after the one before, and an anchored last one must end the path. Taking the
leftmost place is always right for patterns whose only wildcard is ``*``, so nothing is
ever tried twice: no backtracking, however many stars and however long the URL. (A
translation to a regular expression, one ``.*`` per star, is exponential on a run of
stars that does not match.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def canonical(text: str, *, pattern: bool = False) -> str:
    """Percent-encoding normalised (RFC 9309 §2.2.2): unreserved octets decoded, other
    escapes upper-cased, non-ASCII and control octets encoded.

    In a URL, ``*`` and ``$`` are encoded, so that only a pattern's own are special; in a
    pattern, a ``$`` that is not the last character is literal, and is encoded the same
    way, so ``/*?$filter=`` matches ``/api?$filter=x``.
    """
    plain = text.isascii() and text.isprintable() and " " not in text and "%" not in text
    if plain and "$" not in (text[:-1] if pattern else text) and (pattern or "*" not in text):
        return text
    last = len(text.encode("utf-8")) - 1
    out: list[str] = []
    for at, byte in enumerate(text.encode("utf-8")):
        char = chr(byte)
        literal = char == "$" and not (pattern and at == last)
        if byte >= 0x80 or byte <= 0x20 or literal or (not pattern and char == "*"):
            out.append(f"%{byte:02X}")
        else:
            out.append(char)

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match[1], 16))
        return char if char in UNRESERVED else f"%{match[1].upper()}"

    return _PERCENT.sub(fix, "".join(out))


def url_path(url: str) -> str:
    """The part of a URL rules are matched against: path and query, normalised."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return canonical(path)


@dataclass(frozen=True)
class Pattern:
    """A normalised path pattern (see :func:`canonical`); its length ranks it."""

    text: str
    _first: str = field(init=False, repr=False, compare=False)
    # None for a pattern without stars: then only _first (and _anchored) matter.
    _rest: tuple[str, ...] | None = field(init=False, repr=False, compare=False)
    _anchored: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Cut once here, so that matching, done for every page against every rule, is a
        # few string operations.
        anchored = self.text.endswith("$")
        body = self.text[:-1] if anchored else self.text
        pieces = body.split("*")
        rest = None
        if len(pieces) > 1:  # a run of stars is one star: the empty pieces vanish
            rest = (*(piece for piece in pieces[1:-1] if piece), pieces[-1])
        object.__setattr__(self, "_first", pieces[0])
        object.__setattr__(self, "_rest", rest)
        object.__setattr__(self, "_anchored", anchored)

    def matches(self, path: str) -> bool:
        rest = self._rest
        if rest is None:
            if self._anchored:
                return path == self._first
            return path.startswith(self._first)
        if not path.startswith(self._first):
            return False
        at = len(self._first)
        for piece in rest[:-1]:
            found = path.find(piece, at)
            if found < 0:
                return False
            at = found + len(piece)
        last = rest[-1]
        if self._anchored:
            return len(path) - len(last) >= at and path.endswith(last)
        return not last or path.find(last, at) >= 0

    def __len__(self) -> int:
        return len(self.text)
