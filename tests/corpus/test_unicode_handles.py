"""Handles of any script are found and redacted as ASCII ones are, in both engines."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from notrain.corpus import redaction
from notrain.corpus.build import BuildRequest, BuildResult, build_dataset
from tests.corpus import world
from tests.corpus.world import Built, World


def test_valid_handles() -> None:
    for handle in ("ünal", "José_R", "たろう", "e\u0301mile", "anna.k", "bob"):
        assert redaction.is_valid_handle(handle), handle
    for handle in ("", ".bob", "bob.", "bo b", "bob@x", "bob-k"):
        assert not redaction.is_valid_handle(handle), handle


def _world() -> tuple[World, dict[str, int], int]:
    w = World()
    author = w.account(1)
    unal = w.account(2, handle="ünal")
    jose = w.account(3, handle="José_R")
    taro = w.account(4, handle="たろう")
    inal = w.account(5, handle="\u0130nal")
    nikos = w.account(6, handle="ΝΊΚΟΣ")
    kare = w.account(7, handle="kåre.s")
    keeps = w.account(8, handle="ünalé")
    for objector in (unal, jose, taro, inal, nikos, kare):
        w.decide(objector)
    texts = {
        "text only": "hi @ünal, @ÜNAL and @José_R. @josé_r! @JOSÉ_R",
        "attached": "@ünalさん @たろうさん、@たろう",
        "not a mention": "x@ünal @ünal2 @ünal.x @ünalé",
        "folding": "@\u0130nal @inal @\u0131nal @νίκος @Νίκος @\u212aåre.s @KÅRE.S.",
        "listed": "@ünal",
    }
    ids = {
        name: w.item(author, text=text, mentions=[unal, keeps] if name == "listed" else [])
        for name, text in texts.items()
    }
    return w, ids, keeps


def _check(built: Built, ids: dict[str, int], keeps: int) -> None:
    assert built.text(ids["text only"]) == (
        "hi @[redacted], @[redacted] and @[redacted]. @[redacted]! @[redacted]"
    )
    assert built.text(ids["attached"]) == "@[redacted]さん @[redacted]さん、@[redacted]"
    assert built.text(ids["not a mention"]) == "x@ünal @ünal2 @ünal.x @[redacted]é"
    assert built.text(ids["folding"]) == (
        "@[redacted] @inal @\u0131nal @[redacted] @[redacted] @[redacted] @[redacted]."
    )
    assert built.text(ids["listed"]) == "@[redacted]"
    assert built.kept[ids["listed"]]["mentions"] == [keeps]


def test_handles_of_any_script_are_redacted(tmp_path: Path) -> None:
    w, ids, keeps = _world()
    _check(w.build(tmp_path), ids, keeps)


def test_a_text_only_mention_excludes_under_the_exclude_policy(tmp_path: Path) -> None:
    from tests.corpus import test_rules

    w = World()
    author, unal = w.account(1), w.account(2, handle="ünal")
    w.decide(unal)
    named, attached, other = (
        w.item(author, text="hello @ÜNAL"),
        w.item(author, text="@ünalさん"),
        w.item(author, text="@ünal2"),
    )
    built = w.build(tmp_path, policy=test_rules.policy(mentioned="exclude"))
    assert built.reason(named) == "third_party_objected"
    assert built.reason(attached) == "third_party_objected"
    assert built.reason(other) is None


def _on_spark(request: BuildRequest, progress: Any = None) -> BuildResult:
    return build_dataset(dataclasses.replace(request, engine="spark"), progress)


@pytest.mark.slow
def test_spark_redacts_as_duckdb(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del spark
    w, ids, keeps = _world()
    duckdb = w.build(tmp_path / "duckdb")
    monkeypatch.setattr(world, "build_dataset", _on_spark)
    spark_built = w.build(tmp_path / "spark")
    _check(spark_built, ids, keeps)
    assert spark_built.kept == duckdb.kept
