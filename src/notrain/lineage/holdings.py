"""What of whom a dataset holds: rows authored by, tagging or mentioning given people.

Reads only the small columns of a dataset's shards (ids, kind, lists), plus the text when
non-member identifiers are asked about. Engine-free: plain PyArrow.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from notrain.corpus.redaction import normalise_identifier

COLUMNS = ["content_id", "author_id", "kind", "mentions", "tags"]


@dataclass
class Holding:
    """One person's rows in one dataset."""

    authored: Counter[str] = field(default_factory=Counter)  # by kind
    authored_ids: set[int] = field(default_factory=set)
    tagged: list[int] = field(default_factory=list)
    mentioned: list[int] = field(default_factory=list)
    named: list[int] = field(default_factory=list)  # identifier found in the text
    content_ids: set[int] = field(default_factory=set)


def _members(lists: pa.ChunkedArray, ids: pa.Array) -> dict[int, np.ndarray]:
    """For each wanted id, the row positions whose list holds it."""
    found: dict[int, np.ndarray] = {}
    arr = lists.combine_chunks()
    if len(arr) == 0:
        return found
    values = pc.list_flatten(arr)
    parents = pc.list_parent_indices(arr)
    hit = pc.is_in(values, value_set=ids)
    if not pc.any(hit).as_py():
        return found
    hit_values = pc.filter(values, hit).to_numpy()
    hit_parents = pc.filter(parents, hit).to_numpy()
    for value in np.unique(hit_values):
        found[int(value)] = np.unique(hit_parents[hit_values == value])
    return found


def _identifier_pattern(identifiers: Iterable[str]) -> re.Pattern[str] | None:
    names = sorted(
        {n for raw in identifiers if (n := normalise_identifier(raw))}, key=lambda s: -len(s)
    )
    if not names:
        return None
    alternation = "|".join(r"\s+".join(map(re.escape, n.split(" "))) for n in names)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


def holdings(
    dataset: Path, subject_ids: Iterable[int], identifiers: Iterable[str] = ()
) -> dict[int | str, Holding]:
    """Rows of ``dataset`` per subject id (authored, tagged, mentioned) and per identifier."""
    wanted = sorted(set(subject_ids))
    ids = pa.array(wanted, pa.int64())
    pattern = _identifier_pattern(identifiers)
    result: dict[int | str, Holding] = {}
    for shard in sorted(dataset.glob("part-*.parquet")):
        columns = COLUMNS + (["text"] if pattern else [])
        table = pq.read_table(shard, columns=columns)
        content = table["content_id"].to_numpy()
        kinds = table["kind"].to_numpy(zero_copy_only=False)
        if wanted:
            authors = table["author_id"].to_numpy()
            for subject in wanted:
                rows = np.nonzero(authors == subject)[0]
                if len(rows):
                    holding = result.setdefault(subject, Holding())
                    holding.authored.update(str(k) for k in kinds[rows])
                    holding.authored_ids.update(int(c) for c in content[rows])
                    holding.content_ids.update(int(c) for c in content[rows])
            for column, attr in (("tags", "tagged"), ("mentions", "mentioned")):
                for subject, rows in _members(table[column], ids).items():
                    holding = result.setdefault(subject, Holding())
                    getattr(holding, attr).extend(int(c) for c in content[rows])
                    holding.content_ids.update(int(c) for c in content[rows])
        if pattern:
            texts = table["text"].to_pylist()
            for position, text in enumerate(texts):
                if not text:
                    continue
                # Every identifier the text names: one row can name several people, each
                # of whom (in impact, each request) holds it.
                keys = {" ".join(m.group(0).lower().split()) for m in pattern.finditer(text)}
                for key in keys:
                    holding = result.setdefault(key, Holding())
                    holding.named.append(int(content[position]))
                    holding.content_ids.add(int(content[position]))
    for holding in result.values():
        holding.tagged.sort()
        holding.mentioned.sort()
        holding.named.sort()
    return result
