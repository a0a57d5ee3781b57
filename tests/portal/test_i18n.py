"""The catalogues of every language: complete, compiled, in step with the code, and used.

Every message of the code (pages, errors, mails) is in every catalogue, translated, not
fuzzy, with the same placeholders as the English and every plural form its language has;
the shipped ``.mo`` is the ``.po`` compiled. Negotiation, country names and their order
follow the visitor's language.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from notrain import languages
from notrain.portal import i18n
from notrain.registry import notices

PORTAL = Path(i18n.__file__).parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
]
OPTIONS = {
    "**/templates/**.html": {
        "extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True",
    }
}  # fmt: skip
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
ALL = list(languages.TAGS)


def _key(message: object) -> str | tuple[str, ...]:
    return message if isinstance(message, str) else tuple(message)  # type: ignore[arg-type]


def _extracted() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(PORTAL), METHODS, keywords=KEYWORDS, options_map=OPTIONS
    ):
        found.add(_key(message))
    for _, message, _, _ in extract_from_file("python", notices.__file__, keywords=KEYWORDS):
        found.add(_key(message))
    return found


def _po(language: str) -> Catalog:
    folder = PORTAL / "locale" / languages.BY_TAG[language].folder / "LC_MESSAGES"
    return read_po(BytesIO((folder / "messages.po").read_bytes()))


def test_there_are_27_languages_each_with_a_catalogue() -> None:
    assert len(ALL) == 27
    assert {"bg", "ga", "mt", "pt", "pt-BR", "nb", "is"} <= set(ALL)
    folders = {p.parent.parent.name for p in (PORTAL / "locale").glob("*/LC_MESSAGES/*.po")}
    assert folders == {languages.BY_TAG[t].folder for t in ALL}


@pytest.mark.parametrize("language", ALL)
def test_catalogue_holds_every_message_of_the_code(language: str) -> None:
    ids = {_key(m.id) for m in _po(language) if m.id}
    missing = _extracted() - ids
    assert not missing, f"run pybabel extract/update: {sorted(map(str, missing))[:5]}"


@pytest.mark.parametrize("language", ALL)
def test_every_entry_is_translated_with_its_placeholders_and_plural_forms(language: str) -> None:
    po = _po(language)
    forms = get_plural(languages.BY_TAG[language].babel).num_plurals
    assert po.num_plurals == forms
    for message in po:
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        value: Any = message.string
        strings: list[str] = [value] if isinstance(value, str) else list(value)
        if isinstance(message.id, tuple):
            assert len(strings) == forms, message.id
        assert all(s and s.strip() for s in strings), f"{language}: untranslated {message.id!r}"
        english = str(message.id if isinstance(message.id, str) else message.id[1])
        wanted = set(PLACEHOLDER.findall(english))
        for string in strings:
            # A singular form may spell the number out ("one month"), never add a name.
            got = set(PLACEHOLDER.findall(string))
            assert got <= wanted, (language, message.id, string)
            assert wanted - got <= {"num"}, (language, message.id, string)


@pytest.mark.parametrize("language", ALL)
def test_the_compiled_catalogue_is_current(language: str) -> None:
    folder = PORTAL / "locale" / languages.BY_TAG[language].folder / "LC_MESSAGES"
    po = read_po(BytesIO((folder / "messages.po").read_bytes()))
    mo = read_mo(BytesIO((folder / "messages.mo").read_bytes()))

    def table(catalog: object) -> dict[str, str]:
        def text(value: object) -> str:
            return repr(tuple(value)) if isinstance(value, list | tuple) else str(value)

        return {text(m.id): text(m.string) for m in catalog if m.id}  # type: ignore[attr-defined]

    assert table(mo) == table(po)


@pytest.mark.parametrize("language", [t for t in ALL if t != "en"])
def test_pages_and_mails_are_really_translated(language: str) -> None:
    """Most entries differ from the English (a few, like "Kind" in German, may not)."""
    po = _po(language)
    same = [m.id for m in po if m.id and isinstance(m.id, str) and m.string == m.id]
    assert len(same) < len([m for m in po if m.id]) // 10, same


def test_plural_forms_follow_the_language() -> None:
    polish = languages.translations("pl")
    words = [
        polish.ngettext("It is valid for %(num)d minute.", "It is valid for %(num)d minutes.", n)
        for n in (1, 2, 5)
    ]
    assert len(set(words)) == 3  # minuta, minuty, minut
    slovenian = languages.translations("sl")
    forms = {
        slovenian.ngettext("Wrong code; %(num)d attempt left.", "x", n) % {"num": 0}
        for n in (1, 2, 3, 5, 101)
    }
    assert len(forms) == 4  # poskus, poskusa, poskusi, poskusov; 101 takes the form of 1


def test_language_negotiation() -> None:
    assert i18n.accept_language("fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert i18n.accept_language("en;q=0.3, fr;q=0.7") == "fr"
    assert i18n.accept_language("de-AT, it") == "de"
    assert i18n.accept_language("pt-BR, pt;q=0.9") == "pt-BR"
    assert i18n.accept_language("pt-PT, pt-BR;q=0.5") == "pt"
    assert i18n.accept_language("nn, en;q=0.1") == "nb"
    assert i18n.accept_language("ja, zh") is None
    assert i18n.accept_language("fr;q=0") is None
    assert i18n.choose_language("en", "fr") == "en"
    assert i18n.choose_language("pt-BR", "fr") == "pt-BR"
    assert i18n.choose_language("xx", None) == "en"


def test_dates_and_numbers_are_written_as_each_language_writes_them() -> None:
    from datetime import date

    day = date(2026, 3, 5)
    assert languages.long_date(day, "en") == "March 5, 2026"
    assert languages.long_date(day, "fr") == "5 mars 2026"
    assert languages.long_date(day, "de") == "5. März 2026"
    assert languages.number(1234567.5, "de") == "1.234.567,5"
    assert languages.number(1234567.5, "fr") == "1\u202f234\u202f567,5"


def test_country_names_in_each_language() -> None:
    named = {t: {c.code: c.name for c in i18n.countries(t)} for t in ALL}
    assert named["fr"]["DE"] == "Allemagne"
    assert named["en"]["DE"] == "Germany"
    assert named["de"]["DE"] == "Deutschland"
    assert named["el"]["DE"] == "Γερμανία"
    assert named["is"]["DE"] == "Þýskaland"
    assert all(len(names) == 249 for names in named.values())


def _order(language: str, *codes: str) -> list[str]:
    position = {c.code: n for n, c in enumerate(i18n.countries(language))}
    return sorted(codes, key=position.__getitem__)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        # Swedish and Danish put Ö/Ø and Å after Z; German sorts Ö with O.
        ("sv", ["ZA", "AT"]),  # Sydafrika before Österrike
        ("de", ["AT", "PL"]),  # Österreich before Polen
        ("da", ["ZM", "AT"]),  # Zambia before Østrig
        # Czech: Č after C, Ch after H.
        ("cs", ["TD", "DK", "HN", "HR", "IN"]),  # Čad, Dánsko, Honduras, Chorvatsko, Indie
        # Icelandic: Þ near the end; Polish: Ł after L.
        ("is", ["ZM", "DE"]),
        ("pl", ["LU", "LV"]),  # Luksemburg before Łotwa
        ("el", ["FR", "DE", "GR", "IT"]),  # Γαλλία, Γερμανία, Ελλάδα, Ιταλία
    ],
)
def test_country_list_is_sorted_as_the_language_sorts(language: str, expected: list[str]) -> None:
    assert _order(language, *expected) == expected


def test_the_fallback_collation_without_icu() -> None:
    key = languages._tailored_key
    assert sorted(["Zambia", "Österrike", "Åland"], key=key("sv")) == [
        "Zambia",
        "Åland",
        "Österrike",
    ]
    assert sorted(["Österreich", "Polen", "Oman"], key=key("de")) == ["Oman", "Österreich", "Polen"]
    assert sorted(["Chorvatsko", "Honduras", "Irsko"], key=key("cs")) == [
        "Honduras", "Chorvatsko", "Irsko",
    ]  # fmt: skip
    assert sorted(["Łotwa", "Luksemburg", "Malta"], key=key("pl")) == [
        "Luksemburg", "Łotwa", "Malta",
    ]  # fmt: skip


def test_switcher_names_each_language_in_its_own_name() -> None:
    assert i18n.LANGUAGE_NAMES["de"] == "Deutsch"
    assert i18n.LANGUAGE_NAMES["el"] == "Ελληνικά"
    assert i18n.LANGUAGE_NAMES["pt-BR"] == "Português (Brasil)"
    assert len(set(i18n.LANGUAGE_NAMES.values())) == 27
