"""Any valid Policy, written out as TOML in any of several layouts, loads back equal; and a
bad value anywhere in such a file is reported at the line where it was written."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notrain.contracts import ContentKind, Visibility
from notrain.errors import PolicyError
from notrain.policy import (
    WILDCARD,
    AuthorRules,
    ContentRules,
    Jurisdiction,
    ObjectionRules,
    Policy,
    RedactionRules,
    Regime,
    ThirdPartyRules,
    load_default_policy,
    load_policy_text,
)

Loc = tuple[str | int, ...]
Scalar = str | int | bool | date | Enum
Value = Scalar | tuple[Scalar, ...]

SUBTABLES = ("content", "authors", "objections", "third_parties", "redaction")


# ---------------------------------------------------------------- a tiny TOML writer


def toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_scalar(value: Scalar) -> str:
    if isinstance(value, Enum):
        return toml_string(str(value.value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return toml_string(value)


@dataclass(frozen=True)
class Layout:
    dotted_subtables: bool  # content.kinds = [...] at the top instead of [content]
    multiline_arrays: bool
    comments: bool
    quoted_keys: bool
    omit_defaults: bool
    order: tuple[str, ...]  # order of the [subtable] and [[jurisdictions]] sections


@dataclass
class Writer:
    layout: Layout
    poison: Loc | None = None
    lines: list[str] = field(default_factory=list)
    written: dict[Loc, int] = field(default_factory=dict)

    def key(self, loc: Loc, name: str, value: Value) -> None:
        if self.layout.comments:
            self.lines.append(f'# {name} = "not this" [not.a.header]')
        key = name
        if self.layout.quoted_keys:
            key = ".".join(toml_string(part) for part in name.split("."))
        self.written[loc] = len(self.lines) + 1
        if loc == self.poison:
            # An empty inline table is the wrong type for every field of a policy.
            self.lines.append(f"{key} = {{}}")
        elif isinstance(value, tuple) and self.layout.multiline_arrays:
            self.lines.append(f"{key} = [")
            self.lines.extend(f"    {toml_scalar(item)},  # ] item" for item in value)
            self.lines.append("]")
        elif isinstance(value, tuple):
            self.lines.append(f"{key} = [{', '.join(toml_scalar(item) for item in value)}]")
        else:
            self.lines.append(f"{key} = {toml_scalar(value)}")
        if self.layout.comments:
            self.lines.append("")

    def header(self, text: str) -> None:
        self.lines.extend(["", text])


def subtable_fields(policy: Policy, table: str) -> dict[str, Value]:
    rules = getattr(policy, table)
    return {name: getattr(rules, name) for name in type(rules).model_fields}


def serialise(policy: Policy, layout: Layout, poison: Loc | None = None) -> tuple[str, Writer]:
    writer = Writer(layout, poison)
    writer.key(("name",), "name", policy.name)
    writer.key(("purpose",), "purpose", policy.purpose)
    defaults = {"objections": ObjectionRules(), "third_parties": ThirdPartyRules(),
                "redaction": RedactionRules()}  # fmt: skip
    written_tables = [
        table for table in SUBTABLES
        if not (layout.omit_defaults and defaults.get(table) == getattr(policy, table))
    ]  # fmt: skip
    if layout.dotted_subtables:
        for table in written_tables:
            for name, value in subtable_fields(policy, table).items():
                writer.key((table, name), f"{table}.{name}", value)
    for section in layout.order:
        if section == "jurisdictions":
            for index, jurisdiction in enumerate(policy.jurisdictions):
                writer.header("[[jurisdictions]]")
                for name in type(jurisdiction).model_fields:
                    value = getattr(jurisdiction, name)
                    if value is not None:
                        writer.key(("jurisdictions", index, name), name, value)
        elif section in written_tables and not layout.dotted_subtables:
            writer.header(f"[{section}]")
            for name, value in subtable_fields(policy, section).items():
                writer.key((section, name), name, value)
    return "\n".join(writer.lines) + "\n", writer


# ---------------------------------------------------------------- valid policies

names = st.text(min_size=1, max_size=20)
countries = st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2) | st.just(WILDCARD)
usable_kinds = [kind for kind in ContentKind if kind is not ContentKind.PRIVATE_MESSAGE]


@st.composite
def jurisdiction_lists(draw: st.DrawFn) -> tuple[Jurisdiction, ...]:
    codes = draw(st.lists(countries, min_size=1, max_size=10, unique=True))
    groups = draw(st.integers(1, min(4, len(codes))))
    cuts = sorted(draw(st.sets(st.integers(1, len(codes) - 1), min_size=groups - 1,
                               max_size=groups - 1))) if groups > 1 else []  # fmt: skip
    bounds = list(zip([0, *cuts], [*cuts, len(codes)], strict=True))
    return tuple(
        Jurisdiction(
            name=draw(names),
            countries=tuple(codes[start:end]),
            regime=draw(st.sampled_from(Regime)),
            active_from=draw(st.dates()),
            content_since=draw(st.none() | st.dates()),
        )
        for start, end in bounds
    )


policies = st.builds(
    Policy,
    name=names,
    purpose=names,
    content=st.builds(
        ContentRules,
        kinds=st.lists(st.sampled_from(usable_kinds), min_size=1, max_size=7).map(tuple),
        visibility=st.lists(st.sampled_from(Visibility), min_size=1, max_size=4).map(tuple),
    ),
    authors=st.builds(
        AuthorRules,
        min_age=st.integers(0, 120),
        unknown_age=st.sampled_from(["exclude", "include"]),
    ),
    jurisdictions=jurisdiction_lists(),
    objections=st.builds(ObjectionRules, retroactive=st.booleans()),
    third_parties=st.builds(
        ThirdPartyRules,
        tagged=st.sampled_from(["exclude", "keep"]),
        mentioned=st.sampled_from(["redact", "exclude"]),
        identifiers=st.sampled_from(["redact", "keep"]),
    ),
    redaction=st.builds(RedactionRules, emails=st.booleans(), phones=st.booleans()),
)

layouts = st.builds(
    Layout,
    dotted_subtables=st.booleans(),
    multiline_arrays=st.booleans(),
    comments=st.booleans(),
    quoted_keys=st.booleans(),
    omit_defaults=st.booleans(),
    order=st.permutations([*SUBTABLES, "jurisdictions"]).map(tuple),
)


def dotted(loc: Loc) -> str:
    head, *rest = loc
    return str(head) + "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                               for part in rest)  # fmt: skip


# ---------------------------------------------------------------- properties


@settings(deadline=None)  # correctness only; no timing assertions
@given(policy=policies, layout=layouts)
def test_round_trip(policy: Policy, layout: Layout) -> None:
    text, _ = serialise(policy, layout)
    loaded = load_policy_text(text, "generated.toml")
    assert loaded.policy == policy
    assert loaded.text == text
    assert loaded.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()


@settings(deadline=None)  # correctness only; no timing assertions
@given(layout=layouts)
def test_default_round_trips_in_any_layout(layout: Layout) -> None:
    policy = load_default_policy().policy
    text, _ = serialise(policy, layout)
    assert load_policy_text(text, "default-again.toml").policy == policy


@settings(deadline=None)  # correctness only; no timing assertions
@given(policy=policies, layout=layouts, data=st.data())
def test_a_bad_value_is_reported_where_it_was_written(
    policy: Policy, layout: Layout, data: st.DataObject
) -> None:
    _, clean = serialise(policy, layout)
    poison = data.draw(st.sampled_from(sorted(clean.written, key=repr)))
    text, writer = serialise(policy, layout, poison)
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "poisoned.toml")
    assert caught.value.line == writer.written[poison]
    assert caught.value.key == dotted(poison)
    assert "more problem" not in caught.value.problem


def test_the_writer_can_produce_a_file_the_loader_refuses() -> None:
    # Guards the property above against a writer that silently never poisons anything.
    layout = Layout(False, True, True, False, False, ("content", "jurisdictions", "authors",
                    "objections", "third_parties", "redaction"))  # fmt: skip
    text, writer = serialise(load_default_policy().policy, layout, ("authors", "min_age"))
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "poisoned.toml")
    assert text.split("\n")[writer.written[("authors", "min_age")] - 1] == "min_age = {}"
    assert caught.value.line == writer.written[("authors", "min_age")]
