"""Story-level PLOVER type classifier: a linear (softmax) model over word and word-pair counts.

It gives a document-level distribution over the 16 types that the event coder uses as a prior on its
trigger confidences, and that ``main_event_type`` combines with the coded events to name a story's main
event. Features are read with a regular expression from the same text spaCy parsed (no second parse, no
extra model), so a prediction costs one pass over the words and a 16-way dot product.

The weights (``pipeline/data/event_story_classifier.json``) are trained by ``pipeline evaluate train-events``
on the training split of POLECAT synthetic stories (ahalterman/NGEC, machine-generated stories labelled with
one PLOVER type each); see docs/enrichment.md. Without the file, the coder runs on its rules alone.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS

from pipeline.enrich.switch import Switch
from pipeline.records import Event

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "event_story_classifier.json"
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
LEAD_CHARS = 400


def story_features(text: str, title: str = "") -> Counter[str]:
    """Lower-cased content words with their counts; words of the lead (the first ``LEAD_CHARS``
    characters) count twice, because news states its main event first. The headline, which names the
    story's main event, adds its own features: its words and word pairs, marked ``t:``."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]
    counts: Counter[str] = Counter(words)
    counts.update(w for w in _WORD.findall(text[:LEAD_CHARS].lower()) if w not in STOP_WORDS)
    headline = [w for w in _WORD.findall(title.lower()) if w not in STOP_WORDS]
    counts.update(f"t:{w}" for w in headline)
    counts.update(f"t:{a}_{b}" for a, b in itertools.pairwise(headline))
    return counts


@dataclass
class StoryClassifier:
    labels: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray  # (V,)
    weights: np.ndarray  # (V, L)
    bias: np.ndarray  # (L,)
    meta: dict[str, object]

    def vector(self, counts: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Sparse tf-idf vector of a story: (feature indices, L2-normalised values)."""
        pairs = [(self.vocabulary[f], c) for f, c in counts.items() if f in self.vocabulary]
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        idx = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
        tf = np.fromiter((1.0 + math.log(c) for _, c in pairs), dtype=np.float64, count=len(pairs))
        values = tf * self.idf[idx]
        norm = float(np.linalg.norm(values))
        return idx, values / norm if norm > 0 else values

    def predict_proba(self, text: str, title: str = "") -> dict[str, float]:
        idx, values = self.vector(story_features(text, title))
        logits = self.bias + (values @ self.weights[idx] if len(idx) else 0.0)
        probs = _softmax(np.asarray(logits, dtype=np.float64))
        return {label: float(p) for label, p in zip(self.labels, probs, strict=True)}

    def to_json(self) -> dict[str, object]:
        # Sparse rows, rounded: the file stays small and diffs stay readable.
        rows: dict[str, list[float]] = {}
        for feature, i in self.vocabulary.items():
            rows[feature] = [round(float(self.idf[i]), 4), *(round(float(w), 4) for w in self.weights[i])]
        return {
            "meta": self.meta,
            "labels": self.labels,
            "bias": [round(float(b), 4) for b in self.bias],
            "features": rows,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> StoryClassifier:
        labels = list(data["labels"])  # type: ignore[call-overload]
        rows: Mapping[str, Sequence[float]] = data["features"]  # type: ignore[assignment]
        vocabulary = {feature: i for i, feature in enumerate(rows)}
        matrix = np.asarray([rows[f] for f in vocabulary], dtype=np.float64).reshape(len(vocabulary), len(labels) + 1)
        return cls(
            labels=labels,
            vocabulary=vocabulary,
            idf=matrix[:, 0].copy(),
            weights=matrix[:, 1:].copy(),
            bias=np.asarray(data["bias"], dtype=np.float64),
            meta=dict(data.get("meta", {})),  # type: ignore[call-overload]
        )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))


def train_classifier(
    texts: Sequence[str],
    labels: Sequence[str],
    label_set: Sequence[str],
    *,
    min_df: int = 3,
    max_features: int = 12000,
    l2: float = 3e-4,
    epochs: int = 600,
    learning_rate: float = 0.5,
    balanced: bool = True,
    meta: Mapping[str, object] | None = None,
    titles: Sequence[str] | None = None,
) -> StoryClassifier:
    """Full-batch softmax regression with L2 (deterministic: no sampling, fixed initialisation at zero).

    ``balanced`` weights each story by the inverse frequency of its label, so rare types are not traded
    for the frequent ones (the measure is macro-F1)."""
    feature_counts = [story_features(t, h) for t, h in zip(texts, titles or [""] * len(texts), strict=True)]
    df: Counter[str] = Counter()
    for counts in feature_counts:
        df.update(counts.keys())
    kept = sorted((f for f, n in df.items() if n >= min_df), key=lambda f: (-df[f], f))[:max_features]
    vocabulary = {f: i for i, f in enumerate(sorted(kept))}
    n_docs = len(texts)
    idf = np.zeros(len(vocabulary))
    for feature, i in vocabulary.items():
        idf[i] = math.log((1 + n_docs) / (1 + df[feature])) + 1.0
    model = StoryClassifier(
        labels=list(label_set),
        vocabulary=vocabulary,
        idf=idf,
        weights=np.zeros((len(vocabulary), len(label_set))),
        bias=np.zeros(len(label_set)),
        meta=dict(meta or {}),
    )
    # Stories as sparse rows (a story uses ~1% of the vocabulary): products are gathers and scatters.
    rows = [model.vector(counts) for counts in feature_counts]
    row_of = np.concatenate([np.full(len(idx), r, dtype=np.int64) for r, (idx, _) in enumerate(rows)])
    cols = np.concatenate([idx for idx, _ in rows])
    vals = np.concatenate([values for _, values in rows])
    n_labels, n_features = len(label_set), len(vocabulary)
    label_index = {label: i for i, label in enumerate(label_set)}
    y = np.zeros((n_docs, len(label_set)))
    y[np.arange(n_docs), [label_index[label] for label in labels]] = 1.0
    sample_weight = np.ones((n_docs, 1))
    if balanced:
        per_label = y.sum(axis=0)
        sample_weight = (y @ np.where(per_label > 0, n_docs / (len(label_set) * np.maximum(per_label, 1)), 0.0))[
            :, None
        ]
    weights, bias = model.weights, model.bias
    # Adam on the mean cross-entropy + L2; full batch, so runs are exactly reproducible.
    m_w, v_w, m_b, v_b = (np.zeros_like(weights), np.zeros_like(weights), np.zeros_like(bias), np.zeros_like(bias))
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, epochs + 1):
        scores = np.stack(
            [np.bincount(row_of, weights=vals * weights[cols, k], minlength=n_docs) for k in range(n_labels)], axis=1
        )
        probs = _softmax(scores + bias)
        grad_logits = sample_weight * (probs - y) / n_docs
        grad_w = l2 * weights + np.stack(
            [np.bincount(cols, weights=vals * grad_logits[row_of, k], minlength=n_features) for k in range(n_labels)],
            axis=1,
        )
        grad_b = grad_logits.sum(axis=0)
        for param, grad, m, v in ((weights, grad_w, m_w, v_w), (bias, grad_b, m_b, v_b)):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1**step)
            v_hat = v / (1 - beta2**step)
            param -= learning_rate * 0.01 * m_hat / (np.sqrt(v_hat) + eps)
    model.weights, model.bias = weights, bias
    return model


def save_classifier(model: StoryClassifier, path: Path = MODEL_PATH) -> None:
    path.write_text(json.dumps(model.to_json(), separators=(",", ":"), sort_keys=False) + "\n", encoding="utf-8")


_PRIOR = Switch()
# Run the coder on its rules alone (evaluation and training compare with and without the prior).
classifier_disabled = _PRIOR.off


def story_prior(text: str, title: str = "") -> dict[str, float] | None:
    """Story-level type distribution for the coder, or None when no model is trained (or it is disabled)."""
    if not _PRIOR.on:
        return None
    model = load_classifier()
    return model.predict_proba(text, title) if model is not None else None


def default_prior_weight() -> float:
    """Weight of the classifier in ``main_event_type``, as chosen on the training split at training time."""
    model = load_classifier()
    if model is None:
        return 0.0
    weight = model.meta.get("prior_weight", 0.5)
    return float(weight) if isinstance(weight, int | float) else 0.5


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
    return StoryClassifier.from_json(json.loads(path.read_text(encoding="utf-8")))


def main_event_type(
    events: Sequence[Event],
    prior: Mapping[str, float] | None = None,
    prior_weight: float = 0.5,
    position_decay: float = 0.5,
) -> str | None:
    """The story's main PLOVER type.

    Each event votes its confidence times ``position_decay`` to the power of its sentence's rank among the
    sentences with events (news puts the main event first); the type's share of the votes is mixed with
    the story classifier's probability, which gets ``prior_weight`` of the say when given."""
    ranks = {start: rank for rank, start in enumerate(sorted({e.evidence.start for e in events}))}
    mass: dict[str, float] = {}
    for event in events:
        vote = event.confidence * position_decay ** ranks[event.evidence.start]
        mass[event.event_type] = mass.get(event.event_type, 0.0) + vote
    total = sum(mass.values())
    weight = prior_weight if prior else 0.0
    scores: dict[str, float] = {}
    for event_type in set(mass) | set(prior or {}):
        rules = mass.get(event_type, 0.0) / total if total else 0.0
        scores[event_type] = (1 - weight) * rules + weight * (prior or {}).get(event_type, 0.0)
    if not scores or max(scores.values()) <= 0.0:
        return None
    return max(sorted(scores), key=lambda t: scores[t])
