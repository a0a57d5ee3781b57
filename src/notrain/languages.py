"""The languages people are answered in: the pages, and every mail about their request.

The EU's 24 official languages, Norwegian (Bokmål), Icelandic and Brazilian Portuguese.
A language is named by its BCP 47 tag (``pt-BR``), which is what a request stores, what
``Content-Language`` and ``lang`` carry, and what the switcher's cookie holds; its
catalogue (compiled by Babel) and its locale data (dates, numbers, country names) are
found from the tag. This module knows no web framework: the portal and the registry's
mail both use it.

Sorting follows the language: ICU's collator when PyICU is installed, otherwise the
root collation (accents count after letters) with each language's own letters placed as
its alphabet places them (Swedish å ä ö after z, Czech ch after h, Polish ł after l...).
"""

from __future__ import annotations

import gettext
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "portal" / "locale"
DOMAIN = "messages"
DEFAULT = "en"


@dataclass(frozen=True)
class Language:
    tag: str  # BCP 47, as stored and sent
    babel: str  # the CLDR locale for dates, numbers and country names
    autonym: str  # its own name, as the switcher shows it

    @property
    def folder(self) -> str:
        """The catalogue's folder under ``locale/`` (gettext spells regions with ``_``)."""
        return self.tag.replace("-", "_")


# CLDR's plain "pt" is Brazilian Portuguese; the EU language is pt_PT.
_ALL = (
    Language("bg", "bg", "Български"),
    Language("cs", "cs", "Čeština"),
    Language("da", "da", "Dansk"),
    Language("de", "de", "Deutsch"),
    Language("el", "el", "Ελληνικά"),
    Language("en", "en", "English"),
    Language("es", "es", "Español"),
    Language("et", "et", "Eesti"),
    Language("fi", "fi", "Suomi"),
    Language("fr", "fr", "Français"),
    Language("ga", "ga", "Gaeilge"),
    Language("hr", "hr", "Hrvatski"),
    Language("hu", "hu", "Magyar"),
    Language("is", "is", "Íslenska"),
    Language("it", "it", "Italiano"),
    Language("lt", "lt", "Lietuvių"),
    Language("lv", "lv", "Latviešu"),
    Language("mt", "mt", "Malti"),
    Language("nb", "nb", "Norsk bokmål"),
    Language("nl", "nl", "Nederlands"),
    Language("pl", "pl", "Polski"),
    Language("pt", "pt_PT", "Português (Portugal)"),
    Language("pt-BR", "pt_BR", "Português (Brasil)"),
    Language("ro", "ro", "Română"),
    Language("sk", "sk", "Slovenčina"),
    Language("sl", "sl", "Slovenščina"),
    Language("sv", "sv", "Svenska"),
)
BY_TAG = {language.tag: language for language in _ALL}
TAGS = tuple(BY_TAG)
# Tags people's browsers send for a language listed under another tag.
_ALIASES = {"no": "nb", "nn": "nb", "pt-pt": "pt"}
_LOWER = {tag.lower(): tag for tag in TAGS}


def N_(message: str) -> str:
    """Marks a string for extraction; it is translated where it is shown."""
    return message


def known(tag: str | None) -> str:
    """``tag`` if it is one of ours (any case), else the default."""
    return _ours(tag) or DEFAULT


def _ours(tag: str | None) -> str | None:
    if not tag:
        return None
    lowered = tag.strip().lower()
    return _LOWER.get(lowered) or _ALIASES.get(lowered)


def babel_locale(tag: str) -> Locale:
    return _locale(BY_TAG[known(tag)].babel)


@cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@cache
def translations(tag: str) -> gettext.NullTranslations:
    language = BY_TAG[known(tag)]
    return Translations.load(str(LOCALE_DIR), [language.folder], domain=DOMAIN)


def negotiate(header: str | None) -> str | None:
    """The best of our languages for an ``Accept-Language`` header, by q-value; a region
    we list (``pt-BR``) wins over its language alone, and ``no``/``nn`` mean Bokmål."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:32]):
        tag, *params = part.split(";")
        quality = _quality(params)
        if quality <= 0:
            continue
        match = _ours(tag) or _ours(tag.strip().split("-")[0])
        if match:
            choices.append((-quality, position, match))
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


# -- formatting -----------------------------------------------------------------------------


def long_date(moment: date | datetime, tag: str) -> str:
    """A date as the language writes it in running text (``5 décembre 2026``)."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return format_date(day, format="long", locale=babel_locale(tag))


def number(value: int | float, tag: str) -> str:
    return format_decimal(value, locale=babel_locale(tag))


def territory_name(code: str, tag: str) -> str:
    return str(babel_locale(tag).territories.get(code, code))


# -- sorting --------------------------------------------------------------------------------

# Letters that sort as letters of their own (CLDR's tailorings, primary differences only),
# written "after:letters": "h:ch" puts ch after h; "z:åäö" puts å, ä and ö after z, in order.
_TAILORED = {
    "bg": "и:й",
    "cs": "c:č h:ch r:ř s:š z:ž",
    "da": "z:æ,ä,ø,ö,å,aa",
    "es": "n:ñ",
    "et": "s:š,z,ž w:õ,ä,ö,ü",
    "fi": "z:å,ä,æ,ö,ø",
    "hr": "c:č,ć d:dž,đ l:lj n:nj s:š z:ž",
    "hu": "c:cs d:dz,dzs g:gy l:ly n:ny o:ö s:sz t:ty u:ü z:zs",
    "is": "a:á d:ð e:é i:í o:ó u:ú y:ý z:þ,æ,ö",
    "lt": "c:č i:y s:š z:ž",
    "lv": "c:č g:ģ k:ķ l:ļ n:ņ s:š z:ž",
    "mt": "b:ċ f:ġ g:għ h:ħ i:ie y:ż",
    "nb": "z:æ,ä,ø,ö,å,aa",
    "pl": "a:ą c:ć e:ę l:ł n:ń o:ó s:ś z:ź,ż",
    "ro": "a:ă,â i:î s:ș,ş t:ț,ţ",
    "sk": "a:ä c:č h:ch o:ô r:ř s:š z:ž",
    "sl": "c:č,ć s:š z:ž",
    "sv": "z:å,ä,æ,ö,ø",
}
# Letters with no decomposition, placed as the root collation places them.
_ROOT_EXTRA = {"ł": "l", "đ": "d", "ø": "o", "ð": "d", "ħ": "h", "\u0131": "i", "ŀ": "l"}
_ROOT_EXPAND = {"æ": "ae", "œ": "oe", "ß": "ss", "þ": "z"}

Weight = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]


def sort_key(tag: str) -> Callable[[str], Any]:
    """A key that sorts strings as ``tag``'s language does."""
    babel = BY_TAG[known(tag)].babel
    icu_key = _icu_key(babel)
    return icu_key if icu_key is not None else _tailored_key(known(tag))


def _icu_key(babel: str) -> Callable[[str], Any] | None:
    try:
        import icu  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    collator = icu.Collator.createInstance(icu.Locale(babel))
    key: Callable[[str], Any] = collator.getSortKey
    return key


@cache
def _tailored_key(tag: str) -> Callable[[str], Weight]:
    # Each tailored letter: the weight of the letter it follows, plus its rank.
    letters: dict[str, tuple[int, int]] = {}
    for rule in _TAILORED.get(tag.split("-")[0], "").split():
        after, _, following = rule.partition(":")
        for rank, letter in enumerate(following.split(","), start=1):
            letters[letter] = (ord(after), rank)
    longest = max((len(t) for t in letters), default=1)

    def key(text: str) -> Weight:
        folded = unicodedata.normalize("NFC", text.casefold())
        primary: list[int] = []
        secondary: list[int] = []
        at = 0
        while at < len(folded):
            for size in range(min(longest, len(folded) - at), 0, -1):
                piece = folded[at : at + size]
                if piece in letters:
                    base, rank = letters[piece]
                    primary.extend((base, rank))
                    secondary.append(0)
                    at += size
                    break
            else:
                _root(folded[at], primary, secondary)
                at += 1
        tertiary = tuple(int(ch.isupper()) for ch in text)
        return tuple(primary), tuple(secondary), tertiary

    return key


def _root(char: str, primary: list[int], secondary: list[int]) -> None:
    """One character as the root collation weighs it: base letter first, accents second,
    spaces and punctuation before every letter."""
    if char in _ROOT_EXPAND:
        for part in _ROOT_EXPAND[char]:
            primary.extend((ord(part), 0 if char != "þ" else 1))
        secondary.append(0)
        return
    decomposed = unicodedata.normalize("NFD", _ROOT_EXTRA.get(char, char))
    base, marks = decomposed[0], decomposed[1:]
    if not base.isalnum():
        primary.extend((0, 0))
        secondary.append(0)
        return
    primary.extend((ord(base), 0 if char not in _ROOT_EXTRA else 1))
    secondary.append(sum(ord(m) for m in marks))
