"""Languages of the pages: the catalogues of :mod:`notrain.languages`, chosen per visitor.

The language is chosen by, in order: the switcher's cookie, ``Accept-Language``, English.
Strings in Python code are marked with :func:`N_` (so ``pybabel extract`` finds them) and
translated when a page is rendered; templates use ``{% trans %}`` and ``_()``.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import cache

from notrain import languages
from notrain.languages import N_
from notrain.registry.countries import ISO_3166_ALPHA2

__all__ = ["COOKIE", "DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_NAMES", "N_", "Country"]

LANGUAGES = languages.TAGS
DEFAULT_LANGUAGE = languages.DEFAULT
LANGUAGE_NAMES = {tag: language.autonym for tag, language in languages.BY_TAG.items()}
COOKIE = "notrain_lang"


def translations(language: str) -> gettext.NullTranslations:
    return languages.translations(language)


def accept_language(header: str | None) -> str | None:
    """The first supported language of an ``Accept-Language`` header, by q-value."""
    return languages.negotiate(header)


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
    listed = [Country(code, languages.territory_name(code, language)) for code in ISO_3166_ALPHA2]
    key = languages.sort_key(language)
    return tuple(sorted(listed, key=lambda c: key(c.name)))


def country_name(code: str, language: str) -> str:
    return languages.territory_name(code, language)
