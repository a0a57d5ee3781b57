"""The shipped default policy says exactly what DESIGN.md promises, and is hashed as bytes."""

from __future__ import annotations

import hashlib
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from pydantic import BaseModel

from notrain.contracts import EEA_NON_EU, EU27, ContentKind, Visibility
from notrain.policy import (
    DEFAULT_SOURCE,
    WILDCARD,
    Jurisdiction,
    Policy,
    Regime,
    default_policy_text,
    load_default_policy,
    load_policy,
    load_policy_text,
)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_default_policy().policy


def test_name_and_purpose(policy: Policy) -> None:
    assert policy.name == "notrain-default"
    assert "objection" in policy.purpose


def test_content_kinds_and_visibility(policy: Policy) -> None:
    assert policy.content.kinds == (
        ContentKind.POST,
        ContentKind.PHOTO,
        ContentKind.VIDEO,
        ContentKind.CAPTION,
        ContentKind.COMMENT,
    )
    assert policy.content.visibility == (Visibility.PUBLIC,)


def test_authors(policy: Policy) -> None:
    assert policy.authors.min_age == 18
    assert policy.authors.unknown_age == "exclude"


def test_jurisdictions(policy: Policy) -> None:
    europe, brazil, rest = policy.jurisdictions
    assert set(europe.countries) == {*EU27, *EEA_NON_EU, "GB", "CH"}
    assert len(europe.countries) == 27 + 3 + 2
    assert (europe.regime, europe.active_from) == (Regime.OBJECTION, date(2025, 5, 27))
    assert brazil.countries == ("BR",)
    assert (brazil.regime, brazil.active_from) == (Regime.OBJECTION, date(2024, 8, 30))
    assert rest.countries == (WILDCARD,)
    assert (rest.regime, rest.active_from) == (Regime.OBJECTION, date(2023, 9, 27))
    assert all(j.content_since is None for j in policy.jurisdictions)


@pytest.mark.parametrize(
    ("country", "expected"),
    [("FR", date(2025, 5, 27)), ("NO", date(2025, 5, 27)), ("GB", date(2025, 5, 27)),
     ("CH", date(2025, 5, 27)), ("BR", date(2024, 8, 30)), ("US", date(2023, 9, 27)),
     ("JP", date(2023, 9, 27))],
)  # fmt: skip
def test_every_country_has_a_jurisdiction(policy: Policy, country: str, expected: date) -> None:
    jurisdiction = policy.jurisdiction_of(country)
    assert isinstance(jurisdiction, Jurisdiction)
    assert jurisdiction.active_from == expected


def test_objections_third_parties_and_redaction(policy: Policy) -> None:
    assert policy.objections.retroactive is True
    assert policy.third_parties.tagged == "exclude"
    assert policy.third_parties.mentioned == "redact"
    assert policy.third_parties.identifiers == "redact"
    assert policy.redaction.emails is True
    assert policy.redaction.phones is True


def test_default_file_sets_every_key_explicitly() -> None:
    # Relying on model defaults would hide a setting from whoever reads the file.
    raw = tomllib.loads(default_policy_text())
    assert set(raw) == set(Policy.model_fields)
    for table in ("content", "authors", "objections", "third_parties", "redaction"):
        model = Policy.model_fields[table].annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        assert set(raw[table]) == set(model.model_fields), table


def test_default_file_explains_itself() -> None:
    text = default_policy_text()
    for citation in ("Art. 21", "Art. 8", "Recital 38", "Art. 17", "noyb", "ANPD", "EDPB"):
        assert citation in text
    for kind in ("story", "ai_chat", "private_message: NEVER"):
        assert kind in text


def test_sha256_is_of_the_packaged_bytes() -> None:
    loaded = load_default_policy()
    data = resources.files("notrain.policy").joinpath("default.toml").read_bytes()
    assert loaded.source == DEFAULT_SOURCE
    assert loaded.text == data.decode("utf-8")
    assert loaded.sha256 == hashlib.sha256(data).hexdigest()


def test_sha256_of_a_file_is_of_its_exact_bytes(tmp_path: Path) -> None:
    text = default_policy_text()
    unix = tmp_path / "unix.toml"
    unix.write_bytes(text.encode("utf-8"))
    windows = tmp_path / "windows.toml"
    windows.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    loaded_unix, loaded_windows = load_policy(unix), load_policy(windows)
    assert loaded_unix.policy == loaded_windows.policy
    assert loaded_windows.sha256 == hashlib.sha256(windows.read_bytes()).hexdigest()
    assert loaded_windows.sha256 != loaded_unix.sha256
    assert loaded_unix.source == str(unix)


def test_text_and_file_agree(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(default_policy_text(), encoding="utf-8")
    from_file = load_policy(path)
    from_text = load_policy_text(default_policy_text(), "anything")
    assert from_file.sha256 == from_text.sha256
    assert from_file.policy == from_text.policy


def test_byte_order_mark_is_tolerated_and_hashed(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    data = b"\xef\xbb\xbf" + default_policy_text().encode("utf-8")
    path.write_bytes(data)
    loaded = load_policy(path)
    assert loaded.policy == load_default_policy().policy
    assert loaded.sha256 == hashlib.sha256(data).hexdigest()


def test_loaded_policy_is_frozen() -> None:
    loaded = load_default_policy()
    with pytest.raises(AttributeError):
        loaded.sha256 = "0" * 64  # type: ignore[misc]
