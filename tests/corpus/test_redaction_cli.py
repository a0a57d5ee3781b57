"""``notrain redact``: what a build keeps of a text, from arguments, a file or stdin."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from notrain.cli import app
from notrain.errors import UserError
from notrain.policy.loader import default_policy_text

runner = CliRunner()


def test_texts_and_file_lines_are_printed_redacted(tmp_path: Path) -> None:
    lines = tmp_path / "texts.txt"
    lines.write_text("on 2024-06-26 from 192.0.2.1\n[x] call 06 12 34 56 78\n", "utf-8")
    result = runner.invoke(
        app,
        ["redact", "mail a@example.org, born 05.11.1987", "thanks Zoe Martin",
         "--identifier", "Zoe Martin", "--file", str(lines)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "mail [email], born 05.11.1987",
        "thanks [redacted]",
        "on 2024-06-26 from [ip]",
        "[x] call [phone]",
    ]


def test_stdin_and_a_policy_that_keeps_ips(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(default_policy_text().replace("ips = true", "ips = false"), "utf-8")
    result = runner.invoke(
        app,
        ["redact", "--policy", str(policy), "--file", "-"],
        input="192.0.2.1 or +44 20 7946 0958\n",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "192.0.2.1 or [phone]\n"


def test_nothing_to_redact_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    """Refusals are UserErrors, which ``notrain``'s entry point turns into exit code 2."""
    binary = tmp_path / "latin1.txt"
    binary.write_bytes(b"caf\xe9 0612345678\n")
    refusals = {
        "nothing to redact": ["redact"],
        "cannot be read": ["redact", "--file", str(tmp_path / "none.txt")],
        "latin1.txt:1: not UTF-8": ["redact", "--file", str(binary)],
    }
    for message, args in refusals.items():
        result = runner.invoke(app, args)
        assert isinstance(result.exception, UserError), args
        assert message in result.exception.message
        assert result.exception.exit_code == 2
