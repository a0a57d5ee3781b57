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

# Internationalised addresses ("josé@müller.de") are addresses too: letters of any script.
_EMAIL_CHARS = r"\p{L}\p{N}\p{M}"
EMAIL = (
    rf"[{_EMAIL_CHARS}._%+\-]+@[{_EMAIL_CHARS}\-]+(?:\.[{_EMAIL_CHARS}\-]+)*"
    r"\.[\p{L}\p{M}]{2,}"
)

# Dashes as people type them: hyphen-minus, the Unicode hyphens and dashes, minus sign.
_DASHES = r"\-\x{2010}-\x{2015}\x{2212}"
# 7 or more digits, separated by at most three of space (incl. no-break spaces), dot, dash
# or parenthesis, with an optional "+" country prefix (also written "(+33)"), not glued to
# a word on either side (so "@sam2024" or "abc1234567" stay). A "+" is no part of a word,
# so "call+33612345678" gives "call+[phone]".
PHONE = (
    rf"(^|[^{_WORD}@])"
    rf"(\(?\+?\(?[0-9](?:[ .()\x{{00a0}}\x{{202f}}{_DASHES}]{{0,3}}[0-9]){{6,}}\)?)"
    rf"([^{_WORD}]|$)"
)
PHONE_REPLACEMENT = rf"\1{PHONE_PLACEHOLDER}\3"

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
