"""The dataset card: a ``README.md`` in the Hugging Face format, written from the manifest.

Dataset tools (the Hub, ``datasets``, ``huggingface_hub``) show a folder of Parquet files
through its card: a YAML header they read (licence, languages, size, tasks, which files are
the data) and a body for people. Everything in it comes from the manifest, so it is
deterministic (reruns stay byte-identical) and says nothing the manifest cannot prove.

The ``configs`` entry names the shards as the data: ``exclusions.parquet``,
``lineage.parquet`` and ``removed.parquet`` have other columns and are not rows to train on.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

CARD = "README.md"

# The Hub's size buckets, upper bounds exclusive.
_SIZES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
]


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` bucket for ``rows`` rows."""
    for bound, name in _SIZES:
        if rows < bound:
            return name
    return "n>1B"


def languages(kept_by_country: dict[str, int], share: float = 0.01) -> list[str]:
    """ISO 639-1 codes of the official languages of the countries the kept rows come from.

    An estimate, and the card says so: the builder does not detect languages. A country
    counts when it holds at least ``share`` of the kept rows, so a handful of rows from
    elsewhere does not list a language.
    """
    from babel.languages import get_official_languages

    total = sum(kept_by_country.values())
    weight: Counter[str] = Counter()
    for country, rows in kept_by_country.items():
        if not total or rows / total < share:
            continue
        for code in get_official_languages(country, de_facto=True):
            primary = code.split("_")[0]
            if len(primary) == 2:
                weight[primary] += rows
    return sorted(weight)


def _yaml_list(key: str, values: list[str]) -> list[str]:
    if not values:
        return [f"{key}: []"]
    # Quoted as JSON strings (valid YAML): a bare `no` (Norwegian) would read as false.
    return [f"{key}:", *(f"- {json.dumps(value)}" for value in values)]


def _header(manifest: dict[str, Any]) -> str:
    counts = manifest.get("counts", {})
    kept = int(counts.get("kept", 0))
    lines = [
        "---",
        "license: other",
        f"license_name: {json.dumps(manifest.get('policy', {}).get('name', 'unnamed'))}",
        *_yaml_list("language", languages(counts.get("kept_by_country", {}))),
        *_yaml_list("size_categories", [size_category(kept)]),
        *_yaml_list("task_categories", ["text-generation"]),
        *_yaml_list("tags", ["notrain", "consent", "opt-out-honoured"]),
        f"pretty_name: {json.dumps('notrain dataset ' + manifest.get('dataset_id', ''))}",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        '    path: "part-*.parquet"',
        "---",
    ]
    return "\n".join(lines)


def _table(title: str, rows: dict[str, int], order: list[str] | None = None) -> list[str]:
    names = order if order is not None else sorted(rows)
    body = [f"| {name} | {rows.get(name, 0):,} |" for name in names if rows.get(name, 0)]
    if not body:
        return [f"{title}: none.", ""]
    return [f"| {title} | rows |", "|---|---:|", *body, ""]


def render(manifest: dict[str, Any]) -> str:
    """The card's text for a dataset described by ``manifest``."""
    counts = manifest.get("counts", {})
    policy = manifest.get("policy", {})
    snapshot = manifest.get("registry_snapshot", {})
    engine = manifest.get("engine", {})
    kept, excluded = int(counts.get("kept", 0)), int(counts.get("excluded", 0))
    lines = [
        _header(manifest),
        "",
        f"# notrain dataset `{manifest.get('dataset_id', '?')}`",
        "",
        "Platform content built into a training dataset by "
        "notrain under a declared policy: every row that the "
        "people concerned did not allow (objections, erasures, missing consent, minors, "
        "opt-out signals) was left out with one reason, and personal data in the kept text "
        "was redacted.",
        "",
        "## What is in it",
        "",
        f"- As of: {manifest.get('as_of', '?')}",
        f"- Rows kept: {kept:,} (`part-*.parquet`); rows left out: {excluded:,} "
        "(`exclusions.parquet`, one reason each)",
        f"- Policy: `{policy.get('name', 'unnamed')}`, sha256 `{policy.get('sha256', 'none')}`",
        f"- Registry snapshot: sha256 `{snapshot.get('sha256', 'none')}`, taken "
        f"{snapshot.get('taken_at') or 'at an unrecorded time'}",
        f"- Built by: {engine.get('name', '?')} {engine.get('version', '')}, "
        f"notrain {manifest.get('notrain_version', '?')}",
        "- Languages in the header: an estimate from the authors' countries, not detected.",
        "",
    ]
    parent = manifest.get("parent")
    if parent:
        recall = manifest.get("recall", {})
        lines += [
            f"This version recalls `{parent['dataset_id']}`: {recall.get('removed', 0):,} rows "
            "were removed because of objections, erasures or withdrawn consent that came "
            "after it. Delete the earlier version (`notrain dataset purge`).",
            "",
        ]
    lines += ["## What was left out, and why", ""]
    lines += _table("reason", counts.get("excluded_by_reason", {}), manifest.get("reason_order"))
    lines += ["## Kept rows by kind", ""]
    lines += _table("kind", counts.get("kept_by_kind", {}))
    lines += ["## Kept and left-out rows by country", ""]
    kept_c = counts.get("kept_by_country", {})
    out_c = counts.get("excluded_by_country", {})
    countries = sorted(set(kept_c) | set(out_c))
    if countries:
        lines += ["| country | kept | left out |", "|---|---:|---:|"]
        lines += [f"| {c} | {kept_c.get(c, 0):,} | {out_c.get(c, 0):,} |" for c in countries]
        lines.append("")
    lines += [
        "## How to check it",
        "",
        "Every file's sha256 is in `manifest.json`; `notrain dataset verify DIR` checks them "
        "all, and `notrain policy explain` prints the policy's rules in order. The rows left "
        "out are in `exclusions.parquet` (`content_id`, `reason`); who appears in each kept "
        "row is in `lineage.parquet`, which a later objection uses to recall this dataset.",
        "",
    ]
    return "\n".join(lines)
