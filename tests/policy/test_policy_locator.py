"""The locator finds the line of every key tomllib reads, and only those."""

from __future__ import annotations

import tomllib
from typing import Any

from notrain.policy.locator import Loc, locate_keys

TEXT = '''\
top = "a # not a comment [x]"
dotted.inner = 1
"quoted key".x = 2

[first]
list = [
    "]",  # a bracket in a string
    ["nested"], [1, 2],
    "x = 1",
]
text = """
fake = 3
[fake.header]
"""
literal = \'\'\'
[[fake]]
\'\'\'
after = { a = 1, b = [2] }  # [ unbalanced "

[[items]]
n = 0

[[items]]
n = 1
[items.sub]
deep = true

[[items]]
'n' = 2
[[items.more]]
m = 0
[[items.more]]
m = 1
'''


def leaf_locs(value: Any, prefix: Loc = ()) -> list[Loc]:
    """Every key tomllib sees, not descending into inline tables or arrays of values."""
    locs: list[Loc] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            locs.append((*prefix, key))
            locs.extend(leaf_locs(inner, (*prefix, key)))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, inner in enumerate(value):
            locs.extend(leaf_locs(inner, (*prefix, index)))
    return locs


def test_keys_and_headers_are_on_their_lines() -> None:
    lines = locate_keys(TEXT)
    assert lines.keys[("top",)] == 1
    assert lines.keys[("dotted",)] == 2
    assert lines.keys[("dotted", "inner")] == 2
    assert lines.keys[("quoted key", "x")] == 3
    assert lines.tables[("first",)] == 5
    assert lines.keys[("first", "list")] == 6
    assert lines.keys[("first", "text")] == 11
    assert lines.keys[("first", "literal")] == 15
    assert lines.keys[("first", "after")] == 18
    assert lines.tables[("items", 0)] == 20
    assert lines.keys[("items", 0, "n")] == 21
    assert lines.tables[("items", 1)] == 23
    assert lines.keys[("items", 1, "n")] == 24
    assert lines.tables[("items", 1, "sub")] == 25
    assert lines.keys[("items", 1, "sub", "deep")] == 26
    assert lines.keys[("items", 2, "n")] == 29
    assert lines.tables[("items", 2, "more", 0)] == 30
    assert lines.keys[("items", 2, "more", 1, "m")] == 33


def test_nothing_inside_strings_or_values_is_taken_for_a_key() -> None:
    lines = locate_keys(TEXT)
    found = set(lines.keys) | set(lines.tables)
    assert ("first", "fake") not in found
    assert ("fake", "header") not in found
    assert ("fake", 0) not in found
    assert ("first", "x") not in found
    assert ("nested",) not in found
    assert ("first", "after", "a") not in found


def test_every_key_tomllib_reads_is_located() -> None:
    lines = locate_keys(TEXT)
    for loc in leaf_locs(tomllib.loads(TEXT)):
        if loc[-1] in ("a", "b"):  # inside the inline table
            continue
        assert loc in lines.keys or loc in lines.tables, loc


def test_line_of_falls_back_to_the_nearest_written_ancestor() -> None:
    lines = locate_keys(TEXT)
    assert lines.line_of(("first", "list", 2)) == 6
    assert lines.line_of(("first", "after", "a")) == 18
    assert lines.line_of(("items", 1, "missing")) == 23
    assert lines.line_of(("items", 1, "sub", "missing")) == 25
    assert lines.line_of(("nowhere", "at", "all")) == 1
    assert lines.line_of(()) == 1


def test_crlf_line_endings() -> None:
    lines = locate_keys(TEXT.replace("\n", "\r\n"))
    assert lines.keys[("items", 2, "more", 1, "m")] == 33
    assert lines.keys[("first", "literal")] == 15


def test_escaped_quotes_in_multiline_strings() -> None:
    text = 'a = """one \\""" still\n"""\nb = 1\n'
    assert tomllib.loads(text)["b"] == 1
    assert locate_keys(text).keys[("b",)] == 3
