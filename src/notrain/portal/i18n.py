"""Languages: French and English, from gettext catalogues compiled by Babel.

The language is chosen by, in order: the switcher's cookie, ``Accept-Language``, English.
Strings in Python code are marked with :func:`N_` (so ``pybabel extract`` finds them) and
translated when a page is rendered; templates use ``{% trans %}`` and ``_()``.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel import Locale
from babel.support import Translations

from notrain.registry.countries import ISO_3166_ALPHA2

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "messages"
LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
COOKIE = "notrain_lang"


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    return Translations.load(str(LOCALE_DIR), [language], domain=DOMAIN)


def accept_language(header: str | None) -> str | None:
    """The first supported language of an ``Accept-Language`` header, by q-value."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, *params = part.split(";")
        quality = _quality(params)
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else None


def _quality(params: list[str]) -> float:
    """The ``q`` parameter (named in any case, among others, spaced or not), 1 if absent;
    a malformed weight counts as 0 (RFC 9110, 12.4.2)."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def choose_language(cookie: str | None, header: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    return accept_language(header) or DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Country:
    code: str
    name: str


@cache
def countries(language: str) -> tuple[Country, ...]:
    """Every ISO 3166-1 alpha-2 country the registry accepts, named and sorted in ``language``."""
    names = Locale.parse(language).territories
    listed = [Country(code, names.get(code, code)) for code in sorted(ISO_3166_ALPHA2)]
    return tuple(sorted(listed, key=lambda c: _sort_key(c.name)))


def country_name(code: str, language: str) -> str:
    return str(Locale.parse(language).territories.get(code, code))


def _sort_key(name: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
