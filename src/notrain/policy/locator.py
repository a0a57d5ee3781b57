"""Where each key of a TOML document is written, so an error can name its line.

``tomllib`` gives back values, not positions. :func:`locate_keys` scans the text once,
following ``[table]`` and ``[[array]]`` headers (counting how often each array of tables
has appeared) and ``key = value`` lines, including values that run over several lines
(arrays, multi-line strings). It only ever reads text that ``tomllib`` has parsed already,
so it may be lenient: a line it cannot make sense of is skipped.

Keys inside inline tables (``a = { b = 1 }``) are not tracked; a problem there is reported
at the line of ``a``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

Loc = tuple[str | int, ...]

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class KeyLines:
    """Line numbers (1-based) of the keys and table headers of one TOML text."""

    keys: dict[Loc, int] = field(default_factory=dict)
    tables: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """The line of ``loc``, or of its nearest written ancestor; line 1 if none is."""
        for end in range(len(loc), 0, -1):
            prefix = loc[:end]
            if prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.tables:
                return self.tables[prefix]
        return 1


@dataclass
class _ValueState:
    """What is still open at the end of a line: a multi-line string, or brackets."""

    string_delimiter: str | None = None
    depth: int = 0

    @property
    def open(self) -> bool:
        return self.string_delimiter is not None or self.depth > 0


def locate_keys(text: str) -> KeyLines:
    """Map every ``key = value`` and table header in ``text`` to its line number."""
    found = KeyLines()
    array_counts: dict[Loc, int] = {}
    table: Loc = ()
    state = _ValueState()
    for number, line in enumerate(text.split("\n"), start=1):
        if state.open:
            _scan_value(line, 0, state)
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            header = _parse_header(stripped)
            if header is None:
                continue
            names, is_array = header
            table = _resolve_header(names, is_array, array_counts)
            found.tables.setdefault(table, number)
            if is_array:
                # The array as a whole is where its first table is.
                found.tables.setdefault(table[:-1], number)
            continue
        parsed = _parse_key(line, 0)
        if parsed is None:
            continue
        names, position = parsed
        position = _skip_spaces(line, position)
        if position >= len(line) or line[position] != "=":
            continue
        for end in range(1, len(names) + 1):
            found.keys.setdefault(table + names[:end], number)
        _scan_value(line, position + 1, state)
    return found


def _resolve_header(names: tuple[str, ...], is_array: bool, array_counts: dict[Loc, int]) -> Loc:
    """Turn ``[a.b]`` / ``[[a.b]]`` into a location, with the index of each array table."""
    resolved: Loc = ()
    for position, name in enumerate(names):
        resolved += (name,)
        if is_array and position == len(names) - 1:
            index = array_counts.get(resolved, -1) + 1
            array_counts[resolved] = index
            resolved += (index,)
        elif resolved in array_counts:
            resolved += (array_counts[resolved],)
    return resolved


def _parse_header(stripped: str) -> tuple[tuple[str, ...], bool] | None:
    is_array = stripped.startswith("[[")
    start = 2 if is_array else 1
    parsed = _parse_key(stripped, start)
    if parsed is None:
        return None
    names, position = parsed
    position = _skip_spaces(stripped, position)
    closing = "]]" if is_array else "]"
    if not stripped.startswith(closing, position):
        return None
    return names, is_array


def _parse_key(line: str, position: int) -> tuple[tuple[str, ...], int] | None:
    """Read a dotted key (bare or quoted parts) from ``position``; None if there is none."""
    names: list[str] = []
    while True:
        position = _skip_spaces(line, position)
        if position >= len(line):
            return None
        char = line[position]
        if char in "\"'":
            end = _string_end(line, position + 1, char)
            if end is None:
                return None
            names.append(_unquote(line[position : end + 1]))
            position = end + 1
        else:
            end = position
            while end < len(line) and line[end] in _BARE_KEY_CHARS:
                end += 1
            if end == position:
                return None
            names.append(line[position:end])
            position = end
        position = _skip_spaces(line, position)
        if position < len(line) and line[position] == ".":
            position += 1
            continue
        return tuple(names), position


def _unquote(quoted: str) -> str:
    if quoted.startswith("'"):
        return quoted[1:-1]
    # A basic string may hold escapes; let tomllib decode them as it did for the real file.
    value = tomllib.loads(f"k = {quoted}")["k"]
    return value if isinstance(value, str) else quoted[1:-1]


def _skip_spaces(line: str, position: int) -> int:
    while position < len(line) and line[position] in " \t":
        position += 1
    return position


def _string_end(line: str, position: int, quote: str) -> int | None:
    """Index of the quote closing a one-line string that opened before ``position``."""
    while position < len(line):
        char = line[position]
        if quote == '"' and char == "\\":
            position += 2
            continue
        if char == quote:
            return position
        position += 1
    return None


def _scan_value(line: str, position: int, state: _ValueState) -> None:
    """Follow a value through ``line``, updating what is left open at its end."""
    while position < len(line):
        if state.string_delimiter is not None:
            delimiter = state.string_delimiter
            end = line.find(delimiter, position)
            if delimiter == '"""':
                # Skip escaped quotes: find the first delimiter not preceded by a backslash.
                while end != -1 and _escaped(line, end):
                    end = line.find(delimiter, end + 1)
            if end == -1:
                return
            position = end + len(delimiter)
            # A closing delimiter may be followed by up to two quotes that belong to the
            # string ("""a"""" ends in a quote).
            while position < len(line) and line[position] == delimiter[0]:
                position += 1
            state.string_delimiter = None
            continue
        char = line[position]
        if char == "#":
            return
        if char in "[{":
            state.depth += 1
        elif char in "]}":
            state.depth -= 1
        elif char in "\"'":
            triple = char * 3
            if line.startswith(triple, position):
                state.string_delimiter = triple
                position += 3
                continue
            closing = _string_end(line, position + 1, char)
            if closing is None:
                return
            position = closing
        position += 1


def _escaped(line: str, position: int) -> bool:
    backslashes = 0
    while position - backslashes - 1 >= 0 and line[position - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
