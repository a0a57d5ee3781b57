"""Path patterns in linear time, and the robots.txt lines the reference parser accepts."""

from __future__ import annotations

from functools import cache

from hypothesis import given
from hypothesis import strategies as st

from notrain.signals.pattern import Pattern, canonical, url_path
from notrain.signals.robots import Agents, RobotsTxt, access_findings

AGENTS = Agents()


def allowed(robots: str | bytes, agent: str, url: str) -> bool:
    body = robots.encode() if isinstance(robots, str) else robots
    return RobotsTxt.parse(body).may_fetch(agent, url_path(url)).allowed


def reference(pattern: str, path: str) -> bool:
    """RFC 9309 matching by its definition, in quadratic time: ``*`` any run, a final
    ``$`` the end. Only for checking the fast matcher on short inputs."""
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(body):
            return j == len(path) or not anchored
        if body[i] == "*":
            return match(i + 1, j) or (j < len(path) and match(i, j + 1))
        return j < len(path) and path[j] == body[i] and match(i + 1, j + 1)

    return match(0, 0)


@given(
    st.text(alphabet="ab*/", max_size=10).map(lambda p: "/" + p)
    | st.text(alphabet="ab*/", max_size=10).map(lambda p: "/" + p + "$"),
    st.text(alphabet="ab/", max_size=14).map(lambda p: "/" + p),
)
def test_the_matcher_agrees_with_the_definition(pattern: str, path: str) -> None:
    assert Pattern(pattern).matches(path) == reference(pattern, path)


def test_a_run_of_stars_against_a_path_it_does_not_match() -> None:
    # The two files: exponential as regular expressions, immediate here.
    robots = "User-agent: *\nAllow: *****************/****.js\nDisallow: /*****.pdf\n"
    assert allowed(robots, "GPTBot", "https://e.com/inlife/daily/fashion-20160727/")
    long_path = "/" + "a/" * 108
    assert allowed(robots, "GPTBot", "https://e.com" + long_path)
    assert not allowed(robots, "GPTBot", "https://e.com" + long_path + "x.pdf")


def test_thousands_of_stars_and_a_url_thousands_of_characters_long() -> None:
    pattern = "/" + "*a" * 5000 + "*b$"
    path = "/" + "a" * 20_000
    assert not Pattern(pattern).matches(path)
    assert Pattern(pattern).matches(path + "b")


def test_literal_dollar_inside_a_pattern() -> None:
    robots = "User-agent: *\nDisallow: /*?$filter=\nDisallow: /price$usd$\n"
    assert not allowed(robots, "GPTBot", "https://e.com/api?$filter=x")
    assert not allowed(robots, "GPTBot", "https://e.com/api?%24filter=x")
    assert allowed(robots, "GPTBot", "https://e.com/api?filter=x")
    assert not allowed(robots, "GPTBot", "https://e.com/price$usd")
    assert allowed(robots, "GPTBot", "https://e.com/price$usd/more")
    assert canonical("/a$b$", pattern=True) == "/a%24b$"


def test_lines_without_colon() -> None:
    robots = "user-agent FooBot\ndisallow /\n"
    assert not allowed(robots, "FooBot", "https://e.com/page")
    assert allowed(robots, "Other", "https://e.com/page")
    # Only two words make a line without a colon; three are not read.
    assert allowed("user-agent FooBot\ndisallow / now\n", "FooBot", "https://e.com/page")


def test_partial_utf8_bom() -> None:
    for bom in (b"\xef\xbb\xbf", b"\xef\xbb", b"\xef"):
        assert not allowed(bom + b"User-agent: *\nDisallow: /\n", "GPTBot", "https://e.com/")


def test_misspellings_of_disallow() -> None:
    for key in ("disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"):
        robots = f"User-agent: GPTBot\n{key.upper()}: /private\n"
        assert not allowed(robots, "GPTBot", "https://e.com/private/1"), key
    # As in the reference, a key is read by its start; other spellings are not rules.
    assert not allowed("User-agent: GPTBot\nDisallowed: /\n", "GPTBot", "https://e.com/")
    assert allowed("User-agent: GPTBot\nDislaw: /\nDis-allow: /\n", "GPTBot", "https://e.com/")


def test_crawl_delay_does_not_end_a_group() -> None:
    robots = "User-agent: GPTBot\nCrawl-delay: 10\nUser-agent: *\nDisallow: /\n"
    assert not allowed(robots, "GPTBot", "https://e.com/page")
    parsed = RobotsTxt.parse(robots.encode())
    assert [g.agents for g in parsed.groups] == [["gptbot", "*"]]


def test_user_agent_star_bot_is_not_global() -> None:
    robots = "User-agent: *bot\nDisallow: /\n"
    assert allowed(robots, "GPTBot", "https://e.com/page")
    assert access_findings(RobotsTxt.parse(robots.encode()), "/page", AGENTS, "r") == []
    # "*" followed by a comment or a space is still every crawler.
    assert not allowed("User-agent: * everyone\nDisallow: /\n", "GPTBot", "https://e.com/")
