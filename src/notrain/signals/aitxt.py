"""Spawning's ``ai.txt``: a site's wishes for AI datasets, in robots.txt syntax.

The file sits at the site root and is written by Spawning's generator (or by hand) as
robots.txt groups, mostly for ``User-Agent: *``, with file-type patterns::

    User-Agent: *
    Disallow: *.jpg
    Allow: *.html
    Disallow: /

A pattern is matched the robots.txt way (``*`` is any run of characters, the longest
match wins, ``Allow`` wins a tie), so ``*.jpg`` covers every path with ``.jpg`` in it and
``Disallow: /`` everything not allowed more specifically. An item is reserved when the
file disallows its path for any AI crawler we represent (their own group, else ``*``).
"""

from __future__ import annotations

from notrain.signals.decision import Finding, Signal
from notrain.signals.robots import Agents, RobotsTxt, access_findings


def read(parsed: RobotsTxt, path: str, agents: Agents, source: str) -> list[Finding]:
    """What a parsed ai.txt says about ``path`` (a normalised URL path and query)."""
    return access_findings(parsed, path, agents, source, Signal.AI_TXT)
