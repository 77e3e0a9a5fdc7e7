"""How several articles' reports of one event combine into one event. A pure function on event dicts,
shared by the index stage (the merged Elasticsearch document) and the publish stage (creates and updates).
"""

from __future__ import annotations

from typing import Any


def merge_reports(existing: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """One event reported by several articles: keep every source article and the best evidence.

    Commutative and idempotent in what matters (article set and references, best confidence, earliest
    publication), so replays and out-of-order delivery converge on the same event.
    """
    incoming_is_better = float(incoming.get("confidence") or 0) > float(existing.get("confidence") or 0)
    merged = dict(incoming if incoming_is_better else existing)
    merged["article_ids"] = sorted(set(existing.get("article_ids") or []) | set(incoming.get("article_ids") or []))
    merged["articles"] = merge_article_refs(existing.get("articles") or [], incoming.get("articles") or [])
    published = [p for p in (existing.get("article_published_at"), incoming.get("article_published_at")) if p]
    merged["article_published_at"] = min(published) if published else None
    # The first article that reported the event stays its "article_id"; the rest are in article_ids.
    merged["article_id"] = existing["article_id"]
    return merged


def merge_article_refs(*ref_lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Union by article id (a later copy of the same article wins), earliest published first."""
    by_id: dict[str, dict[str, Any]] = {}
    for refs in ref_lists:
        for ref in refs:
            by_id[ref["article_id"]] = ref
    return sorted(by_id.values(), key=lambda ref: (ref.get("published_at") or "", ref["article_id"]))
