"""The answer to an access request: what of the requester's is in which dataset.

It comes from :mod:`notrain.lineage` (``access_answer_for_request``), which reads the
dataset catalogue and the lineage indexes for the accounts the registry matched to the
request and the identifiers it holds. It is given once the access request is accepted;
before that, the status page shows the registry's stage only.
"""

from __future__ import annotations

from typing import Any

from notrain.registry.service import Registry
from notrain.registry.states import RequestKind, RequestState

_ANSWERED = (RequestState.ACCEPTED.value, RequestState.APPLIED.value)


def answer_for(registry: Registry, request_id: str) -> dict[str, Any] | None:
    """The lineage answer for an accepted access request; None for anything else."""
    view = registry.get(request_id, events=False)
    if view.kind != RequestKind.ACCESS or view.state not in _ANSWERED:
        return None
    from notrain.lineage.access import access_answer_for_request  # reads Parquet: lazily

    try:
        answer = access_answer_for_request(registry.session, request_id)
    finally:
        registry.session.rollback()
    result: dict[str, Any] = answer.model_dump(mode="json")
    return result
