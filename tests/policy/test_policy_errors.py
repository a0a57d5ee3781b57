"""Every user mistake in a policy file is a PolicyError naming the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notrain.errors import PolicyError, UserError
from notrain.policy import default_policy_text, load_policy, load_policy_text

# Line numbers matter below; the test that follows checks they are what the tests assume.
VALID = """\
# a small valid policy
name = "small"
purpose = "testing"

[content]
kinds = [
    "post",
    "photo",
]
visibility = ["public"]

[authors]
min_age = 18
unknown_age = "exclude"

[[jurisdictions]]
name = "Europe"
countries = ["FR", "DE"]
regime = "objection"
active_from = 2025-05-27

[[jurisdictions]]
name = "Elsewhere"
countries = ["*"]
regime = "objection"
active_from = 2023-09-27
content_since = 2023-01-01

[objections]
retroactive = true
"""


def line_of(text: str, fragment: str) -> int:
    (number,) = [n for n, line in enumerate(text.split("\n"), 1) if fragment in line]
    return number


def failure(text: str, source: str = "p.toml") -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, source)
    return caught.value


def loading_error(text: str) -> PolicyError | None:
    """The PolicyError loading ``text`` raises, or None if it loads; anything else escapes."""
    try:
        load_policy_text(text, "fuzz.toml")
    except PolicyError as error:
        return error
    return None


def edit(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def test_the_valid_text_is_valid_and_laid_out_as_assumed() -> None:
    load_policy_text(VALID, "p.toml")
    assert line_of(VALID, '"photo"') == 8
    assert line_of(VALID, "[authors]") == 12
    assert line_of(VALID, "min_age") == 13
    assert line_of(VALID, '"Elsewhere"') == 23
    assert line_of(VALID, "content_since") == 27
    assert line_of(VALID, "retroactive") == 30


def test_private_message_is_refused_at_its_key() -> None:
    error = failure(edit('    "photo",\n', '    "photo",\n    "private_message",\n'))
    assert (error.line, error.key) == (6, "content.kinds")
    assert str(error) == "p.toml:6: content.kinds: private_message can never be used for training"


def test_unknown_kind_in_a_multiline_array() -> None:
    error = failure(edit('    "photo",\n', '    "photo",\n    "reel",\n'))
    assert (error.line, error.key) == (6, "content.kinds[2]")
    assert '"reel" is not allowed' in error.problem
    assert "'post'" in error.problem


def test_unknown_visibility() -> None:
    error = failure(edit('["public"]', '["public", "everyone"]'))
    assert (error.line, error.key) == (10, "content.visibility[1]")
    assert '"everyone"' in error.problem


def test_duplicate_country_across_jurisdictions_points_at_the_second() -> None:
    error = failure(edit('countries = ["*"]', 'countries = ["*", "DE"]'))
    assert (error.line, error.key) == (24, "jurisdictions[1].countries")
    assert error.problem == "country DE is in both 'Europe' and 'Elsewhere'"


def test_country_twice_in_one_jurisdiction() -> None:
    error = failure(edit('["FR", "DE"]', '["FR", "DE", "FR"]'))
    assert (error.line, error.key) == (18, "jurisdictions[0].countries")
    assert "FR is listed twice" in error.problem


def test_country_that_is_not_a_code() -> None:
    error = failure(edit('["FR", "DE"]', '["FR", "Germany"]'))
    assert (error.line, error.key) == (18, "jurisdictions[0].countries")
    assert "'Germany' is not an ISO 3166-1 alpha-2 code" in error.problem


def test_quoted_date_is_a_wrong_type() -> None:
    error = failure(edit("active_from = 2023-09-27", 'active_from = "2023-09-27"'))
    assert (error.line, error.key) == (26, "jurisdictions[1].active_from")
    assert error.problem == (
        'expected a date written without quotes (like 2025-05-27), got the string "2023-09-27"'
    )


def test_datetime_is_not_a_date() -> None:
    error = failure(edit("content_since = 2023-01-01", "content_since = 2023-01-01T00:00:00Z"))
    assert (error.line, error.key) == (27, "jurisdictions[1].content_since")
    assert "got a date-time" in error.problem


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "problem"),
    [
        ("min_age = 18", 'min_age = "18"', 13, "authors.min_age", 'got the string "18"'),
        ("min_age = 18", "min_age = true", 13, "authors.min_age", "got a boolean"),
        ("min_age = 18", "min_age = 200", 13, "authors.min_age", "less than or equal to 120"),
        ("retroactive = true", 'retroactive = "yes"', 30, "objections.retroactive",
         'expected true or false, got the string "yes"'),
        ('regime = "objection"\nactive_from = 2025', 'regime = "opt-out"\nactive_from = 2025',
         19, "jurisdictions[0].regime", '"opt-out" is not allowed'),
        ('unknown_age = "exclude"', 'unknown_age = "guess"', 14, "authors.unknown_age",
         "expected 'exclude' or 'include'"),
        ('["public"]', "[]", 10, "content.visibility", "must not be empty"),
        ('name = "small"', "name = 3", 2, "name", "expected a quoted string, got an integer"),
        ('countries = ["*"]', 'countries = "*"', 24, "jurisdictions[1].countries",
         'expected an array, got the string "*"'),
    ],
)  # fmt: skip
def test_wrong_values(old: str, new: str, line: int, key: str, problem: str) -> None:
    error = failure(edit(old, new))
    assert (error.line, error.key) == (line, key)
    assert problem in error.problem


@pytest.mark.parametrize(
    ("old", "new", "line", "key"),
    [
        ('purpose = "testing"\n', 'purpose = "testing"\ncolour = "red"\n', 4, "colour"),
        ("min_age = 18\n", "min_age = 18\nmax_age = 99\n", 14, "authors.max_age"),
        ("content_since = 2023-01-01\n", "content_since = 2023-01-01\nuntil = 2030-01-01\n",
         28, "jurisdictions[1].until"),
        ("[objections]\n", "[objection]\n", 29, "objection"),
    ],
)  # fmt: skip
def test_unknown_keys(old: str, new: str, line: int, key: str) -> None:
    error = failure(edit(old, new))
    assert (error.line, error.key) == (line, key)
    assert error.problem.startswith("unknown key")


def test_unknown_key_suggests_the_near_miss() -> None:
    error = failure(edit("min_age = 18", "min_ages = 18"))
    assert error.key == "authors.min_ages"
    assert "did you mean 'min_age'?" in error.problem
    assert "min_age, unknown_age" in error.problem


def test_missing_key_points_at_its_table_header() -> None:
    error = failure(edit("min_age = 18\n", ""))
    assert (error.line, error.key) == (12, "authors.min_age")
    assert error.problem == "required key is missing"


def test_missing_key_in_the_second_array_table() -> None:
    error = failure(edit("active_from = 2023-09-27\n", ""))
    assert (error.line, error.key) == (22, "jurisdictions[1].active_from")


def test_missing_table_points_at_line_one() -> None:
    error = failure(edit('[authors]\nmin_age = 18\nunknown_age = "exclude"\n', ""))
    assert (error.line, error.key) == (1, "authors")
    assert error.problem == "required table [authors] is missing"


def test_missing_top_level_key_points_at_line_one() -> None:
    error = failure(edit('name = "small"\n', ""))
    assert (error.line, error.key) == (1, "name")


def test_several_problems_report_the_first_and_count_the_rest() -> None:
    text = edit("min_age = 18", 'min_age = "x"').replace('"objection"', '"nope"')
    error = failure(text)
    assert (error.line, error.key) == (13, "authors.min_age")
    assert error.problem.endswith("(and 2 more problems)")


def test_syntax_error_names_line_and_column() -> None:
    error = failure(edit("min_age = 18", "min_age = = 18"))
    assert error.line == 13
    assert error.key is None
    assert error.problem.startswith("TOML syntax error at column 11:")


def test_syntax_error_in_a_header() -> None:
    error = failure(edit("[authors]", "[authors"))
    assert error.line == 12
    assert "TOML syntax error" in error.problem


def test_syntax_error_at_end_of_file_points_at_the_last_line() -> None:
    error = failure(VALID + "trailing = [1, 2\n\n")
    assert error.line == 31
    assert error.problem.startswith("TOML syntax error at end of file:")


def test_key_written_twice_is_a_syntax_error() -> None:
    error = failure(edit("min_age = 18\n", "min_age = 18\nmin_age = 19\n"))
    assert error.line is not None
    assert "TOML syntax error" in error.problem


def test_message_shape() -> None:
    error = failure(edit('["public"]', '["public", "everyone"]'), source="mypolicy.toml")
    assert str(error).startswith("mypolicy.toml:10: content.visibility[1]: ")
    assert "\n" not in str(error)
    assert isinstance(error, UserError)
    assert error.exit_code == 4
    assert error.path == "mypolicy.toml"


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(VALID.replace('"testing"', '"tést"').encode("latin-1"))
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.line == 3
    assert "not UTF-8" in caught.value.problem
    assert caught.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such file"):
        load_policy(tmp_path / "absent.toml")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="is a directory"):
        load_policy(tmp_path)


def test_file_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(edit("min_age = 18", "min_age = -1"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value).startswith(f"{path}:13: authors.min_age: ")


@settings(deadline=None)  # correctness only; no timing assertions
@given(st.text(max_size=200))
def test_any_text_loads_or_raises_policy_error(text: str) -> None:
    error = loading_error(text)
    if error is not None:
        assert "\n" not in str(error)
        assert error.line is None or error.line >= 1


@settings(deadline=None)  # correctness only; no timing assertions
@given(st.data())
def test_dropping_a_line_of_the_default_never_gives_a_traceback(data: st.DataObject) -> None:
    lines = default_policy_text().split("\n")
    dropped = data.draw(st.integers(0, len(lines) - 1))
    text = "\n".join(lines[:dropped] + lines[dropped + 1 :])
    error = loading_error(text)
    if error is not None:
        assert error.line is not None
        assert 1 <= error.line <= len(lines)
