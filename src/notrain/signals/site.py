"""What a site says about its pages, from the site-wide files captured in the same crawl.

A site is an origin (scheme, host, port), as robots.txt defines it. Its files are
``/robots.txt``, ``/ai.txt`` and ``/.well-known/tdmrep.json``. For a page fetched at time
*t* the capture used is the latest one at or before *t*, else the first after it;
redirects are followed through the crawl's own captures, to any path on any host (at most
five, RFC 9309; a loop, or a sixth, leaves the file unknown). A followed target is a site
file wherever it is, and is not a document of the crawl.

Statuses, per the rules of each file:

================  ============================  =====================  ==================
file              2xx                           4xx (not 429)          5xx, 429
================  ============================  =====================  ==================
robots.txt        parsed                        no rules (allowed)     complete disallow
ai.txt            parsed                        no file                unknown
tdmrep.json       parsed (first layer)          no file (unset)        no file (unset)
================  ============================  =====================  ==================

A file the crawl never fetched is **unknown**: it may have reserved the page. robots.txt's
"complete disallow" on a server error is RFC 9309 §2.3.1.4; TDMRep says a file that cannot
be fetched means the origin does not use the protocol.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

from notrain.signals import aipref, aitxt, content_signal, tdmrep
from notrain.signals.decision import Finding, Signal, Verdict
from notrain.signals.pattern import url_path
from notrain.signals.robots import Agents, RobotsTxt, access_findings

ROBOTS = "/robots.txt"
AI_TXT = "/ai.txt"
SITE_FILES = (ROBOTS, AI_TXT, tdmrep.WELL_KNOWN)
MAX_REDIRECTS = 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Capture:
    """One fetch of a site-wide file, as the crawl recorded it."""

    url: str
    status: int
    fetched_at: datetime | None
    body: bytes
    location: str | None = None


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port and fragment dropped, empty path ``/``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, {"http": 80, "https": 443}.get(scheme)) else None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def origin(url: str) -> str:
    parts = urlsplit(canonical_url(url))
    return f"{parts.scheme}://{parts.netloc}"


def site_file(url: str) -> str | None:
    """Which site-wide file a URL is (its path, e.g. ``/robots.txt``), or None."""
    parts = urlsplit(url)
    return parts.path if parts.path in SITE_FILES and not parts.query else None


class Crawl:
    """Every capture of a site-wide file in a crawl, looked up by URL and time."""

    def __init__(self, captures: list[Capture] | None = None) -> None:
        self._by_url: dict[str, list[Capture]] = {}
        self._sorted = True
        for capture in captures or []:
            self.add(capture)

    def add(self, capture: Capture) -> None:
        self._by_url.setdefault(canonical_url(capture.url), []).append(capture)
        self._sorted = False

    def _ensure_sorted(self) -> None:
        if not self._sorted:
            for captures in self._by_url.values():
                captures.sort(key=lambda c: c.fetched_at or EPOCH)
            self._sorted = True

    def find(self, url: str, at: datetime | None) -> Capture | None:
        self._ensure_sorted()
        captures = self._by_url.get(canonical_url(url))
        if not captures:
            return None
        if at is None:
            return captures[-1]
        times = [c.fetched_at or EPOCH for c in captures]
        index = bisect_right(times, at)
        return captures[index - 1] if index else captures[0]

    def all_of(self, url: str) -> list[Capture]:
        """Every capture of ``url``, whatever its time."""
        return self._by_url.get(canonical_url(url), [])

    def resolve(self, url: str, at: datetime | None) -> tuple[Capture | None, str, str]:
        """The capture that answers ``url``, following redirects; the URL last asked; and,
        when there is no capture, why. A loop or more than :data:`MAX_REDIRECTS` redirects
        never reaches the file: what it says is unknown, as for a file not captured."""
        seen: set[str] = set()  # filled only when a redirect is followed: most are not
        for _ in range(MAX_REDIRECTS):
            capture = self.find(url, at)
            if capture is None or not 300 <= capture.status < 400 or not capture.location:
                return capture, url, "not captured"
            seen.add(canonical_url(url))
            url = urljoin(url, capture.location)
            if canonical_url(url) in seen:
                return None, url, "a redirect loop at"
            seen.add(canonical_url(url))
        capture = self.find(url, at)
        if capture is None or not 300 <= capture.status < 400 or not capture.location:
            return capture, url, "not captured"
        return None, url, f"more than {MAX_REDIRECTS} redirects at"


def redirect_targets(crawl: Crawl, starts: list[str]) -> tuple[set[str], set[str]]:
    """Where the redirects of ``starts`` lead, through every capture of each URL on the
    way: the URLs the crawl holds, and those it holds no site-file capture of (where a
    site file may have been moved to, perhaps captured as a document)."""
    reached: set[str] = set()
    missing: set[str] = set()
    frontier = [(url, 0) for url in starts]
    seen = {canonical_url(url) for url in starts}
    while frontier:
        url, depth = frontier.pop()
        captures = crawl.all_of(url)
        (reached if captures else missing).add(canonical_url(url))
        for capture in captures:
            if not 300 <= capture.status < 400 or not capture.location or depth >= MAX_REDIRECTS:
                continue
            target = urljoin(url, capture.location)
            if canonical_url(target) not in seen:
                seen.add(canonical_url(target))
                frontier.append((target, depth + 1))
    return reached, missing


class SiteSignals:
    """Evaluates pages against their sites' captured files; parsed files are cached."""

    def __init__(
        self, crawl: Crawl, agents: Agents, followed: frozenset[str] = frozenset()
    ) -> None:
        self.crawl = crawl
        self.agents = agents
        # Documents of the crawl that turned out to be site files, reached by a redirect.
        self.followed = followed
        self._followed_paths = tuple({urlsplit(url).path for url in followed})
        self._robots: dict[int, RobotsTxt] = {}
        self._tdm: dict[int, list[tdmrep.TdmRule] | str] = {}

    def is_site_file(self, url: str) -> bool:
        """Whether a document of the crawl is a site file a redirect led to."""
        # The substring test spares canonicalising every document's URL.
        return any(p in url for p in self._followed_paths) and canonical_url(url) in self.followed

    def findings(self, url: str, at: datetime | None) -> tuple[list[Finding], tdmrep.FileLayer]:
        """Findings of robots.txt and ai.txt, and the tdmrep.json layer, for one page."""
        site = origin(url)
        path = url_path(url)
        found = self._robots_txt(site + ROBOTS, path, at)
        found += self._ai_txt(site + AI_TXT, path, at)
        return found, self._tdm_layer(site + tdmrep.WELL_KNOWN, path, at)

    def _robots_txt(self, url: str, path: str, at: datetime | None) -> list[Finding]:
        capture, asked, why = self.crawl.resolve(url, at)
        if capture is None:
            return [Finding(Signal.ROBOTS_TXT, Verdict.UNKNOWN, _not_captured(url, asked, why))]
        source = _source(url, asked, capture)
        if capture.status == 429 or capture.status >= 500:
            evidence = f"{source}: server error; RFC 9309 §2.3.1.4: assume complete disallow"
            return [Finding(Signal.ROBOTS_TXT, Verdict.RESERVED, evidence)]
        if 400 <= capture.status < 500:
            return []
        if not 200 <= capture.status < 300:
            evidence = f"{source}: unexpected status"
            return [Finding(Signal.ROBOTS_TXT, Verdict.UNKNOWN, evidence)]
        parsed = self._parsed(capture)
        found = access_findings(parsed, path, self.agents, source)
        found += aipref.robots_findings(parsed, path, self.agents, source)
        found += content_signal.robots_findings(parsed, path, self.agents, source)
        return found

    def _ai_txt(self, url: str, path: str, at: datetime | None) -> list[Finding]:
        capture, asked, why = self.crawl.resolve(url, at)
        if capture is None:
            return [Finding(Signal.AI_TXT, Verdict.UNKNOWN, _not_captured(url, asked, why))]
        source = _source(url, asked, capture)
        if 400 <= capture.status < 500 and capture.status != 429:
            return []
        if not 200 <= capture.status < 300:
            evidence = f"{source}: the content of the file is unknown"
            return [Finding(Signal.AI_TXT, Verdict.UNKNOWN, evidence)]
        return aitxt.read(self._parsed(capture), path, self.agents, source)

    def _tdm_layer(self, url: str, path: str, at: datetime | None) -> tdmrep.FileLayer:
        capture, asked, why = self.crawl.resolve(url, at)
        if capture is None:
            return tdmrep.FileLayer(False, None, _not_captured(url, asked, why))
        source = _source(url, asked, capture)
        if not 200 <= capture.status < 300:
            return tdmrep.FileLayer(True, None, f"{source}: no file")
        rules = self._tdm.get(id(capture))
        if rules is None:
            try:
                rules = tdmrep.parse_file(capture.body)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
                rules = f"not a valid tdmrep.json ({exc})"
            self._tdm[id(capture)] = rules
        if isinstance(rules, str):
            return tdmrep.FileLayer(True, None, f"{source}: {rules}")
        return tdmrep.file_layer(rules, path, source)

    def _parsed(self, capture: Capture) -> RobotsTxt:
        parsed = self._robots.get(id(capture))
        if parsed is None:
            parsed = self._robots[id(capture)] = RobotsTxt.parse(capture.body)
        return parsed


def _not_captured(url: str, asked: str, why: str = "not captured") -> str:
    if asked != url:
        return f"{why}: {asked} (redirected from {url})"
    return f"{why}: {url}"


def _source(url: str, asked: str, capture: Capture) -> str:
    via = f" (via {url})" if asked != url else ""
    return f"{asked}{via} [{capture.status}]"
