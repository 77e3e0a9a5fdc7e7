"""The PLOVER taxonomy file: schema, the 16 types, CAMEO roots consistent with the editors' table."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
import yaml
from pydantic import ValidationError

from pipeline.enrich.events.taxonomy import (
    PLOVER_TYPES,
    TAXONOMY_PATH,
    TAXONOMY_VERSION,
    Taxonomy,
    TaxonomyFile,
    TriggerEntry,
    get_taxonomy,
    parse_trigger,
)
from tests.shared_data import SHARED_DIR, require_shared

CAMEO2PLOVER = SHARED_DIR / "data" / "events" / "CAMEO2PLOVER-2021.txt"


def test_sixteen_types_and_version() -> None:
    taxonomy = get_taxonomy()
    assert set(taxonomy.spec.types) == set(PLOVER_TYPES) and len(PLOVER_TYPES) == 16
    assert taxonomy.version == TAXONOMY_VERSION and TAXONOMY_VERSION.startswith("plover-")
    assert get_taxonomy() is taxonomy  # loaded once


def test_every_type_has_triggers() -> None:
    taxonomy = get_taxonomy()
    covered = {t.event_type for t in taxonomy.triggers}
    assert covered == set(PLOVER_TYPES)


def test_codebook_modes_present() -> None:
    taxonomy = get_taxonomy()
    assert {"visit", "third-party", "multilateral", "phone"} <= set(taxonomy.modes("CONSULT"))
    assert {"martial-law", "curfew", "arrest", "cyber"} <= set(taxonomy.modes("COERCE"))
    assert {"troops", "weapons", "police", "militia"} == set(taxonomy.modes("MOBILIZE"))
    assert {"disapprove", "investigate", "allege"} == set(taxonomy.modes("ACCUSE"))


def test_cameo_roots_and_mode_overrides() -> None:
    taxonomy = get_taxonomy()
    assert taxonomy.cameo_root("ACCUSE", "disapprove") == "11"
    assert taxonomy.cameo_root("ACCUSE", "investigate") == "09"
    assert taxonomy.cameo_root("ASSAULT", "aerial") == "19"
    assert taxonomy.cameo_root("MOBILIZE") == "15"


def test_roots_agree_with_cameo2plover_table() -> None:
    require_shared(CAMEO2PLOVER, "the CAMEO2PLOVER table")
    roots: dict[str, set[str]] = defaultdict(set)
    for line in CAMEO2PLOVER.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(\d{3,4}):\s*([A-Z]+)\s*,", line)
        if match:
            roots[match.group(2)].add(match.group(1)[:2])
    taxonomy = get_taxonomy()
    for name in PLOVER_TYPES:
        declared = set(taxonomy.type_spec(name).cameo_roots)
        # The main root of every type is one the table maps to it.
        assert taxonomy.type_spec(name).cameo_roots[0] in roots[name], name
        assert declared <= roots[name], name


def test_intent_rules() -> None:
    taxonomy = get_taxonomy()
    assert taxonomy.intent("CONSULT", "visit") == ("AGREE", None)
    assert taxonomy.intent("RETREAT", "withdraw") == ("CONCEDE", None)
    assert taxonomy.intent("ASSAULT", None) == ("THREATEN", "violence")
    assert taxonomy.intent("COERCE", "arrest") == ("THREATEN", "arrest")
    assert taxonomy.demand_mode("RETREAT") == "yield"


def test_trigger_syntax() -> None:
    lemma = parse_trigger("strike:n", "PROTEST", "strike")
    assert (lemma.kind, lemma.words, lemma.pos) == ("lemma", ("strike",), "NOUN")
    phrase = parse_trigger("hold talk", "CONSULT", None)
    assert phrase.kind == "phrase" and phrase.weight == 0.75
    entry = TriggerEntry(pattern="impose > martial law", weight=0.9)
    verb_arg = parse_trigger(entry, "COERCE", "martial-law")
    assert (verb_arg.kind, verb_arg.words, verb_arg.arg, verb_arg.weight) == (
        "verb_arg",
        ("impose",),
        ("martial", "law"),
        0.9,
    )


def test_invalid_files_are_rejected() -> None:
    raw = yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))
    missing = dict(raw, types={k: v for k, v in raw["types"].items() if k != "AID"})
    with pytest.raises(ValidationError):
        TaxonomyFile.model_validate(missing)
    bad_root = yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))
    bad_root["types"]["AID"]["cameo_roots"] = ["7"]
    with pytest.raises(ValidationError):
        TaxonomyFile.model_validate(bad_root)
    duplicate = yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))
    duplicate["types"]["AID"]["triggers"].append("condemn")
    with pytest.raises(ValueError, match="listed twice"):
        Taxonomy(TaxonomyFile.model_validate(duplicate))


def test_quad_class_and_intensity_follow_type_and_mode() -> None:
    taxonomy = get_taxonomy()
    assert taxonomy.quad_class("ASSAULT") == "material-conflict"
    assert taxonomy.quad_class("CONSULT") == "verbal-cooperation"
    assert taxonomy.intensity("CONSULT", "visit") == 4.0
    assert taxonomy.intensity("CONSULT", None) == 2.5
    assert taxonomy.intensity("ASSAULT", "unconventional") == -10.0
    for event_type in taxonomy.event_types:
        conflict = taxonomy.is_conflict(event_type)
        for mode in (None, *taxonomy.modes(event_type)):
            score = taxonomy.intensity(event_type, mode)
            # Cooperation scores at or above zero, conflict below (REQUEST, verbal conflict, can be 0 or mildly +).
            assert (score < 0) if conflict and event_type != "REQUEST" else (score >= -1.0)
