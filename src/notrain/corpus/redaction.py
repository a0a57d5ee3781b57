"""What redaction matches, as regular expressions both engines understand.

The patterns use only syntax shared by RE2 (DuckDB) and java.util.regex (Spark): no
look-around, ``\\p{L}``/``\\p{N}``/``\\p{M}`` classes and ``\\x{hhhh}`` escapes, inline
``(?i)`` (made Unicode-aware for Java by :func:`for_engine`, as it always is in RE2),
whitespace spelled out rather than ``\\s`` (the two libraries disagree on it). Where a
match needs a boundary on its left, the boundary character is captured and put back by
the replacement; a second pass then catches the occurrences whose boundary the first pass
consumed (``bob bob``). Replacements are written with ``\\1``-style references and
translated per engine by :func:`replacement_for`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notrain.policy.model import Policy

EMAIL_PLACEHOLDER = "[email]"
PHONE_PLACEHOLDER = "[phone]"
REDACTED = "[redacted]"
HANDLE_REDACTED = "@[redacted]"

# What continues a word: letters, digits, "_", and the combining marks that decomposed
# (NFD) text spells accents with, so "e\u0301" ends no word before its accent.
_WORD = r"\p{L}\p{N}\p{M}_"

# A handle: letters, digits and combining marks of any script, "_" and inner dots
# ("anna.k", "ünal", "josé_r").
HANDLE_LETTERS = r"\p{L}\p{N}\p{M}_"
HANDLE_BODY = rf"[{HANDLE_LETTERS}](?:[{HANDLE_LETTERS}.]*[{HANDLE_LETTERS}])?"

# Where a mention starts and ends is decided on ASCII alone, as it always was: "@bobさん"
# names bob, and "@ünalさん" names ünal, the way an ASCII handle would be found.
HANDLE_CHARS = r"A-Za-z0-9_"
_ASCII_HANDLE_BODY = rf"[{HANDLE_CHARS}](?:[{HANDLE_CHARS}.]*[{HANDLE_CHARS}])?"

# An "@" starts a mention only when it does not continue a word or an e-mail address.
_MENTION_LEFT = rf"(^|[^{HANDLE_CHARS}.@])"
# A mention ends where the handle cannot continue: a non-handle character, the end, or a
# sentence-ending dot ("thanks @bob.").
_MENTION_RIGHT = rf"(\.?[^{HANDLE_CHARS}.]|\.?$|\.\.)"

MENTION_EXTRACT = rf"{_MENTION_LEFT}@({_ASCII_HANDLE_BODY})"
"""Group 2 of every match is an ASCII handle mentioned in the text."""

MENTION_RUN_EXTRACT = rf"{_MENTION_LEFT}@({HANDLE_BODY})"
"""Group 2 of every match is the run of handle characters after an "@".

A handle with other than ASCII in it is mentioned by every prefix of such a run that
holds a non-ASCII character and ends where :data:`MENTION_PREFIX_END` says a mention may.
"""

NON_ASCII = r".*[^\x{0000}-\x{007f}].*"
"""A (full-match) pattern for text with a character outside ASCII."""

MENTION_PREFIX_END = r"(?:\.?[^\x{0000}-\x{007f}]|\.\.).*"
"""What may follow a handle inside a run (full match): the mention boundary of
``_MENTION_RIGHT`` applied to handle characters, which ends only at non-ASCII ones."""

# -- e-mail addresses, IP addresses and phone numbers ------------------------------------
#
# E-mails and phones are found by *guarded* patterns: one alternation that also matches
# what must be kept (a file name like "logo@2x.png", a date, a version, any run of digits
# that is no phone number), so that what is kept is consumed whole and no phone can be
# found inside it. A replacement cannot tell the alternatives apart, so each match is
# written between two markers, with the kept text between them and nothing for the
# redacted kind: the placeholder is then put where the two markers meet, and the markers
# are removed (:func:`unguard`). The markers are Unicode noncharacters, which text meant for
# interchange does not hold; any found in a text are removed with them.

GUARD_OPEN = "\ufdd0"
GUARD_CLOSE = "\ufdd1"
IP_PLACEHOLDER = "[ip]"
_OPEN, _CLOSE = r"\x{fdd0}", r"\x{fdd1}"

# Digits as people type them, full-width ones (U+FF10 to U+FF19) included.
_D = r"[0-9\x{ff10}-\x{ff19}]"
# Digits of the scripts numbers are written in, where a number must not go on (ranges:
# RE2 compiles \p{N} into an automaton that made the patterns several times as costly).
_DIGITS = (
    r"0-9\x{00b2}\x{00b3}\x{00b9}\x{0660}-\x{0669}\x{06f0}-\x{06f9}\x{0966}-\x{096f}"
    r"\x{09e6}-\x{09ef}\x{0e50}-\x{0e59}\x{ff10}-\x{ff19}"
)
# Spaces, hyphens and dashes inside a number (inside a character class).
_SP = r" \x{00a0}\x{2009}\x{202f}\x{3000}"
_HY = r"\-\x{2010}-\x{2015}\x{2212}\x{ff0d}\x{30fc}"
# What may stand between two digits of a phone number: up to three of space, dot, dash,
# slash and parenthesis ("+1 (415) 555-0132", "0176 / 123 456 78", "03(1234)5678").
_LINK = "[" + _SP + "." + _HY + r"/()\x{ff08}\x{ff09}\x{ff0e}\x{ff0f}]{0,3}"
# One separator between groups of a national format.
_SEP = "[" + _SP + "." + _HY + r"/\x{ff0e}\x{ff0f}]"
_SEP_SPACE_DASH = "[" + _SP + _HY + "]"
_OPEN_PAREN, _CLOSE_PAREN = r"[(\x{ff08}]", r"[)\x{ff09}]"
_PLUS = r"(?:\+|\x{ff0b}|00)"


def _run(low: int, high: int) -> str:
    """``low`` to ``high`` digits, each after up to three separators."""
    return "(?:" + _LINK + _D + "){" + str(low) + "," + str(high) + "}"


def _digits(count: str, first: str = "") -> str:
    """Digits written together; ``first`` narrows the first one (e.g. "2-9")."""
    lead = ""
    if first:
        low, high = first.split("-")
        lead = "[" + first + r"\x{ff1" + low + r"}-\x{ff1" + high + "}]"
        count = str(int(count) - 1)
    return lead + _D + "{" + count + "}" if count != "0" else lead


# National significant numbers' lengths after a country code, for the countries whose
# people write most of the text this is built for (ITU-T E.164 national plans); other
# codes take 8 to 12 digits. A number is cut at the length its country allows, so a date
# or a zip code after it is not taken for more digits.
_COUNTRY_LENGTHS: tuple[tuple[str, int, int], ...] = (
    ("351", 9, 9), ("352", 6, 11), ("353", 7, 9), ("358", 6, 11), ("420", 9, 9),
    ("1", 10, 10), ("7", 10, 10), ("30", 10, 10), ("31", 9, 9), ("32", 8, 9),
    ("33", 9, 9), ("34", 9, 9), ("36", 8, 9), ("39", 6, 11), ("40", 9, 9), ("41", 9, 9),
    ("43", 7, 12), ("44", 9, 10), ("45", 8, 8), ("46", 7, 10), ("47", 8, 8), ("48", 9, 9),
    ("49", 7, 12), ("52", 10, 10), ("54", 10, 11), ("55", 10, 11), ("61", 9, 9),
    ("81", 9, 10), ("82", 8, 10), ("86", 10, 11), ("90", 10, 10), ("91", 10, 10),
)  # fmt: skip
_TRUNK_IN_PARENS = r"[)\x{ff09}]?(?:[" + _SP + r"]?[(\x{ff08}][0\x{ff10}][)\x{ff09}])?"


def _by_length() -> list[str]:
    # One run per length range, after every code that takes it: the compiled program
    # (and so the work per match) stays small.
    codes: dict[tuple[int, int], list[str]] = {}
    for code, low, high in _COUNTRY_LENGTHS:
        codes.setdefault((low, high), []).append(code)
    return [
        "(?:" + "|".join(sorted(group, key=lambda c: (-len(c), c))) + ")" + _TRUNK_IN_PARENS
        + _run(low, high)
        for (low, high), group in sorted(codes.items())
    ]  # fmt: skip


_INTERNATIONAL = (
    # "(+33) 6 12 34 56 78" too: the parenthesis is part of the number.
    _OPEN_PAREN
    + "?"
    + _PLUS
    + "(?:"
    + "|".join(_by_length())
    # Other codes (none starts with 1 but the North American one).
    + "|[2-9][0-9]{0,2}"
    + _TRUNK_IN_PARENS
    + _run(8, 12)
    + ")"
)
# A national number with its trunk 0 ("06 12 34 56 78", "030/12345678", "(020) 7946 0958",
# "03-1234-5678", "098765 43210"): 9 to 12 digits in all.
# The French and Dutch grouping in pairs takes exactly ten digits, so that two numbers
# written "06 12 34 56 78 / 01 23 45 67 89" stay two.
_TRUNK = (
    r"[0\x{ff10}]"
    + _digits("1", "1-9")
    + "(?:"
    + _SEP
    + _digits("2")
    + "){4}"
    + "|"
    + _OPEN_PAREN
    + r"?[0\x{ff10}]"
    + _digits("1", "1-9")
    + _run(7, 10)
)
# Three digits but "000", which ends amounts ("150 000 000") rather than phone numbers.
_NZ = r"[1-9\x{ff11}-\x{ff19}]"
_NOT_000 = "(?:" + _NZ + _D + "{2}|" + r"[0\x{ff10}]" + _NZ + _D + r"|[0\x{ff10}]{2}" + _NZ + ")"
# Formats without a trunk prefix.
_G = _LINK
_LINK_ONE = _LINK.replace("{0,3}", "{1,3}")
_NATIONAL = "|".join(
    (
        # North America: 415-555-0132, (415) 555-0132, 1-800-555-0199; written together
        # (4155550132) only with a valid exchange code, as order numbers are written so.
        "(?:1" + _G + ")?" + _OPEN_PAREN + "?" + _digits("3", "2-9") + _LINK_ONE
        + _digits("3") + _LINK_ONE + _digits("4"),
        "1?" + _digits("3", "2-9") + _digits("3", "2-9") + _digits("4"),
        # and its local 7 digits with a hyphen (555-0100).
        _digits("3", "2-9") + "[" + _HY + "]" + _digits("4"),
        # India: 98765 43210, 9876543210.
        _digits("5", "6-9") + _SEP_SPACE_DASH + "?" + _digits("5"),
        # Italian mobiles: 347 123 4567, 333/1234567, 3471234567, 338 123 45 67.
        r"[3\x{ff13}]" + _digits("2") + _SEP + "?" + _digits("3") + _SEP + "?" + _digits("4"),
        r"[3\x{ff13}]" + _digits("2") + "(?:" + _SEP + _digits("3") + ")(?:" + _SEP
        + _digits("2") + "){2}",
        # Spanish, Portuguese, Polish mobiles: 612 345 678, 512-345-678 (not "…000").
        _digits("3", "5-9") + _SEP_SPACE_DASH + _digits("3") + _SEP_SPACE_DASH
        + _NOT_000,
        # 612 34 56 78 (Spain), 91 123 45 67 (Spain, Poland), 21 123 4567 (Portugal).
        _digits("3", "6-9") + "(?:" + _SEP_SPACE_DASH + _digits("2") + "){3}",
        _digits("2", "1-9") + _SEP_SPACE_DASH + _digits("3") + "(?:" + _SEP_SPACE_DASH
        + _digits("2") + "){2}",
        r"[29\x{ff12}\x{ff19}]" + _D + _SEP_SPACE_DASH + _digits("3") + _SEP_SPACE_DASH
        + _digits("4"),
        # Nine digits written together: 612345678, 912345678, 512345678.
        _digits("9", "5-9"),
        # An area code in parentheses: (22) 123 45 67 (Poland), (11) 98765-4321 (Brazil).
        _OPEN_PAREN + r"[0\x{ff10}]?" + _digits("2", "1-9") + _CLOSE_PAREN + "[" + _SP + "]?"
        + "(?:" + _digits("3") + _SEP_SPACE_DASH + _digits("2") + _SEP_SPACE_DASH
        + _digits("2") + "|" + _digits("4") + _D + "?" + _SEP_SPACE_DASH + "?"
        + _digits("4") + ")",
        # Brazilian mobiles with their area code: 11 98765-4321, 11987654321.
        _digits("2", "1-9") + "[" + _SP + "]?" + r"[9\x{ff19}]" + _digits("4") + "[" + _HY + "]?"
        + _digits("4"),
        # Chinese mobiles: 138 0013 8000, 13800138000.
        r"[1\x{ff11}]" + _digits("2", "3-9") + _SEP_SPACE_DASH + "?" + _digits("4")
        + _SEP_SPACE_DASH + "?" + _digits("4"),
    )
)  # fmt: skip
# An extension: "x456", "ext. 123", "poste 204", or German "-89" after the number.
_EXTENSION = (
    "(?:[" + _SP + "]?(?:[xX]|[eE][xX][tT][nN]?\\.?|[pP]oste)[" + _SP + "]?" + _D + "{1,5})?"
)
# What may follow a phone number: anything but a digit, or a dot or hyphen that no digit
# follows ("06 12 34 56 78." ends a sentence; "26.06.2024" goes on). A comma or a slash
# may part two numbers ("0612345678,0698765432").
_JOIN = "." + _HY + r"\x{ff0e}"
_AFTER_NUMBER = r"([^" + _DIGITS + r"" + _JOIN + "]|[" + _JOIN + r"](?:[^" + _DIGITS + r"]|$)|$)"
# Kept whole, before any phone is looked for at the same place: dates (with a time),
# dotted quads (IPv4, when IPs are not redacted, and versions), ISBNs, IBANs.
_YEAR_OR_DAY = _D + "{1,2}"
_TIME = r"(?:,?[ T\x{00a0}]{1,2}" + _D + "{1,2}[:h.]" + _D + "{2}(?:[:.]" + _D + "{2})?)?"
_ENDS = _AFTER_NUMBER.replace("(", "(?:", 1)
_DATE_SEP = "[/" + _JOIN + r"\x{ff0f}]"
_PROTECTED_FIRST = "|".join(
    (
        "(?:" + _D + "{1,2}" + _DATE_SEP + _D + "{1,2}" + _DATE_SEP + "(?:" + _D + "{4}|"
        + _D + "{2})|" + _D + "{4}" + _DATE_SEP + _D + "{1,2}" + _DATE_SEP + _D + "{1,2})"
        + _TIME + _ENDS,
        _D + "{1,3}(?:\\." + _D + "{1,3}){3}" + _ENDS,
        "97[89](?:[" + _SP + "\\-]?" + _D + "){10}" + _ENDS,
        # Codes of letters and digits ("6A12345678901", "1Z999AA10123456784"); not "x",
        # which writes an extension.
        r"[" + _DIGITS + r"]+(?:[A-WYZa-wyz]+[" + _DIGITS + r"]+)+",
        "[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?",
    )
)  # fmt: skip
# Kept whole when no phone starts at the same place: thousands written with spaces
# ("1 299 000 €", "10 000 000"), and any other run of digits joined by dots, commas,
# colons, slashes or dashes (versions, decimals, codes, times), so none is searched inside.
_PROTECTED_LAST = "|".join(
    (
        _D + "{1,3}(?:[" + _SP + "]" + _D + "{3})+(?:[.,]" + _D + "+)?",
        r"[" + _DIGITS + r"]+(?:[.,:/\x{ff0c}\x{ff0f}\x{ff1a}" + _JOIN + r"][" + _DIGITS + r"]+)*",
    )
)
PHONE = (
    "(" + _PROTECTED_FIRST + ")"
    + "|(?:" + _INTERNATIONAL + "|" + _TRUNK + "|" + _NATIONAL + ")"
    + _EXTENSION + _AFTER_NUMBER
    + "|(" + _PROTECTED_LAST + ")"
)  # fmt: skip
"""Phone numbers (guarded): group 1 or 3 is kept text, group 2 what follows a number."""
PHONE_GATE = r"[0-9\x{ff10}-\x{ff19}](?:[^0-9\x{ff10}-\x{ff19}]{0,4}[0-9\x{ff10}-\x{ff19}]){6}"
"""Texts without seven digits this close hold no phone number: they skip :data:`PHONE`."""
PHONE_REPLACEMENT = GUARD_OPEN + r"\1\3" + GUARD_CLOSE + r"\2"

# E-mail addresses. The local part takes every character RFC 5322 allows ("o'brien",
# "r&d", "a/b=c") and letters of any script but the CJK ones, so an address written
# straight after Chinese or Japanese text ("写信到wang@example.cn") starts where its
# Latin letters do; it starts with a letter, digit, "_" or "~", so quotes, stars and
# brackets around it stay. The domain is letters of any script, or an IP literal
# ("user@[192.168.0.1]"); its top-level domain is letters or punycode ("xn--p1ai").
_LOCAL_LETTERS = r"A-Za-z0-9_\x{00c0}-\x{00d6}\x{00d8}-\x{00f6}\x{00f8}-\x{1fff}"
_LOCAL = "[" + _LOCAL_LETTERS + r"~][" + _LOCAL_LETTERS + r"!#$%\&'*+/=?^`{|}~.\-]*"
# Letters of domains as plain code-point ranges (Latin to Greek Extended, kana and CJK,
# Hangul) rather than \p{L}: the Unicode classes made the pattern three times as costly.
_NON_ASCII_LETTERS = (
    r"\x{00c0}-\x{00d6}\x{00d8}-\x{00f6}\x{00f8}-\x{1fff}\x{3040}-\x{9fff}\x{ac00}-\x{d7af}"
)
_DOMAIN_CHARS = "A-Za-z0-9" + _NON_ASCII_LETTERS
_LABEL = "[" + _DOMAIN_CHARS + "](?:[" + _DOMAIN_CHARS + r"\-]*[" + _DOMAIN_CHARS + "])?"
_DOMAIN = _LABEL + r"(?:\." + _LABEL + ")*"
_IP_LITERAL = r"\[(?:[Ii][Pp][Vv]6:[0-9A-Fa-f:.]{2,45}|[0-9]{1,3}(?:\.[0-9]{1,3}){3})\]"
_PUNYCODE = r"[Xx][Nn]--[A-Za-z0-9\-]*[A-Za-z0-9]"
# An ASCII top-level domain ends at the first character that is not ASCII ("…@example.jp
# までお願いします"); one in another script at the first that is no letter.
_AFTER_ASCII = r"([^A-Za-z0-9_\-]|$)"
_AFTER_ADDRESS = "([^" + _DOMAIN_CHARS + r"_\-]|$)"
# Names of image, document and other files people paste ("logo@2x.png"): not addresses.
FILE_EXTENSIONS = (
    "png", "jpg", "jpeg", "gif", "webp", "svg", "bmp", "tif", "tiff", "heic", "avif",
    "ico", "psd", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "txt",
    "csv", "json", "xml", "yaml", "yml", "html", "htm", "css", "js", "ts", "mp3", "mp4",
    "wav", "avi", "mkv", "webm", "mov", "exe", "dll", "tar", "gz", "zip", "rar", "log",
)  # fmt: skip


def _either_case(word: str) -> str:
    return "".join(f"[{ch.lower()}{ch.upper()}]" for ch in word)


_FILE_NAME = (
    _LOCAL + "@" + _DOMAIN + r"\.(?:"
    + "|".join(_either_case(ext) for ext in sorted(FILE_EXTENSIONS, key=lambda e: (-len(e), e)))
    + ")" + _AFTER_ASCII.replace("(", "(?:", 1)
)  # fmt: skip
EMAIL = (
    "(" + _FILE_NAME + ")|" + _LOCAL + "@(?:" + _IP_LITERAL
    + "|" + _DOMAIN + r"\.(?:" + _PUNYCODE + "|[A-Za-z]{2,63})" + _AFTER_ASCII
    + "|" + _DOMAIN + r"\.[" + _NON_ASCII_LETTERS + "]{2,}" + _AFTER_ADDRESS + ")"
)  # fmt: skip
"""E-mail addresses (guarded): group 1 is a file name kept, group 2 or 3 what follows."""
EMAIL_REPLACEMENT = GUARD_OPEN + r"\1" + GUARD_CLOSE + r"\2\3"

# IP addresses, v4 and v6 (with "::" shortening and a v4 tail), not glued to letters,
# digits or the dots and colons that would make them part of something longer.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = _OCTET + r"(?:\." + _OCTET + "){3}"
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(
    (
        "(?:" + _H + ":){7}" + _H,
        "(?:" + _H + ":){1,4}:" + _IPV4,
        "::(?:[Ff]{4}(?::0{1,4})?:)?" + _IPV4,
        "(?:" + _H + ":){1,6}:" + _H,
        "(?:" + _H + ":){1,5}(?::" + _H + "){1,2}",
        "(?:" + _H + ":){1,4}(?::" + _H + "){1,3}",
        "(?:" + _H + ":){1,3}(?::" + _H + "){1,4}",
        "(?:" + _H + ":){1,2}(?::" + _H + "){1,5}",
        _H + ":(?::" + _H + "){1,6}",
        "(?:" + _H + ":){2,7}:",
        ":(?::" + _H + "){1,7}",
    )
)
IP = (
    r"(^|[^0-9A-Za-z_.:\x{ff10}-\x{ff19}])"
    + "(?:" + _IPV4 + r"([^" + _DIGITS + r".]|\.(?:[^" + _DIGITS + r"]|$)|$)"
    + "|(?:" + _IPV6 + r")([^0-9A-Za-z_:." + _DIGITS + r"]|\.(?:[^" + _DIGITS + r"]|$)|$))"
)  # fmt: skip
"""IP addresses: group 1 is the character before, group 2 or 3 the one after."""
IP_GATE = r"[0-9]\.[0-9]|:[0-9A-Fa-f:]"
"""Texts without a digit-dot-digit or a colon before a hex digit or colon hold no IP."""
IP_REPLACEMENT = r"\1" + IP_PLACEHOLDER + r"\2\3"

IDENTIFIER_REPLACEMENT = rf"\1{REDACTED}\2"
MENTION_REPLACEMENT = rf"\1{HANDLE_REDACTED}\2"

# Whitespace as Python's str.split() sees it (how identifiers are normalised), spelled out:
# RE2's \s is ASCII-only and java.util.regex's differs from it (it matches \x0B).
_SPACE = (
    r"[\t\n\x{000b}\f\r \x{001c}-\x{001f}\x{0085}\x{00a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)

# Identifiers are grouped into alternations of this many, to keep each compiled
# program well within RE2's memory budget.
IDENTIFIERS_PER_PATTERN = 500
MIN_IDENTIFIER_LENGTH = 2

# RE2's (?i) adds these to [A-Za-z]: the Kelvin sign folds to k, the long s to s.
_FOLDED_INTO_ASCII = "\u212a\u017f"
_DOTLESS_I = "\u0131"
_SHARP_S, _CAPITAL_SHARP_S = "\u00df", "\u1e9e"

_REGEX_SPECIAL = set("\\.^$|?*+()[]{}-/#&~")


def escape(literal: str) -> str:
    """Escape ``literal`` for RE2 and Java alike (only punctuation is escaped)."""
    return "".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in literal)


def is_valid_handle(handle: str) -> bool:
    """Whether ``handle`` matches :data:`HANDLE_BODY` (as Python's Unicode tables see it)."""

    def letter(ch: str) -> bool:
        return ch == "_" or unicodedata.category(ch)[0] in "LNM"

    return (
        bool(handle)
        and letter(handle[0])
        and letter(handle[-1])
        and all(letter(ch) or ch == "." for ch in handle)
    )


def _fold_table() -> tuple[str, str]:
    # Letters RE2's (?i) folds together but lower() leaves apart (the long s and "s", the
    # final and the medial sigma), mapped to the lower-case one; the capital sigma too,
    # which Java lower-cases to the final sigma at the end of a word.
    pairs = {"\u03a3": "\u03c3"}
    for code in range(0x80, 0x10000):
        ch = chr(code)
        folded = ch.casefold()
        if len(folded) == 1 and folded != ch.lower() and folded.lower() == folded:
            pairs[ch] = folded
    return "".join(pairs), "".join(pairs.values())


FOLD_FROM, FOLD_TO = _fold_table()
"""``translate`` these before ``lower`` so both engines fold a handle as RE2 does."""

DOTTED_CAPITAL_I = "\u0130"
"""RE2 folds "İ" with no other letter, DuckDB lower-cases it to "i", Java to "i\u0307":
a handle keeps it as it is."""

JAVA_FOLDED_LETTERS = f"i{_DOTLESS_I}{_SHARP_S}{DOTTED_CAPITAL_I}"
"""The letters a folded handle may hold that Java must match other than by ``(?iu)``."""


def normalise_identifier(raw: str) -> str | None:
    """Lower-case, NFC, trimmed, inner whitespace collapsed, a leading "@" dropped.

    Returns None for what is too short to redact safely.
    """
    text = unicodedata.normalize("NFC", raw).strip().lstrip("@").strip()
    text = " ".join(text.split()).lower()
    if len(text) < MIN_IDENTIFIER_LENGTH:
        return None
    return text


def _identifier_regex(identifier: str) -> str:
    # Inner whitespace in a name matches any run of whitespace ("Maria  Gonzalez").
    return rf"{_SPACE}+".join(escape(part) for part in identifier.split(" "))


def identifier_patterns(identifiers: Iterable[str]) -> list[str]:
    """Case-insensitive whole-word patterns for the given identifiers.

    Longer identifiers come first in each alternation so "maria gonzalez" is redacted whole
    rather than leaving " gonzalez" after "maria".
    """
    normalised = {norm for raw in identifiers if (norm := normalise_identifier(raw))}
    # Text is matched as written: a name typed in decomposed form (NFD, "e" + combining
    # accent) must be found as well as the composed one.
    forms = normalised | {unicodedata.normalize("NFD", norm) for norm in normalised}
    unique = sorted(forms, key=lambda s: (-len(s), s))
    patterns = []
    for start in range(0, len(unique), IDENTIFIERS_PER_PATTERN):
        chunk = unique[start : start + IDENTIFIERS_PER_PATTERN]
        alternation = "|".join(_identifier_regex(item) for item in chunk)
        patterns.append(rf"(?i)(^|[^{_WORD}])(?:{alternation})([^{_WORD}]|$)")
    return patterns


def mention_pattern(handles: Sequence[str]) -> str:
    """A pattern matching "@handle" for any of ``handles`` (case-insensitive)."""
    alternation = "|".join(escape(h) for h in handles)
    return rf"(?i){_MENTION_LEFT}@(?:{alternation}){_MENTION_RIGHT}"


def mention_pattern_prefix() -> str:
    """The part of a mention pattern before the handle alternation (for SQL assembly)."""
    return rf"(?i){_MENTION_LEFT}@(?:"


def mention_pattern_suffix() -> str:
    return rf"){_MENTION_RIGHT}"


def for_engine(pattern: str, java: bool, folded: bool | None = None) -> str:
    """A pattern as the engine's regex library must read it to match as RE2 does.

    RE2's ``(?i)`` folds case across Unicode; java.util.regex folds only ASCII unless
    ``u`` (UNICODE_CASE) is given too, so ``(?i)école`` would miss ``ÉCOLE`` in Spark.
    Java's Unicode folding goes one step further than RE2's for the letter i: it also
    equates the Turkish dotless i (U+0131) and dotted capital I (U+0130) with it. So for
    Java a literal ``i`` is matched with ASCII folding only, a dotless i only as itself,
    ``ß`` as ``[ßẞ]``, and a class of ASCII letters without folding plus the two letters
    RE2 folds into it. ``test_spark_rules.py`` checks this over every letter of the BMP.
    ``folded`` says whether ``pattern`` is read case-insensitively; by default, whether it
    starts with ``(?i)`` (say so for the tail of a pattern whose head sets the flag).
    """
    flag = "(?i)"
    if folded is None:
        folded = pattern.startswith(flag)
    if not java or not folded:
        return pattern
    if pattern.startswith(flag):
        return "(?iu)" + _java_folding(pattern[len(flag) :])
    return _java_folding(pattern)


def _java_folding(body: str) -> str:
    out: list[str] = []
    at = 0
    while at < len(body):
        ch = body[at]
        if ch == "\\":
            end = at + 2
            if body[at + 1 : at + 2] in ("p", "P", "x") and body[at + 2 : at + 3] == "{":
                end = body.index("}", at) + 1
            out.append(body[at:end])
            at = end
            continue
        if ch == "[":
            end = _class_end(body, at)
            chars = body[at:end]
            if "A-Z" in chars or "a-z" in chars:
                chars = f"(?-i:{chars[:-1]}{_FOLDED_INTO_ASCII}])"
            out.append(chars)
            at = end
            continue
        if ch in "iI":
            out.append(f"(?-u:{ch})")
        elif ch in (_DOTLESS_I, DOTTED_CAPITAL_I):
            out.append(f"(?-i:{ch})")
        elif ch == _SHARP_S:
            # Java does not fold a lone ß (it has no one-letter capital) to ẞ; RE2 does.
            out.append(f"(?-i:[{_SHARP_S}{_CAPITAL_SHARP_S}])")
        else:
            out.append(ch)
        at += 1
    return "".join(out)


def _class_end(body: str, start: int) -> int:
    """The index just past the ``]`` that closes the class opened at ``start``."""
    at = start + 1
    if body[at : at + 1] == "^":
        at += 1
    if body[at : at + 1] == "]":
        at += 1
    while body[at] != "]":
        at += 2 if body[at] == "\\" else 1
    return at + 1


def replacement_for(replacement: str, java: bool) -> str:
    r"""Translate ``\1`` references into ``$1`` for java.util.regex."""
    if not java:
        return replacement
    return re.sub(r"\\(\d)", r"$\1", replacement.replace("$", r"\$"))


def redaction_query(passes: Sequence[str], relation: str, handles_type: str) -> str:
    """SQL that runs the plan's redaction ``passes`` over ``relation`` (id, text).

    The same chain of projections a build writes (``BuildPlan.kept_sql``), for a few
    texts: how ``notrain redact`` and the tests check what a build keeps of a text.
    ``handles_type`` is the engine's type of a list of strings (no handle is mentioned).
    """
    steps = [
        f"r0 AS (SELECT id, text, CAST(NULL AS {handles_type}) AS mention_handles FROM {relation})"
    ]
    for number, expr in enumerate(passes, start=1):
        steps.append(
            f"r{number} AS (SELECT id, {expr} AS text, mention_handles FROM r{number - 1})"
        )
    return f"WITH {', '.join(steps)} SELECT id, text FROM r{len(passes)} ORDER BY id"


def redact_texts(
    texts: Sequence[str], policy: Policy, identifiers: Iterable[str] = ()
) -> list[str]:
    """What a build under ``policy`` keeps of each text (DuckDB, the default engine).

    ``identifiers`` are non-members' identifiers as a registry snapshot would list them.
    """
    import duckdb
    import pyarrow as pa

    from notrain.corpus.dialect import DUCKDB
    from notrain.corpus.plan import BuildPlan

    plan = BuildPlan.compile(policy, datetime.now(UTC), identifiers)
    table = pa.table(
        {"id": pa.array(range(len(texts)), pa.int64()), "text": pa.array(texts, pa.string())}
    )
    con = duckdb.connect()
    try:
        con.register("texts", table)
        sql = redaction_query(plan.redaction_passes(DUCKDB), "texts", "VARCHAR[]")
        return [row[1] for row in con.execute(sql).fetchall()]
    finally:
        con.close()
