"""How much of an article's parse could be skipped, and what titles need: the measurements behind issue 24's
"parse only what needs parsing" decision (docs/enrichment.md, docs/performance.md).

1. Sentences that can carry an event. For each sentence of the parsed documents: does it hold a trigger
   candidate by a test that needs no parse (a lemma trigger whose POS fits, a VERB or AUX standing in for a
   verb; a phrase or verb-and-argument trigger whose other words all occur in the sentence), and does the
   lexicon find a match there. The test reads the pipeline's own lemmas and POS, so the share it keeps is a
   lower bound of what a test before the parse would keep (the best case for skipping).
2. Sentence boundaries from ``senter`` against the parser's: CPU per document of each (component timing,
   ``time.process_time``, lowest of ``--repeat``) and the sentences both split the same.
3. Titles: the headline types of every distinct title (the digest's synthetic titles, the news and gold titles)
   with components left out, against the whole pipeline, and CPU per title.

    PYTHONPATH=. .venv/bin/python benchmarks/parse_scope.py
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from output_digest import one_story_per_title  # beside this script
from pipeline_throughput import news_texts, synthetic_texts
from spacy.tokens import Span

from pipeline.enrich.events.lexicon import LexiconIndex, lexicon_index
from pipeline.enrich.nlp import load_nlp
from pipeline.settings import Settings

_NOUN_POS = {"NOUN", "PROPN"}
_CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ"}


def may_carry_event(sent: Span, index: LexiconIndex) -> bool:
    """Whether a sentence holds a word that could begin a trigger match, by what the parse does not decide."""
    words: set[str] = set()
    for tok in sent:
        words |= {tok.lemma_.lower(), tok.lower_}
    for tok in sent:
        verbish = tok.pos_ in {"VERB", "AUX"}  # the ruler's AUX needs the parse ("aux" label): either may be a verb
        for key in {tok.lemma_.lower(), tok.lower_}:
            for trig in index.lemma.get(key, ()):
                wanted = {"NOUN": _NOUN_POS, "VERB": {"VERB", "AUX"}}.get(str(trig.pos), _CONTENT_POS)
                if tok.pos_ in wanted:
                    return True
            if any(all(w in words for w in trig.words[1:]) for trig in index.phrase.get(key, ())):
                return True
            if verbish and any(
                all(w in words for w in (*trig.words[1:], *trig.arg)) for trig in index.verb_arg.get(key, ())
            ):
                return True
    return False


def sentence_shares(nlp: Any, name: str, texts: Sequence[str]) -> None:
    index = lexicon_index()
    counts: Counter[str] = Counter()
    for doc in nlp.pipe(texts):
        matched = {m.head.sent.start for m in index.find(doc)}
        for sent in doc.sents:
            candidate = may_carry_event(sent, index)
            for kind, holds in (("all", True), ("candidate", candidate), ("matched", sent.start in matched)):
                if holds:
                    counts[f"{kind} sentences"] += 1
                    counts[f"{kind} tokens"] += len(sent)
            counts["matched but not candidate"] += sent.start in matched and not candidate
    print(f"{name}: {len(texts)} documents")
    for kind in ("all", "candidate", "matched"):
        sents, tokens = counts[f"{kind} sentences"], counts[f"{kind} tokens"]
        share = tokens / counts["all tokens"]
        print(f"  {kind:<10} sentences {sents:5}  tokens {tokens:6}  ({share:.0%} of the tokens)")
    print(f"  sentences with a match the test would skip: {counts['matched but not candidate']}")


def cpu_per_doc(step: Any, docs: list[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        copies = [doc.copy() for doc in docs]
        began = time.process_time()
        list(step.pipe(copies, batch_size=32))
        best = min(best, time.process_time() - began)
    return 1000 * best / len(docs)


def senter_against_parser(texts: Sequence[str], repeat: int) -> None:
    import spacy

    from pipeline.enrich.nlp import resolved_model_name

    nlp = spacy.load(resolved_model_name(Settings()))
    nlp.enable_pipe("senter")
    tok2vec: Any = nlp.get_pipe("tok2vec")
    encoded = list(tok2vec.pipe(nlp.make_doc(text) for text in texts))
    raw = [nlp.make_doc(text) for text in texts]
    senter = cpu_per_doc(nlp.get_pipe("senter"), raw, repeat)
    parser_ms = cpu_per_doc(nlp.get_pipe("parser"), encoded, repeat)
    by_parser = list(nlp.pipe(texts, disable=["senter"]))
    by_senter = list(nlp.pipe(texts, disable=["parser"]))
    bounds = [
        ({(s.start, s.end) for s in a.sents}, {(s.start, s.end) for s in b.sents})
        for a, b in zip(by_parser, by_senter, strict=True)
    ]
    same = sum(len(a & b) for a, b in bounds)
    print(f"senter against the parser, {len(texts)} news documents (CPU ms per document, lowest of {repeat})")
    print(f"  senter {senter:6.2f}   parser {parser_ms:6.2f} (its own layers; tok2vec apart)")
    split_by_parser, split_by_senter = sum(len(a) for a, _ in bounds), sum(len(b) for _, b in bounds)
    print(f"  sentences: parser {split_by_parser}, senter {split_by_senter}, the same {same}")


def titles(nlp: Any, repeat: int) -> None:
    from pipeline.enrich.events.headline import headlines_types
    from pipeline.evaluate.event_gold import load_gold

    chosen = [title for title, _ in one_story_per_title()] + [title for title, _ in news_texts(6)]
    chosen += [document.article.title for document in load_gold()[0] if document.article.title]
    chosen = list(dict.fromkeys(chosen))
    reference = headlines_types(nlp, chosen)
    print(f"titles: {len(chosen)} distinct, {sum(1 for types in reference if types)} with a type")
    for left_out in ([], ["ner"], ["news_ner"], ["ner", "news_ner"]):
        left_out = [name for name in left_out if name in nlp.pipe_names]
        with nlp.select_pipes(disable=left_out):
            best = float("inf")
            for _ in range(repeat):
                began = time.process_time()
                found = headlines_types(nlp, chosen)
                best = min(best, time.process_time() - began)
        changed = sum(1 for a, b in zip(reference, found, strict=True) if a != b)
        label = "+".join(left_out) or "nothing"
        print(f"  without {label:<14} {1000 * best / len(chosen):5.2f} ms per title, types changed: {changed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--news", type=int, default=8, help="news documents (the set repeats after 8)")
    parser.add_argument("--synthetic", type=int, default=100, help="synthetic stories")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from pipeline.logconfig import configure_logging

    configure_logging(Settings().model_copy(update={"log_level": "WARNING"}))
    nlp = load_nlp(Settings())
    news = [text for _, text in news_texts(args.news)]
    sentence_shares(nlp, "news", news)
    sentence_shares(nlp, "synthetic", [text for _, text in synthetic_texts(args.synthetic)])
    senter_against_parser([text for _, text in news_texts(64)], args.repeat)
    titles(nlp, args.repeat)


if __name__ == "__main__":
    main()
