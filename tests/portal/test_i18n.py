"""The French and English catalogues: complete, compiled, and in step with the code."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from notrain.portal import i18n

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


def _ids(messages: object) -> set[str | tuple[str, ...]]:
    return {m.id for m in messages if m.id}  # type: ignore[attr-defined]


def _extracted() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(PORTAL), METHODS, keywords=KEYWORDS, options_map=OPTIONS
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


@pytest.mark.parametrize("language", ["fr", "en"])
def test_catalogue_holds_every_message_of_the_code(language: str) -> None:
    po = read_po(
        BytesIO((PORTAL / "locale" / language / "LC_MESSAGES" / "messages.po").read_bytes())
    )
    missing = _extracted() - _ids(po)
    assert not missing, f"run pybabel extract/update: {sorted(map(str, missing))[:5]}"


def test_french_is_complete_and_the_compiled_catalogue_is_current() -> None:
    folder = PORTAL / "locale" / "fr" / "LC_MESSAGES"
    po = read_po(BytesIO((folder / "messages.po").read_bytes()))
    untranslated = [m.id for m in po if m.id and (not m.string or m.fuzzy)]
    assert not untranslated
    mo = read_mo(BytesIO((folder / "messages.mo").read_bytes()))

    def table(catalog: object) -> dict[str, str]:
        def text(value: object) -> str:
            return repr(tuple(value)) if isinstance(value, list | tuple) else str(value)

        return {text(m.id): text(m.string) for m in catalog if m.id}  # type: ignore[attr-defined]

    assert table(mo) == table(po)


def test_language_negotiation() -> None:
    assert i18n.accept_language("fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert i18n.accept_language("en;q=0.3, fr;q=0.7") == "fr"
    assert i18n.accept_language("de, it") is None
    assert i18n.accept_language("fr;q=0") is None
    assert i18n.choose_language("en", "fr") == "en"
    assert i18n.choose_language("xx", None) == "en"


def test_country_names_in_both_languages() -> None:
    fr = {c.code: c.name for c in i18n.countries("fr")}
    en = {c.code: c.name for c in i18n.countries("en")}
    assert fr["DE"] == "Allemagne"
    assert en["DE"] == "Germany"
    assert len(fr) == len(en) == 249
