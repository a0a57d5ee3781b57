"""Spawning's ai.txt: robots.txt syntax with file-type patterns."""

from __future__ import annotations

from notrain.signals import aitxt
from notrain.signals.decision import Signal, Verdict
from notrain.signals.pattern import url_path
from notrain.signals.robots import Agents, RobotsTxt

# What Spawning's generator writes when images are refused and text allowed.
GENERATED = """# Spawning AI
# Prevent datasets from using the following file types

User-Agent: *
Disallow: *.bmp
Disallow: *.gif
Disallow: *.jpeg
Disallow: *.jpg
Disallow: *.png
Allow: *.txt
Allow: *.html
Allow: /
"""

EVERYTHING = "# Spawning AI\n\nUser-Agent: *\nDisallow: *\nDisallow: /\n"


def verdict(text: str, url: str) -> Verdict | None:
    found = aitxt.read(RobotsTxt.parse(text.encode()), url_path(url), Agents(), "ai.txt")
    assert all(f.signal is Signal.AI_TXT for f in found)
    return found[0].verdict if found else None


def test_file_type_patterns() -> None:
    assert verdict(GENERATED, "https://e.com/art/cat.jpg") is Verdict.RESERVED
    assert verdict(GENERATED, "https://e.com/art/cat.JPG?x=1") is Verdict.ALLOWED  # case matters
    assert verdict(GENERATED, "https://e.com/post.html") is Verdict.ALLOWED
    assert verdict(GENERATED, "https://e.com/about") is Verdict.ALLOWED


def test_global_disallow() -> None:
    assert verdict(EVERYTHING, "https://e.com/") is Verdict.RESERVED
    assert verdict(EVERYTHING, "https://e.com/a/b.txt") is Verdict.RESERVED


def test_evidence_names_the_rule() -> None:
    found = aitxt.read(RobotsTxt.parse(GENERATED.encode()), "/a.png", Agents(), "ai.txt [200]")
    assert found[0].evidence.startswith(
        "ai.txt [200] line 9: Disallow: *.png (group User-agent: *)"
    )
