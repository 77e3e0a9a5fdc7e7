from __future__ import annotations

from pathlib import Path

from pipeline.collect.dedup import (
    Deduplicator,
    NearDuplicateIndex,
    content_hash,
    signature,
    signature_from_bytes,
    signature_to_bytes,
)
from pipeline.collect.extract import decode_html, extract_article
from pipeline.collect.state import StateStore
from tests.collect_samples import sample

STORY = (
    "SAMPLE. The river ferry between the invented villages of Ashby and Moorcombe will stop running for two "
    "weeks in April while its engine is replaced, the operator said on Monday. Passengers will be offered a "
    "free bus service that takes about twenty minutes longer. The operator said the new engine would use less "
    "fuel and make the crossing quieter for people living near the landing stages on both banks."
)
OTHER = (
    "SAMPLE. A new public library opened in the invented town of Fernley on Saturday, with a children's reading "
    "room, a small cafe and a workshop where visitors can repair bicycles and household appliances. The town "
    "council paid for most of the building, and a local foundation donated about four thousand books."
)


def page_text(name: str) -> str:
    result = extract_article(decode_html(sample(name)), url=f"http://127.0.0.1/{name}", min_chars=100)
    assert not hasattr(result, "reason"), result
    return result.text  # type: ignore[union-attr]


def test_hash_ignores_whitespace_and_unicode_form_only() -> None:
    assert content_hash("a  b\n\nc") == content_hash("a b c")
    assert content_hash("café") == content_hash("cafe\u0301")
    assert content_hash("a b c") != content_hash("a b d")


def test_short_texts_get_no_signature() -> None:
    assert signature("too short to compare") is None
    assert signature(STORY) is not None


def test_signature_survives_serialisation() -> None:
    sig = signature(STORY)
    assert sig is not None
    assert signature_from_bytes(signature_to_bytes(sig)).jaccard(sig) == 1.0


def test_index_finds_a_lightly_edited_copy_but_not_another_story() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    index.add("story", signature(STORY), at=0.0)  # type: ignore[arg-type]
    index.add("other", signature(OTHER), at=0.0)  # type: ignore[arg-type]
    edited = "Ferry service paused. " + STORY.replace("on Monday", "on Monday morning") + " (Sample Wire)"
    match = index.best_match(signature(edited))  # type: ignore[arg-type]
    assert match is not None and match[0] == "story" and match[1] >= 0.8
    assert index.best_match(signature(OTHER), exclude="other") is None


def test_syndicated_sample_page_is_a_near_duplicate() -> None:
    original, copy = page_text("bridge.html"), page_text("wire-copy.html")
    assert content_hash(original) != content_hash(copy)  # an exact hash would miss it
    sim = signature(original).jaccard(signature(copy))  # type: ignore[union-attr]
    assert sim >= 0.8, sim


def test_decisions_new_duplicate_unchanged_updated(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    dedup = Deduplicator(store, threshold=0.8)
    first = dedup.judge("art_a", "https://a.example/1", STORY)
    assert first.verdict == "new" and first.revision == 1 and first.publish

    exact_copy = dedup.judge("art_b", "https://b.example/1", STORY + "  ")
    assert exact_copy.verdict == "duplicate" and exact_copy.duplicate_of == "art_a" and not exact_copy.publish

    near_copy = dedup.judge("art_c", "https://c.example/1", "Headline. " + STORY + " Copyright Sample Wire.")
    assert near_copy.verdict == "duplicate" and near_copy.duplicate_of == "art_a"

    assert dedup.judge("art_a", "https://a.example/1", STORY).verdict == "unchanged"
    assert dedup.judge("art_c", "https://c.example/1", "Headline. " + STORY + " Copyright Sample Wire.").verdict == (
        "unchanged"
    )

    revised = dedup.judge("art_a", "https://a.example/1", STORY + " Update: the works start a week later.")
    assert revised.verdict == "updated" and revised.revision == 2 and revised.article_id == "art_a"
    assert dedup.judge("art_a", "https://a.example/1", STORY + " Update: the works start a week later.").verdict == (
        "unchanged"
    )

    other = dedup.judge("art_d", "https://d.example/1", OTHER)
    assert other.verdict == "new"


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with StateStore(path) as store:
        dedup = Deduplicator(store)
        dedup.judge("art_a", "https://a.example/1", STORY)
        dedup.judge("art_a", "https://a.example/1", STORY + " Revised.")
    with StateStore(path) as store:
        dedup = Deduplicator(store)
        assert len(dedup.index) == 1
        assert dedup.judge("art_x", "https://x.example/1", "Copy: " + STORY + " Revised.").verdict == "duplicate"
        assert dedup.judge("art_a", "https://a.example/1", STORY + " Revised again.").revision == 3


def test_rolled_back_decisions_leave_no_trace(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.sqlite3")
    dedup = Deduplicator(store)
    try:
        with store.transaction():
            dedup.judge("art_a", "https://a.example/1", STORY)
            raise RuntimeError("broker down")
    except RuntimeError:
        dedup.reload()
    assert store.get_article("art_a") is None and len(dedup.index) == 0
    assert dedup.judge("art_a", "https://a.example/1", STORY).verdict == "new"
