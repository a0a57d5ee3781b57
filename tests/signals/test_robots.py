"""robots.txt by RFC 9309, and noai/noimageai in X-Robots-Tag and meta robots."""

from __future__ import annotations

import pytest

from notrain.signals.decision import Signal, Verdict
from notrain.signals.pattern import canonical, url_path
from notrain.signals.robots import (
    Agents,
    RobotsTxt,
    access_findings,
    directives,
    header_values,
    noai_findings,
)

AGENTS = Agents()


def allowed(robots: str, agent: str, url: str) -> bool:
    return RobotsTxt.parse(robots.encode()).may_fetch(agent, url_path(url)).allowed


# -- RFC 9309 ----------------------------------------------------------------------------


def test_longest_match_wins() -> None:
    robots = "User-agent: *\nDisallow: /a\nAllow: /a/b\n"
    assert not allowed(robots, "x", "https://e.com/a/c")
    assert allowed(robots, "x", "https://e.com/a/b/c")


def test_allow_wins_a_tie() -> None:
    robots = "User-agent: *\nDisallow: /page\nAllow: /page\n"
    assert allowed(robots, "x", "https://e.com/page")


def test_wildcard_and_end_anchor() -> None:
    robots = "User-agent: *\nDisallow: /*.gif$\nDisallow: /private*/secret\n"
    assert not allowed(robots, "x", "https://e.com/img/cat.gif")
    assert allowed(robots, "x", "https://e.com/img/cat.gif?size=2")
    assert not allowed(robots, "x", "https://e.com/private-stuff/secret/1")
    assert allowed(robots, "x", "https://e.com/privat/secret")


def test_query_is_part_of_the_path() -> None:
    robots = "User-agent: *\nDisallow: /search?q=\n"
    assert not allowed(robots, "x", "https://e.com/search?q=cats")
    assert allowed(robots, "x", "https://e.com/search")


def test_percent_encoding_is_normalised_on_both_sides() -> None:
    assert canonical("/%7Efoo/%2f") == "/~foo/%2F"
    assert canonical("/caf\u00e9") == "/caf%C3%A9"
    robots = "User-agent: *\nDisallow: /caf\u00e9\nDisallow: /%7Ebob\n"
    assert not allowed(robots, "x", "https://e.com/caf%c3%a9/menu")
    assert not allowed(robots, "x", "https://e.com/~bob/")


def test_a_literal_star_in_a_url_needs_an_encoded_pattern() -> None:
    robots = "User-agent: *\nDisallow: /a%2Ab\n"
    assert not allowed(robots, "x", "https://e.com/a*b")
    assert allowed(robots, "x", "https://e.com/aXb")


def test_user_agent_is_case_insensitive_and_a_product_token() -> None:
    robots = "user-AGENT: gptbot/1.1 (+https://openai.com)\nDISALLOW: /\n"
    assert not allowed(robots, "GPTBot", "https://e.com/x")
    assert allowed(robots, "CCBot", "https://e.com/x")


def test_groups_naming_the_same_agent_are_merged() -> None:
    robots = "User-agent: CCBot\nDisallow: /a\n\nUser-agent: ccbot\nDisallow: /b\n"
    assert not allowed(robots, "CCBot", "https://e.com/a")
    assert not allowed(robots, "CCBot", "https://e.com/b")


def test_a_named_group_replaces_the_star_group() -> None:
    robots = "User-agent: *\nDisallow: /\n\nUser-agent: GPTBot\nAllow: /\n"
    assert allowed(robots, "GPTBot", "https://e.com/x")
    assert not allowed(robots, "CCBot", "https://e.com/x")


def test_consecutive_user_agent_lines_share_a_group() -> None:
    robots = "User-agent: GPTBot\nUser-agent: CCBot\nDisallow: /\nUser-agent: Other\nAllow: /\n"
    assert not allowed(robots, "GPTBot", "https://e.com/")
    assert not allowed(robots, "CCBot", "https://e.com/")
    assert allowed(robots, "Other", "https://e.com/")


def test_robots_txt_itself_is_always_allowed() -> None:
    assert allowed("User-agent: *\nDisallow: /\n", "x", "https://e.com/robots.txt")


def test_empty_disallow_comments_bom_and_stray_rules() -> None:
    robots = "\ufeffDisallow: /stray\n# comment\nUser-agent: * # all\nDisallow:   # nothing\n"
    assert allowed(robots, "x", "https://e.com/stray")
    assert allowed(robots, "x", "https://e.com/anything")


def test_no_group_for_anyone_allows() -> None:
    assert allowed("User-agent: Googlebot\nDisallow: /\n", "GPTBot", "https://e.com/")


def test_only_the_first_500_kib_are_read() -> None:
    robots = "User-agent: *\n" + "# pad\n" * 100_000 + "Disallow: /\n"
    assert allowed(robots, "x", "https://e.com/page")


def test_findings_name_the_line_group_and_agent() -> None:
    parsed = RobotsTxt.parse(b"User-agent: *\nAllow: /\n\nUser-agent: CCBot\nDisallow: /x\n")
    [finding] = access_findings(parsed, "/x/1", AGENTS, "https://e.com/robots.txt [200]")
    assert finding.verdict is Verdict.RESERVED
    assert finding.evidence == (
        "https://e.com/robots.txt [200] line 5: Disallow: /x (group User-agent: ccbot) "
        "disallows /x/1 for ccbot"
    )


def test_our_own_agent_is_honoured_and_configurable() -> None:
    parsed = RobotsTxt.parse(b"User-agent: notrain\nDisallow: /\n")
    [finding] = access_findings(parsed, "/a", AGENTS, "robots.txt")
    assert finding.verdict is Verdict.RESERVED
    assert access_findings(parsed, "/a", Agents(ours="otherbot"), "robots.txt") == []
    mine = RobotsTxt.parse(b"User-agent: MyCrawler\nDisallow: /\n")
    extra = Agents(ai=("MyCrawler",))
    assert access_findings(mine, "/a", extra, "robots.txt")[0].verdict is Verdict.RESERVED


def test_an_explicit_allow_is_an_allowed_finding_and_silence_is_none() -> None:
    allow = RobotsTxt.parse(b"User-agent: *\nAllow: /\n")
    [finding] = access_findings(allow, "/a", AGENTS, "robots.txt")
    assert finding.verdict is Verdict.ALLOWED
    assert access_findings(RobotsTxt.parse(b""), "/a", AGENTS, "robots.txt") == []


# -- X-Robots-Tag and meta robots ----------------------------------------------------------


def reserved(values: list[str], *, image: bool = False) -> bool:
    sources = [("header X-Robots-Tag", None, v) for v in values]
    found = noai_findings(sources, AGENTS, is_image=image, signal=Signal.X_ROBOTS_TAG)
    return any(f.verdict is Verdict.RESERVED for f in found)


@pytest.mark.parametrize("value", ["noai", "NOAI", " NoAI ", "noindex, noai", "noai,nofollow"])
def test_noai_in_a_comma_list_case_insensitive(value: str) -> None:
    assert reserved([value])


def test_noimageai_reserves_images_only() -> None:
    assert reserved(["noimageai"], image=True)
    assert not reserved(["noimageai"], image=False)


def test_other_directives_do_not_reserve() -> None:
    assert not reserved(["noindex, nofollow", "none", "max-snippet: 0"])


def test_several_headers_are_all_read() -> None:
    assert reserved(["noindex", "noarchive", "noai"])


def test_a_prefix_naming_our_crawler_counts() -> None:
    assert reserved(["GPTBot: noai"])
    assert reserved(["notrain: noindex, noai"])


def test_a_prefix_naming_another_crawler_does_not() -> None:
    assert not reserved(["bingbot: noai"])
    assert reserved(["bingbot: noindex", "noai"])


def test_a_prefix_applies_until_the_next_one() -> None:
    assert directives("googlebot: noindex, nofollow, otherbot: noai") == [
        ("googlebot", "noindex"),
        ("googlebot", "nofollow"),
        ("otherbot", "noai"),
    ]
    assert not reserved(["googlebot: noindex, otherbot: noai"])
    assert reserved(["otherbot: noindex, ccbot: noai"])


def test_valued_directives_are_not_crawler_names() -> None:
    assert directives("max-snippet: 20, noai") == [(None, "max-snippet: 20"), (None, "noai")]
    assert reserved(["max-image-preview: large, noai"])


def test_meta_named_after_a_crawler_speaks_to_that_crawler() -> None:
    ours = noai_findings(
        [('meta name="gptbot"', "gptbot", "noai")],
        AGENTS,
        is_image=False,
        signal=Signal.META_ROBOTS,
    )
    assert [f.verdict for f in ours] == [Verdict.RESERVED]


def test_header_names_are_case_insensitive() -> None:
    headers = [("x-robots-tag", "noai"), ("X-ROBOTS-TAG", "noimageai"), ("Other", "noai")]
    assert header_values(headers, "X-Robots-Tag") == ["noai", "noimageai"]
