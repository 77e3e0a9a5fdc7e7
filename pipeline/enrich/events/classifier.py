"""Story-level PLOVER type classifier: tf-idf features and a linear SVM (scikit-learn), softmax-scaled.

It gives a document-level distribution over the 16 types that the event coder uses as a prior on its
trigger confidences, and that ``main_event_type`` combines with the coded events to name a story's main
event. Features are read from the same text spaCy parsed (no second parse, no extra model): word 1-2-grams of
the body, those of the lead again (news states its main event first), and the headline's word 1-2-grams and
character 3-5-grams (a headline names the story's main event; character grams carry inflections and
compounds). A prediction is one pass over the tokens and a 16-way sparse dot product.

Training uses scikit-learn's ``TfidfVectorizer`` (sublinear tf, smoothed idf, L2 norm) and ``LinearSVC``
(class-balanced); the artifact ``pipeline/data/event_story_classifier.npz`` keeps only the vocabulary, idf,
coefficients and the softmax scale (no pickle), and ``predict_proba`` recomputes the vectoriser's transform
from them. It is trained by ``pipeline evaluate train-events`` on the training split of POLECAT synthetic
stories (ahalterman/NGEC, machine-generated stories labelled with one PLOVER type each); see
docs/enrichment.md. Without the file, the coder runs on its rules alone.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.enrich.switch import Switch
from pipeline.records import Event

MODEL_PATH = Path(__file__).resolve().parents[2] / "data" / "event_story_classifier.npz"
LEAD_CHARS = 400
HEADLINE_MARK = "t:"  # headline words and word pairs
HEADLINE_CHARS_MARK = "c:"  # headline character n-grams


@lru_cache(maxsize=1)
def _analyzers() -> tuple[Callable[[str], list[str]], Callable[[str], list[str]]]:
    # scikit-learn's own tokenisation, so training (TfidfVectorizer) and prediction read the same tokens.
    from sklearn.feature_extraction.text import CountVectorizer

    words = CountVectorizer(ngram_range=(1, 2), stop_words="english").build_analyzer()
    chars = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5)).build_analyzer()
    return words, chars


def story_tokens(text: str, title: str = "") -> list[str]:
    """The story's features as tokens (repeats count): body word 1-2-grams, the lead's (first ``LEAD_CHARS``
    characters) once more, the headline's word 1-2-grams (``t:``) and character 3-5-grams (``c:``)."""
    words, chars = _analyzers()
    tokens = words(text)
    tokens += words(text[:LEAD_CHARS])
    tokens += [HEADLINE_MARK + w for w in words(title)]
    tokens += [HEADLINE_CHARS_MARK + c for c in chars(title)]
    return tokens


def story_features(text: str, title: str = "") -> Counter[str]:
    """Token counts of a story (see ``story_tokens``)."""
    return Counter(story_tokens(text, title))


@dataclass
class StoryClassifier:
    labels: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray  # (V,)
    weights: np.ndarray  # (V, L)
    bias: np.ndarray  # (L,)
    meta: dict[str, object]
    scale: float = 1.0  # softmax temperature on the SVM scores, fitted on out-of-fold scores

    def vector(self, counts: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Sparse tf-idf vector of a story (as TfidfVectorizer with sublinear tf): (indices, L2-normalised values)."""
        pairs = [(self.vocabulary[f], c) for f, c in counts.items() if f in self.vocabulary]
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        idx = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
        tf = np.fromiter((1.0 + math.log(c) for _, c in pairs), dtype=np.float64, count=len(pairs))
        values = tf * self.idf[idx]
        norm = float(np.linalg.norm(values))
        return idx, values / norm if norm > 0 else values

    def decision(self, text: str, title: str = "") -> np.ndarray:
        """The linear model's score per label (order of ``labels``)."""
        idx, values = self.vector(story_features(text, title))
        scores = self.bias + (values @ self.weights[idx] if len(idx) else 0.0)
        return np.asarray(scores, dtype=np.float64)

    def predict_proba(self, text: str, title: str = "") -> dict[str, float]:
        probs = softmax(self.scale * self.decision(text, title))
        return {label: float(p) for label, p in zip(self.labels, probs, strict=True)}


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    c: float = 0.03,
    min_df: int = 2,
    scale: float = 1.0,
    meta: Mapping[str, object] | None = None,
    titles: Sequence[str] | None = None,
) -> StoryClassifier:
    """Tf-idf (sublinear tf, features in at least ``min_df`` stories) and a class-balanced linear SVM with
    regularisation ``c`` (smaller is stronger); deterministic (liblinear's dual solver with a fixed seed).
    ``balanced`` weighting keeps rare types from being traded for frequent ones (the measure is macro-F1)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    stories = list(zip(texts, titles or [""] * len(texts), strict=True))
    vectorizer = TfidfVectorizer(analyzer=lambda story: story_tokens(*story), sublinear_tf=True, min_df=min_df)
    matrix = vectorizer.fit_transform(stories)
    svm = LinearSVC(C=c, class_weight="balanced", random_state=0).fit(matrix, list(labels))
    classes = [str(label) for label in svm.classes_]
    coef = svm.coef_ if len(classes) > 2 else np.vstack([-svm.coef_[0], svm.coef_[0]])
    intercept = svm.intercept_ if len(classes) > 2 else np.array([-svm.intercept_[0], svm.intercept_[0]])
    weights = np.zeros((matrix.shape[1], len(label_set)))
    # A type absent from the training stories gets no features and a bias far below the others.
    bias = np.full(len(label_set), -10.0)
    for row, label in enumerate(classes):
        weights[:, list(label_set).index(label)] = coef[row]
        bias[list(label_set).index(label)] = intercept[row]
    vocabulary = {str(feature): int(i) for feature, i in vectorizer.vocabulary_.items()}
    return StoryClassifier(
        labels=list(label_set),
        vocabulary=vocabulary,
        idf=np.asarray(vectorizer.idf_, dtype=np.float64),
        weights=weights,
        bias=bias,
        meta=dict(meta or {}),
        scale=scale,
    )


def save_classifier(model: StoryClassifier, path: Path = MODEL_PATH) -> None:
    """Arrays only (``np.load`` reads it with ``allow_pickle=False``); float32 keeps the file small."""
    features = sorted(model.vocabulary, key=lambda f: model.vocabulary[f])
    with path.open("wb") as fh:
        np.savez_compressed(
            fh,
            labels=np.asarray(model.labels, dtype=str),
            features=np.asarray(features, dtype=str),
            idf=model.idf.astype(np.float32),
            weights=model.weights.astype(np.float32),
            bias=model.bias.astype(np.float32),
            scale=np.float64(model.scale),
            meta=np.asarray(json.dumps(model.meta, sort_keys=True)),
        )


def read_classifier(path: Path) -> StoryClassifier:
    with np.load(path, allow_pickle=False) as data:
        features = [str(f) for f in data["features"]]
        return StoryClassifier(
            labels=[str(label) for label in data["labels"]],
            vocabulary={feature: i for i, feature in enumerate(features)},
            idf=data["idf"].astype(np.float64),
            weights=data["weights"].astype(np.float64),
            bias=data["bias"].astype(np.float64),
            meta=dict(json.loads(str(data["meta"]))),
            scale=float(data["scale"]),
        )


_PRIOR = Switch()
# Run the coder on its rules alone (evaluation and training compare with and without the prior).
classifier_disabled = _PRIOR.off


# A story prior needs a story. The classifier learnt from whole stories (median 218 words); given a single
# sentence it sees only the words the rules read better in context, and on real news sentences it cost
# PentaClass accuracy (docs/enrichment.md, "The story prior"). Such a text gets a flat prior instead: every type
# equally likely, so the main type is the rules' and confidences keep the scale they were calibrated on.
MIN_STORY_SENTENCES = 2


def story_prior(text: str, title: str = "", sentences: int | None = None) -> dict[str, float] | None:
    """Story-level type distribution for the coder, or None when no model is trained (or it is disabled); flat
    when the text, of ``sentences`` sentences, is too short to be a story."""
    if not _PRIOR.on:
        return None
    model = load_classifier()
    if model is None:
        return None
    if sentences is not None and sentences < MIN_STORY_SENTENCES:
        return {label: 1.0 / len(model.labels) for label in model.labels}
    prior = _last_story_prior(text, title)
    return dict(prior) if prior is not None else None


@lru_cache(maxsize=1)
def _last_story_prior(text: str, title: str) -> dict[str, float] | None:
    # The coder and the article's main type both ask for one article's prior in turn: one classifier pass.
    model = load_classifier()
    return model.predict_proba(text, title) if model is not None else None


def with_headline(
    prior: Mapping[str, float] | None, headline: Mapping[str, float] | None, weight: float | None = None
) -> dict[str, float] | None:
    """The story prior with the headline's trigger type shares mixed in, ``weight`` (default: the headline
    weight chosen for ``main_event_type``) against the classifier's 1, still summing to 1. Unchanged when
    the headline names no type; None without a classifier (the coder runs on its rules alone)."""
    if prior is None or not headline:
        return dict(prior) if prior is not None else None
    weight = default_headline_weight() if weight is None else weight
    types = set(prior) | set(headline)
    return {t: (prior.get(t, 0.0) + weight * headline.get(t, 0.0)) / (1.0 + weight) for t in types}


def default_prior_weight() -> float:
    """Weight of the classifier in ``main_event_type``, as chosen on the training split at training time."""
    model = load_classifier()
    if model is None:
        return 0.0
    weight = model.meta.get("prior_weight", 0.5)
    return float(weight) if isinstance(weight, int | float) else 0.5


def default_headline_weight() -> float:
    """Weight of the headline's trigger types in ``main_event_type``, as chosen on the training split."""
    model = load_classifier()
    weight = model.meta.get("headline_weight", 0.0) if model is not None else 0.0
    return float(weight) if isinstance(weight, int | float) else 0.0


def default_position_decay() -> float:
    """Position decay of ``main_event_type``, as chosen on the training split at training time."""
    model = load_classifier()
    decay = model.meta.get("position_decay", 0.5) if model is not None else 0.5
    return float(decay) if isinstance(decay, int | float) else 0.5


@lru_cache(maxsize=2)
def load_classifier(path: Path = MODEL_PATH) -> StoryClassifier | None:
    """The trained story classifier, or None when no model file has been trained yet."""
    if not path.exists():
        return None
    return read_classifier(path)


def main_event_type(
    events: Sequence[Event],
    prior: Mapping[str, float] | None = None,
    prior_weight: float = 0.5,
    position_decay: float = 0.5,
    headline: Mapping[str, float] | None = None,
    headline_weight: float = 0.0,
) -> str | None:
    """The story's main PLOVER type.

    Each event votes its confidence times ``position_decay`` to the power of its sentence's rank among the
    sentences with events (news puts the main event first); the type's share of the votes is mixed with
    the story classifier's probability, which gets ``prior_weight`` of the say when given. The headline's
    trigger types (``events.headline.headline_types``, shares summing to 1) add ``headline_weight`` times
    their share: a headline names the main event, and says nothing when it has no trigger."""
    ranks = {start: rank for rank, start in enumerate(sorted({e.evidence.start for e in events}))}
    mass: dict[str, float] = {}
    for event in events:
        vote = event.confidence * position_decay ** ranks[event.evidence.start]
        mass[event.event_type] = mass.get(event.event_type, 0.0) + vote
    total = sum(mass.values())
    weight = prior_weight if prior else 0.0
    scores: dict[str, float] = {}
    for event_type in set(mass) | set(prior or {}) | set(headline or {}):
        rules = mass.get(event_type, 0.0) / total if total else 0.0
        scores[event_type] = (
            (1 - weight) * rules
            + weight * (prior or {}).get(event_type, 0.0)
            + headline_weight * (headline or {}).get(event_type, 0.0)
        )
    if not scores or max(scores.values()) <= 0.0:
        return None
    return max(sorted(scores), key=lambda t: scores[t])


def emitted_main_type(
    events: Sequence[Event], prior: Mapping[str, float] | None, headline: Mapping[str, float] | None
) -> str | None:
    """The ``main_event_type`` field of an enriched article: ``main_event_type`` with the weights chosen at
    training time (the prior and headline weigh nothing without a story prior, as the coder runs on its
    rules alone then). None when the article has no events: the prior and headline alone never claim a
    type, so texts without a political action stay quiet."""
    if not events:
        return None
    with_prior = prior is not None
    return main_event_type(
        events,
        prior,
        default_prior_weight() if with_prior else 0.0,
        default_position_decay(),
        headline,
        default_headline_weight() if with_prior else 0.0,
    )
