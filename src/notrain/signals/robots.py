"""robots.txt (RFC 9309), and the ``noai``/``noimageai`` directives of ``X-Robots-Tag``
headers and ``<meta name="robots">``.

**robots.txt.** A URL is reserved when any AI crawler — the known training crawlers plus
notrain's own product token — may not fetch it: its groups (merged if several name it),
else the ``*`` groups; the longest matching rule wins, ``Allow`` on a tie; ``*`` and ``$``
as in the RFC, percent-encoding normalised on both sides; ``/robots.txt`` is always
allowed. The parsed file also keeps the ``Content-Usage`` (IETF AIPREF) and
``Content-Signal`` (Cloudflare) lines of each group for their own modules.

**Directives.** ``noai`` reserves any content, ``noimageai`` only images. Values are comma
lists, matched case-insensitively, over every header of that name. A ``name:`` prefix
(``X-Robots-Tag: GPTBot: noai``) restricts what follows to that crawler: it counts when it
names one of ours, and is ignored when it names another (``bingbot: noai`` tells Bing, not
us). ``max-snippet:`` and the other valued directives are not mistaken for such names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from notrain.signals.decision import Finding, Signal, Verdict
from notrain.signals.pattern import Pattern, canonical

# Crawlers that gather data to train AI models, by the product token they obey in robots.txt.
AI_AGENTS = (
    "GPTBot", "CCBot", "Google-Extended", "ClaudeBot", "anthropic-ai", "Claude-Web",
    "PerplexityBot", "Bytespider", "Applebot-Extended", "meta-externalagent", "FacebookBot",
    "cohere-ai", "cohere-training-data-crawler", "Amazonbot", "Diffbot", "omgili",
    "omgilibot", "img2dataset", "AI2Bot", "Ai2Bot-Dolma", "ImagesiftBot", "Timpibot",
    "YouBot", "Webzio-Extended",
)  # fmt: skip
OUR_AGENT = "notrain"
ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309 §2.5: parse at least this much, may ignore the rest

VALUED_DIRECTIVES = {"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"}
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
# Keys as the reference parser (Google's) reads them: case-insensitive, by prefix, with the
# misspellings it accepts. Content-Usage and Content-Signal are the AI lines, exact.
_KEY_PREFIXES = (
    ("user-agent", "user-agent"), ("useragent", "user-agent"), ("user agent", "user-agent"),
    ("allow", "allow"), ("disallow", "disallow"), ("dissallow", "disallow"),
    ("dissalow", "disallow"), ("disalow", "disallow"), ("diasllow", "disallow"),
    ("disallaw", "disallow"),
)  # fmt: skip
_AI_KEYS = {"content-usage": "content-usage", "content-signal": "content-signal"}
# A partial UTF-8 byte-order mark is skipped as a whole one is (so does the reference).
_BOMS = (b"\xef\xbb\xbf", b"\xef\xbb", b"\xef")


@dataclass(frozen=True)
class Agents:
    """The product tokens whose robots.txt groups and directive prefixes concern us."""

    ours: str = OUR_AGENT
    ai: tuple[str, ...] = AI_AGENTS

    @cached_property
    def tokens(self) -> tuple[str, ...]:
        # Given as a user-agent string ("notrain/1.2 (+https://…)"), an agent is still
        # matched by its product token, as robots.txt names it.
        found = (_TOKEN.match(agent.strip()) for agent in (self.ours, *self.ai))
        return tuple(dict.fromkeys(token[0].lower() for token in found if token))


# -- robots.txt ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    kind: str  # allow, disallow, content-usage, content-signal
    pattern: Pattern
    value: str  # the raw value; for content-usage and content-signal, the preferences
    line: int

    def describe(self) -> str:
        return f"line {self.line}: {self.kind.title()}: {self.value}"


@dataclass
class Group:
    agents: list[str]
    line: int
    rules: list[Rule] = field(default_factory=list)


@dataclass(frozen=True)
class Access:
    """Whether one agent may fetch one path, and the rule that decided it."""

    allowed: bool
    rule: Rule | None
    group: str


class RobotsTxt:
    """A parsed robots.txt (or ai.txt, which shares the syntax)."""

    def __init__(self, groups: list[Group]) -> None:
        self.groups = groups
        self._rules: dict[str, tuple[list[Rule], str]] = {}
        self._ranking: dict[str, list[Rule]] = {}
        self._representatives: dict[tuple[str, ...], list[str]] = {}

    @classmethod
    def parse(cls, body: bytes) -> RobotsTxt:
        body = body[:ROBOTS_MAX_BYTES]
        for bom in _BOMS:
            if body.startswith(bom):
                body = body[len(bom) :]
                break
        groups: list[Group] = []
        current: Group | None = None
        in_agents = False
        for number, raw in enumerate(body.decode("utf-8", "replace").splitlines(), start=1):
            key, value = _key_value(raw.split("#", 1)[0].strip())
            kind = _kind(key)
            if kind is None:
                # Unknown lines (Crawl-delay, Sitemap, ...) neither start nor end a group:
                # "User-agent: A / Crawl-delay: 1 / User-agent: B / Disallow: /" is one group.
                continue
            if kind == "user-agent":
                if current is None or not in_agents:
                    current = Group([], number)
                    groups.append(current)
                    in_agents = True
                current.agents.extend(_agent(value))
                continue
            in_agents = False
            if current is None:
                continue
            if kind in ("allow", "disallow"):
                if value:  # an empty Disallow allows everything: it is no rule
                    current.rules.append(
                        Rule(kind, Pattern(canonical(value, pattern=True)), value, number)
                    )
            else:
                path, prefs = _split_path(value)
                current.rules.append(Rule(kind, Pattern(path), prefs, number))
        return cls(groups)

    def rules_for(self, agent: str) -> tuple[list[Rule], str]:
        """The merged rules of the groups naming ``agent``, else of the ``*`` groups."""
        agent = agent.lower()
        cached = self._rules.get(agent)
        if cached is None:
            named = [g for g in self.groups if agent in g.agents]
            label = agent
            if not named:
                named = [g for g in self.groups if "*" in g.agents]
                label = "*"
            cached = self._rules[agent] = ([r for g in named for r in g.rules], label)
        return cached

    def representatives(self, agents: tuple[str, ...]) -> list[str]:
        """One agent per distinct set of rules: agents without a group of their own all
        obey the ``*`` groups, and need to be asked only once."""
        found = self._representatives.get(agents)
        if found is None:
            seen: dict[str, str] = {}
            for agent in agents:
                seen.setdefault(self.rules_for(agent)[1], agent.lower())
            found = self._representatives[agents] = list(seen.values())
        return found

    def may_fetch(self, agent: str, path: str) -> Access:
        rules, group = self.rules_for(agent)
        if path == "/robots.txt":
            return Access(True, None, group)
        for rule in self._ranked(agent, rules):
            if rule.pattern.matches(path):
                return Access(rule.kind == "allow", rule, group)
        return Access(True, None, group)

    def _ranked(self, agent: str, rules: list[Rule]) -> list[Rule]:
        """``agent``'s Allow and Disallow rules, longest first, Allow first on a tie: the
        first that matches decides, and most pages stop early."""
        ranked = self._ranking.get(agent)
        if ranked is None:
            access = [r for r in rules if r.kind in ("allow", "disallow")]
            access.sort(key=lambda r: (-len(r.pattern), r.kind != "allow"))
            ranked = self._ranking[agent] = access
        return ranked

    def longest(self, kind: str, agent: str, path: str) -> list[Rule]:
        """The ``kind`` rules (content-usage, content-signal) with the longest matching
        path for ``agent``; several when they share that path."""
        rules, _ = self.rules_for(agent)
        hits = [r for r in rules if r.kind == kind and r.pattern.matches(path)]
        if not hits:
            return []
        top = max(len(r.pattern) for r in hits)
        return [r for r in hits if len(r.pattern) == top]


def _key_value(line: str) -> tuple[str, str]:
    """A line's key and value: split at the first colon, or, as the reference parser
    accepts, at the whitespace of a line of exactly two words (``disallow /``)."""
    key, sep, value = line.partition(":")
    if not sep:
        words = line.split()
        if len(words) != 2:
            return "", ""
        key, value = words
    return " ".join(key.lower().split()), value.strip()


def _kind(key: str) -> str | None:
    if not key:
        return None
    if key in _AI_KEYS:
        return _AI_KEYS[key]
    return next((kind for prefix, kind in _KEY_PREFIXES if key.startswith(prefix)), None)


def _agent(value: str) -> list[str]:
    """The product token a User-agent line names: ``*`` alone (or before a space) is every
    crawler; ``*bot`` names none, since ``*`` is no wildcard inside a name."""
    if value == "*" or (value.startswith("*") and value[1:2].isspace()):
        return ["*"]
    token = _TOKEN.match(value)  # "GPTBot/1.1" names the product token GPTBot
    return [token[0].lower()] if token else []


def _split_path(value: str) -> tuple[str, str]:
    """``/path prefs`` → (path, prefs); a value without a leading path covers the site."""
    if value.startswith("/"):
        path, *prefs = value.split(None, 1)
        return canonical(path, pattern=True), prefs[0].strip() if prefs else ""
    return "/", value


def access_findings(
    parsed: RobotsTxt,
    path: str,
    agents: Agents,
    source: str,
    signal: Signal = Signal.ROBOTS_TXT,
) -> list[Finding]:
    """Reserved if any of our agents may not fetch ``path``. Otherwise an allowed finding
    when an explicit ``Allow`` rule decided it, and nothing when no rule matched."""
    allowed: Finding | None = None
    for agent in parsed.representatives(agents.tokens):
        access = parsed.may_fetch(agent, path)
        if access.rule is None:
            continue
        where = f"{source} {access.rule.describe()} (group User-agent: {access.group})"
        if not access.allowed:
            evidence = f"{where} disallows {path} for {agent}"
            return [Finding(signal, Verdict.RESERVED, evidence)]
        if allowed is None:
            allowed = Finding(signal, Verdict.ALLOWED, f"{where} allows {path} for {agent}")
    return [allowed] if allowed else []


# -- X-Robots-Tag and <meta name="robots"> ---------------------------------------------------


def directives(value: str) -> list[tuple[str | None, str]]:
    """``(agent or None, directive)`` pairs of one header value or meta content.

    A ``name:`` prefix applies to the directives after it in the same value, until the
    next prefix; ``max-snippet: 20`` and its kind are directives with values, not names.
    """
    pairs: list[tuple[str | None, str]] = []
    agent: str | None = None
    for piece in value.split(","):
        piece = piece.strip()
        name, sep, rest = piece.partition(":")
        if sep and _TOKEN.fullmatch(name.strip()) and name.strip().lower() not in VALUED_DIRECTIVES:
            agent = name.strip().lower()
            piece = rest.strip()
        if piece:
            pairs.append((agent, piece.lower()))
    return pairs


def noai_findings(
    sources: Sequence[tuple[str, str | None, str]],
    agents: Agents,
    *,
    is_image: bool,
    signal: Signal,
) -> list[Finding]:
    """Findings from ``(where, agent named by the source or None, value)`` triples.

    ``where`` is the header or meta tag as it appeared; the middle item is the crawler a
    ``<meta name="GPTBot">`` tag addresses (None for ``robots`` and for headers).
    """
    findings: list[Finding] = []
    for where, addressed, value in sources:
        for agent, directive in directives(value):
            target = agent or addressed
            if target is not None and target not in agents.tokens and target != "*":
                continue
            if directive == "noai" or (directive == "noimageai" and is_image):
                evidence = f"{where}: {value.strip()}"
                findings.append(Finding(signal, Verdict.RESERVED, evidence))
                break
    return findings


def header_values(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    """Every value of header ``name``, compared case-insensitively, in order."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]
