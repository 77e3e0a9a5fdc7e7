"""Error analysis for ``pipeline evaluate ner --errors``: the pipeline's false positives and negatives by kind.

Every wrong span of one system is put in one category, by how it relates to the gold spans and to the news
model's own output:

- ``type``: the span is a gold span's, the type is not;
- ``boundary``: it overlaps a gold span of the same type, with other bounds (a title, possessive, a partial
  name);
- ``boundary+type``: overlaps a gold span of another type with other bounds;
- ``spurious``: overlaps no gold span (MISC, a common word, a demonym read as a place);
- ``missed``: a gold span no prediction overlaps.

Each false positive is also marked by whether the news model alone predicted it (``model``) or the pipeline's
merge and canonicalisation made it (``pipeline``), which tells which stage to fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

Span = tuple[int, int, str]


@dataclass(frozen=True, slots=True)
class SpanError:
    kind: str  # "fp" or "fn"
    category: str
    label: str  # the span's own label (predicted for fp, gold for fn)
    source: str  # for fp: "model" when the news model predicted the same span and type, else "pipeline"
    text: str
    overlapping: str  # the other side's spans overlapping it (gold for fp, predicted for fn), as "text/LABEL"
    context: str


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _category(span: Span, overlapping: list[Span], alone: str) -> str:
    if any(other[:2] == span[:2] for other in overlapping):
        return "type"
    if any(other[2] == span[2] for other in overlapping):
        return "boundary"
    return "boundary+type" if overlapping else alone


def classify(text: str, gold: set[Span], predicted: set[Span], reference: set[Span] | None = None) -> list[SpanError]:
    """The false positives and negatives of ``predicted`` against ``gold`` in one document, categorised.
    ``reference`` (the news model's spans) says whether a false positive came from the model itself."""
    errors: list[SpanError] = []

    def context(span: Span) -> str:
        before = text[max(0, span[0] - 40) : span[0]].replace("\n", " ")
        after = text[span[1] : span[1] + 40].replace("\n", " ")
        return f"{before}[{text[span[0] : span[1]]}]{after}"

    def described(spans: Iterable[Span]) -> str:
        return "; ".join(f"{text[s:e]}/{label}" for s, e, label in sorted(spans))

    for span in sorted(predicted - gold):
        overlapping = [g for g in gold if _overlaps(span, g)]
        source = "model" if reference is not None and span in reference else "pipeline"
        errors.append(
            SpanError(
                "fp",
                _category(span, overlapping, "spurious"),
                span[2],
                source,
                text[span[0] : span[1]],
                described(overlapping),
                context(span),
            )
        )
    for span in sorted(gold - predicted):
        overlapping = [p for p in predicted if _overlaps(span, p)]
        # the pipeline lost it when the news model alone had it
        source = "model" if reference is not None and span not in reference else "pipeline"
        errors.append(
            SpanError(
                "fn",
                _category(span, overlapping, "missed"),
                span[2],
                source,
                text[span[0] : span[1]],
                described(overlapping),
                context(span),
            )
        )
    return errors


def summary(errors: Iterable[SpanError]) -> Counter[tuple[str, str, str, str]]:
    """Counts by (fp/fn, label, category, source)."""
    return Counter((e.kind, e.label, e.category, e.source) for e in errors)
