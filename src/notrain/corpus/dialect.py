"""The few places where DuckDB's SQL and Spark SQL spell the same thing differently.

The plan (``plan.py``) writes its rules once, in SQL, through a :class:`Dialect`; each
engine supplies its dialect and nothing else of the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from notrain.corpus.redaction import (
    DOTTED_CAPITAL_I,
    FOLD_FROM,
    FOLD_TO,
    JAVA_FOLDED_LETTERS,
    for_engine,
    replacement_for,
)


@dataclass(frozen=True)
class Dialect:
    name: str
    java_regex: bool
    backslash_escapes: bool  # Spark SQL string literals treat "\" as an escape

    def string(self, value: str) -> str:
        if self.backslash_escapes:
            value = value.replace("\\", "\\\\")
            return "'" + value.replace("'", "\\'") + "'"
        return "'" + value.replace("'", "''") + "'"

    def regex(self, pattern: str, folded: bool | None = None) -> str:
        """A regular expression as an SQL literal, in the form this engine's library needs.

        ``folded``: whether it is matched case-insensitively (default: it starts with ``(?i)``).
        """
        return self.string(for_engine(pattern, self.java_regex, folded))

    def handle_literal(self, expr: str) -> str:
        """A folded handle (SQL ``expr``, see :meth:`fold`) as a literal in a ``(?i)`` pattern.

        Handles hold letters, digits, marks, "_" and dots: the dot needs escaping, and for
        Java the letters it folds other than RE2 are rewritten as
        :func:`~notrain.corpus.redaction.for_engine` does.
        """
        literal = f"replace({expr}, '.', {self.string(chr(92) + '.')})"
        if self.java_regex:
            # "i" first: the rewritten forms of the others hold an "i" of their own.
            for letter in JAVA_FOLDED_LETTERS:
                java = for_engine(letter, java=True, folded=True)
                literal = f"replace({literal}, {self.string(letter)}, {self.string(java)})"
        return literal

    def fold(self, expr: str) -> str:
        """A handle folded the same way in both engines, and as RE2's ``(?i)`` does.

        ``lower`` alone differs: Java makes "İ" two letters and a final "Σ" a "ς", and
        neither joins the long s with "s". "İ" is kept as it is, behind a private-use letter.
        """
        keep = "\ue000"
        source = self.string(FOLD_FROM + DOTTED_CAPITAL_I)
        target = self.string(FOLD_TO + keep)
        lowered = f"lower(translate({expr}, {source}, {target}))"
        folded = f"replace({lowered}, {self.string(keep)}, {self.string(DOTTED_CAPITAL_I)})"
        # Every letter translated is outside ASCII: an ASCII handle (most of them) is only
        # lowered, which costs a fraction of the translation.
        return f"CASE WHEN {self.has_non_ascii(expr)} THEN {folded} ELSE lower({expr}) END"

    def has_non_ascii(self, expr: str) -> str:
        """Whether the string ``expr`` holds a character outside ASCII (more bytes than
        characters in UTF-8): a cheap test that spares a regular expression."""
        octets = "strlen" if self.name == "duckdb" else "octet_length"
        return f"{octets}({expr}) <> length({expr})"

    def positions(self, expr: str) -> str:
        """The list 1, 2, ... up to the length of the string ``expr``."""
        if self.name == "duckdb":
            return f"range(1, length({expr}) + 1)"
        return f"sequence(1, length({expr}))"

    def strings(self, values: list[str] | tuple[str, ...]) -> str:
        return ", ".join(self.string(v) for v in values) if values else "NULL"

    def timestamp(self, value: datetime) -> str:
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if self.name == "duckdb":
            return f"TIMESTAMPTZ '{text}+00'"
        return f"TIMESTAMP '{text}'"  # the Spark session runs in UTC

    def date(self, value: date | None) -> str:
        return "CAST(NULL AS DATE)" if value is None else f"DATE '{value.isoformat()}'"

    def replace_all(self, expr: str, pattern_sql: str, replacement: str) -> str:
        """Replace every match of a pattern (an SQL expression) in ``expr``."""
        rep = self.string(replacement_for(replacement, self.java_regex))
        if self.name == "duckdb":
            return f"regexp_replace({expr}, {pattern_sql}, {rep}, 'g')"
        return f"regexp_replace({expr}, {pattern_sql}, {rep})"

    def full_match(self, expr: str, pattern: str) -> str:
        if self.name == "duckdb":
            return f"regexp_full_match({expr}, {self.string(pattern)})"
        return f"({expr} RLIKE {self.string('^(?:' + pattern + ')$')})"

    def contains_match(self, expr: str, pattern: str) -> str:
        """Whether ``pattern`` matches somewhere in ``expr`` (no groups: a cheap test)."""
        return self.matches(expr, self.string(pattern))

    def matches(self, expr: str, pattern_sql: str) -> str:
        """Whether a pattern (an SQL expression, as :meth:`regex` gives) matches somewhere in
        ``expr``."""
        if self.name == "duckdb":
            return f"regexp_matches({expr}, {pattern_sql})"
        return f"({expr} RLIKE {pattern_sql})"

    def lambda_(self, var: str, body: str) -> str:
        return f"lambda {var}: {body}" if self.name == "duckdb" else f"{var} -> {body}"

    def filter_list(self, expr: str, var: str, condition: str) -> str:
        return f"filter({expr}, {self.lambda_(var, condition)})"

    def transform_list(self, expr: str, var: str, body: str) -> str:
        fn = "list_transform" if self.name == "duckdb" else "transform"
        return f"{fn}({expr}, {self.lambda_(var, body)})"

    def list_len(self, expr: str) -> str:
        return f"len({expr})" if self.name == "duckdb" else f"size({expr})"

    def join_list(self, expr: str, sep: str) -> str:
        fn = "array_to_string" if self.name == "duckdb" else "array_join"
        return f"{fn}({expr}, {self.string(sep)})"

    def sorted_set(self, expr: str, where: str) -> str:
        """Aggregate: the sorted distinct non-null values of ``expr`` where ``where`` holds."""
        if self.name == "duckdb":
            return f"list_sort(list(DISTINCT {expr}) FILTER (WHERE {where} AND {expr} IS NOT NULL))"
        return f"array_sort(collect_set(CASE WHEN {where} THEN {expr} END))"

    def explode(self, expr: str) -> str:
        return f"unnest({expr})" if self.name == "duckdb" else f"explode({expr})"

    def digest(self, expr: str) -> str:
        """The sha256 of the string ``expr`` as 32 raw bytes (a quarter of the hex form
        written and stored in every kept row)."""
        hexed = f"sha256({expr})" if self.name == "duckdb" else f"sha2({expr}, 256)"
        return f"unhex({hexed})"

    def empty_if_null(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"coalesce({expr}, CAST([] AS BIGINT[]))"
        return f"coalesce({expr}, CAST(array() AS ARRAY<BIGINT>))"


DUCKDB = Dialect(name="duckdb", java_regex=False, backslash_escapes=False)
SPARK = Dialect(name="spark", java_regex=True, backslash_escapes=True)
