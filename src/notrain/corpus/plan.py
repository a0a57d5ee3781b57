"""The policy compiled into one relational plan, written once for every engine.

A :class:`BuildPlan` is the policy made concrete for one build: the as-of time fixed, the
jurisdiction table resolved to "active or not", the snapshot's identifiers turned into
redaction patterns. Its methods write the plan's steps as SQL through a
:class:`~notrain.corpus.dialect.Dialect`, so DuckDB and Spark run the same rules and
neither engine keeps its own copy of them.

The steps, over the relations ``content``, ``accounts`` and ``snapshot`` (in the data
contracts, as the engine registers them):

1. ``decisions``: per subject, what is effective at as-of (erased, objected, consented).
2. ``authors``: accounts with their jurisdiction's regime and their decisions.
3. ``blocked``: people whose objection or erasure protects them in others' content.
4. ``third_party``: per candidate row (of a kind and visibility the policy allows), the
   blocked people it tags or mentions. Other rows are left out before the third-party rule
   is reached, so their texts are never searched for @handles.
5. ``reasons``: every content row's exclusion reason (NULL = kept), with the optional
   ``signals`` relation (content_id, reserved, unknown, unreadable) when the build honours
   signals.
6. ``kept``: the kept rows, with redacted text and the surviving mentions and tags.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from notrain.contracts import ContentKind, DecisionKind, Visibility
from notrain.corpus import redaction
from notrain.corpus.dialect import Dialect
from notrain.policy.model import WILDCARD, ExclusionReason, Policy, Regime

INVALID_PREFIX = "!"
"""Reasons starting with this mark a row that breaks the input contract, not the policy."""

MEDIA_KINDS = (ContentKind.PHOTO.value, ContentKind.VIDEO.value)


class WebReason(StrEnum):
    """Reasons a web document is left out besides ``signal_reserved``."""

    UNREADABLE = "unreadable"  # the scan's error row of a WARC it could not read
    NO_TEXT = "no_text"


def _replace(d: Dialect, source: str, pattern: str, replacement: str) -> str:
    return d.replace_all(source, pattern, replacement)


@dataclass(frozen=True)
class JurisdictionRow:
    country: str
    regime: Regime
    active: bool
    content_since: datetime | None


def source_sha256(d: Dialect, row: str) -> str:
    """The ``source_sha256`` of the source row ``row`` (an SQL alias): the sha256 of its id,
    text and media URI joined by U+001F, as 32 raw bytes."""
    if d.name == "duckdb":
        joined = (
            f"CAST({row}.content_id AS VARCHAR) || chr(31) || coalesce({row}.text, '') "
            f"|| chr(31) || coalesce({row}.media_uri, '')"
        )
    else:
        joined = (
            f"concat(CAST({row}.content_id AS STRING), char(31), coalesce({row}.text, ''), "
            f"char(31), coalesce({row}.media_uri, ''))"
        )
    return d.digest(joined)


@dataclass(frozen=True)
class BuildPlan:
    policy: Policy
    as_of: datetime
    identifier_patterns: tuple[str, ...] = field(default=())
    signals: bool = False
    """Whether a ``signals`` relation (content_id, reserved, unknown, unreadable) takes part."""

    @classmethod
    def compile(
        cls,
        policy: Policy,
        as_of: datetime,
        identifiers: Iterable[str] = (),
        signals: bool = False,
    ) -> BuildPlan:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        patterns: tuple[str, ...] = ()
        if policy.third_parties.identifiers == "redact":
            patterns = tuple(redaction.identifier_patterns(identifiers))
        return cls(
            policy=policy,
            as_of=as_of.astimezone(UTC),
            identifier_patterns=patterns,
            signals=signals and policy.signals.honour,
        )

    # -- the jurisdiction table ------------------------------------------------------

    def jurisdiction_rows(self) -> list[JurisdictionRow]:
        rows: list[JurisdictionRow] = []
        for jurisdiction in self.policy.jurisdictions:
            active_from = datetime.combine(jurisdiction.active_from, datetime.min.time(), UTC)
            since = (
                datetime.combine(jurisdiction.content_since, datetime.min.time(), UTC)
                if jurisdiction.content_since
                else None
            )
            rows.extend(
                JurisdictionRow(
                    country=country,
                    regime=jurisdiction.regime,
                    active=self.as_of >= active_from,
                    content_since=since,
                )
                for country in jurisdiction.countries
            )
        return rows

    def _jurisdictions_values(self, d: Dialect) -> str:
        rows = self.jurisdiction_rows()
        values = ", ".join(
            f"({d.string(r.country)}, {d.string(r.regime.value)}, "
            f"{'TRUE' if r.active else 'FALSE'}, "
            f"{d.timestamp(r.content_since) if r.content_since else 'NULL'})"
            for r in rows
        )
        return f"(VALUES {values}) AS j(country, regime, active, content_since)"

    # -- steps -------------------------------------------------------------------------

    def decisions_sql(self, d: Dialect) -> str:
        as_of = d.timestamp(self.as_of)
        objection, erasure, consent = (
            d.string(DecisionKind.OBJECTION.value),
            d.string(DecisionKind.ERASURE.value),
            d.string(DecisionKind.CONSENT.value),
        )
        return f"""
SELECT subject_id,
       max(CASE WHEN kind = {erasure} THEN 1 ELSE 0 END) = 1 AS erased,
       min(CASE WHEN kind = {objection} THEN effective_at END) AS objected_at,
       max(CASE WHEN kind = {consent} THEN 1 ELSE 0 END) = 1 AS consented
FROM snapshot
WHERE effective_at <= {as_of} AND subject_id IS NOT NULL
GROUP BY subject_id"""

    def authors_sql(self, d: Dialect) -> str:
        jur = self._jurisdictions_values(d)
        wildcard = d.string(WILDCARD)
        return f"""
SELECT a.user_id, a.country, a.birth_date, a.handle,
       CASE WHEN j.country IS NOT NULL THEN j.regime ELSE w.regime END AS regime,
       CASE WHEN j.country IS NOT NULL THEN j.active ELSE w.active END AS active,
       CASE WHEN j.country IS NOT NULL THEN j.content_since ELSE w.content_since END
           AS content_since,
       coalesce(x.erased, FALSE) AS erased,
       x.objected_at,
       coalesce(x.consented, FALSE) AS consented
FROM accounts a
LEFT JOIN (SELECT * FROM {jur}) j ON a.country = j.country
LEFT JOIN (SELECT * FROM {jur}) w ON w.country = {wildcard}
LEFT JOIN decisions x ON a.user_id = x.subject_id"""

    def blocked_sql(self, d: Dialect) -> str:
        """People protected in others' content: an objection or erasure effective at as-of."""
        handle_ok = d.full_match("a.handle", redaction.HANDLE_BODY)
        return f"""
SELECT x.subject_id AS id,
       CASE WHEN {handle_ok} THEN {d.fold("a.handle")} END AS handle
FROM decisions x
LEFT JOIN accounts a ON a.user_id = x.subject_id
WHERE x.erased OR x.objected_at IS NOT NULL"""

    def candidates_sql(self, d: Dialect, content: str = "content") -> str:
        """The rows of ``content`` whose kind and visibility the policy allows: the only ones
        the third-party rule can be reached for, and found without a join."""
        kinds = d.strings([k.value for k in self.policy.content.kinds])
        visibilities = d.strings([v.value for v in self.policy.content.visibility])
        return f"""
SELECT content_id, kind, text, tags, mentions
FROM {content}
WHERE kind IN ({kinds}) AND visibility IN ({visibilities})"""

    def third_party_sql(
        self, d: Dialect, content: str = "content", handles: str | None = None
    ) -> str:
        """Per candidate row of ``content``, the blocked people it tags or mentions.

        ``handles``: a pattern (SQL literal) every text naming a blocked person by @handle
        meets, such as ``(?i)@(?:h1|h2)`` of their folded handles: only those texts are
        searched for @handles. Worth it only for a few handles (a recall's newly protected
        people): a regular expression of many alternatives costs more than the search.
        """
        texts = "instr(text, '@') > 0"
        if handles is not None:
            texts += f" AND {d.matches('text', handles)}"
        media = d.strings(MEDIA_KINDS)
        prefix_end = redaction.MENTION_PREFIX_END
        runs = d.filter_list(
            f"regexp_extract_all(text, {d.string(redaction.MENTION_RUN_EXTRACT)}, 2)",
            "x",
            d.full_match("x", redaction.NON_ASCII),
        )
        return f"""
WITH candidates AS ({self.candidates_sql(d, content)})
SELECT r.content_id,
       max(CASE WHEN r.src = 'tag' AND r.kind IN ({media}) THEN 1 ELSE 0 END) = 1 AS tag_hit,
       max(CASE WHEN r.src = 'mention' THEN 1 ELSE 0 END) = 1 AS mention_hit,
       {d.sorted_set("r.id", "TRUE")} AS blocked_ids,
       {d.sorted_set("r.handle", "r.src = 'mention'")} AS mention_handles
FROM (
    SELECT l.content_id, l.kind, b.id, b.handle, l.src
    FROM (
        SELECT content_id, kind, {d.explode("tags")} AS id, 'tag' AS src
        FROM candidates WHERE tags IS NOT NULL
        UNION ALL
        SELECT content_id, kind, {d.explode("mentions")} AS id, 'mention' AS src
        FROM candidates WHERE mentions IS NOT NULL
    ) l
    JOIN blocked b ON l.id = b.id
    UNION ALL
    -- an @handle in the text counts even when the mentions column misses it
    SELECT w.content_id, w.kind, b.id, b.handle, 'mention' AS src
    FROM (
        SELECT content_id, kind,
               {d.explode(f"regexp_extract_all(text, {d.string(redaction.MENTION_EXTRACT)}, 2)")}
                   AS written
        FROM candidates WHERE {texts}
    ) w
    JOIN blocked b ON {d.fold("w.written")} = b.handle
    UNION ALL
    -- and so does a handle of other scripts, ended where an ASCII one would be ("@ünalさん")
    SELECT p.content_id, p.kind, b.id, b.handle, 'mention' AS src
    FROM (
        SELECT content_id, kind, substr(run, 1, n) AS written
        FROM (
            SELECT content_id, kind, run, {d.explode(d.positions("run"))} AS n
            FROM (
                SELECT content_id, kind, {d.explode(runs)} AS run
                FROM candidates WHERE {texts} AND {d.has_non_ascii("text")}
            ) u
        ) v
        WHERE (n = length(run) OR {d.full_match("substr(run, n + 1)", prefix_end)})
            AND {d.full_match("substr(run, 1, n)", redaction.NON_ASCII)}
    ) p
    JOIN blocked b ON {d.fold("p.written")} = b.handle
) r
GROUP BY r.content_id"""

    def reason_sql(self, d: Dialect) -> str:
        """The ordered rules: the first that holds names the row's exclusion reason."""
        p = self.policy
        r = ExclusionReason
        kinds = d.strings([k.value for k in p.content.kinds])
        visibilities = d.strings([v.value for v in p.content.visibility])
        all_kinds = d.strings([k.value for k in ContentKind])
        all_visibilities = d.strings([v.value for v in Visibility])
        age = (
            "(year(c.created_at) - year(a.birth_date) - CASE WHEN month(c.created_at) < "
            "month(a.birth_date) OR (month(c.created_at) = month(a.birth_date) AND "
            "day(c.created_at) < day(a.birth_date)) THEN 1 ELSE 0 END)"
        )
        unknown_age = "TRUE" if p.authors.unknown_age == "exclude" else "FALSE"
        objected = "a.objected_at IS NOT NULL"
        if not p.objections.retroactive:
            objected += " AND c.created_at >= a.objected_at"
        third_party = []
        if p.third_parties.tagged == "exclude":
            third_party.append("coalesce(t.tag_hit, FALSE)")
        if p.third_parties.mentioned == "exclude":
            third_party.append("coalesce(t.mention_hit, FALSE)")
        third_party_sql = " OR ".join(third_party) or "FALSE"
        signal_sql = unreadable_sql = "FALSE"
        if self.signals:
            signal_sql = "coalesce(sg.reserved, FALSE)"
            if p.signals.unknown == "exclude":
                signal_sql += " OR coalesce(sg.unknown, FALSE)"
            if p.signals.unreadable == "exclude":
                unreadable_sql = "coalesce(sg.unreadable, FALSE)"
        bad = INVALID_PREFIX

        def s(reason: ExclusionReason) -> str:
            return d.string(reason.value)

        return f"""CASE
    WHEN c.content_id IS NULL THEN {d.string(bad + "null content_id")}
    WHEN c.author_id IS NULL THEN {d.string(bad + "null author_id")}
    WHEN c.created_at IS NULL THEN {d.string(bad + "null created_at")}
    WHEN c.kind IS NULL OR c.kind NOT IN ({all_kinds}) THEN {d.string(bad + "unknown kind")}
    WHEN c.visibility IS NULL OR c.visibility NOT IN ({all_visibilities})
        THEN {d.string(bad + "unknown visibility")}
    WHEN c.kind NOT IN ({kinds}) THEN {s(r.KIND_NOT_ALLOWED)}
    WHEN c.visibility NOT IN ({visibilities}) THEN {s(r.NOT_PUBLIC)}
    WHEN a.user_id IS NULL THEN {s(r.AUTHOR_UNKNOWN)}
    WHEN a.regime IS NULL OR a.regime = {d.string(Regime.EXCLUDED.value)} OR NOT a.active
        OR (a.content_since IS NOT NULL AND c.created_at < a.content_since)
        THEN {s(r.JURISDICTION_EXCLUDED)}
    WHEN (a.birth_date IS NULL AND {unknown_age})
        OR (a.birth_date IS NOT NULL AND {age} < {p.authors.min_age})
        THEN {s(r.AUTHOR_MINOR)}
    WHEN a.erased THEN {s(r.AUTHOR_ERASED)}
    WHEN {objected} THEN {s(r.AUTHOR_OBJECTED)}
    WHEN a.regime = {d.string(Regime.CONSENT.value)} AND NOT a.consented
        THEN {s(r.NO_CONSENT)}
    WHEN {third_party_sql} THEN {s(r.THIRD_PARTY_OBJECTED)}
    WHEN {signal_sql} THEN {s(r.SIGNAL_RESERVED)}
    WHEN {unreadable_sql} THEN {s(r.SIGNAL_UNREADABLE)}
END"""

    def redaction_passes(self, d: Dialect) -> list[str]:
        """The redaction of kept text, as successive expressions over ``text``.

        Each pass is its own projection, so no expression is evaluated twice. A pattern that
        captures its left boundary runs a second time, only on rows that hold its
        placeholder, to catch matches whose boundary the previous match consumed
        ("bob bob"); that repeat is folded into the next pass's projection.
        """
        passes: list[str] = []
        pending = ""  # the repeat of the previous pattern, over "text"

        def add(expr_over: Callable[[str], str], repeat: str = "") -> None:
            nonlocal pending
            source = pending or "text"
            passes.append(expr_over(source))
            pending = repeat

        def repeat_of(pattern: str, replacement: str, placeholder: str, guard: str = "") -> str:
            again = d.replace_all("text", pattern, replacement)
            condition = f"instr(text, {d.string(placeholder)}) > 0"
            if guard:
                condition = f"{guard} AND {condition}"
            return f"CASE WHEN {condition} THEN {again} ELSE text END"

        handles = "mention_handles"
        mention = (
            f"{d.regex(redaction.mention_pattern_prefix())} || "
            f"{d.join_list(self._escaped_handles(d, handles), '|')} || "
            f"{d.regex(redaction.mention_pattern_suffix(), folded=True)}"
        )
        has_handles = f"{handles} IS NOT NULL AND {d.list_len(handles)} > 0"
        add(
            lambda src: (
                f"CASE WHEN {has_handles} THEN "
                f"{d.replace_all(src, mention, redaction.MENTION_REPLACEMENT)} ELSE {src} END"
            ),
            repeat_of(
                mention, redaction.MENTION_REPLACEMENT, redaction.HANDLE_REDACTED, has_handles
            ),
        )
        for pattern_text in self.identifier_patterns:
            pattern = d.regex(pattern_text)
            add(
                functools.partial(
                    _replace, d, pattern=pattern, replacement=redaction.IDENTIFIER_REPLACEMENT
                ),
                repeat_of(pattern, redaction.IDENTIFIER_REPLACEMENT, redaction.REDACTED),
            )

        def unguard(placeholder: str) -> str:
            # The markers of a guarded pass (see redaction.py): where they meet, a match
            # to replace; around kept text, nothing. Folded into the next projection.
            both = d.string(redaction.GUARD_OPEN + redaction.GUARD_CLOSE)
            opened, closed = d.string(redaction.GUARD_OPEN), d.string(redaction.GUARD_CLOSE)
            cleaned = (
                f"replace(replace(replace(text, {both}, {d.string(placeholder)}), "
                f"{opened}, ''), {closed}, '')"
            )
            return f"CASE WHEN instr(text, {opened}) > 0 THEN {cleaned} ELSE text END"

        rules = self.policy.redaction
        if rules.emails:
            email = d.replace_all("src", d.regex(redaction.EMAIL), redaction.EMAIL_REPLACEMENT)
            # Only texts with an "@" (tested on the pass's input: what the passes before
            # took out can only make it fewer) meet the pattern.
            add(
                lambda src: (
                    f"CASE WHEN instr(text, '@') > 0 THEN {email.replace('src', src, 1)} "
                    f"ELSE {src} END"
                ),
                unguard(redaction.EMAIL_PLACEHOLDER),
            )
        if rules.ips or rules.phones:
            # IPs and phones in one projection behind one cheap test, as a regular
            # expression costs about the same per text whatever it looks for. IPs run
            # twice, for those parted by one character ("192.0.2.1 192.0.2.2"), whose
            # boundary the first match took.
            gates, redacted = [], "src"
            if rules.ips:
                gates.append(redaction.IP_GATE)
                ip = d.regex(redaction.IP)
                for _ in range(2):
                    redacted = d.replace_all(redacted, ip, redaction.IP_REPLACEMENT)
            if rules.phones:
                gates.append(redaction.PHONE_GATE)
                phone = d.regex(redaction.PHONE)
                redacted = d.replace_all(redacted, phone, redaction.PHONE_REPLACEMENT)
            test = d.contains_match("text", "|".join(gates))
            add(
                lambda src: (
                    f"CASE WHEN {test} THEN {redacted.replace('src', src, 1)} ELSE {src} END"
                ),
                unguard(redaction.PHONE_PLACEHOLDER) if rules.phones else "",
            )
        if pending:
            passes.append(pending)
        return passes

    @staticmethod
    def _escaped_handles(d: Dialect, handles: str) -> str:
        return d.transform_list(handles, "h", d.handle_literal("h"))

    def _joined(self, content: str = "content") -> str:
        joined = f"""
    FROM {content} c
    LEFT JOIN authors a ON c.author_id = a.user_id
    LEFT JOIN third_party t ON c.content_id = t.content_id"""
        if self.signals:
            joined += "\n    LEFT JOIN signals sg ON c.content_id = sg.content_id"
        return joined

    def reasons_sql(self, d: Dialect, content: str = "content") -> str:
        """Every row's exclusion reason (NULL = kept), with what the counts need.

        Reads no text, so it stays cheap; the kept rows are produced by :meth:`kept_sql`.
        ``content`` names the relation scored (a recall passes only the rows a change can
        reach).
        """
        return f"""
SELECT c.content_id, c.kind, a.country AS author_country, {self.reason_sql(d)} AS reason
{self._joined(content)}"""

    def kept_sql(
        self,
        d: Dialect,
        source_hash_given: bool = False,
        content: str = "content",
        reasons: str | None = None,
        rows: str | None = None,
    ) -> str:
        """The kept rows in the dataset's columns: text redacted, lists cleaned, source hash.

        With ``source_hash_given`` the content relation already carries ``source_sha256``
        (a recall re-reading a dataset's shards) and it is kept as it is. ``content`` names
        the relation read (a recall passes the few rows it redacts again). ``reasons`` names
        the materialised :meth:`reasons_sql` of the same rows, if there is one: its kept ids
        are joined instead of the rules being evaluated again (half the cost of this step
        before the redaction).

        ``rows`` (a recall) is a query giving the rows kept, in the dataset's columns plus
        ``blocked_ids`` and ``mention_handles`` (NULL where no newly protected person is
        named): the rules are not evaluated, lists are cleaned and text redacted again only
        where those are given (the passes leave a row without a newly protected person or a
        newly listed identifier as it is).
        """
        not_blocked = "NOT coalesce(array_contains(s.blocked_ids, x), FALSE)"

        def cleaned(column: str) -> str:
            # Only rows that name a blocked person need their lists filtered. A dataset's
            # lists are never NULL (written as empty), so a recall carries them as they are:
            # making a list anew cost a tenth of the rewrite.
            listed = d.empty_if_null(f"s.{column}")
            unchanged = f"s.{column}" if rows is not None else listed
            return (
                f"CASE WHEN s.blocked_ids IS NULL THEN {unchanged} "
                f"ELSE {d.filter_list(listed, 'x', not_blocked)} END"
            )

        mentions, tags = cleaned("mentions"), cleaned("tags")
        carried = (
            "content_id, author_id, kind, visibility, created_at, media_uri, parent_id, "
            "mentions, tags, source_sha256, mention_handles"
        )
        steps = [
            f"""r0 AS (
    SELECT s.content_id, s.author_id, s.kind, s.visibility, s.created_at, s.text,
           s.media_uri, s.parent_id, {mentions} AS mentions, {tags} AS tags,
           {"s.source_sha256" if source_hash_given else source_sha256(d, "s")} AS source_sha256,
           s.mention_handles
    FROM s)"""
        ]
        for number, expr in enumerate(self.redaction_passes(d), start=1):
            steps.append(f"r{number} AS (SELECT {carried}, {expr} AS text FROM r{number - 1})")
        chain = ",\n".join(steps)
        selected = f"{self._joined(content)}\n    WHERE ({self.reason_sql(d)}) IS NULL"
        if reasons is not None:
            selected = f"""
    FROM {content} c
    JOIN {reasons} k ON c.content_id = k.content_id AND k.reason IS NULL
    LEFT JOIN third_party t ON c.content_id = t.content_id"""
        given = rows or f"SELECT c.*, t.blocked_ids, t.mention_handles\n    {selected}"
        return f"""
WITH s AS (
    {given}
),
{chain}
SELECT content_id, author_id, kind, visibility, created_at, text, media_uri, parent_id,
       mentions, tags, source_sha256
FROM r{len(steps) - 1}"""

    # -- web documents -----------------------------------------------------------------

    def web_reason_sql(self, d: Dialect) -> str:
        """Why a web document is left out: a reservation, or nothing to train on.

        A document is named by its URL; decision and text come from `notrain signals
        scan-warc`, which already applied every signal of the crawl.
        """
        reserved = "w.decision = 'reserved'"
        unreadable = "w.decision = 'error'"
        if not self.policy.signals.honour:
            reserved = unreadable = "FALSE"
        elif self.policy.signals.unknown == "exclude":
            reserved += " OR w.decision = 'unknown'"
        if self.policy.signals.unreadable == "allow":
            unreadable = "FALSE"
        return f"""CASE
    WHEN w.url IS NULL THEN {d.string(WebReason.UNREADABLE.value)}
    WHEN {reserved} THEN {d.string(ExclusionReason.SIGNAL_RESERVED.value)}
    WHEN {unreadable} THEN {d.string(ExclusionReason.SIGNAL_UNREADABLE.value)}
    WHEN w.text IS NULL OR trim(w.text) = '' THEN {d.string(WebReason.NO_TEXT.value)}
END"""

    def web_kept_sql(self, d: Dialect) -> str:
        """Kept web documents, text redacted by the same passes as platform content."""
        steps = [
            f"""r0 AS (
    SELECT w.url, w.fetched_at, w.text, w.record_id,
           {d.digest("w.text")} AS source_sha256,
           CAST(NULL AS {"VARCHAR[]" if d.name == "duckdb" else "ARRAY<STRING>"})
               AS mention_handles
    FROM web w
    WHERE ({self.web_reason_sql(d)}) IS NULL)"""
        ]
        carried = "url, fetched_at, record_id, source_sha256, mention_handles"
        for number, expr in enumerate(self.redaction_passes(d), start=1):
            steps.append(f"r{number} AS (SELECT {carried}, {expr} AS text FROM r{number - 1})")
        chain = ",\n".join(steps)
        return f"""
WITH {chain}
SELECT url, fetched_at, text, record_id, source_sha256 FROM r{len(steps) - 1}"""
