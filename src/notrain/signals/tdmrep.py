"""The W3C TDM Reservation Protocol (TDMRep), in its three layers.

1. ``/.well-known/tdmrep.json`` on the origin: an array of rules ``{"location": …,
   "tdm-reservation": 0|1, "tdm-policy": …}``. ``location`` is a robots.txt-style path
   pattern; the **first** rule that matches the URL applies, even if its value is invalid.
2. The ``tdm-reservation`` (and ``tdm-policy``) response header.
3. ``<meta name="tdm-reservation" content="…">`` in the HTML page.

A later layer overrides an earlier one; a layer that says nothing (absent, or a value other
than ``0`` or ``1``, which the protocol calls "unset") never resets what an earlier layer
said. ``1`` reserves, ``0`` allows. When no layer has a value and the crawl holds no
capture of ``tdmrep.json``, the answer is ``unknown``: the file might have reserved it.
A file that exists but is not a JSON array of rules is a protocol error: that layer is
unset, and the evidence says so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from notrain.signals.decision import Finding, Signal, Verdict
from notrain.signals.pattern import Pattern, canonical

WELL_KNOWN = "/.well-known/tdmrep.json"


@dataclass(frozen=True)
class TdmRule:
    index: int  # 1-based position in the file, for the evidence
    location: str
    pattern: Pattern
    reservation: object
    policy: str | None


@dataclass(frozen=True)
class FileLayer:
    """What the origin's tdmrep.json says about one URL."""

    captured: bool
    value: str | None  # the first matching rule's value as written; None if none matched
    evidence: str
    policy: str | None = None


def parse_file(body: bytes) -> list[TdmRule]:
    """The rules of a tdmrep.json; raises ValueError when it is not an array of objects."""
    data: Any = json.loads(body.decode("utf-8-sig"))
    if not isinstance(data, list):
        raise ValueError("not a JSON array")
    rules: list[TdmRule] = []
    for index, item in enumerate(data, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("location"), str):
            continue  # a rule without a location can match nothing
        location = item["location"]
        policy = item.get("tdm-policy")
        rules.append(
            TdmRule(
                index,
                location,
                Pattern(canonical(location, pattern=True)),
                item.get("tdm-reservation"),
                policy if isinstance(policy, str) else None,
            )
        )
    return rules


def file_layer(rules: Sequence[TdmRule], path: str, source: str) -> FileLayer:
    """The first rule of ``rules`` whose location matches ``path``."""
    for rule in rules:
        if rule.pattern.matches(path):
            where = f"{source} rule {rule.index} (location {rule.location!r})"
            return FileLayer(True, _text(rule.reservation), where, rule.policy)
    return FileLayer(True, None, f"{source}: no rule matches {path}")


def _text(value: object) -> str | None:
    if isinstance(value, bool):  # JSON true is not 1
        return str(value).lower()
    if isinstance(value, int | str):
        return str(value).strip()
    return None if value is None else json.dumps(value)


def valid(value: str | None) -> str | None:
    """``"0"`` or ``"1"``; anything else is unset."""
    return value if value in ("0", "1") else None


def layered(
    file: FileLayer,
    headers: Sequence[str],
    metas: Sequence[str],
    header_policies: Sequence[str] = (),
    meta_policies: Sequence[str] = (),
) -> list[Finding]:
    """The TDMRep finding for one URL from its three layers, the last valid one winning.

    Several values within a layer (two headers, two meta tags) count as a reservation if
    any of them is ``1``. Each layer brings its own ``tdm-policy``: the evidence names the
    policy of the layer that decided.
    """
    layers: list[tuple[str, str | None, str | None]] = [(file.evidence, file.value, file.policy)]
    for label, values, policies in (
        ("header tdm-reservation", headers, header_policies),
        ("meta tdm-reservation", metas, meta_policies),
    ):
        if values:
            given = [v.strip() for v in values]
            value = "1" if "1" in given else ("0" if "0" in given else given[0])
            layers.append((label, value, policies[0].strip() if policies else None))
    decided: tuple[str, str, str | None] | None = None
    notes: list[str] = []
    for label, raw, policy in layers:
        checked = valid(raw)
        if checked is None:
            if raw is not None:
                notes.append(f"{label} = {raw!r} is unset")
            continue
        if decided is not None:
            notes.append(f"overrides {decided[0]} = {decided[1]}")
        decided = (label, checked, policy)
    if decided is None:
        if not file.captured:
            return [Finding(Signal.TDMREP, Verdict.UNKNOWN, file.evidence)]
        return []
    label, value, policy = decided
    evidence = f"{label} = {value}"
    if value == "1" and policy:
        evidence += f" (tdm-policy {policy})"
    evidence = "; ".join([evidence, *notes])
    verdict = Verdict.RESERVED if value == "1" else Verdict.ALLOWED
    return [Finding(Signal.TDMREP, verdict, evidence)]
