"""Access answers (GDPR Art. 15): every dataset holding a person's content, and recalls.

For a verified subject: each catalogued dataset with rows they authored (counts by kind),
rows tagging or mentioning them, rows naming one of their identifiers, the content ids,
and the models trained from it. For erasure, the recalls that removed their data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
from pydantic import BaseModel
from sqlalchemy.orm import Session

from notrain.corpus.recall import REMOVED_FILE
from notrain.lineage.catalogue import entries
from notrain.lineage.holdings import Holding, holdings
from notrain.registry.intake import load


class DatasetHolding(BaseModel):
    dataset_id: str
    path: str
    as_of: datetime
    policy: str
    authored_by_kind: dict[str, int]
    tagged: int
    mentioned: int
    named: int
    content_ids: list[int]
    models: list[str]


class RecallRecord(BaseModel):
    dataset_id: str
    parent_id: str
    as_of: datetime
    removed_content_ids: list[int]


class AccessAnswer(BaseModel):
    subject_ids: list[int]
    identifiers: list[str]
    datasets: list[DatasetHolding]
    recalls: list[RecallRecord]


def _merge(found: dict[int | str, Holding]) -> Holding:
    merged = Holding()
    for holding in found.values():
        merged.authored.update(holding.authored)
        merged.tagged.extend(holding.tagged)
        merged.mentioned.extend(holding.mentioned)
        merged.named.extend(holding.named)
        merged.content_ids |= holding.content_ids
    return merged


def access_answer(
    session: Session, subject_id: int | Sequence[int] | None, identifiers: Sequence[str] = ()
) -> AccessAnswer:
    """Everything of the person in every catalogued dataset still on disk."""
    subjects = (
        []
        if subject_id is None
        else [subject_id]
        if isinstance(subject_id, int)
        else sorted(set(subject_id))
    )
    catalogue = entries(session)
    held: dict[str, set[int]] = {}
    datasets: list[DatasetHolding] = []
    for entry in catalogue:
        path = Path(entry.path)
        if not entry.holds_data or not path.is_dir():  # a purged version holds nothing
            continue
        merged = _merge(holdings(path, subjects, identifiers))
        held[entry.dataset_id] = merged.content_ids
        if not merged.content_ids:
            continue
        datasets.append(
            DatasetHolding(
                dataset_id=entry.dataset_id,
                path=entry.path,
                as_of=entry.as_of,
                policy=entry.policy_name,
                authored_by_kind=dict(sorted(merged.authored.items())),
                tagged=len(set(merged.tagged)),
                mentioned=len(set(merged.mentioned)),
                named=len(set(merged.named)),
                content_ids=sorted(merged.content_ids),
                models=list(entry.models),
            )
        )
    recalls: list[RecallRecord] = []
    for entry in catalogue:
        removed_file = Path(entry.path) / REMOVED_FILE
        if entry.parent_id is None or not removed_file.is_file():
            continue
        theirs = held.get(entry.parent_id, set())
        removed = set(pq.read_table(removed_file, columns=["content_id"])["content_id"].to_pylist())
        if theirs & removed:
            recalls.append(
                RecallRecord(
                    dataset_id=entry.dataset_id,
                    parent_id=entry.parent_id,
                    as_of=entry.as_of,
                    removed_content_ids=sorted(theirs & removed),
                )
            )
    return AccessAnswer(
        subject_ids=subjects,
        identifiers=sorted(set(identifiers)),
        datasets=datasets,
        recalls=recalls,
    )


def access_answer_for_request(session: Session, request_id: str) -> AccessAnswer:
    """The answer for the person behind a (verified) registry request."""
    request = load(session, request_id)
    return access_answer(
        session,
        [s.subject_id for s in request.subjects],
        [i.value for i in request.identifiers],
    )
